//! `taskstream status` and `taskstream quarantined`: what an operator asks of a deployment.

use crate::bus::Kafka;
use crate::store::Store;
use crate::telemetry::status;

/// Prints the health of every role, the outbox and the dead-letter topics.
///
/// # Errors
/// [`status::Unhealthy`] when a limit is passed (exit code 2), any other error when the
/// database or the broker cannot be read.
pub async fn status(store: &Store, kafka: &Kafka, json: bool, limits: status::Limits) -> anyhow::Result<()> {
    let report = status::gather(store, kafka, limits).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    if !report.problems.is_empty() {
        return Err(status::Unhealthy(report.problems).into());
    }
    Ok(())
}

/// Prints the outbox rows the relay set aside.
///
/// # Errors
/// A database failure.
pub async fn quarantined(store: &Store) -> anyhow::Result<()> {
    let rows = store.quarantined_outbox().await?;
    for (id, event_type, event_id, at, error) in &rows {
        println!("outbox #{id}  {event_type}  {event_id}  quarantined {at}: {error}");
    }
    eprintln!("{} quarantined row(s)", rows.len());
    Ok(())
}

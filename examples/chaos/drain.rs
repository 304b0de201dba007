//! Waiting, after the load and the faults, until the pipeline has done everything it was
//! given: the outbox published, every consumer group at the end of its topic, every reminder
//! asked for past its moment and settled, every webhook delivery settled. Nothing is judged
//! here; the checks come after.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::database::RunDatabase;
use crate::say;
use crate::topics::{Broker, GROUPS};

/// Waits until nothing is left twice in a row (2 s apart), printing what it waits for every
/// 10 s; how long it took, or what was still left at `limit`.
pub async fn wait(
    database: &RunDatabase,
    broker: &Broker,
    last_fire_at: Option<DateTime<Utc>>,
    limit: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut told = Instant::now();
    let mut clear_before = false;
    loop {
        let left = outstanding(database, broker, last_fire_at).await;
        if left.is_empty() {
            if clear_before {
                return Ok(started.elapsed());
            }
            clear_before = true;
        } else {
            clear_before = false;
            if started.elapsed() > limit {
                return Err(left.join("; "));
            }
            if told.elapsed() > Duration::from_secs(10) {
                say(format!("draining, waiting for: {}", left.join("; ")));
                told = Instant::now();
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What the pipeline has still to do, one line each.
async fn outstanding(database: &RunDatabase, broker: &Broker, last_fire_at: Option<DateTime<Utc>>) -> Vec<String> {
    let mut left = Vec::new();
    if let Some(at) = last_fire_at.filter(|at| *at > Utc::now()) {
        left.push(format!("the last reminder's moment, {at}"));
    }
    let now = taskstream::time::format(taskstream::time::now());
    let counts = [
        (
            "outbox rows not published",
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND quarantined_at IS NULL".to_owned(),
        ),
        (
            "reminders due and not fired",
            format!("SELECT COUNT(*) FROM reminder_schedule WHERE state = 'pending' AND fire_at <= '{now}'"),
        ),
        (
            "reminders fired and not delivered",
            "SELECT COUNT(*) FROM reminder_schedule WHERE state = 'fired'".to_owned(),
        ),
        (
            "webhook deliveries pending",
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'".to_owned(),
        ),
    ];
    for (what, sql) in counts {
        match database.count(&sql).await {
            Ok(0) => {}
            Ok(n) => left.push(format!("{n} {what}")),
            Err(error) => left.push(format!("{what}: cannot tell ({error:#})")),
        }
    }
    for (role, topic) in GROUPS {
        match broker.lag(&broker.group(role), &broker.name(topic)).await {
            Ok(0) => {}
            Ok(n) => left.push(format!("{role} {n} records behind on {topic}")),
            Err(error) => left.push(format!("{role} lag on {topic}: cannot tell ({error:#})")),
        }
    }
    left
}

//! `taskstream dlq`: lists or replays parked records.

use crate::bus::{dlq, Kafka, Publisher};
use crate::cli::DlqAction;

/// Lists the parked records a filter selects, or replays them to their source topics.
///
/// # Errors
/// When the broker cannot be read or written.
pub async fn dlq(kafka: &Kafka, action: DlqAction) -> anyhow::Result<()> {
    match action {
        DlqAction::List { filter, json } => {
            let parked = dlq::list(kafka, &filter.into())?;
            for record in &parked {
                if json {
                    println!("{}", serde_json::to_string(record)?);
                } else {
                    println!(
                        "{}[{}]@{}  type={}  key={}  from={}@{}  attempts={}  error={}",
                        record.dlq_topic,
                        record.dlq_partition,
                        record.dlq_offset,
                        record.event_type().unwrap_or("?"),
                        record.key,
                        record.header(dlq::SOURCE_TOPIC).unwrap_or("?"),
                        record.header(dlq::SOURCE_OFFSET).unwrap_or("?"),
                        record.header(dlq::ATTEMPTS).unwrap_or("?"),
                        record.header(dlq::ERROR).unwrap_or("?"),
                    );
                }
            }
            eprintln!("{} parked record(s)", parked.len());
        }
        DlqAction::Replay { filter } => {
            let parked = dlq::list(kafka, &filter.into())?;
            let publisher = Publisher::new(kafka)?;
            let total = parked.len();
            let done = dlq::replay(&publisher, &parked, |n, record| {
                eprintln!(
                    "[{n}/{total}] replayed {}@{} to {}",
                    record.dlq_topic,
                    record.dlq_offset,
                    record.header(dlq::SOURCE_TOPIC).unwrap_or("?")
                );
            })
            .await?;
            eprintln!("replayed {done} record(s); consumers skip any they had already applied");
        }
    }
    Ok(())
}

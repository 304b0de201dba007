//! `taskstream topics`: creates or describes the configured topics.

use crate::bus::{topics, Kafka};
use crate::cli::TopicsAction;

/// Prints each topic's state; existing topics are never changed.
///
/// # Errors
/// When the broker cannot be asked.
pub async fn topics(kafka: &Kafka, action: TopicsAction) -> anyhow::Result<()> {
    let states = match action {
        TopicsAction::Ensure => topics::ensure(kafka).await?,
        TopicsAction::Describe => topics::describe(kafka).await?,
    };
    let mut differ = false;
    for state in states {
        let partitions = state.partitions.map_or("-".to_owned(), |p| p.to_string());
        let retention = state.retention_ms.map_or("unknown".to_owned(), |r| r.to_string());
        let differences = state.differences();
        differ |= !differences.is_empty();
        let note = if state.created {
            "created".to_owned()
        } else if differences.is_empty() {
            "ok".to_owned()
        } else {
            differences.join("; ")
        };
        println!(
            "{:<40} partitions {:<4} retention.ms {:<12} {note}",
            state.spec.name, partitions, retention
        );
    }
    if differ {
        eprintln!("some topics differ from the configuration (existing topics are never changed)");
    }
    Ok(())
}

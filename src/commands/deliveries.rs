//! `taskstream deliveries`: lists webhook deliveries, or makes failed ones due again.

use crate::cli::DeliveriesAction;
use crate::store::{DeliveryFilter, Store};

/// Lists deliveries or retries failed ones.
///
/// # Errors
/// A database failure, or a retry that names no deliveries.
pub async fn deliveries(store: &Store, action: DeliveriesAction) -> anyhow::Result<()> {
    match action {
        DeliveriesAction::List {
            filter,
            state,
            limit,
            json,
        } => {
            let filter = DeliveryFilter {
                state,
                user: filter.user,
                reminder: filter.reminder,
            };
            let rows = store.deliveries(&filter, limit).await?;
            for row in &rows {
                if json {
                    let line = serde_json::json!({
                        "reminder_id": row.reminder_id,
                        "user_id": row.user_id,
                        "task_id": row.task_id,
                        "host": row.host,
                        "state": row.state,
                        "attempts": row.attempts,
                        "next_attempt_at": row.next_attempt_at,
                        "last_error": row.last_error,
                        "created_at": row.created_at,
                        "updated_at": row.updated_at,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{}  user={}  host={}  state={}  attempts={}  next={}  error={}",
                        row.reminder_id,
                        row.user_id,
                        row.host,
                        row.state,
                        row.attempts,
                        row.next_attempt_at,
                        row.last_error.as_deref().unwrap_or("-"),
                    );
                }
            }
            eprintln!("{} delivery(ies)", rows.len());
        }
        DeliveriesAction::Retry { filter, all } => {
            if !all && filter.user.is_none() && filter.reminder.is_none() {
                anyhow::bail!("say which failed deliveries to retry: --user, --reminder or --all");
            }
            let filter = DeliveryFilter {
                state: None,
                user: filter.user,
                reminder: filter.reminder,
            };
            let count = store.retry_failed_deliveries(&filter).await?;
            eprintln!("{count} failed delivery(ies) due again; a running notifier sends them within a second");
        }
    }
    Ok(())
}

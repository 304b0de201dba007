//! Samples the queues in the database every few seconds into gauges: the outbox in a
//! process that runs the relay, the reminder schedule with the scheduler, the webhook
//! deliveries with the notifier. Each sample is an indexed count, cheap at this rate.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{health, metrics};
use crate::store::Store;

/// How often the queues are sampled.
pub const EVERY: Duration = Duration::from_secs(2);

/// Which queues this process samples (those of the parts it runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sampled {
    pub outbox: bool,
    pub reminders: bool,
    pub deliveries: bool,
}

impl Sampled {
    fn any(self) -> bool {
        self.outbox || self.reminders || self.deliveries
    }
}

/// Samples until `shutdown`; a failed sample is logged and tried at the next tick.
pub async fn run(store: Store, sampled: Sampled, shutdown: CancellationToken) {
    if !sampled.any() {
        return;
    }
    loop {
        if let Err(error) = sample(&store, sampled).await {
            tracing::debug!(error = format!("{error:#}"), "cannot sample the queues");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

async fn sample(store: &Store, sampled: Sampled) -> anyhow::Result<()> {
    if sampled.outbox {
        let waiting = store.outbox_waiting().await?;
        let age = waiting
            .oldest
            .and_then(|at| (crate::time::now() - at).to_std().ok())
            .unwrap_or_default();
        metrics::outbox_sampled(waiting.rows, age);
        health::queues(|q| q.outbox = Some(waiting));
    }
    if sampled.reminders {
        let pending = store.reminders_pending().await?;
        metrics::reminders_pending(pending);
        health::queues(|q| q.reminders_pending = Some(pending));
    }
    if sampled.deliveries {
        let waiting = store.deliveries_waiting().await?;
        metrics::deliveries_waiting(waiting);
        health::queues(|q| q.deliveries_waiting = Some(waiting));
    }
    Ok(())
}

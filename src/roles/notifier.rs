//! The notifier role: delivers each fired reminder once per channel — a structured log line,
//! written here, and the user's webhook (POST JSON signed with HMAC-SHA256 over a timestamp
//! and the body), which is only *recorded* here: in the transaction of the reminder.fired
//! event a webhook delivery job is written, and the partition moves on at once. The
//! [delivery worker](super::delivery) sends it, retries it, and writes reminder.delivered or
//! reminder.failed, so a slow or failing receiver delays only its own owner (promise 10).
//!
//! A user without a webhook gets reminder.delivered (channel `log`) in this transaction.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use crate::bus::consumer::{Handler, HandlerError};
use crate::domain::ReminderState;
use crate::events::{Event, EventData, ReminderDelivered, ReminderFailed, ReminderFired, Topic};
use crate::store::{NewDelivery, Store, Tx, WEBHOOK};
use crate::webhook::WebhookUrl;

pub(crate) const LOG: &str = "log";

pub struct Notifier {
    store: Store,
    /// Wakes this process's delivery worker when a job was committed.
    deliveries: Arc<Notify>,
}

impl Notifier {
    pub fn new(store: Store, deliveries: Arc<Notify>) -> Self {
        Self { store, deliveries }
    }

    async fn record(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError> {
        let EventData::ReminderFired(fired) = &event.data else {
            return Ok(());
        };
        tracing::info!(
            target: "taskstream::reminder",
            user = %event.header.user_id,
            task = %event.header.task_id,
            reminder = %fired.reminder_id,
            title = %fired.title,
            fire_at = %fired.fire_at,
            late = fired.late,
            late_ms = fired.late_ms,
            "reminder"
        );
        let transient = HandlerError::Transient;
        self.store
            .record_delivery(tx, &fired.reminder_id, LOG)
            .await
            .map_err(transient)?;
        let mut channels = vec![LOG.to_owned()];
        // The webhook row read now is the one the job is sent to.
        if let Some(webhook) = self.store.webhook(&event.header.user_id).await.map_err(transient)? {
            if !self
                .store
                .delivered(&fired.reminder_id, WEBHOOK)
                .await
                .map_err(transient)?
            {
                return self.record_webhook_job(tx, event, fired, &webhook.url).await;
            }
            channels.push(WEBHOOK.to_owned()); // delivered before: a replay of the event
        }
        self.store
            .set_reminder_state(tx, &fired.reminder_id, ReminderState::Delivered)
            .await
            .map_err(transient)?;
        let delivered = EventData::ReminderDelivered(ReminderDelivered {
            reminder_id: fired.reminder_id.clone(),
            channels,
            delivered_at: crate::time::format(crate::time::now()),
        });
        self.append(tx, event, delivered).await
    }

    /// Writes the delivery job; the reminder stays `fired` until the worker settles it. A
    /// stored URL that no longer parses (the rules got stricter) fails at once: retrying
    /// cannot make it pass.
    async fn record_webhook_job(
        &self,
        tx: &mut Tx,
        event: &Event,
        fired: &ReminderFired,
        url: &str,
    ) -> Result<(), HandlerError> {
        let h = &event.header;
        let payload = serde_json::json!({
            "type": "reminder.fired",
            "reminder_id": fired.reminder_id,
            "task_id": h.task_id,
            "title": fired.title,
            "due_at": fired.due_at,
            "fire_at": fired.fire_at,
            "fired_at": fired.fired_at,
            "late": fired.late,
            "late_ms": fired.late_ms,
        })
        .to_string();
        let (host, error) = match WebhookUrl::parse(url) {
            Ok(url) => (url.redacted(), None),
            Err(e) => (String::new(), Some(format!("the stored webhook URL {e}"))),
        };
        let job = NewDelivery {
            reminder_id: &fired.reminder_id,
            user_id: &h.user_id,
            task_id: h.task_id,
            task_version: h.task_version,
            url,
            host: &host,
            payload: &payload,
        };
        self.store
            .record_webhook_delivery(tx, &job, error.as_deref())
            .await
            .map_err(HandlerError::Transient)?;
        let Some(error) = error else {
            return Ok(());
        };
        self.store
            .set_reminder_state(tx, &fired.reminder_id, ReminderState::Failed)
            .await
            .map_err(HandlerError::Transient)?;
        let failed = EventData::ReminderFailed(ReminderFailed {
            reminder_id: fired.reminder_id.clone(),
            channel: WEBHOOK.to_owned(),
            error,
            failed_at: crate::time::format(crate::time::now()),
        });
        self.append(tx, event, failed).await
    }

    async fn append(&self, tx: &mut Tx, event: &Event, data: EventData) -> Result<(), HandlerError> {
        let h = &event.header;
        self.store
            .append_events(tx, &[Event::about(&h.user_id, h.task_id, h.task_version, data)])
            .await
            .map_err(HandlerError::Transient)
    }
}

impl Handler for Notifier {
    fn name(&self) -> &'static str {
        super::Role::Notifier.name()
    }

    fn topics(&self) -> &'static [Topic] {
        super::Role::Notifier.topics()
    }

    type Prepared = ();
    type Done = ();

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a Event,
        (): (),
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        self.record(tx, event)
    }

    fn committed(&self, event: &Event, (): ()) {
        if matches!(event.data, EventData::ReminderFired(_)) {
            crate::telemetry::metrics::reminder_delivered(LOG);
            self.deliveries.notify_one();
        }
    }

    /// The record itself could not be applied (not a webhook failure: those are the delivery
    /// worker's). A replay of the parked record tries again.
    async fn parked(&self, event: &Event, error: &str) {
        let EventData::ReminderFired(fired) = &event.data else {
            return;
        };
        let h = &event.header;
        let failed = EventData::ReminderFailed(ReminderFailed {
            reminder_id: fired.reminder_id.clone(),
            channel: WEBHOOK.to_owned(),
            error: error.chars().take(1_000).collect(),
            failed_at: crate::time::format(crate::time::now()),
        });
        let result = async {
            let mut tx = self.store.begin().await?;
            self.store
                .set_reminder_state(&mut tx, &fired.reminder_id, ReminderState::Failed)
                .await?;
            self.store
                .append_events(&mut tx, &[Event::about(&h.user_id, h.task_id, h.task_version, failed)])
                .await?;
            self.store.commit(tx).await.context("commit failure record")
        }
        .await;
        match result {
            Ok(()) => crate::telemetry::metrics::reminder_failed(WEBHOOK),
            Err(error) => tracing::error!(error = format!("{error:#}"), "cannot record the failed delivery"),
        }
    }
}

//! The notifier role: delivers each fired reminder once per channel — the user's webhook
//! (POST JSON signed with HMAC-SHA256 over a timestamp and the body, through
//! [`crate::webhook`], which refuses destinations its policy does not allow) and a structured
//! log line — and writes reminder.delivered, or reminder.failed when the webhook keeps
//! failing or its destination is refused (the record is then parked on the DLQ, from where a
//! replay tries again).
//!
//! The webhook call happens before the database transaction (no lock is held during HTTP);
//! a crash between the call and the commit repeats the call, so receivers should dedupe on
//! the `X-Taskstream-Delivery` header, which is stable per reminder.

use std::future::Future;

use anyhow::Context;

use crate::bus::consumer::{Handler, HandlerError};
use crate::events::{Event, EventData, ReminderDelivered, ReminderFailed, ReminderFired, Topic};
use crate::store::{Store, Tx};
use crate::webhook::{Call, WebhookClient, WebhookUrl};

const WEBHOOK: &str = "webhook";
const LOG: &str = "log";

pub struct Notifier {
    store: Store,
    webhook: WebhookClient,
}

impl Notifier {
    pub fn new(store: Store, webhook: WebhookClient) -> Self {
        Self { store, webhook }
    }

    async fn call_webhook(&self, event: &Event, fired: &ReminderFired) -> Result<(), HandlerError> {
        let Some(webhook) = self
            .store
            .webhook(&event.header.user_id)
            .await
            .map_err(HandlerError::Transient)?
        else {
            return Ok(());
        };
        if self
            .store
            .delivered(&fired.reminder_id, WEBHOOK)
            .await
            .map_err(HandlerError::Transient)?
        {
            return Ok(());
        }
        // Stored URLs passed the same parse when they were set; one that no longer does
        // (the rules got stricter) cannot start passing by retrying.
        let url = WebhookUrl::parse(&webhook.url)
            .map_err(|e| HandlerError::Permanent(anyhow::anyhow!("the stored webhook URL {e}")))?;
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "reminder.fired",
            "reminder_id": fired.reminder_id,
            "task_id": event.header.task_id,
            "title": fired.title,
            "due_at": fired.due_at,
            "fire_at": fired.fire_at,
            "fired_at": fired.fired_at,
            "late": fired.late,
            "late_ms": fired.late_ms,
        }))
        .map_err(|e| HandlerError::Permanent(e.into()))?;
        let call = Call {
            url: &url,
            secret: webhook.secret.expose(),
            delivery_id: &fired.reminder_id,
            body,
        };
        self.webhook.post(call).await.map_err(|error| {
            // A refused destination is refused on every retry: fail it now.
            if error.is_permanent() {
                HandlerError::Permanent(error.into())
            } else {
                HandlerError::Transient(error.into())
            }
        })
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
        let mut channels = vec![LOG.to_owned()];
        self.store
            .record_delivery(tx, &fired.reminder_id, LOG)
            .await
            .map_err(HandlerError::Transient)?;
        if self
            .store
            .webhook(&event.header.user_id)
            .await
            .map_err(HandlerError::Transient)?
            .is_some()
        {
            self.store
                .record_delivery(tx, &fired.reminder_id, WEBHOOK)
                .await
                .map_err(HandlerError::Transient)?;
            channels.push(WEBHOOK.to_owned());
        }
        self.store
            .set_reminder_state(tx, &fired.reminder_id, "delivered")
            .await
            .map_err(HandlerError::Transient)?;
        let delivered = EventData::ReminderDelivered(ReminderDelivered {
            reminder_id: fired.reminder_id.clone(),
            channels,
            delivered_at: crate::time::format(crate::time::now()),
        });
        let h = &event.header;
        self.store
            .append_events(tx, &[Event::about(&h.user_id, h.task_id, h.task_version, delivered)])
            .await
            .map_err(HandlerError::Transient)
    }
}

impl Handler for Notifier {
    fn name(&self) -> &'static str {
        "notifier"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::TaskReminders]
    }

    type Prepared = ();

    fn prepare<'a>(&'a self, event: &'a Event) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        async move {
            match &event.data {
                EventData::ReminderFired(fired) => self.call_webhook(event, fired).await,
                _ => Ok(()),
            }
        }
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a Event,
        (): (),
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        self.record(tx, event)
    }

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
                .set_reminder_state(&mut tx, &fired.reminder_id, "failed")
                .await?;
            self.store
                .append_events(&mut tx, &[Event::about(&h.user_id, h.task_id, h.task_version, failed)])
                .await?;
            tx.commit().await.context("commit failure record")
        }
        .await;
        if let Err(error) = result {
            tracing::error!(error = format!("{error:#}"), "cannot record the failed delivery");
        }
    }
}

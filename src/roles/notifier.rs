//! The notifier role: delivers each fired reminder once per channel — the user's webhook
//! (POST JSON signed with HMAC-SHA256) and a structured log line — and writes
//! reminder.delivered, or reminder.failed when the webhook keeps failing (the record is then
//! parked on the DLQ, from where a replay tries again).
//!
//! The webhook call happens before the database transaction (no lock is held during HTTP);
//! a crash between the call and the commit repeats the call, so receivers should dedupe on
//! the `X-Taskstream-Delivery` header, which is stable per reminder.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::bus::consumer::{Handler, HandlerError};
use crate::events::{Event, EventData, ReminderDelivered, ReminderFailed, ReminderFired, Topic};
use crate::store::{Store, Tx};

pub const SIGNATURE_HEADER: &str = "x-taskstream-signature";
pub const DELIVERY_HEADER: &str = "x-taskstream-delivery";
const WEBHOOK: &str = "webhook";
const LOG: &str = "log";

pub struct Notifier {
    store: Store,
    http: reqwest::Client,
}

impl Notifier {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(store: Store, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the webhook client")?;
        Ok(Self { store, http })
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
        let response = self
            .http
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(webhook.secret.expose(), &body))
            .header(DELIVERY_HEADER, &fired.reminder_id)
            .body(body)
            .send()
            .await
            .map_err(|e| HandlerError::Transient(anyhow::anyhow!("webhook: {e}")))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(HandlerError::Transient(anyhow::anyhow!(
                "webhook answered {}",
                response.status()
            )))
        }
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

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
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

    fn parked<'a>(&'a self, event: &'a Event, error: &'a str) -> impl Future<Output = ()> + Send + 'a {
        async move {
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
}

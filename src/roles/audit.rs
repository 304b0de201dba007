//! The audit role: an append-only history of every task event, one row per event.

use anyhow::Context;

use crate::bus::consumer::{Handler, HandlerError};
use crate::events::{Event, Topic};
use crate::store::Tx;

pub struct Audit;

impl Handler for Audit {
    fn name(&self) -> &'static str {
        super::Role::Audit.name()
    }

    fn topics(&self) -> &'static [Topic] {
        super::Role::Audit.topics()
    }

    type Prepared = ();
    type Done = ();

    async fn handle(&self, tx: &mut Tx, event: &Event, (): ()) -> Result<(), HandlerError> {
        let h = &event.header;
        let payload = event
            .encode()
            .context("encode event")
            .map_err(HandlerError::Permanent)?;
        sqlx::query(
            "INSERT INTO audit_log (event_id, user_id, task_id, task_version, event_type, occurred_at, payload, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(h.event_id.to_string())
        .bind(&h.user_id)
        .bind(h.task_id.to_string())
        .bind(h.task_version)
        .bind(&h.event_type)
        .bind(&h.occurred_at)
        .bind(payload)
        .bind(crate::time::format(crate::time::now()))
        .execute(&mut **tx)
        .await
        .map_err(|e| HandlerError::Transient(e.into()))?;
        Ok(())
    }
}

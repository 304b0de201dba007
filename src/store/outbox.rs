//! The transactional outbox (written with every change) and what the relay needs from it.

use anyhow::Context;

use super::rows::Bind;
use super::sql::Exec;
use super::{Backend, Store};
use crate::events::{cloud_event_headers, Event};
use crate::telemetry::trace::TraceContext;

/// The PostgreSQL channel on which committed outbox rows are announced (see wake.rs).
pub const OUTBOX_CHANNEL: &str = "taskstream_outbox";
const SOURCE: &str = "/taskstream";

/// A row waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub record_key: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub headers: String,
}

impl OutboxRow {
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        serde_json::from_str(&self.headers).unwrap_or_default()
    }
}

/// The columns of an outbox row as a write appends it.
const OUTBOX_COLUMNS: &str = "topic, record_key, event_id, event_type, payload, headers, created_at";
const OUTBOX_WIDTH: usize = 7;
/// Most rows one multi-row append writes (7 parameters each, well within SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 1_000;

/// An event's outbox row worked out but not yet written: encoded, checked against the
/// contract, with the headers of the trace it was made in.
#[derive(Debug, Clone)]
pub struct Outgoing([Bind; OUTBOX_WIDTH]);

/// The rows of `events`, in order, carrying the trace of the current scope (the request or
/// record that caused the change).
pub(super) fn outgoing(events: &[Event]) -> anyhow::Result<Vec<Outgoing>> {
    let now = crate::time::format(crate::time::now());
    let trace = TraceContext::outgoing();
    events
        .iter()
        .map(|event| {
            let payload = event.encode().context("encode event")?;
            // Validation on produce: the value must pass the same strict decoding consumers
            // apply, or the write fails here instead of parking records on every consumer's DLQ.
            Event::decode(payload.as_bytes()).context("an event does not match its own contract")?;
            let headers = cloud_event_headers(event, SOURCE, &trace);
            Ok(Outgoing([
                Bind::Text(event.topic().base_name().to_owned()),
                Bind::Text(event.key()),
                Bind::Text(event.header.event_id.to_string()),
                Bind::Text(event.header.event_type.clone()),
                Bind::Text(payload),
                Bind::Text(serde_json::to_string(&headers).context("encode headers")?),
                Bind::Text(now.clone()),
            ]))
        })
        .collect()
}

/// Writes `events` in order inside the caller's transaction (a statement each: a write has
/// one to three).
pub(super) async fn append(tx: &mut dyn Exec, events: &[Event]) -> anyhow::Result<()> {
    let sql = format!("INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    for row in outgoing(events)? {
        tx.execute(&sql, &row.0).await.context("append to outbox")?;
    }
    Ok(())
}

/// Writes `rows` in order inside the caller's transaction, many in one statement (a
/// consumer's batch of effects).
pub(super) async fn append_all(tx: &mut dyn Exec, backend: Backend, rows: &[Outgoing]) -> anyhow::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = backend.tuples(1, chunk.len(), OUTBOX_WIDTH);
        let binds: Vec<Bind> = chunk.iter().flat_map(|row| row.0.iter().cloned()).collect();
        tx.execute(
            &format!("INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES {values}"),
            &binds,
        )
        .await
        .context("append to outbox")?;
    }
    Ok(())
}

/// `1,2,3`: row ids for an inline IN list.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

impl Store {
    /// Up to `limit` undelivered rows, oldest first, passing over `in_flight` (rows already
    /// handed to the producer and not yet marked). Not "after the last row sent": on
    /// PostgreSQL ids are taken before commit, so a row with a smaller id can commit after
    /// larger ones were read, and it must go out before any later row of its own task.
    ///
    /// # Errors
    /// A database failure.
    pub async fn pending_outbox(&self, limit: i64, in_flight: &[i64]) -> anyhow::Result<Vec<OutboxRow>> {
        // Integers only, so the list is safe to inline; both databases look a constant
        // NOT IN list up by hash (SQLite an ephemeral index, PostgreSQL 15+ a hashed array).
        let passing_over = if in_flight.is_empty() {
            String::new()
        } else {
            format!(" AND id NOT IN ({})", id_list(in_flight))
        };
        sqlx::query_as(&format!(
            "SELECT id, topic, record_key, event_id, event_type, payload, headers FROM outbox \
             WHERE delivered_at IS NULL AND quarantined_at IS NULL{passing_over} ORDER BY id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .context("read outbox")
    }

    /// # Errors
    /// A database failure.
    pub async fn mark_delivered(&self, ids: &[i64]) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One statement for the whole batch.
        sqlx::query(&format!(
            "UPDATE outbox SET delivered_at = $1 WHERE id IN ({})",
            id_list(ids)
        ))
        .bind(crate::time::format(crate::time::now()))
        .execute(&self.writer)
        .await
        .context("mark outbox rows delivered")?;
        Ok(())
    }

    /// Sets a row the broker refused for good aside, with the reason.
    ///
    /// # Errors
    /// A database failure.
    pub async fn quarantine_outbox(&self, id: i64, error: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET quarantined_at = $1, quarantine_error = $2 WHERE id = $3")
            .bind(crate::time::format(crate::time::now()))
            .bind(error.chars().take(1_000).collect::<String>())
            .bind(id)
            .execute(&self.writer)
            .await
            .context("quarantine an outbox row")?;
        Ok(())
    }

    /// The rows set aside, oldest first: id, event type, event id, when, why.
    ///
    /// # Errors
    /// A database failure.
    pub async fn quarantined_outbox(&self) -> anyhow::Result<Vec<(i64, String, String, String, String)>> {
        sqlx::query_as(
            "SELECT id, event_type, event_id, quarantined_at, quarantine_error FROM outbox \
             WHERE quarantined_at IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await
        .context("read quarantined outbox rows")
    }

    /// Deletes rows delivered more than `age` ago; returns how many.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune_outbox(&self, age: chrono::TimeDelta) -> anyhow::Result<u64> {
        let cutoff = crate::time::format(crate::time::now() - age);
        let done = sqlx::query("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1")
            .bind(cutoff)
            .execute(&self.writer)
            .await
            .context("prune outbox")?;
        Ok(done.rows_affected())
    }

    /// Number of rows not yet delivered.
    ///
    /// # Errors
    /// A database failure.
    pub async fn outbox_backlog(&self) -> anyhow::Result<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND quarantined_at IS NULL")
                .fetch_one(&self.reader)
                .await
                .context("count outbox")?;
        Ok(count)
    }

    /// Takes or renews the lease `name` for `holder` for `ttl`; true when `holder` has it.
    ///
    /// # Errors
    /// A database failure.
    pub async fn acquire_lease(&self, name: &str, holder: &str, ttl: chrono::TimeDelta) -> anyhow::Result<bool> {
        let now = crate::time::now();
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(crate::time::format(now + ttl))
        .bind(crate::time::format(now))
        .execute(&self.writer)
        .await
        .context("acquire lease")?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease up (a clean stop lets another process take over at once).
    ///
    /// # Errors
    /// A database failure.
    pub async fn release_lease(&self, name: &str, holder: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await
            .context("release lease")?;
        Ok(())
    }
}

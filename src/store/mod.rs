//! Storage on SQLite or PostgreSQL through one repository layer.
//!
//! Both backends use the same SQL (positional `$n` parameters, TEXT instants, integer
//! ranks); the few places where they differ (full-text search, row locks) are in
//! [`Dialect`]. SQLite gets a single writer connection, because SQLite serialises writers
//! anyway and queueing in the pool is cheaper than retrying on `SQLITE_BUSY`.

mod audit;
mod deliveries;
mod dialect;
mod fault;
mod gauges;
mod housekeeping;
mod idempotency;
mod inbox;
mod list;
mod outbox;
mod reminders;
mod rows;
mod series;
mod tasks;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use tokio::sync::Notify;

pub use audit::AuditEntry;
pub use deliveries::{ClaimRequest, Claimed, DeliveryFilter, DeliveryRow, DeliveryState, NewDelivery, WEBHOOK};
pub use dialect::Backend;
pub use fault::is_outage;
pub use gauges::OutboxWaiting;
pub use housekeeping::{Pruned, Retention};
pub use idempotency::{IdempotencyRequest, StoredResponse};
pub use inbox::Tx;
pub use list::{Cursor, ListQuery, Page, SortField, SortOrder};
pub use outbox::{OutboxRow, OUTBOX_CHANNEL};
pub use reminders::{reminder_id, FireReport, ScheduleRow};
pub use tasks::{CreateOutcome, WriteError};
pub use webhooks::Webhook;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// Raised after every commit that wrote outbox rows, so the relay wakes at once.
    outbox_signal: Arc<Notify>,
}

impl Store {
    /// Connects to `url` (postgres://… or sqlite:…).
    ///
    /// # Errors
    /// When the database cannot be reached or opened.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url);
        let reader = pool(url, backend, max_connections).await?;
        let writer = match backend {
            Backend::Sqlite => pool(url, backend, 1).await?,
            Backend::Postgres => reader.clone(),
        };
        Ok(Self {
            reader,
            writer,
            backend,
            outbox_signal: Arc::new(Notify::new()),
        })
    }

    /// Applies the migrations embedded in the binary.
    ///
    /// # Errors
    /// When a migration fails or the database holds migrations this binary does not know.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator.run(&self.writer).await.context("database migration failed")
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// When it does not.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let _: Option<AnyRow> = self.reader.fetch_optional("SELECT 1").await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

async fn pool(url: &str, backend: Backend, max_connections: u32) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the writer; NORMAL syncs at checkpoints,
                    // which in WAL mode still never corrupts the database on a crash.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to the {backend} database"))
}

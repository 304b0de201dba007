//! Storage on SQLite or PostgreSQL through one repository layer.
//!
//! Both backends use the same SQL (positional `$n` parameters, TEXT instants, integer
//! ranks); the few places where they differ (full-text search, row locks) are in
//! [`Dialect`]. SQLite gets a single writer connection, because SQLite serialises writers
//! anyway and queueing in the pool is cheaper than retrying on `SQLITE_BUSY`.

mod audit;
mod counts;
mod deliveries;
mod dialect;
mod fault;
mod gauges;
mod housekeeping;
mod idempotency;
mod inbox;
mod list;
mod members;
mod outbox;
mod quota;
mod reminders;
mod rows;
pub mod search;
mod series;
mod sql;
mod sqlite_writer;
mod tasks;
mod wake;
mod webhooks;
mod write;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use audit::{append_history, AuditEntry, HISTORY_MAX_ROWS};
pub use counts::{TaskCounts, COUNT_CAP};
pub use deliveries::{ClaimRequest, Claimed, DeliveryFilter, DeliveryRow, DeliveryState, NewDelivery, WEBHOOK};
pub use dialect::Backend;
pub use fault::is_outage;
pub use gauges::OutboxWaiting;
pub use housekeeping::{Pruned, Retention};
pub use idempotency::{IdempotencyRequest, StoredResponse};
pub use inbox::{Tx, MAX_IDS as INBOX_MAX_IDS};
pub use list::{Cursor, ListQuery, Page, SortField, SortOrder};
pub use members::{Instance, Member, MemberState};
pub use outbox::{OutboxRow, OUTBOX_CHANNEL};
pub use quota::Holdings;
pub use reminders::{reminder_id, FireReport, ScheduleChange, ScheduleRow};
pub use series::NextOccurrence;
pub use tasks::{CreateOutcome, WriteError};
pub use webhooks::Webhook;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// Raised after every commit that wrote outbox rows, so the relays wake at once.
    wake: wake::Wake,
    /// SQLite's group commit of task writes; `None` on PostgreSQL (and in-memory SQLite).
    group: Option<write::GroupCommit>,
    /// Seals webhook secrets at rest; without it they can be neither written nor read.
    sealer: Option<Arc<crate::sealing::Sealer>>,
}

impl Store {
    /// Connects to `url` (postgres://… or sqlite:…).
    ///
    /// # Errors
    /// When the database cannot be reached or opened.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::connect_with(url, max_connections, SqliteSync::Full).await
    }

    /// Connects to `url`; on SQLite the writer syncs its commits as `sync` says.
    ///
    /// # Errors
    /// When the database cannot be reached or opened.
    pub async fn connect_with(url: &str, max_connections: u32, sync: SqliteSync) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url);
        let reader = pool(url, backend, max_connections, SqliteSync::Normal).await?;
        let writer = match backend {
            Backend::Sqlite => pool(url, backend, 1, sync).await?,
            Backend::Postgres => reader.clone(),
        };
        let wake = wake::Wake::new(url, backend, &writer);
        let group = sqlite_file(url).map(|path| {
            let file = write::WriterFile { path, sync };
            write::GroupCommit::start(writer.clone(), file, wake.clone())
        });
        Ok(Self {
            reader,
            writer,
            backend,
            wake,
            group,
            sealer: None,
        })
    }

    /// This store sealing webhook secrets with `sealer`.
    #[must_use]
    pub fn sealing_with(mut self, sealer: crate::sealing::Sealer) -> Self {
        self.sealer = Some(Arc::new(sealer));
        self
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
        migrator.run(&self.writer).await.context("database migration failed")?;
        let filled = self.backfill_search_words().await?;
        if filled > 0 {
            tracing::info!(
                tasks = filled,
                "indexed the words of tasks written before per-user search"
            );
        }
        Ok(())
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

    /// Resolves when new outbox rows may have been committed, by this process or (on
    /// PostgreSQL) another; listens until `shutdown`.
    pub fn outbox_wakeups(&self, shutdown: CancellationToken) -> Arc<Notify> {
        self.wake.subscribe(shutdown)
    }

    pub async fn close(&self) {
        self.wake.close();
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The database file of a `sqlite:` URL (not an in-memory one).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// How SQLite's writer makes a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SqliteSync {
    /// Each commit is synced to disk before it is acknowledged: it survives an OS crash or a
    /// power loss. The default, because the relay may publish a commit's events at once.
    #[default]
    Full,
    /// Commits are synced at checkpoints: faster, and never corrupt, but a power loss can
    /// roll back the last commits, whose events may already be published.
    Normal,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

async fn pool(url: &str, backend: Backend, max_connections: u32, sync: SqliteSync) -> anyhow::Result<AnyPool> {
    // PostgreSQL's connections are opened at start and kept: opening them (a server process
    // each, its statements prepared anew) under a burst stalled the first writes for most of
    // a second (BENCHMARKS.md); opening half at start still stalled for half a second.
    let (min_connections, idle_timeout) = match backend {
        Backend::Postgres => (max_connections, None),
        Backend::Sqlite => (0, Some(Duration::from_secs(600))),
    };
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(min_connections)
        .idle_timeout(idle_timeout)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // The busy timeout first, so switching to WAL waits for another process's
                    // lock instead of failing. WAL lets readers run beside the writer; readers
                    // commit nothing, so only the writer's sync setting decides what survives.
                    let pragmas = format!(
                        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
                        sync.pragma()
                    );
                    conn.execute(pragmas.as_str()).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to the {backend} database"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn writer_sync(store: &Store) -> i64 {
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        level
    }

    #[tokio::test]
    async fn the_sqlite_writer_syncs_each_commit_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
        let full = Store::connect(&url("full.db"), 2).await.unwrap();
        assert_eq!(writer_sync(&full).await, 2, "FULL by default");
        let normal = Store::connect_with(&url("normal.db"), 2, SqliteSync::Normal)
            .await
            .unwrap();
        assert_eq!(writer_sync(&normal).await, 1, "NORMAL when asked");
    }
}

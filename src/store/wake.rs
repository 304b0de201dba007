//! How a commit that wrote outbox rows wakes the relays: this process's at once, other
//! processes' (PostgreSQL only) through LISTEN/NOTIFY.
//!
//! NOTIFY is never sent inside a write's transaction: PostgreSQL takes one cluster-wide lock
//! at the commit of every transaction that notifies, which would serialise all commits. One
//! announcer task sends it on its own after commits instead, coalescing every commit that
//! happened while it was busy into one notification.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Backend, OUTBOX_CHANNEL};

/// Wake-ups of the relays; cheap to clone.
#[derive(Clone)]
pub(super) struct Wake {
    /// Relays of this process wait on it.
    local: Arc<Notify>,
    /// Raised for the announcer task (PostgreSQL); `None` on SQLite, whose relay shares the
    /// process with the single writer.
    announce: Option<Arc<Notify>>,
    /// Stops the announcer when the store is closed.
    stop: CancellationToken,
    /// Where a listener for other processes' notifications connects (PostgreSQL); it may hold
    /// a password, so it is never printed.
    listen_url: Option<Arc<str>>,
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wake")
            .field("announces", &self.announce.is_some())
            .finish_non_exhaustive()
    }
}

impl Wake {
    pub(super) fn new(url: &str, backend: Backend, pool: &AnyPool) -> Self {
        let stop = CancellationToken::new();
        let announce = (backend == Backend::Postgres).then(|| {
            let signal = Arc::new(Notify::new());
            tokio::spawn(announcer(pool.clone(), signal.clone(), stop.clone()));
            signal
        });
        Self {
            local: Arc::new(Notify::new()),
            announce,
            stop,
            listen_url: (backend == Backend::Postgres).then(|| Arc::from(url)),
        }
    }

    /// A commit may have written outbox rows.
    pub(super) fn outbox_written(&self) {
        self.local.notify_one();
        if let Some(announce) = &self.announce {
            announce.notify_one();
        }
    }

    /// What the relays of this process wait on; on PostgreSQL a listener (ending with
    /// `shutdown`) also raises it for other processes' commits.
    pub(super) fn subscribe(&self, shutdown: CancellationToken) -> Arc<Notify> {
        if let Some(url) = &self.listen_url {
            tokio::spawn(listen(url.to_string(), self.local.clone(), shutdown));
        }
        self.local.clone()
    }

    pub(super) fn close(&self) {
        self.stop.cancel();
    }
}

/// Sends one NOTIFY per burst of commits, in its own transaction.
async fn announcer(pool: AnyPool, signal: Arc<Notify>, stop: CancellationToken) {
    let statement = format!("SELECT pg_notify('{OUTBOX_CHANNEL}', '')");
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = signal.notified() => {}
        }
        if let Err(error) = sqlx::query(&statement).execute(&pool).await {
            // Other processes' relays still poll; this only delays them.
            tracing::debug!(%error, "could not announce new outbox rows");
        }
    }
}

/// Turns PostgreSQL notifications from any process into wake-ups of `wake` until `shutdown`.
async fn listen(url: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let result = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(OUTBOX_CHANNEL).await?;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok::<(), sqlx::Error>(()),
                    notification = listener.recv() => { notification?; wake.notify_one(); }
                }
            }
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "outbox listener lost its connection; reconnecting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

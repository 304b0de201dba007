//! Building the application from settings and running it until told to stop.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::auth::Auth;
use crate::config::{CommonSettings, HttpSettings};
use crate::store::Store;

/// Opens the configured database and applies its migrations.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn open_store(common: &CommonSettings) -> anyhow::Result<Store> {
    let store = Store::connect(&common.database_url()?, common.db_max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// The HTTP API, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// # Errors
    /// When the database, the secret or the listening address is unusable.
    pub async fn build(common: &CommonSettings, http: &HttpSettings) -> anyhow::Result<Self> {
        let auth = Auth::from_settings(common)?;
        let store = open_store(common).await?;
        let listener = TcpListener::bind(http.listen)
            .await
            .with_context(|| format!("cannot listen on {}", http.listen))?;
        Ok(Self {
            listener,
            state: AppState { store, auth },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` is cancelled, then lets requests in flight finish.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let store = self.state.store.clone();
        let app = api::router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("HTTP server failed")?;
        store.close().await;
        Ok(())
    }
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("stop signal received; finishing in-flight work");
        trigger.cancel();
    });
    token
}

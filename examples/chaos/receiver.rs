//! The users' webhook receiver: records every call (its X-Taskstream-Delivery id, the reminder
//! it names, when it came, whether its signature is right) and can be taken down for an
//! outage and brought back on the same port.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One call the receiver answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub delivery: String,
    pub user: String,
    pub received_at: DateTime<Utc>,
    pub signed: bool,
}

#[derive(Default)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    secrets: Mutex<HashMap<String, String>>,
    malformed: AtomicU64,
}

pub struct Receiver {
    port: u16,
    inner: Arc<Inner>,
    serving: tokio::sync::Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

impl Receiver {
    /// A receiver listening on 127.0.0.1:`port`.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        let receiver = Self {
            port,
            inner: Arc::default(),
            serving: tokio::sync::Mutex::new(None),
        };
        receiver.up().await?;
        Ok(receiver)
    }

    /// The URL of `user`'s webhook.
    pub fn url(&self, user: &str) -> String {
        format!("http://127.0.0.1:{}/hook/{user}", self.port)
    }

    /// The signing secret PUT /webhook gave `user`.
    pub fn set_secret(&self, user: &str, secret: &str) {
        lock(&self.inner.secrets).insert(user.to_owned(), secret.to_owned());
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }

    /// Calls that named no delivery or carried no JSON body.
    pub fn malformed(&self) -> u64 {
        self.inner.malformed.load(Ordering::Relaxed)
    }

    /// Listens again (the port may take a moment to be free after `down`).
    ///
    /// # Errors
    /// When the port stays taken for 10 s.
    pub async fn up(&self) -> anyhow::Result<()> {
        let mut serving = self.serving.lock().await;
        if serving.is_some() {
            return Ok(());
        }
        let address = format!("127.0.0.1:{}", self.port);
        let listener = bind(&address).await?;
        let app = Router::new()
            .route("/hook/{user}", post(hook))
            .with_state(self.inner.clone());
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        *serving = Some((stop, task));
        Ok(())
    }

    /// Stops listening and closes its connections: callers get connection refused.
    pub async fn down(&self) {
        if let Some((stop, mut task)) = self.serving.lock().await.take() {
            stop.cancel();
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

async fn hook(
    State(inner): State<Arc<Inner>>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let json = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
    let (Some(delivery), true) = (header("x-taskstream-delivery"), json) else {
        inner.malformed.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_REQUEST;
    };
    let secret = lock(&inner.secrets).get(&user).cloned();
    let signed = match (secret, header("x-taskstream-signature")) {
        (Some(secret), Some(signature)) => signature_matches(&secret, &signature, &body),
        _ => false,
    };
    let call = Call {
        delivery,
        user,
        received_at: Utc::now(),
        signed,
    };
    lock(&inner.calls).push(call);
    StatusCode::OK
}

/// Binds `address`, waiting up to 10 s for it to be free.
async fn bind(address: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let mut last = None;
    for _ in 0..100 {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("cannot listen on {address}: {last:?}")
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the whole secret.
fn signature_matches(secret: &str, header: &str, body: &[u8]) -> bool {
    let fields: HashMap<&str, &str> = header.split(',').filter_map(|part| part.split_once('=')).collect();
    let (Some(t), Some(v1)) = (fields.get("t"), fields.get("v1")) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::decode(v1).is_ok_and(|expected| mac.verify_slice(&expected).is_ok())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! Admission control in front of the write path: at most a bounded number of writes wait for
//! the database at once. Beyond that a write is answered 503 + Retry-After at once instead of
//! queueing into a pool timeout, so overload is answered in milliseconds, clients back off,
//! and reads (which never queue here) keep working.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::ApiError;

/// The write queue of one API process.
#[derive(Clone, Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    shed: Arc<AtomicU64>,
}

impl Admission {
    /// Room for `queue` writes in the write path at once (at least 1).
    pub fn new(queue: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(queue.max(1))),
            shed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Writes answered 503 because the queue was full, since start.
    pub fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Logs the writes shed in each interval that had any, until `shutdown`.
    pub async fn report(self, every: Duration, shutdown: CancellationToken) {
        let mut last = 0;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let now = self.shed();
            if now > last {
                tracing::warn!(shed = now - last, total = now, "write queue full: writes answered 503");
                last = now;
            }
        }
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: a write takes a queue slot for its whole handling or is refused at once.
pub async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    if !is_write(request.method()) {
        return next.run(request).await;
    }
    match admission.slots.clone().try_acquire_owned() {
        Ok(_slot) => next.run(request).await,
        Err(_) => {
            admission.shed.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::metrics::write_shed();
            ApiError::Overloaded.into_response()
        }
    }
}

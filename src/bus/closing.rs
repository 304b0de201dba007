//! Closing group consumers without ever blocking whoever drops them.
//!
//! rdkafka's consumer `Drop` polls until librdkafka reports the group left, with no limit:
//! with the broker gone that is forever. A consumer dropped on a runtime thread (an aborted
//! task, a runtime shutting down, a test ending) then hangs its owner, and a consumer closed on
//! tokio's blocking pool hangs the runtime's own shutdown, which waits for that pool. So every
//! group consumer lives in a [`Detached`], whose drop and close run on a thread of their own
//! that nobody joins; the process exit ends it if the broker never answers.

use std::ops::Deref;
use std::time::Duration;

/// Owns a consumer whose close must not block its owner.
pub struct Detached<C: Send + 'static>(Option<C>);

impl<C: Send + 'static> Detached<C> {
    pub fn new(consumer: C) -> Self {
        Self(Some(consumer))
    }

    /// Runs `last_words` (a final commit, say) and the close on a detached thread; waits at
    /// most `limit` for them. True when they finished in time.
    pub async fn close(mut self, limit: Duration, last_words: impl FnOnce(&C) + Send + 'static) -> bool {
        let Some(consumer) = self.0.take() else {
            return true;
        };
        let (done, finished) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().name("kafka-close".into()).spawn(move || {
            last_words(&consumer);
            drop(consumer);
            let _ = done.send(());
        });
        if spawned.is_err() {
            return false; // the consumer went down with the failed spawn; nothing to wait for
        }
        matches!(tokio::time::timeout(limit, finished).await, Ok(Ok(())))
    }
}

impl<C: Send + 'static> Deref for Detached<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0.as_ref().expect("present until closed")
    }
}

impl<C: Send + 'static> Drop for Detached<C> {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("kafka-close".into())
                .spawn(move || drop(consumer));
        }
    }
}

//! Per-user rate limits: a token bucket per caller, checked when the bearer token is
//! verified, so one user's flood is answered 429 + Retry-After while everyone else is served.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio_util::sync::CancellationToken;

use crate::domain::UserId;

/// The buckets of every caller of this API process.
#[derive(Clone)]
pub struct UserLimits(Arc<DefaultKeyedRateLimiter<String>>);

impl std::fmt::Debug for UserLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserLimits")
    }
}

impl UserLimits {
    /// `per_minute` requests a minute sustained, up to `burst` at once (each at least 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(DefaultKeyedRateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(burst),
        )))
    }

    /// `Err(wait)` when `user` has spent their bucket: the time until the next request fits.
    pub fn check(&self, user: &UserId) -> Result<(), Duration> {
        self.0
            .check_key(&user.as_str().to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets full buckets (these and the webhook quotas') now and then, so the maps hold
    /// only recent callers.
    pub async fn tidy(self, quotas: super::Quotas, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {
                    self.0.retain_recent();
                    quotas.tidy();
                }
            }
        }
    }
}

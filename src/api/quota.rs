//! Per-user quotas of one API process: what a user may hold (checked by the store inside each
//! write, see [`Holdings`]) and how often they may change their webhook.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::ApiError;
use crate::domain::UserId;
use crate::store::Holdings;

#[derive(Clone)]
pub struct Quotas {
    pub holdings: Holdings,
    webhook_changes: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for Quotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quotas")
            .field("holdings", &self.holdings)
            .finish_non_exhaustive()
    }
}

impl Quotas {
    pub fn new(holdings: Holdings, webhook_changes_per_hour: u32) -> Self {
        let per_hour = NonZeroU32::new(webhook_changes_per_hour).unwrap_or(NonZeroU32::MIN);
        Self {
            holdings,
            webhook_changes: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_hour(per_hour))),
        }
    }

    /// Counts one webhook change of `user`.
    ///
    /// # Errors
    /// 429 with the wait when the hour's changes are spent.
    pub fn webhook_change(&self, user: &UserId) -> Result<(), ApiError> {
        self.webhook_changes
            .check_key(&user.as_str().to_owned())
            .map_err(|not_until| ApiError::TooManyRequests {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    /// Forgets users whose webhook budget is full again.
    pub fn tidy(&self) {
        self.webhook_changes.retain_recent();
    }
}

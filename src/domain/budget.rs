//! How much repeat-rule arithmetic one request or one event may cost. The rule crate answers
//! "what comes after this instant" by walking the series from its start, one generated date at
//! a time; a budget counts those dates and the time spent, and ends the walk when either runs
//! out, so no rule, however built, can hold a request or a consumer for long.

use std::time::{Duration, Instant};

use super::FieldError;

/// Dates the rule crate may generate and time it may take for one computation.
#[derive(Debug, Clone)]
pub struct Budget {
    dates_left: u32,
    deadline: Instant,
}

impl Budget {
    /// Generated dates per computation. A valid series has at most one occurrence a day
    /// (the time of day comes from its due time), and 1970–2200 holds about 84,000 days, so
    /// this is only met by a walk no valid series needs.
    pub const DATES: u32 = 100_000;
    /// Wall-clock time per computation: the bound that holds even where a date is slow.
    pub const TIME: Duration = Duration::from_secs(3);

    /// The standard budget, starting now.
    pub fn new() -> Self {
        Self::with_limits(Self::DATES, Self::TIME)
    }

    /// A budget of `dates` generated dates and `time`, starting now.
    pub fn with_limits(dates: u32, time: Duration) -> Self {
        Self {
            dates_left: dates,
            deadline: Instant::now() + time,
        }
    }

    /// Pays for one more generated date.
    ///
    /// # Errors
    /// When the dates or the time are spent.
    pub fn spend(&mut self) -> Result<(), TooCostly> {
        if self.dates_left == 0 || Instant::now() >= self.deadline {
            return Err(TooCostly);
        }
        self.dates_left -= 1;
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

/// A rule computation ran out of its [`Budget`]. Retrying cannot help: the same rule and
/// series need the same work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rule needs too much computation")]
pub struct TooCostly;

impl From<TooCostly> for FieldError {
    fn from(_: TooCostly) -> Self {
        FieldError::new(
            "recurrence",
            format!(
                "the rule needs too much computation (more than {} generated dates or {} seconds to find the next occurrence)",
                Budget::DATES,
                Budget::TIME.as_secs()
            ),
        )
    }
}

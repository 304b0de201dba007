//! The IANA zone in which a task's due time and repeat rule are read.

use super::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

impl TimeZone {
    /// # Errors
    /// When the name is not an IANA time zone.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        raw.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            FieldError::new(
                "time_zone",
                format!("unknown time zone {raw:?}; use an IANA name such as Europe/Berlin"),
            )
        })
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The instant of a local date and wall-clock time in `tz`. A time repeated by a fall-back
/// change is read as its first occurrence; a time skipped by a spring-forward change is read
/// with the UTC offset in force before the gap, which moves it forward by the gap's length
/// (02:30 → 03:30), as RFC 5545 §3.3.5 prescribes.
pub fn local_instant(
    tz: chrono_tz::Tz,
    day: chrono::NaiveDate,
    time: chrono::NaiveTime,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{LocalResult, Offset, TimeZone as _};
    let local = day.and_time(time);
    match local.and_local_timezone(tz) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.to_utc()),
        LocalResult::None => {
            // No gap is longer than a day: a day earlier the clock is on the old offset.
            let before = tz
                .offset_from_local_datetime(&(local - chrono::TimeDelta::days(1)))
                .earliest()?;
            let offset = before.fix();
            Some(chrono::DateTime::from_naive_utc_and_offset(local - offset, chrono::Utc))
        }
    }
}

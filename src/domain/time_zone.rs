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
/// change is read as its first occurrence; a time skipped by a spring-forward change is
/// moved forward by the length of the gap (RFC 5545 §3.3.5), as the rule crate does.
pub fn local_instant(
    tz: chrono_tz::Tz,
    day: chrono::NaiveDate,
    time: chrono::NaiveTime,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::LocalResult;
    match day.and_time(time).and_local_timezone(tz) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.to_utc()),
        LocalResult::None => {
            let midnight = day.and_hms_opt(0, 0, 0)?.and_local_timezone(tz).earliest()?;
            Some((midnight + (time - chrono::NaiveTime::MIN)).to_utc())
        }
    }
}

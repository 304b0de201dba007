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

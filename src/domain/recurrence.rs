//! Repeat rules: an RFC 5545 RRULE, read in the task's time zone from its first due time.

use chrono::{DateTime, Utc};
use rrule::{Frequency, RRule, Unvalidated};

use super::{FieldError, TimeZone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence(String);

impl Recurrence {
    /// Parses the rule text (with or without a leading "RRULE:") and checks it against its
    /// first occurrence, `dtstart`, in `zone`.
    ///
    /// # Errors
    /// When the rule does not parse, uses an unsupported frequency, or is inconsistent.
    pub fn parse(raw: &str, dtstart: DateTime<Utc>, zone: TimeZone) -> Result<Self, FieldError> {
        let text = raw.trim();
        let upper = text.to_ascii_uppercase();
        let text = upper.strip_prefix("RRULE:").unwrap_or(&upper).to_owned();
        let invalid = |why: String| FieldError::new("recurrence", why);
        if text.is_empty() || text.len() > 1_000 {
            return Err(invalid("must be an RRULE of 1 to 1000 characters".into()));
        }
        let rule: RRule<Unvalidated> = text
            .parse()
            .map_err(|e| invalid(format!("not a valid RFC 5545 RRULE: {e}")))?;
        let freq = rule.get_freq();
        if !matches!(
            freq,
            Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly
        ) {
            return Err(invalid(format!(
                "FREQ={freq} is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY"
            )));
        }
        if text.split(';').any(|part| part.trim() == "INTERVAL=0") {
            return Err(invalid("INTERVAL must be at least 1".into()));
        }
        let start = dtstart.with_timezone(&rrule::Tz::Tz(zone.tz()));
        let set = rule
            .build(start)
            .map_err(|e| invalid(format!("not a valid RFC 5545 RRULE: {e}")))?;
        // The rule crate gives up after a bounded number of iterations. An endless rule
        // (no COUNT or UNTIL) that finds nothing by then, such as
        // FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30, names a date that never exists.
        let bounded = text
            .split(';')
            .any(|p| p.starts_with("COUNT=") || p.starts_with("UNTIL="));
        if !bounded && set.after(start).all(1).dates.is_empty() {
            return Err(invalid(
                "the rule produces no occurrence within the iteration limit (does it name a date that never exists?)"
                    .into(),
            ));
        }
        Ok(Self(text))
    }

    /// A rule read back from storage, where it was validated on the way in.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-01-05T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn accepts_calendar_rules() {
        let zone = TimeZone::parse("Europe/Berlin").unwrap();
        for rule in [
            "FREQ=DAILY",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
            "freq=monthly;byday=-1fr",
            "FREQ=YEARLY;COUNT=3",
        ] {
            assert!(Recurrence::parse(rule, start(), zone).is_ok(), "{rule}");
        }
    }

    #[test]
    fn refuses_nonsense() {
        let zone = TimeZone::default();
        for rule in [
            "",
            "FREQ=SOMETIMES",
            "FREQ=HOURLY",
            "FREQ=DAILY;INTERVAL=0",
            "BYDAY=MO",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        ] {
            assert!(Recurrence::parse(rule, start(), zone).is_err(), "{rule}");
        }
    }
}

//! Repeat rules: an RFC 5545 RRULE read in the task's time zone, and the arithmetic that
//! finds a series' next occurrence. The rule arithmetic itself is the `rrule` crate's; it
//! works in local wall-clock time, so 09:00 Europe/Berlin stays 09:00 across daylight-saving
//! changes, and a local time that falls into a spring-forward gap is moved forward by the
//! length of the gap (02:30 → 03:30), as RFC 5545 §3.3.5 prescribes.

use chrono::{DateTime, Utc};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use serde::{Deserialize, Serialize};

use super::{FieldError, TimeZone};

/// The most EXDATEs a task may carry.
pub const MAX_EXDATES: usize = 100;

/// How the next occurrence is placed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RecurrenceMode {
    /// On the rule's calendar, whenever the previous one was done.
    #[default]
    Due,
    /// By the rule, counted from the day the previous one was completed.
    Completion,
}

impl RecurrenceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Completion => "completion",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "due" => Some(Self::Due),
            "completion" => Some(Self::Completion),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence(String);

impl Recurrence {
    /// Parses the rule text (with or without a leading "RRULE:") and checks it against its
    /// first occurrence, `dtstart`, in `zone`: the rule must be one this service supports and
    /// must be able to produce an occurrence after `dtstart` within the rule crate's
    /// iteration bound (or end by its own COUNT or UNTIL).
    ///
    /// # Errors
    /// When the rule does not parse, uses an unsupported frequency, or can never repeat.
    pub fn parse(raw: &str, dtstart: DateTime<Utc>, zone: TimeZone) -> Result<Self, FieldError> {
        let upper = raw.trim().to_ascii_uppercase();
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
        if let Some(why) = rfc_violation(&text) {
            return Err(invalid(why.into()));
        }
        let recurrence = Self(text);
        let set = recurrence
            .set(zone, dtstart)
            .map_err(|e| invalid(format!("not a valid RFC 5545 RRULE: {e}")))?;
        if !recurrence.is_bounded() && next_in(set, dtstart).is_none() {
            return Err(invalid(
                "the rule produces no occurrence after the first within the iteration limit (does it name a date that never exists, such as 30 February?)".into(),
            ));
        }
        Ok(recurrence)
    }

    /// A rule read back from storage, where it was validated on the way in.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_bounded(&self) -> bool {
        self.0
            .split(';')
            .any(|p| p.starts_with("COUNT=") || p.starts_with("UNTIL="))
    }

    /// COUNT, if the rule has one.
    pub fn count(&self) -> Option<i64> {
        self.0
            .split(';')
            .find_map(|p| p.strip_prefix("COUNT="))
            .and_then(|n| n.parse().ok())
    }

    /// The rule without COUNT, for series whose occurrences are counted by the caller.
    fn without_count(&self) -> Self {
        Self(
            self.0
                .split(';')
                .filter(|p| !p.starts_with("COUNT="))
                .collect::<Vec<_>>()
                .join(";"),
        )
    }

    /// The rule with its time of day stated (BYHOUR, BYMINUTE, BYSECOND) unless it states
    /// one already, so it no longer depends on DTSTART's wall-clock time.
    fn at_time_of_day(&self, time: chrono::NaiveTime) -> Self {
        use chrono::Timelike;
        let stated = self
            .0
            .split(';')
            .any(|p| p.starts_with("BYHOUR=") || p.starts_with("BYMINUTE=") || p.starts_with("BYSECOND="));
        if stated {
            return self.clone();
        }
        Self(format!(
            "{};BYHOUR={};BYMINUTE={};BYSECOND={}",
            self.0,
            time.hour(),
            time.minute(),
            time.second()
        ))
    }

    fn set(&self, zone: TimeZone, dtstart: DateTime<Utc>) -> Result<RRuleSet, rrule::RRuleError> {
        let rule: RRule<Unvalidated> = self.0.parse()?;
        rule.build(dtstart.with_timezone(&rrule::Tz::Tz(zone.tz())))
    }

    /// The first occurrence strictly after `after` of the series anchored at `dtstart`,
    /// skipping `exdates`; `None` when the rule has ended.
    pub fn next_after(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        after: DateTime<Utc>,
        exdates: &[DateTime<Utc>],
    ) -> Option<DateTime<Utc>> {
        let mut set = self.set(zone, dtstart).ok()?;
        let tz = rrule::Tz::Tz(zone.tz());
        for exdate in exdates {
            set = set.exdate(exdate.with_timezone(&tz));
        }
        next_in(set, after)
    }

    /// Up to `n` occurrences strictly after `after`.
    pub fn upcoming(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        after: DateTime<Utc>,
        exdates: &[DateTime<Utc>],
        n: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after;
        while out.len() < n {
            match self.next_after(zone, dtstart, cursor, exdates) {
                Some(next) => {
                    out.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        out
    }
}

/// Rules RFC 5545 forbids that the rule crate would accept.
fn rfc_violation(text: &str) -> Option<&'static str> {
    let part = |name: &str| {
        text.split(';')
            .find_map(|p| p.trim().strip_prefix(name).map(str::to_owned))
    };
    if part("INTERVAL=").is_some_and(|n| n.parse::<u32>().map_or(true, |n| n == 0)) {
        return Some("INTERVAL must be a whole number of at least 1");
    }
    if part("BYMONTHDAY=").is_some_and(|days| {
        days.split(',')
            .any(|d| d.trim_start_matches(['+', '-']).parse::<u32>() == Ok(0))
    }) {
        return Some("BYMONTHDAY values must be 1 to 31 or -31 to -1");
    }
    if part("COUNT=").is_some() && part("UNTIL=").is_some() {
        return Some("COUNT and UNTIL must not both be given (RFC 5545 §3.3.10)");
    }
    None
}

/// The first date of `set` strictly after `after`.
fn next_in(set: RRuleSet, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = *set.get_dt_start();
    let tz = tz.timezone();
    // `after` is inclusive in the rule crate; ask for two and keep the first later one.
    set.after(after.with_timezone(&tz))
        .all(2)
        .dates
        .into_iter()
        .map(|d| d.with_timezone(&Utc))
        .find(|d| *d > after)
}

/// Where a completed (or skipped) occurrence's series goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPosition<'a> {
    pub rule: &'a Recurrence,
    pub mode: RecurrenceMode,
    pub zone: TimeZone,
    /// DTSTART of the series (its first due time, or the due time when the rule was last set).
    pub start: DateTime<Utc>,
    /// Due time of the occurrence being left behind.
    pub due: DateTime<Utc>,
    /// 1 for the first occurrence.
    pub index: i64,
    pub exdates: &'a [DateTime<Utc>],
}

impl SeriesPosition<'_> {
    /// The next occurrence's due time, or `None` when the series has ended. `done_at` is when
    /// the occurrence was completed (it matters in completion mode).
    pub fn next(&self, done_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.mode {
            RecurrenceMode::Due => self.rule.next_after(self.zone, self.start, self.due, self.exdates),
            RecurrenceMode::Completion => {
                if self.rule.count().is_some_and(|count| self.index >= count) {
                    return None;
                }
                // Anchor the rule on the completion day at the series' wall-clock time (taken
                // from DTSTART: a due time moved by a DST gap must not carry the shift on).
                let tz = self.zone.tz();
                let time = self.start.with_timezone(&tz).time();
                let day = done_at.with_timezone(&tz).date_naive();
                let anchor = crate::domain::local_instant(tz, day, time)?;
                // The anchor itself may have been moved by a DST gap; pinning the time of
                // day keeps later occurrences at the series' wall-clock time.
                let rule = self.rule.without_count().at_time_of_day(time);
                rule.next_after(self.zone, anchor, anchor, self.exdates)
            }
        }
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

//! Repeat rules: an RFC 5545 RRULE read in the task's time zone, and the arithmetic that
//! finds a series' next occurrence. The rule arithmetic itself is the `rrule` crate's; it
//! works in local wall-clock time, so 09:00 Europe/Berlin stays 09:00 across daylight-saving
//! changes, and a local time that falls into a spring-forward gap is moved forward by the
//! length of the gap (02:30 → 03:30), as RFC 5545 §3.3.5 prescribes.
//!
//! The arithmetic is bounded, because a rule is user input and the crate's cost grows with
//! it: only the rule parts README documents are accepted, with capped numbers and lists and
//! no time-of-day parts (BYHOUR × BYMINUTE × BYSECOND alone is 86,400 instants a day); every
//! instant lies within [`instant::EARLIEST`] ..= [`instant::LATEST`]; and every computation
//! pays each generated date from a [`Budget`], stopping with [`TooCostly`] when it is spent.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use serde::{Deserialize, Serialize};

use super::{instant, Budget, FieldError, TimeZone, TooCostly};

/// The most EXDATEs a task may carry.
pub const MAX_EXDATES: usize = 100;
/// The largest INTERVAL.
pub const MAX_INTERVAL: u32 = 1_000;
/// The largest COUNT.
pub const MAX_COUNT: u32 = 10_000;

/// The rule parts a client may use, each with the most values its list may hold.
const PARTS: &[(&str, usize)] = &[
    ("FREQ", 1),
    ("INTERVAL", 1),
    ("COUNT", 1),
    ("UNTIL", 1),
    ("WKST", 1),
    ("BYDAY", 31),
    ("BYMONTHDAY", 31),
    ("BYMONTH", 12),
    ("BYSETPOS", 31),
];

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
    /// first occurrence, `dtstart`, in `zone`: the rule must use only the parts this service
    /// supports, within their limits, and must be able to produce an occurrence after
    /// `dtstart` within the computation budget (or end by its own COUNT or UNTIL).
    ///
    /// # Errors
    /// When the rule does not parse, uses an unsupported part or value, or can never repeat.
    pub fn parse(raw: &str, dtstart: DateTime<Utc>, zone: TimeZone) -> Result<Self, FieldError> {
        let upper = raw.trim().to_ascii_uppercase();
        let text = upper.strip_prefix("RRULE:").unwrap_or(&upper).to_owned();
        let invalid = |why: String| FieldError::new("recurrence", why);
        if text.is_empty() || text.len() > 1_000 {
            return Err(invalid("must be an RRULE of 1 to 1000 characters".into()));
        }
        // RFC 5545 rule text is ASCII, and the rule crate slices values at byte offsets that
        // assume it: `BYDAY=+1ƈE` made it panic (found by fuzz/fuzz_targets/rule_parser.rs).
        if !text.is_ascii() {
            return Err(invalid(
                "must be ASCII: RRULE parts and values use no other characters".into(),
            ));
        }
        check_parts(&text).map_err(invalid)?;
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
        if let Some(until) = rule.get_until() {
            instant::check("recurrence", until.with_timezone(&Utc))
                .map_err(|e| invalid(format!("UNTIL: {}", e.message)))?;
        }
        let recurrence = Self(text);
        let set = recurrence
            .set(zone, dtstart, &[])
            .map_err(|e| invalid(format!("not a valid RFC 5545 RRULE: {e}")))?;
        if !recurrence.is_bounded() && first_after(&set, dtstart, &mut Budget::new())?.is_none() {
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
    /// one already, so it no longer depends on DTSTART's wall-clock time. Clients may not
    /// write these parts; this one value each adds a single instant a day.
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

    /// The series anchored at `dtstart` in `zone`, without `exdates`. `limit()` makes the
    /// crate give up after 100,000 periods in a row without a date, a walk no budget sees.
    fn set(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        exdates: &[DateTime<Utc>],
    ) -> Result<RRuleSet, rrule::RRuleError> {
        let rule: RRule<Unvalidated> = self.0.parse()?;
        let tz = rrule::Tz::Tz(zone.tz());
        let set = rule.build(dtstart.with_timezone(&tz))?;
        Ok(exdates
            .iter()
            .fold(set, |set, exdate| set.exdate(exdate.with_timezone(&tz)))
            .limit())
    }

    /// The first occurrence strictly after `after` of the series anchored at `dtstart`,
    /// skipping `exdates`; `None` when the rule has ended.
    ///
    /// # Errors
    /// When finding it spends `budget`.
    pub fn next_after(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        after: DateTime<Utc>,
        exdates: &[DateTime<Utc>],
        budget: &mut Budget,
    ) -> Result<Option<DateTime<Utc>>, TooCostly> {
        match self.set(zone, dtstart, exdates) {
            Ok(set) => first_after(&set, after, budget),
            Err(_) => Ok(None),
        }
    }

    /// Up to `n` occurrences strictly after `after`, in one walk of the series.
    ///
    /// # Errors
    /// When finding them spends `budget`.
    pub fn upcoming(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        after: DateTime<Utc>,
        exdates: &[DateTime<Utc>],
        n: usize,
        budget: &mut Budget,
    ) -> Result<Vec<DateTime<Utc>>, TooCostly> {
        let Ok(set) = self.set(zone, dtstart, exdates) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<DateTime<Utc>> = Vec::with_capacity(n.min(1_000));
        if n == 0 {
            return Ok(out);
        }
        walk(&set, budget, |date| {
            if date > out.last().copied().unwrap_or(after) {
                out.push(date);
            }
            if out.len() >= n {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(out)
    }

    /// A start for the series anchored at `dtstart` that lies near `due`: its last occurrence
    /// at or before `due` at `dtstart`'s local wall-clock time, or `dtstart` when there is
    /// none. The series from there has the same occurrences from there on (the period grid
    /// and everything DTSTART implies, such as the day of the month, are the same at any of
    /// its occurrences), so later arithmetic walks from near `due` instead of from an old
    /// start. Occurrences a daylight-saving gap moved are passed over, as their wall-clock
    /// time would become the series'. Only for rules without COUNT: from a later start COUNT
    /// would count again.
    ///
    /// # Errors
    /// When the walk to `due` spends `budget`.
    pub fn anchor_near(
        &self,
        zone: TimeZone,
        dtstart: DateTime<Utc>,
        due: DateTime<Utc>,
        budget: &mut Budget,
    ) -> Result<DateTime<Utc>, TooCostly> {
        let Ok(set) = self.set(zone, dtstart, &[]) else {
            return Ok(dtstart);
        };
        let tz = zone.tz();
        let wall_clock = dtstart.with_timezone(&tz).time();
        let mut anchor = dtstart;
        walk(&set, budget, |date| {
            if date > due {
                return ControlFlow::Break(());
            }
            if date.with_timezone(&tz).time() == wall_clock {
                anchor = date;
            }
            ControlFlow::Continue(())
        })?;
        Ok(anchor)
    }
}

/// Checks every part of the rule text against [`PARTS`] and the numeric limits, before the
/// rule crate sees it (which would build every combination of the lists it is given).
fn check_parts(text: &str) -> Result<(), String> {
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("{part:?} is not a rule part of the form NAME=VALUE"));
        };
        if matches!(name, "BYHOUR" | "BYMINUTE" | "BYSECOND") {
            return Err(format!("{name} is not accepted: the time of day comes from due_at"));
        }
        let Some(&(_, most)) = PARTS.iter().find(|(known, _)| *known == name) else {
            return Err(format!(
                "{name} is not supported; a rule may use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL and WKST"
            ));
        };
        let values = value.split(',').count();
        if values > most {
            return Err(if most == 1 {
                format!("{name} takes a single value")
            } else {
                format!("{name} lists at most {most} values (got {values})")
            });
        }
        match name {
            "INTERVAL" => whole_number(name, value, MAX_INTERVAL)?,
            "COUNT" => whole_number(name, value, MAX_COUNT)?,
            _ => {}
        }
    }
    Ok(())
}

fn whole_number(name: &str, value: &str, most: u32) -> Result<(), String> {
    match value.parse::<u32>() {
        Ok(n) if (1..=most).contains(&n) => Ok(()),
        _ => Err(format!("{name} must be a whole number from 1 to {most}")),
    }
}

/// Rules RFC 5545 forbids that the rule crate would accept.
fn rfc_violation(text: &str) -> Option<&'static str> {
    let part = |name: &str| {
        text.split(';')
            .find_map(|p| p.trim().strip_prefix(name).map(str::to_owned))
    };
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

/// Walks the dates of `set` in order, paying each from `budget`, until `visit` breaks or the
/// series ends.
fn walk(
    set: &RRuleSet,
    budget: &mut Budget,
    mut visit: impl FnMut(DateTime<Utc>) -> ControlFlow<()>,
) -> Result<(), TooCostly> {
    let mut dates = set.into_iter();
    loop {
        // Paid before the crate works on the next date, so a spent budget stops the walk.
        budget.spend()?;
        let Some(date) = dates.next() else {
            return Ok(());
        };
        if visit(date.with_timezone(&Utc)).is_break() {
            return Ok(());
        }
    }
}

/// The first date of `set` strictly after `after`.
fn first_after(set: &RRuleSet, after: DateTime<Utc>, budget: &mut Budget) -> Result<Option<DateTime<Utc>>, TooCostly> {
    let mut found = None;
    walk(set, budget, |date| {
        if date > after {
            found = Some(date);
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(found)
}

/// Where a completed (or skipped) occurrence's series goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPosition<'a> {
    pub rule: &'a Recurrence,
    pub mode: RecurrenceMode,
    pub zone: TimeZone,
    /// DTSTART of the series (its first due time, the due time when the rule was last set, or
    /// an occurrence near the due time it was last moved to).
    pub start: DateTime<Utc>,
    /// Due time of the occurrence being left behind.
    pub due: DateTime<Utc>,
    /// 1 for the first occurrence.
    pub index: i64,
    pub exdates: &'a [DateTime<Utc>],
}

impl SeriesPosition<'_> {
    /// The next occurrence's due time, or `None` when the series has ended (by its rule, or
    /// at [`instant::LATEST`]). `done_at` is when the occurrence was completed (it matters in
    /// completion mode).
    ///
    /// # Errors
    /// When finding it spends `budget`.
    pub fn next(&self, done_at: DateTime<Utc>, budget: &mut Budget) -> Result<Option<DateTime<Utc>>, TooCostly> {
        let next = match self.mode {
            RecurrenceMode::Due => self
                .rule
                .next_after(self.zone, self.start, self.due, self.exdates, budget)?,
            RecurrenceMode::Completion => self.next_after_completion(done_at, budget)?,
        };
        Ok(next.filter(|at| instant::in_range(*at)))
    }

    fn next_after_completion(
        &self,
        done_at: DateTime<Utc>,
        budget: &mut Budget,
    ) -> Result<Option<DateTime<Utc>>, TooCostly> {
        if self.rule.count().is_some_and(|count| self.index >= count) {
            return Ok(None);
        }
        // Anchor the rule on the completion day at the series' wall-clock time (taken
        // from DTSTART: a due time moved by a DST gap must not carry the shift on).
        let tz = self.zone.tz();
        let time = self.start.with_timezone(&tz).time();
        let day = done_at.with_timezone(&tz).date_naive();
        let Some(anchor) = crate::domain::local_instant(tz, day, time) else {
            return Ok(None);
        };
        // The anchor itself may have been moved by a DST gap; pinning the time of
        // day keeps later occurrences at the series' wall-clock time.
        let rule = self.rule.without_count().at_time_of_day(time);
        rule.next_after(self.zone, anchor, anchor, self.exdates, budget)
    }

    /// The due times of up to `n` occurrences after this one (each done on time), and
    /// whether the series ends within them.
    ///
    /// # Errors
    /// When finding them spends `budget`.
    pub fn upcoming(&self, n: usize, budget: &mut Budget) -> Result<(Vec<DateTime<Utc>>, bool), TooCostly> {
        match self.mode {
            // One walk: on the rule's calendar each next one is the rule's next date.
            RecurrenceMode::Due => {
                let mut out = self
                    .rule
                    .upcoming(self.zone, self.start, self.due, self.exdates, n, budget)?;
                out.retain(|at| instant::in_range(*at));
                let ends = out.len() < n;
                Ok((out, ends))
            }
            // Each one is anchored on the day the previous one is done: step by step.
            RecurrenceMode::Completion => {
                let mut position = self.clone();
                let mut out = Vec::with_capacity(n.min(1_000));
                while out.len() < n {
                    match position.next(position.due, budget)? {
                        Some(next) => {
                            out.push(next);
                            position.due = next;
                            position.index += 1;
                        }
                        None => return Ok((out, true)),
                    }
                }
                Ok((out, false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-01-05T08:00:00Z".parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn refusal(rule: &str) -> String {
        match Recurrence::parse(rule, start(), TimeZone::default()) {
            Ok(accepted) => panic!("{rule:?} must be refused, accepted as {:?}", accepted.as_str()),
            Err(error) => {
                assert_eq!(error.field, "recurrence", "{rule}");
                error.message
            }
        }
    }

    #[test]
    fn accepts_calendar_rules() {
        let zone = TimeZone::parse("Europe/Berlin").unwrap();
        for rule in [
            "FREQ=DAILY",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
            "freq=monthly;byday=-1fr",
            "FREQ=YEARLY;COUNT=3",
            "FREQ=DAILY;INTERVAL=1000",
            "FREQ=DAILY;COUNT=10000",
            "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=MO,TU,WE,TH,FR,SA,SU",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1;WKST=SU",
            "FREQ=DAILY;UNTIL=22001231T235959Z",
        ] {
            assert!(Recurrence::parse(rule, start(), zone).is_ok(), "{rule}");
        }
    }

    #[test]
    fn refuses_nonsense() {
        for rule in [
            "",
            "FREQ=SOMETIMES",
            "FREQ=HOURLY",
            "FREQ=DAILY;INTERVAL=0",
            "BYDAY=MO",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=DAILY;;INTERVAL",
        ] {
            refusal(rule);
        }
    }

    #[test]
    fn refuses_text_that_is_not_ascii_instead_of_panicking_in_the_rule_crate() {
        // The rule_parser fuzz target found the first: the rule crate panicked on it.
        for rule in [
            "FREQ=WEEKLY;BYDAY=+1\u{188}E;COUNT=3",
            "FREQ=DAILY;BYDAY=MO\u{e9}",
            "FREQ=MONTHLY;BYMONTHDAY=1\u{663}",
        ] {
            assert!(refusal(rule).contains("ASCII"), "{rule}");
        }
    }

    #[test]
    fn refuses_time_of_day_parts_because_due_at_sets_the_time() {
        let hours = (0..24).map(|h| h.to_string()).collect::<Vec<_>>().join(",");
        let sixty = (0..60).map(|m| m.to_string()).collect::<Vec<_>>().join(",");
        for rule in [
            "FREQ=DAILY;BYHOUR=9".to_owned(),
            "FREQ=DAILY;BYMINUTE=30".to_owned(),
            "FREQ=DAILY;BYSECOND=0".to_owned(),
            format!("FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={hours};BYMINUTE={sixty};BYSECOND={sixty}"),
        ] {
            let message = refusal(&rule);
            assert!(message.contains("time of day comes from due_at"), "{rule}: {message}");
        }
    }

    #[test]
    fn refuses_parts_readme_does_not_document() {
        for rule in [
            "FREQ=YEARLY;BYYEARDAY=1,100",
            "FREQ=YEARLY;BYWEEKNO=20",
            "FREQ=YEARLY;BYEASTER=0",
            "FREQ=WEEKLY;BYWEEKDAY=MO",
            "FREQ=DAILY;X-NAME=1",
        ] {
            assert!(refusal(rule).contains("is not supported"), "{rule}");
        }
    }

    #[test]
    fn refuses_numbers_and_lists_beyond_the_limits() {
        for (rule, why) in [
            (
                "FREQ=DAILY;INTERVAL=1001",
                "INTERVAL must be a whole number from 1 to 1000",
            ),
            (
                "FREQ=DAILY;INTERVAL=65536",
                "INTERVAL must be a whole number from 1 to 1000",
            ),
            ("FREQ=DAILY;COUNT=10001", "COUNT must be a whole number from 1 to 10000"),
            ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1 to 10000"),
            (
                "FREQ=DAILY;COUNT=4294967296",
                "COUNT must be a whole number from 1 to 10000",
            ),
            (
                "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12,1",
                "BYMONTH lists at most 12 values",
            ),
            ("FREQ=DAILY;INTERVAL=1,2", "INTERVAL takes a single value"),
        ] {
            let message = refusal(rule);
            assert!(message.contains(why), "{rule}: {message}");
        }
        let days = (1..=32).map(|_| "MO").collect::<Vec<_>>().join(",");
        assert!(refusal(&format!("FREQ=MONTHLY;BYDAY={days}")).contains("BYDAY lists at most 31 values"));
        let positions = (1..=32).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        assert!(refusal(&format!("FREQ=MONTHLY;BYDAY=MO;BYSETPOS={positions}")).contains("BYSETPOS lists at most"));
    }

    #[test]
    fn refuses_until_outside_the_supported_range() {
        for rule in ["FREQ=DAILY;UNTIL=22010101T000000Z", "FREQ=DAILY;UNTIL=90000101T000000Z"] {
            let message = refusal(rule);
            assert!(
                message.contains("UNTIL") && message.contains("outside the supported range"),
                "{rule}: {message}"
            );
        }
    }

    #[test]
    fn a_spent_budget_stops_the_walk() {
        let zone = TimeZone::default();
        let rule = Recurrence::parse("FREQ=DAILY", start(), zone).unwrap();
        let far = at("2030-01-05T08:00:00Z");
        // 1,461 days lie between: a budget of 1,000 dates cannot reach, the standard one can.
        let mut small = Budget::with_limits(1_000, Duration::from_secs(3600));
        assert_eq!(rule.next_after(zone, start(), far, &[], &mut small), Err(TooCostly));
        assert_eq!(
            rule.next_after(zone, start(), far, &[], &mut Budget::new()),
            Ok(Some(at("2030-01-06T08:00:00Z")))
        );
        let mut no_time = Budget::with_limits(Budget::DATES, Duration::ZERO);
        assert_eq!(
            rule.upcoming(zone, start(), start(), &[], 3, &mut no_time),
            Err(TooCostly)
        );
        // The budget is shared by the whole computation, not renewed per occurrence.
        let mut shared = Budget::with_limits(10, Duration::from_secs(3600));
        assert_eq!(
            rule.upcoming(zone, start(), start(), &[], 20, &mut shared),
            Err(TooCostly)
        );
    }

    #[test]
    fn the_longest_walk_a_valid_series_allows_fits_the_budget() {
        // One occurrence a day from the first to the last supported day.
        let zone = TimeZone::default();
        let first = at("1970-01-01T00:00:00Z");
        let rule = Recurrence::parse("FREQ=DAILY", first, zone).unwrap();
        let mut budget = Budget::with_limits(Budget::DATES, Duration::from_secs(3600));
        let last = rule
            .next_after(zone, first, at("2200-12-30T12:00:00Z"), &[], &mut budget)
            .unwrap();
        assert_eq!(last, Some(at("2200-12-31T00:00:00Z")));
    }

    #[test]
    fn the_series_ends_at_the_end_of_the_supported_range() {
        let zone = TimeZone::default();
        let rule = Recurrence::parse("FREQ=DAILY", at("2200-12-30T09:00:00Z"), zone).unwrap();
        let position = SeriesPosition {
            rule: &rule,
            mode: RecurrenceMode::Due,
            zone,
            start: at("2200-12-30T09:00:00Z"),
            due: at("2200-12-31T09:00:00Z"),
            index: 2,
            exdates: &[],
        };
        assert_eq!(position.next(position.due, &mut Budget::new()), Ok(None));
        assert_eq!(position.upcoming(5, &mut Budget::new()), Ok((Vec::new(), true)));
    }

    #[test]
    fn a_start_anchored_near_the_due_time_gives_the_same_next_occurrences() {
        let cases = [
            (
                "FREQ=MONTHLY",
                "Europe/Berlin",
                "1970-01-31T08:00:00Z",
                "2150-06-15T08:00:00Z",
            ),
            (
                "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA;WKST=SU",
                "America/New_York",
                "1971-03-02T14:30:00Z",
                "2199-07-04T00:00:00Z",
            ),
            (
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
                "UTC",
                "1972-02-29T09:00:00Z",
                "2100-03-01T00:00:00Z",
            ),
            (
                "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;UNTIL=22000101T000000Z",
                "Asia/Kolkata",
                "1990-01-31T03:30:00Z",
                "2080-05-31T12:00:00Z",
            ),
            // 02:30 Berlin falls into a gap each spring: the anchor must not take the shifted 03:30.
            (
                "FREQ=DAILY",
                "Europe/Berlin",
                "2020-03-20T01:30:00Z",
                "2026-03-29T05:00:00Z",
            ),
        ];
        for (text, zone_name, first, due) in cases {
            let zone = TimeZone::parse(zone_name).unwrap();
            let (first, due) = (at(first), at(due));
            let rule = Recurrence::parse(text, first, zone).unwrap();
            let anchor = rule.anchor_near(zone, first, due, &mut Budget::new()).unwrap();
            assert!(anchor <= due && anchor > first, "{text}: anchor {anchor}");
            let from_first = rule.upcoming(zone, first, due, &[], 12, &mut Budget::new()).unwrap();
            let from_anchor = rule.upcoming(zone, anchor, due, &[], 12, &mut Budget::new()).unwrap();
            assert_eq!(from_anchor, from_first, "{text} from {anchor}");
            assert!(!from_first.is_empty(), "{text}");
        }
    }

    #[test]
    fn anchoring_before_the_first_occurrence_keeps_the_start() {
        let zone = TimeZone::default();
        let rule = Recurrence::parse("FREQ=DAILY", start(), zone).unwrap();
        let earlier = at("2025-01-01T00:00:00Z");
        assert_eq!(
            rule.anchor_near(zone, start(), earlier, &mut Budget::new()),
            Ok(start())
        );
    }
}

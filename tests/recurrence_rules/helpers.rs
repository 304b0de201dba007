//! The table format (local wall-clock time with its UTC offset) and the checks every theme
//! shares.

use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use taskstream::domain::{Budget, Recurrence, TimeZone};

/// How every instant is written in the tables: local wall-clock time plus the UTC offset.
pub(crate) const LOCAL: &str = "%Y-%m-%d %H:%M %:z";

pub(crate) fn tz(name: &str) -> Tz {
    name.parse().unwrap_or_else(|e| panic!("unknown zone {name}: {e}"))
}

pub(crate) fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap_or_else(|e| panic!("TimeZone::parse({name:?}) failed: {e:?}"))
}

/// An instant as local wall-clock time of `zone_name`, e.g. "2026-03-29 09:00 +02:00".
pub(crate) fn show(zone_name: &str, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz(zone_name)).format(LOCAL).to_string()
}

pub(crate) fn show_all(zone_name: &str, all: &[DateTime<Utc>]) -> Vec<String> {
    all.iter().map(|at| show(zone_name, *at)).collect()
}

/// A table value ("2026-03-29 09:00 +02:00") as an instant. Panics when the offset written in
/// the table is not the zone's offset at that instant (a typo in the table).
pub(crate) fn instant(case: &str, zone_name: &str, local: &str) -> DateTime<Utc> {
    let at = DateTime::parse_from_str(local, LOCAL)
        .unwrap_or_else(|e| panic!("[{case}] bad table value {local:?}: {e}"))
        .with_timezone(&Utc);
    assert_eq!(
        show(zone_name, at),
        local,
        "[{case}] table value {local:?} is not how {zone_name} shows that instant (wrong offset in the table?)"
    );
    at
}

pub(crate) fn strings(all: &[&str]) -> Vec<String> {
    all.iter().map(|s| (*s).to_owned()).collect()
}

/// Collects failing checks so that one theme reports all its failing cases at once.
#[derive(Default)]
pub(crate) struct Failures(Vec<String>);

impl Failures {
    pub(crate) fn check<T: PartialEq + Debug>(&mut self, case: &str, what: &str, expected: T, actual: T) {
        if expected != actual {
            self.0.push(format!(
                "[{case}] {what}\n      expected: {expected:?}\n      actual:   {actual:?}"
            ));
        }
    }

    pub(crate) fn fail(&mut self, case: &str, what: String) {
        self.0.push(format!("[{case}] {what}"));
    }

    pub(crate) fn finish(self, theme: &str) {
        assert!(
            self.0.is_empty(),
            "{theme}: {} failing check(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// One series: rule + zone + DTSTART, and every occurrence from DTSTART on.
pub(crate) struct Series {
    pub(crate) name: &'static str,
    pub(crate) rule: &'static str,
    pub(crate) zone: &'static str,
    /// DTSTART, local time of `zone`.
    pub(crate) dtstart: &'static str,
    pub(crate) exdates: &'static [&'static str],
    /// The occurrences from DTSTART on (DTSTART itself first unless it is an EXDATE), local.
    pub(crate) expected: &'static [&'static str],
    /// The series ends (COUNT/UNTIL) after the last expected occurrence.
    pub(crate) ends: bool,
}

pub(crate) const NO_EXDATES: &[&str] = &[];

/// Checks `upcoming` from just before DTSTART, `next_after` for the first occurrence and
/// for the end of the series. Returns the actual occurrences (for theme-specific checks).
pub(crate) fn run_series(f: &mut Failures, c: &Series) -> Vec<DateTime<Utc>> {
    let z = zone(c.zone);
    let start = instant(c.name, c.zone, c.dtstart);
    let rule = match Recurrence::parse(c.rule, start, z) {
        Ok(rule) => rule,
        Err(e) => {
            f.fail(
                c.name,
                format!("Recurrence::parse({:?}) refused the rule: {e:?}", c.rule),
            );
            return Vec::new();
        }
    };
    let exdates: Vec<_> = c.exdates.iter().map(|e| instant(c.name, c.zone, e)).collect();
    let just_before = start - Duration::seconds(1);
    let asked = c.expected.len() + usize::from(c.ends);
    let got = rule
        .upcoming(z, start, just_before, &exdates, asked, &mut Budget::new())
        .expect("within the computation budget");
    f.check(
        c.name,
        &format!(
            "upcoming({asked}) of {:?} in {} from just before DTSTART",
            c.rule, c.zone
        ),
        strings(c.expected),
        show_all(c.zone, &got),
    );
    f.check(
        c.name,
        "next_after(just before DTSTART)",
        c.expected.first().map(|s| (*s).to_owned()),
        rule.next_after(z, start, just_before, &exdates, &mut Budget::new())
            .expect("within the computation budget")
            .map(|at| show(c.zone, at)),
    );
    if c.ends {
        if let Some(last) = c.expected.last() {
            let last = instant(c.name, c.zone, last);
            f.check(
                c.name,
                &format!(
                    "next_after(last occurrence {}) must be None: the series ended",
                    show(c.zone, last)
                ),
                None,
                rule.next_after(z, start, last, &exdates, &mut Budget::new())
                    .expect("within the computation budget")
                    .map(|at| show(c.zone, at)),
            );
        }
    }
    got
}

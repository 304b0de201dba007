//! Table tests for the repeat-rule arithmetic (`taskstream::domain::Recurrence`,
//! `SeriesPosition`, `local_instant`).
//!
//! Every expected value is written by hand, from the calendar and the tz database, as LOCAL
//! wall-clock time of the case's zone with its UTC offset ("2026-03-29 09:00 +02:00"), so a
//! reader sees that 09:00 stays 09:00 while the offset changes. Results of the code under test
//! are rendered the same way (chrono_tz) and compared as text. A table value whose offset is
//! not the zone's real offset at that instant is reported as a table error, not a code error.
//!
//! Each theme test runs all its cases and then reports every failing case at once, with the
//! case name in every message.
//!
//! DST transitions used (tz database, checked with `zdump -v`):
//! - Europe/Berlin 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET
//! - America/New_York 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST
//! - Australia/Sydney 2026-04-05 03:00 AEDT → 02:00 AEST; 2026-10-04 02:00 AEST → 03:00 AEDT
//! - Australia/Lord_Howe (30-minute DST) 2026-04-05 02:00 +11 → 01:30 +10:30;
//!   2026-10-04 02:00 +10:30 → 02:30 +11
//! - America/Santiago (changes at midnight) 2026-04-05 00:00 -03 → 2026-04-04 23:00 -04;
//!   2026-09-06 00:00 -04 → 01:00 -03

use std::fmt::Debug;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone as _, Utc, Weekday,
};
use chrono_tz::Tz;
use taskstream::domain::{local_instant, Budget, Recurrence, RecurrenceMode, SeriesPosition, TimeZone};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// How every instant is written in the tables: local wall-clock time plus the UTC offset.
const LOCAL: &str = "%Y-%m-%d %H:%M %:z";

fn tz(name: &str) -> Tz {
    name.parse().unwrap_or_else(|e| panic!("unknown zone {name}: {e}"))
}

fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap_or_else(|e| panic!("TimeZone::parse({name:?}) failed: {e:?}"))
}

/// An instant as local wall-clock time of `zone_name`, e.g. "2026-03-29 09:00 +02:00".
fn show(zone_name: &str, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz(zone_name)).format(LOCAL).to_string()
}

fn show_all(zone_name: &str, all: &[DateTime<Utc>]) -> Vec<String> {
    all.iter().map(|at| show(zone_name, *at)).collect()
}

/// A table value ("2026-03-29 09:00 +02:00") as an instant. Panics when the offset written in
/// the table is not the zone's offset at that instant (a typo in the table).
fn instant(case: &str, zone_name: &str, local: &str) -> DateTime<Utc> {
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

fn strings(all: &[&str]) -> Vec<String> {
    all.iter().map(|s| (*s).to_owned()).collect()
}

/// Collects failing checks so that one theme reports all its failing cases at once.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check<T: PartialEq + Debug>(&mut self, case: &str, what: &str, expected: T, actual: T) {
        if expected != actual {
            self.0.push(format!(
                "[{case}] {what}\n      expected: {expected:?}\n      actual:   {actual:?}"
            ));
        }
    }

    fn fail(&mut self, case: &str, what: String) {
        self.0.push(format!("[{case}] {what}"));
    }

    fn finish(self, theme: &str) {
        assert!(
            self.0.is_empty(),
            "{theme}: {} failing check(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// One series: rule + zone + DTSTART, and every occurrence from DTSTART on.
struct Series {
    name: &'static str,
    rule: &'static str,
    zone: &'static str,
    /// DTSTART, local time of `zone`.
    dtstart: &'static str,
    exdates: &'static [&'static str],
    /// The occurrences from DTSTART on (DTSTART itself first unless it is an EXDATE), local.
    expected: &'static [&'static str],
    /// The series ends (COUNT/UNTIL) after the last expected occurrence.
    ends: bool,
}

const NO_EXDATES: &[&str] = &[];

/// Checks `upcoming` from just before DTSTART, `next_after` for the first occurrence and
/// for the end of the series. Returns the actual occurrences (for theme-specific checks).
fn run_series(f: &mut Failures, c: &Series) -> Vec<DateTime<Utc>> {
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

// ---------------------------------------------------------------------------------------------
// 1. DST: 09:00 stays 09:00 local, the UTC offset changes
// ---------------------------------------------------------------------------------------------

struct DstCase {
    series: Series,
    /// Whether the UTC offset of the results must change within the listed occurrences.
    offset_changes: bool,
}

const DST_CASES: &[DstCase] = &[
    DstCase {
        series: Series {
            name: "Berlin daily 09:00 across spring-forward 2026-03-29",
            rule: "FREQ=DAILY",
            zone: "Europe/Berlin",
            dtstart: "2026-03-27 09:00 +01:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-03-27 09:00 +01:00",
                "2026-03-28 09:00 +01:00",
                "2026-03-29 09:00 +02:00",
                "2026-03-30 09:00 +02:00",
                "2026-03-31 09:00 +02:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "Berlin daily 09:00 across fall-back 2026-10-25",
            rule: "FREQ=DAILY",
            zone: "Europe/Berlin",
            dtstart: "2026-10-23 09:00 +02:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-10-23 09:00 +02:00",
                "2026-10-24 09:00 +02:00",
                "2026-10-25 09:00 +01:00",
                "2026-10-26 09:00 +01:00",
                "2026-10-27 09:00 +01:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "Berlin weekly Monday 09:00 across spring-forward",
            rule: "FREQ=WEEKLY;BYDAY=MO",
            zone: "Europe/Berlin",
            dtstart: "2026-03-16 09:00 +01:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-03-16 09:00 +01:00",
                "2026-03-23 09:00 +01:00",
                "2026-03-30 09:00 +02:00",
                "2026-04-06 09:00 +02:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "New York daily 09:00 across spring-forward 2026-03-08",
            rule: "FREQ=DAILY",
            zone: "America/New_York",
            dtstart: "2026-03-06 09:00 -05:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-03-06 09:00 -05:00",
                "2026-03-07 09:00 -05:00",
                "2026-03-08 09:00 -04:00",
                "2026-03-09 09:00 -04:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "New York daily 09:00 across fall-back 2026-11-01",
            rule: "FREQ=DAILY",
            zone: "America/New_York",
            dtstart: "2026-10-30 09:00 -04:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-10-30 09:00 -04:00",
                "2026-10-31 09:00 -04:00",
                "2026-11-01 09:00 -05:00",
                "2026-11-02 09:00 -05:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "New York monthly on the 1st 09:00 across fall-back",
            rule: "FREQ=MONTHLY",
            zone: "America/New_York",
            dtstart: "2026-09-01 09:00 -04:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-09-01 09:00 -04:00",
                "2026-10-01 09:00 -04:00",
                "2026-11-01 09:00 -05:00",
                "2026-12-01 09:00 -05:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "Sydney daily 09:00 across fall-back 2026-04-05 (southern hemisphere)",
            rule: "FREQ=DAILY",
            zone: "Australia/Sydney",
            dtstart: "2026-04-03 09:00 +11:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-04-03 09:00 +11:00",
                "2026-04-04 09:00 +11:00",
                "2026-04-05 09:00 +10:00",
                "2026-04-06 09:00 +10:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "Sydney daily 09:00 across spring-forward 2026-10-04 (southern hemisphere)",
            rule: "FREQ=DAILY",
            zone: "Australia/Sydney",
            dtstart: "2026-10-02 09:00 +10:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-10-02 09:00 +10:00",
                "2026-10-03 09:00 +10:00",
                "2026-10-04 09:00 +11:00",
                "2026-10-05 09:00 +11:00",
            ],
            ends: false,
        },
        offset_changes: true,
    },
    DstCase {
        series: Series {
            name: "Kolkata daily 09:00 (no DST) over Europe's spring-forward",
            rule: "FREQ=DAILY",
            zone: "Asia/Kolkata",
            dtstart: "2026-03-27 09:00 +05:30",
            exdates: NO_EXDATES,
            expected: &[
                "2026-03-27 09:00 +05:30",
                "2026-03-28 09:00 +05:30",
                "2026-03-29 09:00 +05:30",
                "2026-03-30 09:00 +05:30",
            ],
            ends: false,
        },
        offset_changes: false,
    },
    DstCase {
        series: Series {
            name: "Kolkata daily 09:00 (no DST) over New York's fall-back",
            rule: "FREQ=DAILY",
            zone: "Asia/Kolkata",
            dtstart: "2026-10-31 09:00 +05:30",
            exdates: NO_EXDATES,
            expected: &[
                "2026-10-31 09:00 +05:30",
                "2026-11-01 09:00 +05:30",
                "2026-11-02 09:00 +05:30",
            ],
            ends: false,
        },
        offset_changes: false,
    },
    DstCase {
        series: Series {
            name: "UTC daily 09:00 over Europe's spring-forward",
            rule: "FREQ=DAILY",
            zone: "UTC",
            dtstart: "2026-03-28 09:00 +00:00",
            exdates: NO_EXDATES,
            expected: &[
                "2026-03-28 09:00 +00:00",
                "2026-03-29 09:00 +00:00",
                "2026-03-30 09:00 +00:00",
            ],
            ends: false,
        },
        offset_changes: false,
    },
];

#[test]
fn dst_keeps_the_local_wall_clock_time() {
    let mut f = Failures::default();
    for case in DST_CASES {
        let c = &case.series;
        let got = run_series(&mut f, c);
        let start = instant(c.name, c.zone, c.dtstart);
        let wall = start.with_timezone(&tz(c.zone)).time();
        for at in &got {
            f.check(
                c.name,
                &format!("local wall-clock time of {}", show(c.zone, *at)),
                wall,
                at.with_timezone(&tz(c.zone)).time(),
            );
        }
        let mut offsets: Vec<i32> = got
            .iter()
            .map(|at| at.with_timezone(&tz(c.zone)).offset().fix().local_minus_utc())
            .collect();
        offsets.dedup();
        f.check(
            c.name,
            "the UTC offset changes within the series",
            case.offset_changes,
            offsets.len() > 1,
        );
    }
    f.finish("DST");
}

// ---------------------------------------------------------------------------------------------
// 2. Times in a spring-forward gap or a fall-back overlap
// ---------------------------------------------------------------------------------------------

const GAP_AND_OVERLAP_CASES: &[Series] = &[
    Series {
        name: "Berlin daily 02:30: gap day 2026-03-29 is 03:30 CEST, then back to 02:30",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-03-27 02:30 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-27 02:30 +01:00",
            "2026-03-28 02:30 +01:00",
            "2026-03-29 03:30 +02:00",
            "2026-03-30 02:30 +02:00",
            "2026-03-31 02:30 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "Berlin daily 02:30: overlap day 2026-10-25 is the first 02:30 (CEST), once",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-10-23 02:30 +02:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-10-23 02:30 +02:00",
            "2026-10-24 02:30 +02:00",
            "2026-10-25 02:30 +02:00",
            "2026-10-26 02:30 +01:00",
            "2026-10-27 02:30 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "Berlin weekly Sunday 02:30 over the gap Sunday",
        rule: "FREQ=WEEKLY;BYDAY=SU",
        zone: "Europe/Berlin",
        dtstart: "2026-03-22 02:30 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-22 02:30 +01:00",
            "2026-03-29 03:30 +02:00",
            "2026-04-05 02:30 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "New York daily 02:30: gap day 2026-03-08 is 03:30 EDT",
        rule: "FREQ=DAILY",
        zone: "America/New_York",
        dtstart: "2026-03-06 02:30 -05:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-06 02:30 -05:00",
            "2026-03-07 02:30 -05:00",
            "2026-03-08 03:30 -04:00",
            "2026-03-09 02:30 -04:00",
        ],
        ends: false,
    },
    Series {
        name: "New York daily 01:30: overlap day 2026-11-01 is the first 01:30 (EDT), once",
        rule: "FREQ=DAILY",
        zone: "America/New_York",
        dtstart: "2026-10-30 01:30 -04:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-10-30 01:30 -04:00",
            "2026-10-31 01:30 -04:00",
            "2026-11-01 01:30 -04:00",
            "2026-11-02 01:30 -05:00",
        ],
        ends: false,
    },
    Series {
        name: "Sydney daily 02:30: gap day 2026-10-04 is 03:30 AEDT",
        rule: "FREQ=DAILY",
        zone: "Australia/Sydney",
        dtstart: "2026-10-02 02:30 +10:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-10-02 02:30 +10:00",
            "2026-10-03 02:30 +10:00",
            "2026-10-04 03:30 +11:00",
            "2026-10-05 02:30 +11:00",
        ],
        ends: false,
    },
    Series {
        name: "Sydney daily 02:30: overlap day 2026-04-05 is the first 02:30 (AEDT), once",
        rule: "FREQ=DAILY",
        zone: "Australia/Sydney",
        dtstart: "2026-04-03 02:30 +11:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-04-03 02:30 +11:00",
            "2026-04-04 02:30 +11:00",
            "2026-04-05 02:30 +11:00",
            "2026-04-06 02:30 +10:00",
        ],
        ends: false,
    },
    Series {
        name: "Lord Howe daily 02:15: 30-minute gap on 2026-10-04 moves it to 02:45",
        rule: "FREQ=DAILY",
        zone: "Australia/Lord_Howe",
        dtstart: "2026-10-02 02:15 +10:30",
        exdates: NO_EXDATES,
        expected: &[
            "2026-10-02 02:15 +10:30",
            "2026-10-03 02:15 +10:30",
            "2026-10-04 02:45 +11:00",
            "2026-10-05 02:15 +11:00",
        ],
        ends: false,
    },
    Series {
        name: "Lord Howe daily 01:45: 30-minute overlap on 2026-04-05 gives the first 01:45",
        rule: "FREQ=DAILY",
        zone: "Australia/Lord_Howe",
        dtstart: "2026-04-03 01:45 +11:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-04-03 01:45 +11:00",
            "2026-04-04 01:45 +11:00",
            "2026-04-05 01:45 +11:00",
            "2026-04-06 01:45 +10:30",
        ],
        ends: false,
    },
    Series {
        name: "Santiago daily 23:30: overlap on the evening of 2026-04-04 gives the first 23:30",
        rule: "FREQ=DAILY",
        zone: "America/Santiago",
        dtstart: "2026-04-02 23:30 -03:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-04-02 23:30 -03:00",
            "2026-04-03 23:30 -03:00",
            "2026-04-04 23:30 -03:00",
            "2026-04-05 23:30 -04:00",
        ],
        ends: false,
    },
];

/// Known limitation of the rule crate (rrule 0.14, `add_time_to_date`): when local midnight
/// itself falls into a DST gap (America/Santiago, 2026-09-06) the whole day is dropped
/// instead of moving 00:30 to 01:30. Kept as an ignored test so it shows and runs with
/// `cargo test -- --ignored`; completion mode and `local_instant` are not affected.
const CRATE_MIDNIGHT_GAP_CASES: &[Series] = &[Series {
    name: "Santiago daily 00:30: midnight gap on 2026-09-06 moves it to 01:30, the day is not dropped",
    rule: "FREQ=DAILY",
    zone: "America/Santiago",
    dtstart: "2026-09-04 00:30 -04:00",
    exdates: NO_EXDATES,
    expected: &[
        "2026-09-04 00:30 -04:00",
        "2026-09-05 00:30 -04:00",
        "2026-09-06 01:30 -03:00",
        "2026-09-07 00:30 -03:00",
    ],
    ends: false,
}];

#[test]
#[ignore = "rrule 0.14 drops the day when local midnight is in a DST gap (see CRATE_MIDNIGHT_GAP_CASES)"]
fn midnight_gap_days_are_not_dropped() {
    let mut f = Failures::default();
    for c in CRATE_MIDNIGHT_GAP_CASES {
        run_series(&mut f, c);
    }
    f.finish("midnight gap");
}

#[test]
fn gap_and_overlap_times_follow_rfc_5545() {
    let mut f = Failures::default();
    for c in GAP_AND_OVERLAP_CASES {
        run_series(&mut f, c);
    }
    f.finish("gap/overlap");
}

struct LocalCase {
    name: &'static str,
    zone: &'static str,
    day: &'static str,
    time: &'static str,
    /// The instant, local time of `zone` (`None` only if no instant could be meant).
    expected: Option<&'static str>,
}

const LOCAL_INSTANT_CASES: &[LocalCase] = &[
    LocalCase {
        name: "Berlin ordinary winter time",
        zone: "Europe/Berlin",
        day: "2026-01-05",
        time: "09:00",
        expected: Some("2026-01-05 09:00 +01:00"),
    },
    LocalCase {
        name: "Berlin 01:59 before the gap",
        zone: "Europe/Berlin",
        day: "2026-03-29",
        time: "01:59",
        expected: Some("2026-03-29 01:59 +01:00"),
    },
    LocalCase {
        name: "Berlin 02:00 (gap start) → 03:00",
        zone: "Europe/Berlin",
        day: "2026-03-29",
        time: "02:00",
        expected: Some("2026-03-29 03:00 +02:00"),
    },
    LocalCase {
        name: "Berlin 02:30 in the gap → 03:30",
        zone: "Europe/Berlin",
        day: "2026-03-29",
        time: "02:30",
        expected: Some("2026-03-29 03:30 +02:00"),
    },
    LocalCase {
        name: "Berlin 03:00 right after the gap",
        zone: "Europe/Berlin",
        day: "2026-03-29",
        time: "03:00",
        expected: Some("2026-03-29 03:00 +02:00"),
    },
    LocalCase {
        name: "Berlin 02:00 overlap → first (CEST)",
        zone: "Europe/Berlin",
        day: "2026-10-25",
        time: "02:00",
        expected: Some("2026-10-25 02:00 +02:00"),
    },
    LocalCase {
        name: "Berlin 02:30 overlap → first (CEST)",
        zone: "Europe/Berlin",
        day: "2026-10-25",
        time: "02:30",
        expected: Some("2026-10-25 02:30 +02:00"),
    },
    LocalCase {
        name: "Berlin 03:00 after the overlap",
        zone: "Europe/Berlin",
        day: "2026-10-25",
        time: "03:00",
        expected: Some("2026-10-25 03:00 +01:00"),
    },
    LocalCase {
        name: "New York 02:30 in the gap → 03:30",
        zone: "America/New_York",
        day: "2026-03-08",
        time: "02:30",
        expected: Some("2026-03-08 03:30 -04:00"),
    },
    LocalCase {
        name: "New York 01:30 overlap → first (EDT)",
        zone: "America/New_York",
        day: "2026-11-01",
        time: "01:30",
        expected: Some("2026-11-01 01:30 -04:00"),
    },
    LocalCase {
        name: "Sydney 02:30 in the gap → 03:30",
        zone: "Australia/Sydney",
        day: "2026-10-04",
        time: "02:30",
        expected: Some("2026-10-04 03:30 +11:00"),
    },
    LocalCase {
        name: "Sydney 02:30 overlap → first (AEDT)",
        zone: "Australia/Sydney",
        day: "2026-04-05",
        time: "02:30",
        expected: Some("2026-04-05 02:30 +11:00"),
    },
    LocalCase {
        name: "Lord Howe 02:15 in the 30-minute gap → 02:45",
        zone: "Australia/Lord_Howe",
        day: "2026-10-04",
        time: "02:15",
        expected: Some("2026-10-04 02:45 +11:00"),
    },
    LocalCase {
        name: "Lord Howe 01:45 overlap → first (+11)",
        zone: "Australia/Lord_Howe",
        day: "2026-04-05",
        time: "01:45",
        expected: Some("2026-04-05 01:45 +11:00"),
    },
    LocalCase {
        name: "Santiago 00:00 in the midnight gap → 01:00",
        zone: "America/Santiago",
        day: "2026-09-06",
        time: "00:00",
        expected: Some("2026-09-06 01:00 -03:00"),
    },
    LocalCase {
        name: "Santiago 00:30 in the midnight gap → 01:30",
        zone: "America/Santiago",
        day: "2026-09-06",
        time: "00:30",
        expected: Some("2026-09-06 01:30 -03:00"),
    },
    LocalCase {
        name: "Santiago 23:30 overlap → first (-03)",
        zone: "America/Santiago",
        day: "2026-04-04",
        time: "23:30",
        expected: Some("2026-04-04 23:30 -03:00"),
    },
    LocalCase {
        name: "Kolkata has no gap",
        zone: "Asia/Kolkata",
        day: "2026-03-29",
        time: "02:30",
        expected: Some("2026-03-29 02:30 +05:30"),
    },
    LocalCase {
        name: "UTC has no gap",
        zone: "UTC",
        day: "2026-03-29",
        time: "02:30",
        expected: Some("2026-03-29 02:30 +00:00"),
    },
];

#[test]
fn local_instant_reads_gaps_and_overlaps_as_documented() {
    let mut f = Failures::default();
    for c in LOCAL_INSTANT_CASES {
        let day = NaiveDate::parse_from_str(c.day, "%Y-%m-%d").expect(c.name);
        let time = NaiveTime::parse_from_str(c.time, "%H:%M").expect(c.name);
        if let Some(expected) = c.expected {
            instant(c.name, c.zone, expected); // table sanity
        }
        f.check(
            c.name,
            &format!("local_instant({}, {}, {})", c.zone, c.day, c.time),
            c.expected.map(str::to_owned),
            local_instant(tz(c.zone), day, time).map(|at| show(c.zone, at)),
        );
    }
    f.finish("local_instant");
}

// ---------------------------------------------------------------------------------------------
// 3. Calendar rules: BYMONTHDAY, BYDAY ordinals, BYSETPOS, leap days, INTERVAL, WKST
// ---------------------------------------------------------------------------------------------

const CALENDAR_CASES: &[Series] = &[
    Series {
        name: "monthly BYMONTHDAY=31 skips months without a 31st",
        rule: "FREQ=MONTHLY;BYMONTHDAY=31",
        zone: "Europe/Berlin",
        dtstart: "2026-01-31 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-31 09:00 +01:00",
            "2026-03-31 09:00 +02:00",
            "2026-05-31 09:00 +02:00",
            "2026-07-31 09:00 +02:00",
            "2026-08-31 09:00 +02:00",
            "2026-10-31 09:00 +01:00",
            "2026-12-31 09:00 +01:00",
            "2027-01-31 09:00 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "plain monthly from the 31st ignores invalid dates (RFC 5545 §3.3.10)",
        rule: "FREQ=MONTHLY",
        zone: "Europe/Berlin",
        dtstart: "2026-01-31 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-31 09:00 +01:00",
            "2026-03-31 09:00 +02:00",
            "2026-05-31 09:00 +02:00",
            "2026-07-31 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "monthly BYMONTHDAY=-1 gives month ends incl. Feb 28 2027",
        rule: "FREQ=MONTHLY;BYMONTHDAY=-1",
        zone: "Europe/Berlin",
        dtstart: "2026-12-31 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-12-31 09:00 +01:00",
            "2027-01-31 09:00 +01:00",
            "2027-02-28 09:00 +01:00",
            "2027-03-31 09:00 +02:00",
            "2027-04-30 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "monthly BYMONTHDAY=-1 gives month ends incl. Feb 29 2028",
        rule: "FREQ=MONTHLY;BYMONTHDAY=-1",
        zone: "Europe/Berlin",
        dtstart: "2027-11-30 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2027-11-30 09:00 +01:00",
            "2027-12-31 09:00 +01:00",
            "2028-01-31 09:00 +01:00",
            "2028-02-29 09:00 +01:00",
            "2028-03-31 09:00 +02:00",
            "2028-04-30 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "monthly BYDAY=2TU (second Tuesday)",
        rule: "FREQ=MONTHLY;BYDAY=2TU",
        zone: "Europe/Berlin",
        dtstart: "2026-01-13 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-13 09:00 +01:00",
            "2026-02-10 09:00 +01:00",
            "2026-03-10 09:00 +01:00",
            "2026-04-14 09:00 +02:00",
            "2026-05-12 09:00 +02:00",
            "2026-06-09 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "monthly BYDAY=-1FR (last Friday)",
        rule: "FREQ=MONTHLY;BYDAY=-1FR",
        zone: "Europe/Berlin",
        dtstart: "2026-01-30 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-30 09:00 +01:00",
            "2026-02-27 09:00 +01:00",
            "2026-03-27 09:00 +01:00",
            "2026-04-24 09:00 +02:00",
            "2026-05-29 09:00 +02:00",
            "2026-06-26 09:00 +02:00",
            "2026-07-31 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "monthly BYDAY=MO..FR;BYSETPOS=-1 (last workday)",
        rule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        zone: "Europe/Berlin",
        dtstart: "2026-01-30 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-30 09:00 +01:00", // Fri
            "2026-02-27 09:00 +01:00", // Fri
            "2026-03-31 09:00 +02:00", // Tue
            "2026-04-30 09:00 +02:00", // Thu
            "2026-05-29 09:00 +02:00", // Fri (31st is a Sunday)
            "2026-06-30 09:00 +02:00", // Tue
            "2026-07-31 09:00 +02:00", // Fri
            "2026-08-31 09:00 +02:00", // Mon
            "2026-09-30 09:00 +02:00", // Wed
            "2026-10-30 09:00 +01:00", // Fri (31st is a Saturday)
            "2026-11-30 09:00 +01:00", // Mon
            "2026-12-31 09:00 +01:00", // Thu
        ],
        ends: false,
    },
    Series {
        name: "yearly BYMONTH=2;BYMONTHDAY=29 (leap days only)",
        rule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        zone: "Europe/Berlin",
        dtstart: "2024-02-29 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2024-02-29 09:00 +01:00",
            "2028-02-29 09:00 +01:00",
            "2032-02-29 09:00 +01:00",
            "2036-02-29 09:00 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "plain yearly from Feb 29 ignores non-leap years (RFC 5545 §3.3.10)",
        rule: "FREQ=YEARLY",
        zone: "Europe/Berlin",
        dtstart: "2024-02-29 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2024-02-29 09:00 +01:00",
            "2028-02-29 09:00 +01:00",
            "2032-02-29 09:00 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "yearly BYMONTH=3;BYDAY=-1SU (last Sunday of March)",
        rule: "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        zone: "Europe/Berlin",
        dtstart: "2026-03-29 09:00 +02:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-29 09:00 +02:00",
            "2027-03-28 09:00 +02:00",
            "2028-03-26 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "weekly INTERVAL=2 BYDAY=MO,TH (every other week)",
        rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-05 09:00 +01:00",
            "2026-01-08 09:00 +01:00",
            "2026-01-19 09:00 +01:00",
            "2026-01-22 09:00 +01:00",
            "2026-02-02 09:00 +01:00",
            "2026-02-05 09:00 +01:00",
        ],
        ends: false,
    },
    // RFC 5545 §3.8.5.3, the WKST example, verbatim (DTSTART;TZID=America/New_York:19970805T090000).
    Series {
        name: "RFC 5545 WKST example, WKST=MO",
        rule: "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
        zone: "America/New_York",
        dtstart: "1997-08-05 09:00 -04:00",
        exdates: NO_EXDATES,
        expected: &[
            "1997-08-05 09:00 -04:00",
            "1997-08-10 09:00 -04:00",
            "1997-08-19 09:00 -04:00",
            "1997-08-24 09:00 -04:00",
        ],
        ends: true,
    },
    Series {
        name: "RFC 5545 WKST example, WKST=SU",
        rule: "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
        zone: "America/New_York",
        dtstart: "1997-08-05 09:00 -04:00",
        exdates: NO_EXDATES,
        expected: &[
            "1997-08-05 09:00 -04:00",
            "1997-08-17 09:00 -04:00",
            "1997-08-19 09:00 -04:00",
            "1997-08-31 09:00 -04:00",
        ],
        ends: true,
    },
    Series {
        name: "WKST=MO, Berlin 2026 (Tue 4 Aug start)",
        rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO",
        zone: "Europe/Berlin",
        dtstart: "2026-08-04 09:00 +02:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-08-04 09:00 +02:00",
            "2026-08-09 09:00 +02:00",
            "2026-08-18 09:00 +02:00",
            "2026-08-23 09:00 +02:00",
            "2026-09-01 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "WKST=SU, Berlin 2026 (Tue 4 Aug start)",
        rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
        zone: "Europe/Berlin",
        dtstart: "2026-08-04 09:00 +02:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-08-04 09:00 +02:00",
            "2026-08-16 09:00 +02:00",
            "2026-08-18 09:00 +02:00",
            "2026-08-30 09:00 +02:00",
            "2026-09-01 09:00 +02:00",
        ],
        ends: false,
    },
];

#[test]
fn calendar_rules() {
    let mut f = Failures::default();
    for c in CALENDAR_CASES {
        run_series(&mut f, c);
    }
    f.finish("calendar rules");
}

// ---------------------------------------------------------------------------------------------
// 4. COUNT, UNTIL, EXDATE
// ---------------------------------------------------------------------------------------------

const ENDING_CASES: &[Series] = &[
    Series {
        name: "COUNT=3 daily across spring-forward",
        rule: "FREQ=DAILY;COUNT=3",
        zone: "Europe/Berlin",
        dtstart: "2026-03-28 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-28 09:00 +01:00",
            "2026-03-29 09:00 +02:00",
            "2026-03-30 09:00 +02:00",
        ],
        ends: true,
    },
    Series {
        name: "COUNT=3 on BYMONTHDAY=31 counts only real occurrences",
        rule: "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3",
        zone: "Europe/Berlin",
        dtstart: "2026-01-31 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-31 09:00 +01:00",
            "2026-03-31 09:00 +02:00",
            "2026-05-31 09:00 +02:00",
        ],
        ends: true,
    },
    Series {
        name: "COUNT=1 is just DTSTART",
        rule: "FREQ=WEEKLY;COUNT=1",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &["2026-01-05 09:00 +01:00"],
        ends: true,
    },
    Series {
        name: "UNTIL equal to an occurrence includes it (inclusive)",
        rule: "FREQ=WEEKLY;UNTIL=20260126T080000Z",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-05 09:00 +01:00",
            "2026-01-12 09:00 +01:00",
            "2026-01-19 09:00 +01:00",
            "2026-01-26 09:00 +01:00",
        ],
        ends: true,
    },
    Series {
        name: "UNTIL one second before an occurrence excludes it",
        rule: "FREQ=WEEKLY;UNTIL=20260126T075959Z",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-01-05 09:00 +01:00",
            "2026-01-12 09:00 +01:00",
            "2026-01-19 09:00 +01:00",
        ],
        ends: true,
    },
    Series {
        name: "UNTIL in UTC across spring-forward (07:00Z = 09:00 CEST)",
        rule: "FREQ=DAILY;UNTIL=20260330T070000Z",
        zone: "Europe/Berlin",
        dtstart: "2026-03-27 09:00 +01:00",
        exdates: NO_EXDATES,
        expected: &[
            "2026-03-27 09:00 +01:00",
            "2026-03-28 09:00 +01:00",
            "2026-03-29 09:00 +02:00",
            "2026-03-30 09:00 +02:00",
        ],
        ends: true,
    },
    Series {
        name: "EXDATE skips exactly that occurrence",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: &["2026-01-07 09:00 +01:00"],
        expected: &[
            "2026-01-05 09:00 +01:00",
            "2026-01-06 09:00 +01:00",
            "2026-01-08 09:00 +01:00",
            "2026-01-09 09:00 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "EXDATE one minute off an occurrence skips nothing",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: &["2026-01-07 09:01 +01:00"],
        expected: &[
            "2026-01-05 09:00 +01:00",
            "2026-01-06 09:00 +01:00",
            "2026-01-07 09:00 +01:00",
            "2026-01-08 09:00 +01:00",
        ],
        ends: false,
    },
    Series {
        name: "EXDATE on DTSTART skips the first occurrence",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: &["2026-01-05 09:00 +01:00"],
        expected: &["2026-01-06 09:00 +01:00", "2026-01-07 09:00 +01:00"],
        ends: false,
    },
    Series {
        name: "EXDATE on the spring-forward day (09:00 CEST)",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-03-27 09:00 +01:00",
        exdates: &["2026-03-29 09:00 +02:00"],
        expected: &[
            "2026-03-27 09:00 +01:00",
            "2026-03-28 09:00 +01:00",
            "2026-03-30 09:00 +02:00",
            "2026-03-31 09:00 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "EXDATE on a gap-shifted occurrence (02:30 → 03:30 CEST)",
        rule: "FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-03-27 02:30 +01:00",
        exdates: &["2026-03-29 03:30 +02:00"],
        expected: &[
            "2026-03-27 02:30 +01:00",
            "2026-03-28 02:30 +01:00",
            "2026-03-30 02:30 +02:00",
        ],
        ends: false,
    },
    Series {
        name: "EXDATE inside COUNT=3 removes one, COUNT is not refilled",
        rule: "FREQ=DAILY;COUNT=3",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: &["2026-01-06 09:00 +01:00"],
        expected: &["2026-01-05 09:00 +01:00", "2026-01-07 09:00 +01:00"],
        ends: true,
    },
    Series {
        name: "EXDATE of the last COUNT occurrence ends the series early",
        rule: "FREQ=DAILY;COUNT=3",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        exdates: &["2026-01-07 09:00 +01:00"],
        expected: &["2026-01-05 09:00 +01:00", "2026-01-06 09:00 +01:00"],
        ends: true,
    },
];

#[test]
fn count_until_and_exdates() {
    let mut f = Failures::default();
    for c in ENDING_CASES {
        run_series(&mut f, c);
    }
    f.finish("COUNT/UNTIL/EXDATE");
}

// ---------------------------------------------------------------------------------------------
// 5. SeriesPosition::next — due mode and completion mode
// ---------------------------------------------------------------------------------------------

struct Step {
    name: &'static str,
    rule: &'static str,
    mode: RecurrenceMode,
    zone: &'static str,
    /// DTSTART of the series.
    start: &'static str,
    /// Due time of the occurrence being left.
    due: &'static str,
    index: i64,
    exdates: &'static [&'static str],
    done: &'static str,
    expected: Option<&'static str>,
}

use RecurrenceMode::{Completion, Due};

const STEP_CASES: &[Step] = &[
    Step {
        name: "completion: DAILY;INTERVAL=3 done two days late → 3 days after the completion day",
        rule: "FREQ=DAILY;INTERVAL=3",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-07 17:00 +01:00",
        expected: Some("2026-01-10 09:00 +01:00"),
    },
    Step {
        name: "due: DAILY;INTERVAL=3 done two days late → next calendar occurrence",
        rule: "FREQ=DAILY;INTERVAL=3",
        mode: Due,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-07 17:00 +01:00",
        expected: Some("2026-01-08 09:00 +01:00"),
    },
    Step {
        name: "completion: DAILY;INTERVAL=3 done on time",
        rule: "FREQ=DAILY;INTERVAL=3",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-05 10:00 +01:00",
        expected: Some("2026-01-08 09:00 +01:00"),
    },
    Step {
        name: "completion: WEEKLY;BYDAY=MO done on a Wednesday → next Monday",
        rule: "FREQ=WEEKLY;BYDAY=MO",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-07 12:00 +01:00",
        expected: Some("2026-01-12 09:00 +01:00"),
    },
    Step {
        name: "completion: WEEKLY;BYDAY=MO done 9 days late (Wednesday 14th) → Monday 19th",
        rule: "FREQ=WEEKLY;BYDAY=MO",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-14 12:00 +01:00",
        expected: Some("2026-01-19 09:00 +01:00"),
    },
    Step {
        name: "due: WEEKLY;BYDAY=MO done on a Wednesday → the calendar's next Monday",
        rule: "FREQ=WEEKLY;BYDAY=MO",
        mode: Due,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-05 09:00 +01:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-14 12:00 +01:00",
        expected: Some("2026-01-12 09:00 +01:00"),
    },
    Step {
        name: "completion: COUNT=3 reached at index 3 → ended",
        rule: "FREQ=DAILY;COUNT=3",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-07 09:00 +01:00",
        index: 3,
        exdates: NO_EXDATES,
        done: "2026-01-09 12:00 +01:00",
        expected: None,
    },
    Step {
        name: "completion: COUNT=3 at index 2 → one more, re-anchored on the completion day",
        rule: "FREQ=DAILY;COUNT=3",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-06 09:00 +01:00",
        index: 2,
        exdates: NO_EXDATES,
        done: "2026-01-08 12:00 +01:00",
        expected: Some("2026-01-09 09:00 +01:00"),
    },
    Step {
        name: "due: COUNT=3, leaving the 3rd → ended",
        rule: "FREQ=DAILY;COUNT=3",
        mode: Due,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-07 09:00 +01:00",
        index: 3,
        exdates: NO_EXDATES,
        done: "2026-01-07 12:00 +01:00",
        expected: None,
    },
    Step {
        name: "completion: UNTIL still allows the occurrence equal to UNTIL",
        rule: "FREQ=DAILY;UNTIL=20260110T080000Z",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-06 09:00 +01:00",
        index: 2,
        exdates: NO_EXDATES,
        done: "2026-01-09 12:00 +01:00",
        expected: Some("2026-01-10 09:00 +01:00"),
    },
    Step {
        name: "completion: done after UNTIL → ended",
        rule: "FREQ=DAILY;UNTIL=20260110T080000Z",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-01-05 09:00 +01:00",
        due: "2026-01-06 09:00 +01:00",
        index: 2,
        exdates: NO_EXDATES,
        done: "2026-01-10 12:00 +01:00",
        expected: None,
    },
    Step {
        name: "completion: done the evening before spring-forward → 09:00 CEST",
        rule: "FREQ=DAILY",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-03-20 09:00 +01:00",
        due: "2026-03-27 09:00 +01:00",
        index: 8,
        exdates: NO_EXDATES,
        done: "2026-03-28 21:00 +01:00",
        expected: Some("2026-03-29 09:00 +02:00"),
    },
    Step {
        name: "completion: done the evening before fall-back → 09:00 CET",
        rule: "FREQ=DAILY",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-10-20 09:00 +02:00",
        due: "2026-10-24 09:00 +02:00",
        index: 5,
        exdates: NO_EXDATES,
        done: "2026-10-24 22:00 +02:00",
        expected: Some("2026-10-25 09:00 +01:00"),
    },
    Step {
        name: "completion: New York weekly Monday done on the Wednesday before spring-forward",
        rule: "FREQ=WEEKLY;BYDAY=MO",
        mode: Completion,
        zone: "America/New_York",
        start: "2026-02-23 09:00 -05:00",
        due: "2026-03-02 09:00 -05:00",
        index: 2,
        exdates: NO_EXDATES,
        done: "2026-03-04 15:00 -05:00",
        expected: Some("2026-03-09 09:00 -04:00"),
    },
    Step {
        name: "completion: Sydney, completion day is the LOCAL day (already the 8th locally, 7th in UTC)",
        rule: "FREQ=DAILY;INTERVAL=2",
        mode: Completion,
        zone: "Australia/Sydney",
        start: "2026-01-06 07:00 +11:00",
        due: "2026-01-06 07:00 +11:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-08 10:30 +11:00",
        expected: Some("2026-01-10 07:00 +11:00"),
    },
    Step {
        name: "completion: New York, completion day is the LOCAL day (still the 7th locally, 8th in UTC)",
        rule: "FREQ=DAILY;INTERVAL=2",
        mode: Completion,
        zone: "America/New_York",
        start: "2026-01-05 09:00 -05:00",
        due: "2026-01-05 09:00 -05:00",
        index: 1,
        exdates: NO_EXDATES,
        done: "2026-01-07 21:00 -05:00",
        expected: Some("2026-01-09 09:00 -05:00"),
    },
    Step {
        name: "due: daily 02:30 leaving the gap-shifted 03:30 occurrence → back to 02:30",
        rule: "FREQ=DAILY",
        mode: Due,
        zone: "Europe/Berlin",
        start: "2026-03-27 02:30 +01:00",
        due: "2026-03-29 03:30 +02:00",
        index: 3,
        exdates: NO_EXDATES,
        done: "2026-03-29 12:00 +02:00",
        expected: Some("2026-03-30 02:30 +02:00"),
    },
    Step {
        name: "completion: daily 02:30 leaving the gap-shifted 03:30 occurrence → back to 02:30",
        rule: "FREQ=DAILY",
        mode: Completion,
        zone: "Europe/Berlin",
        start: "2026-03-27 02:30 +01:00",
        due: "2026-03-29 03:30 +02:00",
        index: 3,
        exdates: NO_EXDATES,
        done: "2026-03-29 12:00 +02:00",
        expected: Some("2026-03-30 02:30 +02:00"),
    },
    Step {
        name: "completion: Santiago daily 00:30 done on the midnight-gap day → next day 00:30, not ended",
        rule: "FREQ=DAILY",
        mode: Completion,
        zone: "America/Santiago",
        start: "2026-09-01 00:30 -04:00",
        due: "2026-09-05 00:30 -04:00",
        index: 5,
        exdates: NO_EXDATES,
        done: "2026-09-06 10:00 -03:00",
        expected: Some("2026-09-07 00:30 -03:00"),
    },
];

#[test]
fn series_position_next_in_due_and_completion_mode() {
    let mut f = Failures::default();
    for c in STEP_CASES {
        let z = zone(c.zone);
        let start = instant(c.name, c.zone, c.start);
        let due = instant(c.name, c.zone, c.due);
        let done = instant(c.name, c.zone, c.done);
        let exdates: Vec<_> = c.exdates.iter().map(|e| instant(c.name, c.zone, e)).collect();
        let rule = match Recurrence::parse(c.rule, start, z) {
            Ok(rule) => rule,
            Err(e) => {
                f.fail(
                    c.name,
                    format!("Recurrence::parse({:?}) refused the rule: {e:?}", c.rule),
                );
                continue;
            }
        };
        let position = SeriesPosition {
            rule: &rule,
            mode: c.mode,
            zone: z,
            start,
            due,
            index: c.index,
            exdates: &exdates,
        };
        f.check(
            c.name,
            &format!(
                "{:?} mode, {:?}, due {}, index {}, done {}",
                c.mode, c.rule, c.due, c.index, c.done
            ),
            c.expected.map(str::to_owned),
            position
                .next(done, &mut Budget::new())
                .expect("within the computation budget")
                .map(|at| show(c.zone, at)),
        );
    }
    f.finish("SeriesPosition::next");
}

// ---------------------------------------------------------------------------------------------
// 6. What Recurrence::parse refuses and accepts
// ---------------------------------------------------------------------------------------------

const REFUSED: &[(&str, &str)] = &[
    ("HOURLY", "FREQ=HOURLY"),
    ("MINUTELY", "FREQ=MINUTELY"),
    ("SECONDLY", "FREQ=SECONDLY"),
    ("lowercase hourly", "freq=hourly"),
    ("HOURLY behind RRULE:", "RRULE:FREQ=HOURLY;COUNT=3"),
    ("INTERVAL=0", "FREQ=DAILY;INTERVAL=0"),
    ("INTERVAL=0 weekly with BYDAY", "FREQ=WEEKLY;INTERVAL=0;BYDAY=MO"),
    ("INTERVAL=0 with COUNT", "FREQ=DAILY;INTERVAL=0;COUNT=3"),
    ("INTERVAL=00 (zero written with two digits)", "FREQ=DAILY;INTERVAL=00"),
    ("INTERVAL=00 with COUNT", "FREQ=DAILY;INTERVAL=00;COUNT=3"),
    ("INTERVAL=-1", "FREQ=DAILY;INTERVAL=-1"),
    ("INTERVAL not a number", "FREQ=DAILY;INTERVAL=two"),
    ("empty", ""),
    ("blank", "   "),
    ("only the RRULE: prefix", "RRULE:"),
    ("nonsense", "nonsense"),
    ("unknown FREQ", "FREQ=SOMETIMES"),
    ("no FREQ", "BYDAY=MO"),
    ("unknown weekday", "FREQ=WEEKLY;BYDAY=XX"),
    ("BYMONTH=13", "FREQ=YEARLY;BYMONTH=13"),
    ("BYMONTH=0", "FREQ=YEARLY;BYMONTH=0"),
    ("BYMONTHDAY=32", "FREQ=MONTHLY;BYMONTHDAY=32"),
    ("BYMONTHDAY=-32", "FREQ=MONTHLY;BYMONTHDAY=-32"),
    ("BYMONTHDAY=0", "FREQ=MONTHLY;BYMONTHDAY=0"),
    ("30 February, yearly", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
    ("31 April, yearly", "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31"),
    ("31 February, monthly", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"),
    (
        "COUNT and UNTIL together (RFC 5545: MUST NOT occur in the same recur)",
        "FREQ=DAILY;COUNT=3;UNTIL=20260201T000000Z",
    ),
];

struct Accepted {
    name: &'static str,
    rule: &'static str,
    zone: &'static str,
    dtstart: &'static str,
    next: Option<&'static str>,
}

const ACCEPTED: &[Accepted] = &[
    Accepted {
        name: "lowercase",
        rule: "freq=weekly;byday=mo,th",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        next: Some("2026-01-08 09:00 +01:00"),
    },
    Accepted {
        name: "leading RRULE:",
        rule: "RRULE:FREQ=DAILY",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        next: Some("2026-01-06 09:00 +01:00"),
    },
    Accepted {
        name: "lowercase with lowercase rrule: prefix",
        rule: "rrule:freq=monthly;byday=-1fr",
        zone: "Europe/Berlin",
        dtstart: "2026-01-30 09:00 +01:00",
        next: Some("2026-02-27 09:00 +01:00"),
    },
    Accepted {
        name: "mixed case",
        rule: "Rrule:Freq=Yearly;ByMonth=2;ByMonthDay=29",
        zone: "Europe/Berlin",
        dtstart: "2024-02-29 09:00 +01:00",
        next: Some("2028-02-29 09:00 +01:00"),
    },
    Accepted {
        name: "surrounding whitespace",
        rule: "  FREQ=DAILY;INTERVAL=2  ",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        next: Some("2026-01-07 09:00 +01:00"),
    },
    Accepted {
        name: "BYSETPOS with WKST",
        rule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;WKST=SU",
        zone: "Europe/Berlin",
        dtstart: "2026-01-30 09:00 +01:00",
        next: Some("2026-02-27 09:00 +01:00"),
    },
    Accepted {
        name: "lowercase UNTIL",
        rule: "freq=daily;until=20260107t080000z",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        next: Some("2026-01-06 09:00 +01:00"),
    },
    Accepted {
        name: "COUNT=1 (no next, but a valid rule)",
        rule: "FREQ=DAILY;COUNT=1",
        zone: "Europe/Berlin",
        dtstart: "2026-01-05 09:00 +01:00",
        next: None,
    },
];

#[test]
fn parse_refuses_and_accepts() {
    let mut f = Failures::default();
    let start = instant("refusals", "Europe/Berlin", "2026-01-05 09:00 +01:00");
    for (name, rule) in REFUSED {
        match Recurrence::parse(rule, start, zone("Europe/Berlin")) {
            Ok(accepted) => f.fail(
                name,
                format!(
                    "Recurrence::parse({rule:?}) must refuse, accepted as {:?}",
                    accepted.as_str()
                ),
            ),
            Err(e) => f.check(
                name,
                &format!("error field for {rule:?}"),
                "recurrence",
                e.field.as_str(),
            ),
        }
    }
    for c in ACCEPTED {
        let z = zone(c.zone);
        let start = instant(c.name, c.zone, c.dtstart);
        match Recurrence::parse(c.rule, start, z) {
            Err(e) => f.fail(
                c.name,
                format!("Recurrence::parse({:?}) must accept, refused: {e:?}", c.rule),
            ),
            Ok(rule) => f.check(
                c.name,
                &format!("next_after(DTSTART) of {:?}", c.rule),
                c.next.map(str::to_owned),
                rule.next_after(z, start, start, &[], &mut Budget::new())
                    .expect("within the computation budget")
                    .map(|at| show(c.zone, at)),
            ),
        }
    }
    f.finish("parse");
}

// ---------------------------------------------------------------------------------------------
// Property-style: random daily/weekly rules in several zones
// ---------------------------------------------------------------------------------------------

/// A tiny linear congruential generator (Knuth's MMIX constants), fixed seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MO"),
    (Weekday::Tue, "TU"),
    (Weekday::Wed, "WE"),
    (Weekday::Thu, "TH"),
    (Weekday::Fri, "FR"),
    (Weekday::Sat, "SA"),
    (Weekday::Sun, "SU"),
];

/// The RFC 5545 instant of a local date-time, computed independently of the code under test:
/// the earlier instant when the time repeats; when the time does not exist, the time read with
/// the UTC offset in force before the gap (§3.3.5). Also says whether the time was in a gap.
fn rfc_instant(tz: Tz, nominal: NaiveDateTime) -> (DateTime<Utc>, bool) {
    match nominal.and_local_timezone(tz) {
        LocalResult::Single(at) => (at.with_timezone(&Utc), false),
        LocalResult::Ambiguous(first, _) => (first.with_timezone(&Utc), false),
        LocalResult::None => {
            let before = (nominal - Duration::hours(3))
                .and_local_timezone(tz)
                .earliest()
                .expect("three hours before a gap is a real time");
            let offset = i64::from(before.offset().fix().local_minus_utc());
            (Utc.from_utc_datetime(&(nominal - Duration::seconds(offset))), true)
        }
    }
}

/// The 2026 DST changes of the property test's zones: local day and the hour in which local
/// times are skipped or repeated (from `zdump -v`; only used to aim DTSTARTs, not as results).
fn dst_changes(zone_name: &str) -> &'static [(&'static str, u32)] {
    match zone_name {
        "Europe/Berlin" => &[("2026-03-29", 2), ("2026-10-25", 2)],
        "America/New_York" => &[("2026-03-08", 2), ("2026-11-01", 1)],
        "Australia/Sydney" => &[("2026-04-05", 2), ("2026-10-04", 2)],
        "Australia/Lord_Howe" => &[("2026-04-05", 1), ("2026-10-04", 2)],
        "America/Santiago" => &[("2026-04-04", 23), ("2026-09-06", 0)],
        "Pacific/Auckland" => &[("2026-04-05", 2), ("2026-09-27", 2)],
        _ => &[],
    }
}

#[test]
fn random_daily_and_weekly_rules_keep_order_and_wall_clock_time() {
    const ZONES: [&str; 8] = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "America/Santiago",
        "Pacific/Auckland",
        "Asia/Kolkata",
        "UTC",
    ];
    const N: usize = 30;
    let mut rng = Lcg(0x7a5c_2026_0329_0001);
    let mut f = Failures::default();
    let year_start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    // How many expected occurrences fell into a gap / an overlap: the seed must exercise both.
    let (mut gaps, mut overlaps) = (0, 0);

    for i in 0..50 {
        let zone_name = ZONES[rng.below(ZONES.len() as u64) as usize];
        let tzv = tz(zone_name);
        // A local DTSTART that exists. Half the time it is placed up to two weeks before one of
        // the zone's 2026 DST changes, at the hour of the change, so that gaps and overlaps occur.
        let changes = dst_changes(zone_name);
        let (start_local, start) = loop {
            let (day, hour) = if !changes.is_empty() && rng.below(2) == 0 {
                let (day, hour) = changes[rng.below(changes.len() as u64) as usize];
                let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
                (day - Duration::days(rng.below(14) as i64), hour)
            } else {
                (year_start + Duration::days(rng.below(365) as i64), rng.below(24) as u32)
            };
            let minute = [0, 15, 30, 45][rng.below(4) as usize];
            let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap());
            if let LocalResult::Single(at) = local.and_local_timezone(tzv) {
                break (local, at.with_timezone(&Utc));
            }
        };
        let start_day = start_local.date();
        let wall = start_local.time();
        let interval = 1 + rng.below(3) as i64;
        let weekly = rng.below(2) == 1;

        // The rule, and the set of weekdays / week start for the independent calendar below.
        let mut rule = format!("FREQ={};INTERVAL={interval}", if weekly { "WEEKLY" } else { "DAILY" });
        let mut days = vec![start_day.weekday()];
        let mut wkst = Weekday::Mon;
        if weekly {
            if rng.below(3) != 0 {
                for (weekday, _) in WEEKDAYS {
                    if weekday != start_day.weekday() && rng.below(3) == 0 {
                        days.push(weekday);
                    }
                }
                let names: Vec<&str> = WEEKDAYS
                    .iter()
                    .filter(|(d, _)| days.contains(d))
                    .map(|(_, name)| *name)
                    .collect();
                rule.push_str(&format!(";BYDAY={}", names.join(",")));
            }
            if rng.below(2) == 0 {
                wkst = Weekday::Sun;
                rule.push_str(";WKST=SU");
            }
        }
        let name = format!("#{i} {rule} in {zone_name} from {}", show(zone_name, start));

        // Independent calendar: the first N local dates of the series.
        let week_of = |d: NaiveDate| {
            let back = (7 + d.weekday().num_days_from_monday() - wkst.num_days_from_monday()) % 7;
            d - Duration::days(i64::from(back))
        };
        let mut dates = Vec::new();
        let mut d = start_day;
        while dates.len() < N {
            let hit = if weekly {
                days.contains(&d.weekday()) && ((week_of(d) - week_of(start_day)).num_days() / 7) % interval == 0
            } else {
                (d - start_day).num_days() % interval == 0
            };
            if hit {
                dates.push(d);
            }
            d += Duration::days(1);
        }
        let expected: Vec<DateTime<Utc>> = dates.iter().map(|d| rfc_instant(tzv, d.and_time(wall)).0).collect();
        for d in &dates {
            match d.and_time(wall).and_local_timezone(tzv) {
                LocalResult::None => gaps += 1,
                LocalResult::Ambiguous(..) => overlaps += 1,
                LocalResult::Single(_) => {}
            }
        }

        let recurrence = match Recurrence::parse(&rule, start, zone(zone_name)) {
            Ok(r) => r,
            Err(e) => {
                f.fail(&name, format!("refused: {e:?}"));
                continue;
            }
        };
        let got = recurrence
            .upcoming(
                zone(zone_name),
                start,
                start - Duration::seconds(1),
                &[],
                N,
                &mut Budget::new(),
            )
            .expect("within the computation budget");

        for pair in got.windows(2) {
            if pair[0] >= pair[1] {
                f.fail(
                    &name,
                    format!(
                        "not strictly increasing: {} then {}",
                        show(zone_name, pair[0]),
                        show(zone_name, pair[1])
                    ),
                );
            }
        }
        for at in &got {
            let local = at.with_timezone(&tzv).naive_local();
            if local.time() == wall {
                continue;
            }
            // Only allowed when the wall-clock time does not exist that day: then it must be
            // moved forward by the gap length.
            let (shifted, in_gap) = rfc_instant(tzv, local.date().and_time(wall));
            if !in_gap {
                f.fail(
                    &name,
                    format!(
                        "{} is not at the series' wall-clock time {wall} and not in a gap",
                        show(zone_name, *at)
                    ),
                );
            } else {
                f.check(
                    &name,
                    &format!("gap-shifted occurrence on {}", local.date()),
                    show(zone_name, shifted),
                    show(zone_name, *at),
                );
            }
        }
        f.check(
            &name,
            "the occurrences (independent calendar)",
            show_all(zone_name, &expected),
            show_all(zone_name, &got),
        );
    }
    eprintln!("property: {gaps} occurrence(s) in a DST gap, {overlaps} in a DST overlap");
    assert!(
        gaps > 0 && overlaps > 0,
        "property: the seed must exercise gaps ({gaps}) and overlaps ({overlaps})"
    );
    f.finish("property");
}

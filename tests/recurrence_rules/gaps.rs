//! Times in a spring-forward gap or a fall-back overlap, in series and in `local_instant`.

use chrono::{NaiveDate, NaiveTime};
use taskstream::domain::local_instant;

use crate::helpers::{instant, run_series, show, tz, Failures, Series, NO_EXDATES};

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

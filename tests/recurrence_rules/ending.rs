//! COUNT, UNTIL, EXDATE.

use crate::helpers::{run_series, Failures, Series, NO_EXDATES};

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

//! DST: 09:00 stays 09:00 local, the UTC offset changes.

use chrono::Offset;

use crate::helpers::{instant, run_series, show, tz, Failures, Series, NO_EXDATES};

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

//! Calendar rules: BYMONTHDAY, BYDAY ordinals, BYSETPOS, leap days, INTERVAL, WKST.

use crate::helpers::{run_series, Failures, Series, NO_EXDATES};

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

//! What `Recurrence::parse` refuses and accepts.

use taskstream::domain::{Budget, Recurrence};

use crate::helpers::{instant, show, zone, Failures};

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

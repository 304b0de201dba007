//! `SeriesPosition::next` in due mode and completion mode.

use taskstream::domain::{Budget, Recurrence, RecurrenceMode, SeriesPosition};

use crate::helpers::{instant, show, zone, Failures, NO_EXDATES};

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

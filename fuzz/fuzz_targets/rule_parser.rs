//! Repeat rules as a client sends them, with the arithmetic a valid one goes on to: parsing
//! must refuse or accept without panicking, and an accepted rule's next occurrences must come
//! after the one left behind, in order, within the accepted years, within the budget.
//!
//! Input: 8 bytes of start instant, 1 byte of zone and mode, then the rule text.

#![no_main]

use std::time::Duration;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use taskstream::domain::{instant, Budget, Recurrence, RecurrenceMode, SeriesPosition, TimeZone};

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Pacific/Apia",
];

fuzz_target!(|data: &[u8]| {
    let Some((head, rule)) = data.split_first_chunk::<9>() else {
        return;
    };
    let Ok(rule) = std::str::from_utf8(rule) else {
        return;
    };
    let span = (instant::LATEST - instant::EARLIEST).num_seconds().unsigned_abs();
    let offset = u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) % span;
    let start: DateTime<Utc> = instant::EARLIEST + chrono::TimeDelta::seconds(offset as i64);
    let zone = TimeZone::parse(ZONES[usize::from(head[8] & 7)]).unwrap_or_default();
    let mode = if head[8] & 8 == 0 {
        RecurrenceMode::Due
    } else {
        RecurrenceMode::Completion
    };

    let Ok(parsed) = Recurrence::parse(rule, start, zone) else {
        return;
    };
    assert!(
        Recurrence::parse(parsed.as_str(), start, zone).is_ok(),
        "an accepted rule, as stored, is refused: {:?}",
        parsed.as_str()
    );
    let position = SeriesPosition {
        rule: &parsed,
        mode,
        zone,
        start,
        due: start,
        index: 1,
        exdates: &[],
    };
    let budget = || Budget::with_limits(20_000, Duration::from_secs(2));
    if let Ok(Some(next)) = position.next(start, &mut budget()) {
        assert!(instant::in_range(next), "next {next} is out of range");
        if mode == RecurrenceMode::Due {
            assert!(next > start, "next {next} is not after {start}");
        }
    }
    if let Ok((upcoming, _)) = position.upcoming(5, &mut budget()) {
        assert!(upcoming.len() <= 5);
        assert!(upcoming.iter().all(|at| instant::in_range(*at)));
        if mode == RecurrenceMode::Due {
            assert!(
                upcoming.windows(2).all(|pair| pair[0] < pair[1]),
                "occurrences out of order: {upcoming:?}"
            );
        }
    }
});

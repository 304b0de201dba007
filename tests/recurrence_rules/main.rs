//! Table tests for the repeat-rule arithmetic (`taskstream::domain::Recurrence`,
//! `SeriesPosition`, `local_instant`).
//!
//! Every expected value is written by hand, from the calendar and the tz database, as LOCAL
//! wall-clock time of the case's zone with its UTC offset ("2026-03-29 09:00 +02:00"), so a
//! reader sees that 09:00 stays 09:00 while the offset changes. Results of the code under test
//! are rendered the same way (chrono_tz) and compared as text. A table value whose offset is
//! not the zone's real offset at that instant is reported as a table error, not a code error.
//!
//! One file per theme. Each theme test runs all its cases and then reports every failing case at once, with the
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

mod helpers;

mod calendar;
mod dst;
mod ending;
mod gaps;
mod parsing;
mod random;
mod steps;

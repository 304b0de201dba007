//! Property-style: random daily and weekly rules in several zones.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone as _, Utc, Weekday,
};
use chrono_tz::Tz;
use taskstream::domain::{Budget, Recurrence};

use crate::helpers::{show, show_all, tz, zone, Failures};

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

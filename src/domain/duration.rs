//! ISO 8601 durations as used by reminder offsets ("PT15M", "P1DT2H", "P1W").

use chrono::TimeDelta;

/// The longest offset a reminder may have before its due time.
const MAX_SECONDS: i64 = 366 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoDuration(TimeDelta);

impl IsoDuration {
    /// Parses weeks, days, hours, minutes and whole seconds (no years or months: their
    /// length depends on the calendar). Returns `None` on anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((date, time)) if !time.is_empty() => (date, Some(time)),
            Some(_) => return None,
            None => (rest, None),
        };
        let mut seconds = 0i64;
        let mut any = false;
        for (amount, unit) in components(date)? {
            seconds += amount.checked_mul(match unit {
                'W' => 7 * 86_400,
                'D' => 86_400,
                _ => return None,
            })?;
            any = true;
        }
        for (amount, unit) in components(time.unwrap_or(""))? {
            seconds += amount.checked_mul(match unit {
                'H' => 3_600,
                'M' => 60,
                'S' => 1,
                _ => return None,
            })?;
            any = true;
        }
        if !any || seconds > MAX_SECONDS {
            return None;
        }
        Some(Self(TimeDelta::seconds(seconds)))
    }

    pub fn delta(self) -> TimeDelta {
        self.0
    }

    /// The canonical text form, e.g. "PT1H30M".
    pub fn to_iso(self) -> String {
        let total = self.0.num_seconds();
        if total == 0 {
            return "PT0S".to_owned();
        }
        let (days, rem) = (total / 86_400, total % 86_400);
        let (hours, rem) = (rem / 3_600, rem % 3_600);
        let (minutes, seconds) = (rem / 60, rem % 60);
        let mut out = String::from("P");
        if days > 0 {
            out += &format!("{days}D");
        }
        if hours + minutes + seconds > 0 {
            out.push('T');
            for (value, unit) in [(hours, 'H'), (minutes, 'M'), (seconds, 'S')] {
                if value > 0 {
                    out += &format!("{value}{unit}");
                }
            }
        }
        out
    }
}

/// Splits "1D2H" into [(1,'D'), (2,'H')], keeping the order the units were written in.
fn components(text: &str) -> Option<Vec<(i64, char)>> {
    let mut out = Vec::new();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            if digits.len() > 9 {
                return None;
            }
        } else {
            if digits.is_empty() {
                return None;
            }
            out.push((digits.parse().ok()?, c));
            digits.clear();
        }
    }
    digits.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(IsoDuration::parse("PT15M").unwrap().delta(), TimeDelta::minutes(15));
        assert_eq!(IsoDuration::parse("P1DT2H").unwrap().to_iso(), "P1DT2H");
        assert_eq!(IsoDuration::parse("P1W").unwrap().to_iso(), "P7D");
        assert_eq!(IsoDuration::parse("PT0S").unwrap().to_iso(), "PT0S");
        for bad in [
            "",
            "P",
            "PT",
            "15M",
            "P1M",
            "PT1.5H",
            "P1Y",
            "PT99999999999S",
            "P400D",
            "PTM",
        ] {
            assert!(IsoDuration::parse(bad).is_none(), "{bad}");
        }
    }
}

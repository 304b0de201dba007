//! Instants a client gives (due times, fixed reminders, skipped dates, a rule's UNTIL): RFC 3339
//! with an offset, and within the years the service plans for. The bound is what keeps repeat
//! rule arithmetic short: the rule crate walks a series from its start, and a series that may
//! start in year 1 and be due in year 9000 is millions of steps away from any answer.

use chrono::{DateTime, Utc};

use super::FieldError;

/// The earliest instant accepted: 1970-01-01T00:00:00Z.
pub const EARLIEST: DateTime<Utc> = match DateTime::from_timestamp(0, 0) {
    Some(at) => at,
    None => panic!("the epoch is a valid instant"),
};

/// The latest instant accepted: 2200-12-31T23:59:59Z. Repeating series end here at the latest.
pub const LATEST: DateTime<Utc> = match DateTime::from_timestamp(7_289_654_399, 0) {
    Some(at) => at,
    None => panic!("2200-12-31T23:59:59Z is a valid instant"),
};

/// Whether `at` lies within [`EARLIEST`] ..= [`LATEST`].
pub fn in_range(at: DateTime<Utc>) -> bool {
    (EARLIEST..=LATEST).contains(&at)
}

/// `at`, when it lies within the accepted range.
///
/// # Errors
/// When it does not, naming `field`.
pub fn check(field: impl Into<String>, at: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    if in_range(at) {
        Ok(at)
    } else {
        Err(out_of_range(field, at))
    }
}

/// Parses an RFC 3339 instant with offset that lies within the accepted range.
///
/// # Errors
/// When `raw` is not such an instant, naming `field`.
pub fn parse(field: impl Into<String>, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    let field = field.into();
    let at = crate::time::parse(raw).ok_or_else(|| {
        FieldError::new(
            field.clone(),
            format!("{raw:?} is not an RFC 3339 instant with offset, e.g. 2026-03-01T09:00:00+01:00"),
        )
    })?;
    check(field, at)
}

fn out_of_range(field: impl Into<String>, at: DateTime<Utc>) -> FieldError {
    FieldError::new(
        field,
        format!(
            "{} is outside the supported range 1970-01-01T00:00:00Z to 2200-12-31T23:59:59Z",
            crate::time::format(at)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_documented_instants() {
        assert_eq!(crate::time::format(EARLIEST), "1970-01-01T00:00:00.000000Z");
        assert_eq!(crate::time::format(LATEST), "2200-12-31T23:59:59.000000Z");
    }

    #[test]
    fn accepts_the_range_and_refuses_outside_it() {
        assert!(parse("due_at", "1970-01-01T00:00:00Z").is_ok());
        assert!(parse("due_at", "2200-12-31T23:59:59Z").is_ok());
        assert!(parse("due_at", "2026-03-01T09:00:00+01:00").is_ok());
        for raw in [
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "2201-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9000-01-01T00:00:00Z",
        ] {
            let error = parse("due_at", raw).unwrap_err();
            assert_eq!(error.field, "due_at", "{raw}");
            assert!(
                error.message.contains("outside the supported range"),
                "{raw}: {error:?}"
            );
        }
        assert!(parse("due_at", "tomorrow").unwrap_err().message.contains("RFC 3339"));
    }
}

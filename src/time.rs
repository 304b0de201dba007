//! One text form for instants, used in storage, events and the API: RFC 3339 in UTC with
//! microseconds and a `Z`. Fixed width, so text order is time order in both databases.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses any RFC 3339 instant (any offset) into UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The current instant, truncated to what storage keeps.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    parse(&format(now)).unwrap_or(now)
}

//! Reminders: either a fixed instant or an offset before the task's due time.

use chrono::{DateTime, Utc};

use super::{FieldError, IsoDuration};

pub const MAX_REMINDERS: usize = 5;

/// Where one reminder of one occurrence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderState {
    /// Waiting for its moment.
    Pending,
    /// Its moment came and `reminder.fired` went out; the notifier has not settled it yet.
    Fired,
    /// Found long after its moment (beyond the grace period): recorded, never sent.
    Missed,
    /// The task was completed, deleted or changed before the moment.
    Cancelled,
    /// The notifier delivered it.
    Delivered,
    /// The notifier gave up on delivering it.
    Failed,
}

impl ReminderState {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Fired,
        Self::Missed,
        Self::Cancelled,
        Self::Delivered,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fired => "fired",
            Self::Missed => "missed",
            Self::Cancelled => "cancelled",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Fires at this instant.
    At(DateTime<Utc>),
    /// Fires this long before the due time ("-PT15M").
    BeforeDue(IsoDuration),
}

impl Reminder {
    /// Parses "-PT15M" (an offset before due) or an RFC 3339 instant with offset.
    ///
    /// # Errors
    /// When the text is neither, or the instant lies outside the supported range.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if let Some(offset) = raw.strip_prefix('-') {
            return IsoDuration::parse(offset).map(Self::BeforeDue).ok_or_else(|| {
                FieldError::new(
                    "",
                    format!("{raw:?} is not an offset such as -PT15M or -P1D (weeks, days, hours, minutes, seconds; at most a year)"),
                )
            });
        }
        let at = DateTime::parse_from_rfc3339(raw).map_err(|_| {
            FieldError::new(
                "",
                format!("{raw:?} is neither an RFC 3339 instant with offset nor an offset such as -PT15M"),
            )
        })?;
        super::instant::check("", at.with_timezone(&Utc)).map(Self::At)
    }

    pub fn is_relative(self) -> bool {
        matches!(self, Self::BeforeDue(_))
    }

    /// The instant it fires for a task due at `due_at`; `None` for a relative reminder
    /// without a due time (which a valid task never has).
    pub fn fire_at(self, due_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match self {
            Self::At(at) => Some(at),
            Self::BeforeDue(offset) => due_at.map(|due| due - offset.delta()),
        }
    }

    /// The text form the API shows and stores.
    pub fn to_text(self) -> String {
        match self {
            Self::At(at) => crate::time::format(at),
            Self::BeforeDue(offset) => format!("-{}", offset.to_iso()),
        }
    }
}

/// At most five reminders, duplicates removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reminders(Vec<Reminder>);

impl Reminders {
    /// # Errors
    /// Every reminder that fails to parse, or too many.
    pub fn parse(raw: &[String]) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut reminders: Vec<Reminder> = Vec::new();
        for (i, value) in raw.iter().enumerate() {
            match Reminder::parse(value) {
                Ok(reminder) if !reminders.contains(&reminder) => reminders.push(reminder),
                Ok(_) => {}
                Err(error) => errors.push(error.under(&format!("reminders[{i}]"))),
            }
        }
        if errors.is_empty() && reminders.len() > MAX_REMINDERS {
            errors.push(FieldError::new(
                "reminders",
                format!(
                    "at most {MAX_REMINDERS} reminders are allowed (got {})",
                    reminders.len()
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self(reminders))
        } else {
            Err(errors)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Reminder> + '_ {
        self.0.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn any_relative(&self) -> bool {
        self.0.iter().any(|r| r.is_relative())
    }

    /// The same reminders, each changed by `f`.
    pub fn map(&self, f: impl Fn(Reminder) -> Reminder) -> Self {
        Self(self.0.iter().copied().map(f).collect())
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|r| r.to_text()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_states_read_back_from_their_stored_names() {
        for state in ReminderState::ALL {
            assert_eq!(ReminderState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ReminderState::parse("Fired"), None);
    }

    #[test]
    fn parses_both_forms() {
        assert!(Reminder::parse("-PT15M").unwrap().is_relative());
        let at = Reminder::parse("2026-03-01T09:00:00+01:00").unwrap();
        assert_eq!(at.to_text(), "2026-03-01T08:00:00.000000Z");
        assert!(Reminder::parse("PT15M").is_err());
        assert!(Reminder::parse("2026-03-01 09:00").is_err());
        assert!(Reminder::parse("2201-01-01T00:00:00Z").is_err());
        assert!(Reminder::parse("1969-12-31T23:59:59Z").is_err());
    }
}

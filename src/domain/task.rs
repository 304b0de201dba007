//! A task, the parts of it a user edits, and its place in a repeating series.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    instant, Budget, Description, FieldError, FieldErrors, Priority, Recurrence, RecurrenceMode, Reminder, Reminders,
    SeriesPosition, Tags, TaskTitle, TimeZone, TooCostly, UserId, MAX_EXDATES,
};

/// How much of a series' past a re-anchored start keeps before the due time it was moved to:
/// moving the occurrence back by up to this much lands on the same calendar as before.
const ANCHOR_KEEPS: chrono::TimeDelta = chrono::TimeDelta::days(400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Completed => "completed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// The user-editable fields in their raw form, as a client sends them. Creating a task
/// parses one of these; editing one merges the patch into the current raw form and parses
/// the result, so every cross-field rule is checked the same way on both paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub due_at: Option<String>,
    pub time_zone: String,
    pub recurrence: Option<String>,
    pub recurrence_mode: RecurrenceMode,
    pub exdates: Vec<String>,
    pub reminders: Vec<String>,
}

impl TaskInput {
    /// A task with only a title; the other fields at their defaults.
    pub fn titled(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: String::new(),
            priority: Priority::default(),
            tags: Vec::new(),
            due_at: None,
            time_zone: "UTC".into(),
            recurrence: None,
            recurrence_mode: RecurrenceMode::default(),
            exdates: Vec::new(),
            reminders: Vec::new(),
        }
    }
}

/// The user-editable fields, valid and consistent with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Description,
    pub priority: Priority,
    pub tags: Tags,
    pub due_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZone,
    pub recurrence: Option<Recurrence>,
    pub recurrence_mode: RecurrenceMode,
    /// Occurrences of the rule that are skipped.
    pub exdates: Vec<DateTime<Utc>>,
    pub reminders: Reminders,
}

impl NewTask {
    /// # Errors
    /// Every field at fault, each named as the client wrote it.
    pub fn parse(input: &TaskInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let title = errors.take(TaskTitle::parse(&input.title));
        let description = errors.take(Description::parse(&input.description));
        let tags = Tags::parse(&input.tags)
            .map_err(|e| e.into_iter().for_each(|e| errors.push(e)))
            .ok();
        let due_at = match &input.due_at {
            None => Some(None),
            Some(raw) => errors.take(instant::parse("due_at", raw).map(Some)),
        };
        let time_zone = errors.take(TimeZone::parse(&input.time_zone));
        let reminders = Reminders::parse(&input.reminders)
            .map_err(|e| e.into_iter().for_each(|e| errors.push(e)))
            .ok();
        let recurrence = match (&input.recurrence, due_at, time_zone) {
            (None, _, _) => Some(None),
            (Some(_), Some(None), _) => {
                errors.push(FieldError::new(
                    "recurrence",
                    "a repeating task needs a due_at (its first occurrence)",
                ));
                None
            }
            (Some(rule), Some(Some(due)), Some(zone)) => errors.take(Recurrence::parse(rule, due, zone).map(Some)),
            _ => None,
        };
        let exdates = parse_exdates(&input.exdates, input.recurrence.is_some(), &mut errors);
        if let (Some(reminders), Some(None)) = (&reminders, due_at) {
            if reminders.any_relative() {
                errors.push(FieldError::new(
                    "reminders",
                    "a reminder relative to the due time needs a due_at",
                ));
            }
        }
        errors.finish()?;
        // Every part parsed, or `finish` would have returned the errors.
        match (title, description, tags, due_at, time_zone, recurrence, reminders) {
            (
                Some(title),
                Some(description),
                Some(tags),
                Some(due_at),
                Some(time_zone),
                Some(recurrence),
                Some(reminders),
            ) => Ok(Self {
                title,
                description,
                priority: input.priority,
                tags,
                due_at,
                time_zone,
                recurrence,
                recurrence_mode: input.recurrence_mode,
                exdates,
                reminders,
            }),
            _ => unreachable!("a field failed to parse without recording an error"),
        }
    }

    /// The raw form of these fields, for merging a patch into.
    pub fn to_input(&self) -> TaskInput {
        TaskInput {
            title: self.title.as_str().to_owned(),
            description: self.description.as_str().to_owned(),
            priority: self.priority,
            tags: self.tags.to_strings(),
            due_at: self.due_at.map(crate::time::format),
            time_zone: self.time_zone.name().to_owned(),
            recurrence: self.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: self.recurrence_mode,
            exdates: self.exdates.iter().copied().map(crate::time::format).collect(),
            reminders: self.reminders.to_strings(),
        }
    }

    /// Names of the fields that differ between `self` and `other`, in a fixed order.
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut check = |name, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        check("title", self.title != other.title);
        check("description", self.description != other.description);
        check("priority", self.priority != other.priority);
        check("tags", self.tags != other.tags);
        check("due_at", self.due_at != other.due_at);
        check("time_zone", self.time_zone != other.time_zone);
        check("recurrence", self.recurrence != other.recurrence);
        check("recurrence_mode", self.recurrence_mode != other.recurrence_mode);
        check("exdates", self.exdates != other.exdates);
        check("reminders", self.reminders != other.reminders);
        changed
    }
}

fn parse_exdates(raw: &[String], repeating: bool, errors: &mut FieldErrors) -> Vec<DateTime<Utc>> {
    if raw.is_empty() {
        return Vec::new();
    }
    if !repeating {
        errors.push(FieldError::new(
            "exdates",
            "only a repeating task (one with a recurrence) can skip dates",
        ));
        return Vec::new();
    }
    if raw.len() > MAX_EXDATES {
        errors.push(FieldError::new(
            "exdates",
            format!("at most {MAX_EXDATES} dates are allowed (got {})", raw.len()),
        ));
        return Vec::new();
    }
    let mut dates: Vec<DateTime<Utc>> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, text)| errors.take(instant::parse(format!("exdates[{i}]"), text)))
        .collect();
    dates.sort();
    dates.dedup();
    dates
}

/// A task's place in its series. A task that does not repeat is a series of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The id shared by every occurrence: the first occurrence's id.
    pub id: Uuid,
    /// DTSTART: the series' first due time, the due time when its rule was last set, or an
    /// occurrence of it shortly before the due time it was last moved to.
    pub start: Option<DateTime<Utc>>,
    /// 1 for the first occurrence since `start`.
    pub index: i64,
    /// True on the last occurrence of a series that COUNT or UNTIL ended.
    pub ended: bool,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: Uuid,
    pub user_id: UserId,
    pub content: NewTask,
    pub series: Series,
    pub status: Status,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Task {
    /// A new first occurrence (or a task that does not repeat) created now.
    pub fn new(user: UserId, content: NewTask, now: DateTime<Utc>) -> Self {
        let id = Uuid::now_v7();
        let start = content.recurrence.as_ref().and(content.due_at);
        Self {
            id,
            user_id: user,
            content,
            series: Series {
                id,
                start,
                index: 1,
                ended: false,
            },
            status: Status::Open,
            completed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The series arithmetic for this occurrence, when it repeats.
    pub fn position(&self) -> Option<SeriesPosition<'_>> {
        let c = &self.content;
        Some(SeriesPosition {
            rule: c.recurrence.as_ref()?,
            mode: c.recurrence_mode,
            zone: c.time_zone,
            start: self.series.start.or(c.due_at)?,
            due: c.due_at?,
            index: self.series.index,
            exdates: &c.exdates,
        })
    }

    /// This occurrence moved to `due`: the next one of its series. Fixed-instant reminders
    /// move by the same amount; offsets before the due time follow it by themselves.
    pub fn moved_to(&self, due: DateTime<Utc>) -> NewTask {
        let shift = self.content.due_at.map_or(chrono::TimeDelta::zero(), |old| due - old);
        let mut content = self.content.clone();
        content.due_at = Some(due);
        content.reminders = self.content.reminders.map(|r| match r {
            Reminder::At(at) => Reminder::At(at + shift),
            relative => relative,
        });
        content
    }

    /// This task with its user-editable fields replaced. Setting or changing the rule (or
    /// its mode) restarts the series' count here: the new rule applies from this occurrence on.
    /// Moving the due time re-anchors the series' start near it (see [`Task::anchored_start`]).
    ///
    /// # Errors
    /// When re-anchoring spends `budget`.
    pub fn edited(&self, content: NewTask, budget: &mut Budget) -> Result<Task, TooCostly> {
        let mut series = self.series.clone();
        let rule_changed =
            content.recurrence != self.content.recurrence || content.recurrence_mode != self.content.recurrence_mode;
        if rule_changed {
            series.start = content.recurrence.as_ref().and(content.due_at);
            series.index = 1;
            series.ended = false;
        } else if content.due_at != self.content.due_at {
            series.start = self.anchored_start(&content, budget)?;
        }
        Ok(Task {
            content,
            series,
            ..self.clone()
        })
    }

    /// The series' start once its due time moves to `content.due_at`. Due-mode arithmetic
    /// walks the rule from the start to the due time, so a series started long ago and moved
    /// far ahead would walk (and pay) that whole way at every step; instead the start moves
    /// to the series' last occurrence [`ANCHOR_KEEPS`] before the new due time, which yields the
    /// same occurrences from there on ([`Recurrence::anchor_near`]). Kept as it is: with
    /// COUNT (the walk is at most COUNT dates, and COUNT counts from the start), in
    /// completion mode (which only takes the time of day from the start), and when the new
    /// due time is not later than that.
    fn anchored_start(&self, content: &NewTask, budget: &mut Budget) -> Result<Option<DateTime<Utc>>, TooCostly> {
        let (Some(rule), Some(start), Some(due)) = (&content.recurrence, self.series.start, content.due_at) else {
            return Ok(self.series.start);
        };
        if content.recurrence_mode != RecurrenceMode::Due || rule.count().is_some() || due - ANCHOR_KEEPS <= start {
            return Ok(Some(start));
        }
        rule.anchor_near(content.time_zone, start, due - ANCHOR_KEEPS, budget)
            .map(Some)
    }

    /// The occurrence after this one, created when this one is completed at `done_at`;
    /// `None` when the series has ended or the task does not repeat.
    ///
    /// # Errors
    /// When finding the next due time spends `budget`.
    pub fn next_occurrence(
        &self,
        done_at: DateTime<Utc>,
        now: DateTime<Utc>,
        budget: &mut Budget,
    ) -> Result<Option<Task>, TooCostly> {
        let Some(position) = self.position() else {
            return Ok(None);
        };
        let Some(due) = position.next(done_at, budget)? else {
            return Ok(None);
        };
        Ok(Some(Task {
            id: self.next_occurrence_id(),
            content: self.moved_to(due),
            series: Series {
                index: self.series.index + 1,
                ended: false,
                ..self.series.clone()
            },
            status: Status::Open,
            completed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
            ..self.clone()
        }))
    }

    /// This task completed (or reopened) at `now`; `None` when it already is.
    pub fn with_status(&self, status: Status, now: DateTime<Utc>) -> Option<Task> {
        (self.status != status).then(|| Task {
            status,
            completed_at: (status == Status::Completed).then_some(now),
            ..self.clone()
        })
    }

    /// This occurrence moved on to the next due time of its series without being done.
    ///
    /// # Errors
    /// When the task does not repeat, is completed, or is the last of its series, or finding
    /// the next due time spends `budget`.
    pub fn skipped(&self, now: DateTime<Utc>, budget: &mut Budget) -> Result<Task, FieldError> {
        if self.content.recurrence.is_none() {
            return Err(FieldError::new(
                "recurrence",
                "only a repeating task can skip an occurrence",
            ));
        }
        if self.status == Status::Completed {
            return Err(FieldError::new(
                "status",
                "a completed occurrence cannot be skipped; reopen it first",
            ));
        }
        let next = match self.position() {
            Some(position) => position.next(now, budget)?,
            None => None,
        };
        let due = next.ok_or_else(|| {
            FieldError::new(
                "recurrence",
                "this is the last occurrence of its series; complete or delete it instead",
            )
        })?;
        let series = Series {
            index: self.series.index + 1,
            ..self.series.clone()
        };
        Ok(Task {
            content: self.moved_to(due),
            series,
            ..self.clone()
        })
    }

    /// The due times of up to `n` occurrences after this one (assuming each is done on
    /// time), and whether the series ends within them.
    ///
    /// # Errors
    /// When finding them spends `budget`.
    pub fn upcoming(&self, n: usize, budget: &mut Budget) -> Result<(Vec<DateTime<Utc>>, bool), TooCostly> {
        match self.position() {
            Some(position) => position.upcoming(n, budget),
            None => Ok((Vec::new(), true)),
        }
    }

    /// The id of the occurrence that follows this one: derived from the series and this
    /// occurrence's due time, so every path that advances the series from here (a redelivered
    /// event, a reopen and a second completion, a second recurrence process) names the same task.
    pub fn next_occurrence_id(&self) -> Uuid {
        next_occurrence_id(self.series.id, self.content.due_at)
    }
}

/// The id of the occurrence that follows the one of `series` due at `due` (see
/// [`Task::next_occurrence_id`]); public so a client can tell which task a completion leads to.
pub fn next_occurrence_id(series: Uuid, due: Option<DateTime<Utc>>) -> Uuid {
    let due = due.map(crate::time::format).unwrap_or_default();
    Uuid::new_v5(&series, format!("after {due}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completing_stamps_the_time_and_reopening_clears_it() {
        let now = crate::time::now();
        let open = Task::new(UserId::parse("u").unwrap(), NewTask::parse(&input()).unwrap(), now);
        assert_eq!(open.with_status(Status::Open, now), None, "already open");
        let done = open.with_status(Status::Completed, now).expect("completes");
        assert_eq!((done.status, done.completed_at), (Status::Completed, Some(now)));
        let reopened = done.with_status(Status::Open, now).expect("reopens");
        assert_eq!((reopened.status, reopened.completed_at), (Status::Open, None));
    }

    fn input() -> TaskInput {
        TaskInput {
            title: "Pay rent".into(),
            tags: vec!["Home".into()],
            priority: Priority::High,
            due_at: Some("2026-03-01T09:00:00+01:00".into()),
            time_zone: "Europe/Berlin".into(),
            recurrence: Some("FREQ=MONTHLY".into()),
            exdates: vec!["2026-05-01T09:00:00+02:00".into()],
            reminders: vec!["-PT15M".into()],
            ..TaskInput::titled("")
        }
    }

    #[test]
    fn parses_and_round_trips() {
        let task = NewTask::parse(&input()).unwrap();
        assert_eq!(NewTask::parse(&task.to_input()).unwrap(), task);
    }

    #[test]
    fn cross_field_rules_name_the_field() {
        let mut raw = input();
        raw.due_at = None;
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["recurrence", "reminders"]);
        raw.recurrence = None;
        raw.reminders.clear();
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["exdates"]);
    }

    #[test]
    fn reports_every_field_at_once() {
        let mut raw = input();
        raw.title = " ".into();
        raw.time_zone = "Mars/Olympus".into();
        raw.tags = vec![String::new()];
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["title", "tags[0]", "time_zone"]);
    }

    #[test]
    fn the_next_occurrence_id_is_stable_and_distinct_per_occurrence() {
        let content = NewTask::parse(&input()).unwrap();
        let task = Task::new(UserId::parse("u").unwrap(), content, Utc::now());
        assert_eq!(task.next_occurrence_id(), task.clone().next_occurrence_id());
        let next_due = task
            .position()
            .unwrap()
            .next(Utc::now(), &mut Budget::new())
            .unwrap()
            .unwrap();
        let moved = Task {
            content: task.moved_to(next_due),
            ..task.clone()
        };
        assert_ne!(moved.next_occurrence_id(), task.next_occurrence_id());
    }

    fn daily_since_1970(rule: &str) -> Task {
        let raw = TaskInput {
            due_at: Some("1970-01-01T09:00:00Z".into()),
            recurrence: Some(rule.into()),
            ..TaskInput::titled("Stretch")
        };
        Task::new(UserId::parse("u").unwrap(), NewTask::parse(&raw).unwrap(), Utc::now())
    }

    fn moved(task: &Task, due: &str) -> Task {
        let mut raw = task.content.to_input();
        raw.due_at = Some(due.into());
        task.edited(NewTask::parse(&raw).unwrap(), &mut Budget::new()).unwrap()
    }

    fn next_due(task: &Task) -> Option<DateTime<Utc>> {
        let position = task.position().unwrap();
        position.next(position.due, &mut Budget::new()).unwrap()
    }

    #[test]
    fn moving_the_due_time_far_ahead_re_anchors_the_start_on_the_same_calendar() {
        let task = daily_since_1970("FREQ=DAILY;INTERVAL=3");
        let far = moved(&task, "2150-06-15T12:00:00Z");
        let start = far.series.start.unwrap();
        assert!(
            start > "2148-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
            "{start}"
        );
        assert_eq!(
            far.series.index, task.series.index,
            "the occurrence count is not restarted"
        );
        // The same next due time as walking from 1970: every third day at 09:00.
        let from_1970 = Task {
            series: task.series.clone(),
            ..far.clone()
        };
        assert_eq!(next_due(&far), next_due(&from_1970));
        // Moved back by a few months, it is still on the 1970 calendar.
        let back = moved(&far, "2150-01-02T10:00:00Z");
        let back_from_1970 = Task {
            series: task.series.clone(),
            ..back.clone()
        };
        assert_eq!(next_due(&back), next_due(&back_from_1970));
    }

    #[test]
    fn a_series_with_count_keeps_its_start_when_moved() {
        let task = daily_since_1970("FREQ=DAILY;COUNT=5000");
        let far = moved(&task, "1975-06-15T12:00:00Z");
        assert_eq!(far.series.start, task.series.start);
        // COUNT still counts from 1970: the 5,000th day is 1983-09-09.
        let late = moved(&task, "1983-09-09T12:00:00Z");
        assert_eq!(
            next_due(&moved(&task, "1983-09-08T12:00:00Z")),
            Some("1983-09-09T09:00:00Z".parse().unwrap())
        );
        assert_eq!(next_due(&late), None);
    }

    #[test]
    fn due_at_and_exdates_outside_the_supported_range_are_refused() {
        let mut raw = input();
        raw.due_at = Some("9000-01-01T00:00:00Z".into());
        raw.exdates = vec!["0001-01-01T00:00:00Z".into()];
        raw.reminders = vec!["1969-07-20T20:17:00Z".into()];
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["due_at", "reminders[0]", "exdates[0]"]);
    }
}

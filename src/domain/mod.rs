//! The task model. Every type here is parsed once at the boundary and valid from then on:
//! holding a `TaskTitle` means the title is already trimmed and of an allowed length.

mod budget;
mod duration;
mod error;
pub mod instant;
mod priority;
mod recurrence;
mod reminder;
mod tag;
mod task;
mod text;
mod time_zone;
mod user;

pub use budget::{Budget, TooCostly};
pub use duration::IsoDuration;
pub use error::{FieldError, FieldErrors};
pub use priority::Priority;
pub use recurrence::{Recurrence, RecurrenceMode, SeriesPosition, MAX_COUNT, MAX_EXDATES, MAX_INTERVAL};
pub use reminder::{Reminder, ReminderState, Reminders, MAX_REMINDERS};
pub use tag::{Tag, Tags, MAX_TAGS, MAX_TAG_CHARS};
pub use task::{next_occurrence_id, NewTask, Series, Status, Task, TaskInput};
pub use text::{Description, TaskTitle, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
pub use time_zone::{local_instant, TimeZone};
pub use user::UserId;

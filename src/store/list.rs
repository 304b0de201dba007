//! Listing a user's tasks: filters, full-text search, sorting and keyset pagination.
//!
//! Pages are cut by the sort key and the id (both ascending or both descending), so a page
//! boundary is stable while tasks are added or changed elsewhere in the list.

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::rows::{bind_all_as, Bind, TaskRow, TASK_COLUMNS};
use super::Store;
use crate::domain::{Priority, Status, Tag, Task, UserId};

/// Sort key of a task without a due date: after every dated one, in text order.
const NO_DUE: &str = "~";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    DueAt,
    Priority,
    #[default]
    CreatedAt,
    UpdatedAt,
    Title,
}

impl SortField {
    pub const NAMES: &'static str = "due_at, priority, created_at, updated_at, title";

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "due_at" => Self::DueAt,
            "priority" => Self::Priority,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "title" => Self::Title,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::DueAt => "due_at",
            Self::Priority => "priority",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Title => "title",
        }
    }

    fn expression(self) -> String {
        match self {
            Self::DueAt => format!("COALESCE(t.due_at, '{NO_DUE}')"),
            other => format!("t.{}", other.name()),
        }
    }

    fn key_of(self, task: &Task) -> CursorKey {
        match self {
            Self::DueAt => CursorKey::Text(
                task.content
                    .due_at
                    .map_or_else(|| NO_DUE.to_owned(), crate::time::format),
            ),
            Self::Priority => CursorKey::Int(task.content.priority.rank()),
            Self::CreatedAt => CursorKey::Text(crate::time::format(task.created_at)),
            Self::UpdatedAt => CursorKey::Text(crate::time::format(task.updated_at)),
            Self::Title => CursorKey::Text(task.content.title.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Asc => "ASC",
            Self::Desc => "DESC",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum CursorKey {
    Int(i64),
    Text(String),
}

/// Where the previous page ended. Opaque to clients; bound to the sort it was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    s: String,
    o: String,
    k: CursorKey,
    i: String,
}

impl Cursor {
    fn after(task: &Task, sort: SortField, order: SortOrder) -> Self {
        Self {
            s: sort.name().to_owned(),
            o: order.sql().to_owned(),
            k: sort.key_of(task),
            i: task.id.to_string(),
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// # Errors
    /// When the text is not a cursor this service made for the same sort and order.
    pub fn decode(text: &str, sort: SortField, order: SortOrder) -> Result<Self, &'static str> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| "is not a cursor returned by this API")?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| "is not a cursor returned by this API")?;
        if cursor.s != sort.name() || cursor.o != order.sql() {
            return Err("belongs to a listing with another sort or order; repeat that sort or start without a cursor");
        }
        // Its parts go into SQL parameters: each must have the type and form of what it
        // stands for, or PostgreSQL would fail on the comparison.
        if uuid::Uuid::parse_str(&cursor.i).is_err() || !sort.accepts(&cursor.k) {
            return Err("is not a cursor returned by this API");
        }
        Ok(cursor)
    }
}

impl SortField {
    fn accepts(self, key: &CursorKey) -> bool {
        match (self, key) {
            (Self::Priority, CursorKey::Int(rank)) => Priority::from_rank(*rank).is_some(),
            (Self::CreatedAt | Self::UpdatedAt, CursorKey::Text(at)) => crate::time::parse(at).is_some(),
            (Self::DueAt, CursorKey::Text(at)) => at == NO_DUE || crate::time::parse(at).is_some(),
            (Self::Title, CursorKey::Text(title)) => crate::domain::TaskTitle::parse(title).is_ok(),
            _ => false,
        }
    }
}

/// A validated listing request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// Every one of these tags must be present.
    pub tags: Vec<Tag>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: Option<bool>,
    /// Words that must each start a word of the title or description.
    pub search: Vec<String>,
    pub sort: SortField,
    pub order: SortOrder,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

pub const MAX_SEARCH_WORDS: usize = 8;

impl ListQuery {
    pub const MAX_LIMIT: u32 = 200;
    pub const DEFAULT_LIMIT: u32 = 50;

    /// Splits a search text into words of letters and digits, the only characters that
    /// reach the full-text query (so no user text can alter its syntax).
    pub fn search_words(q: &str) -> Vec<String> {
        super::search::words(q).take(MAX_SEARCH_WORDS).collect()
    }
}

pub struct Page {
    pub items: Vec<Task>,
    pub next_cursor: Option<String>,
}

impl Store {
    /// One page of the caller's tasks.
    ///
    /// # Errors
    /// A database failure.
    pub async fn list_tasks(&self, user: &UserId, query: &ListQuery) -> anyhow::Result<Page> {
        let (sql, binds) = self.list_sql(user, query);
        let rows: Vec<TaskRow> = bind_all_as(sqlx::query_as(&sql), &binds)
            .fetch_all(&self.reader)
            .await
            .context("list tasks")?;
        let mut items = rows
            .into_iter()
            .map(Task::try_from)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let limit = query.limit as usize;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| Cursor::after(t, query.sort, query.order).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn list_sql(&self, user: &UserId, query: &ListQuery) -> (String, Vec<Bind>) {
        let mut binds = vec![Bind::Text(user.as_str().to_owned())];
        let mut conditions = vec!["t.user_id = $1".to_owned()];
        let param = |binds: &mut Vec<Bind>, bind: Bind| {
            binds.push(bind);
            binds.len()
        };
        if let Some(status) = query.status {
            let n = param(&mut binds, Bind::Text(status.as_str().into()));
            conditions.push(format!("t.status = ${n}"));
        }
        if let Some(priority) = query.priority {
            let n = param(&mut binds, Bind::Int(priority.rank()));
            conditions.push(format!("t.priority = ${n}"));
        }
        for tag in &query.tags {
            let n = param(&mut binds, Bind::Text(tag.as_str().into()));
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = ${n})"
            ));
        }
        if let Some(before) = query.due_before {
            let n = param(&mut binds, Bind::Text(crate::time::format(before)));
            conditions.push(format!("t.due_at < ${n}"));
        }
        if let Some(after) = query.due_after {
            let n = param(&mut binds, Bind::Text(crate::time::format(after)));
            conditions.push(format!("t.due_at > ${n}"));
        }
        if let Some(overdue) = query.overdue {
            let n = param(&mut binds, Bind::Text(crate::time::format(Utc::now())));
            let is_overdue = format!("(t.status = 'open' AND t.due_at IS NOT NULL AND t.due_at < ${n})");
            conditions.push(if overdue {
                is_overdue
            } else {
                format!("NOT {is_overdue}")
            });
        }
        if !query.search.is_empty() {
            let n = binds.len() + 1;
            let (condition, text) = self.backend.search(n, &super::search::query_terms(user, &query.search));
            binds.push(Bind::Text(text));
            conditions.push(condition);
        }
        let key = query.sort.expression();
        let (cmp, dir) = match query.order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some(cursor) = &query.cursor {
            let k = param(
                &mut binds,
                match &cursor.k {
                    CursorKey::Int(v) => Bind::Int(*v),
                    CursorKey::Text(v) => Bind::Text(v.clone()),
                },
            );
            let i = param(&mut binds, Bind::Text(cursor.i.clone()));
            conditions.push(format!("({key} {cmp} ${k} OR ({key} = ${k} AND t.id {cmp} ${i}))"));
        }
        let limit = param(&mut binds, Bind::Int(i64::from(query.limit) + 1));
        let sql = format!(
            "SELECT {} FROM tasks t WHERE {} ORDER BY {key} {dir}, t.id {dir} LIMIT ${limit}",
            *TASK_COLUMNS,
            conditions.join(" AND ")
        );
        (sql, binds)
    }
}

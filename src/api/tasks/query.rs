//! The query string of GET /tasks, parsed into a [`ListQuery`]. Parameters a client
//! misspells are refused rather than ignored.

use utoipa::IntoParams;

use crate::domain::{FieldError, FieldErrors, Priority, Status, Tag, MAX_TAGS};
use crate::store::{Cursor, ListQuery, SortField, SortOrder};

/// Filters, sorting and paging of GET /tasks (documentation of the query string).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// open | completed
    status: Option<String>,
    /// low | medium | high | urgent
    priority: Option<String>,
    /// Repeatable; every tag given must be present.
    tag: Option<Vec<String>>,
    /// RFC 3339; tasks due strictly before.
    due_before: Option<String>,
    /// RFC 3339; tasks due strictly after.
    due_after: Option<String>,
    /// true: open tasks whose due time has passed; false: all others.
    overdue: Option<bool>,
    /// Words that must each begin a word of the title or description.
    q: Option<String>,
    /// due_at | priority | created_at | updated_at | title (default created_at)
    sort: Option<String>,
    /// asc | desc (default asc)
    order: Option<String>,
    /// 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// next_cursor of the previous page
    cursor: Option<String>,
}

/// # Errors
/// Every parameter at fault.
pub fn parse(raw: Option<&str>) -> Result<ListQuery, Vec<FieldError>> {
    let mut query = ListQuery {
        limit: ListQuery::DEFAULT_LIMIT,
        ..ListQuery::default()
    };
    let mut errors = FieldErrors::default();
    let mut seen: Vec<String> = Vec::new();
    let mut cursor_text = None;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if name != "tag" && seen.contains(&name) {
            errors.push(FieldError::new(&name, "may be given only once"));
            continue;
        }
        seen.push(name.clone());
        let invalid = |message: String| FieldError::new(&name, message);
        match name.as_str() {
            "status" => query.status = errors.take(Status::parse(&value).ok_or_else(|| invalid("must be open or completed".into()))),
            "priority" => {
                query.priority = errors.take(Priority::parse(&value).ok_or_else(|| invalid(format!("must be one of {}", Priority::NAMES))));
            }
            "tag" if query.tags.len() >= MAX_TAGS => {
                // A task has at most that many tags, so more filters can never match.
                errors.push(invalid(format!("may be given at most {MAX_TAGS} times")));
                break;
            }
            "tag" => {
                if let Some(tag) = errors.take(Tag::parse(&value).map_err(|e| invalid(e.message))) {
                    query.tags.push(tag);
                }
            }
            "due_before" | "due_after" => {
                let at = errors.take(crate::time::parse(&value).ok_or_else(|| invalid("must be an RFC 3339 instant with offset".into())));
                if name == "due_before" { query.due_before = at } else { query.due_after = at }
            }
            "overdue" => {
                query.overdue = errors.take(match value.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(invalid("must be true or false".into())),
                });
            }
            "q" => {
                query.search = ListQuery::search_words(&value);
                if query.search.is_empty() {
                    errors.push(invalid("must contain at least one letter or digit".into()));
                }
            }
            "sort" => {
                query.sort = errors.take(SortField::parse(&value).ok_or_else(|| invalid(format!("must be one of {}", SortField::NAMES)))).unwrap_or_default();
            }
            "order" => {
                query.order = errors.take(SortOrder::parse(&value).ok_or_else(|| invalid("must be asc or desc".into()))).unwrap_or_default();
            }
            "limit" => {
                let limit = value.parse::<u32>().ok().filter(|l| (1..=ListQuery::MAX_LIMIT).contains(l));
                query.limit = errors
                    .take(limit.ok_or_else(|| invalid(format!("must be a whole number from 1 to {}", ListQuery::MAX_LIMIT))))
                    .unwrap_or(ListQuery::DEFAULT_LIMIT);
            }
            "cursor" => cursor_text = Some(value),
            _ => errors.push(invalid(
                "is not a known parameter (status, priority, tag, due_before, due_after, overdue, q, sort, order, limit, cursor)".into(),
            )),
        }
    }
    if let Some(text) = cursor_text {
        query.cursor =
            errors.take(Cursor::decode(&text, query.sort, query.order).map_err(|why| FieldError::new("cursor", why)));
    }
    errors.finish()?;
    Ok(query)
}

/// The query string of DELETE /tasks/{id}: whether to stop the series.
///
/// # Errors
/// An unknown parameter or a value other than true/false.
pub fn parse_delete(raw: Option<&str>) -> Result<bool, Vec<FieldError>> {
    let mut stop = false;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("series", "true") => stop = true,
            ("series", "false") => stop = false,
            ("series", _) => return Err(vec![FieldError::new("series", "must be true or false")]),
            (other, _) => return Err(vec![FieldError::new(other, "is not a known parameter (series)")]),
        }
    }
    Ok(stop)
}

/// The query string of GET /tasks/{id}/occurrences: how many to preview.
///
/// # Errors
/// An unknown parameter or a limit outside 1–100.
pub fn parse_occurrences(raw: Option<&str>) -> Result<usize, Vec<FieldError>> {
    let mut limit = 10;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| vec![FieldError::new("limit", "must be a whole number from 1 to 100")])?;
            }
            other => return Err(vec![FieldError::new(other, "is not a known parameter (limit)")]),
        }
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let q = parse(Some(
            "status=open&tag=Work&tag=home&q=milk%20bread&sort=due_at&order=desc&limit=10",
        ))
        .unwrap();
        assert_eq!(q.status, Some(Status::Open));
        assert_eq!(q.tags.len(), 2);
        assert_eq!(q.search, vec!["milk", "bread"]);
        assert_eq!((q.sort, q.order, q.limit), (SortField::DueAt, SortOrder::Desc, 10));
    }

    #[test]
    fn names_each_bad_parameter() {
        let errors = parse(Some("limit=0&sort=size&colour=red&cursor=zz")).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["limit", "sort", "colour", "cursor"]);
    }
}

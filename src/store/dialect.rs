//! Where SQLite and PostgreSQL need different SQL.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// Appended to a SELECT that reads a row it is about to change. SQLite has one writer
    /// at a time, so it needs no row lock.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// Appended to a SELECT of queue rows a worker is about to claim: rows another worker has
    /// locked are passed over instead of waited for. SQLite's single writer needs none.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The length of the JSON array in text column `column`, as a BIGINT.
    pub(crate) fn json_array_length(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("json_array_length({column})"),
            Self::Postgres => format!("CAST(json_array_length({column}::json) AS BIGINT)"),
        }
    }

    /// A condition matching tasks whose indexed words include every term, each as a prefix,
    /// and the parameter text for it. `terms` hold letters and digits only (see search.rs).
    pub(crate) fn search(self, param: usize, terms: &[String]) -> (String, String) {
        match self {
            Self::Sqlite => (
                format!("t.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ${param})"),
                terms.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" "),
            ),
            Self::Postgres => (
                format!("t.search @@ to_tsquery('simple', ${param})"),
                terms.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
            ),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

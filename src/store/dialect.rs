//! Where SQLite and PostgreSQL need different SQL.

use std::borrow::Cow;
use std::fmt;

use sqlx::AnyConnection;

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

    /// The backend a connection (or a transaction, through deref) talks to.
    pub(crate) fn of(connection: &AnyConnection) -> Self {
        if connection.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }

    /// Parameter `n` (from 1) of a statement with many, such as a batch's multi-row INSERT.
    /// Such a statement numbers its parameters in the order they appear in its text, uses
    /// each once, and takes every one from here. SQLite gets an anonymous `?`: a named or
    /// numbered parameter is found by a linear scan of the statement's parameter list, and
    /// sqlx binds by name, so binding n of them costs n² (a batch of 256 history rows spent
    /// 40 % of the consumer's time there). PostgreSQL needs `$n`.
    pub(crate) fn param(self, n: usize) -> Cow<'static, str> {
        match self {
            Self::Sqlite => Cow::Borrowed("?"),
            Self::Postgres => Cow::Owned(format!("${n}")),
        }
    }

    /// `(p, p, …), (p, p, …), …`: `rows` tuples of `width` parameters from [`Self::param`],
    /// numbered from `first` in text order.
    pub(crate) fn tuples(self, first: usize, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|row| format!("({})", self.list(first + row * width, width)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `p, p, …`: `count` parameters from [`Self::param`], numbered from `first`.
    pub(crate) fn list(self, first: usize, count: usize) -> String {
        (first..first + count)
            .map(|n| self.param(n))
            .collect::<Vec<_>>()
            .join(", ")
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

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn many_parameters_are_anonymous_on_sqlite_and_numbered_in_text_order_on_postgres() {
        assert_eq!(Backend::Sqlite.tuples(1, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(Backend::Postgres.tuples(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(
            format!("{} IN ({})", Backend::Postgres.param(1), Backend::Postgres.list(2, 3)),
            "$1 IN ($2, $3, $4)"
        );
        assert_eq!(Backend::Sqlite.list(2, 3), "?, ?, ?");
    }
}

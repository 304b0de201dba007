//! The statements of a write, whichever connection runs them: a sqlx transaction (PostgreSQL,
//! and SQLite transactions outside the group commit) or the SQLite group writer's own
//! connection ([`super::sqlite_writer`]). Parameters cross as [`Bind`]s, rows come back as
//! [`Record`]s, so the SQL and its decoding are written once for both.

use anyhow::{anyhow, Context};
use futures_util::future::BoxFuture;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Any, Row, Transaction, ValueRef};

use super::rows::{bind_all, Bind};

/// Runs SQL with `$n` parameters inside a write.
pub trait Exec: Send {
    /// Runs a statement that returns no rows; the number of rows it changed.
    fn execute<'a>(&'a mut self, sql: &'a str, binds: &'a [Bind]) -> BoxFuture<'a, anyhow::Result<u64>>;

    /// The first row of a query, if any.
    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        binds: &'a [Bind],
    ) -> BoxFuture<'a, anyhow::Result<Option<Record>>>;
}

/// The first row of a query that always returns one.
pub(super) async fn fetch_one(exec: &mut dyn Exec, sql: &str, binds: &[Bind]) -> anyhow::Result<Record> {
    exec.fetch_optional(sql, binds)
        .await?
        .ok_or_else(|| anyhow!("the query returned no row"))
}

impl Exec for Transaction<'static, Any> {
    fn execute<'a>(&'a mut self, sql: &'a str, binds: &'a [Bind]) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move {
            let done = bind_all(sqlx::query(sql), binds).execute(&mut **self).await?;
            Ok(done.rows_affected())
        })
    }

    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        binds: &'a [Bind],
    ) -> BoxFuture<'a, anyhow::Result<Option<Record>>> {
        Box::pin(async move {
            let row = bind_all(sqlx::query(sql), binds).fetch_optional(&mut **self).await?;
            row.as_ref().map(Record::from_any_row).transpose()
        })
    }
}

/// One row's column values, in the order of the query's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Record(Vec<Bind>);

impl Record {
    pub(super) fn new(values: Vec<Bind>) -> Self {
        Self(values)
    }

    /// Reads a row of either backend through sqlx's `Any` driver.
    pub(super) fn from_any_row(row: &AnyRow) -> anyhow::Result<Self> {
        (0..row.len())
            .map(|i| {
                let raw = row.try_get_raw(i)?;
                if raw.is_null() {
                    return Ok(Bind::Null);
                }
                let kind = raw.type_info().kind();
                Ok(match kind {
                    AnyTypeInfoKind::Bool => Bind::Int(i64::from(row.try_get::<bool, _>(i)?)),
                    AnyTypeInfoKind::SmallInt => Bind::Int(i64::from(row.try_get::<i16, _>(i)?)),
                    AnyTypeInfoKind::Integer => Bind::Int(i64::from(row.try_get::<i32, _>(i)?)),
                    AnyTypeInfoKind::BigInt => Bind::Int(row.try_get::<i64, _>(i)?),
                    AnyTypeInfoKind::Text => Bind::Text(row.try_get::<String, _>(i)?),
                    other => return Err(anyhow!("column {i} holds an unsupported {other:?}")),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Self)
    }

    /// The columns in order, each read once.
    pub(super) fn columns(self) -> Columns {
        Columns(self.0.into_iter().enumerate())
    }
}

/// Reads a [`Record`]'s columns in order.
pub(super) struct Columns(std::iter::Enumerate<std::vec::IntoIter<Bind>>);

impl Columns {
    fn next(&mut self) -> anyhow::Result<(usize, Bind)> {
        self.0.next().context("the row has fewer columns than read")
    }

    pub(super) fn opt_text(&mut self) -> anyhow::Result<Option<String>> {
        match self.next()? {
            (_, Bind::Text(text)) => Ok(Some(text)),
            (_, Bind::Null) => Ok(None),
            (i, other) => Err(anyhow!("column {i} is {other:?}, not text")),
        }
    }

    pub(super) fn text(&mut self) -> anyhow::Result<String> {
        self.opt_text()?.context("a text column is NULL")
    }

    pub(super) fn opt_int(&mut self) -> anyhow::Result<Option<i64>> {
        match self.next()? {
            (_, Bind::Int(value)) => Ok(Some(value)),
            (_, Bind::Null) => Ok(None),
            (i, other) => Err(anyhow!("column {i} is {other:?}, not an integer")),
        }
    }

    pub(super) fn int(&mut self) -> anyhow::Result<i64> {
        self.opt_int()?.context("an integer column is NULL")
    }
}

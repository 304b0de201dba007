//! SQLite's group-commit connection: a plain SQLite connection that runs a whole group of
//! writes synchronously on one blocking thread. Through sqlx every statement is a hand-off to
//! its worker thread and back (two thread wake-ups per statement, most of a create's CPU);
//! here a group of hundreds of writes costs one hand-off.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use futures_util::future::BoxFuture;
use rusqlite::types::{Null, ValueRef};
use rusqlite::{CachedStatement, Connection, OpenFlags};

use super::rows::Bind;
use super::sql::{Exec, Record};
use super::SqliteSync;

/// Distinct statements kept prepared (the write path has about twenty, tag inserts vary).
const STATEMENT_CACHE: usize = 128;

pub(super) struct SqliteWriter {
    connection: Connection,
}

impl SqliteWriter {
    /// Opens `file` with the writer's settings: the same busy timeout and durability as the
    /// pooled writer connection.
    pub(super) fn open(file: &Path, sync: SqliteSync) -> anyhow::Result<Self> {
        let connection = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("open {} for group commits", file.display()))?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        // Each write of a group runs in a savepoint, whose sub-journal (the pages it changed)
        // would otherwise be a temporary file written through the kernel: keep it in memory.
        connection.execute_batch(&format!(
            "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
            sync.pragma()
        ))?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { connection })
    }

    /// Runs statements without parameters (transaction control).
    pub(super) fn batch(&self, sql: &str) -> anyhow::Result<()> {
        self.connection.execute_batch(sql).with_context(|| format!("run {sql}"))
    }

    /// Whether a transaction is open (one that failed half-way must still be rolled back).
    pub(super) fn in_transaction(&self) -> bool {
        !self.connection.is_autocommit()
    }

    /// `sql` prepared (or taken from the cache) with `binds` bound to its `$n` parameters.
    fn prepare(&self, sql: &str, binds: &[Bind]) -> anyhow::Result<CachedStatement<'_>> {
        let mut statement = self.connection.prepare_cached(sql)?;
        for index in 1..=statement.parameter_count() {
            // `$n` names the n-th bind wherever it appears in the text (as in sqlx).
            let n = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(index);
            let value = binds
                .get(n.wrapping_sub(1))
                .ok_or_else(|| anyhow!("no value for parameter ${n} of {sql}"))?;
            match value {
                Bind::Text(text) => statement.raw_bind_parameter(index, text.as_str())?,
                Bind::Int(int) => statement.raw_bind_parameter(index, int)?,
                Bind::Null => statement.raw_bind_parameter(index, Null)?,
            }
        }
        Ok(statement)
    }

    fn run(&self, sql: &str, binds: &[Bind]) -> anyhow::Result<u64> {
        let changed = self.prepare(sql, binds)?.raw_execute()?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    fn first_row(&self, sql: &str, binds: &[Bind]) -> anyhow::Result<Option<Record>> {
        let mut statement = self.prepare(sql, binds)?;
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let values = (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => Bind::Null,
                    ValueRef::Integer(int) => Bind::Int(int),
                    ValueRef::Text(text) => Bind::Text(std::str::from_utf8(text)?.to_owned()),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(anyhow!("column {i} of {sql} is neither text nor an integer"))
                    }
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(Record::new(values)))
    }
}

/// Every call completes at once (the connection is synchronous), so a group's futures run
/// to completion on the blocking thread without a runtime.
impl Exec for SqliteWriter {
    fn execute<'a>(&'a mut self, sql: &'a str, binds: &'a [Bind]) -> BoxFuture<'a, anyhow::Result<u64>> {
        let result = self.run(sql, binds);
        Box::pin(std::future::ready(result))
    }

    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        binds: &'a [Bind],
    ) -> BoxFuture<'a, anyhow::Result<Option<Record>>> {
        let result = self.first_row(sql, binds);
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &tempfile::TempDir, sync: SqliteSync) -> SqliteWriter {
        SqliteWriter::open(&dir.path().join("writer.db"), sync).expect("open")
    }

    #[test]
    fn the_writer_syncs_as_told() {
        let dir = tempfile::tempdir().expect("dir");
        let full = writer(&dir, SqliteSync::Full);
        let level: i64 = full
            .connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(level, 2, "FULL");
        let normal = SqliteWriter::open(&dir.path().join("other.db"), SqliteSync::Normal).unwrap();
        let level: i64 = normal
            .connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(level, 1, "NORMAL");
    }

    #[test]
    fn numbered_parameters_take_their_own_value_wherever_they_appear() {
        let dir = tempfile::tempdir().expect("dir");
        let mut writer = writer(&dir, SqliteSync::Normal);
        futures_executor::block_on(async {
            let exec: &mut dyn Exec = &mut writer;
            exec.execute("CREATE TABLE t (a TEXT, b INTEGER, c TEXT)", &[])
                .await
                .unwrap();
            let row = [Bind::Text("x".into()), Bind::Int(7), Bind::Null];
            // `$3` comes first in the text: it must still take the third value.
            let inserted = exec
                .execute("INSERT INTO t (c, a, b) VALUES ($3, $1, $2)", &row)
                .await
                .unwrap();
            assert_eq!(inserted, 1);
            let record = exec
                .fetch_optional("SELECT a, b, c FROM t WHERE b = $1", &[Bind::Int(7)])
                .await
                .unwrap()
                .expect("the row");
            assert_eq!(record, Record::new(row.to_vec()));
            let missing = exec
                .fetch_optional("SELECT a FROM t WHERE b = $1", &[Bind::Int(8)])
                .await
                .unwrap();
            assert_eq!(missing, None);
            let error = exec.execute("INSERT INTO t (a) VALUES ($2)", &row[..1]).await;
            assert!(error.is_err(), "a parameter without a value is refused");
        });
    }
}

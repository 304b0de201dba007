//! Which database failures belong to the infrastructure (retry until they pass) and which
//! are verdicts on the work itself (retrying cannot help).

/// True when `error` was caused by the database being away, overloaded or busy: a pool
/// timeout, a lost connection, I/O, SQLite's busy/locked, PostgreSQL's connection,
/// serialisation, shutdown and resource classes.
pub fn is_outage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<Unavailable>()
            || cause.downcast_ref::<sqlx::Error>().is_some_and(sqlx_outage)
            || cause.downcast_ref::<rusqlite::Error>().is_some_and(rusqlite_outage)
    })
}

/// Marks an error as an outage when the database's own error could not travel with it (one
/// failed group commit answers many callers).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the database is unavailable")]
pub(super) struct Unavailable;

fn sqlx_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            if database.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse().is_ok_and(sqlite_outage)
            } else {
                postgres_outage(&code)
            }
        }
        _ => false,
    }
}

/// The group writer's own SQLite connection (see sqlite_writer.rs).
fn rusqlite_outage(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => u32::try_from(failure.extended_code).is_ok_and(sqlite_outage),
        _ => false,
    }
}

/// SQLite result codes (the primary code is the low byte of an extended one):
/// SQLITE_BUSY 5, SQLITE_LOCKED 6, SQLITE_NOMEM 7, SQLITE_IOERR 10, SQLITE_FULL 13,
/// SQLITE_CANTOPEN 14, SQLITE_PROTOCOL 15.
fn sqlite_outage(code: u32) -> bool {
    matches!(code & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15)
}

/// PostgreSQL SQLSTATEs.
fn postgres_outage(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources
        || code.starts_with("57P") // operator intervention: shutdown, cannot connect now
        || code.starts_with("58") // system error
        || code == "40001" // serialization failure
        || code == "40P01" // deadlock detected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_from_verdicts() {
        assert!(is_outage(
            &anyhow::Error::new(sqlx::Error::PoolTimedOut).context("insert")
        ));
        assert!(!is_outage(&anyhow::Error::new(sqlx::Error::RowNotFound)));
        assert!(!is_outage(&anyhow::anyhow!("not a database error")));
        assert!(is_outage(&anyhow::Error::new(Unavailable).context("commit failed")));
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(517), None);
        assert!(is_outage(&anyhow::Error::new(busy).context("begin")));
        let constraint = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(2067), None);
        assert!(!is_outage(&anyhow::Error::new(constraint)));
        for code in [5, 517, 6, 10, 3338] {
            assert!(sqlite_outage(code), "{code}");
        }
        for code in [1, 19, 2067, 787] {
            assert!(!sqlite_outage(code), "{code}");
        }
        for code in ["08006", "57P01", "40001", "40P01", "53300"] {
            assert!(postgres_outage(code), "{code}");
        }
        for code in ["23505", "22P02", "42P01"] {
            assert!(!postgres_outage(code), "{code}");
        }
    }
}

//! The run's own database (a SQLite file in the work folder, or a PostgreSQL database made for
//! the run and dropped after it), what the harness reads from it, and its faults.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{AnyPool, Connection, Executor};

use crate::{say, Backend};

pub struct RunDatabase {
    pub url: String,
    pub backend: Backend,
    /// The server's admin URL and the database's name (PostgreSQL).
    made: Option<(String, String)>,
    pool: AnyPool,
}

impl RunDatabase {
    /// # Errors
    /// When the database cannot be made or reached.
    pub async fn create(backend: Backend, work_dir: &Path, admin_url: &str) -> anyhow::Result<Self> {
        let (url, made) = match backend {
            Backend::Sqlite => {
                let file = std::path::absolute(work_dir.join("taskstream.db"))?;
                (format!("sqlite://{}?mode=rwc", file.display()), None)
            }
            Backend::Postgres => {
                let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
                let name = format!("taskstream_chaos_{}_{}", since_epoch.as_secs(), std::process::id());
                let mut admin = sqlx::AnyConnection::connect(admin_url)
                    .await
                    .with_context(|| format!("cannot reach PostgreSQL at {admin_url}"))?;
                admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
                admin.close().await?;
                let mut url = url::Url::parse(admin_url)?;
                url.set_path(&format!("/{name}"));
                say(format!("made database {name}"));
                (url.to_string(), Some((admin_url.to_owned(), name)))
            }
        };
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .context("cannot open the run's database")?;
        Ok(Self {
            url,
            backend,
            made,
            pool,
        })
    }

    /// One number: `sql` must select a single integer.
    ///
    /// # Errors
    /// A database failure.
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&self.pool)
            .await
            .context(sql.to_owned())?;
        Ok(n)
    }

    /// Rows of a text and a number.
    ///
    /// # Errors
    /// A database failure.
    pub async fn pairs(&self, sql: &str) -> anyhow::Result<Vec<(String, i64)>> {
        sqlx::query_as(sql).fetch_all(&self.pool).await.context(sql.to_owned())
    }

    /// Rows of two texts.
    ///
    /// # Errors
    /// A database failure.
    pub async fn texts(&self, sql: &str) -> anyhow::Result<Vec<(String, String)>> {
        sqlx::query_as(sql).fetch_all(&self.pool).await.context(sql.to_owned())
    }

    /// The database fault of this backend; what was done.
    ///
    /// # Errors
    /// When the fault cannot be set up.
    pub async fn fault(&self, stall: Duration, restart_command: Option<&str>) -> anyhow::Result<String> {
        match self.backend {
            Backend::Sqlite => self.stall_writer(stall).await,
            Backend::Postgres => {
                let mut done = self.terminate_backends().await?;
                if let Some(command) = restart_command {
                    done.push_str(&format!("; {}", restart_server(command).await?));
                }
                Ok(done)
            }
        }
    }

    /// Holds SQLite's write lock (`BEGIN IMMEDIATE`) from a connection of its own for `hold`:
    /// every writer of every process waits, past its busy timeout (5 s).
    async fn stall_writer(&self, hold: Duration) -> anyhow::Result<String> {
        let mut connection = sqlx::AnyConnection::connect(&self.url).await?;
        let started = Instant::now();
        connection.execute("BEGIN IMMEDIATE").await?;
        let waited = started.elapsed();
        tokio::time::sleep(hold).await;
        connection.execute("ROLLBACK").await?;
        connection.close().await?;
        Ok(format!(
            "SQLite writer stall: BEGIN IMMEDIATE held for {:.1} s (taken after {:.1} s)",
            hold.as_secs_f64(),
            waited.as_secs_f64()
        ))
    }

    /// pg_terminate_backend on every connection to the run's database, three times 2 s apart
    /// (the pools reconnect in between).
    async fn terminate_backends(&self) -> anyhow::Result<String> {
        let (admin_url, name) = self.made.as_ref().context("no PostgreSQL database")?;
        let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
        let mut terminated = Vec::new();
        for round in 0..3 {
            if round > 0 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
            terminated.push(n.to_string());
        }
        admin.close().await?;
        Ok(format!(
            "PostgreSQL: terminated the run database's backends three times 2 s apart ({} connections)",
            terminated.join(" + ")
        ))
    }

    /// Drops the PostgreSQL database unless asked to keep it; closes the pool.
    pub async fn close(&self, keep: bool) {
        self.pool.close().await;
        let Some((admin_url, name)) = &self.made else {
            return;
        };
        if keep {
            say(format!("kept database {name}"));
            return;
        }
        let dropped = async {
            let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
            admin.close().await
        }
        .await;
        if let Err(error) = dropped {
            say(format!("could not drop database {name}: {error}"));
        }
    }
}

/// Runs the operator's command that restarts the PostgreSQL server.
async fn restart_server(command: &str) -> anyhow::Result<String> {
    let started = Instant::now();
    let status = tokio::process::Command::new("sh")
        .args(["-c", command])
        .status()
        .await
        .with_context(|| format!("cannot run {command:?}"))?;
    anyhow::ensure!(status.success(), "{command:?} failed: {status}");
    Ok(format!(
        "server restarted with {command:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    ))
}

//! Typed settings shared by every subcommand: flags and environment variables, validated once
//! at start-up so the rest of the program only sees values that make sense.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

/// A value that must never reach a log line or an error message.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Settings every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    /// Folder for the embedded SQLite database and the generated local JWT secret.
    #[arg(
        long,
        env = "TASKSTREAM_DATA_DIR",
        default_value = "taskstream-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL: postgres://… for PostgreSQL, sqlite://… for SQLite.
    /// Without it, SQLite in the data directory is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "TASKSTREAM_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// HS256 secret for bearer tokens (at least 32 bytes). Without it (and without
    /// --jwt-secret-file) a random secret is generated once and kept in the data directory.
    #[arg(
        long,
        env = "TASKSTREAM_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<Secret>,

    /// File holding the HS256 secret (an alternative to --jwt-secret).
    #[arg(long, env = "TASKSTREAM_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,

    /// Log format.
    #[arg(
        long,
        env = "TASKSTREAM_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter in tracing's EnvFilter syntax.
    #[arg(long, env = "TASKSTREAM_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// Settings of the HTTP API.
#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Address the HTTP API listens on (port 0 picks a free port).
    #[arg(long, env = "TASKSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

impl CommonSettings {
    /// Checks what clap's types cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.db_max_connections == 0 {
            bail!("--db-max-connections (TASKSTREAM_DB_MAX_CONNECTIONS) must be at least 1");
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got a URL with another scheme)");
            }
        }
        if self.jwt_secret.is_some() && self.jwt_secret_file.is_some() {
            bail!("give either TASKSTREAM_JWT_SECRET or TASKSTREAM_JWT_SECRET_FILE, not both");
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .with_context(|| format!("TASKSTREAM_LOG is not a valid log filter: {}", self.log))?;
        Ok(())
    }

    /// The database URL to use: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("taskstream.db").display()
        ))
    }
}

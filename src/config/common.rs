//! Settings every subcommand understands, and those of the HTTP API.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::{OtlpSettings, RoleSettings, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Settings every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    /// Folder for the embedded SQLite database and the generated local JWT secret.
    #[arg(long, env = "TASKSTREAM_DATA_DIR", default_value = "taskstream-data", global = true)]
    pub data_dir: PathBuf,

    /// Database URL: postgres://… for PostgreSQL, sqlite://… for SQLite.
    /// Without it, SQLite in the data directory is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "TASKSTREAM_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// HS256 secret for bearer tokens (at least 32 bytes). Without it (and without
    /// --jwt-secret-file) a random secret is generated once and kept in the data directory.
    #[arg(long, env = "TASKSTREAM_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,

    /// When set, tokens must carry this `iss` claim (and `taskstream token` puts it in).
    #[arg(long, env = "TASKSTREAM_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// When set, tokens must carry this `aud` claim (and `taskstream token` puts it in).
    #[arg(long, env = "TASKSTREAM_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// File holding the HS256 secret (an alternative to --jwt-secret).
    #[arg(long, env = "TASKSTREAM_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,

    /// File of HS256 keys, one `kid=secret` a line, the signing key first: tokens are checked
    /// with the key their `kid` names, so a secret rotates without signing anyone out
    /// (an alternative to the two settings above).
    #[arg(long, env = "TASKSTREAM_JWT_KEYS_FILE", global = true)]
    pub jwt_keys_file: Option<PathBuf>,

    /// Key that encrypts webhook signing secrets at rest: 32 bytes as 64 hex digits. Without
    /// it (and without --secrets-key-file) one is generated once into the data directory.
    #[arg(long, env = "TASKSTREAM_SECRETS_KEY", hide_env_values = true, global = true)]
    pub secrets_key: Option<Secret>,

    /// File holding the key that encrypts webhook secrets at rest (64 hex digits).
    #[arg(long, env = "TASKSTREAM_SECRETS_KEY_FILE", global = true)]
    pub secrets_key_file: Option<PathBuf>,

    /// Log format.
    #[arg(
        long,
        env = "TASKSTREAM_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,

    /// Address of the operators' listener (`/metrics` in the Prometheus format, `/status`),
    /// apart from the API. Without it no metrics are recorded.
    #[arg(long, env = "TASKSTREAM_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub roles: RoleSettings,

    #[command(flatten)]
    pub otlp: OtlpSettings,

    /// How SQLite's writer syncs commits: `full` (each acknowledged write survives an OS
    /// crash or power loss) or `normal` (faster; a power loss may roll back the last commits).
    #[arg(
        long,
        env = "TASKSTREAM_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full",
        global = true
    )]
    pub sqlite_synchronous: crate::store::SqliteSync,

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

    /// Writes that may wait for the database at once; more are answered 503 + Retry-After at
    /// once. About the database's writes per second × the latency you accept (1,300/s × 50 ms
    /// on SQLite here).
    #[arg(long, env = "TASKSTREAM_WRITE_QUEUE", default_value_t = 64)]
    pub write_queue: usize,

    /// Requests a minute one user may make, sustained (beyond it: 429 + Retry-After).
    #[arg(long, env = "TASKSTREAM_RATE_LIMIT_PER_MINUTE", default_value_t = 3_000)]
    pub rate_limit_per_minute: u32,

    /// Requests one user may make at once before the per-minute rate applies.
    #[arg(long, env = "TASKSTREAM_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,

    /// Longest time one request may take to be answered, in milliseconds (beyond it: 503 +
    /// Retry-After). A live stream's events are not bounded by it, only its opening.
    #[arg(long, env = "TASKSTREAM_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Open tasks one user may have (beyond it a create or reopen is answered 403).
    #[arg(long, env = "TASKSTREAM_QUOTA_OPEN_TASKS", default_value_t = 10_000)]
    pub quota_open_tasks: u32,

    /// Reminders one user may have across their open tasks (beyond it a write adding
    /// reminders is answered 403).
    #[arg(long, env = "TASKSTREAM_QUOTA_REMINDERS", default_value_t = 20_000)]
    pub quota_reminders: u32,

    /// Webhook changes and test calls (set, remove, test) one user may make an hour (beyond
    /// it: 429 + Retry-After).
    #[arg(long, env = "TASKSTREAM_QUOTA_WEBHOOK_CHANGES_PER_HOUR", default_value_t = 30)]
    pub quota_webhook_changes_per_hour: u32,
    /// Lets the web console at / sign a person in with a name alone (a short-lived token for
    /// any user name, asked from this machine only). For local use: `scripts/run` turns it on;
    /// never turn it on where others can reach the API.
    #[arg(long, env = "TASKSTREAM_CONSOLE_LOCAL_SIGNIN", default_value_t = false, action = clap::ArgAction::Set)]
    pub console_local_signin: bool,
}

impl CommonSettings {
    /// Checks what clap's types cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.db_max_connections == 0 {
            bail!("--db-max-connections (TASKSTREAM_DB_MAX_CONNECTIONS) must be at least 1");
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
                bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got a URL with another scheme)");
            }
        }
        let jwt_sources = [
            self.jwt_secret.is_some(),
            self.jwt_secret_file.is_some(),
            self.jwt_keys_file.is_some(),
        ];
        if jwt_sources.iter().filter(|given| **given).count() > 1 {
            bail!("give one of TASKSTREAM_JWT_SECRET, TASKSTREAM_JWT_SECRET_FILE and TASKSTREAM_JWT_KEYS_FILE, not several");
        }
        if self.secrets_key.is_some() && self.secrets_key_file.is_some() {
            bail!("give either TASKSTREAM_SECRETS_KEY or TASKSTREAM_SECRETS_KEY_FILE, not both");
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
        crate::private_files::private_dir(&self.data_dir)?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("taskstream.db").display()
        ))
    }
}

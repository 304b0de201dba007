//! spawn_app() and typed request helpers.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use taskstream::auth::Auth;
use taskstream::config::{CommonSettings, HttpSettings, KafkaSettings, LogFormat, RoleSettings, Secret};
use taskstream::domain::UserId;
use taskstream::startup::{Application, Parts};
use tokio_util::sync::CancellationToken;

use crate::broker;

pub const SECRET: &str = "integration-tests-secret-of-at-least-32-bytes";
/// The key sealing webhook secrets, shared by a test's app and the workers it starts.
pub const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct TestApp {
    pub address: String,
    /// The operators' listener (`/metrics`, `/status`), when the test asked for it.
    pub metrics_address: Option<String>,
    /// Settings of this app's Kafka side: the shared test broker, topics under a prefix
    /// of this test's own.
    pub kafka: KafkaSettings,
    pub database_url: String,
    pub client: reqwest::Client,
    pub auth: Auth,
    shutdown: CancellationToken,
    _data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The database URL for one test: a fresh SQLite file, or a fresh PostgreSQL database.
pub async fn fresh_database(data_dir: &std::path::Path) -> Option<String> {
    match std::env::var("TASKSTREAM_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let admin_url =
                std::env::var("TEST_DATABASE_URL").expect("TASKSTREAM_TEST_BACKEND=postgres needs TEST_DATABASE_URL");
            // The run's own prefix (scripts/test sets it) lets a run drop its databases without
            // touching those of another run on the same server.
            let prefix = std::env::var("TASKSTREAM_TEST_DB_PREFIX").unwrap_or_else(|_| {
                let started = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                format!("taskstream_test_{started}_{}_", std::process::id())
            });
            let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
            sqlx::any::install_default_drivers();
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&name);
            Some(url.to_string())
        }
        _ => Some(format!("sqlite://{}?mode=rwc", data_dir.join("test.db").display())),
    }
}

pub fn settings(data_dir: &std::path::Path, database_url: Option<String>) -> CommonSettings {
    CommonSettings {
        data_dir: data_dir.to_path_buf(),
        database_url,
        db_max_connections: 8,
        jwt_secret: Some(Secret::new(SECRET)),
        jwt_secret_file: None,
        jwt_keys_file: None,
        secrets_key: Some(Secret::new(SECRETS_KEY)),
        secrets_key_file: None,
        jwt_issuer: None,
        jwt_audience: None,
        log_format: LogFormat::Human,
        sqlite_synchronous: taskstream::store::SqliteSync::Full,
        metrics_listen: None,
        otlp: taskstream::config::OtlpSettings::default(),
        // The tests' webhook receivers listen on 127.0.0.1, which only an allow-list opens.
        roles: taskstream::config::RoleSettings {
            webhook_allow: vec!["127.0.0.1/32".parse().expect("cidr")],
            ..taskstream::config::RoleSettings::default()
        },
        log: std::env::var("TEST_LOG").unwrap_or_else(|_| "error,rdkafka=off,librdkafka=off".into()),
    }
}

/// The API alone (events stay in the outbox).
pub async fn spawn_app() -> TestApp {
    spawn(|http| Parts {
        http: Some(http),
        ..Parts::default()
    })
    .await
}

/// The API, the relay and every consumer role, on this test's own topics.
pub async fn spawn_app_with_events() -> TestApp {
    spawn(Parts::all).await
}

pub async fn spawn(parts: impl FnOnce(HttpSettings) -> Parts) -> TestApp {
    spawn_with(
        parts,
        broker::kafka_settings(&format!("t{}.", uuid::Uuid::new_v4().simple())),
    )
    .await
}

/// An app with Kafka settings of its own (e.g. a private broker).
pub async fn spawn_with(parts: impl FnOnce(HttpSettings) -> Parts, kafka: KafkaSettings) -> TestApp {
    launch(parts, kafka, |_| {}).await
}

/// An app whose role settings (webhook retries, caps, …) `tune` changes.
pub async fn spawn_tuned(parts: impl FnOnce(HttpSettings) -> Parts, tune: impl FnOnce(&mut RoleSettings)) -> TestApp {
    launch(
        parts,
        broker::kafka_settings(&format!("t{}.", uuid::Uuid::new_v4().simple())),
        |common| tune(&mut common.roles),
    )
    .await
}

/// An app with the operators' listener (`/metrics`, `/status`) on a port of its own.
pub async fn spawn_observed(parts: impl FnOnce(HttpSettings) -> Parts) -> TestApp {
    launch(
        parts,
        broker::kafka_settings(&format!("t{}.", uuid::Uuid::new_v4().simple())),
        |common| common.metrics_listen = Some("127.0.0.1:0".parse().expect("address")),
    )
    .await
}

async fn launch(
    parts: impl FnOnce(HttpSettings) -> Parts,
    kafka: KafkaSettings,
    tune: impl FnOnce(&mut CommonSettings),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut common = settings(data_dir.path(), fresh_database(data_dir.path()).await);
    tune(&mut common);
    taskstream::telemetry::init(&common.log, common.log_format, &common.otlp).expect("telemetry");
    let http = HttpSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        write_queue: 64,
        rate_limit_per_minute: 1_000_000,
        rate_limit_burst: 1_000_000,
        request_timeout_ms: 10_000,
        quota_open_tasks: 10_000,
        quota_reminders: 20_000,
        quota_webhook_changes_per_hour: 1_000,
        console_local_signin: false,
    };
    let app = Application::build(&common, &kafka, parts(http))
        .await
        .expect("build app");
    let address = format!("http://{}", app.local_addr().expect("listening"));
    let metrics_address = app.metrics_addr().map(|address| format!("http://{address}"));
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    TestApp {
        address,
        metrics_address,
        database_url: common.database_url().expect("database url"),
        kafka,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        auth: Auth::new(&Secret::new(SECRET)),
        shutdown,
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn token(&self, user: &str) -> String {
        self.auth
            .issue(&UserId::parse(user).expect("user id"), Duration::from_secs(3600))
            .expect("token")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request as `user`, with a JSON content type.
    pub fn request(&self, method: reqwest::Method, path: &str, user: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.token(user))
            .header("content-type", "application/json")
    }

    pub async fn post_task(&self, user: &str, body: &Value) -> Response {
        self.request(reqwest::Method::POST, "/api/v1/tasks", user)
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// Creates a task and returns its JSON, failing the test unless it was created.
    pub async fn create_task(&self, user: &str, body: &Value) -> Value {
        let response = self.post_task(user, body).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "create failed: {:?}",
            response.text().await
        );
        response.json().await.expect("json")
    }

    pub async fn get_task(&self, user: &str, id: &str) -> Response {
        self.request(reqwest::Method::GET, &format!("/api/v1/tasks/{id}"), user)
            .send()
            .await
            .expect("send")
    }

    pub async fn patch_task(&self, user: &str, id: &str, body: &Value) -> Response {
        self.request(reqwest::Method::PATCH, &format!("/api/v1/tasks/{id}"), user)
            .json(body)
            .send()
            .await
            .expect("send")
    }

    pub async fn list(&self, user: &str, query: &str) -> Response {
        self.request(reqwest::Method::GET, &format!("/api/v1/tasks?{query}"), user)
            .send()
            .await
            .expect("send")
    }

    pub async fn action(&self, user: &str, id: &str, action: &str) -> Response {
        self.request(reqwest::Method::POST, &format!("/api/v1/tasks/{id}/{action}"), user)
            .send()
            .await
            .expect("send")
    }
}

/// Asserts a problem+json response with this status, naming `field` when given; returns it.
pub async fn assert_problem(response: Response, status: StatusCode, field: Option<&str>) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    if let Some(field) = field {
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "expected field {field} in {body}");
    }
    body
}

impl TestApp {
    /// The broker-side name of a logical topic for this app.
    pub fn topic(&self, base: &str) -> String {
        format!("{}{base}", self.kafka.topic_prefix)
    }

    /// The task's recorded history (written by the audit consumer).
    pub async fn history(&self, user: &str, id: &str) -> Vec<Value> {
        let response = self
            .request(reqwest::Method::GET, &format!("/api/v1/tasks/{id}/history"), user)
            .send()
            .await
            .expect("send");
        if response.status() == StatusCode::NOT_FOUND {
            return Vec::new();
        }
        response.json().await.expect("history json")
    }

    /// Waits until the task's history has `count` entries; returns them.
    pub async fn wait_for_history(&self, user: &str, id: &str, count: usize) -> Vec<Value> {
        crate::process::wait_for(&format!("{count} history entries of task {id}"), WAIT, || async {
            let history = self.history(user, id).await;
            if history.len() >= count {
                Ok(history)
            } else {
                Err(format!("{} entries", history.len()))
            }
        })
        .await
    }
}

/// How long a test waits for something the pipeline does in well under a second when the
/// machine is idle: generous, because a shared machine can be slow, and only an upper bound.
pub const WAIT: Duration = Duration::from_secs(60);

/// The environment entry naming a worker's instance: a restart with the same name takes its
/// partitions straight back (static group membership).
pub fn instance(name: &str) -> (&'static str, String) {
    ("TASKSTREAM_INSTANCE_ID", name.to_owned())
}

/// A `taskstream` process of a test's own; killed (-9) when dropped.
pub struct WorkerProcess(crate::process::Guarded);

impl WorkerProcess {
    /// kill -9, now.
    pub fn kill(&mut self) {
        self.0.kill();
    }

    pub fn signal(&self, signal: i32) {
        self.0.signal(signal);
    }

    /// Waits for it to exit on its own, failing the test after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        self.0.wait_exit(limit).await
    }
}

impl TestApp {
    /// `taskstream worker --role <role>` as its own process, on this app's database and
    /// topics, with extra environment variables.
    pub fn start_worker(&self, role: &str, env: &[(&str, String)]) -> WorkerProcess {
        let mut command = self.worker_command(role, env);
        WorkerProcess(crate::process::Guarded::spawn(
            &mut command,
            &format!("taskstream worker --role {role}"),
        ))
    }

    /// The command `start_worker` runs, for a test that wants to set more (its output, say).
    pub fn worker_command(&self, role: &str, env: &[(&str, String)]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_taskstream"));
        command
            .args(["worker", "--role", role])
            .env("DATABASE_URL", &self.database_url)
            .env("TASKSTREAM_JWT_SECRET", SECRET)
            .env("TASKSTREAM_SECRETS_KEY", SECRETS_KEY)
            .env("KAFKA_BOOTSTRAP_SERVERS", &self.kafka.brokers)
            .env("TASKSTREAM_TOPIC_PREFIX", &self.kafka.topic_prefix)
            .env("KAFKA_FETCH_WAIT_MAX_MS", "10")
            .env("TASKSTREAM_LOG", "error,rdkafka=off,librdkafka=off")
            .env("TASKSTREAM_WEBHOOK_ALLOW", "127.0.0.1/32")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }
}

/// The one number `sql` selects from the database at `database_url`.
pub async fn count_at(database_url: &str, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect("count");
    pool.close().await;
    n
}

/// A transaction that holds writes to `table` until it is dropped: SQLite's write lock (every
/// write of the database waits), or on PostgreSQL an EXCLUSIVE lock on the table alone (reads
/// go on). A writer meanwhile waits inside its own transaction.
pub async fn hold_writes(app: &TestApp, table: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let mut connection = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.database_url)
        .await
        .expect("connect");
    let statements = if app.database_url.starts_with("sqlite") {
        vec!["BEGIN IMMEDIATE".to_owned()]
    } else {
        vec!["BEGIN".to_owned(), format!("LOCK TABLE {table} IN EXCLUSIVE MODE")]
    };
    for statement in statements {
        sqlx::Executor::execute(&mut connection, statement.as_str())
            .await
            .expect("hold the table");
    }
    connection
}

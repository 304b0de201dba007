//! Drives tests/kafka/client.py, an independent Kafka client (confluent-kafka), to read
//! and validate what taskstream wrote and to inject records of our own.

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process::run_bounded_async;

/// The client's own waits are bounded (metadata 10 s, 30 s per partition); this is the
/// outer bound should it hang anyway.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub topic: String,
    pub offset: i64,
    pub key: Option<String>,
    pub headers: HashMap<String, Option<String>>,
    pub value: Option<String>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.as_deref())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.value.as_deref().unwrap_or("null")).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    pub value: String,
    pub headers: HashMap<String, String>,
}

/// The virtualenv Python that scripts/test prepares (TEST_PYTHON).
fn python() -> String {
    if let Ok(python) = std::env::var("TEST_PYTHON") {
        return python;
    }
    let default = format!(
        "{}/.cache/taskstream-venv/bin/python",
        std::env::var("HOME").unwrap_or_default()
    );
    assert!(
        std::path::Path::new(&default).exists(),
        "no Python with confluent-kafka: run scripts/test, which prepares it, or set TEST_PYTHON"
    );
    default
}

fn script() -> String {
    format!("{}/tests/kafka/client.py", env!("CARGO_MANIFEST_DIR"))
}

/// Every record of `topics`, each value validated against schemas/ (the script fails the
/// test on any violation).
pub async fn consume_validated(brokers: &str, topics: &[String]) -> Vec<Record> {
    let schemas = format!("{}/schemas", env!("CARGO_MANIFEST_DIR"));
    let mut consume = Command::new(python());
    consume.args([
        &script(),
        "consume",
        "--brokers",
        brokers,
        "--topics",
        &topics.join(","),
        "--schemas",
        &schemas,
    ]);
    // Off the test's thread: an app under test keeps running meanwhile.
    let output = run_bounded_async(consume, Vec::new(), CLIENT_LIMIT, "the independent consumer").await;
    assert!(
        output.status.success(),
        "independent client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("record line"))
        .collect()
}

/// Produces `records` in order through the independent client.
pub async fn produce(brokers: &str, records: &[Outgoing]) {
    let mut input = Vec::new();
    for record in records {
        writeln!(input, "{}", serde_json::to_string(record).expect("json")).expect("write");
    }
    let mut produce = Command::new(python());
    produce.args([&script(), "produce", "--brokers", brokers]);
    let output = run_bounded_async(produce, input, CLIENT_LIMIT, "the independent producer").await;
    assert!(
        output.status.success(),
        "independent producer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

//! The Kafka-compatible broker the tests use: TEST_KAFKA_BROKERS when set (scripts/test
//! starts a private Tansu), otherwise a Tansu this test process starts for itself on a free
//! port with a fresh store. Each test uses its own topic prefix, so tests never share topics.
//! A test that needs to stop, restart or secure its broker starts a [`PrivateBroker`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use taskstream::config::KafkaSettings;

use crate::process::{die_with_parent, Guarded};

static BROKERS: OnceLock<String> = OnceLock::new();

pub fn brokers() -> &'static str {
    BROKERS.get_or_init(|| std::env::var("TEST_KAFKA_BROKERS").unwrap_or_else(|_| start_shared()))
}

/// Settings for the shared test broker with every topic under `prefix`.
pub fn kafka_settings(prefix: &str) -> KafkaSettings {
    kafka_settings_for(brokers(), prefix)
}

pub fn kafka_settings_for(brokers: &str, prefix: &str) -> KafkaSettings {
    let mut kafka = KafkaSettings::defaults();
    kafka.brokers = brokers.to_owned();
    kafka.topic_prefix = prefix.to_owned();
    kafka.fetch_wait_max_ms = 10;
    kafka
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `tansu broker` listening on `port` and advertising `advertised`, its store in `dir`,
/// logging to `dir/broker.log`.
fn tansu_command(dir: &Path, port: u16, advertised: u16, extra: &[String]) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("broker.log"))
        .expect("broker log");
    let mut command = Command::new("tansu");
    command
        .current_dir(dir)
        .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
        .args(["--storage-engine", "sqlite://broker.db"])
        .args(extra)
        .stdout(log.try_clone().expect("broker log"))
        .stderr(log);
    command
}

/// Waits until the broker log reports readiness for the `nth` time.
fn wait_ready(dir: &Path, nth: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let log = std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default();
        if log.matches("ready in").count() >= nth {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("tansu did not start; see {}", dir.join("broker.log").display());
}

/// The broker shared by the whole test process. PR_SET_PDEATHSIG fires when the spawning
/// *thread* ends, so it is spawned from a thread that lives as long as the process.
fn start_shared() -> String {
    let port = free_port();
    let dir = tempfile::tempdir().expect("broker dir").keep();
    let mut command = tansu_command(&dir, port, port, &[]);
    die_with_parent(&mut command);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(command.spawn().map(|_| ()));
        loop {
            std::thread::park();
        }
    });
    receiver
        .recv()
        .expect("broker thread")
        .expect("start tansu (scripts/test installs it, or set TEST_KAFKA_BROKERS)");
    wait_ready(&dir, 1);
    format!("127.0.0.1:{port}")
}

/// A broker of one test's own, which the test may kill and start again (same port, same
/// store), put behind authentication, or reach through a TLS proxy (`advertised` != `port`).
/// Dropping it (also when the test panics) kills it.
pub struct PrivateBroker {
    pub dir: PathBuf,
    pub port: u16,
    pub advertised: u16,
    extra: Vec<String>,
    child: Option<Guarded>,
    starts: usize,
}

impl PrivateBroker {
    pub fn start() -> Self {
        let port = free_port();
        Self::start_with(port, port, &[])
    }

    pub fn start_with(port: u16, advertised: u16, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("broker dir").keep();
        let extra = extra.iter().map(|s| (*s).to_owned()).collect();
        let mut broker = Self {
            dir,
            port,
            advertised,
            extra,
            child: None,
            starts: 0,
        };
        broker.resume();
        broker
    }

    /// host:port clients should use.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.advertised)
    }

    /// kill -9.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }

    /// Starts again with the same port and store.
    pub fn resume(&mut self) {
        let mut command = tansu_command(&self.dir, self.port, self.advertised, &self.extra);
        self.child = Some(Guarded::spawn(&mut command, "tansu broker"));
        self.starts += 1;
        wait_ready(&self.dir, self.starts);
    }

    /// Restarts with other extra arguments (e.g. --authentication).
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.stop();
        self.extra = extra.iter().map(|s| (*s).to_owned()).collect();
        self.resume();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

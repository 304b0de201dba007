//! The Kafka-compatible broker the tests use: TEST_KAFKA_BROKERS when set (scripts/test
//! starts a private Tansu), otherwise a Tansu this test process starts for itself on a free
//! port with a fresh store. Each test uses its own topic prefix, so tests never share topics.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser;
use taskstream::config::KafkaSettings;

static BROKERS: OnceLock<String> = OnceLock::new();

pub fn brokers() -> &'static str {
    BROKERS.get_or_init(|| std::env::var("TEST_KAFKA_BROKERS").unwrap_or_else(|_| start_tansu()))
}

/// Settings for the test broker with every topic under `prefix`.
pub fn kafka_settings(prefix: &str) -> KafkaSettings {
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        kafka: KafkaSettings,
    }
    let mut kafka = Wrapper::parse_from(["test"]).kafka;
    kafka.brokers = brokers().to_owned();
    kafka.topic_prefix = prefix.to_owned();
    kafka.fetch_wait_max_ms = 10;
    kafka
}

fn start_tansu() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = tempfile::tempdir().expect("broker dir").keep();
    let log = std::fs::File::create(dir.join("broker.log")).expect("broker log");
    let mut command = Command::new("tansu");
    command
        .current_dir(&dir)
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{port}"),
        ])
        .args([
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{port}"),
        ])
        .args(["--storage-engine", "sqlite://broker.db"])
        .stdout(log.try_clone().expect("broker log"))
        .stderr(log);
    // The broker dies with the test process.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .spawn()
        .expect("start tansu (install it with scripts/test, or set TEST_KAFKA_BROKERS)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::fs::read_to_string(dir.join("broker.log"))
            .unwrap_or_default()
            .contains("ready in")
        {
            return format!("127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "tansu did not start; see {}",
        dir.join("broker.log").display()
    );
}

//! Authenticated and encrypted broker connections: SASL/SCRAM-SHA-256 against Tansu with
//! --authentication, and SASL_SSL through a TLS proxy (stunnel) with a test CA, which is
//! how Redpanda Cloud is reached.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use taskstream::bus::{topics, Kafka};
use taskstream::config::{KafkaSettings, SaslMechanism, Secret, SecurityProtocol};
use taskstream::startup::Parts;

use crate::broker::{self, free_port, PrivateBroker};
use crate::helpers::spawn_with;
use crate::process::{run_bounded, Guarded};

const USER: &str = "sam";

fn create_broker_user(port: u16, name: &str, password: &str) {
    let output = run_bounded(
        Command::new("tansu").args([
            "user",
            "create",
            "--broker",
            &format!("tcp://127.0.0.1:{port}"),
            "--mechanism",
            "scram256",
            name,
            password,
        ]),
        b"",
        Duration::from_secs(60),
        "tansu user create",
    );
    assert!(
        output.status.success(),
        "tansu user create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sasl(brokers: &str, protocol: SecurityProtocol, password: &str) -> KafkaSettings {
    let mut kafka = broker::kafka_settings_for(brokers, "secure.");
    kafka.security_protocol = protocol;
    kafka.sasl_mechanism = SaslMechanism::ScramSha256;
    kafka.username = Some("alice".into());
    kafka.password = Some(Secret::new(password));
    kafka
}

async fn events_flow(kafka: KafkaSettings) {
    let app = spawn_with(Parts::all, kafka).await;
    let task = app.create_task(USER, &json!({"title": "secure"})).await;
    let id = task["id"].as_str().expect("id");
    assert_eq!(
        app.wait_for_history(USER, id, 1).await.len(),
        1,
        "the event went through the secured broker"
    );
}

#[tokio::test]
async fn sasl_scram_sha_256_right_password_works_and_a_wrong_one_is_refused() {
    let mut broker = PrivateBroker::start();
    create_broker_user(broker.port, "alice", "alice-secret");
    broker.restart_with(&["--authentication"]);

    let good = sasl(&broker.address(), SecurityProtocol::SaslPlaintext, "alice-secret");
    let states = topics::ensure(&Kafka::new(good.clone()))
        .await
        .expect("topics over SASL");
    assert!(states.iter().all(|s| s.partitions.is_some()));
    events_flow(good).await;

    let mut wrong = sasl(&broker.address(), SecurityProtocol::SaslPlaintext, "guess");
    wrong.topic_prefix = "wrong.".into();
    let error = topics::ensure(&Kafka::new(wrong))
        .await
        .expect_err("a wrong password must be refused");
    let message = format!("{error:#}");
    assert!(
        message.to_lowercase().contains("authentication"),
        "unclear error: {message}"
    );

    let mut plain = broker::kafka_settings_for(&broker.address(), "plain.");
    plain.security_protocol = SecurityProtocol::Plaintext;
    assert!(
        topics::ensure(&Kafka::new(plain)).await.is_err(),
        "a client without SASL is refused"
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let status = run_bounded(
            Command::new("openssl").current_dir(dir).args(args),
            b"",
            Duration::from_secs(60),
            "openssl",
        );
        assert!(
            status.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=taskstream test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

fn start_stunnel(dir: &Path, accept: u16, connect: u16) -> Guarded {
    let config = format!(
        "foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{accept}\nconnect = 127.0.0.1:{connect}\ncert = {0}/server.pem\nkey = {0}/server.key\n",
        dir.display()
    );
    std::fs::write(dir.join("stunnel.conf"), config).expect("stunnel config");
    let binary = if Path::new("/usr/bin/stunnel4").exists() {
        "stunnel4"
    } else {
        "stunnel"
    };
    let child = Guarded::spawn(
        Command::new(binary)
            .arg(dir.join("stunnel.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("stunnel.log")).expect("log")),
        "stunnel (Debian package stunnel4)",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", accept)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "stunnel did not listen within 20 s; see {}",
        dir.join("stunnel.log").display()
    );
}

#[tokio::test]
async fn sasl_ssl_with_scram_sha_256_and_a_ca_file_works_through_tls() {
    let tls_port = free_port();
    let mut broker = PrivateBroker::start();
    create_broker_user(broker.port, "alice", "alice-secret");
    broker.advertised = tls_port; // every connection goes through the TLS proxy
    broker.restart_with(&["--authentication"]);
    let certs = tempfile::tempdir().expect("cert dir");
    make_certificates(certs.path());
    let _tls = start_stunnel(certs.path(), tls_port, broker.port);

    let mut kafka = sasl(&broker.address(), SecurityProtocol::SaslSsl, "alice-secret");
    kafka.ca_file = Some(certs.path().join("ca.pem"));
    topics::ensure(&Kafka::new(kafka.clone()))
        .await
        .expect("topics over SASL_SSL");
    events_flow(kafka.clone()).await;

    // Without the CA the broker's certificate cannot be verified.
    let mut untrusted = kafka;
    untrusted.ca_file = None;
    untrusted.topic_prefix = "untrusted.".into();
    untrusted.properties = vec![format!("ssl.ca.location={}", certs.path().join("server.pem").display())];
    assert!(
        topics::ensure(&Kafka::new(untrusted)).await.is_err(),
        "an unverifiable certificate must be refused"
    );
}

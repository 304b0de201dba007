use std::time::Duration;

use clap::Parser;
use taskstream::auth::Auth;
use taskstream::bus::Kafka;
use taskstream::cli::{Cli, Command};
use taskstream::commands;
use taskstream::domain::UserId;
use taskstream::startup::{self, Application, Parts};
use taskstream::telemetry::status;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = taskstream::telemetry::init(&cli.common.log, cli.common.log_format, &cli.common.otlp) {
        eprintln!("taskstream: {error:#}");
        std::process::exit(1);
    }
    warn_of_secrets_on_the_command_line();
    let code = match run(cli).await {
        Ok(()) => 0,
        Err(error) if error.is::<status::Unhealthy>() => {
            eprintln!("taskstream: {error}");
            2
        }
        Err(error) => {
            eprintln!("taskstream: {error:#}");
            1
        }
    };
    taskstream::telemetry::flush().await;
    // Do not wait for a librdkafka call still blocking a thread (broker gone): every part
    // has already finished or given up within its bounded drain time.
    std::process::exit(code);
}

/// Arguments show in `ps` to every user of the machine: secrets belong in the environment
/// or in files.
fn warn_of_secrets_on_the_command_line() {
    for flag in ["--jwt-secret", "--kafka-password"] {
        let given = std::env::args().any(|arg| arg == flag || arg.starts_with(&format!("{flag}=")));
        if given {
            tracing::warn!("{flag} on the command line is visible to every user of this machine (ps); use its environment variable or its _FILE form");
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cli.common.validate()?;
    cli.kafka.validate()?;
    let parts = match cli.command {
        Command::All { http } => Parts::all(http),
        Command::Api { http } => Parts {
            http: Some(http),
            ..Parts::default()
        },
        Command::Relay => Parts {
            relay: true,
            ..Parts::default()
        },
        Command::Worker { role } => Parts {
            roles: vec![role],
            ..Parts::default()
        },
        Command::Token { user, ttl_hours } => {
            let user = UserId::parse(&user).map_err(|e| anyhow::anyhow!("--user: {}", e.message))?;
            let auth = Auth::from_settings(&cli.common)?;
            println!("{}", auth.issue(&user, Duration::from_secs(ttl_hours * 3600))?);
            return Ok(());
        }
        Command::Migrate => {
            let store = startup::open_store(&cli.common).await?;
            println!("migrations applied to the {} database", store.backend());
            return Ok(());
        }
        Command::Quarantined => {
            let store = startup::open_store(&cli.common).await?;
            let result = commands::quarantined(&store).await;
            store.close().await;
            return result;
        }
        Command::Topics { action } => return commands::topics(&Kafka::new(cli.kafka), action).await,
        Command::Dlq { action } => return commands::dlq(&Kafka::new(cli.kafka), action).await,
        Command::Status {
            json,
            max_outbox_age_secs,
            max_lag,
        } => {
            let store = startup::open_store(&cli.common).await?;
            let limits = status::Limits {
                outbox_age: Duration::from_secs(max_outbox_age_secs),
                lag: max_lag,
            };
            let result = commands::status(&store, &Kafka::new(cli.kafka), json, limits).await;
            store.close().await;
            return result;
        }
        Command::Deliveries { action } => {
            let store = startup::open_store(&cli.common).await?;
            let result = commands::deliveries(&store, action).await;
            store.close().await;
            return result;
        }
    };
    let app = Application::build(&cli.common, &cli.kafka, parts).await?;
    if let Some(address) = app.local_addr() {
        tracing::info!(%address, database = %app.store().backend(), "taskstream API listening");
    }
    app.run(startup::shutdown_on_signal()).await
}

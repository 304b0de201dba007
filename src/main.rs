use std::time::Duration;

use clap::Parser;
use taskstream::auth::Auth;
use taskstream::bus::{dlq, topics, Kafka, Publisher};
use taskstream::cli::{Cli, Command, DeliveriesAction, DlqAction, TopicsAction};
use taskstream::domain::UserId;
use taskstream::startup::{self, Application, Parts};
use taskstream::store::DeliveryFilter;
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
            let rows = store.quarantined_outbox().await?;
            for (id, event_type, event_id, at, error) in &rows {
                println!("outbox #{id}  {event_type}  {event_id}  quarantined {at}: {error}");
            }
            eprintln!("{} quarantined row(s)", rows.len());
            return Ok(());
        }
        Command::Topics { action } => return topics_command(&Kafka::new(cli.kafka), action).await,
        Command::Dlq { action } => return dlq_command(&Kafka::new(cli.kafka), action).await,
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
            let report = status::gather(&store, &Kafka::new(cli.kafka), limits).await;
            store.close().await;
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            if !report.problems.is_empty() {
                return Err(status::Unhealthy(report.problems).into());
            }
            return Ok(());
        }
        Command::Deliveries { action } => {
            let store = startup::open_store(&cli.common).await?;
            let result = deliveries_command(&store, action).await;
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

async fn topics_command(kafka: &Kafka, action: TopicsAction) -> anyhow::Result<()> {
    let states = match action {
        TopicsAction::Ensure => topics::ensure(kafka).await?,
        TopicsAction::Describe => topics::describe(kafka).await?,
    };
    let mut differ = false;
    for state in states {
        let partitions = state.partitions.map_or("-".to_owned(), |p| p.to_string());
        let retention = state.retention_ms.map_or("unknown".to_owned(), |r| r.to_string());
        let differences = state.differences();
        differ |= !differences.is_empty();
        let note = if state.created {
            "created".to_owned()
        } else if differences.is_empty() {
            "ok".to_owned()
        } else {
            differences.join("; ")
        };
        println!(
            "{:<40} partitions {:<4} retention.ms {:<12} {note}",
            state.spec.name, partitions, retention
        );
    }
    if differ {
        eprintln!("some topics differ from the configuration (existing topics are never changed)");
    }
    Ok(())
}

async fn dlq_command(kafka: &Kafka, action: DlqAction) -> anyhow::Result<()> {
    match action {
        DlqAction::List { filter, json } => {
            let parked = dlq::list(kafka, &filter.into())?;
            for record in &parked {
                if json {
                    println!("{}", serde_json::to_string(record)?);
                } else {
                    println!(
                        "{}[{}]@{}  type={}  key={}  from={}@{}  attempts={}  error={}",
                        record.dlq_topic,
                        record.dlq_partition,
                        record.dlq_offset,
                        record.event_type().unwrap_or("?"),
                        record.key,
                        record.header(dlq::SOURCE_TOPIC).unwrap_or("?"),
                        record.header(dlq::SOURCE_OFFSET).unwrap_or("?"),
                        record.header(dlq::ATTEMPTS).unwrap_or("?"),
                        record.header(dlq::ERROR).unwrap_or("?"),
                    );
                }
            }
            eprintln!("{} parked record(s)", parked.len());
        }
        DlqAction::Replay { filter } => {
            let parked = dlq::list(kafka, &filter.into())?;
            let publisher = Publisher::new(kafka)?;
            let total = parked.len();
            let done = dlq::replay(&publisher, &parked, |n, record| {
                eprintln!(
                    "[{n}/{total}] replayed {}@{} to {}",
                    record.dlq_topic,
                    record.dlq_offset,
                    record.header(dlq::SOURCE_TOPIC).unwrap_or("?")
                );
            })
            .await?;
            eprintln!("replayed {done} record(s); consumers skip any they had already applied");
        }
    }
    Ok(())
}

async fn deliveries_command(store: &taskstream::store::Store, action: DeliveriesAction) -> anyhow::Result<()> {
    match action {
        DeliveriesAction::List {
            filter,
            state,
            limit,
            json,
        } => {
            let filter = DeliveryFilter {
                state,
                user: filter.user,
                reminder: filter.reminder,
            };
            let rows = store.deliveries(&filter, limit).await?;
            for row in &rows {
                if json {
                    let line = serde_json::json!({
                        "reminder_id": row.reminder_id,
                        "user_id": row.user_id,
                        "task_id": row.task_id,
                        "host": row.host,
                        "state": row.state,
                        "attempts": row.attempts,
                        "next_attempt_at": row.next_attempt_at,
                        "last_error": row.last_error,
                        "created_at": row.created_at,
                        "updated_at": row.updated_at,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{}  user={}  host={}  state={}  attempts={}  next={}  error={}",
                        row.reminder_id,
                        row.user_id,
                        row.host,
                        row.state,
                        row.attempts,
                        row.next_attempt_at,
                        row.last_error.as_deref().unwrap_or("-"),
                    );
                }
            }
            eprintln!("{} delivery(ies)", rows.len());
        }
        DeliveriesAction::Retry { filter, all } => {
            if !all && filter.user.is_none() && filter.reminder.is_none() {
                anyhow::bail!("say which failed deliveries to retry: --user, --reminder or --all");
            }
            let filter = DeliveryFilter {
                state: None,
                user: filter.user,
                reminder: filter.reminder,
            };
            let count = store.retry_failed_deliveries(&filter).await?;
            eprintln!("{count} failed delivery(ies) due again; a running notifier sends them within a second");
        }
    }
    Ok(())
}

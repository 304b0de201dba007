//! Benchmarks of taskstream (see BENCHMARKS.md and scripts/bench).
//!
//!   bench http     --url U --token T --rate R --seconds S   open-loop creates at a fixed rate
//!   bench search   --url U --token T --seconds S            search latency over seeded tasks
//!   bench e2e      --url U --token T --rate R --seconds S --database-url D
//!                                     API 2xx → audit consumer's committed row, per task
//!   bench pipeline --database-url D --brokers B --events N  relay and consumer throughput
//!                  [--batch-size B --in-flight W --relay-only]
//!   bench relay-split --database-url D --brokers B --events N --batch-size B
//!                                     the relay's read, send and mark timed one after the other
//!   bench broker   --brokers B --events N --size S --batch B --in-flight W [--headers H]
//!                  [--property k=v]
//!                                     an rdkafka producer alone: the broker's own share
//!   bench broker-hop --brokers B --rate R --seconds S [--fetch-wait-ms W]
//!                                     the broker's share of e2e: send → ack, send → read
//!   bench ramp     --url U --token T [--token T2 …] --capacity C --database-url D [--server-pid P]
//!                                     open-loop creates stepped to 3× capacity, drain, SIGTERM
//!   bench drain    --database-url D   time for the outbox and the audit role to catch up
//!
//! Latencies are measured from each request's *scheduled* start, so a stalled server
//! cannot hide queueing delay (no coordinated omission).

#[path = "../support/mod.rs"]
mod support;

mod hop;
mod open_loop;
mod ramp;
mod relay;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::json;
use taskstream::bus::consumer::{self, Policy};
use taskstream::bus::{topics, Kafka, Publisher};
use taskstream::domain::{NewTask, TaskInput, UserId};
use taskstream::relay::{Relay, RelaySettings};
use taskstream::roles::audit::Audit;
use taskstream::store::{Holdings, ScheduleChange, Store};
use tokio_util::sync::CancellationToken;

use open_loop::{body, open_loop, word, Target};
use support::percentiles;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Reminders due within one window: how late each fires.
    Reminders {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        reminders: u32,
        #[arg(long, default_value_t = 60)]
        window_secs: u32,
    },
    /// Completions of repeating tasks: time to the next occurrence, and throughput.
    Recurrence {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 2_000)]
        tasks: u32,
        #[arg(long, default_value_t = 500)]
        rate: u32,
        /// A burst instead: every completion sent as fast as the API answers, at most this
        /// many outstanding (closed loop; --rate is then ignored).
        #[arg(long)]
        in_flight: Option<usize>,
    },
    Http {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    Search {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 10_000)]
        tasks: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    E2e {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long)]
        database_url: String,
    },
    /// Creates stepped from below to beyond capacity: sheds, latencies, drain, SIGTERM.
    Ramp(ramp::RampArgs),
    /// Waits until the relay and the audit role have caught up with the outbox.
    Drain(ramp::DrainArgs),
    Pipeline {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        brokers: String,
        #[arg(long, default_value_t = 20_000)]
        events: u32,
        #[arg(long, default_value_t = 10)]
        fetch_wait_max_ms: u32,
        /// The relay's batch size (default: the relay's own).
        #[arg(long)]
        batch_size: Option<i64>,
        /// Batches the relay keeps in flight (default: the relay's own).
        #[arg(long)]
        in_flight: Option<usize>,
        /// Stop after the relay (no consumer).
        #[arg(long)]
        relay_only: bool,
        /// Fill with `events / 5` daily tasks with a reminder, each created and completed (a
        /// backlog for every role), instead of `events` plain creates.
        #[arg(long)]
        repeating: bool,
        /// A librdkafka property for the relay's producer and the consumer, key=value
        /// (repeatable; as KAFKA_PROPERTIES).
        #[arg(long)]
        property: Vec<String>,
    },
    /// The relay's read, send and mark-delivered, timed one after the other.
    RelaySplit {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        brokers: String,
        #[arg(long, default_value_t = 20_000)]
        events: u32,
        #[arg(long, default_value_t = 1_000)]
        batch_size: i64,
    },
    /// The broker alone at a fixed rate: its share of the end-to-end latency.
    BrokerHop {
        #[arg(long)]
        brokers: String,
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 10)]
        fetch_wait_ms: u32,
    },
    /// An rdkafka producer alone on the broker: its own share of the relay's time.
    Broker {
        #[arg(long)]
        brokers: String,
        #[arg(long, default_value_t = 20_000)]
        events: u32,
        #[arg(long, default_value_t = 600)]
        size: usize,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
        /// Headers per record (the relay's records carry about ten).
        #[arg(long, default_value_t = 0)]
        headers: usize,
        /// A librdkafka producer property, key=value (repeatable).
        #[arg(long)]
        property: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    match Cli::parse().command {
        Bench::Http {
            url,
            token,
            rate,
            seconds,
        } => {
            let run = open_loop(&Target::new(&url, vec![token])?, f64::from(rate), f64::from(seconds), 0).await;
            println!("http-create rate={rate}/s {}", run.summary());
        }
        Bench::Search {
            url,
            token,
            tasks,
            seconds,
        } => search(&url, &token, tasks, seconds).await?,
        Bench::E2e {
            url,
            token,
            rate,
            seconds,
            database_url,
        } => e2e(&url, &token, rate, seconds, &database_url).await?,
        Bench::Reminders {
            database_url,
            reminders,
            window_secs,
        } => {
            reminders_bench(&database_url, reminders, window_secs).await?;
        }
        Bench::Recurrence {
            url,
            token,
            database_url,
            tasks,
            rate,
            in_flight,
        } => {
            let pace = in_flight.map_or(Pace::Rate(rate), Pace::InFlight);
            recurrence_bench(&url, &token, &database_url, tasks, pace).await?;
        }
        Bench::Ramp(args) => ramp::ramp(args).await?,
        Bench::Drain(args) => ramp::drain(args).await?,
        Bench::Pipeline {
            database_url,
            brokers,
            events,
            fetch_wait_max_ms,
            batch_size,
            in_flight,
            relay_only,
            repeating,
            property,
        } => {
            let options = PipelineOptions {
                fetch_wait_max_ms,
                batch_size,
                in_flight,
                relay_only,
                repeating,
                properties: property,
            };
            pipeline(&database_url, &brokers, events, &options).await?;
        }
        Bench::RelaySplit {
            database_url,
            brokers,
            events,
            batch_size,
        } => relay::split(&database_url, &brokers, events, batch_size).await?,
        Bench::Broker {
            brokers,
            events,
            size,
            batch,
            in_flight,
            headers,
            property,
        } => relay::broker(&brokers, events, size, (batch, in_flight), (headers, &property)).await?,
        Bench::BrokerHop {
            brokers,
            rate,
            seconds,
            fetch_wait_ms,
        } => hop::broker_hop(&brokers, rate, seconds, fetch_wait_ms).await?,
    }
    Ok(())
}

async fn search(url: &str, token: &str, tasks: u32, seconds: u32) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let seeding = Instant::now();
    let bodies: Vec<_> = (0..u64::from(tasks)).map(body).collect();
    seed(&client, url, token, &bodies).await?;
    println!("seeded {tasks} tasks in {:.1}s", seeding.elapsed().as_secs_f64());
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(u64::from(seconds));
    let mut i = 0usize;
    while Instant::now() < deadline {
        let q = word(i);
        let query = if i % 2 == 0 {
            format!("q={q}")
        } else {
            format!("q={}&sort=due_at&limit=50", &q[..3])
        };
        let started = Instant::now();
        let response = client
            .get(format!("{url}/api/v1/tasks?{query}"))
            .bearer_auth(token)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "search failed: {}", response.status());
        let _ = response.bytes().await?;
        latencies.push(started.elapsed());
        i += 1;
    }
    println!(
        "search over {tasks} tasks, {} queries: {}",
        latencies.len(),
        percentiles(&latencies)
    );
    Ok(())
}

async fn e2e(url: &str, token: &str, rate: u32, seconds: u32, database_url: &str) -> anyhow::Result<()> {
    let target = Target::new(url, vec![token.to_owned()])?;
    let run = open_loop(&target, f64::from(rate), f64::from(seconds), 0).await;
    println!("api rate={rate}/s {}", run.summary());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await?;
    let created: Vec<_> = run.created().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let stamps = loop {
        let stamps = audit_stamps(&pool).await?;
        let applied = created.iter().filter(|(id, _)| stamps.contains_key(*id)).count();
        if applied == created.len() || Instant::now() > deadline {
            break stamps;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut hops = Hops::default();
    let mut missing = 0usize;
    for (id, answered_at) in created {
        match stamps.get(id) {
            Some(stamps) => hops.add(answered_at, stamps)?,
            None => missing += 1,
        }
    }
    println!(
        "end-to-end (2xx → audit commit) over {} events ({missing} not applied within 60 s): {}",
        hops.total.len(),
        percentiles(&hops.total)
    );
    println!(
        "  relay (2xx → broker acknowledged, marked delivered): {}",
        percentiles(&hops.relay)
    );
    println!(
        "  consumer (marked delivered → audit row written): {}",
        percentiles(&hops.consumer)
    );
    Ok(())
}

/// When each task's creation event was delivered by the relay and recorded by the audit role,
/// by task id: one query (one per task scanned the outbox each time, minutes for 10,000).
async fn audit_stamps(pool: &sqlx::AnyPool) -> anyhow::Result<HashMap<String, (String, String)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.task_id, o.delivered_at, a.recorded_at FROM audit_log a JOIN outbox o ON o.event_id = a.event_id \
         WHERE a.event_type = 'task.created' AND o.delivered_at IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(task, delivered, recorded)| (task, (delivered, recorded)))
        .collect())
}

/// The end-to-end latency of each event and its two hops: relay (the 2xx until the broker
/// acknowledged it and the relay marked it delivered) and consumer (from that mark until the
/// audit role wrote its row, just before its commit). The marks are the service's clock; the
/// 2xx is the client's, on the same machine.
#[derive(Default)]
struct Hops {
    total: Vec<Duration>,
    relay: Vec<Duration>,
    consumer: Vec<Duration>,
}

impl Hops {
    fn add(
        &mut self,
        answered_at: chrono::DateTime<chrono::Utc>,
        (delivered, recorded): &(String, String),
    ) -> anyhow::Result<()> {
        let parse = |at: &str| taskstream::time::parse(at).ok_or_else(|| anyhow::anyhow!("bad time {at}"));
        let (delivered, recorded) = (parse(delivered)?, parse(recorded)?);
        let span = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
            (to - from).to_std().unwrap_or_default()
        };
        self.total.push(span(answered_at, recorded));
        self.relay.push(span(answered_at, delivered));
        self.consumer.push(span(delivered, recorded));
        Ok(())
    }
}

async fn count(store_url: &str, sql: &str) -> anyhow::Result<i64> {
    let pool = sqlx::AnyPool::connect(store_url).await?;
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await?;
    pool.close().await;
    Ok(n)
}

struct PipelineOptions {
    fetch_wait_max_ms: u32,
    batch_size: Option<i64>,
    in_flight: Option<usize>,
    relay_only: bool,
    repeating: bool,
    properties: Vec<String>,
}

async fn pipeline(database_url: &str, brokers: &str, events: u32, options: &PipelineOptions) -> anyhow::Result<()> {
    let store = Store::connect(database_url, 8).await?;
    store.migrate().await?;
    anyhow::ensure!(
        options.relay_only || !options.repeating,
        "--repeating fills a backlog for `taskstream worker`: use it with --relay-only"
    );
    if options.repeating {
        relay::fill_repeating(&store, events / 5).await?;
    } else {
        relay::fill(&store, events).await?;
    }

    let mut settings = kafka_settings(brokers, options.fetch_wait_max_ms);
    settings.properties.clone_from(&options.properties);
    settings.topic_prefix = format!("bench{}.", uuid::Uuid::new_v4().simple());
    let kafka = Kafka::new(settings);
    topics::ensure(&kafka).await?;
    let publisher = Publisher::new(&kafka)?;
    let stop = CancellationToken::new();

    let mut relay_settings = RelaySettings::for_kafka(kafka.settings());
    relay_settings.batch_size = options.batch_size.unwrap_or(relay_settings.batch_size);
    relay_settings.in_flight = options.in_flight.unwrap_or(relay_settings.in_flight);
    println!(
        "relay settings: batch {} rows, {} batches in flight",
        relay_settings.batch_size, relay_settings.in_flight
    );
    let relay = Relay::new(store.clone(), kafka.clone(), publisher.clone(), relay_settings);
    // The outbox may hold more than this run wrote (a copied, pre-filled database).
    let backlog = u32::try_from(store.outbox_backlog().await?)?;
    let started = Instant::now();
    let relay_stop = stop.clone();
    let relay_task = tokio::spawn(async move { relay.run(relay_stop).await });
    while store.outbox_backlog().await? > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let relay_time = started.elapsed();
    println!(
        "relay: {backlog} events in {:.2}s = {:.0} events/s",
        relay_time.as_secs_f64(),
        f64::from(backlog) / relay_time.as_secs_f64()
    );
    if options.relay_only {
        stop.cancel();
        let _ = relay_task.await;
        return Ok(());
    }

    let started = Instant::now();
    let (consumer_kafka, consumer_store, consumer_stop) = (kafka.clone(), store.clone(), stop.clone());
    let consumer_task = tokio::spawn(async move {
        consumer::run(
            &consumer_kafka,
            consumer_store,
            publisher,
            Arc::new(Audit),
            Policy::default(),
            taskstream::bus::Stalls::default(),
            consumer_stop,
        )
        .await
    });
    loop {
        let applied = count(database_url, "SELECT COUNT(*) FROM audit_log").await?;
        if applied >= i64::from(events) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let consumer_time = started.elapsed();
    println!(
        "consumer (audit, inbox + effect per event): {events} events in {:.2}s = {:.0} events/s (includes group join)",
        consumer_time.as_secs_f64(),
        f64::from(events) / consumer_time.as_secs_f64()
    );
    stop.cancel();
    let _ = relay_task.await;
    let _ = consumer_task.await;
    Ok(())
}

fn kafka_settings(brokers: &str, fetch_wait_max_ms: u32) -> taskstream::config::KafkaSettings {
    let mut kafka = taskstream::config::KafkaSettings::defaults();
    kafka.brokers = brokers.to_owned();
    kafka.fetch_wait_max_ms = fetch_wait_max_ms;
    kafka
}

/// Creates `count` tasks each with one reminder, due spread over `window_secs` starting
/// after set-up, schedules them, runs the scheduler's timer and reports lateness.
async fn reminders_bench(database_url: &str, total: u32, window_secs: u32) -> anyhow::Result<()> {
    use taskstream::events::ScheduledReminder;
    use taskstream::roles::scheduler::{Scheduler, SchedulerSettings};
    let store = Store::connect(database_url, 8).await?;
    store.migrate().await?;
    let user = UserId::parse("bench").map_err(|e| anyhow::anyhow!(e.message))?;
    // Set-up must end before the window opens.
    let setup_budget = chrono::TimeDelta::seconds(i64::from(total / 1_000) + 20);
    let base = chrono::Utc::now() + setup_budget;
    let window = chrono::TimeDelta::seconds(i64::from(window_secs));
    let started = Instant::now();
    let mut scheduled = Vec::with_capacity(total as usize);
    for i in 0..total {
        let fire_at = base + window * i32::try_from(i).unwrap_or(0) / i32::try_from(total).unwrap_or(1);
        let spec = taskstream::time::format(fire_at);
        let mut input = TaskInput::titled(format!("reminder {i}"));
        input.reminders = vec![spec.clone()];
        let task = NewTask::parse(&input).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if let taskstream::store::CreateOutcome::Created(task) = store
            .create_task(&user, task, Holdings::UNBOUNDED, None, |_| unreachable!())
            .await?
        {
            scheduled.push((task.id, spec));
        }
    }
    for chunk in scheduled.chunks(1_000) {
        let reminders: Vec<[ScheduledReminder; 1]> = chunk
            .iter()
            .map(|(_, spec)| {
                [ScheduledReminder {
                    index: 0,
                    spec: spec.clone(),
                    fire_at: spec.clone(),
                }]
            })
            .collect();
        let changes: Vec<ScheduleChange<'_>> = chunk
            .iter()
            .zip(&reminders)
            .map(|((id, _), reminders)| ScheduleChange {
                user: "bench",
                task_id: *id,
                version: 1,
                due_at: None,
                reminders,
                traceparent: None,
            })
            .collect();
        let mut tx = store.begin().await?;
        store.apply_schedules(&mut tx, &changes).await?;
        tx.commit().await?;
    }
    println!("set up {total} reminders in {:.1}s", started.elapsed().as_secs_f64());
    anyhow::ensure!(
        chrono::Utc::now() < base,
        "set-up overran the window start; use fewer reminders"
    );
    let stop = CancellationToken::new();
    let scheduler = Arc::new(Scheduler::new(store.clone(), SchedulerSettings::default()));
    let timer = tokio::spawn(scheduler.run_timer(stop.clone()));
    let pending = "SELECT COUNT(*) FROM reminder_schedule WHERE state = 'pending'";
    while count(database_url, pending).await? > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.cancel();
    let _ = timer.await;
    let pool = sqlx::AnyPool::connect(database_url).await?;
    let lateness: Vec<(Option<i64>,)> = sqlx::query_as("SELECT late_ms FROM reminder_schedule WHERE state = 'fired'")
        .fetch_all(&pool)
        .await?;
    let samples: Vec<Duration> = lateness
        .iter()
        .map(|(ms,)| Duration::from_millis(u64::try_from(ms.unwrap_or(0)).unwrap_or(0)))
        .collect();
    println!(
        "reminders: {} fired of {total} due within {window_secs}s; lateness {}",
        samples.len(),
        percentiles(&samples)
    );
    Ok(())
}

/// Creates a task of each body, 32 at a time (more writes in flight than the server's write
/// queue holds are answered 503); fails on any refusal. Returns the ids in order.
async fn seed(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: &[serde_json::Value],
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(32) {
        let sends = chunk.iter().map(|body| {
            client
                .post(format!("{url}/api/v1/tasks"))
                .bearer_auth(token)
                .json(body)
                .send()
        });
        for response in futures_util::future::join_all(sends).await {
            let response = response?;
            anyhow::ensure!(response.status().is_success(), "seeding a task: {}", response.status());
            let task: serde_json::Value = response.json().await?;
            ids.push(task["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(ids)
}

/// How completions are offered: open loop at a fixed rate, or a closed-loop burst.
#[derive(Clone, Copy)]
enum Pace {
    Rate(u32),
    InFlight(usize),
}

impl std::fmt::Display for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rate(rate) => write!(f, "at {rate}/s"),
            Self::InFlight(n) => write!(f, "as a burst ({n} in flight)"),
        }
    }
}

/// Creates `tasks` daily tasks, completes them as `pace` says, and measures the time from
/// each completion's 2xx to its next occurrence's commit, and the throughput. The clock starts
/// once the seeding's own events are published and audited, so the completions do not queue
/// behind them.
async fn recurrence_bench(url: &str, token: &str, database_url: &str, tasks: u32, pace: Pace) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(512).build()?;
    let body = json!({"title": "daily", "due_at": "2030-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"});
    let ids = seed(&client, url, token, &vec![body; tasks as usize]).await?;
    let pipeline = ramp::Pipeline::connect(database_url).await?;
    if let Err(left) = pipeline.drain(Duration::from_secs(120)).await? {
        anyhow::bail!("the seeding's events not settled in 120 s: {left}");
    }
    let pool = pipeline.pool();
    let start = Instant::now();
    let permits = match pace {
        Pace::InFlight(n) => Some(Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
        Pace::Rate(_) => None,
    };
    let mut handles = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if let Pace::Rate(rate) = pace {
            let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
            tokio::time::sleep_until((start + interval.mul_f64(i as f64)).into()).await;
        }
        let permit = match &permits {
            Some(permits) => Some(permits.clone().acquire_owned().await?),
            None => None,
        };
        let (client, url, token, id) = (client.clone(), url.to_owned(), token.to_owned(), id.clone());
        handles.push(tokio::spawn(async move {
            let _permit = permit;
            let response = client
                .post(format!("{url}/api/v1/tasks/{id}/complete"))
                .bearer_auth(token)
                .send()
                .await;
            match response {
                Ok(r) if r.status().is_success() => Ok((id, chrono::Utc::now())),
                Ok(r) => Err(r.status().to_string()),
                Err(e) => Err(if e.is_timeout() { "timeout" } else { "transport error" }.to_owned()),
            }
        }));
    }
    let mut completed = Vec::new();
    let mut refused: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for handle in handles {
        match handle.await {
            Ok(Ok(done)) => completed.push(done),
            Ok(Err(why)) => *refused.entry(why).or_default() += 1,
            Err(_) => *refused.entry("task panicked".to_owned()).or_default() += 1,
        }
    }
    if !refused.is_empty() {
        println!("recurrence: completions not accepted: {refused:?}");
    }
    let sent_in = start.elapsed().as_secs_f64();
    let first = completed
        .iter()
        .map(|(_, at)| *at)
        .min()
        .unwrap_or_else(chrono::Utc::now);
    let deadline = Instant::now() + Duration::from_secs(120);
    let sql = "SELECT series_id, created_at FROM tasks WHERE occurrence_index = 2";
    // Only this run's series: an earlier run on the same database has next occurrences too.
    let ours: std::collections::HashSet<&str> = completed.iter().map(|(id, _)| id.as_str()).collect();
    let mut next: Vec<(String, String)> = Vec::new();
    while Instant::now() < deadline {
        next = sqlx::query_as(sql).fetch_all(pool).await?;
        next.retain(|(series, _)| ours.contains(series.as_str()));
        if next.len() >= completed.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let created: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> = next
        .into_iter()
        .filter_map(|(series, at)| taskstream::time::parse(&at).map(|at| (series, at)))
        .collect();
    let latencies: Vec<Duration> = completed
        .iter()
        .filter_map(|(id, done)| created.get(id).map(|at| (*at - *done).to_std().unwrap_or_default()))
        .collect();
    let last = created.values().max().copied().unwrap_or(first);
    let span = (last - first).num_milliseconds().max(1) as f64 / 1000.0;
    println!(
        "recurrence: {} completions {pace} (answered in {sent_in:.1} s, {:.0}/s), {} next occurrences; completion 2xx → next committed {}; processed {:.0}/s",
        completed.len(),
        completed.len() as f64 / sent_in.max(0.001),
        created.len(),
        percentiles(&latencies),
        created.len() as f64 / span
    );
    Ok(())
}

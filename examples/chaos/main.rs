//! The chaos run (`scripts/chaos`; BENCHMARKS.md, "Chaos run"): taskstream with each role in a
//! process of its own, a load of task operations from several users over HTTP, and faults
//! while it runs — kill -9 of role processes, broker restarts, a database fault, a webhook
//! receiver outage. Once the pipeline has drained it checks that every effect happened exactly
//! once and prints `lost = 0, doubled = 0`, or what was lost or doubled, and exits 1.
//!
//! The harness's own records are the ground truth: every write the API acknowledged (task id
//! and version; a write whose answer was lost is settled by reading the task back), every
//! completion of a repeating occurrence (which names the next occurrence's id), every reminder
//! it asked for. They are compared with task-events read from the beginning, the audit history
//! in the database, the calls its webhook receiver recorded and the dead-letter topics.

#[path = "../support/mod.rs"]
mod support;

mod cluster;
mod database;
mod drain;
mod faults;
mod ledger;
mod load;
mod receiver;
mod topics;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};

/// Which database the run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Parser)]
#[command(about = "taskstream under faults: lost 0 / doubled 0, or the run fails")]
pub struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// The taskstream binary.
    #[arg(long)]
    pub bin: PathBuf,
    /// The Tansu binary (the harness starts and restarts the broker itself).
    #[arg(long, default_value = "tansu")]
    pub tansu: PathBuf,
    /// Folder of the run: broker store, SQLite database, every process's log.
    #[arg(long)]
    pub work_dir: PathBuf,
    /// PostgreSQL server on which the run's database (taskstream_chaos_<time>_<pid>) is made.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub pg_admin_url: String,
    /// First of 2 + --apis consecutive ports (broker, receiver, APIs); free ports when absent.
    #[arg(long)]
    pub port_base: Option<u16>,
    /// Writes to make (creates, updates, completions, reopens, deletes).
    #[arg(long, default_value_t = 50_000)]
    pub operations: u64,
    /// Most writes started a second.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// Most writes in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 8)]
    pub users: usize,
    /// API processes (the load spreads over them and moves on when one is down).
    #[arg(long, default_value_t = 2)]
    pub apis: usize,
    /// Rounds of kill -9 of a random role process (restarted with the same instance id).
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    #[arg(long, default_value_t = 2)]
    pub broker_restarts: usize,
    /// Database faults: on SQLite a writer stall, on PostgreSQL the run database's backends
    /// terminated (and the server restarted, with --pg-restart-command).
    #[arg(long, default_value_t = 1)]
    pub database_faults: usize,
    /// How long the SQLite writer stall holds the write lock.
    #[arg(long, default_value_t = 8)]
    pub stall_secs: u64,
    /// A command that restarts the PostgreSQL server, run as part of the database fault. Never
    /// run unless given: other people's tests use the same server.
    #[arg(long)]
    pub pg_restart_command: Option<String>,
    /// How long the webhook receiver is down (0: no outage).
    #[arg(long, default_value_t = 45)]
    pub receiver_outage_secs: u64,
    /// Records put on task-recurrence and task-events that can never be processed; they are
    /// the only records the dead-letter topics may hold at the end.
    #[arg(long, default_value_t = 3)]
    pub poison: usize,
    /// Longest wait for the pipeline to drain after the load.
    #[arg(long, default_value_t = 600)]
    pub drain_timeout_secs: u64,
    /// Seed of the operation mix and the fault choices (random when absent; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep the PostgreSQL database after the run.
    #[arg(long)]
    pub keep_database: bool,
    /// Longest the whole run may take (0: no limit); when it runs out the run stops, tears
    /// everything down and fails.
    #[arg(long, default_value_t = 0)]
    pub timeout_secs: u64,
}

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Prints a line stamped with the seconds since the run started.
pub fn say(line: impl std::fmt::Display) {
    let at = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    println!("[{at:7.1}s] {line}");
}

#[tokio::main]
async fn main() -> ExitCode {
    STARTED.get_or_init(Instant::now);
    die_with_parent();
    sqlx::any::install_default_drivers();
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("chaos: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Sets the run up, runs it, and tears it down whatever happened (an interrupt included);
/// true when every check passed.
async fn run(args: Args) -> anyhow::Result<bool> {
    let seed = args.seed.unwrap_or_else(rand::random);
    say(format!(
        "chaos run: backend {:?}, {} operations at most {}/s from {} users, seed {seed}",
        args.backend, args.operations, args.rate, args.users
    ));
    std::fs::create_dir_all(&args.work_dir)?;
    let database = Arc::new(database::RunDatabase::create(args.backend, &args.work_dir, &args.pg_admin_url).await?);
    let result = with_database(&args, seed, &database).await;
    database.close(args.keep_database).await;
    result
}

async fn with_database(args: &Args, seed: u64, database: &Arc<database::RunDatabase>) -> anyhow::Result<bool> {
    let ports = cluster::Ports::new(args.port_base, args.apis)?;
    let receiver = Arc::new(receiver::Receiver::start(ports.receiver).await?);
    let prefix = format!("chaos{}.", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let broker = topics::Broker::new(format!("127.0.0.1:{}", ports.broker), prefix.clone());
    let cluster = Arc::new(cluster::Cluster::new(args, &ports, &database.url, &prefix)?);
    let supervisor = tokio::spawn(cluster.clone().supervise());
    let outcome = tokio::select! {
        outcome = async {
            cluster.start().await?;
            chaos(args, seed, &cluster, database, &broker, &receiver).await
        } => outcome,
        () = interrupted() => Err(anyhow::anyhow!("interrupted")),
        () = out_of_time(args.timeout_secs) => Err(anyhow::anyhow!("ran out of its {} s (--timeout-secs)", args.timeout_secs)),
    };
    supervisor.abort();
    cluster.stop();
    receiver.down().await;
    outcome
}

/// The harness is told to stop (SIGTERM) when the process that started it ends, even by
/// SIGKILL: a killed `scripts/chaos` or test run leaves no run behind.
fn die_with_parent() {
    // SAFETY: prctl and getppid only set and read this process's own attributes.
    unsafe {
        let parent = libc::getppid();
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        // The parent may have ended before the prctl: then nobody would tell us.
        if libc::getppid() != parent {
            libc::raise(libc::SIGTERM);
        }
    }
}

/// Never, when `secs` is 0.
async fn out_of_time(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// SIGINT or SIGTERM.
async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// Load and faults, drain, checks.
async fn chaos(
    args: &Args,
    seed: u64,
    cluster: &Arc<cluster::Cluster>,
    database: &Arc<database::RunDatabase>,
    broker: &topics::Broker,
    receiver: &Arc<receiver::Receiver>,
) -> anyhow::Result<bool> {
    broker.wait_for_topics(Duration::from_secs(120)).await?;
    let poison = broker.inject_poison(args.poison).await?;
    say(format!("injected {} poison records", poison.len()));
    let ledger = Arc::new(ledger::Ledger::default());
    let load = Arc::new(load::Load::new(args, cluster.api_urls(), ledger.clone(), receiver).await?);
    let started = Instant::now();
    let injector = faults::Injector::new(args, seed, cluster.clone(), database.clone(), receiver.clone());
    let faults = tokio::spawn(injector.run(load.progress(), args.operations));
    load.clone().run(seed).await;
    let load_time = started.elapsed();
    say(format!(
        "load done in {:.0} s; waiting for the remaining faults",
        load_time.as_secs_f64()
    ));
    let faults = faults.await?;
    cluster.ensure_running();
    let expected = ledger.snapshot();
    let drained = drain::wait(
        database,
        broker,
        expected.last_fire_at(),
        Duration::from_secs(args.drain_timeout_secs),
    )
    .await;
    let evidence = verify::Evidence::gather(expected, database, broker, &poison, receiver, load.problems()).await;
    println!();
    println!("==> chaos run: backend {:?}, seed {seed}", args.backend);
    println!("{}", load.summary(load_time));
    for fault in &faults {
        println!("fault: {fault}");
    }
    println!(
        "processes that exited on their own (restarted): {}",
        cluster.unexpected_exits()
    );
    match &drained {
        Ok(took) => println!("drained {:.0} s after the load and faults", took.as_secs_f64()),
        Err(left) => println!("NOT DRAINED within {} s: {left}", args.drain_timeout_secs),
    }
    // What was seen so far is printed even when the checks cannot be made.
    let verdict = verify::judge(&evidence.context("cannot gather the evidence for the checks")?);
    for line in &verdict.lines {
        println!("{line}");
    }
    let passed = verdict.passed() && drained.is_ok();
    println!("{}", verdict.result_line());
    println!("result: {}", if passed { "PASS" } else { "FAIL" });
    Ok(passed)
}

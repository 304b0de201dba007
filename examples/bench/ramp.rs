//! The overload ramp (BENCHMARKS.md, "Overload ramp"): an open-loop create load offered in steps
//! from below to beyond the service's measured capacity, against a running `taskstream all`.
//! Per step it reports what was offered and what came back (2xx, 503, 500, anything else) and
//! how fast; then how long the pipeline takes to drain the backlog the ramp left; then, given
//! the server's pid, SIGTERM in the middle of a burst at the top step's rate: how long the
//! process takes to exit, and whether every create it acknowledged is in the database.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::AnyPool;

use crate::open_loop::{is_created, open_loop, Answer, Run, Target};
use crate::support::{quantile_ms, sorted};

#[derive(clap::Args)]
pub struct RampArgs {
    #[arg(long)]
    url: String,
    /// A bearer token; repeat it for several users, whom the requests take in turn (so that no
    /// one user's rate limit or quota shapes the load).
    #[arg(long = "token", required = true)]
    tokens: Vec<String>,
    /// The service's measured capacity in creates per second; the steps are multiples of it.
    #[arg(long)]
    capacity: f64,
    /// The multiples of the capacity offered in turn, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.5,1,1.5,2,3")]
    factors: Vec<f64>,
    #[arg(long, default_value_t = 10)]
    step_seconds: u32,
    /// The service's database: the drain is read from its outbox and audit log.
    #[arg(long)]
    database_url: String,
    /// How long to wait for the pipeline to drain after the ramp.
    #[arg(long, default_value_t = 120)]
    drain_limit_secs: u64,
    /// The server's process id. With it, after the drain: a burst at the top step's rate with
    /// SIGTERM sent halfway through.
    #[arg(long)]
    server_pid: Option<i32>,
    #[arg(long, default_value_t = 6)]
    burst_seconds: u32,
}

#[derive(clap::Args)]
pub struct DrainArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 120)]
    limit_secs: u64,
}

/// The aims the table is judged against (the overload issue's).
const AIM_2XX_P99_MS: f64 = 50.0;
const AIM_503_MAX_MS: f64 = 10.0;
const AIM_DRAIN: Duration = Duration::from_secs(60);
const AIM_EXIT: Duration = Duration::from_secs(30);
/// How long to wait for the server to exit after SIGTERM before giving up on it.
const EXIT_LIMIT: Duration = Duration::from_secs(60);

/// # Errors
/// When the database cannot be read, or when a create the service acknowledged is not in it.
pub async fn ramp(args: RampArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.capacity > 0.0, "--capacity must be above 0");
    anyhow::ensure!(args.factors.iter().all(|f| *f > 0.0), "--factors must all be above 0");
    let target = Target::new(&args.url, args.tokens.clone())?;
    let pipeline = Pipeline::connect(&args.database_url).await?;
    let mut acknowledged: Vec<String> = Vec::new();
    let mut sent = 0u64;

    println!("{}", Step::HEADER);
    for &factor in &args.factors {
        let rate = factor * args.capacity;
        let run = open_loop(&target, rate, f64::from(args.step_seconds), sent).await;
        sent += run.outcomes.len() as u64;
        acknowledged.extend(run.created().map(|(id, _)| id.to_owned()));
        let step = Step {
            factor,
            rate,
            run,
            backlog: pipeline.backlog().await?,
        };
        println!("{}", step.row());
        for note in step.notes() {
            println!("    {note}");
        }
    }

    let limit = Duration::from_secs(args.drain_limit_secs);
    match pipeline.drain(limit).await? {
        Ok(took) => println!(
            "drained {:.1} s after the ramp (aim ≤ {} s)",
            took.as_secs_f64(),
            AIM_DRAIN.as_secs()
        ),
        Err(left) => println!("NOT DRAINED within {} s after the ramp: {left}", limit.as_secs()),
    }

    if let Some(pid) = args.server_pid {
        let top = args.factors.iter().copied().fold(0.0, f64::max);
        let burst = sigterm_mid_burst(&target, &pipeline, pid, top * args.capacity, args.burst_seconds, sent).await?;
        acknowledged.extend(burst.created().map(|(id, _)| id.to_owned()));
        let missing = pipeline.missing(&acknowledged).await?;
        println!(
            "acknowledged creates (ramp and burst) missing from the database: {} of {}",
            missing.len(),
            acknowledged.len()
        );
        anyhow::ensure!(
            missing.is_empty(),
            "acknowledged creates lost: {}",
            missing.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Waits for the pipeline to drain, e.g. after the service's restart.
///
/// # Errors
/// When the database cannot be read.
pub async fn drain(args: DrainArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::connect(&args.database_url).await?;
    let backlog = pipeline.backlog().await?;
    let limit = Duration::from_secs(args.limit_secs);
    match pipeline.drain(limit).await? {
        Ok(took) => println!("drained {:.1} s after start from {backlog}", took.as_secs_f64()),
        Err(left) => println!("NOT DRAINED within {} s from {backlog}: {left}", limit.as_secs()),
    }
    Ok(())
}

/// One step of the ramp: what was offered and what came back.
struct Step {
    factor: f64,
    rate: f64,
    run: Run,
    backlog: Backlog,
}

impl Step {
    const HEADER: &str = "| × capacity | offered/s | 2xx/s | 2xx | 503 | 500 | other | 2xx p50 | 2xx p99 | 503 p99 | 503 max | client lag p99 | backlog at step end |\n\
                          |---|---|---|---|---|---|---|---|---|---|---|---|---|";

    fn row(&self) -> String {
        let created = self.run.latencies(is_created);
        let shed = self.run.latencies(|a| status(a) == Some(503));
        let failed = self.run.latencies(|a| status(a) == Some(500)).len();
        let other = self.run.outcomes.len() - created.len() - shed.len() - failed;
        let lag: Vec<Duration> = self.run.outcomes.iter().map(|o| o.client_lag).collect();
        format!(
            "| {} | {:.0} | {:.0} | {} | {} | {failed} | {other} | {} | {} | {} | {} | {} | {} |",
            self.factor,
            self.rate,
            self.run.achieved(),
            created.len(),
            shed.len(),
            ms(&created, 0.50),
            ms(&created, 0.99),
            ms(&shed, 0.99),
            ms(&shed, 1.0),
            ms(&lag, 0.99),
            self.backlog,
        )
    }

    /// What the counts do not say: which problems the 503s were, what "other" was, and
    /// whether a step missed an aim.
    fn notes(&self) -> Vec<String> {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for outcome in &self.run.outcomes {
            let kind = match &outcome.answer {
                Answer::Created { .. } => continue,
                Answer::Refused { status, problem } => {
                    format!("{status} {}", problem.as_deref().unwrap_or("(no problem type)"))
                }
                Answer::Unanswered(why) => format!("no answer: {why}"),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        let mut notes: Vec<String> = kinds.into_iter().map(|(kind, n)| format!("{n} × {kind}")).collect();
        let created = self.run.latencies(is_created);
        let shed = self.run.latencies(|a| status(a) == Some(503));
        if self.factor <= 1.0 && sorted(&created).is_some_and(|s| quantile_ms(&s, 0.99) > AIM_2XX_P99_MS) {
            notes.push(format!(
                "MISSED: 2xx p99 above {AIM_2XX_P99_MS} ms at or below capacity"
            ));
        }
        let slow = shed
            .iter()
            .filter(|l| l.as_secs_f64() * 1000.0 > AIM_503_MAX_MS)
            .count();
        if slow > 0 {
            notes.push(format!("MISSED: {slow} 503s took longer than {AIM_503_MAX_MS} ms"));
        }
        notes
    }
}

fn status(answer: &Answer) -> Option<u16> {
    match answer {
        Answer::Refused { status, .. } => Some(*status),
        _ => None,
    }
}

/// The `q` quantile of `samples` as a table cell.
fn ms(samples: &[Duration], q: f64) -> String {
    sorted(samples).map_or_else(|| "–".to_owned(), |s| format!("{:.1} ms", quantile_ms(&s, q)))
}

/// Sends bursts at `rate` for `seconds` and SIGTERM to `pid` halfway through, while writes are
/// in flight and the pipeline has a backlog; reports the backlog then and the time to exit.
async fn sigterm_mid_burst(
    target: &Target,
    pipeline: &Pipeline,
    pid: i32,
    rate: f64,
    seconds: u32,
    first: u64,
) -> anyhow::Result<Run> {
    let signal = async {
        tokio::time::sleep(Duration::from_secs_f64(f64::from(seconds) / 2.0)).await;
        let backlog = pipeline.backlog().await;
        let at = Utc::now();
        terminate(pid)?;
        let exit = wait_exit(pid, EXIT_LIMIT).await;
        anyhow::Ok((backlog, at, exit))
    };
    let (run, signalled) = tokio::join!(open_loop(target, rate, f64::from(seconds), first), signal);
    let (backlog, at, exit) = signalled?;
    let backlog = backlog.map_or_else(|e| format!("cannot tell ({e:#})"), |b| b.to_string());
    let after: Vec<DateTime<Utc>> = run.created().map(|(_, at)| at).filter(|t| *t > at).collect();
    println!(
        "SIGTERM {:.1} s into a burst at {rate:.0}/s, backlog {backlog}: {}; {} creates acknowledged, {} of them after the signal",
        f64::from(seconds) / 2.0,
        match exit {
            Some(took) => format!(
                "exited after {:.1} s (aim ≤ {} s)",
                took.as_secs_f64(),
                AIM_EXIT.as_secs()
            ),
            None => format!("STILL RUNNING {} s after the signal", EXIT_LIMIT.as_secs()),
        },
        run.created().count(),
        after.len()
    );
    Ok(run)
}

fn terminate(pid: i32) -> anyhow::Result<()> {
    // SAFETY: kill(2) with a plain pid and signal number touches no memory of this process.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    anyhow::ensure!(
        sent == 0,
        "cannot send SIGTERM to {pid}: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// How long `pid` took to exit (gone, or a zombie its parent has not reaped yet), or None if
/// it was still running after `limit`.
async fn wait_exit(pid: i32, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let exited = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name, which is in parentheses.
            Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
            Err(_) => true,
        };
        if exited {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// What the relay and the audit role have still to do.
#[derive(PartialEq, Eq)]
pub(crate) struct Backlog {
    /// Outbox rows not yet published (quarantined rows excepted: they never will be).
    undelivered: i64,
    /// task-events rows in the outbox without their audit row yet.
    audit_behind: i64,
    quarantined: i64,
}

impl Backlog {
    fn is_empty(&self) -> bool {
        self.undelivered == 0 && self.audit_behind <= 0
    }
}

impl std::fmt::Display for Backlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} undelivered, audit {} behind",
            self.undelivered, self.audit_behind
        )?;
        if self.quarantined > 0 {
            write!(f, ", {} quarantined", self.quarantined)?;
        }
        Ok(())
    }
}

/// The service's database, read for the pipeline's progress.
pub(crate) struct Pipeline {
    pool: AnyPool,
}

impl Pipeline {
    pub(crate) async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(database_url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open --database-url: {e}"))?;
        Ok(Self { pool })
    }

    async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| anyhow::anyhow!("{sql}: {e}"))?;
        Ok(n)
    }

    async fn backlog(&self) -> anyhow::Result<Backlog> {
        let undelivered = self
            .count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND quarantined_at IS NULL")
            .await?;
        let events = self
            .count("SELECT COUNT(*) FROM outbox WHERE topic = 'task-events' AND quarantined_at IS NULL")
            .await?;
        let audited = self.count("SELECT COUNT(*) FROM audit_log").await?;
        let quarantined = self
            .count("SELECT COUNT(*) FROM outbox WHERE quarantined_at IS NOT NULL")
            .await?;
        Ok(Backlog {
            undelivered,
            audit_behind: events - audited,
            quarantined,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// How long until the backlog was empty, or what was left at `limit`.
    pub(crate) async fn drain(&self, limit: Duration) -> anyhow::Result<Result<Duration, Backlog>> {
        let started = Instant::now();
        loop {
            let backlog = self.backlog().await?;
            if backlog.is_empty() {
                return Ok(Ok(started.elapsed()));
            }
            if started.elapsed() > limit {
                return Ok(Err(backlog));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The ids among `ids` that have no row in `tasks`.
    async fn missing(&self, ids: &[String]) -> anyhow::Result<Vec<String>> {
        let stored: HashSet<String> = sqlx::query_as::<_, (String,)>("SELECT CAST(id AS TEXT) FROM tasks")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        Ok(ids.iter().filter(|id| !stored.contains(*id)).cloned().collect())
    }
}

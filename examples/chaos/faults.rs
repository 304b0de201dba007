//! The fault schedule: spread over the load by its progress (so a slow machine gets the same
//! faults as a fast one), one fault at a time, except the webhook receiver's outage, which runs
//! beside the others. Faults still due when the load ends run before the drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cluster::Cluster;
use crate::database::RunDatabase;
use crate::receiver::Receiver;
use crate::{say, Args};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// kill -9 of a random role process, restarted with the same instance id after a pause.
    Kill,
    BrokerRestart,
    /// SQLite: a writer stall; PostgreSQL: backends terminated (a server restart when asked).
    Database,
    ReceiverOutage,
}

pub struct Injector {
    plan: Vec<(f64, Fault)>,
    rng: StdRng,
    cluster: Arc<Cluster>,
    database: Arc<RunDatabase>,
    receiver: Arc<Receiver>,
    stall: Duration,
    pg_restart: Option<String>,
    outage: Duration,
}

impl Injector {
    pub fn new(
        args: &Args,
        seed: u64,
        cluster: Arc<Cluster>,
        database: Arc<RunDatabase>,
        receiver: Arc<Receiver>,
    ) -> Self {
        Self {
            plan: plan(args),
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
            cluster,
            database,
            receiver,
            stall: Duration::from_secs(args.stall_secs),
            pg_restart: args.pg_restart_command.clone(),
            outage: Duration::from_secs(args.receiver_outage_secs),
        }
    }

    /// Injects every fault of the plan when the load's progress (`done` of `total` writes)
    /// reaches its point; what was done, one line per fault.
    pub async fn run(mut self, done: Arc<AtomicU64>, total: u64) -> Vec<String> {
        let mut report = Vec::new();
        let mut outage = None;
        for (at, fault) in std::mem::take(&mut self.plan) {
            let point = (at * total as f64) as u64;
            while done.load(Ordering::Relaxed) < point {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let line = match fault {
                Fault::ReceiverOutage => {
                    let (receiver, length) = (self.receiver.clone(), self.outage);
                    outage = Some(tokio::spawn(async move { receiver_outage(&receiver, length).await }));
                    continue;
                }
                Fault::Kill => self.kill().await,
                Fault::BrokerRestart => {
                    let pause = Duration::from_millis(self.rng.gen_range(2_000..6_000));
                    match self.cluster.restart_broker(pause).await {
                        Ok(away) => Ok(format!("broker restarted (away {:.1} s)", away.as_secs_f64())),
                        Err(error) => Err(error),
                    }
                }
                Fault::Database => self.database.fault(self.stall, self.pg_restart.as_deref()).await,
            };
            let line = line.unwrap_or_else(|error| format!("{fault:?} FAILED: {error:#}"));
            say(format!("fault at {:.0} % of the load: {line}", at * 100.0));
            report.push(line);
        }
        if let Some(outage) = outage {
            report.push(
                outage
                    .await
                    .unwrap_or_else(|error| format!("receiver outage FAILED: {error}")),
            );
        }
        report
    }

    async fn kill(&mut self) -> anyhow::Result<String> {
        let index = self.cluster.pick(&mut self.rng);
        let pause = Duration::from_millis(self.rng.gen_range(500..3_000));
        self.cluster.kill_and_restart(index, pause).await
    }
}

async fn receiver_outage(receiver: &Receiver, length: Duration) -> String {
    say(format!("webhook receiver down for {} s", length.as_secs()));
    receiver.down().await;
    tokio::time::sleep(length).await;
    match receiver.up().await {
        Ok(()) => {
            say("webhook receiver back");
            format!("webhook receiver down for {} s", length.as_secs())
        }
        Err(error) => format!("webhook receiver outage FAILED to end: {error:#}"),
    }
}

/// When each fault comes, as a fraction of the load: kills evenly from 5 % to 95 %, broker
/// restarts and database faults evenly between them, the receiver outage at 40 %.
fn plan(args: &Args) -> Vec<(f64, Fault)> {
    let spread = |n: usize, from: f64, to: f64| -> Vec<f64> {
        (0..n)
            .map(|i| from + (to - from) * (i as f64 + 0.5) / n as f64)
            .collect()
    };
    let mut plan: Vec<(f64, Fault)> = spread(args.kills, 0.05, 0.95)
        .into_iter()
        .map(|at| (at, Fault::Kill))
        .chain(
            spread(args.broker_restarts, 0.2, 0.8)
                .into_iter()
                .map(|at| (at, Fault::BrokerRestart)),
        )
        .chain(
            spread(args.database_faults, 0.45, 0.65)
                .into_iter()
                .map(|at| (at, Fault::Database)),
        )
        .collect();
    if args.receiver_outage_secs > 0 {
        plan.push((0.4, Fault::ReceiverOutage));
    }
    plan.sort_by(|a, b| a.0.total_cmp(&b.0));
    plan
}

//! The processes of the run: a Tansu broker, and taskstream with each role in a process of its
//! own (APIs, two relays whose lease decides, two schedulers, two recurrence workers, two
//! notifiers, an audit worker). Every child dies with the harness (PR_SET_PDEATHSIG), each
//! keeps its TASKSTREAM_INSTANCE_ID across restarts, and one that exits without being told is
//! restarted and counted.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;

use crate::{load, say, Args, Backend};

/// The ports of the run.
pub struct Ports {
    pub broker: u16,
    pub receiver: u16,
    pub apis: Vec<u16>,
}

impl Ports {
    /// Consecutive ports from `base`, or free ones.
    pub fn new(base: Option<u16>, apis: usize) -> anyhow::Result<Self> {
        let next = |i: u16| -> anyhow::Result<u16> {
            match base {
                Some(base) => Ok(base + i),
                None => Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()),
            }
        };
        Ok(Self {
            broker: next(0)?,
            receiver: next(1)?,
            apis: (0..apis).map(|i| next(2 + i as u16)).collect::<anyhow::Result<_>>()?,
        })
    }
}

/// How to start one process, again after each kill.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
    log: PathBuf,
}

/// One child process and how to start it again.
struct Process {
    spec: Spec,
    child: Option<Child>,
}

impl Process {
    fn new(spec: Spec) -> Self {
        Self { spec, child: None }
    }

    fn start(&mut self) -> anyhow::Result<u32> {
        let log = OpenOptions::new().create(true).append(true).open(&self.spec.log)?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.spec.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = spawn(command)
            .with_context(|| format!("cannot start {} ({})", self.spec.name, self.spec.program.display()))?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// kill -9 and reap; the pid it had.
    fn kill(&mut self) -> Option<u32> {
        let mut child = self.child.take()?;
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        Some(pid)
    }

    /// The status of a process that ended without being told (reaped here).
    fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }
}

/// Starts `command` as a child that dies with the harness. PR_SET_PDEATHSIG fires when the
/// *thread* that forked the child ends, and the runtime's threads come and go (blocking ones
/// after 10 s idle), so every child is forked by one thread that lives as long as the harness.
fn spawn(mut command: Command) -> std::io::Result<Child> {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new().name("spawner".into()).spawn(move || {
            for (mut command, reply) in incoming {
                let _ = reply.send(command.spawn());
            }
        });
        if let Err(error) = thread {
            eprintln!("chaos: cannot start the spawner thread: {error}");
        }
        requests
    });
    let gone = || std::io::Error::other("the spawner thread is gone");
    let (reply, answer) = mpsc::channel();
    spawner.send((command, reply)).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

/// Every process of the run.
pub struct Cluster {
    broker: Mutex<Process>,
    roles: Vec<Mutex<Process>>,
    migrate: Spec,
    api_urls: Vec<String>,
    unexpected_exits: AtomicU32,
    /// Set once the run is over: nothing is started any more.
    stopped: AtomicBool,
}

/// A name, the subcommand, and the pool size on PostgreSQL (a shared server: 100 connections).
const ROLES: [(&str, &[&str], u32); 9] = [
    ("relay-1", &["relay"], 3),
    ("relay-2", &["relay"], 3),
    ("scheduler-1", &["worker", "--role", "scheduler"], 3),
    ("scheduler-2", &["worker", "--role", "scheduler"], 3),
    ("recurrence-1", &["worker", "--role", "recurrence"], 3),
    ("recurrence-2", &["worker", "--role", "recurrence"], 3),
    ("notifier-1", &["worker", "--role", "notifier"], 4),
    ("notifier-2", &["worker", "--role", "notifier"], 4),
    ("audit-1", &["worker", "--role", "audit"], 3),
];
const API_POOL: u32 = 6;

impl Cluster {
    /// The processes of the run, not started yet.
    pub fn new(args: &Args, ports: &Ports, database_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let logs = args.work_dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let broker_dir = args.work_dir.join("broker");
        std::fs::create_dir_all(&broker_dir)?;
        let listener = format!("tcp://127.0.0.1:{}", ports.broker);
        let broker = Spec {
            name: "broker".into(),
            program: args.tansu.clone(),
            args: [
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
                "--storage-engine",
                "sqlite://broker.db",
            ]
            .map(str::to_owned)
            .to_vec(),
            // The group coordinator's decisions (members dropped for a missed heartbeat, a new
            // leader) stay in the run's folder: they explain a group that stops consuming.
            env: vec![(
                "RUST_LOG".to_owned(),
                "error,tansu_broker::coordinator::group=info".to_owned(),
            )],
            dir: broker_dir,
            log: logs.join("broker.log"),
        };
        let common = common_env(args, ports, database_url, prefix);
        let taskstream = |name: &str, subcommand: &[&str], pool: u32, extra: Vec<(String, String)>| {
            let data = args.work_dir.join("data").join(name);
            let mut env = common.clone();
            env.push(("TASKSTREAM_INSTANCE_ID".into(), name.to_owned()));
            env.push(("TASKSTREAM_DATA_DIR".into(), data.display().to_string()));
            if args.backend == Backend::Postgres {
                env.push(("TASKSTREAM_DB_MAX_CONNECTIONS".into(), pool.to_string()));
            }
            env.extend(extra);
            Spec {
                name: name.to_owned(),
                program: args.bin.clone(),
                args: subcommand.iter().map(|s| (*s).to_owned()).collect(),
                env,
                dir: args.work_dir.clone(),
                log: logs.join(format!("{name}.log")),
            }
        };
        let mut roles = Vec::new();
        for (i, port) in ports.apis.iter().enumerate() {
            let listen = vec![("TASKSTREAM_LISTEN".to_owned(), format!("127.0.0.1:{port}"))];
            roles.push(taskstream(&format!("api-{}", i + 1), &["api"], API_POOL, listen));
        }
        for (name, subcommand, pool) in ROLES {
            roles.push(taskstream(name, subcommand, pool, vec![]));
        }
        Ok(Self {
            broker: Mutex::new(Process::new(broker)),
            migrate: taskstream("migrate", &["migrate"], 2, vec![]),
            roles: roles.into_iter().map(|spec| Mutex::new(Process::new(spec))).collect(),
            api_urls: ports.apis.iter().map(|p| format!("http://127.0.0.1:{p}")).collect(),
            unexpected_exits: AtomicU32::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    pub fn api_urls(&self) -> Vec<String> {
        self.api_urls.clone()
    }

    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|p| lock(p).spec.name.clone()).collect()
    }

    pub fn unexpected_exits(&self) -> u32 {
        self.unexpected_exits.load(Ordering::Relaxed)
    }

    /// Starts the broker, migrates the database once, starts every role and waits until the
    /// APIs answer ready.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.start_broker().await?;
        let migrate = tokio::task::spawn_blocking({
            let mut process = Process::new(self.migrate.clone());
            move || -> anyhow::Result<ExitStatus> {
                process.start()?;
                let child = process.child.as_mut().context("migrate")?;
                Ok(child.wait()?)
            }
        })
        .await??;
        anyhow::ensure!(migrate.success(), "taskstream migrate failed: see logs/migrate.log");
        for process in &self.roles {
            lock(process).start()?;
        }
        say(format!("started {}", self.role_names().join(", ")));
        let client = reqwest::Client::new();
        for url in &self.api_urls {
            wait_until(
                &format!("{url}/readyz answering 200"),
                Duration::from_secs(120),
                || async {
                    client
                        .get(format!("{url}/readyz"))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                },
            )
            .await?;
        }
        say("every API answers ready");
        Ok(())
    }

    async fn start_broker(&self) -> anyhow::Result<()> {
        let (log, store) = {
            let broker = lock(&self.broker);
            (broker.spec.log.clone(), broker.spec.dir.join("broker.db"))
        };
        let before = ready_marks(&log);
        anyhow::ensure!(!self.stopped.load(Ordering::Relaxed), "the run is over");
        let pid = lock(&self.broker).start()?;
        wait_until("the broker to print `ready in`", Duration::from_secs(60), || {
            let log = log.clone();
            async move { ready_marks(&log) > before }
        })
        .await?;
        tokio::task::spawn_blocking(move || index_headers(&store)).await??;
        say(format!("broker ready (pid {pid})"));
        Ok(())
    }

    /// Stops the broker (SIGTERM, SIGKILL after 10 s), waits `pause`, starts it again on the
    /// same port and store; how long it was away.
    pub async fn restart_broker(&self, pause: Duration) -> anyhow::Result<Duration> {
        let down = Instant::now();
        // Taken out first, so the supervisor does not take the stop for a crash.
        let running = lock(&self.broker).child.take();
        if let Some(mut child) = running {
            // SAFETY: kill(2) on a child this process owns and has not reaped.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while !matches!(child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        say(format!("broker stopped; restarting in {:.1} s", pause.as_secs_f64()));
        tokio::time::sleep(pause).await;
        self.start_broker().await?;
        Ok(down.elapsed())
    }

    /// kill -9 of the role process `index`, a pause, and a restart with the same instance id.
    pub async fn kill_and_restart(&self, index: usize, pause: Duration) -> anyhow::Result<String> {
        let process = &self.roles[index];
        let (name, pid) = {
            let mut process = lock(process);
            (process.spec.name.clone(), process.kill())
        };
        tokio::time::sleep(pause).await;
        anyhow::ensure!(!self.stopped.load(Ordering::Relaxed), "the run is over");
        let new_pid = lock(process).start()?;
        Ok(format!(
            "kill -9 {name} (pid {}), restarted after {:.1} s as pid {new_pid}",
            pid.map_or("-".into(), |p| p.to_string()),
            pause.as_secs_f64()
        ))
    }

    /// A random role process's index.
    pub fn pick(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.roles.len())
    }

    /// Restarts processes that exited without being told, until aborted.
    pub async fn supervise(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.ensure_running();
        }
    }

    /// Restarts, and counts, every process that is supposed to run and has exited.
    pub fn ensure_running(&self) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        for process in self.roles.iter().chain([&self.broker]) {
            let mut process = lock(process);
            if let Some(status) = process.exited() {
                self.unexpected_exits.fetch_add(1, Ordering::Relaxed);
                say(format!(
                    "{} exited on its own ({status}); restarting it",
                    process.spec.name
                ));
                if let Err(error) = process.start() {
                    say(format!("cannot restart {}: {error:#}", process.spec.name));
                }
            }
        }
    }

    /// kill -9 of everything, for good (the run is over).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        for process in self.roles.iter().chain([&self.broker]) {
            lock(process).kill();
        }
    }
}

/// The environment every taskstream process of the run shares.
fn common_env(args: &Args, ports: &Ports, database_url: &str, prefix: &str) -> Vec<(String, String)> {
    let secret = |bytes: usize| hex::encode((0..bytes).map(|_| rand::random::<u8>()).collect::<Vec<u8>>());
    [
        ("DATABASE_URL", database_url.to_owned()),
        ("TASKSTREAM_JWT_SECRET", load::jwt_secret().to_owned()),
        ("TASKSTREAM_SECRETS_KEY", secret(32)),
        ("KAFKA_BOOTSTRAP_SERVERS", format!("127.0.0.1:{}", ports.broker)),
        ("KAFKA_FETCH_WAIT_MAX_MS", "10".into()),
        ("TASKSTREAM_TOPIC_PREFIX", prefix.to_owned()),
        ("TASKSTREAM_LOG", "warn,taskstream::roles=info".into()),
        ("TASKSTREAM_WEBHOOK_ALLOW", "127.0.0.1/32".into()),
        // A receiver outage of a minute should cost minutes, not the default hours of backoff.
        ("TASKSTREAM_WEBHOOK_MAX_BACKOFF_SECS", "15".into()),
        ("TASKSTREAM_WEBHOOK_BREAKER_COOLDOWN_SECS", "10".into()),
        // The load is a few users making many writes: no user limit should refuse it.
        ("TASKSTREAM_RATE_LIMIT_PER_MINUTE", "10000000".into()),
        ("TASKSTREAM_RATE_LIMIT_BURST", "100000".into()),
        ("TASKSTREAM_QUOTA_OPEN_TASKS", "10000000".into()),
        ("TASKSTREAM_QUOTA_REMINDERS", "10000000".into()),
        ("RUST_BACKTRACE", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(std::iter::once((
        "HOME".to_owned(),
        args.work_dir.display().to_string(),
    )))
    .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The index scripts/lib/common.sh `index_tansu_headers` adds to Tansu 0.6.0's SQLite store:
/// without it every record a fetch returns scans the whole header table (BENCHMARKS.md, "The
/// broker under a backlog"). Tansu has created its tables once it is ready.
fn index_headers(store: &Path) -> anyhow::Result<()> {
    let db = rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("opening the broker's store {}", store.display()))?;
    db.busy_timeout(Duration::from_secs(60))?;
    db.execute_batch("CREATE INDEX IF NOT EXISTS header_topition_offset_id ON header (topition, offset_id)")
        .with_context(|| format!("indexing the record headers in {}", store.display()))?;
    Ok(())
}

/// How many times the broker has said it is ready, from its log.
fn ready_marks(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.matches("ready in").count())
}

/// Polls `probe` every 100 ms until it says yes, at most `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !probe().await {
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

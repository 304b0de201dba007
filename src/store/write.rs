//! The one write path for changes to tasks: a write's statements, its outbox rows and the
//! relay's wake-up belong together, so no caller can commit one without the others.
//!
//! On SQLite every commit is a disk sync (`synchronous=FULL`) and there is one writer anyway,
//! so writes are grouped: one writer task takes every write waiting (up to [`MAX_BATCH`]),
//! runs each inside a savepoint of one transaction and commits them together, with one sync.
//! A write that fails is rolled back to its savepoint alone; its neighbours commit. Each
//! caller is answered after the commit that holds its write. The group runs synchronously on
//! a blocking thread over its own connection ([`SqliteWriter`]), while the task holds the
//! pool's one writer connection so the process's other writers wait as they did before. On
//! PostgreSQL, where commits run side by side and the server groups their WAL flushes
//! itself, each write is its own transaction.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::anyhow;
use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::outbox;
use super::sql::Exec;
use super::sqlite_writer::SqliteWriter;
use super::wake::Wake;
use super::{SqliteSync, Store, WriteError};
use crate::events::Event;
use crate::telemetry::trace::TraceContext;

/// The most writes one group commit holds.
const MAX_BATCH: usize = 256;
/// Writes that may wait for the writer task (the API's admission control bounds them first).
const QUEUE: usize = 4_096;

/// What a write does inside its transaction: it returns its result and the events its change
/// makes (which [`Store::write`] appends to the outbox), or why it must not commit.
pub(super) type Work<T> =
    Box<dyn for<'t> FnOnce(&'t mut dyn Exec) -> BoxFuture<'t, Result<(T, Vec<Event>), WriteError>> + Send>;

/// Runs `work` in `tx` and appends its events to the outbox.
async fn apply<T>(tx: &mut dyn Exec, work: Work<T>) -> Result<T, WriteError> {
    let (value, events) = work(tx).await?;
    outbox::append(tx, &events).await?;
    Ok(value)
}

/// A write waiting for the writer task, its result type erased.
trait Pending: Send {
    /// Runs the write in `tx`.
    fn run<'t>(self: Box<Self>, tx: &'t mut dyn Exec) -> BoxFuture<'t, Ran>;
    /// Answers the caller with `failure` without running the write.
    fn fail(self: Box<Self>, failure: CommitFailure);
}

type Job = Box<dyn Pending>;

/// A job that ran: whether to keep its statements, and how to answer its caller once the
/// commit's outcome is known.
struct Ran {
    keep: bool,
    answer: Reply,
}

/// Answers a caller, given whether the commit that held its write succeeded.
type Reply = Box<dyn FnOnce(Result<(), &CommitFailure>) + Send>;

impl Ran {
    /// Nothing to keep and nobody to answer.
    fn nothing() -> Self {
        Self {
            keep: false,
            answer: Box::new(|_| {}),
        }
    }

    /// `job` is not run: its caller hears `failure`.
    fn failed(job: Job, failure: &CommitFailure) -> Self {
        let failure = failure.clone();
        Self {
            keep: false,
            answer: Box::new(move |_| job.fail(failure)),
        }
    }
}

/// One caller's write.
struct Write<T> {
    work: Work<T>,
    answer: oneshot::Sender<Result<T, WriteError>>,
    /// The write runs in the writer task but belongs to the caller's trace and span.
    trace: Option<TraceContext>,
    span: tracing::Span,
}

impl<T: Send + 'static> Pending for Write<T> {
    fn run<'t>(self: Box<Self>, tx: &'t mut dyn Exec) -> BoxFuture<'t, Ran> {
        let Write {
            work,
            answer,
            trace,
            span,
        } = *self;
        Box::pin(
            async move {
                if answer.is_closed() {
                    // The caller gave up (a request past its deadline): write nothing.
                    return Ran::nothing();
                }
                let result = match trace {
                    Some(trace) => trace.scope(apply(tx, work)).await,
                    None => apply(tx, work).await,
                };
                // A caller that gave up meanwhile is never told, so its write must not stay.
                let keep = result.is_ok() && !answer.is_closed();
                Ran {
                    keep,
                    answer: Box::new(move |commit| {
                        let outcome = match (result, commit) {
                            (Ok(_), Err(failure)) => Err(failure.clone().into_error()),
                            (result, _) => result,
                        };
                        let _ = answer.send(outcome);
                    }),
                }
            }
            .instrument(span),
        )
    }

    fn fail(self: Box<Self>, failure: CommitFailure) {
        let _ = self.answer.send(Err(failure.into_error()));
    }
}

/// Why a group's transaction did not commit, told to every write in it.
#[derive(Debug, Clone)]
struct CommitFailure {
    message: String,
    outage: bool,
}

impl CommitFailure {
    fn new(error: &anyhow::Error) -> Self {
        Self {
            message: format!("{error:#}"),
            outage: super::is_outage(error),
        }
    }

    fn into_error(self) -> WriteError {
        WriteError::Database(if self.outage {
            anyhow::Error::new(super::fault::Unavailable).context(self.message)
        } else {
            anyhow!("{}", self.message)
        })
    }
}

/// The writer task's queue (SQLite).
#[derive(Clone, Debug)]
pub(super) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
    /// Transactions the writer task has run, since start (operators see them as a metric).
    #[cfg_attr(not(test), allow(dead_code))]
    groups: Arc<AtomicU64>,
}

/// Where and how the group writer opens its connection.
#[derive(Debug, Clone)]
pub(super) struct WriterFile {
    pub(super) path: PathBuf,
    pub(super) sync: SqliteSync,
}

impl GroupCommit {
    /// Starts the writer task; it groups writes onto `file` while holding `writer` (the pool
    /// of this process's one SQLite writer connection). It ends when the last handle is dropped.
    pub(super) fn start(writer: AnyPool, file: WriterFile, wake: Wake) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let groups = Arc::new(AtomicU64::new(0));
        tokio::spawn(writer_task(writer, file, wake, queue, groups.clone()));
        Self { jobs, groups }
    }

    async fn submit<T: Send + 'static>(&self, work: Work<T>) -> Result<T, WriteError> {
        let (answer, answered) = oneshot::channel();
        let job = Box::new(Write {
            work,
            answer,
            trace: TraceContext::current(),
            span: tracing::Span::current(),
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| WriteError::Database(anyhow!("the database writer has stopped")))?;
        answered
            .await
            .map_err(|_| WriteError::Database(anyhow!("the database writer stopped before answering")))?
    }
}

impl Store {
    /// Runs `work` as one atomic write with the events it returns appended to the outbox, and
    /// wakes the relays once it has committed. Whatever `work` wrote is kept only when it
    /// returns `Ok`.
    ///
    /// # Errors
    /// What `work` returns, or a database failure (an outage is recognisable by
    /// [`super::is_outage`]).
    pub(super) async fn write<T: Send + 'static>(&self, work: Work<T>) -> Result<T, WriteError> {
        match &self.group {
            Some(group) => group.submit(work).await,
            None => {
                let mut tx = self.writer.begin().await?;
                let value = apply(&mut tx as &mut dyn Exec, work).await?;
                tx.commit().await?;
                self.wake.outbox_written();
                Ok(value)
            }
        }
    }
}

async fn writer_task(
    writer: AnyPool,
    file: WriterFile,
    wake: Wake,
    mut queue: mpsc::Receiver<Job>,
    groups: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut connection: Option<SqliteWriter> = None;
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, asked) = (batch.len(), std::time::Instant::now());
        let jobs = std::mem::take(&mut batch);
        let gate = writer.acquire().await;
        let started = std::time::Instant::now();
        let answers = match gate {
            // The pool's writer connection stays idle in our hands: the process's other
            // writers (consumers, relay, scheduler) wait for it instead of meeting SQLite's
            // busy lock, whose retries sleep.
            Ok(gate) => {
                let (kept, answers) = run_group(connection.take(), &file, jobs).await;
                drop(gate);
                connection = kept;
                answers
            }
            Err(error) => fail_all(
                jobs,
                &CommitFailure::new(&anyhow::Error::new(error).context("take the writer")),
            ),
        };
        crate::telemetry::metrics::group_commit(writes, started - asked, started.elapsed());
        groups.fetch_add(1, Ordering::Relaxed);
        let committed = answers.iter().any(|(kept, _)| *kept);
        if committed {
            wake.outbox_written();
        }
        for (_, answer) in answers {
            answer();
        }
    }
}

/// Runs `jobs` as one group on a blocking thread, opening the connection if there is none;
/// returns the connection for the next group (none after a failure that may have left it
/// unusable) and the answers.
async fn run_group(
    connection: Option<SqliteWriter>,
    file: &WriterFile,
    jobs: Vec<Job>,
) -> (Option<SqliteWriter>, Vec<(bool, Answer)>) {
    let file = file.clone();
    let group = tokio::task::spawn_blocking(move || {
        let mut connection = match connection.map_or_else(|| SqliteWriter::open(&file.path, file.sync), Ok) {
            Ok(connection) => connection,
            Err(error) => return (None, fail_all(jobs, &CommitFailure::new(&error))),
        };
        let answers = commit_group(&mut connection, jobs);
        (Some(connection), answers)
    });
    match group.await {
        Ok(done) => done,
        // A write panicked: its callers' answers are dropped with it (they hear that the
        // writer stopped), and the connection, with its transaction, is closed.
        Err(error) => {
            tracing::error!(error = %error, "a group commit panicked");
            (None, Vec::new())
        }
    }
}

fn fail_all(jobs: Vec<Job>, failure: &CommitFailure) -> Vec<(bool, Answer)> {
    let ran = jobs.into_iter().map(|job| Ran::failed(job, failure)).collect();
    settle(ran, &Err(failure.clone()))
}

/// Runs `jobs` in one transaction and commits it; returns, per job, whether its write is in
/// the commit and how to answer its caller.
fn commit_group(connection: &mut SqliteWriter, jobs: Vec<Job>) -> Vec<(bool, Answer)> {
    // IMMEDIATE takes the write lock at once, so a lock held by another process makes the
    // whole group wait once (the busy timeout) instead of each write in turn.
    if let Err(error) = connection.batch("BEGIN IMMEDIATE") {
        return fail_all(jobs, &CommitFailure::new(&error.context("begin a group commit")));
    }
    let alone = jobs.len() == 1;
    let mut ran = Vec::with_capacity(jobs.len());
    let mut broken: Option<CommitFailure> = None;
    for job in jobs {
        if let Some(failure) = &broken {
            ran.push(Ran::failed(job, failure));
            continue;
        }
        match run_in_savepoint(connection, job, alone) {
            Ok(done) => ran.push(done),
            Err((done, failure)) => {
                ran.push(done);
                broken = Some(failure);
            }
        }
    }
    let commit = match broken {
        Some(failure) => Err(failure),
        // A write alone in its group that is not kept: roll its transaction back.
        None if alone && !ran[0].keep => Ok(()),
        None => connection
            .batch("COMMIT")
            .map_err(|error| CommitFailure::new(&error.context("commit a group"))),
    };
    if connection.in_transaction() {
        if let Err(error) = connection.batch("ROLLBACK") {
            tracing::warn!(error = %format!("{error:#}"), "could not roll back a group");
        }
    }
    settle(ran, &commit)
}

type Answer = Box<dyn FnOnce() + Send>;

fn settle(ran: Vec<Ran>, commit: &Result<(), CommitFailure>) -> Vec<(bool, Answer)> {
    ran.into_iter()
        .map(|Ran { keep, answer }| {
            let kept = keep && commit.is_ok();
            let commit = commit.clone();
            let answer: Answer = Box::new(move || answer(commit.as_ref().map(|_| ())));
            (kept, answer)
        })
        .collect()
}

/// Runs `job` inside a savepoint (none when it is `alone` in its group: then the whole
/// transaction is its own, and rolling back an unkept write is the commit of nothing). An
/// error means the transaction can no longer be trusted.
///
/// A kept write's savepoint is left open rather than released: the savepoints nest, COMMIT
/// keeps them all, and `ROLLBACK TO` names the latest one of that name.
fn run_in_savepoint(connection: &mut SqliteWriter, job: Job, alone: bool) -> Result<Ran, (Ran, CommitFailure)> {
    // The writer's calls complete at once, so the write's future finishes without waiting.
    let run = |connection: &mut SqliteWriter, job: Job| futures_executor::block_on(job.run(connection));
    if alone {
        return Ok(run(connection, job));
    }
    if let Err(error) = connection.batch("SAVEPOINT write") {
        let failure = CommitFailure::new(&error.context("open a savepoint"));
        return Err((Ran::failed(job, &failure), failure));
    }
    let ran = run(connection, job);
    if ran.keep {
        return Ok(ran);
    }
    match connection.batch("ROLLBACK TO SAVEPOINT write") {
        Ok(()) => Ok(ran),
        Err(error) => Err((ran, CommitFailure::new(&error.context("roll back a savepoint")))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::{Connection, Executor};

    use super::super::rows::Bind;
    use super::*;

    async fn sqlite_store(dir: &tempfile::TempDir) -> (Store, String) {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("write.db").display());
        let store = Store::connect(&url, 2).await.expect("open");
        store.migrate().await.expect("migrate");
        (store, url)
    }

    /// Another connection holding SQLite's write lock, so writes queue behind it.
    async fn hold_lock(url: &str) -> sqlx::AnyConnection {
        let mut connection = sqlx::AnyConnection::connect(url).await.expect("connect");
        connection
            .execute("BEGIN IMMEDIATE")
            .await
            .expect("take the write lock");
        connection
    }

    /// A write of lease `name` that is kept only when `keep`.
    fn lease(name: String, keep: bool) -> Work<String> {
        Box::new(move |tx| {
            Box::pin(async move {
                let sql = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'test', '2100-01-01')";
                tx.execute(sql, &[Bind::Text(name.clone())]).await?;
                if keep {
                    Ok((name, Vec::new()))
                } else {
                    Err(WriteError::NotFound)
                }
            })
        })
    }

    async fn leases(store: &Store) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM leases ORDER BY name")
            .fetch_all(&store.reader)
            .await
            .expect("read leases")
    }

    /// Waits until `count` writes wait in the writer's queue.
    async fn queued(store: &Store, count: usize) {
        let jobs = &store.group.as_ref().expect("SQLite groups").jobs;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while jobs.max_capacity() - jobs.capacity() < count {
            assert!(tokio::time::Instant::now() < deadline, "{count} writes never queued");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn groups(store: &Store) -> u64 {
        store
            .group
            .as_ref()
            .expect("SQLite groups")
            .groups
            .load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn writes_waiting_together_commit_together_and_a_failed_one_alone_is_rolled_back() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, url) = sqlite_store(&dir).await;
        let held = hold_lock(&url).await;
        // The first write the writer takes waits for the lock; the other nine queue behind it.
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.write(lease("w00".into(), true)).await }
        });
        queued(&store, 0).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rest: Vec<_> = (1..10)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.write(lease(format!("w{i:02}"), i % 3 != 0)).await })
            })
            .collect();
        queued(&store, 9).await;
        drop(held);

        assert_eq!(first.await.expect("join").expect("first"), "w00");
        for (i, write) in (1..10).zip(rest) {
            match write.await.expect("join") {
                Ok(name) => assert!(i % 3 != 0, "w{i:02} was kept: {name}"),
                Err(WriteError::NotFound) => assert!(i % 3 == 0, "w{i:02} failed"),
                Err(other) => panic!("w{i:02}: {other}"),
            }
        }
        let expected: Vec<String> = (0..10)
            .filter(|i| i % 3 != 0 || *i == 0)
            .map(|i| format!("w{i:02}"))
            .collect();
        assert_eq!(
            leases(&store).await,
            expected,
            "failed writes left nothing, their neighbours stayed"
        );
        assert!(groups(&store) <= 2, "ten writes took {} transactions", groups(&store));
    }

    #[tokio::test]
    async fn a_write_whose_caller_gave_up_before_it_ran_is_not_committed() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, url) = sqlite_store(&dir).await;
        let held = hold_lock(&url).await;
        let blocker = tokio::spawn({
            let store = store.clone();
            async move { store.write(lease("blocker".into(), true)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let abandoned =
            tokio::time::timeout(Duration::from_millis(100), store.write(lease("abandoned".into(), true))).await;
        assert!(abandoned.is_err(), "the write could not finish behind the lock");
        drop(held);
        blocker.await.expect("join").expect("blocker");
        store.write(lease("after".into(), true)).await.expect("after");
        assert_eq!(leases(&store).await, ["after", "blocker"]);
    }
}

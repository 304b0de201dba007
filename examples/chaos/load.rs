//! The load: users of the API creating, changing, completing, reopening and deleting tasks over
//! HTTP, spread over the API processes. Every write is settled — when its answer is lost (a
//! killed API, a timeout, a 503) the harness sends it again (the same Idempotency-Key, the same
//! If-Match) and, if that says the first one went through, reads the task back — and every
//! committed write goes into the ledger. Each task has one writer, the harness, so its versions
//! are known exactly.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::ledger::{Ledger, Reminder};
use crate::receiver::Receiver;
use crate::support::percentiles;
use crate::{say, Args};

/// The HS256 secret the run's processes share; the harness signs its users' tokens with it.
pub fn jwt_secret() -> &'static str {
    "chaos-run-jwt-secret-that-is-long-enough-0123456789"
}

/// How long a write is sent again before it counts as unsettled: longer than any fault lasts.
const SETTLE_WITHIN: Duration = Duration::from_secs(300);

/// The mix of writes, in percent. A change whose pool of tasks is empty becomes a plain create.
const MIX: [(u32, Op); 13] = [
    (18, Op::Create(Shape::Plain)),
    (10, Op::Create(Shape::Reminders)),
    (8, Op::Create(Shape::Series)),
    (14, Op::Change(Action::Update, Kind::Plain)),
    (4, Op::Change(Action::Update, Kind::Series)),
    (8, Op::Change(Action::Complete, Kind::Plain)),
    (18, Op::Change(Action::Complete, Kind::Series)),
    (3, Op::Change(Action::Reopen, Kind::Plain)),
    (3, Op::Change(Action::Reopen, Kind::Series)),
    (4, Op::Change(Action::Delete, Kind::Plain)),
    (4, Op::Change(Action::Delete, Kind::Series)),
    (3, Op::DeleteDone(Kind::Plain)),
    (3, Op::DeleteDone(Kind::Series)),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A task due in a few years.
    Plain,
    /// A task with one or two reminders falling due within a minute; never touched again.
    Reminders,
    /// A repeating task.
    Series,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Update,
    Complete,
    Reopen,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Series,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create(Shape),
    /// An action on a task of the kind: update, complete and delete take open tasks, reopen
    /// completed ones.
    Change(Action, Kind),
    /// Delete a completed task of the kind.
    DeleteDone(Kind),
}

/// A task the harness may write, at the version it is at.
#[derive(Debug, Clone, Copy)]
struct Known {
    id: Uuid,
    version: i64,
}

/// One user's tasks by what may be done with them; a task being written is in none.
#[derive(Default)]
struct Pool {
    open: Vec<Known>,
    done: Vec<Known>,
    series_open: Vec<Known>,
    series_done: Vec<Known>,
    /// Next occurrences the recurrence role should create, and since when.
    awaited: VecDeque<(Uuid, Instant)>,
}

impl Pool {
    fn tasks(&mut self, kind: Kind, open: bool) -> &mut Vec<Known> {
        match (kind, open) {
            (Kind::Plain, true) => &mut self.open,
            (Kind::Plain, false) => &mut self.done,
            (Kind::Series, true) => &mut self.series_open,
            (Kind::Series, false) => &mut self.series_done,
        }
    }

    /// A random task of the pool, taken out of it.
    fn take(&mut self, kind: Kind, open: bool, rng: &mut impl Rng) -> Option<Known> {
        let tasks = self.tasks(kind, open);
        (!tasks.is_empty()).then(|| tasks.swap_remove(rng.gen_range(0..tasks.len())))
    }
}

struct User {
    name: String,
    token: String,
    pool: Mutex<Pool>,
}

/// A write chosen for a user, with the task it acts on.
enum Write {
    Create(Shape),
    Change(Action, Kind, Known),
}

impl User {
    fn choose(&self, rng: &mut impl Rng) -> Write {
        let mut roll = rng.gen_range(0..100);
        let op = MIX
            .iter()
            .find(|(weight, _)| {
                let hit = roll < *weight;
                roll = roll.saturating_sub(*weight);
                hit
            })
            .map_or(Op::Create(Shape::Plain), |(_, op)| *op);
        let mut pool = lock(&self.pool);
        let taken = match op {
            Op::Create(shape) => return Write::Create(shape),
            Op::Change(action, kind) => pool
                .take(kind, action != Action::Reopen, rng)
                .map(|task| Write::Change(action, kind, task)),
            Op::DeleteDone(kind) => pool
                .take(kind, false, rng)
                .map(|task| Write::Change(Action::Delete, kind, task)),
        };
        taken.unwrap_or(Write::Create(Shape::Plain))
    }

    fn put_back(&self, kind: Kind, open: bool, task: Known) {
        lock(&self.pool).tasks(kind, open).push(task);
    }
}

/// How a write was answered in the end.
enum Answer {
    /// 2xx, with the body (null for 204) and whether it replays an earlier attempt's answer.
    Done(Value, bool),
    /// 412: the task is at another version.
    Stale,
    /// 404.
    Gone,
    /// Another 4xx: the harness asked for something wrong.
    Refused(StatusCode, String),
}

/// Whether an earlier attempt of a write may have committed.
#[derive(Debug, Default, Clone, Copy)]
struct Doubt {
    /// No answer came (connection lost, timeout).
    unanswered: bool,
    /// A 5xx came.
    failed: bool,
}

impl Doubt {
    fn any(self) -> bool {
        self.unanswered || self.failed
    }
}

#[derive(Default)]
struct Stats {
    committed: AtomicU64,
    settled_by_reading: AtomicU64,
    committed_despite_5xx: AtomicU64,
    unanswered: AtomicU64,
    failed: AtomicU64,
    throttled: AtomicU64,
    problems: Mutex<Vec<String>>,
    latencies: Mutex<Vec<Duration>>,
}

pub struct Load {
    client: reqwest::Client,
    apis: Vec<String>,
    next_api: AtomicUsize,
    users: Vec<Arc<User>>,
    ledger: Arc<Ledger>,
    operations: u64,
    rate: u32,
    concurrency: usize,
    done: Arc<AtomicU64>,
    stats: Stats,
}

impl Load {
    /// The users, each with a token and a webhook at `receiver`.
    ///
    /// # Errors
    /// When a user's webhook cannot be set within a minute.
    pub async fn new(args: &Args, apis: Vec<String>, ledger: Arc<Ledger>, receiver: &Receiver) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(args.concurrency)
            .build()?;
        let auth = taskstream::auth::Auth::new(&taskstream::config::Secret::new(jwt_secret()));
        let mut load = Self {
            client,
            apis,
            next_api: AtomicUsize::new(0),
            users: Vec::new(),
            ledger,
            operations: args.operations,
            rate: args.rate.max(1),
            concurrency: args.concurrency.max(1),
            done: Arc::default(),
            stats: Stats::default(),
        };
        for i in 0..args.users {
            let name = format!("chaos-user-{i}");
            let user = taskstream::domain::UserId::parse(&name).map_err(|e| anyhow::anyhow!(e.message))?;
            let token = auth.issue(&user, Duration::from_secs(72 * 3600))?;
            let body = json!({ "url": receiver.url(&name) });
            let answer = load
                .send_within(Duration::from_secs(60), |request| {
                    request(Method::PUT, "/api/v1/webhook").bearer_auth(&token).json(&body)
                })
                .await;
            let Some((Answer::Done(webhook, _), _)) = answer else {
                anyhow::bail!("cannot set the webhook of {name}");
            };
            let secret = webhook["secret"].as_str().context("PUT /webhook gave no secret")?;
            receiver.set_secret(&name, secret);
            load.users.push(Arc::new(User {
                name,
                token,
                pool: Mutex::default(),
            }));
        }
        say(format!("{} users with a webhook each", load.users.len()));
        Ok(load)
    }

    /// Writes finished so far (the fault schedule follows it).
    pub fn progress(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }

    /// Makes every write, at most `rate` a second and `concurrency` at once.
    pub async fn run(self: Arc<Self>, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let interval = Duration::from_secs_f64(1.0 / f64::from(self.rate));
        let start = tokio::time::Instant::now();
        let reporter = tokio::spawn(self.clone().report());
        for i in 0..self.operations {
            tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let user = self.users[rng.gen_range(0..self.users.len())].clone();
            let write = user.choose(&mut rng);
            let write_seed = rng.gen();
            let load = self.clone();
            tokio::spawn(async move {
                load.collect_next_occurrences(&user).await;
                load.perform(&user, write, StdRng::seed_from_u64(write_seed)).await;
                load.done.fetch_add(1, Ordering::Relaxed);
                drop(permit);
            });
        }
        let _ = permits
            .acquire_many(u32::try_from(self.concurrency).unwrap_or(u32::MAX))
            .await;
        reporter.abort();
    }

    async fn report(self: Arc<Self>) {
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(15)).await;
            let done = self.done.load(Ordering::Relaxed);
            say(format!(
                "load: {done}/{} writes ({:.0}/s lately); answers lost {}, 5xx {}, 429 {}; problems {}",
                self.operations,
                (done - last) as f64 / 15.0,
                self.stats.unanswered.load(Ordering::Relaxed),
                self.stats.failed.load(Ordering::Relaxed),
                self.stats.throttled.load(Ordering::Relaxed),
                lock(&self.stats.problems).len(),
            ));
            last = done;
        }
    }

    async fn perform(&self, user: &User, write: Write, mut rng: StdRng) {
        let started = Instant::now();
        let committed = match write {
            Write::Create(shape) => self.create(user, shape, &mut rng).await,
            Write::Change(action, kind, task) => self.change(user, action, kind, task, &mut rng).await,
        };
        if committed {
            self.stats.committed.fetch_add(1, Ordering::Relaxed);
            lock(&self.stats.latencies).push(started.elapsed());
        }
    }

    async fn create(&self, user: &User, shape: Shape, rng: &mut StdRng) -> bool {
        let (body, reminders) = new_task(shape, &user.name, rng);
        let key = Uuid::new_v4().to_string();
        let answer = self
            .send(|request| {
                request(Method::POST, "/api/v1/tasks")
                    .bearer_auth(&user.token)
                    .header("Idempotency-Key", &key)
                    .json(&body)
            })
            .await;
        let view = match answer {
            Some((Answer::Done(view, replayed), doubt)) => {
                if replayed && doubt.failed {
                    self.stats.committed_despite_5xx.fetch_add(1, Ordering::Relaxed);
                }
                view
            }
            other => {
                self.problem(format!("create for {}: {}", user.name, describe(other.as_ref())));
                return false;
            }
        };
        let Some(id) = view["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()) else {
            self.problem(format!("create for {} answered without an id: {view}", user.name));
            return false;
        };
        self.ledger.committed(id, view["version"].as_i64().unwrap_or(0));
        for (index, fire_at) in reminders {
            self.ledger.reminder(Reminder {
                user: user.name.clone(),
                task: id,
                index,
                fire_at,
            });
        }
        let task = Known { id, version: 1 };
        match shape {
            Shape::Plain => user.put_back(Kind::Plain, true, task),
            Shape::Series => user.put_back(Kind::Series, true, task),
            Shape::Reminders => {} // never touched again: its reminders must fire as asked
        }
        true
    }

    async fn change(&self, user: &User, action: Action, kind: Kind, task: Known, rng: &mut StdRng) -> bool {
        let path = format!("/api/v1/tasks/{}", task.id);
        let (method, path, body) = match action {
            Action::Update => (Method::PATCH, path, Some(edit(kind, &user.name, rng))),
            Action::Complete => (Method::POST, format!("{path}/complete"), None),
            Action::Reopen => (Method::POST, format!("{path}/reopen"), None),
            Action::Delete => (Method::DELETE, path, None),
        };
        let if_match = format!("\"{}\"", task.version);
        let answer = self
            .send(|request| {
                let request = request(method.clone(), &path)
                    .bearer_auth(&user.token)
                    .header("If-Match", &if_match);
                match &body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await;
        let next_version = task.version + 1;
        let what = format!("{action:?} of {} v{} for {}", task.id, task.version, user.name);
        let view = match answer {
            Some((Answer::Done(view, _), _)) => view,
            Some((Answer::Stale | Answer::Gone, doubt)) if doubt.any() => {
                // An earlier attempt may have gone through: the task tells.
                let Some(view) = self.settle_by_reading(user, task.id, action, next_version, &what).await else {
                    return false;
                };
                self.stats.settled_by_reading.fetch_add(1, Ordering::Relaxed);
                if doubt.failed {
                    self.stats.committed_despite_5xx.fetch_add(1, Ordering::Relaxed);
                }
                view
            }
            other => {
                self.problem(format!("{what}: {}", describe(other.as_ref())));
                return false;
            }
        };
        let version = if action == Action::Delete {
            next_version
        } else {
            view["version"].as_i64().unwrap_or(0)
        };
        if version != next_version {
            self.problem(format!("{what}: answered version {version}, expected {next_version}"));
            return false;
        }
        self.ledger.committed(task.id, version);
        let task = Known { id: task.id, version };
        match action {
            Action::Update | Action::Reopen => user.put_back(kind, true, task),
            Action::Complete => {
                if kind == Kind::Series {
                    self.expect_next_occurrence(user, &view);
                }
                user.put_back(kind, false, task);
            }
            Action::Delete => {}
        }
        true
    }

    /// After a lost answer and a 412/404 on the retry: the task at `version` (or gone, for a
    /// deletion) means the lost attempt committed.
    async fn settle_by_reading(
        &self,
        user: &User,
        id: Uuid,
        action: Action,
        version: i64,
        what: &str,
    ) -> Option<Value> {
        let answer = self
            .send(|request| request(Method::GET, &format!("/api/v1/tasks/{id}")).bearer_auth(&user.token))
            .await;
        match answer {
            Some((Answer::Gone, _)) if action == Action::Delete => Some(Value::Null),
            Some((Answer::Done(view, _), _)) if view["version"].as_i64() == Some(version) => Some(view),
            other => {
                self.problem(format!(
                    "{what}: after a lost answer the task reads {}",
                    describe(other.as_ref())
                ));
                None
            }
        }
    }

    /// Records the next occurrence a completed one (`view`) asks for, to be collected once made
    /// (once: completing it again after a reopen asks for the same one).
    fn expect_next_occurrence(&self, user: &User, view: &Value) {
        let series = view["series_id"].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let (Some(series), Some(index)) = (series, view["occurrence"].as_i64()) else {
            self.problem(format!("a completed occurrence without its series: {view}"));
            return;
        };
        let due = view["due_at"].as_str().and_then(taskstream::time::parse);
        let (next, first) = self.ledger.completed_occurrence(series, index, due);
        if first {
            lock(&user.pool).awaited.push_back((next, Instant::now()));
        }
    }

    /// Takes next occurrences the recurrence role has made into the user's pool (a few per write).
    async fn collect_next_occurrences(&self, user: &User) {
        let ready: Vec<(Uuid, Instant)> = {
            let mut pool = lock(&user.pool);
            let mut ready = Vec::new();
            while ready.len() < 3
                && pool
                    .awaited
                    .front()
                    .is_some_and(|(_, at)| at.elapsed() > Duration::from_secs(1))
            {
                ready.extend(pool.awaited.pop_front());
            }
            ready
        };
        for (id, since) in ready {
            let url = format!("{}/api/v1/tasks/{id}", self.api());
            let response = self.client.get(url).bearer_auth(&user.token).send().await;
            let view = match response {
                Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
                _ => None,
            };
            match view.and_then(|v| v["version"].as_i64()) {
                Some(version) => user.put_back(Kind::Series, true, Known { id, version }),
                None => lock(&user.pool).awaited.push_back((id, since)),
            }
        }
    }

    /// The next API, round robin.
    fn api(&self) -> &str {
        &self.apis[self.next_api.fetch_add(1, Ordering::Relaxed) % self.apis.len()]
    }

    async fn send<F>(&self, build: F) -> Option<(Answer, Doubt)>
    where
        F: Fn(&dyn Fn(Method, &str) -> RequestBuilder) -> RequestBuilder,
    {
        self.send_within(SETTLE_WITHIN, build).await
    }

    /// Sends a request (to the next API each time) until it is answered for good: 2xx, 404,
    /// 412 or another 4xx. Lost answers, 5xx, 409 (the same Idempotency-Key in flight) and 429
    /// are sent again after a pause. `None` when `within` runs out first.
    async fn send_within<F>(&self, within: Duration, build: F) -> Option<(Answer, Doubt)>
    where
        F: Fn(&dyn Fn(Method, &str) -> RequestBuilder) -> RequestBuilder,
    {
        let deadline = Instant::now() + within;
        let mut doubt = Doubt::default();
        let mut pause = Duration::from_millis(100);
        while Instant::now() < deadline {
            let api = self.api().to_owned();
            let request = |method: Method, path: &str| self.client.request(method, format!("{api}{path}"));
            let response = build(&request).send().await;
            let mut wait = pause;
            match response {
                Ok(response) if response.status().is_success() => {
                    let replayed = response.headers().contains_key("idempotent-replayed");
                    let empty = response.status() == StatusCode::NO_CONTENT;
                    match response.json::<Value>().await {
                        Ok(view) => return Some((Answer::Done(view, replayed), doubt)),
                        Err(_) if empty => return Some((Answer::Done(Value::Null, replayed), doubt)),
                        Err(_) => {
                            doubt.unanswered = true;
                            self.stats.unanswered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Ok(response) => match response.status() {
                    StatusCode::PRECONDITION_FAILED => return Some((Answer::Stale, doubt)),
                    StatusCode::NOT_FOUND => return Some((Answer::Gone, doubt)),
                    StatusCode::TOO_MANY_REQUESTS => {
                        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                        wait = retry_after(&response).unwrap_or(pause);
                    }
                    StatusCode::CONFLICT => {}
                    status if status.is_server_error() => {
                        doubt.failed = true;
                        self.stats.failed.fetch_add(1, Ordering::Relaxed);
                        wait = retry_after(&response).unwrap_or(pause).min(Duration::from_secs(2));
                    }
                    status => {
                        let text = response.text().await.unwrap_or_default();
                        return Some((Answer::Refused(status, text), doubt));
                    }
                },
                Err(_) => {
                    doubt.unanswered = true;
                    self.stats.unanswered.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(wait).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
        None
    }

    fn problem(&self, what: String) {
        lock(&self.stats.problems).push(what);
    }

    /// Writes that went wrong on the harness's side of the API: refused, never settled, or
    /// answered against the harness's own record of the task.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.stats.problems).clone()
    }

    pub fn summary(&self, took: Duration) -> String {
        let s = &self.stats;
        let n = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let done = n(&self.done);
        format!(
            "load: {done} writes in {:.0} s = {:.1}/s (asked at most {}/s, {} at once) by {} users over {} APIs; \
             committed {}, of them settled by reading the task back after a lost answer {}, answered 5xx but committed {}; \
             sent again after: no answer {}, 5xx {}, 429 {}; write latency with retries {}",
            took.as_secs_f64(),
            done as f64 / took.as_secs_f64().max(0.001),
            self.rate,
            self.concurrency,
            self.users.len(),
            self.apis.len(),
            n(&s.committed),
            n(&s.settled_by_reading),
            n(&s.committed_despite_5xx),
            n(&s.unanswered),
            n(&s.failed),
            n(&s.throttled),
            percentiles(&lock(&s.latencies)),
        )
    }
}

fn describe(answer: Option<&(Answer, Doubt)>) -> String {
    match answer {
        None => format!("not settled within {SETTLE_WITHIN:?}"),
        Some((Answer::Done(view, _), _)) => format!("2xx {view}"),
        Some((Answer::Stale, doubt)) => format!("412 ({doubt:?})"),
        Some((Answer::Gone, doubt)) => format!("404 ({doubt:?})"),
        Some((Answer::Refused(status, text), _)) => format!("{status} {text}"),
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response.headers().get("retry-after")?.to_str().ok()?.parse().ok()?;
    Some(Duration::from_secs(secs.clamp(1, 5)))
}

const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
const RULES: [&str; 4] = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=DAILY;INTERVAL=2",
];
const ZONES: [&str; 3] = ["UTC", "Europe/Berlin", "America/New_York"];

/// The body of a new task, and the reminders it asks for (index, moment).
fn new_task(shape: Shape, user: &str, rng: &mut impl Rng) -> (Value, Vec<(u32, DateTime<Utc>)>) {
    let serial: u32 = rng.gen();
    let title = format!("{user} task {serial}");
    let priority = PRIORITIES[rng.gen_range(0..PRIORITIES.len())];
    let now = Utc::now()
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap_or_else(|_| Utc::now());
    match shape {
        Shape::Plain => {
            let due = now + TimeDelta::days(rng.gen_range(400..2000));
            let body = json!({
                "title": title, "description": "chaos load", "priority": priority,
                "tags": ["chaos"], "due_at": taskstream::time::format(due),
            });
            (body, Vec::new())
        }
        Shape::Reminders => {
            // Due within the run; the second reminder is an offset before the due time.
            let first = now + TimeDelta::seconds(rng.gen_range(5..45));
            let due = first + TimeDelta::seconds(60);
            let mut reminders = vec![taskstream::time::format(first)];
            let mut asked = vec![(0, first)];
            if rng.gen_bool(0.5) {
                reminders.push("-PT30S".to_owned());
                asked.push((1, due - TimeDelta::seconds(30)));
            }
            let body = json!({
                "title": title, "priority": priority, "due_at": taskstream::time::format(due),
                "reminders": reminders,
            });
            (body, asked)
        }
        Shape::Series => {
            let rule = RULES[rng.gen_range(0..RULES.len())];
            let due = (now + TimeDelta::days(rng.gen_range(1..30)))
                .duration_trunc(TimeDelta::days(1))
                .unwrap_or(now)
                + TimeDelta::hours(9);
            let mode = if rule == "FREQ=DAILY" && rng.gen_bool(0.25) {
                "completion"
            } else {
                "due"
            };
            let body = json!({
                "title": title, "priority": priority, "due_at": taskstream::time::format(due),
                "time_zone": ZONES[rng.gen_range(0..ZONES.len())], "recurrence": rule,
                "recurrence_mode": mode,
            });
            (body, Vec::new())
        }
    }
}

/// A PATCH body that changes the task (its title carries a fresh number).
fn edit(kind: Kind, user: &str, rng: &mut impl Rng) -> Value {
    let title = format!("{user} task {} edited", rng.gen::<u32>());
    match kind {
        Kind::Plain => json!({ "title": title, "priority": PRIORITIES[rng.gen_range(0..PRIORITIES.len())] }),
        Kind::Series => json!({ "title": title, "description": format!("edited {}", rng.gen::<u16>()) }),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

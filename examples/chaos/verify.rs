//! The checks: what the harness knows was committed against what the pipeline did.
//!
//! - every change has exactly one event id on task-events, in version order per task;
//! - the audit history of every task has one row per change;
//! - every reminder asked for was delivered exactly once (one delivery id at the receiver),
//!   none before its moment;
//! - every completion of a repeating occurrence led to exactly one next occurrence;
//! - the dead-letter topics hold the injected poison and nothing else.
//!
//! A missing effect counts as lost, an extra one (a second event id for a change, a second
//! delivery id for a reminder, a second next occurrence, an effect nobody asked for) as
//! doubled. The same record or call arriving twice (at-least-once redelivery, absorbed by
//! inboxes and receivers) is counted apart, not as doubled.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use taskstream::events::{Event, EventData};
use uuid::Uuid;

use crate::database::RunDatabase;
use crate::ledger::Expected;
use crate::receiver::{Call, Receiver};
use crate::support::percentiles;
use crate::topics::{Broker, Poison, Record, POISON_KEY, TOPICS};

/// Everything the checks look at, gathered once the pipeline has drained.
pub struct Evidence {
    expected: Expected,
    events: Vec<Record>,
    dead_letters: Vec<Record>,
    poison: Vec<Poison>,
    calls: Vec<Call>,
    malformed_calls: u64,
    /// Audit rows per task.
    audit: HashMap<Uuid, i64>,
    /// Reminder rows' states by reminder id.
    reminder_states: HashMap<String, String>,
    /// Webhook deliveries per state.
    delivery_states: Vec<(String, i64)>,
    quarantined: i64,
    load_problems: Vec<String>,
}

impl Evidence {
    /// # Errors
    /// When a topic or the database cannot be read.
    pub async fn gather(
        expected: Expected,
        database: &RunDatabase,
        broker: &Broker,
        poison: &[Poison],
        receiver: &Receiver,
        load_problems: Vec<String>,
    ) -> anyhow::Result<Self> {
        let events = broker.read(&broker.name("task-events")).await?;
        let mut dead_letters = Vec::new();
        for topic in TOPICS {
            dead_letters.extend(broker.read(&format!("{}.dlq", broker.name(topic))).await?);
        }
        let audit = database
            .pairs("SELECT task_id, COUNT(*) FROM audit_log GROUP BY task_id")
            .await?
            .into_iter()
            .map(|(task, n)| Ok((Uuid::parse_str(&task).context("audit task id")?, n)))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            expected,
            events,
            dead_letters,
            poison: poison.to_vec(),
            calls: receiver.calls(),
            malformed_calls: receiver.malformed(),
            audit,
            reminder_states: database
                .texts("SELECT id, state FROM reminder_schedule")
                .await?
                .into_iter()
                .collect(),
            delivery_states: database
                .pairs("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state")
                .await?,
            quarantined: database
                .count("SELECT COUNT(*) FROM outbox WHERE quarantined_at IS NOT NULL")
                .await?,
            load_problems,
        })
    }
}

/// What the checks found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub lost: u64,
    pub doubled: u64,
    /// Anything else wrong: order, early reminders, bad signatures, unexpected parked records,
    /// leftovers, writes the harness could not settle.
    pub violations: u64,
    pub lines: Vec<String>,
    totals: String,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.doubled == 0 && self.violations == 0
    }

    pub fn result_line(&self) -> String {
        format!(
            "lost = {}, doubled = {} ({}; {} other violations)",
            self.lost, self.doubled, self.totals, self.violations
        )
    }

    fn add(&mut self, tally: Tally) {
        self.lost += tally.lost;
        self.doubled += tally.doubled;
        self.violations += tally.violations;
        let verdict = if tally.lost + tally.doubled + tally.violations == 0 {
            "ok"
        } else {
            "FAILED"
        };
        self.lines.push(format!("check {verdict}: {}", tally.line));
        self.lines
            .extend(tally.examples.into_iter().take(8).map(|e| format!("    e.g. {e}")));
    }
}

/// One check's counts.
#[derive(Debug, Default)]
struct Tally {
    lost: u64,
    doubled: u64,
    violations: u64,
    line: String,
    examples: Vec<String>,
}

pub fn judge(evidence: &Evidence) -> Verdict {
    let mut verdict = Verdict::default();
    let log = EventLog::read(&evidence.events);
    let changes = evidence.expected.changes();
    verdict.add(events(&changes, &log));
    verdict.add(audit(&changes, &evidence.audit));
    verdict.add(next_occurrences(&evidence.expected, &log));
    let (reminders, repeated) = reminders(evidence);
    verdict.add(reminders);
    verdict.add(dead_letters(&evidence.dead_letters, &evidence.poison));
    verdict.add(leftovers(evidence));
    verdict.add(load(&evidence.load_problems));
    verdict.totals = format!(
        "checked {} changes of {} tasks, {} reminders, {} next occurrences, {} poison records; \
         absorbed {} duplicate records and {repeated} repeated webhook calls",
        changes.values().map(BTreeSet::len).sum::<usize>(),
        changes.len(),
        evidence.expected.reminders.len(),
        evidence.expected.next.len(),
        evidence.poison.len(),
        log.copies,
    );
    verdict
}

/// task-events decoded: the first record of each event id, in partition order.
struct EventLog {
    events: Vec<Seen>,
    /// Records that repeat an event id already seen.
    copies: u64,
    undecodable: Vec<String>,
}

struct Seen {
    event_id: Uuid,
    task: Uuid,
    version: i64,
    /// For task.created: the series and the occurrence's position in it.
    occurrence: Option<(Uuid, i64)>,
}

impl EventLog {
    fn read(records: &[Record]) -> Self {
        let mut log = Self {
            events: Vec::new(),
            copies: 0,
            undecodable: Vec::new(),
        };
        let mut seen = HashSet::new();
        for record in records.iter().filter(|r| !r.key.starts_with(POISON_KEY)) {
            let event = match Event::decode(&record.payload) {
                Ok(event) => event,
                Err(error) => {
                    log.undecodable
                        .push(format!("{}@{}: {error}", record.partition, record.offset));
                    continue;
                }
            };
            if !seen.insert(event.header.event_id) {
                log.copies += 1;
                continue;
            }
            let occurrence = match &event.data {
                EventData::TaskCreated(created) => Some((created.task.series_id, created.task.occurrence_index)),
                _ => None,
            };
            log.events.push(Seen {
                event_id: event.header.event_id,
                task: event.header.task_id,
                version: event.header.task_version,
                occurrence,
            });
        }
        log
    }
}

fn events(changes: &HashMap<Uuid, BTreeSet<i64>>, log: &EventLog) -> Tally {
    let mut tally = Tally::default();
    let mut ids: HashMap<(Uuid, i64), Vec<Uuid>> = HashMap::new();
    let mut order: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for seen in &log.events {
        ids.entry((seen.task, seen.version)).or_default().push(seen.event_id);
        order.entry(seen.task).or_default().push(seen.version);
    }
    for (task, versions) in changes {
        for version in versions {
            match ids.get(&(*task, *version)).map_or(0, Vec::len) {
                0 => {
                    tally.lost += 1;
                    tally
                        .examples
                        .push(format!("no event for task {task} version {version}"));
                }
                1 => {}
                n => {
                    tally.doubled += n as u64 - 1;
                    tally
                        .examples
                        .push(format!("{n} event ids for task {task} version {version}"));
                }
            }
        }
    }
    for ((task, version), events) in &ids {
        if !changes.get(task).is_some_and(|v| v.contains(version)) {
            tally.doubled += events.len() as u64;
            tally.examples.push(format!(
                "an event for task {task} version {version}, a change nobody made"
            ));
        }
    }
    let mut disordered = 0;
    for (task, versions) in &order {
        if versions.windows(2).any(|w| w[0] >= w[1]) {
            disordered += 1;
            tally
                .examples
                .push(format!("task {task}: versions in the order {versions:?}"));
        }
    }
    tally.violations += disordered + log.undecodable.len() as u64;
    tally
        .examples
        .extend(log.undecodable.iter().map(|e| format!("undecodable: {e}")));
    tally.line = format!(
        "task-events: {} changes, {} with exactly one event id; missing {}, doubled {}, out of version order {} tasks, undecodable {}; {} duplicate records (same event id, at-least-once)",
        changes.values().map(BTreeSet::len).sum::<usize>(),
        changes
            .iter()
            .flat_map(|(t, vs)| vs.iter().map(move |v| (*t, *v)))
            .filter(|k| ids.get(k).is_some_and(|e| e.len() == 1))
            .count(),
        tally.lost,
        tally.doubled,
        disordered,
        log.undecodable.len(),
        log.copies,
    );
    tally
}

fn audit(changes: &HashMap<Uuid, BTreeSet<i64>>, audit: &HashMap<Uuid, i64>) -> Tally {
    let mut tally = Tally::default();
    let mut matching = 0;
    for (task, versions) in changes {
        let want = versions.len() as i64;
        let have = audit.get(task).copied().unwrap_or(0);
        if have == want {
            matching += 1;
        } else if have < want {
            tally.lost += (want - have) as u64;
        } else {
            tally.doubled += (have - want) as u64;
        }
        if have != want {
            tally
                .examples
                .push(format!("task {task}: {have} audit rows for {want} changes"));
        }
    }
    for (task, have) in audit.iter().filter(|(task, _)| !changes.contains_key(task)) {
        tally.doubled += *have as u64;
        tally
            .examples
            .push(format!("task {task}: {have} audit rows, no change made"));
    }
    tally.line = format!(
        "audit: {} tasks, history count = change count for {matching}; rows missing {}, rows extra {}",
        changes.len(),
        tally.lost,
        tally.doubled
    );
    tally
}

fn next_occurrences(expected: &Expected, log: &EventLog) -> Tally {
    let mut tally = Tally::default();
    let mut made: HashMap<(Uuid, i64), BTreeSet<Uuid>> = HashMap::new();
    for seen in &log.events {
        if let Some((series, index)) = seen.occurrence.filter(|(_, index)| *index > 1) {
            made.entry((series, index)).or_default().insert(seen.task);
        }
    }
    let mut asked = HashSet::new();
    let mut again = 0;
    for (id, next) in &expected.next {
        asked.insert((next.series, next.index));
        again += next.completions.saturating_sub(1);
        let tasks = made.get(&(next.series, next.index));
        if !tasks.is_some_and(|t| t.contains(id)) {
            tally.lost += 1;
            tally.examples.push(format!(
                "no occurrence {} of series {} (expected task {id})",
                next.index, next.series
            ));
        }
        let extra = tasks.map_or(0, |t| t.iter().filter(|t| *t != id).count());
        if extra > 0 {
            tally.doubled += extra as u64;
            tally.examples.push(format!(
                "occurrence {} of series {}: tasks {tasks:?}",
                next.index, next.series
            ));
        }
    }
    for ((series, index), tasks) in made.iter().filter(|(key, _)| !asked.contains(*key)) {
        tally.doubled += tasks.len() as u64;
        tally.examples.push(format!(
            "occurrence {index} of series {series} made ({tasks:?}) without a completion asking for it"
        ));
    }
    tally.line = format!(
        "recurrence: {} completions of repeating occurrences ({again} of them completions again after a reopen), {} next occurrences expected; missing {}, extra {}",
        expected.next.values().map(|n| u64::from(n.completions)).sum::<u64>(),
        expected.next.len(),
        tally.lost,
        tally.doubled
    );
    tally
}

/// The reminders check, and how many calls repeated a delivery id already received.
fn reminders(evidence: &Evidence) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut calls: HashMap<&str, Vec<&Call>> = HashMap::new();
    for call in &evidence.calls {
        calls.entry(call.delivery.as_str()).or_default().push(call);
    }
    // Delivery ids received per reminder (task and index): more than one is a doubled reminder.
    let mut per_reminder: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for id in calls.keys() {
        let mut parts = id.splitn(3, ':');
        let (task, index) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        per_reminder
            .entry((task.to_owned(), index.to_owned()))
            .or_default()
            .push(id);
    }
    let mut expected_ids = HashSet::new();
    let (mut early, mut misdirected, mut lateness) = (0, 0, Vec::new());
    for reminder in &evidence.expected.reminders {
        let id = reminder.id();
        let key = (reminder.task.to_string(), reminder.index.to_string());
        match calls.get(id.as_str()) {
            None => {
                tally.lost += 1;
                let state = evidence.reminder_states.get(&id).map_or("no row", String::as_str);
                tally
                    .examples
                    .push(format!("reminder {id} never delivered (state {state})"));
            }
            Some(received) => {
                let first = received.iter().map(|c| c.received_at).min().unwrap_or(reminder.fire_at);
                lateness.push((first - reminder.fire_at).to_std().unwrap_or(Duration::ZERO));
                for call in received.iter().filter(|c| c.user != reminder.user) {
                    misdirected += 1;
                    tally.examples.push(format!(
                        "reminder {id} of {} called the webhook of {}",
                        reminder.user, call.user
                    ));
                }
                for call in received.iter().filter(|c| c.received_at < reminder.fire_at) {
                    early += 1;
                    tally.examples.push(format!(
                        "reminder {id} delivered at {}, before its moment",
                        call.received_at
                    ));
                }
            }
        }
        let others: Vec<&&str> = per_reminder
            .get(&key)
            .map(|ids| ids.iter().filter(|other| **other != id).collect())
            .unwrap_or_default();
        if !others.is_empty() {
            tally.doubled += others.len() as u64;
            tally
                .examples
                .push(format!("reminder {id} also delivered as {others:?}"));
        }
        expected_ids.insert(key);
    }
    for ((task, index), ids) in per_reminder.iter().filter(|(key, _)| !expected_ids.contains(*key)) {
        tally.doubled += ids.len() as u64;
        tally.examples.push(format!(
            "delivered {ids:?} for reminder {index} of task {task}, never asked for"
        ));
    }
    let unsigned = evidence.calls.iter().filter(|c| !c.signed).count() as u64;
    if unsigned > 0 {
        tally
            .examples
            .push(format!("{unsigned} calls without a valid signature"));
    }
    let repeated = (evidence.calls.len() - calls.len()) as u64;
    tally.violations += early + misdirected + unsigned + evidence.malformed_calls;
    tally.line = format!(
        "reminders: {} asked for, {} calls received for {} delivery ids; missing {}, doubled {}, early {early}, to another user's webhook {misdirected}, unsigned {unsigned}, malformed {}; {repeated} calls repeated a delivery id (at-least-once); lateness of the first call {}",
        evidence.expected.reminders.len(),
        evidence.calls.len(),
        calls.len(),
        tally.lost,
        tally.doubled,
        evidence.malformed_calls,
        percentiles(&lateness),
    );
    (tally, repeated)
}

fn dead_letters(records: &[Record], poison: &[Poison]) -> Tally {
    let mut tally = Tally::default();
    let mut parked: HashMap<String, u64> = HashMap::new();
    let mut sources = HashSet::new();
    let mut others = 0;
    for record in records {
        let source = ["dlq_source_topic", "dlq_source_partition", "dlq_source_offset"]
            .map(|h| record.headers.get(h).cloned().unwrap_or_default());
        if !sources.insert(source) {
            continue; // the same source record parked again (a redelivery)
        }
        if record.key.starts_with(POISON_KEY) {
            *parked.entry(record.key.clone()).or_default() += 1;
        } else {
            others += 1;
            tally.examples.push(format!(
                "{} parked on {}: {}",
                record.headers.get("ce_type").map_or("a record", String::as_str),
                record.topic,
                record.headers.get("dlq_error").map_or("", String::as_str)
            ));
        }
    }
    let missing: Vec<&Poison> = poison.iter().filter(|p| !parked.contains_key(&p.key)).collect();
    for p in &missing {
        tally
            .examples
            .push(format!("poison {} on {} was not parked", p.key, p.topic));
    }
    tally.violations += others + missing.len() as u64;
    tally.line = format!(
        "dead-letter topics: {} records, {} source records; poison injected {}, parked {}; other records {others}",
        records.len(),
        sources.len(),
        poison.len(),
        parked.len()
    );
    tally
}

/// What the database still holds that should be settled.
fn leftovers(evidence: &Evidence) -> Tally {
    let mut tally = Tally::default();
    let unsettled: i64 = evidence
        .delivery_states
        .iter()
        .filter(|(state, _)| state != "delivered")
        .map(|(_, n)| n)
        .sum();
    let not_delivered: Vec<String> = evidence
        .expected
        .reminders
        .iter()
        .map(|r| r.id())
        .filter(|id| evidence.reminder_states.get(id).is_none_or(|s| s != "delivered"))
        .collect();
    tally.examples.extend(not_delivered.iter().map(|id| {
        format!(
            "reminder {id} is {}",
            evidence.reminder_states.get(id).map_or("missing", String::as_str)
        )
    }));
    tally.violations += evidence.quarantined as u64 + unsettled as u64 + not_delivered.len() as u64;
    tally.line = format!(
        "database: outbox rows quarantined {}, webhook deliveries by state {:?}, reminders asked for not in state delivered {}",
        evidence.quarantined,
        evidence.delivery_states,
        not_delivered.len()
    );
    tally
}

fn load(problems: &[String]) -> Tally {
    Tally {
        violations: problems.len() as u64,
        line: format!(
            "writes: {} the harness could not settle or that were answered against its records",
            problems.len()
        ),
        examples: problems.to_vec(),
        ..Tally::default()
    }
}

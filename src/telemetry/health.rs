//! What this process knows about each of its roles, for `/readyz` and the operators'
//! `/status`: when it last finished a record, how many it finished and parked, its lag per
//! partition, and the sampled queues. Process-wide like the metrics recorder; kept whether or
//! not metrics are on (a lock and a counter a record).

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::bus::Stalls;
use crate::store::OutboxWaiting;

/// One role of this process.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleHealth {
    pub last_record_at: Option<DateTime<Utc>>,
    pub records: u64,
    pub parked: u64,
    /// Records behind, per `topic/partition` (from the consumer's statistics).
    pub lag: BTreeMap<String, i64>,
}

/// The queues in the database, as last sampled.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Queues {
    pub outbox: Option<OutboxWaiting>,
    pub reminders_pending: Option<i64>,
    pub deliveries_waiting: Option<i64>,
}

static ROLES: Mutex<BTreeMap<&'static str, RoleHealth>> = Mutex::new(BTreeMap::new());
static QUEUES: Mutex<Queues> = Mutex::new(Queues {
    outbox: None,
    reminders_pending: None,
    deliveries_waiting: None,
});

fn with_role(role: &'static str, change: impl FnOnce(&mut RoleHealth)) {
    if let Ok(mut roles) = ROLES.lock() {
        change(roles.entry(role).or_default());
    }
}

/// A role starts: it shows in `/status` before its first record.
pub fn role_started(role: &'static str) {
    with_role(role, |_| {});
}

pub fn record_finished(role: &'static str) {
    with_role(role, |health| {
        health.records += 1;
        health.last_record_at = Some(crate::time::now());
    });
}

pub fn record_parked(role: &'static str) {
    with_role(role, |health| health.parked += 1);
}

pub fn lag(role: &'static str, topic: &str, partition: i32, lag: i64) {
    with_role(role, |health| {
        health.lag.insert(format!("{topic}/{partition}"), lag);
    });
}

pub fn queues(change: impl FnOnce(&mut Queues)) {
    if let Ok(mut queues) = QUEUES.lock() {
        change(&mut queues);
    }
}

/// Every role of this process seen so far.
pub fn roles() -> BTreeMap<&'static str, RoleHealth> {
    ROLES.lock().map(|roles| roles.clone()).unwrap_or_default()
}

pub fn sampled_queues() -> Queues {
    QUEUES.lock().map(|queues| queues.clone()).unwrap_or_default()
}

/// The process's picture: each role (ready unless it waits for a dependency; its records,
/// parked records, lag and the time since its last record) and the sampled queues. The first
/// value says whether every role is ready. Never an error text: those go to the log.
pub fn report(stalls: &Stalls) -> (bool, Value) {
    let stalled: Vec<&'static str> = stalls.current().into_iter().map(|(role, _)| role).collect();
    let now = crate::time::now();
    let seconds = |at: DateTime<Utc>| (now - at).num_milliseconds() as f64 / 1000.0;
    let mut by_role = serde_json::Map::new();
    for (role, health) in roles() {
        by_role.insert(
            role.to_owned(),
            json!({
                "ready": !stalled.contains(&role),
                "last_record_at": health.last_record_at.map(crate::time::format),
                "seconds_since_last_record": health.last_record_at.map(seconds),
                "records": health.records,
                "parked": health.parked,
                "lag": health.lag.values().sum::<i64>(),
                "lag_by_partition": health.lag,
            }),
        );
    }
    for role in &stalled {
        by_role
            .entry((*role).to_owned())
            .or_insert_with(|| json!({ "ready": false }));
    }
    let queues = sampled_queues();
    let ready = stalled.is_empty();
    let body = json!({
        "roles": by_role,
        "outbox": queues.outbox.map(|o| json!({
            "waiting": o.rows,
            "oldest_waiting_seconds": o.oldest.map(seconds),
        })),
        "reminders_pending": queues.reminders_pending,
        "deliveries_waiting": queues.deliveries_waiting,
    });
    (ready, body)
}

//! What this process knows about each of its roles, for the operators' `/status` (on the
//! metrics listener): when it last finished a record, how many it finished and parked, its
//! lag per partition, and the sampled queues. Process-wide like the metrics recorder, and
//! kept only while metrics are on.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

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
    if !super::metrics::enabled() {
        return;
    }
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

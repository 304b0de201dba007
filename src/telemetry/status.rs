//! `taskstream status`: the health of the whole deployment from its shared state (the
//! database and the broker), whichever processes run it. Per role: the processes that run it
//! (each announces itself in the database, see `roles::presence`), lag, when it last applied
//! an event, its DLQ; the outbox backlog; the queues. Its verdict is an exit code an
//! orchestrator or a cron job can act on.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bus::groups::{self, GroupState};
use crate::bus::{consumer, Kafka};
use crate::roles::{presence, Role};
use crate::store::{Member, MemberState, OutboxWaiting, Store};

/// What counts as unhealthy.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The oldest unpublished outbox row may be at most this old.
    pub outbox_age: Duration,
    /// A role may be at most this many records behind.
    pub lag: i64,
}

/// One role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleStatus {
    pub role: &'static str,
    /// At least one process consumes for it.
    pub ready: bool,
    /// The processes that run it (seen in the last [`presence::GONE_AFTER`]).
    pub members: Vec<Member>,
    pub lag: i64,
    pub group: GroupState,
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Records on the DLQ of the role's topics (shared with other roles of the same topic).
    pub dlq_records: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub roles: Vec<RoleStatus>,
    pub outbox: OutboxWaiting,
    pub outbox_oldest_seconds: Option<f64>,
    pub reminders_pending: i64,
    pub deliveries_waiting: i64,
    /// Why the deployment is not healthy; empty when it is.
    pub problems: Vec<String>,
}

/// The deployment is running but not healthy (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("not healthy: {}", .0.join("; "))]
pub struct Unhealthy(pub Vec<String>);

/// Gathers the report.
///
/// # Errors
/// When the database or the broker cannot be read.
pub async fn gather(store: &Store, kafka: &Kafka, limits: Limits) -> anyhow::Result<Report> {
    let outbox = store.outbox_waiting().await?;
    let now = crate::time::now();
    let outbox_age = outbox.oldest.and_then(|at| (now - at).to_std().ok());
    let seen_since = now - chrono::TimeDelta::from_std(presence::GONE_AFTER)?;
    let mut roles = Vec::new();
    for role in Role::ALL {
        let last_applied_at = store.last_applied(role.name()).await?;
        let members = store.members(role.name(), seen_since).await?;
        let (group, dlq_records) = broker_side(kafka, role).await?;
        roles.push(RoleStatus {
            role: role.name(),
            ready: members.iter().any(|m| m.state == Some(MemberState::Consuming)),
            members,
            lag: group.lag(),
            group,
            last_applied_at,
            dlq_records,
        });
    }
    let mut report = Report {
        roles,
        outbox,
        outbox_oldest_seconds: outbox_age.map(|age| age.as_secs_f64()),
        reminders_pending: store.reminders_pending().await?,
        deliveries_waiting: store.deliveries_waiting().await?,
        problems: Vec::new(),
    };
    report.problems = problems(&report, outbox_age, limits);
    Ok(report)
}

/// The role's group and the records on its topics' DLQs, read on a blocking thread.
async fn broker_side(kafka: &Kafka, role: Role) -> anyhow::Result<(GroupState, i64)> {
    let kafka = kafka.clone();
    tokio::task::spawn_blocking(move || {
        let topics: Vec<String> = role.topics().iter().map(|t| kafka.topics.name(*t)).collect();
        let group = groups::group_state(&kafka, &consumer::shared_group(&kafka, role.name()), &topics)?;
        let mut dlq = 0;
        for topic in role.topics() {
            dlq += groups::topic_records(&kafka, &kafka.topics.dlq(*topic))?;
        }
        Ok((group, dlq))
    })
    .await
    .context("the broker query stopped")?
}

fn problems(report: &Report, outbox_age: Option<Duration>, limits: Limits) -> Vec<String> {
    let mut problems = Vec::new();
    for role in &report.roles {
        if role.members.is_empty() {
            problems.push(format!("no process runs the {} role", role.role));
        } else if !role.ready {
            let waiting = role.members.iter().any(|m| m.state == Some(MemberState::Waiting));
            problems.push(if waiting {
                format!(
                    "the {} role waits for a dependency in every process that runs it",
                    role.role
                )
            } else {
                format!(
                    "the {} role has not started consuming (its topics do not exist yet?)",
                    role.role
                )
            });
        }
        if role.lag > limits.lag {
            problems.push(format!("the {} role is {} records behind", role.role, role.lag));
        }
    }
    if let Some(age) = outbox_age.filter(|age| *age > limits.outbox_age) {
        problems.push(format!(
            "the oldest unpublished event is {} s old (is a relay running?)",
            age.as_secs()
        ));
    }
    problems
}

impl Report {
    /// Lines for a person.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let at = |t: Option<DateTime<Utc>>| t.map_or_else(|| "never".to_owned(), crate::time::format);
        for role in &self.roles {
            let ready = match (role.ready, role.members.len()) {
                (_, 0) => "NO PROCESS".to_owned(),
                (true, n) => format!("ready ({n} proc.)"),
                (false, n) => format!("NOT CONSUMING ({n})"),
            };
            out.push_str(&format!(
                "{:<11} {:<18} lag {:<8} last applied {:<28} dlq {}\n",
                role.role,
                ready,
                role.lag,
                at(role.last_applied_at),
                role.dlq_records
            ));
        }
        out.push_str(&format!(
            "outbox      {} waiting, oldest {}\n",
            self.outbox.rows,
            self.outbox_oldest_seconds
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"))
        ));
        out.push_str(&format!(
            "reminders   {} pending; webhook deliveries {} waiting\n",
            self.reminders_pending, self.deliveries_waiting
        ));
        for problem in &self.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
        out
    }
}

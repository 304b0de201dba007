//! A process tells the database which consumer roles it runs, every few seconds, in which
//! state (starting, consuming, waiting for a dependency), and leaves at a clean stop. The
//! deployment-wide `taskstream status` counts members from these rows on any broker.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Role;
use crate::bus::Stalls;
use crate::store::{Instance, MemberState, Store};

/// How often a process announces itself.
pub const EVERY: Duration = Duration::from_secs(5);
/// A member not seen for this long is taken for gone (three announcements missed).
pub const GONE_AFTER: Duration = Duration::from_secs(20);

/// This process, named by `instance_id` when configured (a restarted process keeps its row),
/// else by an id drawn now.
pub fn this_process(instance_id: Option<&str>) -> Instance {
    Instance {
        instance: instance_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned()),
        pid: i64::from(std::process::id()),
        started_at: crate::time::now(),
    }
}

/// Announces `roles` until `shutdown`, then leaves. A failed announcement is logged and tried
/// again at the next tick (the database being away shows elsewhere: /readyz, the roles' stalls).
pub async fn run(
    store: Store,
    instance: Instance,
    roles: Vec<Role>,
    stalls: Stalls,
    topics_ready: CancellationToken,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if roles.is_empty() {
        return Ok(());
    }
    loop {
        let subscribed = topics_ready.is_cancelled();
        let states = states(&roles, &stalls, subscribed);
        if let Err(error) = store.announce(&instance, &states).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot announce this process's roles; retrying"
            );
        }
        // The move from starting to consuming is announced at once, not at the next tick.
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(EVERY) => {}
            () = topics_ready.cancelled(), if !subscribed => {}
        }
    }
    if let Err(error) = store.leave(&instance.instance).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "cannot remove this process from the role members"
        );
    }
    Ok(())
}

fn states(roles: &[Role], stalls: &Stalls, topics_ready: bool) -> Vec<(&'static str, MemberState)> {
    let stalled = stalls.current();
    roles
        .iter()
        .map(|role| {
            let state = if stalled.iter().any(|(name, _)| *name == role.name()) {
                MemberState::Waiting
            } else if topics_ready {
                MemberState::Consuming
            } else {
                MemberState::Starting
            };
            (role.name(), state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_starting_until_the_topics_exist_and_waiting_while_stalled() {
        let stalls = Stalls::default();
        let roles = [Role::Audit, Role::Scheduler];
        assert_eq!(
            states(&roles, &stalls, false),
            [("audit", MemberState::Starting), ("scheduler", MemberState::Starting)]
        );
        stalls.stall("scheduler", "database away".to_owned());
        assert_eq!(
            states(&roles, &stalls, true),
            [("audit", MemberState::Consuming), ("scheduler", MemberState::Waiting)]
        );
    }
}

//! Role membership kept in the database: each process that runs consumer roles announces
//! them every few seconds with its state, so `taskstream status` can say "nobody runs this
//! role" on any broker (Kafka lists a group's members; Tansu 0.6.0 does not answer).

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::Store;

/// Rows not renewed for this long are deleted at the next announcement.
const FORGET_AFTER: TimeDelta = TimeDelta::days(1);

/// What a member is doing for its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberState {
    /// Waiting for the topics to exist before it subscribes.
    Starting,
    Consuming,
    /// Retrying while a dependency (database, broker) is away.
    Waiting,
}

impl MemberState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Consuming => "consuming",
            Self::Waiting => "waiting",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "starting" => Some(Self::Starting),
            "consuming" => Some(Self::Consuming),
            "waiting" => Some(Self::Waiting),
            _ => None,
        }
    }
}

/// The process that announces.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub instance: String,
    pub host: String,
    pub pid: i64,
    pub started_at: DateTime<Utc>,
}

/// One process running one role, as last announced.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub role: String,
    #[serde(flatten)]
    pub instance: Instance,
    /// `None` for a state this version does not know (written by a newer one).
    pub state: Option<MemberState>,
    pub seen_at: DateTime<Utc>,
}

type MemberRow = (String, String, String, i64, String, String, String);

impl Store {
    /// Records that `instance` runs each of `roles` in its state now, and forgets members
    /// gone for a day.
    ///
    /// # Errors
    /// A database failure.
    pub async fn announce(&self, instance: &Instance, roles: &[(&str, MemberState)]) -> anyhow::Result<()> {
        let now = crate::time::now();
        let mut tx = self.begin().await.context("announce role members")?;
        for (role, state) in roles {
            sqlx::query(
                "INSERT INTO role_members (role, instance, host, pid, state, started_at, seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (role, instance) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
                 state = excluded.state, started_at = excluded.started_at, seen_at = excluded.seen_at",
            )
            .bind(*role)
            .bind(&instance.instance)
            .bind(&instance.host)
            .bind(instance.pid)
            .bind(state.as_str())
            .bind(crate::time::format(instance.started_at))
            .bind(crate::time::format(now))
            .execute(&mut *tx)
            .await
            .context("announce a role member")?;
        }
        sqlx::query("DELETE FROM role_members WHERE seen_at < $1")
            .bind(crate::time::format(now - FORGET_AFTER))
            .execute(&mut *tx)
            .await
            .context("forget old role members")?;
        tx.commit().await.context("announce role members")?;
        Ok(())
    }

    /// Removes `instance`'s rows: it stops cleanly.
    ///
    /// # Errors
    /// A database failure.
    pub async fn leave(&self, instance: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM role_members WHERE instance = $1")
            .bind(instance)
            .execute(&self.writer)
            .await
            .context("leave the role members")?;
        Ok(())
    }

    /// The members of `role` seen since `since`, longest-running first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn members(&self, role: &str, since: DateTime<Utc>) -> anyhow::Result<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT role, instance, host, pid, state, started_at, seen_at FROM role_members \
             WHERE role = $1 AND seen_at >= $2 ORDER BY started_at, instance",
        )
        .bind(role)
        .bind(crate::time::format(since))
        .fetch_all(&self.reader)
        .await
        .context("read the role members")?;
        Ok(rows.into_iter().filter_map(member).collect())
    }
}

fn member((role, instance, host, pid, state, started_at, seen_at): MemberRow) -> Option<Member> {
    Some(Member {
        role,
        instance: Instance {
            instance,
            host,
            pid,
            started_at: crate::time::parse(&started_at)?,
        },
        state: MemberState::parse(&state),
        seen_at: crate::time::parse(&seen_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(name: &str) -> Instance {
        Instance {
            instance: name.to_owned(),
            host: "host".to_owned(),
            pid: 42,
            started_at: crate::time::now(),
        }
    }

    #[tokio::test]
    async fn members_are_counted_while_they_announce_and_gone_when_they_leave() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("members.db").display());
        let store = Store::connect(&url, 2).await.expect("open");
        store.migrate().await.expect("migrate");
        let before = crate::time::now() - TimeDelta::seconds(1);
        let (one, two) = (process("one"), process("two"));
        store
            .announce(
                &one,
                &[("audit", MemberState::Consuming), ("scheduler", MemberState::Waiting)],
            )
            .await
            .expect("announce one");
        store
            .announce(&two, &[("audit", MemberState::Starting)])
            .await
            .expect("announce two");
        store
            .announce(&two, &[("audit", MemberState::Consuming)])
            .await
            .expect("announce again");

        let audit = store.members("audit", before).await.expect("members");
        let states: Vec<_> = audit.iter().map(|m| (m.instance.instance.as_str(), m.state)).collect();
        assert_eq!(
            states,
            [
                ("one", Some(MemberState::Consuming)),
                ("two", Some(MemberState::Consuming))
            ]
        );
        let scheduler = store.members("scheduler", before).await.expect("members");
        assert_eq!(scheduler.len(), 1);
        assert_eq!(scheduler[0].state, Some(MemberState::Waiting));
        assert!(store.members("recurrence", before).await.expect("members").is_empty());

        // Not seen since: taken for gone.
        let later = crate::time::now() + TimeDelta::seconds(1);
        assert!(store.members("audit", later).await.expect("members").is_empty());

        store.leave("one").await.expect("leave");
        let audit = store.members("audit", before).await.expect("members");
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].instance.instance, "two");
        assert!(store.members("scheduler", before).await.expect("members").is_empty());
    }
}

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

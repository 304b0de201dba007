//! Settings of the consumer roles (scheduler, notifier and its webhook deliveries).

use clap::Args;
use ipnet::IpNet;

use crate::webhook::EgressPolicy;

/// Settings of the consumer roles.
#[derive(Debug, Clone, Args)]
pub struct RoleSettings {
    /// Reminders overdue by more than this many seconds when a scheduler finds them (after
    /// downtime) are recorded as missed instead of sent.
    #[arg(
        long,
        env = "TASKSTREAM_REMINDER_GRACE_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub reminder_grace_secs: u64,

    /// Most records a consumer role applies in one database transaction: a backlog is taken
    /// in batches of up to this many (a trickle one record at a time).
    #[arg(
        long,
        env = "TASKSTREAM_CONSUMER_BATCH",
        default_value_t = crate::bus::consumer::DEFAULT_BATCH,
        value_parser = clap::value_parser!(u16).range(1..=1_000),
        global = true
    )]
    pub consumer_batch: u16,

    /// Timeout of one webhook call, in milliseconds.
    #[arg(long, env = "TASKSTREAM_WEBHOOK_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub webhook_timeout_ms: u64,

    /// Address ranges webhooks may reach although they are private, loopback or otherwise
    /// internal (comma-separated CIDRs, e.g. 127.0.0.1/32,10.1.0.0/16). None by default:
    /// webhooks reach public addresses only. This service's own address stays refused.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_ALLOW",
        value_delimiter = ',',
        value_parser = parse_webhook_allow,
        global = true
    )]
    pub webhook_allow: Vec<IpNet>,

    /// Refuse webhooks that are not https.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_HTTPS_ONLY",
        action = clap::ArgAction::Set,
        default_value_t = false,
        global = true
    )]
    pub webhook_https_only: bool,

    /// Attempts of one webhook delivery before it is marked failed (about 24 h of retries
    /// with the default backoff).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_MAX_ATTEMPTS",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub webhook_max_attempts: u32,

    /// Longest wait between two attempts of a delivery, in seconds, before ±20 % jitter; the
    /// wait starts at 30 s (or this, if smaller) and doubles.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_MAX_BACKOFF_SECS",
        default_value_t = 7_200,
        value_parser = clap::value_parser!(u64).range(1..=604_800),
        global = true
    )]
    pub webhook_max_backoff_secs: u64,

    /// Webhook sends in flight at once for one user (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_PER_USER",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=1_000),
        global = true
    )]
    pub webhook_per_user: u32,

    /// Webhook sends in flight at once to one host, `scheme://host:port` (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_PER_HOST",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=1_000),
        global = true
    )]
    pub webhook_per_host: u32,

    /// Webhook sends in flight at once in all (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_CONCURRENCY",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        global = true
    )]
    pub webhook_concurrency: u32,

    /// Consecutive failures of a host (no answer, 5xx, 408, 429) after which it gets no sends
    /// for the cool-down; then one trial send decides.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_BREAKER_FAILURES",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub webhook_breaker_failures: u32,

    /// Cool-down of an open circuit breaker, in seconds.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_BREAKER_COOLDOWN_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400),
        global = true
    )]
    pub webhook_breaker_cooldown_secs: u64,
}

/// One `TASKSTREAM_WEBHOOK_ALLOW` entry, with a message that names the setting.
fn parse_webhook_allow(entry: &str) -> Result<IpNet, String> {
    if entry.trim().is_empty() {
        return Err("TASKSTREAM_WEBHOOK_ALLOW has an empty entry; leave it unset to allow no internal range".into());
    }
    crate::webhook::parse_allow_entry(entry).map_err(|why| format!("TASKSTREAM_WEBHOOK_ALLOW: {why}"))
}

impl Default for RoleSettings {
    fn default() -> Self {
        Self {
            reminder_grace_secs: 86_400,
            consumer_batch: crate::bus::consumer::DEFAULT_BATCH,
            webhook_timeout_ms: 5_000,
            webhook_allow: Vec::new(),
            webhook_https_only: false,
            webhook_max_attempts: 20,
            webhook_max_backoff_secs: 7_200,
            webhook_per_user: 2,
            webhook_per_host: 8,
            webhook_concurrency: 64,
            webhook_breaker_failures: 5,
            webhook_breaker_cooldown_secs: 60,
        }
    }
}

impl RoleSettings {
    pub fn reminder_grace(&self) -> chrono::TimeDelta {
        // Beyond a century the grace means "never missed"; chrono cannot hold much more.
        const CENTURY: u64 = 100 * 366 * 86_400;
        chrono::TimeDelta::seconds(i64::try_from(self.reminder_grace_secs.min(CENTURY)).unwrap_or(0))
    }

    pub fn webhook_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.webhook_timeout_ms.max(1))
    }

    /// Where webhooks may go (before the API's own address is known).
    pub fn webhook_policy(&self) -> EgressPolicy {
        EgressPolicy::new(&self.webhook_allow, self.webhook_https_only)
    }
}

//! The command line: one binary, a subcommand per role or tool.

use clap::{Parser, Subcommand};

use crate::config::{CommonSettings, HttpSettings, KafkaSettings};
use crate::events::Topic;
use crate::roles::Role;
use crate::store::DeliveryState;

#[derive(Debug, Parser)]
#[command(
    name = "taskstream",
    version,
    about = "Event-driven task service: tasks with due dates, reminders and repeat rules over HTTP; every change an event on Kafka."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonSettings,

    #[command(flatten)]
    pub kafka: KafkaSettings,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every role in one process: the API, the outbox relay and every consumer role.
    All {
        #[command(flatten)]
        http: HttpSettings,
    },
    /// Run the HTTP API alone (events wait in the outbox for a relay).
    Api {
        #[command(flatten)]
        http: HttpSettings,
    },
    /// Run the outbox relay alone: publish committed events to Kafka.
    Relay,
    /// Run one consumer role.
    Worker {
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Print a bearer token for a user, signed with the configured secret.
    Token {
        /// The user id to put in the `sub` claim.
        #[arg(long)]
        user: String,
        /// How long the token stays valid, in hours.
        #[arg(long, default_value_t = 24)]
        ttl_hours: u64,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Create or inspect the Kafka topics.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// List the outbox rows the broker refused for good (quarantined), with the reason.
    Quarantined,
    /// Inspect and replay records parked on the dead-letter topics.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// The health of every role from the database and the broker: consuming, lag, last
    /// applied event, DLQ; the outbox backlog. Exit code 0 healthy, 2 not healthy, 1 when
    /// the database or the broker cannot be read.
    Status {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        /// Unhealthy when the oldest unpublished event is older than this (seconds).
        #[arg(long, default_value_t = 60)]
        max_outbox_age_secs: u64,
        /// Unhealthy when a role is more than this many records behind.
        #[arg(long, default_value_t = 10_000)]
        max_lag: i64,
    },
    /// Inspect webhook deliveries, and retry failed ones.
    Deliveries {
        #[command(subcommand)]
        action: DeliveriesAction,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeliveriesFilter {
    /// Only deliveries of this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Only the delivery of this reminder (`<task id>:<index>:<fire_at>`).
    #[arg(long)]
    pub reminder: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesAction {
    /// List webhook deliveries, newest first (JSON lines with --json). URLs are shown as
    /// scheme://host[:port] only.
    List {
        #[command(flatten)]
        filter: DeliveriesFilter,
        /// Only deliveries in this state: pending, delivered or failed.
        #[arg(long, value_parser = parse_delivery_state)]
        state: Option<DeliveryState>,
        /// Show at most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Give failed deliveries a new round of attempts, due at once. They are sent to the URL
    /// recorded when the reminder fired, and only while it is still the user's webhook.
    Retry {
        #[command(flatten)]
        filter: DeliveriesFilter,
        /// Retry every failed delivery (required when neither --user nor --reminder is given).
        #[arg(long)]
        all: bool,
    },
}

fn parse_delivery_state(raw: &str) -> Result<DeliveryState, String> {
    raw.parse()
}

#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Create missing topics and report existing ones whose settings differ.
    Ensure,
    /// Show every topic's partitions and retention against the configuration.
    Describe,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DlqFilter {
    /// Only this source topic's DLQ (task-events, task-reminders, task-recurrence).
    #[arg(long, value_parser = parse_topic)]
    pub topic: Option<Topic>,
    /// Only records of this event type (the ce_type header).
    #[arg(long)]
    pub event_type: Option<String>,
    /// Only records whose error contains this text.
    #[arg(long)]
    pub error_contains: Option<String>,
    /// Only the record at this DLQ offset.
    #[arg(long)]
    pub offset: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// List parked records (JSON lines with --json).
    List {
        #[command(flatten)]
        filter: DlqFilter,
        #[arg(long)]
        json: bool,
    },
    /// Publish the selected parked records again on their source topics.
    Replay {
        #[command(flatten)]
        filter: DlqFilter,
    },
}

fn parse_topic(raw: &str) -> Result<Topic, String> {
    Topic::from_base_name(raw).ok_or_else(|| "must be task-events, task-reminders or task-recurrence".to_owned())
}

impl From<DlqFilter> for crate::bus::dlq::Filter {
    fn from(f: DlqFilter) -> Self {
        Self {
            topic: f.topic,
            event_type: f.event_type,
            error_contains: f.error_contains,
            offset: f.offset,
        }
    }
}

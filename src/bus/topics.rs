//! Topic names and settings; creating missing topics and reporting ones that differ.

use std::time::Duration;

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;

use super::{ErrorLog, Kafka};
use crate::config::KafkaSettings;
use crate::events::Topic;

/// Broker-side names of the topics, with the configured prefix.
#[derive(Debug, Clone)]
pub struct TopicNames {
    prefix: String,
}

impl TopicNames {
    pub fn new(settings: &KafkaSettings) -> Self {
        Self {
            prefix: settings.topic_prefix.clone(),
        }
    }

    pub fn name(&self, topic: Topic) -> String {
        format!("{}{}", self.prefix, topic.base_name())
    }

    pub fn dlq(&self, topic: Topic) -> String {
        format!("{}.dlq", self.name(topic))
    }

    /// The logical topic of a broker-side name (a .dlq name maps to its source).
    pub fn parse(&self, name: &str) -> Option<Topic> {
        let base = name.strip_prefix(&self.prefix)?;
        Topic::from_base_name(base.strip_suffix(".dlq").unwrap_or(base))
    }
}

/// What a topic should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub retention_ms: i64,
}

/// Every topic taskstream uses, with the configured shape.
pub fn specs(kafka: &Kafka) -> Vec<TopicSpec> {
    let s = kafka.settings();
    let mut specs = Vec::new();
    for topic in Topic::ALL {
        let (partitions, retention_ms) = match topic {
            Topic::TaskEvents => (s.events_partitions, s.events_retention_ms),
            Topic::TaskReminders => (s.reminders_partitions, s.reminders_retention_ms),
            Topic::TaskRecurrence => (s.recurrence_partitions, s.recurrence_retention_ms),
        };
        specs.push(TopicSpec {
            name: kafka.topics.name(topic),
            partitions,
            retention_ms,
        });
        specs.push(TopicSpec {
            name: kafka.topics.dlq(topic),
            partitions: 1,
            retention_ms: s.dlq_retention_ms,
        });
    }
    specs
}

/// What the broker says about one topic.
#[derive(Debug, Clone)]
pub struct TopicState {
    pub spec: TopicSpec,
    pub partitions: Option<i32>,
    pub retention_ms: Option<i64>,
    pub created: bool,
}

impl TopicState {
    /// Human-readable differences from the wanted shape.
    pub fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.partitions {
            None => out.push("missing".to_owned()),
            Some(p) if p != self.spec.partitions => {
                out.push(format!("has {p} partitions, configured {}", self.spec.partitions))
            }
            _ => {}
        }
        if let Some(r) = self.retention_ms {
            if r != self.spec.retention_ms {
                out.push(format!("retention.ms is {r}, configured {}", self.spec.retention_ms));
            }
        }
        out
    }
}

type Admin = AdminClient<ErrorLog>;

fn admin(kafka: &Kafka) -> anyhow::Result<(Admin, ErrorLog)> {
    let log = ErrorLog::default();
    let admin = kafka
        .base_config()?
        .create_with_context(log.clone())
        .context("cannot create the Kafka admin client")?;
    Ok((admin, log))
}

/// Creates missing topics, then describes all of them.
///
/// # Errors
/// When the broker cannot be reached or refuses to create a topic.
pub async fn ensure(kafka: &Kafka) -> anyhow::Result<Vec<TopicState>> {
    let (admin, log) = admin(kafka)?;
    ensure_with(kafka, &admin)
        .await
        .map_err(|e| kafka.explain(log.explain(e)))
}

async fn ensure_with(kafka: &Kafka, admin: &Admin) -> anyhow::Result<Vec<TopicState>> {
    // Fails fast on an unreachable broker or refused credentials, where CreateTopics would
    // only time out.
    admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .context("cannot reach the broker")?;
    let specs = specs(kafka);
    let replication = kafka.settings().replication;
    let retention: Vec<String> = specs.iter().map(|s| s.retention_ms.to_string()).collect();
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&retention)
        .map(|(spec, retention)| {
            NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(replication))
                .set("retention.ms", retention)
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(15)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .context("CreateTopics failed")?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("cannot create topic {name}: {code}"),
        }
    }
    let mut states = describe_with(admin, specs).await?;
    for state in &mut states {
        state.created = created.contains(&state.spec.name);
    }
    Ok(states)
}

/// Describes every topic without changing anything.
///
/// # Errors
/// When the broker cannot be reached.
pub async fn describe(kafka: &Kafka) -> anyhow::Result<Vec<TopicState>> {
    let (admin, log) = admin(kafka)?;
    describe_with(&admin, specs(kafka))
        .await
        .map_err(|e| kafka.explain(log.explain(e)))
}

async fn describe_with(admin: &Admin, specs: Vec<TopicSpec>) -> anyhow::Result<Vec<TopicState>> {
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .context("cannot fetch metadata from the broker")?;
    let resources: Vec<ResourceSpecifier<'_>> = specs.iter().map(|s| ResourceSpecifier::Topic(&s.name)).collect();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    // Some brokers do not answer DescribeConfigs; then retention is reported as unknown.
    let configs = admin.describe_configs(&resources, &options).await.unwrap_or_default();
    Ok(specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let partitions = metadata
                .topics()
                .iter()
                .find(|t| t.name() == spec.name && t.error().is_none())
                .map(|t| i32::try_from(t.partitions().len()).unwrap_or(i32::MAX));
            let retention_ms = configs
                .get(i)
                .and_then(|r| r.as_ref().ok())
                .and_then(|r| r.get("retention.ms"))
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse().ok());
            TopicState {
                spec,
                partitions,
                retention_ms,
                created: false,
            }
        })
        .collect())
}

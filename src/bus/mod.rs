//! The Kafka side: client settings, topics, the producer, the consumer runtime every role
//! shares, the dead-letter topics, and the probe /readyz asks.

mod apply;
mod client;
mod closing;
pub mod consumer;
pub mod dlq;
pub mod groups;
mod probe;
mod producer;
mod stalls;
pub mod topics;

pub use client::{ErrorLog, Kafka};
pub use closing::Detached;
pub use probe::BrokerProbe;
pub use producer::{record_headers, Outgoing, Publisher, Refusal, Sending, DELIVERY_TIMEOUT};
pub use stalls::Stalls;
pub use topics::TopicNames;

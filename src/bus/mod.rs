//! The Kafka side: client settings, topics, the producer, the consumer runtime every role
//! shares, and the dead-letter topics.

mod client;
mod closing;
pub mod consumer;
pub mod dlq;
pub mod groups;
mod producer;
mod stalls;
pub mod topics;

pub use client::{ErrorLog, Kafka};
pub use closing::Detached;
pub use producer::{record_headers, Outgoing, Publisher, Refusal, Sending, DELIVERY_TIMEOUT};
pub use stalls::Stalls;
pub use topics::TopicNames;

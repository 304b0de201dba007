//! The event contract: every record taskstream writes to Kafka.
//!
//! A record value is an [`Event`]: common fields (id, type, schema version, time, user,
//! task, task version) and type-specific `data`. Each type has a JSON Schema generated from
//! these types into `schemas/` (see [`schema`]); decoding is strict (unknown fields, unknown
//! types and newer schema versions are refused), so a record that decodes is valid.

mod contract;
mod headers;
pub mod schema;

pub use contract::*;
pub use headers::cloud_event_headers;

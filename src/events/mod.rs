//! The event contract: every record taskstream writes to Kafka.
//!
//! A record value is an [`Event`]: common fields (id, type, schema version, time, user,
//! task, task version) and type-specific `data`. Each type has a JSON Schema generated from
//! these types into `schemas/` (see [`schema`]); decoding is strict (unknown fields, unknown
//! types and newer schema versions are refused), so a record that decodes is valid.

mod change;
mod codec;
mod headers;
mod payloads;
pub mod schema;
mod topics;

pub use codec::{DecodeError, Event, EventData, EventHeader, SCHEMA_VERSION};
pub use headers::cloud_event_headers;
pub use payloads::*;
pub use topics::Topic;

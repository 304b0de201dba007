//! Typed settings shared by every subcommand: flags and environment variables, validated once
//! at start-up so the rest of the program only sees values that make sense.

mod common;
mod kafka;
mod otlp;
mod roles;
mod secret;

pub use common::{CommonSettings, HttpSettings, LogFormat};
pub use kafka::{KafkaSettings, SaslMechanism, SecurityProtocol};
pub use otlp::OtlpSettings;
pub use roles::RoleSettings;
pub use secret::Secret;

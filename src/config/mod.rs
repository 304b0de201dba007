//! Typed settings shared by every subcommand: flags and environment variables, validated once
//! at start-up so the rest of the program only sees values that make sense.

mod common;
mod kafka;
mod roles;
mod secret;

pub use common::{CommonSettings, HttpSettings, LogFormat};
pub use kafka::{KafkaSettings, SaslMechanism, SecurityProtocol};
pub use roles::RoleSettings;
pub use secret::Secret;

//! The command line: one binary, a subcommand per role or tool.

use clap::{Parser, Subcommand};

use crate::config::{CommonSettings, HttpSettings};

#[derive(Debug, Parser)]
#[command(
    name = "taskstream",
    version,
    about = "Event-driven task service: tasks with due dates, reminders and repeat rules over HTTP."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonSettings,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every role in one process (the local default).
    All {
        #[command(flatten)]
        http: HttpSettings,
    },
    /// Run the HTTP API alone.
    Api {
        #[command(flatten)]
        http: HttpSettings,
    },
    /// Print a bearer token for a user, signed with the configured secret.
    Token {
        /// The user id to put in the `sub` claim.
        #[arg(long)]
        user: String,
        /// How long the token stays valid, in hours.
        #[arg(long, default_value_t = 24 * 30)]
        ttl_hours: u64,
    },
    /// Apply the database migrations and exit.
    Migrate,
}

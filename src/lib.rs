//! taskstream: an event-driven task service.
//!
//! The flow (see DESIGN.md): `api` turns HTTP requests into `domain` values and writes them
//! through `store`; every change is meant to become an event for the consumers. `webhook`
//! owns the calls out to users' URLs and the policy on where they may go.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod domain;
pub mod events;
pub mod private_files;
pub mod relay;
pub mod roles;
pub mod sealing;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod webhook;

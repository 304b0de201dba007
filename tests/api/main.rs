//! Integration tests: the real application on a random port, a fresh database per test.
//! The backend is chosen by TASKSTREAM_TEST_BACKEND (sqlite, the default, or postgres with
//! TEST_DATABASE_URL); scripts/test runs the suite once per backend.

mod broker;
mod helpers;
mod kafka_client;
mod live;
mod process;

mod abuse;
mod console;
mod counts;
mod delivery;
mod errors;
mod events;
mod health;
mod metrics;
mod otlp;
mod overload;
mod quotas;
mod recurrence;
mod relay;
mod reminders;
mod resilience;
mod role_logic;
mod security;
mod tasks;
mod traces;
mod webhooks;

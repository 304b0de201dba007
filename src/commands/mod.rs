//! The bodies of the operator commands (`taskstream topics`, `dlq`, `deliveries`, `status`,
//! `quarantined`): what they print and how they exit. main.rs parses and dispatches.

mod deliveries;
mod dlq;
mod status;
mod topics;

pub use deliveries::deliveries;
pub use dlq::dlq;
pub use status::{quarantined, status};
pub use topics::topics;

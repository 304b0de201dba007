//! Roles that cannot make progress because a dependency is away. The consumer runtime
//! reports a stall while it retries an infrastructure failure and clears it when the record
//! goes through; /readyz answers 503 while any role of the process is stalled.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct Stalls(Arc<Mutex<BTreeMap<&'static str, String>>>);

impl Stalls {
    pub fn stall(&self, role: &'static str, why: String) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(role, why);
        }
    }

    pub fn clear(&self, role: &'static str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(role);
        }
    }

    /// Each stalled role with the reason, by role name.
    pub fn current(&self) -> Vec<(&'static str, String)> {
        self.0
            .lock()
            .map(|map| map.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }
}

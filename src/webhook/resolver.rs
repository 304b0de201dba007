//! Name resolution that applies the policy to the addresses the client will connect to.
//!
//! Checking a name once before the call is not enough: its DNS answer can change between the
//! check and the connect (DNS rebinding). Here the answer the connection uses is the answer
//! that was checked, because the client gets its addresses from this resolver only.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{internal_range, EgressPolicy, Refusal};

/// Resolves with the system resolver and keeps only the addresses the policy permits.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: EgressPolicy,
}

impl PolicyResolver {
    pub fn new(policy: EgressPolicy) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str();
            // Port 0: the client puts the URL's port in.
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            let (permitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                all.into_iter().partition(|addr| policy.permits(addr.ip()));
            for addr in &refused {
                // The range, not the address: enough for an operator to decide on the
                // allow-list, nothing for whoever reads the logs to map the network with.
                tracing::debug!(host, range = internal_range(addr.ip()), "webhook address refused");
            }
            if permitted.is_empty() {
                return Err(Box::new(Refusal::Address) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

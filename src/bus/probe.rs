//! Whether the broker answers, for /readyz: a metadata request on a client of its own, on a
//! blocking thread (librdkafka's call blocks).

/// Asks the broker for metadata, for /readyz.
#[derive(Clone)]
pub struct BrokerProbe(std::sync::Arc<rdkafka::consumer::BaseConsumer>);

impl std::fmt::Debug for BrokerProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerProbe")
    }
}

impl BrokerProbe {
    pub fn new(client: std::sync::Arc<rdkafka::consumer::BaseConsumer>) -> Self {
        Self(client)
    }

    /// # Errors
    /// When the broker does not answer within `timeout`.
    pub async fn check(&self, timeout: std::time::Duration) -> Result<(), String> {
        use rdkafka::consumer::Consumer;
        let client = self.0.clone();
        tokio::task::spawn_blocking(move || {
            client
                .fetch_metadata(None, timeout)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

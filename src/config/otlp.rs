//! Export of spans over OTLP.

use anyhow::bail;
use clap::Args;

/// OpenTelemetry export of spans over OTLP/HTTP, under the standard variable names; off
/// unless an endpoint is given.
#[derive(Debug, Clone, Args)]
pub struct OtlpSettings {
    /// Base URL of an OTLP/HTTP receiver (a collector, or a tracing backend's OTLP
    /// endpoint); spans are POSTed as protobuf to `<URL>/v1/traces`. Without it nothing is
    /// exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub endpoint: Option<String>,

    /// The OTLP protocol: only `http/protobuf` is supported.
    #[arg(
        long = "otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true
    )]
    pub protocol: String,

    /// The `service.name` of the exported spans.
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "taskstream",
        global = true
    )]
    pub service_name: String,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: "http/protobuf".into(),
            service_name: "taskstream".into(),
        }
    }
}

impl OtlpSettings {
    /// Where spans go (`<endpoint>/v1/traces`), or `None` when export is off.
    ///
    /// # Errors
    /// An endpoint that is not an http(s) URL, or another protocol.
    pub fn traces_url(&self) -> anyhow::Result<Option<String>> {
        let Some(endpoint) = self.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        if self.protocol != "http/protobuf" {
            bail!(
                "OTEL_EXPORTER_OTLP_PROTOCOL {:?} is not supported: taskstream exports over http/protobuf",
                self.protocol
            );
        }
        let url = url::Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        let Some(url) = url else {
            bail!("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
        };
        if self.service_name.trim().is_empty() {
            bail!("OTEL_SERVICE_NAME must not be empty");
        }
        // The specification's rule for the signal-neutral variable: append the signal's path.
        Ok(Some(format!("{}/v1/traces", url.as_str().trim_end_matches('/'))))
    }
}

#[cfg(test)]
mod tests {
    use super::OtlpSettings;

    fn otlp(endpoint: &str, protocol: &str) -> OtlpSettings {
        OtlpSettings {
            endpoint: Some(endpoint.into()),
            protocol: protocol.into(),
            ..OtlpSettings::default()
        }
    }

    #[test]
    fn otlp_export_is_off_without_an_endpoint_and_sends_to_the_traces_path() {
        assert_eq!(OtlpSettings::default().traces_url().expect("valid"), None);
        assert_eq!(otlp("  ", "http/protobuf").traces_url().expect("valid"), None);
        for (endpoint, url) in [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("https://otlp.example.com/", "https://otlp.example.com/v1/traces"),
            ("http://127.0.0.1:4318/base", "http://127.0.0.1:4318/base/v1/traces"),
        ] {
            let got = otlp(endpoint, "http/protobuf").traces_url().expect("valid");
            assert_eq!(got.as_deref(), Some(url), "{endpoint}");
        }
    }

    #[test]
    fn otlp_settings_that_cannot_work_are_refused_without_echoing_the_endpoint() {
        for endpoint in ["collector:4318", "grpc://collector:4317", "http://", "not a url"] {
            let error = otlp(endpoint, "http/protobuf").traces_url().expect_err(endpoint);
            assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{error}");
        }
        let error = otlp("http://collector:4317", "grpc").traces_url().expect_err("grpc");
        assert!(error.to_string().contains("http/protobuf"), "{error}");
    }
}

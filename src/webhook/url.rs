//! A webhook URL that parsed: http(s), short, with a host, without credentials or fragment.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// What is wrong with a URL given as a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("must be at most {} characters", WebhookUrl::MAX_LEN)]
    TooLong,
    #[error("is not a valid absolute URL")]
    Malformed,
    #[error("must use http or https")]
    Scheme,
    #[error("must name a host")]
    NoHost,
    /// `user:pass@host` would be sent as Basic credentials to wherever the host points, and
    /// reads as a different host to a human (`https://bank.example@evil.example/`).
    #[error("must not contain a user name or password")]
    Credentials,
    /// A fragment is never sent; refusing it keeps what is stored equal to what is called.
    #[error("must not contain a #fragment")]
    Fragment,
}

/// A webhook URL. Its `Debug` shows only [`WebhookUrl::redacted`]: the path and query may
/// hold the receiver's token, and must not reach logs or error texts.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    pub const MAX_LEN: usize = 2_000;

    /// # Errors
    /// The first rule the text breaks.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        if raw.len() > Self::MAX_LEN {
            return Err(UrlError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| UrlError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UrlError::NoHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        Ok(Self(url))
    }

    /// The whole URL, for storing and calling; never for a log line.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `scheme://host[:port]`: what a log line or an error may show.
    pub fn redacted(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{}://{host}:{port}", self.0.scheme()),
            None => format!("{}://{host}", self.0.scheme()),
        }
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The port called: the given one or the scheme's default.
    pub fn port(&self) -> u16 {
        // http(s) always has a known default port.
        self.0.port_or_known_default().unwrap_or(80)
    }

    /// The host when it is an IP address (which no resolver sees).
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }

    /// Whether the host is the name `localhost` (the URL parser has lowercased it).
    pub fn is_localhost(&self) -> bool {
        matches!(self.0.host(), Some(Host::Domain(name)) if name.trim_end_matches('.') == "localhost")
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebhookUrl").field(&self.redacted()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_and_https_with_a_host() {
        let url = WebhookUrl::parse("https://Example.com:8443/hooks/t?token=abc").unwrap();
        assert_eq!(url.as_str(), "https://example.com:8443/hooks/t?token=abc");
        assert_eq!(url.redacted(), "https://example.com:8443");
        assert_eq!(format!("{url:?}"), "WebhookUrl(\"https://example.com:8443\")");
        assert_eq!(url.port(), 8443);
        assert!(url.is_https());
        let plain = WebhookUrl::parse("http://[::ffff:127.0.0.1]/x?secret=1").unwrap();
        assert_eq!(plain.redacted(), "http://[::ffff:7f00:1]");
        assert_eq!(plain.port(), 80);
        assert_eq!(plain.literal_ip(), Some("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn refuses_what_a_webhook_must_not_be() {
        for (raw, error) in [
            ("ftp://example.com/", UrlError::Scheme),
            ("file:///etc/passwd", UrlError::Scheme),
            ("javascript:alert(1)", UrlError::Scheme),
            ("not a url", UrlError::Malformed),
            ("/relative", UrlError::Malformed),
            ("http://user:pw@example.com/", UrlError::Credentials),
            ("http://user@example.com/", UrlError::Credentials),
            ("https://example.com/#top", UrlError::Fragment),
        ] {
            assert_eq!(WebhookUrl::parse(raw), Err(error), "{raw}");
        }
        let long = format!("https://example.com/{}", "a".repeat(WebhookUrl::MAX_LEN));
        assert_eq!(WebhookUrl::parse(&long), Err(UrlError::TooLong));
    }

    #[test]
    fn knows_localhost_by_name() {
        assert!(WebhookUrl::parse("http://LocalHost./").unwrap().is_localhost());
        assert!(!WebhookUrl::parse("http://localhost.example/").unwrap().is_localhost());
    }
}

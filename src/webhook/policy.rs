//! Where a webhook may go. A webhook URL is chosen by a user but called from inside the
//! operator's network, so without a policy it is a way to reach the cloud metadata service,
//! a database port or an admin page (SSRF). Public addresses are allowed; everything that is
//! this host, a private network or never a public web server is refused, in every spelling
//! (an IPv4 address hidden in an IPv6 one is judged as the IPv4 address), unless the operator
//! allow-lists it. This service's own listen address is refused even then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::WebhookUrl;

/// Why a webhook destination is refused. The texts name the rule, never the address, so an
/// answer or a failure record tells a user nothing about the inside of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must use https")]
    NotHttps,
    #[error("must not point at this service itself")]
    ThisService,
    #[error("destination address not allowed (private, loopback or otherwise internal)")]
    Address,
}

/// The operator's rules for webhook destinations: public addresses, plus the allow-listed
/// ranges, never this service itself; https only if asked.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allow: Arc<[IpNet]>,
    https_only: bool,
    own: Option<SocketAddr>,
}

impl EgressPolicy {
    /// `allow`: ranges that may be reached although internal (`TASKSTREAM_WEBHOOK_ALLOW`).
    pub fn new(allow: &[IpNet], https_only: bool) -> Self {
        Self {
            allow: allow.into(),
            https_only,
            own: None,
        }
    }

    /// The same policy, also refusing `own`, where this process's API listens.
    pub fn serving_at(self, own: Option<SocketAddr>) -> Self {
        Self { own, ..self }
    }

    /// Whether a webhook may connect to `ip`.
    ///
    /// The allow-list is matched against the address as written: `127.0.0.1/32` does not
    /// let `::ffff:127.0.0.1` through, which keeps a listed range from leaking into other
    /// spellings the operator did not think of.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip)) || internal_range(ip).is_none()
    }

    /// What can be judged from the URL alone: its scheme, whether it names this service,
    /// and a literal IP address (a host name is judged when it is resolved, at delivery,
    /// because its answer can change).
    ///
    /// # Errors
    /// The rule the URL breaks.
    pub fn check(&self, url: &WebhookUrl) -> Result<(), Refusal> {
        if self.is_this_service(url) {
            return Err(Refusal::ThisService);
        }
        if self.https_only && !url.is_https() {
            return Err(Refusal::NotHttps);
        }
        match url.literal_ip() {
            Some(ip) if !self.permits(ip) => Err(Refusal::Address),
            _ => Ok(()),
        }
    }

    /// A webhook to our own API would make every reminder call us back; the allow-list
    /// cannot lift this. Only the URL can be judged here: a resolver sees no port.
    fn is_this_service(&self, url: &WebhookUrl) -> bool {
        let Some(own) = self.own else {
            return false;
        };
        if url.port() != own.port() {
            return false;
        }
        match url.literal_ip().map(|ip| ip.to_canonical()) {
            Some(ip) => ip == own.ip() || ip.is_loopback() || ip.is_unspecified(),
            None => url.is_localhost(),
        }
    }
}

/// Reads one `TASKSTREAM_WEBHOOK_ALLOW` entry: a CIDR such as `10.1.0.0/16`, or a single
/// address. A range with host bits set (`10.1.2.3/16`) is refused: it usually means the
/// operator meant something narrower than what it allows.
///
/// # Errors
/// A sentence saying what is wrong with the entry.
pub fn parse_allow_entry(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => entry
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("{entry:?} is not a CIDR range such as 10.1.0.0/16 or 127.0.0.1/32"))?,
    };
    if net.trunc() != net {
        return Err(format!(
            "{entry:?} has bits set after its prefix; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net)
}

/// The name of the refused range `ip` lies in, or `None` for a public address.
pub fn internal_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => internal_v4(ip),
        IpAddr::V6(ip) => internal_v6(ip),
    }
}

/// IPv4 ranges (RFC 6890) that std has no stable method for.
const INTERNAL_V4: &[(Ipv4Net, &str)] = &[
    (Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8), "this network"),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
        "shared address space",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24),
        "IETF protocol assignments",
    ),
    (Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15), "benchmarking"),
    (Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4), "reserved"),
];

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let named = [
        (ip.is_unspecified(), "unspecified"),
        (ip.is_loopback(), "loopback"),
        (ip.is_private(), "private"),
        (ip.is_link_local(), "link-local"),
        (ip.is_multicast(), "multicast"),
        (ip.is_broadcast(), "broadcast"),
        (ip.is_documentation(), "documentation"),
    ];
    named
        .into_iter()
        .find_map(|(hit, name)| hit.then_some(name))
        .or_else(|| {
            INTERNAL_V4
                .iter()
                .find(|(net, _)| net.contains(&ip))
                .map(|(_, name)| *name)
        })
}

/// IPv6 ranges (RFC 6890 and later) that std has no stable method for.
const INTERNAL_V6: &[(Ipv6Net, &str)] = &[
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        "link-local",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
        "site-local",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
        "unique local",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
        "local NAT64",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
        "discard-only",
    ),
    // Teredo hides its IPv4 endpoints obfuscated; no webhook receiver needs it.
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32),
        "Teredo",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),
        "benchmarking",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
        "documentation",
    ),
];

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(ip) {
        return internal_v4(v4).map(|_| "IPv4 address in IPv6 form");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    INTERNAL_V6
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, name)| *name)
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach it: IPv4-mapped
/// (::ffff:0:0/96, which the kernel connects over IPv4), IPv4-compatible (::/96,
/// deprecated), NAT64 (64:ff9b::/96, translated by a gateway) and 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
    const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);
    let [a, b, c, d, e, f, g, h] = ip.segments();
    let low = || Ipv4Addr::from((u32::from(g) << 16) | u32::from(h));
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if [a, b, c, d, e, f] == [0; 6] || NAT64.contains(&ip) {
        Some(low())
    } else if SIX_TO_FOUR.contains(&ip) {
        Some(Ipv4Addr::from((u32::from(b) << 16) | u32::from(c)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn url(text: &str) -> WebhookUrl {
        WebhookUrl::parse(text).expect("test URL")
    }

    #[test]
    fn refuses_every_internal_range_in_every_spelling() {
        for refused in [
            "127.0.0.1",
            "127.0.0.2",
            "10.0.0.1",
            "172.16.5.5",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::a00:1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(internal_range(ip(refused)).is_some(), "{refused} must be refused");
            assert!(!EgressPolicy::default().permits(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn permits_public_addresses_in_every_spelling() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.215.14",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(internal_range(ip(public)), None, "{public} is public");
            assert!(EgressPolicy::default().permits(ip(public)));
        }
    }

    #[test]
    fn the_allow_list_lets_listed_ranges_through_as_written() {
        let allow = [
            parse_allow_entry("127.0.0.1/32").unwrap(),
            parse_allow_entry("10.1.0.0/16").unwrap(),
        ];
        let policy = EgressPolicy::new(&allow, false);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("10.1.200.3")));
        assert!(!policy.permits(ip("127.0.0.2")));
        assert!(!policy.permits(ip("10.2.0.1")));
        assert!(
            !policy.permits(ip("::ffff:127.0.0.1")),
            "other spellings are not listed"
        );
        assert!(!policy.permits(ip("::1")));
    }

    #[test]
    fn allow_entries_are_cidrs_or_single_addresses() {
        assert_eq!(parse_allow_entry(" 10.1.0.0/16 ").unwrap().to_string(), "10.1.0.0/16");
        assert_eq!(parse_allow_entry("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_allow_entry("fd00::/8").unwrap().to_string(), "fd00::/8");
        for bad in ["10.1.0.0/33", "localhost", "", "10.1.2.3/16", "10.0.0.0/8/1"] {
            assert!(parse_allow_entry(bad).is_err(), "{bad}");
        }
        assert!(parse_allow_entry("10.1.2.3/16").unwrap_err().contains("10.1.0.0/16"));
    }

    #[test]
    fn checks_literal_addresses_and_leaves_names_to_delivery() {
        let policy = EgressPolicy::default();
        assert_eq!(policy.check(&url("https://example.com/hook")), Ok(()));
        assert_eq!(policy.check(&url("http://localhost:9000/hook")), Ok(()));
        assert_eq!(policy.check(&url("http://8.8.8.8/hook")), Ok(()));
        for bad in [
            "http://127.0.0.1:9000/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://10.1/",
        ] {
            assert_eq!(policy.check(&url(bad)), Err(Refusal::Address), "{bad}");
        }
    }

    #[test]
    fn never_this_service_even_when_allowed() {
        let allow = [parse_allow_entry("127.0.0.0/8").unwrap()];
        let own: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let policy = EgressPolicy::new(&allow, false).serving_at(Some(own));
        assert_eq!(policy.check(&url("http://127.0.0.1:9000/hook")), Ok(()));
        assert_eq!(policy.check(&url("http://localhost:9000/hook")), Ok(()));
        for bad in [
            "http://localhost:8080/x",
            "http://LOCALHOST.:8080/x",
            "http://127.0.0.1:8080/",
            "http://127.0.0.2:8080/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://0.0.0.0:8080/",
        ] {
            assert_eq!(policy.check(&url(bad)), Err(Refusal::ThisService), "{bad}");
        }
    }

    #[test]
    fn https_only_refuses_plain_http() {
        let policy = EgressPolicy::new(&[], true);
        assert_eq!(policy.check(&url("http://example.com/")), Err(Refusal::NotHttps));
        assert_eq!(policy.check(&url("https://example.com/")), Ok(()));
    }

    #[test]
    fn refusals_do_not_name_the_address() {
        for refusal in [Refusal::Address, Refusal::NotHttps, Refusal::ThisService] {
            let text = refusal.to_string();
            assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
        }
        assert!(Refusal::Address.to_string().contains("destination address not allowed"));
    }
}

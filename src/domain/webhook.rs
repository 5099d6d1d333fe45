//! Webhooks: what a subscription may ask for and where it may send it.
//! A webhook is a classic server-side request forgery door: the registry
//! makes requests on a subscriber's word, from inside the agency's
//! network. So a destination is parsed here once, and every address a
//! delivery connects to is checked by [`is_public`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::net::Cidr;

/// What a subscription can be told about. The names are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    /// A trace matched a firearm the agency reported lost or stolen.
    Alert,
    /// Another agency sent the agency a trace request.
    TraceRequestReceived,
    /// A trace request the agency sent was answered.
    TraceRequestAnswered,
    /// The agency registered a firearm.
    FirearmRegistered,
    /// An event changed the status of a firearm the agency is responsible
    /// for (lost, stolen, seized, recovered, exported, destroyed, ...).
    FirearmStatusChanged,
}

impl WebhookEvent {
    pub const ALL: &'static [Self] = &[
        Self::Alert,
        Self::TraceRequestReceived,
        Self::TraceRequestAnswered,
        Self::FirearmRegistered,
        Self::FirearmStatusChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::TraceRequestReceived => "trace_request.received",
            Self::TraceRequestAnswered => "trace_request.answered",
            Self::FirearmRegistered => "firearm.registered",
            Self::FirearmStatusChanged => "firearm.status_changed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "unknown event `{raw}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

crate::vocabulary!(
    /// A subscription's state: `active`; `failing` once a message was given
    /// up on (it is still tried, and turns active on its next success);
    /// `disabled` by an admin (nothing is queued for it).
    WebhookStatus {
        Active => "active",
        Failing => "failing",
        Disabled => "disabled",
    }
);

crate::vocabulary!(
    /// Where one message is: still `pending` (queued or retrying),
    /// `delivered` (a 2xx answer), or `failed` (given up on).
    DeliveryState {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
);

/// The longest destination URL kept.
const MAX_URL: usize = 2048;

/// A checked destination: `https://` (or `http://` where private
/// destinations are allowed), a host, no credentials, no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    url: String,
    host: String,
    port: u16,
}

impl Destination {
    /// Parses a subscriber's URL. Unless `allow_private`, only `https://`
    /// and no host that names a loopback, private or otherwise
    /// non-public address literally (names are resolved and checked when
    /// the subscription is made and at every delivery).
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.len() > MAX_URL {
            return Err(format!("is longer than {MAX_URL} characters"));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_private => {}
            "http" => return Err("must be an https:// URL".into()),
            other => return Err(format!("must be an https:// URL, not {other}://")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry credentials; the signature authenticates the registry".into(),
            );
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if !allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                    return Err("names the loopback host".into());
                }
                d
            }
            Some(url::Host::Ipv4(a)) => literal(IpAddr::V4(a), allow_private)?,
            Some(url::Host::Ipv6(a)) => literal(IpAddr::V6(a), allow_private)?,
            None => return Err("has no host".into()),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "has no port".to_string())?;
        Ok(Self {
            url: url.to_string(),
            host,
            port,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `host:port`, as a resolver takes it.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn literal(addr: IpAddr, allow_private: bool) -> Result<String, String> {
    if !allow_private && !is_public(addr) {
        return Err(format!(
            "names {addr}, which is not a public address (loopback, private, link-local or reserved)"
        ));
    }
    Ok(addr.to_string())
}

/// Blocks no delivery may reach: this host, private networks, link-local
/// (cloud metadata lives at 169.254.169.254), shared, documentation,
/// benchmarking, multicast and reserved space (IANA special-purpose
/// registries, RFC 6890).
const NOT_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Whether a delivery may connect to `addr`. IPv6 forms that carry an
/// IPv4 address (mapped, NAT64, 6to4) are judged by that address.
pub fn is_public(addr: IpAddr) -> bool {
    if let IpAddr::V6(v6) = addr {
        if let Some(v4) = embedded_v4(v6) {
            return is_public(IpAddr::V4(v4));
        }
    }
    !NOT_PUBLIC
        .iter()
        .filter_map(|c| Cidr::parse(c).ok())
        .any(|c| c.contains(addr))
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96, deprecated).
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) || (s[..6] == [0; 6] && s[6] != 0) {
        return Some(tail());
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_and_private_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "::127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(private)), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn destinations_are_checked() {
        let ok = Destination::parse("https://hooks.example.org/registry?a=1", false).unwrap();
        assert_eq!(ok.authority(), "hooks.example.org:443");
        for (bad, why) in [
            ("http://hooks.example.org/", "https"),
            ("ftp://hooks.example.org/", "https"),
            ("https://127.0.0.1/x", "public"),
            ("https://[::1]:8443/x", "public"),
            ("https://10.0.0.5/x", "public"),
            ("https://localhost:8443/x", "loopback"),
            ("https://a.localhost/x", "loopback"),
            ("https://user:pw@hooks.example.org/", "credentials"),
            ("https://hooks.example.org/#x", "fragment"),
            ("not a url", "not a URL"),
        ] {
            let err = Destination::parse(bad, false).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let local = Destination::parse("http://127.0.0.1:9000/hook", true).unwrap();
        assert_eq!(local.authority(), "127.0.0.1:9000");
        assert!(Destination::parse(&format!("https://a.org/{}", "x".repeat(3000)), false).is_err());
    }

    #[test]
    fn event_names_round_trip() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Ok(*e));
        }
        assert!(WebhookEvent::parse("firearm.deleted")
            .unwrap_err()
            .contains("alert"));
    }

    proptest! {
        #[test]
        fn no_address_in_a_private_block_is_public(host in any::<u32>(), block in 0usize..5) {
            let (base, bits) = [(0x0a00_0000u32, 8), (0xac10_0000, 12), (0xc0a8_0000, 16), (0x7f00_0000, 8), (0xa9fe_0000, 16)][block];
            let addr = Ipv4Addr::from(base | (host >> bits));
            prop_assert!(!is_public(IpAddr::V4(addr)));
            prop_assert!(!is_public(IpAddr::V6(addr.to_ipv6_mapped())));
            let url = format!("https://{addr}/hook");
            prop_assert!(Destination::parse(&url, false).is_err());
        }

        #[test]
        fn parsing_never_panics(raw in ".{0,80}") {
            let _ = Destination::parse(&raw, false);
        }
    }
}

//! Network addresses of the proxies the registry trusts to say who the
//! client is.

use std::net::IpAddr;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bad = || format!("`{raw}` is not an address or an address block (e.g. 10.0.0.0/8)");
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (raw, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { network, prefix })
    }

    /// A comma-separated list, as `REGISTRY_TRUSTED_PROXIES` gives it.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, String> {
        raw.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let (net, addr, width) = match (self.network, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(a)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            // An IPv4 client seen through an IPv6 socket.
            (IpAddr::V4(_), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => return self.contains(IpAddr::V4(v4)),
                None => return false,
            },
            (IpAddr::V6(_), IpAddr::V4(_)) => return false,
        };
        let host_bits = width - u32::from(self.prefix);
        (net >> host_bits) == (addr >> host_bits) || self.prefix == 0
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy,
/// the rightmost `X-Forwarded-For` hop that is not one. Hops left of it
/// were written by the client and prove nothing.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|c| c.contains(a));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(addr) if is_trusted(addr) => client = addr,
            Ok(addr) => return addr,
            // A hop that is not an address ends what can be believed.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let lan = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(ip("10.200.3.4")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.1.1")));
        let one = Cidr::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        assert!(Cidr::parse("::1/128").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "proxy", "::1/129", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Cidr::parse_list(" 10.0.0.0/8, ::1 ,").unwrap().len(), 2);
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = Cidr::parse_list("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.2");
        // The client forged the leftmost hop; the proxy appended the truth.
        let got = client_address(peer, Some("6.6.6.6, 203.0.113.9, 10.0.0.1"), &trusted);
        assert_eq!(got, ip("203.0.113.9"));
        // A peer that is no proxy is the client, whatever it claims.
        assert_eq!(
            client_address(ip("198.51.100.1"), Some("6.6.6.6"), &trusted),
            ip("198.51.100.1")
        );
        // No proxies configured: the header is ignored.
        assert_eq!(client_address(peer, Some("6.6.6.6"), &[]), peer);
        assert_eq!(
            client_address(peer, Some("junk, 10.0.0.9"), &trusted),
            ip("10.0.0.9")
        );
    }

    proptest! {
        #[test]
        fn a_forged_prefix_never_becomes_the_client(forged in proptest::collection::vec(any::<[u8; 4]>(), 0..5), real in any::<[u8; 4]>()) {
            let trusted = Cidr::parse_list("10.0.0.0/8").unwrap();
            let real = IpAddr::from(real);
            prop_assume!(!trusted[0].contains(real));
            let mut hops: Vec<String> = forged.iter().map(|b| IpAddr::from(*b).to_string()).collect();
            hops.push(real.to_string());
            let header = hops.join(", ");
            prop_assert_eq!(client_address(ip("10.1.1.1"), Some(&header), &trusted), real);
        }
    }
}

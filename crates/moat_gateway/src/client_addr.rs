//! The client address: the peer, or `X-Forwarded-For` walked right to left through trusted
//! proxies only. Anything that cannot be decided is an error (the request fails closed).

use crate::headers::X_FORWARDED_FOR;
use http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// Resolves the client address of a request that arrived from `peer`.
///
/// When `peer` is a trusted proxy, the `X-Forwarded-For` entries are read from the right; the
/// first one that is not a trusted proxy is the client. A malformed entry met on the way is an
/// error. When every hop is trusted, the leftmost entry is the client.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Result<IpAddr, String> {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return Ok(peer);
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let s = value
            .to_str()
            .map_err(|_| "X-Forwarded-For is not ASCII".to_string())?;
        hops.extend(s.split(','));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let ip = parse_hop(hop.trim())
            .ok_or_else(|| "X-Forwarded-For has an entry that is not an address".to_string())?;
        client = canonical(ip);
        if !is_trusted(client, trusted) {
            return Ok(client);
        }
    }
    Ok(client)
}

fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    // tolerate `[v6]:port` and `v4:port`
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

/// IPv4-mapped IPv6 addresses become IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` is in one of `nets`.
pub fn is_trusted(ip: IpAddr, nets: &[IpNet]) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

/// The rate-limit key of a client: the IPv4 address, or the IPv6 address cut to `v6_prefix` bits.
pub fn key(ip: IpAddr, v6_prefix: u8) -> String {
    let mut out = String::new();
    write_key(&mut out, ip, v6_prefix);
    out
}

/// The address a client is banned by: the IPv4 address, or the IPv6 address with the bits
/// past `v6_prefix` cleared (one host may hold a whole /64).
pub fn masked(ip: IpAddr, v6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = v6_prefix.min(128);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Appends [`key`] to `out` without allocating a string of its own.
pub fn write_key(out: &mut String, ip: IpAddr, v6_prefix: u8) {
    use std::fmt::Write as _;
    let _ = match ip {
        IpAddr::V4(v4) => {
            out.push_str(crate::util::ipv4_text(v4, &mut [0; 15]));
            Ok(())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let prefix = v6_prefix.min(128);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            write!(out, "{}/{prefix}", std::net::Ipv6Addr::from(bits & mask))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("x-forwarded-for", v.parse().unwrap());
        m
    }

    #[test]
    fn untrusted_peer_is_the_client() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve(peer, &h("1.2.3.4"), &[]).unwrap(), peer);
    }

    #[test]
    fn walks_right_to_left_through_trusted_hops_only() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let got = resolve(peer, &h("6.6.6.6, 198.51.100.7, 10.0.0.9"), &trusted).unwrap();
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(resolve(peer, &h("1.1.1.1, junk"), &trusted).is_err());
        // spoofed junk left of the real client is never read
        assert!(resolve(peer, &h("junk, 1.1.1.1"), &trusted).is_ok());
        assert_eq!(resolve(peer, &HeaderMap::new(), &trusted).unwrap(), peer);
    }

    #[test]
    fn ipv6_keys_use_the_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::1".parse().unwrap();
        assert_eq!(key(a, 64), key(b, 64));
        assert_ne!(key(a, 128), key(b, 128));
        assert_eq!(
            canonical("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }
}

//! Header names the gateway reads or sets, and the header lists it applies to every message:
//! hop-by-hop fields (one list, for requests, responses and the upstream client), the
//! upstream's identity fields, and the fields only the gateway may set.

use http::header::{self, HeaderMap, HeaderName};
use std::fmt::Write as _;
use std::net::IpAddr;

/// `X-Request-Id`: set on every response and on every request sent upstream.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-RateLimit-Limit` (the burst of the most restrictive limit).
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset` (seconds).
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// `RateLimit-Policy` (IETF draft): one item per limit.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (IETF draft): the state of each limit.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Hop-by-hop fields (RFC 9110 7.6.1 and the usual non-standard ones), lower-case: never
/// passed on in either direction. The only list of them in the crate.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Response fields that name the upstream's software: removed from every response.
pub const UPSTREAM_IDENTITY: [&str; 4] = [
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
];

/// Request headers the gateway always owns: it sets them itself (or they carry identity or
/// client-address claims an upstream may trust), so a client's copies never reach upstreams.
pub const OWNED_HEADERS: [&str; 11] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "x-request-id",
    "x-consumer-id",
];

/// Whether `name` is one of [`HOP_BY_HOP`], in any case, compared without building a
/// `HeaderName` (the upstream client calls it on raw response fields).
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// Whether `name` is one of [`UPSTREAM_IDENTITY`].
pub fn is_upstream_identity(name: &HeaderName) -> bool {
    UPSTREAM_IDENTITY.contains(&name.as_str())
}

/// Removes hop-by-hop headers, including those named in `Connection`. One pass over the names
/// first: most messages carry none, and each removal is a hash lookup.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    if !h.keys().any(|n| is_hop_by_hop(n.as_str().as_bytes())) {
        return;
    }
    if h.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = h
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for n in named {
            h.remove(n);
        }
    }
    for n in HOP_BY_HOP {
        h.remove(n);
    }
}

/// Removes the [`UPSTREAM_IDENTITY`] fields (one pass over the names first).
pub fn strip_upstream_identity(h: &mut HeaderMap) {
    if h.keys().any(is_upstream_identity) {
        for n in UPSTREAM_IDENTITY {
            h.remove(n);
        }
    }
}

/// The start of a `Forwarded` element for `client`: `for=…;proto=…` (RFC 7239, IPv6 quoted
/// and bracketed).
pub fn forwarded_prefix(client: IpAddr, proto: &str) -> String {
    let mut fwd = String::with_capacity(64);
    let _ = match client {
        IpAddr::V4(v4) => write!(fwd, "for={v4};proto={proto}"),
        IpAddr::V6(v6) => write!(fwd, "for=\"[{v6}]\";proto={proto}"),
    };
    fwd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        assert!(HOP_BY_HOP.iter().all(|n| is_hop_by_hop(n.as_bytes())));
        assert!(is_hop_by_hop(b"Transfer-Encoding"), "any case");
        assert!(
            UPSTREAM_IDENTITY
                .iter()
                .all(|n| is_upstream_identity(&HeaderName::from_static(n)))
        );
        assert!(!is_hop_by_hop(b"x-kept"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn header_lists_are_lower_case_header_names() {
        for n in HOP_BY_HOP
            .iter()
            .chain(&UPSTREAM_IDENTITY)
            .chain(&OWNED_HEADERS)
        {
            assert_eq!(HeaderName::from_static(n).as_str(), *n);
        }
    }
}

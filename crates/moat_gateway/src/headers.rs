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

/// The fields of `h` named in `list` (lower-case), by their place in the list; `None` when
/// there is none. One pass over the names and no lookup: most messages carry none.
fn find_listed<const N: usize>(h: &HeaderMap, list: &[&str; N]) -> Option<[Option<HeaderName>; N]> {
    let mut found: Option<[Option<HeaderName>; N]> = None;
    for name in h.keys() {
        if let Some(i) = list.iter().position(|l| *l == name.as_str()) {
            found.get_or_insert_with(|| std::array::from_fn(|_| None))[i] = Some(name.clone());
        }
    }
    found
}

/// Removes hop-by-hop headers: first those named in `Connection`, then the [`HOP_BY_HOP`]
/// fields present, in the list's order (a removal moves the last field into its place, so the
/// order of removals decides the order of what stays).
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let Some(found) = find_listed(h, &HOP_BY_HOP) else {
        return;
    };
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
    for n in found.into_iter().flatten() {
        h.remove(n);
    }
}

/// Removes the [`UPSTREAM_IDENTITY`] fields present, in the list's order.
pub fn strip_upstream_identity(h: &mut HeaderMap) {
    if let Some(found) = find_listed(h, &UPSTREAM_IDENTITY) {
        for n in found.into_iter().flatten() {
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
        assert!(!is_hop_by_hop(b"x-kept"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn the_fields_left_keep_the_order_they_had_when_removed_by_name() {
        let fields = [
            ("content-type", "a"),
            ("x-powered-by", "b"),
            ("connection", "x-one"),
            ("x-one", "c"),
            ("server", "d"),
            ("keep-alive", "e"),
            ("x-two", "f"),
            ("x-three", "g"),
        ];
        let mut h = HeaderMap::new();
        for (k, v) in fields {
            h.insert(k, v.parse().unwrap());
        }
        // the removals one name after another, as before the lists were searched in one pass
        let mut expected = h.clone();
        expected.remove("x-one");
        for n in HOP_BY_HOP.iter().chain(&UPSTREAM_IDENTITY) {
            expected.remove(*n);
        }
        strip_hop_by_hop(&mut h);
        strip_upstream_identity(&mut h);
        let names = |m: &HeaderMap| m.keys().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(names(&h), names(&expected));
        assert_eq!(names(&h), ["content-type", "x-three", "x-two"]);
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

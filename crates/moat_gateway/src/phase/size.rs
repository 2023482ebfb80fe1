//! Size limits: the request head before anything reads it ([`head`]: target length, header
//! count and bytes), and the declared body size once the route is known ([`body`]). A body
//! that goes over the route's limit or stalls while it streams is cut by
//! [`crate::body::LimitedBody`] and refused with [`BODY_TOO_LARGE`] or [`BODY_TIMEOUT`].

use super::Reject;
use crate::plan::ConnLimits;
use http::header::{self, HeaderMap};
use http::{StatusCode, Uri};

/// The request target is longer than `max_uri_bytes`.
pub const URI_TOO_LONG: Reject = Reject::new(
    StatusCode::URI_TOO_LONG,
    "uri_too_long",
    "request target too long",
);

/// More header fields than `max_header_count`, or more bytes than `max_header_bytes`.
pub const HEADERS_TOO_LARGE: Reject = Reject::new(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "headers_too_large",
    "request headers too large",
);

/// The body is (or says it is) larger than the route's `max_body_bytes`.
pub const BODY_TOO_LARGE: Reject = Reject::new(
    StatusCode::PAYLOAD_TOO_LARGE,
    "body_too_large",
    "request body too large",
);

/// The body stalled longer than the route's `body_idle_timeout`.
pub const BODY_TIMEOUT: Reject = Reject::new(
    StatusCode::REQUEST_TIMEOUT,
    "body_timeout",
    "request body timed out",
);

/// Checks the request target and the header fields against the connection limits (each
/// field counted as name, value and 4 bytes of framing).
pub fn head(uri: &Uri, headers: &HeaderMap, limits: &ConnLimits) -> Result<(), Reject> {
    let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > limits.max_uri_bytes {
        return Err(URI_TOO_LONG);
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers.len() > limits.max_header_count || header_bytes > limits.max_header_bytes {
        return Err(HEADERS_TOO_LARGE);
    }
    Ok(())
}

/// Checks the declared `Content-Length` and the body's own lower size bound against the
/// route's `max_body`.
pub fn body(headers: &HeaderMap, size_hint_lower: u64, max_body: u64) -> Result<(), Reject> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) || size_hint_lower > max_body {
        return Err(BODY_TOO_LARGE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;

    #[test]
    fn head_limits_map_to_414_and_431() {
        let mut limits = plan("[[route]]\nname = \"r\"\nupstream = \"api\"\n").conn;
        limits.max_header_count = 2;
        limits.max_header_bytes = 64;
        limits.max_uri_bytes = 8;
        let ok: Uri = "/1234567".parse().unwrap();
        let long: Uri = "/12345678".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(head(&ok, &h, &limits), Ok(()));
        let e = head(&long, &h, &limits).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (414, "uri_too_long", None)
        );
        h.insert("a", "1".parse().unwrap());
        h.insert("b", "1".parse().unwrap());
        assert_eq!(head(&ok, &h, &limits), Ok(()));
        h.insert("c", "1".parse().unwrap());
        let e = head(&ok, &h, &limits).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (431, "headers_too_large", None)
        );
        let mut big = HeaderMap::new();
        big.insert("x", "v".repeat(60).parse().unwrap());
        assert_eq!(head(&ok, &big, &limits), Err(HEADERS_TOO_LARGE));
    }

    #[test]
    fn declared_or_known_body_size_over_the_limit_is_413() {
        let mut h = HeaderMap::new();
        assert_eq!(body(&h, 10, 10), Ok(()));
        assert_eq!(body(&h, 11, 10), Err(BODY_TOO_LARGE));
        h.insert(header::CONTENT_LENGTH, "11".parse().unwrap());
        let e = body(&h, 0, 10).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (413, "body_too_large", None)
        );
        assert_eq!(
            (BODY_TIMEOUT.status.as_u16(), BODY_TIMEOUT.code),
            (408, "body_timeout")
        );
    }
}

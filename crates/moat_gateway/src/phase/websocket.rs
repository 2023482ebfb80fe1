//! WebSocket handshakes: an HTTP/1.1 `GET` with `Connection: upgrade` and `Upgrade: websocket`
//! (RFC 6455 §4.1) is passed to the upstream only on a route with `websocket = true`, and only
//! once every other request phase has let it through. Any other `Upgrade` (`h2c`, or anything
//! on HTTP/1.0) is not an upgrade here: the header is removed as hop-by-hop and the request is
//! proxied as an ordinary one. HTTP/2 has no such handshake: the gateway does not offer RFC
//! 8441's extended CONNECT, so HTTP/2 clients open an HTTP/1.1 connection for WebSockets.

use super::{Metric, Reject};
use crate::plan::RoutePlan;
use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Version};

/// A WebSocket handshake on a route without `websocket = true`. 403, as a policy refusal of a
/// well-formed request (an Envoy route without the upgrade type answers the same): not 400,
/// nothing is malformed; not 426, which asks the client *to* upgrade; and never a silent
/// downgrade to a plain `GET` (what NGINX does without its `Upgrade` directives), which an
/// upstream might answer in a way the client reads as a broken WebSocket.
pub const WEBSOCKET_NOT_ALLOWED: Reject = Reject::new(
    StatusCode::FORBIDDEN,
    "websocket_not_allowed",
    "WebSocket upgrades are not allowed on this route",
)
.counted(Metric::Rejected("websocket"));

/// A WebSocket handshake that is not a `GET` without a body (RFC 6455 §4.1).
pub const BAD_HANDSHAKE: Reject = Reject::new(
    StatusCode::BAD_REQUEST,
    "bad_websocket_handshake",
    "a WebSocket handshake is a GET request without a body",
)
.counted(Metric::Rejected("websocket"));

/// Whether `list` (a comma-separated header value) holds `token`, in any case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&c| c == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether the request asks for a WebSocket upgrade: HTTP/1.1, `Connection` naming `upgrade`
/// and `Upgrade` listing `websocket`.
pub fn asks_for_websocket(version: Version, headers: &HeaderMap) -> bool {
    version == Version::HTTP_11
        && has_token(headers, header::CONNECTION, "upgrade")
        && has_token(headers, header::UPGRADE, "websocket")
}

/// Decides on a WebSocket handshake: `Ok(true)` for one the route passes on, `Ok(false)` for
/// a request that is not one.
pub fn handshake(
    route: &RoutePlan,
    version: Version,
    method: &Method,
    headers: &HeaderMap,
) -> Result<bool, Reject> {
    if !asks_for_websocket(version, headers) {
        return Ok(false);
    }
    if !route.websocket {
        return Err(WEBSOCKET_NOT_ALLOWED);
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if method != Method::GET || has_body {
        return Err(BAD_HANDSHAKE);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::{plan, rendered};

    fn headers(fields: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in fields {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_an_http_1_1_websocket_upgrade_is_a_handshake_and_only_allowed_routes_take_it() {
        let p = plan(
            "[[route]]\nname = \"ws\"\npath_prefix = \"/ws\"\nupstream = \"api\"\nwebsocket = true\n\n[[route]]\nname = \"plain\"\nupstream = \"api\"\n",
        );
        let ws = p.route(None, "/ws").unwrap();
        let plain = p.route(None, "/x").unwrap();
        let upgrade = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
        ]);
        let get = Method::GET;
        assert_eq!(handshake(ws, Version::HTTP_11, &get, &upgrade), Ok(true));
        // split over several fields
        let split = headers(&[
            ("connection", "keep-alive"),
            ("connection", "upgrade"),
            ("upgrade", "h2c, websocket"),
        ]);
        assert_eq!(handshake(ws, Version::HTTP_11, &get, &split), Ok(true));
        for (version, fields) in [
            (Version::HTTP_11, &[("upgrade", "websocket")][..]),
            (Version::HTTP_11, &[("connection", "upgrade")][..]),
            (
                Version::HTTP_11,
                &[("connection", "upgrade"), ("upgrade", "h2c")][..],
            ),
            (
                Version::HTTP_11,
                &[("connection", "upgrade"), ("upgrade", "websocketx")][..],
            ),
            (
                Version::HTTP_10,
                &[("connection", "upgrade"), ("upgrade", "websocket")][..],
            ),
        ] {
            let h = headers(fields);
            assert_eq!(
                handshake(plain, version, &get, &h),
                Ok(false),
                "{version:?} {fields:?}"
            );
        }
        let e = handshake(plain, Version::HTTP_11, &get, &upgrade).unwrap_err();
        assert_eq!(e, WEBSOCKET_NOT_ALLOWED);
        let (status, _, body) = rendered(e);
        assert_eq!(status, 403);
        assert!(
            body.contains("\"code\":\"websocket_not_allowed\""),
            "{body}"
        );
        let e = handshake(ws, Version::HTTP_11, &Method::POST, &upgrade).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code),
            (400, "bad_websocket_handshake")
        );
        let mut with_body = upgrade.clone();
        with_body.insert(header::CONTENT_LENGTH, "3".parse().unwrap());
        assert_eq!(
            handshake(ws, Version::HTTP_11, &get, &with_body),
            Err(BAD_HANDSHAKE)
        );
        with_body.insert(header::CONTENT_LENGTH, "0".parse().unwrap());
        assert_eq!(handshake(ws, Version::HTTP_11, &get, &with_body), Ok(true));
    }
}

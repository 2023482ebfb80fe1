//! The request phases: each one a small unit that reads what it needs from the plan and the
//! request and either lets the request on or refuses it with a [`Reject`]. The handler
//! ([`crate::proxy::handle`]) runs them in this order, and turns a rejection into the
//! response, the access-log entry and the metric in one place:
//!
//! 1. [`size::head`]: request target and header sizes (414, 431), before anything reads them.
//! 2. [`target`]: one host ([`target::host`]) and one canonical path
//!    ([`target::canonical_path`]), before anything decides on them (400).
//! 3. [`client_address::resolve`]: the peer, or `X-Forwarded-For` through trusted proxies
//!    only; fails closed (400).
//! 4. [`route`]: the route for the host and path ([`route::select`], 404), then its methods
//!    ([`route::method`], 405), then whether it takes a WebSocket handshake
//!    ([`websocket::handshake`], 403 when it does not, 400 for a handshake that is not a
//!    `GET` without a body). The handshake then meets every later phase like any request.
//! 5. [`ip_rules::check`]: the route's allow and deny lists, deny winning (403).
//! 6. [`ban::check`]: an address banned by a `[[ban]]` rule (403 with `Retry-After`), before
//!    its credentials are looked at (no key guessing while banned) and before the rate limit
//!    (no budget spent). Offences are counted after the answer, in the handler.
//! 7. [`ownership::strip`]: header names with `_` and the client's copies of the headers the
//!    gateway owns (400 when the route rejects underscores).
//! 8. [`auth::authenticate`]: the API key, and credentials removed on every route (401, 500);
//!    [`auth::jwt`] on a JWT route (401 `invalid_token`, 403 `insufficient_scope`).
//! 9. [`rate_limit::check`]: every limit of the route in order, through the limit store
//!    (429).
//! 10. [`size::body`]: the declared body size (413). The streaming limits ([`size::BODY_TOO_LARGE`],
//!     [`size::BODY_TIMEOUT`]) apply while the upstream exchange reads the body.
//!
//! The upstream exchange ([`crate::proxy`]) refuses with the same type.

pub mod auth;
pub mod ban;
pub mod client_address;
pub mod ip_rules;
pub mod ownership;
pub mod rate_limit;
pub mod route;
pub mod size;
pub mod target;
pub mod websocket;

use crate::metrics::Metrics;
use crate::util::{Body, json_error};
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};

/// The counter a rejection adds one to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `moat_gateway_rejected_total{reason}`.
    Rejected(&'static str),
    /// `moat_gateway_auth_failures_total{reason}`.
    AuthFailure(&'static str),
    /// `moat_gateway_upstream_errors_total{upstream, kind}`, for the upstream group of the
    /// request's route.
    UpstreamError(&'static str),
}

/// Why the gateway answers a request itself: the status, the stable error code (the JSON
/// body's `error.code` and the access log's `error.code`), the message of the JSON body, the
/// counter it adds to, and at most one header the answer needs (`Allow`, `WWW-Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Response status.
    pub status: StatusCode,
    /// Stable error code.
    pub code: &'static str,
    /// Message of the JSON body (never a secret, never what the client sent).
    pub message: &'static str,
    /// The counter it adds to, if any.
    pub metric: Option<Metric>,
    /// A header of the answer (boxed: only a few rejections carry one, and every phase
    /// returns the type).
    pub header: Option<Box<(HeaderName, HeaderValue)>>,
}

impl Reject {
    /// A rejection counted nowhere but in the request metrics.
    pub const fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            code,
            message,
            metric: None,
            header: None,
        }
    }

    /// The same, also counted in `metric`.
    #[must_use]
    pub const fn counted(mut self, metric: Metric) -> Self {
        self.metric = Some(metric);
        self
    }

    /// The same, with `name: value` in the answer.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.header = Some(Box::new((name, value)));
        self
    }

    /// Adds one to its counter; `upstream` is the request's upstream group.
    pub fn count(&self, metrics: &Metrics, upstream: Option<&str>) {
        match self.metric {
            None => {}
            Some(Metric::Rejected(reason)) => metrics.rejected(reason),
            Some(Metric::AuthFailure(reason)) => metrics.auth_failure(reason),
            Some(Metric::UpstreamError(kind)) => {
                if let Some(group) = upstream {
                    metrics.upstream_error(group, kind);
                }
            }
        }
    }

    /// The JSON error response (before response hardening).
    pub fn into_response(self) -> Response<Body> {
        let mut r = json_error(self.status, self.code, self.message);
        if let Some(h) = self.header {
            let (name, value) = *h;
            r.headers_mut().insert(name, value);
        }
        r
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{BuildOptions, Plan};
    use http_body_util::BodyExt;

    /// A plan from config text with a plain listener and one upstream `api` (no secrets read).
    pub(crate) fn plan(extra: &str) -> Plan {
        let text = format!(
            "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[upstream.api]\ntargets = [\"127.0.0.1:9\"]\n\n{extra}"
        );
        let parsed = crate::config::parse_str("t.toml", &text).unwrap();
        let opts = BuildOptions {
            base_dir: ".".into(),
            load_secrets: false,
            connect: false,
        };
        crate::plan::build(&parsed, &opts, None).unwrap()
    }

    /// The status, the headers (in order) and the body of a rejection's response.
    pub(crate) fn rendered(r: Reject) -> (u16, Vec<(String, String)>, String) {
        let resp = r.into_response();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = futures_body(resp.into_body());
        (status, headers, body)
    }

    fn futures_body(b: Body) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt.block_on(b.collect()).unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_rejection_renders_as_the_json_error_with_its_header() {
        let r = Reject::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        )
        .with_header(http::header::ALLOW, HeaderValue::from_static("GET"));
        assert_eq!(
            rendered(r),
            (
                405,
                vec![
                    ("content-type".into(), "application/json".into()),
                    ("cache-control".into(), "no-store".into()),
                    ("allow".into(), "GET".into()),
                ],
                r#"{"error":{"code":"method_not_allowed","message":"method not allowed","status":405}}"#
                    .into()
            )
        );
    }

    #[test]
    fn each_metric_goes_to_its_counter() {
        let m = Metrics::default();
        let r = |metric| Reject::new(StatusCode::BAD_REQUEST, "x", "x").counted(metric);
        r(Metric::Rejected("bad_host")).count(&m, None);
        r(Metric::AuthFailure("missing")).count(&m, None);
        r(Metric::UpstreamError("timeout")).count(&m, Some("api"));
        Reject::new(StatusCode::NOT_FOUND, "no_route", "x").count(&m, Some("api"));
        let text = m.render(&[]);
        for line in [
            "moat_gateway_rejected_total{reason=\"bad_host\"} 1",
            "moat_gateway_auth_failures_total{reason=\"missing\"} 1",
            "moat_gateway_upstream_errors_total{upstream=\"api\",kind=\"timeout\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}

//! The route: chosen by the request's host and canonical path ([`crate::plan::Plan::route`]),
//! then the request's method checked against the route's list (with `Allow` in the answer).

use super::Reject;
use crate::plan::{Plan, RoutePlan};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

/// No route matches the host and path.
pub const NO_ROUTE: Reject = Reject::new(
    StatusCode::NOT_FOUND,
    "no_route",
    "no route for this request",
);

/// The route does not accept the method (answered with `Allow`).
pub const METHOD_NOT_ALLOWED: Reject = Reject::new(
    StatusCode::METHOD_NOT_ALLOWED,
    "method_not_allowed",
    "method not allowed",
);

/// The route for `host` (lower-case, no port) and the canonical `path`.
pub fn select<'p>(plan: &'p Plan, host: Option<&str>, path: &str) -> Result<&'p RoutePlan, Reject> {
    plan.route(host, path).ok_or(NO_ROUTE)
}

/// Checks `method` against the route's methods.
pub fn method(route: &RoutePlan, method: &Method) -> Result<(), Reject> {
    if route.methods.contains(method) {
        return Ok(());
    }
    let allow: Vec<&str> = route.methods.iter().map(Method::as_str).collect();
    Err(match HeaderValue::from_str(&allow.join(", ")) {
        Ok(v) => METHOD_NOT_ALLOWED.with_header(header::ALLOW, v),
        Err(_) => METHOD_NOT_ALLOWED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;

    #[test]
    fn no_route_is_404_and_a_wrong_method_405_with_allow() {
        let p = plan(
            "[[route]]\nname = \"r\"\npath_prefix = \"/api\"\nupstream = \"api\"\nmethods = [\"GET\", \"POST\"]\n",
        );
        let e = select(&p, None, "/other").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (404, "no_route", None)
        );
        let r = select(&p, Some("any.test"), "/api/x").unwrap();
        assert_eq!(r.name, "r");
        assert_eq!(method(r, &Method::POST), Ok(()));
        let e = method(r, &Method::DELETE).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (405, "method_not_allowed", None)
        );
        assert_eq!(
            e.header.as_deref(),
            Some(&(header::ALLOW, HeaderValue::from_static("GET, POST")))
        );
    }
}

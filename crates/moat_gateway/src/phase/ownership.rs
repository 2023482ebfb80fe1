//! Headers the upstream can trust: header names with `_` per the route's policy (which CGI,
//! WSGI, PHP and Rack merge with their `-` spelling), and the client's copies of the headers
//! the gateway owns, in every spelling. The gateway sets its own values after hop-by-hop
//! processing, in the upstream exchange.

use super::{Metric, Reject};
use crate::canonical;
use crate::headers::X_FORWARDED_FOR;
use crate::plan::{Plan, RoutePlan, Underscores};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName};

/// A header name with `_` on a route that rejects them.
pub const UNDERSCORE: Reject = Reject::new(
    StatusCode::BAD_REQUEST,
    "bad_header",
    "header names with `_` are not accepted",
)
.counted(Metric::Rejected("bad_header"));

/// Removes what the upstream must not take from the client. `keep_xff`: the peer is a trusted
/// proxy whose `X-Forwarded-For` chain is extended. One pass over the names first: most
/// requests carry none.
pub fn strip(
    plan: &Plan,
    route: &RoutePlan,
    h: &mut HeaderMap,
    keep_xff: bool,
) -> Result<(), Reject> {
    let key_header = plan.keys.as_ref().map(|k| &k.header);
    let remove = |name: &HeaderName| -> Result<bool, Reject> {
        let n = name.as_str();
        if n.contains('_') {
            return match route.underscores {
                Underscores::Reject => Err(UNDERSCORE),
                Underscores::Drop => Ok(true),
                Underscores::Allow => Ok(plan
                    .owned
                    .iter()
                    .chain(key_header)
                    .any(|o| canonical::same_field(n, o.as_str()))),
            };
        }
        Ok(plan.owned.iter().any(|o| o == name) && !(keep_xff && name == X_FORWARDED_FOR))
    };
    let mut found = false;
    for name in h.keys() {
        found |= remove(name)?;
    }
    if found {
        let names: Vec<HeaderName> = h
            .keys()
            .filter(|n| remove(n).unwrap_or(true))
            .cloned()
            .collect();
        for n in names {
            h.remove(n);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;

    #[test]
    fn underscores_are_refused_dropped_or_kept_and_owned_headers_removed() {
        let p = plan(
            "[[route]]\nname = \"drop\"\nupstream = \"api\"\n\n[[route]]\nname = \"reject\"\npath_prefix = \"/r\"\nupstream = \"api\"\nheader_underscores = \"reject\"\n",
        );
        let drop = p.route(None, "/").unwrap();
        let reject = p.route(None, "/r").unwrap();
        let headers = || {
            let mut h = HeaderMap::new();
            h.insert("x_user", "1".parse().unwrap());
            h.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
            h.insert("x-kept", "1".parse().unwrap());
            h
        };
        let mut h = headers();
        let e = strip(&p, reject, &mut h, false).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (400, "bad_header", Some(Metric::Rejected("bad_header")))
        );
        let mut h = headers();
        assert_eq!(strip(&p, drop, &mut h, false), Ok(()));
        assert_eq!(
            h.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-kept"]
        );
        let mut h = headers();
        assert_eq!(strip(&p, drop, &mut h, true), Ok(()));
        assert!(
            h.contains_key("x-forwarded-for"),
            "a trusted peer's chain is kept"
        );
    }
}

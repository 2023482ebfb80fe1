//! IP allow and deny lists of the route, on the resolved client address: a denied address is
//! refused, and so is one outside a non-empty allow list (deny wins).

use super::{Metric, Reject};
use crate::client_addr::is_trusted;
use crate::plan::RoutePlan;
use http::StatusCode;
use std::net::IpAddr;

/// The client address is denied, or not allowed.
pub const FORBIDDEN: Reject = Reject::new(StatusCode::FORBIDDEN, "forbidden", "access denied")
    .counted(Metric::Rejected("ip_policy"));

/// Checks `client` against the route's lists.
pub fn check(route: &RoutePlan, client: IpAddr) -> Result<(), Reject> {
    if is_trusted(client, &route.deny)
        || (!route.allow.is_empty() && !is_trusted(client, &route.allow))
    {
        return Err(FORBIDDEN);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;

    #[test]
    fn deny_wins_and_allow_lists_are_closed() {
        let p = plan(
            "[[route]]\nname = \"open\"\nupstream = \"api\"\n\n[[route]]\nname = \"closed\"\npath_prefix = \"/c\"\nupstream = \"api\"\nallow = [\"10.0.0.0/8\"]\ndeny = [\"10.0.0.1\"]\n",
        );
        let open = p.route(None, "/").unwrap();
        let closed = p.route(None, "/c").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(check(open, ip("203.0.113.1")), Ok(()));
        assert_eq!(check(closed, ip("10.0.0.2")), Ok(()));
        for refused in ["10.0.0.1", "203.0.113.1"] {
            let e = check(closed, ip(refused)).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code, e.metric),
                (403, "forbidden", Some(Metric::Rejected("ip_policy")))
            );
        }
    }
}

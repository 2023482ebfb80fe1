//! The client address: the peer, or `X-Forwarded-For` walked right to left through trusted
//! proxies only ([`crate::client_addr::resolve`]). An address that cannot be decided refuses
//! the request (fails closed).

use super::{Metric, Reject};
use http::{HeaderMap, StatusCode};
use ipnet::IpNet;
use std::net::IpAddr;

/// The address cannot be determined.
pub const UNDECIDABLE: Reject = Reject::new(
    StatusCode::BAD_REQUEST,
    "bad_forwarded_for",
    "the client address cannot be determined",
)
.counted(Metric::Rejected("client_address"));

/// The client address of a request that arrived from `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Result<IpAddr, Reject> {
    crate::client_addr::resolve(peer, headers, trusted).map_err(|_| UNDECIDABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecidable_address_fails_closed() {
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(
            resolve(peer, &h, &trusted),
            Ok("198.51.100.7".parse().unwrap())
        );
        h.insert("x-forwarded-for", "1.1.1.1, garbage".parse().unwrap());
        let e = resolve(peer, &h, &trusted).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (
                400,
                "bad_forwarded_for",
                Some(Metric::Rejected("client_address"))
            )
        );
        // an untrusted peer is the client, whatever it claims
        let other: IpAddr = "203.0.113.1".parse().unwrap();
        assert_eq!(resolve(other, &h, &trusted), Ok(other));
    }
}

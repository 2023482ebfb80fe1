//! One host and one path, before anything decides on them: the request's single host
//! ([`crate::canonical::request_host`]) and its path in canonical form
//! ([`crate::canonical::canonical_path`], by the plan's path rules), which replaces the path
//! the client sent.

use super::{Metric, Reject};
use crate::canonical::{self, Host, PathRules};
use http::uri::PathAndQuery;
use http::{Request, StatusCode, Uri};

const fn bad_host(message: &'static str) -> Reject {
    Reject::new(StatusCode::BAD_REQUEST, "bad_host", message).counted(Metric::Rejected("bad_host"))
}

const fn bad_path(message: &'static str) -> Reject {
    Reject::new(StatusCode::BAD_REQUEST, "bad_path", message).counted(Metric::Rejected("bad_path"))
}

/// The request's one host (`None` when it names none).
pub fn host<B>(req: &Request<B>) -> Result<Option<Host>, Reject> {
    canonical::request_host(req).map_err(|e| bad_host(e.message()))
}

/// Replaces the request's path with its canonical form (the query is kept as sent); returns
/// the canonical target when it differs from what the client sent, for the log.
pub fn canonical_path<B>(
    req: &mut Request<B>,
    rules: &PathRules,
) -> Result<Option<PathAndQuery>, Reject> {
    let canonical = match canonical::canonical_path(req.uri().path(), rules) {
        Ok(std::borrow::Cow::Borrowed(_)) => return Ok(None),
        Ok(std::borrow::Cow::Owned(p)) => p,
        Err(e) => return Err(bad_path(e.message())),
    };
    let target = match req.uri().query() {
        Some(q) => format!("{canonical}?{q}"),
        None => canonical,
    };
    let invalid = || bad_path("invalid request target");
    let pq = PathAndQuery::try_from(target).map_err(|_| invalid())?;
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(pq.clone());
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| invalid())?;
    Ok(Some(pq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;

    #[test]
    fn two_hosts_and_bad_paths_map_to_400() {
        let req = Request::builder()
            .uri("/")
            .header("host", "a.test")
            .header("host", "b.test")
            .body(())
            .unwrap();
        let e = host(&req).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (400, "bad_host", Some(Metric::Rejected("bad_host")))
        );
        assert_eq!(e.message, "more than one Host header");

        let p = plan("[[route]]\nname = \"r\"\nupstream = \"api\"\n");
        let mut req = Request::builder().uri("/a%zz?q=1").body(()).unwrap();
        let e = canonical_path(&mut req, &p.paths);
        let mut dots = Request::builder().uri("/a/../b?q=1").body(()).unwrap();
        assert_eq!(
            canonical_path(&mut dots, &p.paths),
            Ok(Some(PathAndQuery::from_static("/b?q=1")))
        );
        assert_eq!(dots.uri(), "/b?q=1");
        let mut same = Request::builder().uri("/b").body(()).unwrap();
        assert_eq!(canonical_path(&mut same, &p.paths), Ok(None));
        let e = e.unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (400, "bad_path", Some(Metric::Rejected("bad_path")))
        );
    }
}

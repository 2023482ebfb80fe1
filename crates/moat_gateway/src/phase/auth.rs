//! Authentication by API key ([`crate::auth::ApiKeys`]): on a route that requires it, the key
//! from the configured header (`Authorization: Bearer KEY` or a header of its own) or query
//! parameter names the consumer; on every route, the gateway's credentials are removed before
//! the request goes on (a bearer token only when it is one of the gateway's keys: it may be
//! the upstream's own credential).
//!
//! Authentication by JWT ([`jwt`]): on a route with `auth = "jwt"`, exactly one
//! `Authorization: Bearer TOKEN`, verified by [`crate::jwt::Verifier`]; a chosen claim names
//! the consumer. The token is removed unless the route forwards it.

use super::{Metric, Reject};
use crate::jwt::Refusal;
use crate::plan::{JwtAuth, JwtRoute, KeyAuth};
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{StatusCode, Uri};

/// The route requires a key and no keys are configured.
pub const UNAVAILABLE: Reject = Reject::new(
    StatusCode::INTERNAL_SERVER_ERROR,
    "auth_unavailable",
    "authentication is not configured",
);

/// No key, or one that is not known (`reason`: `missing` or `invalid`); answered with the
/// challenge for the configured scheme.
fn unauthorized(ka: &KeyAuth, reason: &'static str) -> Reject {
    let r = Reject::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required",
    )
    .counted(Metric::AuthFailure(reason));
    let challenge = if ka.bearer {
        "Bearer realm=\"moat\"".to_string()
    } else {
        format!("ApiKey realm=\"moat\", header=\"{}\"", ka.header)
    };
    match HeaderValue::from_str(&challenge) {
        Ok(v) => r.with_header(header::WWW_AUTHENTICATE, v),
        Err(_) => r,
    }
}

/// Authenticates a request on a route that `required` a key, and removes the gateway's
/// credentials from `parts` on every route. Returns the consumer id when authenticated.
pub fn authenticate<'p>(
    keys: Option<&'p KeyAuth>,
    required: bool,
    parts: &mut Parts,
) -> Result<Option<&'p str>, Reject> {
    if required {
        let Some(ka) = keys else {
            return Err(UNAVAILABLE);
        };
        let mut presented: Option<Vec<u8>> = None;
        if let Some(v) = parts.headers.get(&ka.header) {
            let b = v.as_bytes();
            presented = if ka.bearer {
                bearer_token(b).map(<[u8]>::to_vec)
            } else {
                Some(b.to_vec())
            };
        }
        parts.headers.remove(&ka.header);
        if let Some(q) = &ka.query {
            let (found, rest) = take_query_param(parts.uri.query(), q);
            // the query is rewritten only when it held the key: other queries pass unchanged
            if found.is_some() {
                parts.uri = with_query(&parts.uri, rest.as_deref());
            }
            if presented.is_none() {
                presented = found;
            }
        }
        let Some(k) = presented else {
            return Err(unauthorized(ka, "missing"));
        };
        return match ka.keys.lookup(&k) {
            Some(id) => Ok(Some(id)),
            None => Err(unauthorized(ka, "invalid")),
        };
    }
    if let Some(ka) = keys {
        if let Some(v) = parts.headers.get(&ka.header) {
            let own = !ka.bearer
                || bearer_token(v.as_bytes()).is_some_and(|k| ka.keys.lookup(k).is_some());
            if own {
                parts.headers.remove(&ka.header);
            }
        }
        if let Some(q) = &ka.query
            && let (Some(_), rest) = take_query_param(parts.uri.query(), q)
        {
            parts.uri = with_query(&parts.uri, rest.as_deref());
        }
    }
    Ok(None)
}

/// A route asks for a JWT and `[jwt]` could not be used.
pub const JWT_UNAVAILABLE: Reject = Reject::new(
    StatusCode::INTERNAL_SERVER_ERROR,
    "auth_unavailable",
    "authentication is not configured",
);

/// A JWT refusal as an answer: 401 `invalid_token` (or without an error code when no token
/// was sent, RFC 6750 §3.1), 403 `insufficient_scope`; the challenge names what failed,
/// never the token.
fn jwt_refusal(refusal: Option<&Refusal>) -> Reject {
    let (r, challenge) = match refusal {
        None => (
            Reject::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a bearer token is required",
            )
            .counted(Metric::AuthFailure("missing")),
            "Bearer realm=\"moat\"".to_string(),
        ),
        Some(f @ Refusal::InvalidToken(why)) => (
            // `why` is one of the verifier's fixed texts
            Reject::new(StatusCode::UNAUTHORIZED, "invalid_token", why)
                .counted(Metric::AuthFailure("invalid")),
            f.challenge("moat"),
        ),
        Some(f @ Refusal::InsufficientScope(_)) => (
            Reject::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token does not grant what the route requires",
            )
            .counted(Metric::AuthFailure("insufficient_scope")),
            f.challenge("moat"),
        ),
    };
    match HeaderValue::from_str(&challenge) {
        Ok(v) => r.with_header(header::WWW_AUTHENTICATE, v),
        Err(_) => r,
    }
}

/// Authenticates a request on a JWT route: the consumer id of a valid token. More than one
/// `Authorization` header is refused (which one would the upstream read?). The token is
/// removed unless the route forwards it.
pub fn jwt(jwt: Option<&JwtAuth>, route: &JwtRoute, parts: &mut Parts) -> Result<String, Reject> {
    let Some(ja) = jwt else {
        return Err(JWT_UNAVAILABLE);
    };
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let (first, second) = (values.next(), values.next());
    let token = match (first, second) {
        (None, _) => return Err(jwt_refusal(None)),
        (Some(_), Some(_)) => {
            return Err(jwt_refusal(Some(&Refusal::InvalidToken(
                "more than one Authorization header",
            ))));
        }
        (Some(v), None) => match bearer_token(v.as_bytes()).map(std::str::from_utf8) {
            Some(Ok(t)) => t.to_string(),
            _ => {
                return Err(jwt_refusal(Some(&Refusal::InvalidToken(
                    "not a Bearer token",
                ))));
            }
        },
    };
    let verified = ja
        .verifier
        .verify(&token, &route.claims)
        .map_err(|f| jwt_refusal(Some(&f)))?;
    if !route.forward_token {
        parts.headers.remove(header::AUTHORIZATION);
    }
    Ok(verified.consumer)
}

/// The token of an `Authorization: Bearer TOKEN` value. The scheme is case-insensitive (RFC
/// 9110 §11.1) and may be followed by several spaces or tabs: a gateway key sent as
/// `BEARER key` is the gateway's, recognised and removed like any other spelling, never passed
/// on to the upstream.
fn bearer_token(v: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = v.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || !matches!(rest.first(), Some(b' ' | b'\t')) {
        return None;
    }
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = rest.iter().position(|b| !blank(b))?;
    let end = rest.iter().rposition(|b| !blank(b))? + 1;
    Some(&rest[start..end])
}

/// Removes `name` from a query string, returning its first value and the rest.
pub fn take_query_param(query: Option<&str>, name: &str) -> (Option<Vec<u8>>, Option<String>) {
    let Some(q) = query else { return (None, None) };
    let mut found = None;
    let mut kept = Vec::new();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k) == name.as_bytes() {
            if found.is_none() {
                found = Some(percent_decode(v));
            }
        } else if !pair.is_empty() {
            kept.push(pair);
        }
    }
    let rest = (!kept.is_empty()).then(|| kept.join("&"));
    (found, rest)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn with_query(uri: &Uri, query: Option<&str>) -> Uri {
    let pq = match query {
        Some(q) => format!("{}?{q}", uri.path()),
        None => uri.path().to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ApiKeys;
    use http::HeaderName;

    fn keys(bearer: bool) -> KeyAuth {
        KeyAuth {
            keys: ApiKeys::parse("alice:alice-0123456789abcdef").unwrap(),
            header: if bearer {
                header::AUTHORIZATION
            } else {
                HeaderName::from_static("x-api-key")
            },
            bearer,
            query: Some("api_key".into()),
            consumer_header: HeaderName::from_static("x-consumer-id"),
        }
    }

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn missing_and_invalid_keys_are_401_with_the_challenge() {
        let ka = keys(false);
        let e = authenticate(Some(&ka), true, &mut parts("/", &[])).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (401, "unauthorized", Some(Metric::AuthFailure("missing")))
        );
        assert_eq!(
            e.header.as_deref(),
            Some(&(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("ApiKey realm=\"moat\", header=\"x-api-key\"")
            ))
        );
        let e =
            authenticate(Some(&ka), true, &mut parts("/", &[("x-api-key", "nope")])).unwrap_err();
        assert_eq!(e.metric, Some(Metric::AuthFailure("invalid")));
        let bearer = keys(true);
        let e = authenticate(Some(&bearer), true, &mut parts("/", &[])).unwrap_err();
        assert_eq!(
            e.header.map(|h| h.1),
            Some(HeaderValue::from_static("Bearer realm=\"moat\""))
        );
        let e = authenticate(None, true, &mut parts("/", &[])).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (500, "auth_unavailable", None)
        );
    }

    #[test]
    fn keys_identify_and_are_removed_on_every_route() {
        let ka = keys(false);
        let mut p = parts("/x?a=1&api_key=alice-0123456789abcdef", &[]);
        assert_eq!(authenticate(Some(&ka), true, &mut p), Ok(Some("alice")));
        assert_eq!(p.uri, "/x?a=1");
        let mut p = parts("/x?api_key=k", &[("x-api-key", "k")]);
        assert_eq!(authenticate(Some(&ka), false, &mut p), Ok(None));
        assert_eq!((p.uri.to_string().as_str(), p.headers.len()), ("/x", 0));
        // a query without the key passes byte for byte, on routes with and without auth
        for uri in ["/x?a=1&&b=2", "/p?", "/q?a=%41&b"] {
            let mut p = parts(uri, &[]);
            assert_eq!(authenticate(Some(&ka), false, &mut p), Ok(None));
            assert_eq!(p.uri, uri);
            let mut p = parts(uri, &[("x-api-key", "alice-0123456789abcdef")]);
            assert_eq!(authenticate(Some(&ka), true, &mut p), Ok(Some("alice")));
            assert_eq!(p.uri, uri);
        }
        // a bearer token that is not the gateway's stays (the upstream's own credential)
        let bearer = keys(true);
        // the gateway's own key is recognised and removed whatever the scheme's spelling
        for spelling in [
            "Bearer alice-0123456789abcdef",
            "bearer alice-0123456789abcdef",
            "BEARER alice-0123456789abcdef",
            "bEaReR \t alice-0123456789abcdef  ",
        ] {
            let mut p = parts("/", &[("authorization", spelling)]);
            assert_eq!(
                authenticate(Some(&bearer), false, &mut p),
                Ok(None),
                "{spelling:?}"
            );
            assert!(
                !p.headers.contains_key("authorization"),
                "{spelling:?} passed on"
            );
            let mut p = parts("/", &[("authorization", spelling)]);
            assert_eq!(
                authenticate(Some(&bearer), true, &mut p),
                Ok(Some("alice")),
                "{spelling:?}"
            );
        }
        for not_bearer in [
            "Bearer",
            "Bearer ",
            "Bearerx alice-0123456789abcdef",
            "Basic YQ==",
        ] {
            assert_eq!(bearer_token(not_bearer.as_bytes()), None, "{not_bearer:?}");
        }
        let mut p = parts("/", &[("authorization", "Bearer upstream-token")]);
        assert_eq!(authenticate(Some(&bearer), false, &mut p), Ok(None));
        assert!(p.headers.contains_key("authorization"));
    }

    #[test]
    fn query_keys_are_removed() {
        let (k, rest) = take_query_param(Some("a=1&api_key=s%33cret&b=2"), "api_key");
        assert_eq!(k.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(rest.as_deref(), Some("a=1&b=2"));
        let (k, rest) = take_query_param(Some("api_key=x"), "api_key");
        assert_eq!(k.as_deref(), Some(&b"x"[..]));
        assert_eq!(rest, None);
        assert_eq!(percent_decode("%"), b"%");
        assert_eq!(percent_decode("%4"), b"%4");
        assert_eq!(percent_decode("%zz"), b"%zz");
    }
}

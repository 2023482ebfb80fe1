//! The request path: request filters (size limits → one canonical host and path → client
//! address → route → method → header ownership → IP allow/deny → auth → rate limit → body size),
//! the upstream exchange, response hardening, and the logging phase (access log + metrics
//! written in one place).

use crate::access_log::Record;
use crate::body::{ActiveGuard, BODY_STALLED, BODY_TOO_LARGE, LimitedBody, ResponseBody};
use crate::canonical::{self, Host};
use crate::client_addr;
use crate::headers::{
    RATELIMIT, RATELIMIT_POLICY, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO,
    X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, X_RATELIMIT_RESET, X_REQUEST_ID, forwarded_prefix,
    strip_hop_by_hop, strip_upstream_identity,
};
use crate::metrics::method_label;
use crate::plan::{Plan, RoutePlan, Underscores};
use crate::ratelimit::{Decision, KeyKind, Limiter};
use crate::state::{ConnInfo, Shared};
use crate::upstream::{InFlight, idempotent};
use crate::util::{Body, json_error, request_id_header, since_epoch, valid_request_id};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Per limit: (limit, decision).
type LimitReport<'p> = Vec<(&'p Limiter, Decision)>;
/// All limits, the most restrictive decision and its burst.
type LimitHeaders<'p> = (LimitReport<'p>, Decision, u32);

/// What the logging phase needs to know about a request; borrows from the plan in force.
#[derive(Debug)]
struct Ctx<'p> {
    request_id: HeaderValue,
    client: Option<IpAddr>,
    route: Option<&'p str>,
    user: Option<&'p str>,
    rate_limit: Option<&'static str>,
    upstream_addr: Option<&'p str>,
    upstream_took: Option<Duration>,
    error: Option<&'static str>,
    limit_headers: Option<LimitHeaders<'p>>,
    /// The request's one host, once validated.
    host: Option<Host>,
    /// The canonical path and query, when it differs from what the client sent.
    canonical: Option<http::uri::PathAndQuery>,
    /// The peer is a trusted proxy (its `X-Forwarded-For` chain is kept and extended).
    peer_trusted: bool,
}

/// The client's `X-Request-Id` when it is safe to propagate, a fresh one otherwise.
fn request_id_for(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&X_REQUEST_ID)
        .filter(|v| valid_request_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(request_id_header)
}

fn err(ctx: &mut Ctx<'_>, status: StatusCode, code: &'static str, msg: &str) -> Response<Body> {
    ctx.error = Some(code);
    json_error(status, code, msg)
}

/// Handles one request on a public listener.
pub async fn handle<B>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    active: ActiveGuard,
    req: Request<B>,
) -> Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::util::BoxError>,
{
    let started = Instant::now();
    let timestamp = since_epoch();
    let plan = shared.current_plan();
    let method = method_label(req.method());
    let version = req.version();
    // a reference-counted handle on the path, kept for the log after the request moves on
    let path_and_query = req.uri().path_and_query().cloned();
    let mut ctx = Ctx {
        request_id: request_id_for(req.headers()),
        client: None,
        route: None,
        user: None,
        rate_limit: None,
        upstream_addr: None,
        upstream_took: None,
        error: None,
        limit_headers: None,
        host: None,
        canonical: None,
        peer_trusted: false,
    };

    let (resp, in_flight, deadline) =
        match filters_and_proxy(&shared, &plan, &conn, req, &mut ctx).await {
            Ok((r, f, d)) => (r, Some(f), d),
            Err(r) => (r, None, None),
        };
    let mut resp = resp;
    harden(&plan, &conn, &mut ctx, &mut resp);

    // logging phase
    let took = started.elapsed();
    let status = resp.status().as_u16();
    shared
        .metrics
        .request(ctx.route.unwrap_or("-"), status, method, took);
    let original = path_and_query.as_ref().map_or("", |pq| pq.path());
    // the path decided on; the client's spelling beside it when it was different
    let (path, original_path) = match &ctx.canonical {
        Some(c) => (c.path(), Some(truncate_for_log(original))),
        None => (original, None),
    };
    let rec = Record {
        timestamp,
        client_ip: ctx
            .client
            .unwrap_or_else(|| client_addr::canonical(conn.peer.ip())),
        method,
        version: match version {
            Version::HTTP_2 => "2",
            Version::HTTP_10 => "1.0",
            _ => "1.1",
        },
        path: truncate_for_log(path),
        original_path,
        host: ctx.host.as_ref().map(|h| h.name.as_str()),
        status,
        duration_ns: took.as_nanos() as u64,
        user_id: ctx.user,
        rate_limit: ctx.rate_limit,
        route: ctx.route,
        error: ctx.error,
        upstream_address: ctx.upstream_addr,
        upstream_duration_ns: ctx.upstream_took.map(|d| d.as_nanos() as u64),
        trace_id: ctx.request_id.to_str().unwrap_or("-"),
        tls_version: conn.tls,
    };
    if !shared.log.write(&rec) {
        shared.metrics.log_dropped.fetch_add(1, Ordering::Relaxed);
    }
    let (parts, body) = resp.into_parts();
    Response::from_parts(
        parts,
        ResponseBody::new(body, deadline, Some(active), in_flight),
    )
}

fn truncate_for_log(s: &str) -> &str {
    let mut end = s.len().min(2048);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn harden(plan: &Plan, conn: &ConnInfo, ctx: &mut Ctx<'_>, resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    strip_hop_by_hop(h);
    strip_upstream_identity(h);
    if conn.tls.is_some()
        && let Some(v) = &plan.security.hsts
    {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, plan.security.frame_options.clone());
    h.insert(
        header::REFERRER_POLICY,
        plan.security.referrer_policy.clone(),
    );
    h.insert(X_REQUEST_ID, ctx.request_id.clone());
    if let Some((all, worst, limit)) = ctx.limit_headers.take() {
        let reset = ceil_secs(worst.reset_after);
        h.insert(X_RATELIMIT_LIMIT, number_value(u64::from(limit)));
        h.insert(
            X_RATELIMIT_REMAINING,
            number_value(u64::from(worst.remaining)),
        );
        h.insert(X_RATELIMIT_RESET, number_value(reset));
        // one limit (the usual case): its pre-rendered policy; several: joined per request
        let policy = if let [(l, _)] = all.as_slice() {
            l.policy_value().cloned()
        } else {
            let joined = all
                .iter()
                .map(|(l, _)| l.policy())
                .collect::<Vec<_>>()
                .join(", ");
            HeaderValue::from_maybe_shared(Bytes::from(joined)).ok()
        };
        if let Some(v) = policy {
            h.insert(RATELIMIT_POLICY, v);
        }
        let mut state = Vec::with_capacity(all.len() * 48);
        let mut num = itoa::Buffer::new();
        for (i, (l, d)) in all.iter().enumerate() {
            if i > 0 {
                state.extend_from_slice(b", ");
            }
            state.push(b'"');
            state.extend_from_slice(l.spec.name.as_bytes());
            state.extend_from_slice(b"\";r=");
            state.extend_from_slice(num.format(d.remaining).as_bytes());
            state.extend_from_slice(b";t=");
            state.extend_from_slice(num.format(ceil_secs(d.reset_after)).as_bytes());
        }
        if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(state)) {
            h.insert(RATELIMIT, v);
        }
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry = ceil_secs(worst.retry_after).max(1);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        }
    }
}

/// A number as a header value; the first 1024 are rendered once and shared, since rate-limit
/// headers carry small numbers on every response.
fn number_value(n: u64) -> HeaderValue {
    static SMALL: std::sync::LazyLock<Vec<HeaderValue>> =
        std::sync::LazyLock::new(|| (0..1024_u64).map(HeaderValue::from).collect());
    usize::try_from(n)
        .ok()
        .and_then(|i| SMALL.get(i))
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(n))
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 { s + 1 } else { s }
}

type Proxied = (Response<Body>, InFlight, Option<tokio::time::Instant>);

async fn filters_and_proxy<'p, B>(
    shared: &Shared,
    plan: &'p Plan,
    conn: &ConnInfo,
    mut req: Request<B>,
    ctx: &mut Ctx<'p>,
) -> Result<Proxied, Response<Body>>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::util::BoxError>,
{
    let limits = &plan.conn;
    // limits that do not depend on the route
    let target_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > limits.max_uri_bytes {
        return Err(err(
            ctx,
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "request target too long",
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if req.headers().len() > limits.max_header_count || header_bytes > limits.max_header_bytes {
        return Err(err(
            ctx,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "request headers too large",
        ));
    }

    // one host and one path, before anything decides on them
    match canonical::request_host(&req) {
        Ok(h) => ctx.host = h,
        Err(e) => {
            shared.metrics.rejected("bad_host");
            return Err(err(ctx, StatusCode::BAD_REQUEST, "bad_host", e.message()));
        }
    }
    if let Err(msg) = canonicalize_path(plan, &mut req, ctx) {
        shared.metrics.rejected("bad_path");
        return Err(err(ctx, StatusCode::BAD_REQUEST, "bad_path", msg));
    }

    // client address (fails closed)
    let Ok(client) = client_addr::resolve(conn.peer.ip(), req.headers(), &plan.trusted) else {
        shared.metrics.rejected("client_address");
        return Err(err(
            ctx,
            StatusCode::BAD_REQUEST,
            "bad_forwarded_for",
            "the client address cannot be determined",
        ));
    };
    ctx.client = Some(client);

    // route
    let host = ctx.host.as_ref().map(|h| h.name.as_str());
    let Some(route) = plan.route(host, req.uri().path()) else {
        return Err(err(
            ctx,
            StatusCode::NOT_FOUND,
            "no_route",
            "no route for this request",
        ));
    };
    ctx.route = Some(&route.name);

    // method
    if !route.methods.contains(req.method()) {
        let mut r = err(
            ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        );
        let allow: Vec<&str> = route.methods.iter().map(Method::as_str).collect();
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return Err(r);
    }

    // IP allow/deny: deny wins
    if client_addr::is_trusted(client, &route.deny)
        || (!route.allow.is_empty() && !client_addr::is_trusted(client, &route.allow))
    {
        shared.metrics.rejected("ip_policy");
        return Err(err(
            ctx,
            StatusCode::FORBIDDEN,
            "forbidden",
            "access denied",
        ));
    }

    let (mut parts, body) = req.into_parts();

    // headers the upstream can trust: no underscore spellings, no client copies of the
    // gateway's own headers (set again in `proxy`, after hop-by-hop processing)
    ctx.peer_trusted =
        client_addr::is_trusted(client_addr::canonical(conn.peer.ip()), &plan.trusted);
    if own_headers(plan, route, &mut parts.headers, ctx.peer_trusted).is_err() {
        shared.metrics.rejected("bad_header");
        return Err(err(
            ctx,
            StatusCode::BAD_REQUEST,
            "bad_header",
            "header names with `_` are not accepted",
        ));
    }

    // auth
    if route.auth {
        let Some(ka) = &plan.keys else {
            return Err(err(
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "auth_unavailable",
                "authentication is not configured",
            ));
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
            if presented.is_none() {
                presented = found;
            }
            parts.uri = with_query(&parts.uri, rest.as_deref());
        }
        let id = match presented {
            None => {
                shared.metrics.auth_failure("missing");
                None
            }
            Some(k) => {
                let id = ka.keys.lookup(&k);
                if id.is_none() {
                    shared.metrics.auth_failure("invalid");
                }
                id
            }
        };
        let Some(id) = id else {
            let mut r = err(
                ctx,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid API key is required",
            );
            let challenge = if ka.bearer {
                "Bearer realm=\"moat\"".to_string()
            } else {
                format!("ApiKey realm=\"moat\", header=\"{}\"", ka.header)
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return Err(r);
        };
        ctx.user = Some(id);
    } else if let Some(ka) = &plan.keys {
        // never forward a credential even where it is not checked; a bearer token is removed
        // only when it is one of the gateway's keys (it may be the upstream's own credential)
        if let Some(v) = parts.headers.get(&ka.header) {
            let own = !ka.bearer
                || bearer_token(v.as_bytes()).is_some_and(|k| ka.keys.lookup(k).is_some());
            if own {
                parts.headers.remove(&ka.header);
            }
        }
        if let Some(q) = &ka.query {
            let (_, rest) = take_query_param(parts.uri.query(), q);
            parts.uri = with_query(&parts.uri, rest.as_deref());
        }
    }

    // rate limits
    if let Some(rejected) = rate_limit(shared, plan, route, &parts.headers, client, ctx) {
        return Err(rejected);
    }

    // body size
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > route.max_body) || body.size_hint().lower() > route.max_body {
        return Err(err(
            ctx,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body too large",
        ));
    }

    proxy(shared, plan, conn, route, parts, body, ctx).await
}

/// The token of an `Authorization: Bearer TOKEN` value.
fn bearer_token(v: &[u8]) -> Option<&[u8]> {
    v.strip_prefix(b"Bearer ")
        .or_else(|| v.strip_prefix(b"bearer "))
}

/// Replaces the request's path with its canonical form (the query is kept as sent); remembers
/// the canonical target for the log when it differs.
fn canonicalize_path<B>(
    plan: &Plan,
    req: &mut Request<B>,
    ctx: &mut Ctx<'_>,
) -> Result<(), &'static str> {
    let canonical = match canonical::canonical_path(req.uri().path(), &plan.paths) {
        Ok(std::borrow::Cow::Borrowed(_)) => return Ok(()),
        Ok(std::borrow::Cow::Owned(p)) => p,
        Err(e) => return Err(e.message()),
    };
    let target = match req.uri().query() {
        Some(q) => format!("{canonical}?{q}"),
        None => canonical,
    };
    let pq = http::uri::PathAndQuery::try_from(target).map_err(|_| "invalid request target")?;
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(pq.clone());
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| "invalid request target")?;
    ctx.canonical = Some(pq);
    Ok(())
}

/// Removes what the upstream must not take from the client: header names with `_` (per the
/// route's policy; `Err` when it rejects them) and the client's copies of the headers the
/// gateway owns, in every spelling. `keep_xff`: the peer is a trusted proxy whose
/// `X-Forwarded-For` chain is extended. One pass over the names first: most requests carry none.
fn own_headers(
    plan: &Plan,
    route: &RoutePlan,
    h: &mut HeaderMap,
    keep_xff: bool,
) -> Result<(), ()> {
    let key_header = plan.keys.as_ref().map(|k| &k.header);
    let remove = |name: &HeaderName| -> Result<bool, ()> {
        let n = name.as_str();
        if n.contains('_') {
            return match route.underscores {
                Underscores::Reject => Err(()),
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

fn rate_limit<'p>(
    shared: &Shared,
    plan: &Plan,
    route: &'p RoutePlan,
    headers: &HeaderMap,
    client: IpAddr,
    ctx: &mut Ctx<'p>,
) -> Option<Response<Body>> {
    if route.limits.is_empty() {
        return None;
    }
    let now = Instant::now();
    // one key buffer for every limit: `route NUL key`
    let mut key = String::with_capacity(route.name.len() + 48);
    // admitted limits (refunded when a later one rejects): a bit per index, a list past 64
    let mut taken_bits: u64 = 0;
    let mut taken_more: Vec<usize> = Vec::new();
    let mut reported: LimitReport<'p> = Vec::new();
    let mut worst: Option<(Decision, u32)> = None;
    let mut outcome = "passed";
    let mut rejected = false;
    for (i, l) in route.limits.iter().enumerate() {
        if !l.applies_to(ctx.user) {
            continue;
        }
        limit_key(
            &mut key,
            route,
            l,
            headers,
            client,
            plan.v6_prefix,
            ctx.user,
        );
        let d = l.check(&key, now);
        let label = if !d.would_reject {
            "passed"
        } else if l.spec.dry_run {
            outcome = if outcome == "passed" {
                "dry-run"
            } else {
                outcome
            };
            "dry_run"
        } else {
            "rejected"
        };
        shared.metrics.rate_limit(&l.spec.name, label);
        if !d.would_reject {
            if i < 64 {
                taken_bits |= 1 << i;
            } else {
                taken_more.push(i);
            }
        }
        if !l.spec.dry_run {
            reported.push((&**l, d));
            let worse = match worst {
                None => true,
                Some((w, _)) => {
                    (d.would_reject && !w.would_reject)
                        || (d.would_reject == w.would_reject && d.remaining < w.remaining)
                }
            };
            if worse {
                worst = Some((d, l.spec.burst));
            }
        }
        if d.would_reject && !l.spec.dry_run {
            rejected = true;
            break;
        }
    }
    let any_taken = taken_bits != 0 || !taken_more.is_empty();
    if rejected {
        let taken = (0..64)
            .filter(|i| taken_bits & (1 << i) != 0)
            .chain(taken_more.iter().copied());
        for i in taken {
            let l = &route.limits[i];
            limit_key(
                &mut key,
                route,
                l,
                headers,
                client,
                plan.v6_prefix,
                ctx.user,
            );
            l.refund(&key);
        }
        outcome = "rejected";
    }
    if any_taken || rejected || outcome != "passed" {
        ctx.rate_limit = Some(outcome);
    }
    if let Some((w, burst)) = worst {
        ctx.limit_headers = Some((reported, w, burst));
    }
    rejected.then(|| {
        err(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate limit exceeded",
        )
    })
}

/// Writes the state key of limit `l` for this request into `out`: `route NUL key`.
fn limit_key(
    out: &mut String,
    route: &RoutePlan,
    l: &Limiter,
    headers: &HeaderMap,
    client: IpAddr,
    v6_prefix: u8,
    user: Option<&str>,
) {
    out.clear();
    out.push_str(&route.name);
    out.push('\0');
    match &l.spec.key {
        KeyKind::Ip => client_addr::write_key(out, client, v6_prefix),
        KeyKind::ApiKey => {
            if let Some(u) = user {
                out.push_str("id:");
                out.push_str(u);
            } else {
                out.push_str("ip:");
                client_addr::write_key(out, client, v6_prefix);
            }
        }
        KeyKind::Route => out.push_str(&route.name),
        KeyKind::Header(h) => {
            if let Some(v) = headers.get(h) {
                out.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
        }
    }
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

/// Sets `X-Forwarded-*`, `Forwarded` and `X-Request-Id`; `trusted_peer`: the peer is a
/// trusted proxy, whose `X-Forwarded-For` chain is extended.
fn forwarded_headers(
    trusted_peer: bool,
    conn: &ConnInfo,
    client: IpAddr,
    host: Option<&HeaderValue>,
    h: &mut HeaderMap,
    request_id: &HeaderValue,
) {
    // room for the headers set below, so the map grows once at most
    h.reserve(6);
    let peer = client_addr::canonical(conn.peer.ip());
    let proto = conn.proto();
    let xff = if trusted_peer {
        let prior: Vec<String> = h
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        let v = if prior.is_empty() {
            peer.to_string()
        } else {
            format!("{}, {peer}", prior.join(", "))
        };
        HeaderValue::from_str(&v).ok()
    } else if client == peer {
        // the usual case: rendered once per connection
        Some(conn.peer_xff().clone())
    } else {
        HeaderValue::from_str(&client.to_string()).ok()
    };
    // `insert` replaces every earlier value
    if let Some(v) = xff {
        h.insert(X_FORWARDED_FOR, v);
    } else {
        h.remove(&X_FORWARDED_FOR);
    }
    h.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    let mut fwd = if client == peer {
        let peer_fwd = conn.peer_forwarded();
        let mut s = String::with_capacity(peer_fwd.len() + 64);
        s.push_str(peer_fwd);
        s
    } else {
        forwarded_prefix(client, proto)
    };
    if let Some(host) = host.and_then(|v| v.to_str().ok().map(|s| (v, s))) {
        h.insert(X_FORWARDED_HOST, host.0.clone());
        fwd.push_str(";host=");
        canonical::push_quoted(&mut fwd, host.1);
    } else {
        h.remove(&X_FORWARDED_HOST);
    }
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(fwd)) {
        h.insert(header::FORWARDED, v);
    }
    h.insert(X_REQUEST_ID, request_id.clone());
}

async fn proxy<'p, B>(
    shared: &Shared,
    plan: &Plan,
    conn: &ConnInfo,
    route: &'p RoutePlan,
    mut parts: http::request::Parts,
    body: B,
    ctx: &mut Ctx<'p>,
) -> Result<Proxied, Response<Body>>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::util::BoxError>,
{
    let group = &route.group;
    // the one host: the one routed on, logged and forwarded
    let host_header = ctx.host.as_ref().map(|h| h.value.clone());
    strip_hop_by_hop(&mut parts.headers);
    // the gateway's own headers are set after hop-by-hop processing, so no `Connection` list
    // can remove them
    forwarded_headers(
        ctx.peer_trusted,
        conn,
        ctx.client.unwrap_or(conn.peer.ip()),
        host_header.as_ref(),
        &mut parts.headers,
        &ctx.request_id,
    );
    match host_header {
        Some(h) => {
            parts.headers.insert(header::HOST, h);
        }
        None => {
            parts.headers.remove(header::HOST);
        }
    }
    if let (Some(ka), Some(id)) = (&plan.keys, ctx.user)
        && let Ok(v) = HeaderValue::from_str(id)
    {
        parts.headers.insert(ka.consumer_header.clone(), v);
    }
    // reference-counted: the upstream URI reuses the request's own path and query
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));

    let no_body = body.is_end_stream();
    let flag = Arc::new(AtomicU8::new(0));
    let mut body =
        Some(LimitedBody::new(body, route.max_body, route.body_idle, flag.clone()).boxed_unsync());
    let can_retry = no_body && idempotent(&parts.method);
    group.deposit();
    let mut attempts_left = if can_retry { group.spec.retries } else { 0 };
    let deadline = tokio::time::Instant::now() + group.spec.total_timeout;
    let mut exclude: Option<&str> = None;
    loop {
        let Some((target, in_flight)) = group.pick(exclude) else {
            shared
                .metrics
                .upstream_error(&group.spec.name, "unavailable");
            return Err(err(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                "no_healthy_upstream",
                "no upstream is available",
            ));
        };
        ctx.upstream_addr = Some(&target.addr);
        // origin-form: the pooled connection already names the target
        let uri = target.authority.as_ref().and_then(|_| {
            let mut up = http::uri::Parts::default();
            up.path_and_query = Some(path_and_query.clone());
            Uri::from_parts(up).ok()
        });
        let Some(uri) = uri else {
            return Err(err(
                ctx,
                StatusCode::BAD_REQUEST,
                "bad_request",
                "invalid request target",
            ));
        };
        let mut up = Request::new(body.take().unwrap_or_else(crate::util::empty));
        *up.method_mut() = parts.method.clone();
        *up.uri_mut() = uri;
        *up.version_mut() = Version::HTTP_11;
        *up.headers_mut() = if attempts_left > 0 {
            parts.headers.clone()
        } else {
            std::mem::take(&mut parts.headers)
        };
        let sent = Instant::now();
        let wait = group
            .spec
            .response_timeout
            .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let res = tokio::time::timeout(wait, group.send(target, up)).await;
        let took = sent.elapsed();
        match res {
            Ok(Ok(resp)) => {
                group.succeeded(target);
                ctx.upstream_took = Some(took);
                shared.metrics.upstream_latency(&group.spec.name, took);
                // hop-by-hop fields: consumed by the upstream client, and `harden` strips
                // every response the gateway sends
                let (rparts, rbody) = resp.into_parts();
                let rbody = rbody.map_err(Into::into).boxed_unsync();
                return Ok((
                    Response::from_parts(rparts, rbody),
                    in_flight,
                    Some(deadline),
                ));
            }
            Ok(Err(e)) => {
                match flag.load(Ordering::Relaxed) {
                    BODY_TOO_LARGE => {
                        return Err(err(
                            ctx,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "body_too_large",
                            "request body too large",
                        ));
                    }
                    BODY_STALLED => {
                        return Err(err(
                            ctx,
                            StatusCode::REQUEST_TIMEOUT,
                            "body_timeout",
                            "request body timed out",
                        ));
                    }
                    _ => {}
                }
                if e.is_request_body() {
                    // the client's body broke (malformed chunked framing, client gone)
                    shared.metrics.rejected("bad_body");
                    return Err(err(
                        ctx,
                        StatusCode::BAD_REQUEST,
                        "bad_request_body",
                        "the request body is malformed or incomplete",
                    ));
                }
                if e.upstream_answered() {
                    // never sent again: the upstream has seen it and answered
                    shared
                        .metrics
                        .upstream_error(&group.spec.name, "invalid_response");
                    return Err(err(
                        ctx,
                        StatusCode::BAD_GATEWAY,
                        "upstream_invalid_response",
                        "the upstream sent an invalid response",
                    ));
                }
                let connect = e.is_connect();
                if connect {
                    group.connect_failed(target);
                }
                shared
                    .metrics
                    .upstream_error(&group.spec.name, if connect { "connect" } else { "io" });
                if attempts_left > 0 && group.withdraw() {
                    attempts_left -= 1;
                    exclude = Some(&target.addr);
                    continue;
                }
                return Err(err(
                    ctx,
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "the upstream could not be reached",
                ));
            }
            Err(_) => {
                shared.metrics.upstream_error(&group.spec.name, "timeout");
                return Err(err(
                    ctx,
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    "the upstream did not answer in time",
                ));
            }
        }
    }
}

/// Handles a request on a redirect-only listener: 308 to HTTPS. Like every response of the
/// gateway it carries `X-Request-Id` (the connection guard relies on that to tell the gateway's
/// answers from hyper's bare ones).
pub fn redirect<B>(req: &Request<B>, port: u16) -> Response<Body> {
    let mut r = redirect_response(req, port);
    let h = r.headers_mut();
    h.insert(X_REQUEST_ID, request_id_for(req.headers()));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn redirect_response<B>(req: &Request<B>, port: u16) -> Response<Body> {
    let host = match canonical::request_host(req) {
        Ok(Some(h)) => h.name,
        Ok(None) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_host",
                canonical::HostError::Missing.message(),
            );
        }
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "bad_host", e.message()),
    };
    let pq = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let loc = if port == 443 {
        format!("https://{host}{pq}")
    } else {
        format!("https://{host}:{port}{pq}")
    };
    let mut r = json_error(StatusCode::PERMANENT_REDIRECT, "redirect", "use HTTPS");
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn number_values_render_like_itoa() {
        for n in [0_u64, 7, 1023, 1024, 1 << 40] {
            assert_eq!(number_value(n).to_str().unwrap(), n.to_string());
        }
    }
}

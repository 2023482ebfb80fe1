//! The request handler: the request phases in order ([`crate::phase`]), the upstream
//! exchange, response hardening, and the logging phase. A refused request ([`Reject`]) becomes
//! its response, its access-log entry and its metric in one place (`refuse`); the access log
//! and the request metrics are written in one place for every request. A WebSocket handshake
//! the upstream accepts is logged like any request (status 101), then handed to its
//! [`crate::tunnel`].

use crate::access_log::Record;
use crate::bans::Offence;
use crate::body::{ActiveGuard, BODY_STALLED, BODY_TOO_LARGE, LimitedBody, ResponseBody};
use crate::canonical::{self, Host};
use crate::client_addr;
use crate::headers::{
    RATELIMIT, RATELIMIT_POLICY, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO,
    X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, X_RATELIMIT_RESET, X_REQUEST_ID, forwarded_prefix,
    strip_hop_by_hop, strip_upstream_identity,
};
use crate::metrics::{Metrics, method_label};
use crate::phase::rate_limit::{Limits, Subject};
use crate::phase::{
    Metric, Reject, auth, ban, client_address, ip_rules, ownership, rate_limit, route, size,
    target, websocket,
};
use crate::plan::RouteAuth;
use crate::plan::{Plan, RoutePlan};
use crate::state::{ConnInfo, Shared};
use crate::tunnel::Tunnel;
use crate::upstream::{InFlight, idempotent};
use crate::util::{Body, json_error, request_id_header, since_epoch, valid_request_id};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// What the response and logging phases need to know about a request; borrows from the plan
/// in force.
#[derive(Debug)]
struct Ctx<'p> {
    request_id: HeaderValue,
    client: Option<IpAddr>,
    route: Option<&'p RoutePlan>,
    /// The consumer: an API key's id (borrowed from the plan) or a JWT claim.
    user: Option<Cow<'p, str>>,
    /// What the request did wrong, counted against its address by the ban rules.
    offence: Option<Offence>,
    limits: Limits<'p>,
    upstream_addr: Option<&'p str>,
    upstream_took: Option<Duration>,
    error: Option<&'static str>,
    /// The request's one host, once validated.
    host: Option<Host>,
    /// The canonical path and query, when it differs from what the client sent.
    canonical: Option<http::uri::PathAndQuery>,
    /// The peer is a trusted proxy (its `X-Forwarded-For` chain is kept and extended).
    peer_trusted: bool,
    /// A WebSocket handshake the route passes on.
    websocket: bool,
    /// The tunnel to open once the upstream's `101` is answered.
    tunnel: Option<Tunnel>,
}

/// The client's `X-Request-Id` when it is safe to propagate, a fresh one otherwise.
fn request_id_for(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&X_REQUEST_ID)
        .filter(|v| valid_request_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(request_id_header)
}

/// The one place a rejection becomes an answer: its counter, the access log's error code, and
/// the JSON error response (hardened afterwards like every response).
fn refuse(metrics: &Metrics, ctx: &mut Ctx<'_>, reject: Reject) -> Response<Body> {
    reject.count(metrics, ctx.route.map(|r| r.group.spec.name.as_str()));
    ctx.error = Some(reject.code);
    ctx.offence = match reject.metric {
        Some(Metric::AuthFailure(_)) => Some(Offence::AuthFailure),
        _ if reject == rate_limit::RATE_LIMITED => Some(Offence::RateLimited),
        _ => None,
    };
    reject.into_response()
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
        offence: None,
        limits: Limits::default(),
        upstream_addr: None,
        upstream_took: None,
        error: None,
        host: None,
        canonical: None,
        peer_trusted: false,
        websocket: false,
        tunnel: None,
    };

    let (resp, in_flight, deadline) =
        match filters_and_proxy(&shared, &plan, &conn, req, &mut ctx).await {
            Ok((r, f, d)) => (r, f, d),
            Err(reject) => (refuse(&shared.metrics, &mut ctx, reject), None, None),
        };
    let mut resp = resp;
    harden(&plan, &conn, &mut ctx, &mut resp);

    let status = resp.status().as_u16();
    // ban rules count what the request did wrong (a banned request is not counted again)
    if let (Some(bans), Some(client)) = (&plan.bans, ctx.client)
        && ctx.error != Some(ban::BANNED_CODE)
        && (ctx.offence.is_some()
            || resp.status().is_client_error()
            || resp.status().is_server_error())
    {
        let mut offences = [Offence::Status(status), Offence::Status(status)];
        let n = match ctx.offence.take() {
            Some(o) => {
                offences[1] = o;
                2
            }
            None => 1,
        };
        let addr = client_addr::masked(client, plan.v6_prefix);
        if let Some(b) = bans.record(addr, &offences[..n]).await {
            shared.metrics.banned(&b.rule);
            crate::server::event(
                "warn",
                &format!(
                    "banned {} for {} s (rule `{}`)",
                    b.ip,
                    b.remaining.as_secs(),
                    b.rule
                ),
            );
        }
    }

    // logging phase
    let took = started.elapsed();
    let route_name = ctx.route.map(|r| r.name.as_str());
    shared
        .metrics
        .request(route_name.unwrap_or("-"), status, method, took);
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
        user_id: ctx.user.as_deref(),
        rate_limit: ctx.limits.outcome,
        route: route_name,
        error: ctx.error,
        upstream_address: ctx.upstream_addr,
        upstream_duration_ns: ctx.upstream_took.map(|d| d.as_nanos() as u64),
        trace_id: ctx.request_id.to_str().unwrap_or("-"),
        tls_version: conn.tls,
    };
    if !shared.log.write(&rec) {
        shared.metrics.log_dropped.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(tunnel) = ctx.tunnel.take()
        && status == StatusCode::SWITCHING_PROTOCOLS.as_u16()
    {
        // before hyper writes the 101: from then on the connection's bytes are frames
        conn.upgraded.store(true, Ordering::Release);
        tokio::spawn(crate::tunnel::run(tunnel, shared.clone(), conn.clone()));
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
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    strip_hop_by_hop(h);
    strip_upstream_identity(h);
    if switching {
        // the gateway's own answer to a WebSocket handshake the upstream accepted
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
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
    if let Some((all, worst, limit)) = ctx.limits.headers.take() {
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

/// The response, the target's in-flight count held until its body ends (none for a `101`: its
/// tunnel holds it), and the deadline of the whole exchange.
type Proxied = (
    Response<Body>,
    Option<InFlight>,
    Option<tokio::time::Instant>,
);

/// The request phases in their order (see [`crate::phase`]), then the upstream exchange.
async fn filters_and_proxy<'p, B>(
    shared: &Shared,
    plan: &'p Plan,
    conn: &ConnInfo,
    mut req: Request<B>,
    ctx: &mut Ctx<'p>,
) -> Result<Proxied, Reject>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::util::BoxError>,
{
    size::head(req.uri(), req.headers(), &plan.conn)?;
    ctx.host = target::host(&req)?;
    ctx.canonical = target::canonical_path(&mut req, &plan.paths)?;
    let client = client_address::resolve(conn.peer.ip(), req.headers(), &plan.trusted)?;
    ctx.client = Some(client);
    let host = ctx.host.as_ref().map(|h| h.name.as_str());
    let route = route::select(plan, host, req.uri().path())?;
    ctx.route = Some(route);
    route::method(route, req.method())?;
    ctx.websocket = websocket::handshake(route, req.version(), req.method(), req.headers())?;
    ip_rules::check(route, client)?;
    let (mut parts, body) = req.into_parts();
    ctx.peer_trusted =
        client_addr::is_trusted(client_addr::canonical(conn.peer.ip()), &plan.trusted);
    ban::check(plan.bans.as_deref(), client, plan.v6_prefix).await?;
    ownership::strip(plan, route, &mut parts.headers, ctx.peer_trusted)?;
    let key_user = auth::authenticate(
        plan.keys.as_ref(),
        route.auth == RouteAuth::ApiKey,
        &mut parts,
    )?;
    ctx.user = match &route.auth {
        RouteAuth::Jwt(j) => Some(Cow::Owned(auth::jwt(plan.jwt.as_ref(), j, &mut parts)?)),
        _ => key_user.map(Cow::Borrowed),
    };
    let who = Subject {
        route,
        headers: &parts.headers,
        client,
        v6_prefix: plan.v6_prefix,
        user: ctx.user.as_deref(),
    };
    rate_limit::check(&shared.metrics, route, &who, &mut ctx.limits).await?;
    size::body(&parts.headers, body.size_hint().lower(), route.max_body)?;
    proxy(shared, plan, conn, route, parts, body, ctx).await
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

/// No target of the route's group is healthy (or every one was tried).
const NO_HEALTHY_UPSTREAM: Reject = Reject::new(
    StatusCode::SERVICE_UNAVAILABLE,
    "no_healthy_upstream",
    "no upstream is available",
)
.counted(Metric::UpstreamError("unavailable"));

/// The request target cannot be sent upstream.
const BAD_TARGET: Reject = Reject::new(
    StatusCode::BAD_REQUEST,
    "bad_request",
    "invalid request target",
);

/// The client's body broke while it was sent on (malformed chunked framing, client gone).
const BAD_REQUEST_BODY: Reject = Reject::new(
    StatusCode::BAD_REQUEST,
    "bad_request_body",
    "the request body is malformed or incomplete",
)
.counted(Metric::Rejected("bad_body"));

/// The upstream answered with something that is not a valid response (never sent again).
const UPSTREAM_INVALID_RESPONSE: Reject = Reject::new(
    StatusCode::BAD_GATEWAY,
    "upstream_invalid_response",
    "the upstream sent an invalid response",
)
.counted(Metric::UpstreamError("invalid_response"));

/// No response in time.
const UPSTREAM_TIMEOUT: Reject = Reject::new(
    StatusCode::GATEWAY_TIMEOUT,
    "upstream_timeout",
    "the upstream did not answer in time",
)
.counted(Metric::UpstreamError("timeout"));

/// The last attempt failed to connect (`kind` = `connect`) or broke (`io`).
const fn upstream_unreachable(kind: &'static str) -> Reject {
    Reject::new(
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        "the upstream could not be reached",
    )
    .counted(Metric::UpstreamError(kind))
}

/// The upstream exchange: the gateway's own headers, then the request sent to a target of the
/// route's group, retried on another target when that is safe.
async fn proxy<'p, B>(
    shared: &Shared,
    plan: &Plan,
    conn: &ConnInfo,
    route: &'p RoutePlan,
    mut parts: http::request::Parts,
    body: B,
    ctx: &mut Ctx<'p>,
) -> Result<Proxied, Reject>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<crate::util::BoxError>,
{
    let group = &route.group;
    // the client's side of a WebSocket handshake, handed over by hyper after the 101
    let mut client_upgrade = if ctx.websocket {
        Some(
            parts
                .extensions
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or(websocket::BAD_HANDSHAKE)?,
        )
    } else {
        None
    };
    // the one host: the one routed on, logged and forwarded
    let host_header = ctx.host.as_ref().map(|h| h.value.clone());
    strip_hop_by_hop(&mut parts.headers);
    if ctx.websocket {
        // the upgrade the gateway passes on, whatever else the client's `Connection` named
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts
            .headers
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
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
    let consumer_header = match route.auth {
        RouteAuth::Jwt(_) => plan.jwt.as_ref().map(|j| &j.consumer_header),
        _ => plan.keys.as_ref().map(|k| &k.consumer_header),
    };
    if let (Some(name), Some(id)) = (consumer_header, ctx.user.as_deref())
        && let Ok(v) = HeaderValue::from_str(id)
    {
        parts.headers.insert(name.clone(), v);
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
            return Err(NO_HEALTHY_UPSTREAM);
        };
        ctx.upstream_addr = Some(&target.addr);
        // origin-form: the pooled connection already names the target
        let uri = target.authority.as_ref().and_then(|_| {
            let mut up = http::uri::Parts::default();
            up.path_and_query = Some(path_and_query.clone());
            Uri::from_parts(up).ok()
        });
        let Some(uri) = uri else {
            return Err(BAD_TARGET);
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
                if rparts.status == StatusCode::SWITCHING_PROTOCOLS {
                    // the upstream client accepts a 101 only in answer to a WebSocket handshake
                    let (Some(client), Some(upstream)) =
                        (client_upgrade.take(), rbody.into_upgraded())
                    else {
                        return Err(UPSTREAM_INVALID_RESPONSE);
                    };
                    ctx.tunnel = Some(Tunnel {
                        client,
                        upstream,
                        in_flight,
                        idle: route.websocket_idle,
                    });
                    return Ok((switching_protocols(&rparts.headers), None, None));
                }
                let rbody = rbody.map_err(Into::into).boxed_unsync();
                return Ok((
                    Response::from_parts(rparts, rbody),
                    Some(in_flight),
                    Some(deadline),
                ));
            }
            Ok(Err(e)) => {
                match flag.load(Ordering::Relaxed) {
                    BODY_TOO_LARGE => return Err(size::BODY_TOO_LARGE),
                    BODY_STALLED => return Err(size::BODY_TIMEOUT),
                    _ => {}
                }
                if e.is_request_body() {
                    // the client's body broke (malformed chunked framing, client gone)
                    return Err(BAD_REQUEST_BODY);
                }
                if e.upstream_answered() {
                    // never sent again: the upstream has seen it and answered
                    return Err(UPSTREAM_INVALID_RESPONSE);
                }
                let connect = e.is_connect();
                if connect {
                    group.connect_failed(target);
                }
                let kind = if connect { "connect" } else { "io" };
                if attempts_left > 0 && group.withdraw() {
                    // an attempt that is retried is counted here; the last one by its rejection
                    shared.metrics.upstream_error(&group.spec.name, kind);
                    attempts_left -= 1;
                    exclude = Some(&target.addr);
                    continue;
                }
                return Err(upstream_unreachable(kind));
            }
            Err(_) => {
                return Err(UPSTREAM_TIMEOUT);
            }
        }
    }
}

/// The gateway's `101` to the client: the upstream's `Sec-WebSocket-Accept`, `-Protocol` and
/// `-Extensions` and nothing else of its answer (`Connection` and `Upgrade` are set in
/// `harden`, after hop-by-hop fields are removed).
fn switching_protocols(upstream: &HeaderMap) -> Response<Body> {
    let mut r = Response::new(crate::util::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    for name in [
        header::SEC_WEBSOCKET_ACCEPT,
        header::SEC_WEBSOCKET_PROTOCOL,
        header::SEC_WEBSOCKET_EXTENSIONS,
    ] {
        for v in upstream.get_all(&name) {
            h.append(name.clone(), v.clone());
        }
    }
    r
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
    fn number_values_render_like_itoa() {
        for n in [0_u64, 7, 1023, 1024, 1 << 40] {
            assert_eq!(number_value(n).to_str().unwrap(), n.to_string());
        }
    }
}

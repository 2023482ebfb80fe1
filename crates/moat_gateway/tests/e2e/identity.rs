//! Who the client is: JWT bearer tokens minted by another implementation (PyJWT on
//! `cryptography`), and abuse bans — through a running gateway, asserting what the upstream
//! received as well as what the client got.

use crate::common::{TempDir, access_log, request, upstream};
use crate::config::Config;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// PyJWT and `cryptography`: skipped without them, unless `MOAT_REQUIRE_PYJWT=1`.
fn pyjwt(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !std::env::var("MOAT_REQUIRE_PYJWT").is_ok_and(|v| v == "1"),
            "{test}: MOAT_REQUIRE_PYJWT=1 but python3 with PyJWT and cryptography is missing"
        );
        eprintln!("skipped: {test}: PyJWT/cryptography missing (pip install pyjwt cryptography)");
    }
    ok
}

/// Makes two P-256 keys in `dir` (`k1`, `k2`: `kN.pub` PEM, `jwksN.json` with `kid` `kN`) and
/// mints one token per spec `(name, key, kid, alg, claims JSON)`; `exp`/`nbf` below 10^6 are
/// offsets from now. `alg` `none` makes an unsigned token; `hs256-pub` an HS256 token keyed by
/// the public key's PEM bytes (the algorithm-confusion attack).
fn mint(dir: &TempDir, specs: &[(&str, &str, &str, &str, &str)]) -> serde_json::Value {
    let script = r#"
import base64, json, os, sys, time, hmac, hashlib, jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm
out_dir, specs = sys.argv[1], json.loads(sys.argv[2])
keys = {}
for name in ("k1", "k2"):
    k = ec.generate_private_key(ec.SECP256R1())
    keys[name] = k
    pub = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    open(os.path.join(out_dir, name + ".pub"), "wb").write(pub)
    jwk = ECAlgorithm.to_jwk(k.public_key(), as_dict=True)
    jwk.update({"kid": name, "alg": "ES256", "use": "sig"})
    open(os.path.join(out_dir, "jwks" + name[1] + ".json"), "w").write(json.dumps({"keys": [jwk]}))
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
tokens = {}
for name, key, kid, alg, claims in specs:
    claims = json.loads(claims)
    for c in ("exp", "nbf", "iat"):
        if isinstance(claims.get(c), int) and abs(claims[c]) < 10**6:
            claims[c] = now + claims[c]
    if alg == "none":
        tokens[name] = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode()) + "."
    elif alg == "hs256-pub":
        pem = open(os.path.join(out_dir, key + ".pub"), "rb").read()
        signing = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + b64(json.dumps(claims).encode())
        sig = hmac.new(pem, signing.encode(), hashlib.sha256).digest()
        tokens[name] = signing + "." + b64(sig)
    else:
        tokens[name] = jwt.encode(claims, keys[key], algorithm=alg, headers={"kid": kid})
print(json.dumps(tokens))
"#;
    let specs: Vec<serde_json::Value> = specs
        .iter()
        .map(|s| serde_json::json!([s.0, s.1, s.2, s.3, s.4]))
        .collect();
    let o = Command::new("python3")
        .args([
            "-c",
            script,
            &dir.path().display().to_string(),
            &serde_json::Value::Array(specs).to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "PyJWT: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

const GOOD: &str = r#"{"sub": "alice", "iss": "https://id.test", "aud": "orders", "exp": 600}"#;

#[tokio::test]
async fn jwt_routes_admit_valid_tokens_only_and_name_the_consumer() {
    if !pyjwt("jwt_routes_admit_valid_tokens_only_and_name_the_consumer") {
        return;
    }
    let dir = TempDir::new();
    let t = mint(
        &dir,
        &[
            ("alice", "k1", "k1", "ES256", GOOD),
            (
                "bob",
                "k1",
                "k1",
                "ES256",
                r#"{"sub": "bob", "iss": "https://id.test", "aud": ["x", "orders"], "exp": 600, "scope": "orders:read orders:write"}"#,
            ),
            (
                "expired",
                "k1",
                "k1",
                "ES256",
                r#"{"sub": "alice", "iss": "https://id.test", "aud": "orders", "exp": -600}"#,
            ),
            (
                "wrong_aud",
                "k1",
                "k1",
                "ES256",
                r#"{"sub": "alice", "iss": "https://id.test", "aud": "billing", "exp": 600}"#,
            ),
            (
                "wrong_iss",
                "k1",
                "k1",
                "ES256",
                r#"{"sub": "alice", "iss": "https://evil.test", "aud": "orders", "exp": 600}"#,
            ),
            ("other_key", "k2", "k1", "ES256", GOOD),
            ("unsigned", "k1", "k1", "none", GOOD),
            ("confused", "k1", "k1", "hs256-pub", GOOD),
            ("k2", "k2", "k2", "ES256", GOOD),
        ],
    );
    let tok = |n: &str| t[n].as_str().unwrap().to_string();
    let up = upstream().await;
    let gw = Config::plain(&dir)
        .section(
            "[jwt]\njwks_file = \"jwks1.json\"\nissuers = [\"https://id.test\"]\naudiences = [\"orders\"]\n",
        )
        .section("[[rate_limit]]\nname = \"per-consumer\"\nkey = \"consumer\"\nrate = \"3/m\"\n")
        .upstream("api", &[up.addr], "")
        .route("scoped", "api", "path_prefix = \"/write\"\nauth = \"jwt\"\njwt_scopes = [\"orders:write\"]\n")
        .route("forward", "api", "path_prefix = \"/fwd\"\nauth = \"jwt\"\nforward_token = true\n")
        .route("limited", "api", "path_prefix = \"/limited\"\nauth = \"jwt\"\nrate_limits = [\"per-consumer\"]\n")
        .route("open", "api", "path_prefix = \"/open\"\n")
        .route("orders", "api", "auth = \"jwt\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let bearer = |n: &str| format!("Bearer {}", tok(n));

    // a valid token: the consumer is its `sub`, the token and a forged consumer id never reach
    // the upstream
    let auth = bearer("alice");
    let r = request(
        addr,
        "GET",
        "/orders",
        &[("authorization", &auth), ("x-consumer-id", "admin")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.upstream_header("x-consumer-id"),
        Some(vec!["alice".into()])
    );
    assert_eq!(r.upstream_header("authorization"), None);
    // … unless the route forwards it
    let r = request(addr, "GET", "/fwd", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream_header("authorization"), Some(vec![auth.clone()]));
    // the scheme is case-insensitive
    let lower = format!("bearer {}", tok("alice"));
    assert_eq!(
        request(addr, "GET", "/orders", &[("authorization", &lower)], "")
            .await
            .status,
        200
    );

    let hits = up.hits.load(Ordering::Relaxed);
    // refused: 401 with an RFC 6750 challenge naming what failed, never the token
    for (name, why) in [
        ("expired", "token expired"),
        ("wrong_aud", "wrong audience"),
        ("wrong_iss", "wrong issuer"),
        ("other_key", "bad signature"),
        ("unsigned", "malformed token"),
        ("confused", "algorithm not accepted"),
        ("k2", "unknown key id"),
    ] {
        let token = tok(name);
        let r = request(
            addr,
            "GET",
            "/orders",
            &[("authorization", &format!("Bearer {token}"))],
            "",
        )
        .await;
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"moat\", error=\"invalid_token\"")
                && challenge.contains(why),
            "{name}: {challenge}"
        );
        assert_eq!(r.json()["error"]["code"], "invalid_token", "{name}");
        let sig = token.rsplit('.').next().unwrap_or_default();
        for shown in [r.body.as_str(), challenge] {
            assert!(
                !shown.contains(&token) && (sig.is_empty() || !shown.contains(sig)),
                "{name}: the token is echoed: {shown}"
            );
        }
    }
    // no token: a challenge without an error code; not a Bearer token; two Authorization
    // headers (which one would the upstream read?)
    let r = request(addr, "GET", "/orders", &[], "").await;
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer realm=\"moat\""))
    );
    let r = request(
        addr,
        "GET",
        "/orders",
        &[("authorization", "Basic YTpi")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);
    let two = request(
        addr,
        "GET",
        "/fwd",
        &[("authorization", &auth), ("authorization", "Bearer x.y.z")],
        "",
    )
    .await;
    assert_eq!(two.status, 401, "{}", two.body);
    assert!(
        two.header("www-authenticate")
            .is_some_and(|c| c.contains("more than one Authorization header"))
    );
    assert_eq!(
        up.hits.load(Ordering::Relaxed),
        hits,
        "a refused request reached the upstream"
    );

    // scopes: 403 insufficient_scope without, 200 with
    let r = request(addr, "POST", "/write", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"moat\", error=\"insufficient_scope\", scope=\"orders:write\"")
    );
    let r = request(
        addr,
        "POST",
        "/write",
        &[("authorization", &bearer("bob"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-consumer-id"), Some(vec!["bob".into()]));

    // a consumer-keyed limit counts per token subject, whatever the address
    for i in 0..3 {
        let r = request(addr, "GET", "/limited", &[("authorization", &auth)], "").await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let r = request(addr, "GET", "/limited", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 429);
    let r = request(
        addr,
        "GET",
        "/limited",
        &[("authorization", &bearer("bob"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "another consumer has its own budget");

    // the access log names the consumer; metrics count the failures by reason
    let log = access_log(&dir, 20).await;
    assert!(log.iter().any(|l| l["user.id"] == "bob"), "{log:#?}");
    let metrics = gw.metrics_text();
    assert!(
        metrics.contains("moat_gateway_auth_failures_total{reason=\"invalid\"} 9"),
        "{metrics}"
    );
    assert!(metrics.contains("moat_gateway_auth_failures_total{reason=\"insufficient_scope\"} 1"));

    // the JWKS is read again on reload: a rotated key set admits the new key's tokens only
    std::fs::copy(dir.path().join("jwks2.json"), dir.path().join("jwks1.json")).unwrap();
    gw.reload().unwrap();
    let r = request(
        addr,
        "GET",
        "/orders",
        &[("authorization", &bearer("k2"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(addr, "GET", "/orders", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 401);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_pem_key_or_an_explicit_hs256_secret_verifies_too() {
    if !pyjwt("a_pem_key_or_an_explicit_hs256_secret_verifies_too") {
        return;
    }
    let dir = TempDir::new();
    let t = mint(&dir, &[("alice", "k1", "k1", "ES256", GOOD)]);
    let up = upstream().await;
    let gw = Config::plain(&dir)
        .section(
            "[jwt]\npublic_key_file = \"k1.pub\"\nissuers = [\"https://id.test\"]\naudiences = [\"orders\"]\nconsumer_claim = \"sub\"\nconsumer_header = \"x-user\"\n",
        )
        .upstream("api", &[up.addr], "")
        .route("orders", "api", "auth = \"jwt\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let auth = format!("Bearer {}", t["alice"].as_str().unwrap());
    let r = request(
        addr,
        "GET",
        "/",
        &[("authorization", &auth), ("x-user", "eve")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-user"), Some(vec!["alice".into()]));
    gw.shutdown_within(Duration::from_secs(1)).await;

    // a shared secret, configured explicitly: HS256 only
    let secret = "0123456789abcdef0123456789abcdef-secret";
    dir.write("hs.secret", &format!("{secret}\n"));
    let o = Command::new("python3")
        .args([
            "-c",
            "import jwt, sys, time; print(jwt.encode({'sub': 'svc', 'iss': 'https://id.test', 'aud': 'orders', 'exp': int(time.time()) + 600}, sys.argv[1], algorithm='HS256'))",
            secret,
        ])
        .output()
        .unwrap();
    let hs = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let gw = Config::plain(&dir)
        .section(
            "[jwt]\nhs256_secret_file = \"hs.secret\"\nissuers = [\"https://id.test\"]\naudiences = [\"orders\"]\n",
        )
        .upstream("api", &[up.addr], "")
        .route("orders", "api", "auth = \"jwt\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let r = request(
        addr,
        "GET",
        "/",
        &[("authorization", &format!("Bearer {hs}"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-consumer-id"), Some(vec!["svc".into()]));
    let r = request(addr, "GET", "/", &[("authorization", &auth)], "").await;
    assert_eq!(
        r.status, 401,
        "an ES256 token where only HS256 is configured"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// An admin request (`GET`/`DELETE`) on a fresh connection: (status, JSON body).
async fn admin(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, serde_json::Value) {
    let r = request(addr, method, path, &[], "").await;
    (r.status, serde_json::from_str(&r.body).unwrap_or_default())
}

#[tokio::test]
async fn repeated_auth_failures_ban_the_address_until_unbanned() {
    let dir = TempDir::new();
    dir.write("keys.txt", "alice:alice-0123456789abcdef\n");
    let up = upstream().await;
    let gw = Config::plain(&dir)
        .section("[api_keys]\nfile = \"keys.txt\"\n")
        .section(
            "[[ban]]\nname = \"guessing\"\noffences = [\"auth_failure\", \"401\"]\nthreshold = 3\nwindow = \"1m\"\nban_for = \"10m\"\n\n[[ban]]\nname = \"scanning\"\noffences = [\"404\"]\nthreshold = 2\nwindow = \"1m\"\nban_for = \"1m\"\n",
        )
        .upstream("api", &[up.addr], "")
        .route("api", "api", "path_prefix = \"/api\"\nauth = \"api_key\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let admin_addr = gw.admin_addr().unwrap();
    let good = [("x-api-key", "alice-0123456789abcdef")];
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 200);
    assert_eq!(
        admin(admin_addr, "GET", "/bans").await.1["bans"],
        serde_json::json!([])
    );

    // two failures: not yet (one request is one strike, though it is both an auth failure
    // and a 401)
    for _ in 0..2 {
        let r = request(addr, "GET", "/api/x", &[("x-api-key", "guess")], "").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 200);
    let r = request(addr, "GET", "/api/x", &[("x-api-key", "guess")], "").await;
    assert_eq!(r.status, 401);
    // banned: even the right key is refused, before the upstream
    let hits = up.hits.load(Ordering::Relaxed);
    let r = request(addr, "GET", "/api/x", &good, "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "banned");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    assert_eq!(up.hits.load(Ordering::Relaxed), hits);
    let (status, list) = admin(admin_addr, "GET", "/bans").await;
    assert_eq!(status, 200);
    assert_eq!(list["bans"][0]["address"], "127.0.0.1", "{list}");
    assert_eq!(list["bans"][0]["rule"], "guessing");
    let metrics = gw.metrics_text();
    assert!(
        metrics.contains("moat_gateway_bans_total{rule=\"guessing\"} 1")
            && metrics.contains("moat_gateway_bans_active 1")
            && metrics.contains("moat_gateway_rejected_total{reason=\"banned\"} 1"),
        "{metrics}"
    );

    // unbanned from the admin API: admitted again, with its strikes forgotten
    let (status, body) = admin(admin_addr, "DELETE", "/bans/127.0.0.1").await;
    assert_eq!((status, &body["lifted"]), (200, &serde_json::json!(true)));
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 200);
    assert_eq!(
        request(addr, "GET", "/api/x", &[("x-api-key", "guess")], "")
            .await
            .status,
        401
    );
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 200);
    let (status, _) = admin(admin_addr, "DELETE", "/bans/not-an-ip").await;
    assert_eq!(status, 400);

    // a status rule: two 404s from routing ban the scanner
    admin(admin_addr, "DELETE", "/bans/127.0.0.1").await;
    for _ in 0..2 {
        assert_eq!(request(addr, "GET", "/wp-admin", &[], "").await.status, 404);
    }
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 403);
    let (_, list) = admin(admin_addr, "GET", "/bans").await;
    assert_eq!(list["bans"][0]["rule"], "scanning", "{list}");

    // a reload with the same rules keeps the ban
    gw.reload().unwrap();
    assert_eq!(request(addr, "GET", "/api/x", &good, "").await.status, 403);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

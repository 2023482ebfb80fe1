//! The TLS listener against real `curl` and `openssl s_client`.

use crate::common::*;
use crate::config::Config;
use std::net::SocketAddr;
use std::time::Duration;

/// A TLS listener (with `listener_extra`) serving `api.pem` for `api.test` and `other.pem` for
/// `*.other.test`, the access log in `dir`, in front of `up`.
fn tls_config(dir: &TempDir, up: SocketAddr, listener_extra: &str) -> Config {
    Config::new()
        .tls_listener(listener_extra)
        .certificate("api", &["api.test"])
        .certificate("other", &["*.other.test"])
        .access_log_in(dir)
        .upstream("api", &[up], "")
        .route("all", "api", "")
}

fn curl_args(ca: &std::path::Path, host: &str, addr: SocketAddr, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "-sS".into(),
        "--max-time".into(),
        "10".into(),
        "--cacert".into(),
        ca.display().to_string(),
        "--resolve".into(),
        format!("{host}:{}:127.0.0.1", addr.port()),
    ];
    v.extend(extra.iter().map(|s| (*s).to_string()));
    v.push(format!("https://{host}:{}/hello", addr.port()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_with_curl_h1_h2_sni_and_hsts() {
    if !have_tool("curl", "tls_listener_with_curl_h1_h2_sni_and_hsts") {
        return;
    }
    let up = upstream().await;
    let dir = TempDir::new();
    let certs = make_certs(
        &dir,
        &[("api", &["api.test"]), ("other", &["www.other.test"])],
    );
    let gw = tls_config(&dir, up.addr, "").start(&dir).await;
    let addr = gw.listener_addrs()[0];

    let (ok, out, err) = run(
        "curl",
        curl_args(
            &certs.ca_pem,
            "api.test",
            addr,
            &["--http1.1", "-D", "-", "-o", "/dev/null"],
        ),
        None,
    )
    .await;
    assert!(ok, "{err}");
    let lower = out.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{out}");
    assert!(
        lower.contains("strict-transport-security: max-age=63072000; includesubdomains"),
        "{out}"
    );

    let (ok, out, err) = run(
        "curl",
        curl_args(
            &certs.ca_pem,
            "api.test",
            addr,
            &["--http2", "-w", "%{http_version}", "-o", "/dev/null"],
        ),
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "2");

    // SNI picks the wildcard certificate for www.other.test (hostname verified by curl)
    let (ok, out, err) = run(
        "curl",
        curl_args(
            &certs.ca_pem,
            "www.other.test",
            addr,
            &["-w", "%{http_code}", "-o", "/dev/null"],
        ),
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "200");

    let log = access_log(&dir, 3).await;
    assert_eq!(log[0]["tls.version"], "TLSv1.3");
    assert_eq!(log[1]["http.version"], "2");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_sees_tls12_and_13_only_and_alpn_h2() {
    if !have_tool("openssl", "openssl_sees_tls12_and_13_only_and_alpn_h2") {
        return;
    }
    let up = upstream().await;
    let dir = TempDir::new();
    make_certs(
        &dir,
        &[("api", &["api.test"]), ("other", &["www.other.test"])],
    );
    let gw = tls_config(&dir, up.addr, "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    let s_client = |extra: &[&str]| {
        let mut v: Vec<String> = vec![
            "s_client".into(),
            "-connect".into(),
            addr.to_string(),
            "-servername".into(),
            "api.test".into(),
        ];
        v.extend(extra.iter().map(|s| (*s).to_string()));
        v
    };
    for old in ["-tls1", "-tls1_1"] {
        let (ok, out, err) = run(
            "openssl",
            s_client(&[old, "-cipher", "DEFAULT@SECLEVEL=0"]),
            Some(""),
        )
        .await;
        assert!(!ok, "{old} must be refused: {out}");
        assert!(
            // rustls answers an alert (protocol_version or handshake_failure)
            err.contains("alert protocol version") || err.contains("alert handshake failure"),
            "{old}: {err}"
        );
    }
    for (v, proto) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (ok, out, err) = run("openssl", s_client(&[v]), Some("")).await;
        assert!(ok, "{v}: {err}");
        assert!(
            out.contains(&format!("Protocol  : {proto}")) || out.contains(&format!("New, {proto}")),
            "{out}"
        );
    }
    let (ok, out, err) = run("openssl", s_client(&["-alpn", "h2,http/1.1"]), Some("")).await;
    assert!(ok, "{err}");
    assert!(out.contains("ALPN protocol: h2"), "{out}");
    // a weak TLS 1.2 suite is refused
    let (ok, _, _) = run(
        "openssl",
        s_client(&["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"]),
        Some(""),
    )
    .await;
    assert!(!ok, "non-forward-secret CBC suite must be refused");
    let m = gw.metrics_text();
    assert!(
        !m.contains("moat_gateway_tls_handshake_errors_total 0\n"),
        "{m}"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Two leaves under a first CA (`first-ca.pem` keeps a copy), and a gateway serving them whose
/// certificate files are checked every `watch`.
async fn reload_fixture(
    watch: &str,
) -> (TempDir, Upstream, moat_gateway::Gateway, std::path::PathBuf) {
    let up = upstream().await;
    let dir = TempDir::new();
    let first = make_certs(&dir, LEAVES);
    let first_ca = dir.write(
        "first-ca.pem",
        &std::fs::read_to_string(&first.ca_pem).unwrap(),
    );
    let gw = tls_config(
        &dir,
        up.addr,
        &format!("[listener.tls]\nwatch_interval = \"{watch}\"\n"),
    )
    .start(&dir)
    .await;
    (dir, up, gw, first_ca)
}

const LEAVES: &[(&str, &[&str])] = &[("api", &["api.test"]), ("other", &["www.other.test"])];

/// Whether curl completes a request to `addr` trusting only `ca`.
async fn curl_ok(ca: &std::path::Path, addr: SocketAddr) -> bool {
    run(
        "curl",
        curl_args(ca, "api.test", addr, &["-o", "/dev/null"]),
        None,
    )
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_without_restart() {
    if !have_tool("curl", "certificates_reload_without_restart") {
        return;
    }
    // files are not watched here: only the explicit reload may switch certificates
    let (dir, _up, gw, first_ca) = reload_fixture("0s").await;
    let addr = gw.listener_addrs()[0];
    assert!(curl_ok(&first_ca, addr).await);
    // new CA and certificates on disk, then reload
    let second = make_certs(&dir, LEAVES);
    assert!(
        curl_ok(&first_ca, addr).await,
        "old certificate until reload"
    );
    gw.reload().unwrap();
    assert!(
        curl_ok(&second.ca_pem, addr).await,
        "new certificate after reload"
    );
    assert!(!curl_ok(&first_ca, addr).await);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_when_their_files_change() {
    if !have_tool("curl", "certificates_reload_when_their_files_change") {
        return;
    }
    let (dir, _up, gw, first_ca) = reload_fixture("100ms").await;
    let addr = gw.listener_addrs()[0];
    // a keep-alive connection opened with the first certificate
    let mut old = tls_connect(addr, &first_ca, b"http/1.1").await;
    assert_eq!(keep_alive_get(&mut old, "/before").await, 200);
    // renewal: new CA, certificates and keys written over the old files
    let second = make_certs(&dir, LEAVES);
    let second_ca = dir.write(
        "second-ca.pem",
        &std::fs::read_to_string(&second.ca_pem).unwrap(),
    );
    let mut switched = false;
    for _ in 0..50 {
        if curl_ok(&second_ca, addr).await {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(switched, "new certificate served without a reload");
    assert!(
        !curl_ok(&first_ca, addr).await,
        "old certificate no longer served"
    );
    assert_eq!(
        keep_alive_get(&mut old, "/after").await,
        200,
        "the connection opened before the change keeps working"
    );
    let metrics = gw.metrics_text();
    assert!(
        metrics.contains("moat_gateway_certificate_reloads_total{result=\"ok\"} 2"),
        "{metrics}"
    );
    // a half-written renewal (key of another certificate) is refused; the current one stays
    std::fs::copy(dir.path().join("other.key"), dir.path().join("api.key")).unwrap();
    let mut refused = false;
    for _ in 0..50 {
        if gw
            .metrics_text()
            .contains("moat_gateway_certificate_reloads_total{result=\"rejected\"} 1")
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "{}", gw.metrics_text());
    assert!(
        curl_ok(&second_ca, addr).await,
        "the loaded certificate keeps serving"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Secrets from the environment: the API keys from `MOAT_TEST_KEYS` and the TLS key from the
/// file named by `MOAT_TEST_TLS_KEY_FILE`. The process environment cannot be changed without
/// `unsafe`, so the test re-runs this test binary with the variables set and the child does
/// the work (`secrets_child`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_env_and_env_file() {
    if !have_tool("curl", "secrets_come_from_env_and_env_file") {
        return;
    }
    let dir = TempDir::new();
    make_certs(&dir, &[("api", &["api.test"])]);
    let exe = std::env::current_exe().unwrap();
    let key_file = dir.path().join("api.key");
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args([
                "tls::secrets_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MOAT_TEST_CHILD_DIR", d)
            .env("MOAT_TEST_KEYS", "carol:carol-0123456789abcdef")
            .env("MOAT_TEST_TLS_KEY_FILE", key_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("child ok"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_child() {
    let Some(dir) = std::env::var_os("MOAT_TEST_CHILD_DIR") else {
        return; // only meaningful when started by secrets_come_from_env_and_env_file
    };
    let dir = std::path::PathBuf::from(dir);
    let up = upstream().await;
    let cfg = Config::new()
        .tls_listener("")
        .certificate_with("cert_file = \"api.pem\"\nkey_env = \"MOAT_TEST_TLS_KEY\"\n")
        .section("[api_keys]\nenv = \"MOAT_TEST_KEYS\"\n")
        .access_log("off")
        .upstream("api", &[up.addr], "")
        .route("all", "api", "auth = \"api_key\"\n");
    let p = dir.join("env.toml");
    std::fs::write(&p, cfg.render()).unwrap();
    let gw = moat_gateway::Gateway::start(&p).await.unwrap();
    let addr = gw.listener_addrs()[0];
    let ca = dir.join("ca.pem");
    let code = |key: &'static str| {
        let ca = ca.clone();
        async move {
            run(
                "curl",
                curl_args(
                    &ca,
                    "api.test",
                    addr,
                    &["-H", key, "-w", "%{http_code}", "-o", "/dev/null"],
                ),
                None,
            )
            .await
            .1
        }
    };
    assert_eq!(code("x-api-key: carol-0123456789abcdef").await, "200");
    assert_eq!(code("x-api-key: nope-0123456789abcdef").await, "401");
    println!("child ok");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

//! Real peers: Prometheus scrapes the admin listener; sslyze audits the TLS listener.

use crate::common::*;
use crate::config::Config;
use std::time::{Duration, Instant};

/// Kills a child process we started when dropped.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_metrics_and_answers_a_query() {
    if !have_tool(
        "prometheus",
        "prometheus_scrapes_metrics_and_answers_a_query",
    ) {
        return;
    }
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = Config::single(&dir, up.addr).start(&dir).await;
    for _ in 0..3 {
        assert_eq!(get(gw.listener_addrs()[0], "/").await.status, 200);
    }
    let admin = gw.admin_addr().unwrap();
    let prom_cfg = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: moat\n    static_configs:\n      - targets: ['{admin}']\n"
        ),
    );
    let port = free_port().await;
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _guard = ChildGuard(child);
    let prom: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let query = "/api/v1/query?query=sum(moat_gateway_requests_total%7Broute%3D%22all%22%7D)";
    loop {
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned the metric"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        if tokio::net::TcpStream::connect(prom).await.is_err() {
            continue;
        }
        let r = get(prom, query).await;
        if r.status != 200 {
            continue;
        }
        let j = r.json();
        if let Some(v) = j["data"]["result"][0]["value"][1].as_str() {
            assert_eq!(v, "3", "{j}");
            break;
        }
    }
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslyze_mozilla_intermediate_passes() {
    if !have_tool("sslyze", "sslyze_mozilla_intermediate_passes") {
        return;
    }
    let up = upstream().await;
    let dir = TempDir::new();
    let certs = make_certs(&dir, &[("api", &["api.test"])]);
    let gw = Config::tls_quiet("")
        .upstream("api", &[up.addr], "")
        .route("all", "api", "")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let json_out = dir.path().join("sslyze.json");
    let (ok, out, err) = tokio::time::timeout(
        Duration::from_secs(150),
        run(
            "sslyze",
            vec![
                "--mozilla_config=intermediate".into(),
                format!("--json_out={}", json_out.display()),
                format!("--certinfo_ca_file={}", certs.ca_pem.display()),
                format!("api.test:{}{{127.0.0.1}}", addr.port()),
            ],
            None,
        ),
    )
    .await
    .expect("sslyze finished in time");
    assert!(ok, "sslyze reported problems:\n{out}\n{err}");
    assert!(out.contains("OK - Compliant."), "{out}");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

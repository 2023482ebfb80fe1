//! `gateway check` on the shipped examples, and the example config running for real.

use crate::common::*;
use moat_gateway::check;
use moat_gateway::cli::{CheckArgs, Format, run_check};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gateway")
        .join(name)
}

/// The examples copied into a fresh folder with their certificates made by `gen-certs.sh`, as
/// the README has users do; `None` (skipped) without openssl.
fn examples_with_certs(test: &str) -> Option<TempDir> {
    if !have_tool("openssl", test) {
        return None;
    }
    let dir = TempDir::new();
    for f in [
        "moat-gateway.toml",
        "insecure.toml",
        "gen-certs.sh",
        "api-keys.txt",
    ] {
        std::fs::copy(example(f), dir.path().join(f)).unwrap();
    }
    let o = std::process::Command::new("bash")
        .arg(dir.path().join("gen-certs.sh"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(dir)
}

#[test]
fn example_config_passes_check_once_its_certificates_exist() {
    // as shipped, before `gen-certs.sh` ran: a start would fail, and so does `check` (in a
    // copy: the checkout's own folder may hold certificates made by following the README)
    let bare = TempDir::new();
    std::fs::copy(
        example("moat-gateway.toml"),
        bare.path().join("moat-gateway.toml"),
    )
    .unwrap();
    std::fs::copy(example("api-keys.txt"), bare.path().join("api-keys.txt")).unwrap();
    let r = check::check_file(&bare.path().join("moat-gateway.toml"));
    let errors: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("moat-gateway.toml:15:13: cannot read `certs/api.pem`"),
        "{errors:#?}"
    );
    let Some(dir) = examples_with_certs("example_config_passes_check_once_its_certificates_exist")
    else {
        return;
    };
    let file = dir.path().join("moat-gateway.toml");
    let r = check::check_file(&file);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let code = run_check(&CheckArgs {
        file,
        format: Format::Json,
        fail_on: moat_diagnostics::Severity::Low,
        connect: false,
    });
    assert_eq!(code, ExitCode::SUCCESS);
}

#[test]
fn insecure_example_is_refused_and_reported_with_locations() {
    let Some(dir) = examples_with_certs("insecure_example_is_refused_and_reported_with_locations")
    else {
        return;
    };
    let file = dir.path().join("insecure.toml");
    let r = check::check_file(&file);
    // what a start refuses is an error (TLS 1.0, a private route without authentication) …
    let errors: Vec<(Option<usize>, &str)> = r
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                Some(9),
                "TLS below 1.2 is not supported; use \"1.2\" or \"1.3\""
            ),
            (
                Some(37),
                "route is marked `private` but has no authentication (set `auth = \"api_key\"` or `\"jwt\"`)"
            ),
        ]
    );
    // … and the weak settings it would run with are findings
    let got: Vec<(&str, usize)> = r
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.location.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("G001", 4),
            ("G004", 15),
            ("G005", 18),
            ("G009", 22),
            ("G008", 25),
            ("G007", 31),
            ("G003", 37),
            ("G010", 46),
            ("G012", 48),
            ("G011", 51),
        ]
    );
    assert!(
        r.findings
            .iter()
            .all(|f| f.location.path.ends_with("insecure.toml"))
    );
    for format in [Format::Text, Format::Json, Format::Sarif] {
        let code = run_check(&CheckArgs {
            file: file.clone(),
            format,
            fail_on: moat_diagnostics::Severity::Medium,
            connect: false,
        });
        assert_eq!(code, ExitCode::from(2));
    }
}

#[test]
fn config_errors_exit_2_with_file_line_col() {
    let dir = TempDir::new();
    let p = dir.write(
        "bad.toml",
        "[[listener]]\nlisten = \"127.0.0.1:0\"\ntls = 5\n",
    );
    let r = check::check_file(&p);
    assert_eq!(r.errors.len(), 1);
    assert_eq!((r.errors[0].line, r.errors[0].column), (Some(3), Some(7)));
    let code = run_check(&CheckArgs {
        file: p,
        format: Format::Text,
        fail_on: moat_diagnostics::Severity::Medium,
        connect: false,
    });
    assert_eq!(code, ExitCode::from(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_serves_with_generated_certs_and_demo_keys() {
    if !have_tool(
        "openssl",
        "example_config_serves_with_generated_certs_and_demo_keys",
    ) || !have_tool(
        "curl",
        "example_config_serves_with_generated_certs_and_demo_keys",
    ) {
        return;
    }
    if !have_tool(
        "python3",
        "example_config_serves_with_generated_certs_and_demo_keys",
    ) {
        return;
    }
    let dir = TempDir::new();
    for f in [
        "moat-gateway.toml",
        "gen-certs.sh",
        "api-keys.txt",
        "stand-in-api.py",
    ] {
        std::fs::copy(example(f), dir.path().join(f)).unwrap();
    }
    let (ok, _, err) = run(
        "bash",
        vec![dir.path().join("gen-certs.sh").display().to_string()],
        None,
    )
    .await;
    assert!(ok, "{err}");
    // the README's steps, on free ports: the stand-in API, then the gateway
    let api_port = free_port().await;
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(dir.path().join("stand-in-api.py"))
        .arg(api_port.to_string());
    let _api = crate::real_upstreams::Proc::spawn(cmd, "stand-in-api", dir.path());
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", api_port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let text = std::fs::read_to_string(dir.path().join("moat-gateway.toml"))
        .unwrap()
        .replace("0.0.0.0:8443", "127.0.0.1:0")
        .replace("0.0.0.0:8080", "127.0.0.1:0")
        .replace("127.0.0.1:9901", "127.0.0.1:0")
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{api_port}"))
        .replace("target = \"stdout\"", "target = \"off\"");
    let gw = start(&dir, &text).await;
    let (https, redirect) = (gw.listener_addrs()[0], gw.listener_addrs()[1]);
    let curl = |key: &'static str, path: &'static str| {
        let ca = dir.path().join("certs/ca.pem");
        async move {
            run(
                "curl",
                vec![
                    "-sS".into(),
                    "--max-time".into(),
                    "10".into(),
                    "--cacert".into(),
                    ca.display().to_string(),
                    "-H".into(),
                    format!("x-api-key: {key}"),
                    "-w".into(),
                    "%{http_code}".into(),
                    "-o".into(),
                    "/dev/null".into(),
                    format!("https://localhost:{}{path}", https.port()),
                ],
                None,
            )
            .await
        }
    };
    let (ok, code, err) = curl("demo-partner-a-key-0001", "/orders").await;
    assert!(ok, "{err}");
    assert_eq!(code, "200");
    // the stand-in API answered, and learned the consumer from the gateway, not the key
    let (ok, body, err) = run(
        "curl",
        vec![
            "-sS".into(),
            "--max-time".into(),
            "10".into(),
            "--cacert".into(),
            dir.path().join("certs/ca.pem").display().to_string(),
            "-H".into(),
            "x-api-key: demo-partner-a-key-0001".into(),
            format!("https://localhost:{}/orders", https.port()),
        ],
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert!(body.contains("\"consumer\": \"partner-a\""), "{body}");
    assert_eq!(curl("demo-app-1-key-0001", "/orders").await.1, "200");
    assert_eq!(curl("wrong-key-000000000000", "/orders").await.1, "401");
    assert_eq!(curl("", "/healthz").await.1, "200");
    let r = request(
        redirect,
        "GET",
        "/orders?x=1",
        &[("host", "api.example.test")],
        "",
    )
    .await;
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some("https://api.example.test:8443/orders?x=1")
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Every key the examples use is described by `docs/gateway.schema.json` (and the schema
/// refuses unknown keys, as the parser does).
#[test]
fn schema_covers_the_example_configs() {
    fn walk(v: &toml::Value, schema: &serde_json::Value, path: &str) {
        match v {
            toml::Value::Table(t) => {
                assert_eq!(schema["type"], "object", "{path}: schema is not an object");
                for (k, child) in t {
                    let sub = schema["properties"].get(k).or_else(|| {
                        schema["additionalProperties"]
                            .as_object()
                            .map(|_| &schema["additionalProperties"])
                    });
                    let sub = sub.unwrap_or_else(|| panic!("{path}.{k} is not in the schema"));
                    walk(child, sub, &format!("{path}.{k}"));
                }
            }
            toml::Value::Array(a) => {
                for item in a {
                    if schema.get("items").is_some() {
                        walk(item, &schema["items"], &format!("{path}[]"));
                    }
                }
            }
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/gateway.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for f in ["moat-gateway.toml", "insecure.toml"] {
        let v: toml::Value = toml::from_str(&std::fs::read_to_string(example(f)).unwrap()).unwrap();
        walk(&v, &schema, f);
    }
}

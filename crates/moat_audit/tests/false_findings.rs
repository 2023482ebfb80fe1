//! Classes of false findings, each pinned by a small project shaped like the ones moat meets:
//! files are written to a scratch directory and audited the way `moat audit DIR` does, and
//! the test lists the findings of the rules concerned — where they must fire, and where they
//! must stay silent.
//!
//! - **Secrets**: public keys are not secrets, placeholders are not leaks (they are reported
//!   apart, at low severity), `*_FILE` variables hold paths; the same in every secret rule.
//! - **Images built here**: an image that the same compose project or script builds is not an
//!   untagged or `latest` pull from a registry, for the containers that run it and for the
//!   Dockerfiles built `FROM` it.
//! - **Protocols**: the rules about ports a gateway should front judge HTTP ports, not mail,
//!   DNS, SSH, VPN or MQTT, which clients reach directly; datastore ports are the datastore
//!   rule's; a published port gets one piece of advice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use moat_audit::discover::discover;
use moat_audit::{AuditOptions, Auditor};
use moat_diagnostics::Severity;

/// A scratch project directory, removed when dropped.
struct Project(PathBuf);

impl Project {
    /// A project made of `files` (`(name, text)`): tests run in parallel in one process, so
    /// each call gets its own directory.
    fn new(files: &[(&str, &str)]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("moat-false-findings-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(dir)
    }

    /// `(code, file:line, severity)` of the findings of `codes`, in report order.
    fn findings(&self, codes: &[&str]) -> Vec<(String, String, Severity)> {
        let report =
            Auditor::new(AuditOptions::default()).audit(discover(std::slice::from_ref(&self.0)));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .iter()
            .filter(|f| codes.contains(&f.code.as_str()))
            .map(|f| {
                let file = Path::new(&f.location.path)
                    .strip_prefix(&self.0)
                    .map_or_else(|_| f.location.path.clone(), |p| p.display().to_string());
                (
                    f.code.clone(),
                    format!("{file}:{}", f.location.line),
                    f.severity,
                )
            })
            .collect()
    }

    /// Like [`Project::findings`], without the severity.
    fn places(&self, codes: &[&str]) -> Vec<(String, String)> {
        self.findings(codes)
            .into_iter()
            .map(|(code, at, _)| (code, at))
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn at(code: &str, place: &str) -> (String, String) {
    (code.to_string(), place.to_string())
}

const SECRET_RULES: &[&str] = &["D010", "D012", "D013", "C029", "C030", "C032"];

const MINISIGN_KEY: &str = "RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U";

#[test]
fn public_keys_are_not_secrets_in_any_rule() {
    let dockerfile = format!(
        "FROM alpine:3.20
ARG ZIG_PUBKEY={MINISIGN_KEY}
ENV MINISIGN_PUBLIC_KEY={MINISIGN_KEY}
ENV RELEASE_SIGNING_KEY={MINISIGN_KEY}
ENV DEPLOY_PUB_KEY=\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0d8T3xN0o0eXn2d9hY7K2wS4zA1bQ0yJ8fV6uR5sE ci@acme\"
RUN echo 'untrusted comment: minisign public key 6CFAF9A5A2E8C3E0' > /etc/zig.pub \\
 && echo '{MINISIGN_KEY}' >> /etc/zig.pub
COPY <<EOF /etc/app/jwt.pem
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq8Zr2LmX0vT5nK7wP4sY1bH9cJ3d
-----END PUBLIC KEY-----
EOF
USER app
"
    );
    let compose = format!(
        "services:
  api:
    image: ghcr.io/acme/api:1.4.2
    environment:
      JWT_PUBLIC_KEY: q8Zr2LmX0vT5nK7wP4sY1bH9cJ3dA6eG
      COSIGN_PUBKEY: {MINISIGN_KEY}
      SSH_KEY: ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= deploy
      TLS_CERT: \"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\"
    command: [\"api\", \"--verify-key\", \"{MINISIGN_KEY}\"]
"
    );
    let script = format!(
        "#!/bin/sh\ndocker run -d -e SIGNING_PUBKEY={MINISIGN_KEY} ghcr.io/acme/worker:1.4.2\n"
    );
    let p = Project::new(&[
        ("Dockerfile", &dockerfile),
        ("compose.yaml", &compose),
        ("deploy.sh", &script),
    ]);
    assert_eq!(p.places(SECRET_RULES), []);
}

#[test]
fn placeholders_are_low_findings_of_their_own() {
    let dockerfile = "FROM alpine:3.20
ENV ADMIN_PASSWORD=changeme
ENV VPN_PASSWORD yourpasswordhere
ENV API_KEY=<your-api-key>
ENV DB_PASSWORD=s3cr3t-pa55
RUN git clone https://deploy:changeme@git.acme.dev/acme/app.git /src \\
 && aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE
USER app
";
    let compose = "services:
  db:
    image: postgres:16.3
    environment:
      POSTGRES_PASSWORD: change_me
      POSTGRES_USER: app
  api:
    image: ghcr.io/acme/api:1.4.2
    env_file: [api.env]
    environment:
      DATABASE_URL: postgres://app:password@db:5432/app
      JWT_SECRET: secret
      SENTRY_TOKEN: TODO
      STRIPE_SECRET_KEY: sk_live_xxxxxxxxxxxxxxxxxxxxxxxx
  cache:
    image: redis:7.2
    command: redis-server --requirepass replace-me
";
    let env =
        "SMTP_PASSWORD=<smtp-password>\nAPI_TOKEN=your-token-here\nSESSION_SECRET=xxxxxxxxxxxx\n";
    let script = "#!/bin/sh\ndocker run -d -e ADMIN_PASSWORD=changeme -e ADMIN_USER=admin ghcr.io/acme/admin:2.1\n";
    let p = Project::new(&[
        ("Dockerfile", dockerfile),
        ("compose.yaml", compose),
        ("api.env", env),
        ("deploy.sh", script),
    ]);
    let got = p.findings(SECRET_RULES);
    let mut places: Vec<(String, String)> =
        got.iter().map(|(c, a, _)| (c.clone(), a.clone())).collect();
    places.sort();
    let mut want: Vec<(String, String)> = [
        ("C032", "api.env:1"),
        ("C032", "api.env:2"),
        ("C032", "api.env:3"),
        ("C032", "compose.yaml:11"),
        ("C032", "compose.yaml:12"),
        ("C032", "compose.yaml:13"),
        ("C032", "compose.yaml:14"),
        ("C032", "compose.yaml:17"),
        ("C032", "compose.yaml:5"),
        ("C032", "deploy.sh:2"),
        ("D010", "Dockerfile:5"),
        ("D013", "Dockerfile:2"),
        ("D013", "Dockerfile:3"),
        ("D013", "Dockerfile:4"),
    ]
    .iter()
    .map(|(c, a)| at(c, a))
    .collect();
    want.sort();
    assert_eq!(places, want);
    // placeholders are low; the one real secret stays high
    for (code, place, severity) in &got {
        let expected = if code == "D010" {
            Severity::High
        } else {
            Severity::Low
        };
        assert_eq!(*severity, expected, "{code} at {place}");
    }
}

#[test]
fn file_variables_hold_paths_not_secrets() {
    let dockerfile = "FROM postgres:16.3
ENV POSTGRES_PASSWORD_FILE=/run/secrets/db_password
ARG DB_PASSWORD_FILE
ENV API_TOKEN_FILE api_token
";
    let compose = "services:
  db:
    image: postgres:16.3
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
      MYSQL_ROOT_PASSWORD_FILE: db_root_password
    secrets: [db_password]
    command: [\"postgres\", \"--password-file\", \"/run/secrets/db_password\"]
secrets:
  db_password:
    file: ./db_password.txt
";
    let script = "#!/bin/sh\ndocker run -d -e DB_PASSWORD_FILE=/run/secrets/db ghcr.io/acme/api:1.4.2 api --token-file=/run/secrets/token\n";
    let p = Project::new(&[
        ("Dockerfile", dockerfile),
        ("compose.yaml", compose),
        ("deploy.sh", script),
    ]);
    assert_eq!(p.places(SECRET_RULES), []);
}

#[test]
fn secrets_kept_in_a_store_or_encrypted_are_not_leaks() {
    let dockerfile = "FROM alpine:3.20
ENV DB_PASSWORD=op://prod/db/password
ENV API_TOKEN=\"{{ api_token }}\"
USER app
";
    let compose = "services:
  api:
    image: ghcr.io/acme/api:1.4.2
    env_file: [secrets.enc.env]
    environment:
      DB_PASSWORD: vault:secret/data/db#password
      STRIPE_SECRET_KEY: arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf
      SESSION_SECRET: \"@Microsoft.KeyVault(SecretUri=https://acme.vault.azure.net/secrets/session/)\"
";
    let env = "SMTP_PASSWORD=ENC[AES256_GCM,data:q8Zr2LmX0vT5nK7w,iv:P4sY1bH9cJ3dA6eG0iU=,tag:R8fTq2LmZ0vX5nK7,type:str]\n";
    let p = Project::new(&[
        ("Dockerfile", dockerfile),
        ("compose.yaml", compose),
        ("secrets.enc.env", env),
    ]);
    // `ENV API_TOKEN={{ api_token }}` is a template rendered before the build: its value is
    // baked into the image
    assert_eq!(p.places(SECRET_RULES), [at("D010", "Dockerfile:3")]);
}

#[test]
fn real_secrets_are_still_found_in_every_rule() {
    let dockerfile = "FROM alpine:3.20
ENV DB_PASSWORD=hunter2hunter2
RUN curl -H \"Authorization: token ghp_R8fTq2LmZ0vX5nK7wP4sY1bH9cJ3dA6eG0iU\" https://api.github.com/x
";
    let compose = "services:
  api:
    image: ghcr.io/acme/api:1.4.2
    environment:
      DATABASE_URL: postgres://app:Tr0ub4dor3x@db:5432/app
    command: [\"api\", \"--api-key\", \"q8Zr2LmX0vT5nK7wP4sY1bH9\"]
";
    let p = Project::new(&[("Dockerfile", dockerfile), ("compose.yaml", compose)]);
    assert_eq!(
        p.places(SECRET_RULES),
        [
            at("D010", "Dockerfile:2"),
            at("D012", "Dockerfile:3"),
            at("C029", "compose.yaml:5"),
            at("C030", "compose.yaml:6"),
        ]
    );
}

#[test]
fn images_built_by_the_compose_project_are_not_pulls() {
    let compose = "name: shop
services:
  api:
    build: ./api
    image: acme/shop-api
  worker:
    image: acme/shop-api
    command: [\"celery\", \"worker\"]
  migrate:
    image: acme/shop-api:latest
    command: [\"alembic\", \"upgrade\", \"head\"]
  web:
    build: ./web
  web-e2e:
    image: shop-web
  cache:
    image: redis
  db:
    image: postgres:latest
";
    let p = Project::new(&[("compose.yaml", compose)]);
    assert_eq!(
        p.places(&["C019"]),
        [at("C019", "compose.yaml:17"), at("C019", "compose.yaml:19")]
    );
}

#[test]
fn images_built_by_the_script_are_not_pulls() {
    let script = "#!/usr/bin/env bash
set -euo pipefail

run() {
  docker network create shop || true
  docker run -d --name api --network shop acme/shop-api
  docker run -d --name worker --network shop acme/shop-api:latest celery worker
  docker run -d --name proxy --network shop acme/proxy
  docker run -d --name cache --network shop redis
}

build() {
  docker build -t acme/shop-api -f api/Dockerfile api
  docker buildx build --load --tag=acme/proxy:dev proxy
}

build
run
";
    let makefile = "IMAGE := acme/billing

build:
\tdocker build -t acme/billing .

run: build
\tdocker run --rm -p 127.0.0.1:8080:8080 acme/billing
\tdocker run --rm alpine
";
    let p = Project::new(&[("deploy.sh", script), ("Makefile", makefile)]);
    assert_eq!(
        p.places(&["C019"]),
        [at("C019", "Makefile:8"), at("C019", "deploy.sh:9")]
    );
}

#[test]
fn dockerfiles_built_from_images_the_project_builds_do_not_pull_them() {
    let build = "#!/bin/sh
set -e
docker build -t acme/base -f Dockerfile.base .
docker build -t acme/api api
";
    let base = "FROM debian:12.5-slim\nRUN useradd -r app\nUSER app\n";
    let api = "FROM acme/base\nCOPY --from=acme/base:latest /etc/passwd /tmp/passwd\nUSER app\n";
    let compose = "services:
  worker-base:
    build:
      context: .
      dockerfile: Dockerfile.worker-base
    image: acme/worker-base:dev
  worker:
    build: ./worker
    image: acme/worker:1.2.0
";
    let worker_base = "FROM python:3.12-slim\nUSER nobody\n";
    let worker = "FROM acme/worker-base:latest\nFROM node\nUSER nobody\n";
    let p = Project::new(&[
        ("build.sh", build),
        ("Dockerfile.base", base),
        ("api/Dockerfile", api),
        ("compose.yaml", compose),
        ("Dockerfile.worker-base", worker_base),
        ("worker/Dockerfile", worker),
    ]);
    // `FROM node` is still pulled from the registry, untagged
    assert_eq!(
        p.places(&["D001", "D002", "D003", "D004", "D005"]),
        [at("D001", "worker/Dockerfile:2")]
    );
}

const PORT_RULES: &[&str] = &["C024", "C025", "N001", "N003"];

#[test]
fn protocols_an_http_gateway_cannot_front_are_not_gateway_findings() {
    let compose = "services:
  proxy:
    image: traefik:v3.1
    ports:
      - \"443:443\"
      - \"443:443/udp\"
  mail:
    image: mailserver/docker-mailserver:14.0
    ports:
      - \"25:25\"
      - \"143:143\"
      - \"465:465\"
      - \"587:587\"
      - \"993:993\"
  dns:
    image: pihole/pihole:2024.07.0
    ports:
      - \"53:53/tcp\"
      - \"53:53/udp\"
      - \"67:67/udp\"
      - \"8080:80\"
  git:
    image: gitea/gitea:1.22
    ports:
      - \"2222:22\"
  ldap:
    image: osixia/openldap:1.5.0
    ports:
      - \"389:389\"
      - \"636:636\"
  mqtt:
    image: eclipse-mosquitto:2.0
    ports:
      - \"1883:1883\"
      - \"8883:8883\"
  vpn:
    image: linuxserver/wireguard:1.0.20210914
    ports:
      - \"51820:51820/udp\"
  pool:
    image: edoburu/pgbouncer:1.23.1
    ports:
      - \"6432:5432\"
";
    let p = Project::new(&[("compose.yaml", compose)]);
    let got = p.findings(PORT_RULES);
    let places: Vec<(String, String)> =
        got.iter().map(|(c, a, _)| (c.clone(), a.clone())).collect();
    assert_eq!(
        places,
        [
            // the gateway's HTTPS (and HTTP/3) port: both rules say to keep it on the gateway
            at("C024", "compose.yaml:5"),
            at("C025", "compose.yaml:5"),
            at("C024", "compose.yaml:6"),
            at("C025", "compose.yaml:6"),
            // pihole's web UI is the one second HTTP entry point (C025 naming N003)
            at("C025", "compose.yaml:21"),
            // PgBouncer speaks PostgreSQL: the datastore rule, once (naming C025)
            at("N001", "compose.yaml:43"),
        ]
    );
    let report = Auditor::new(AuditOptions::default()).audit(discover(std::slice::from_ref(&p.0)));
    let message = |line: usize| {
        report
            .findings
            .iter()
            .find(|f| f.location.line == line && PORT_RULES.contains(&f.code.as_str()))
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    assert!(message(21).contains("N003"), "{}", message(21));
    assert!(
        message(43).contains("(PostgreSQL)") && message(43).contains("C025"),
        "{}",
        message(43)
    );
}

//! Inputs a compose project needs that are not there (a git-ignored `.env` named in
//! `env_file`, a variable that is not set): `docker compose` stops, the loader goes on. Each
//! missing input is noted once, located where it is referred to; the values that need it are
//! unknown — left out when they cannot be read without it, kept and marked interpolated when
//! they are text — and everything else is read.

use moat_deploy::{
    Assume, ComposeProject, ContainerFacts, Env, Provenance, UnavailableKind, load_compose,
};

fn load(files: &[(&str, &str)], env: &Env) -> ComposeProject {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    load_compose(&[dir.path().join(files[0].0)], env).unwrap_or_else(|e| panic!("{e}"))
}

fn service<'a>(p: &'a ComposeProject, name: &str) -> &'a ContainerFacts {
    p.services.iter().find(|s| s.name == name).expect("service")
}

/// (kind, name, line, column) of each note.
fn notes(p: &ComposeProject) -> Vec<(UnavailableKind, &str, usize, usize)> {
    p.unavailable
        .iter()
        .map(|u| (u.kind, u.name.as_str(), u.location.line, u.location.column))
        .collect()
}

const APP: &str = "\
services:
  api:
    image: registry.example.com/api:${TAG:?set TAG}
    env_file: .env
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
      LOG_LEVEL: info
    restart: ${RESTART_POLICY}
    privileged: ${PRIVILEGED:?}
    read_only: true
    ports:
      - \"${API_PORT:?}:8080\"
      - \"127.0.0.1:9090:9090\"
    deploy:
      resources:
        limits:
          memory: ${API_MEMORY}
  db:
    image: postgres:16.3
    env_file:
      - path: ./db.env
        required: false
      - path: ./secrets.env
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    user: postgres
";

#[test]
fn missing_env_files_and_variables_are_noted_once_and_the_rest_is_read() {
    let p = load(&[("compose.yaml", APP)], &Env::new());
    assert_eq!(
        notes(&p),
        [
            (UnavailableKind::Variable, "TAG", 3, 12),
            (UnavailableKind::EnvFile, ".env", 4, 15),
            (UnavailableKind::Variable, "DB_PASSWORD", 6, 21),
            (UnavailableKind::Variable, "RESTART_POLICY", 8, 14),
            (UnavailableKind::Variable, "PRIVILEGED", 9, 17),
            (UnavailableKind::Variable, "API_PORT", 12, 9),
            (UnavailableKind::Variable, "API_MEMORY", 17, 19),
            // the optional db.env is not a note; the required secrets.env is
            (UnavailableKind::EnvFile, "./secrets.env", 23, 15),
        ]
    );
    assert_eq!(p.unavailable[0].detail.as_deref(), Some("set TAG"));
    assert_eq!(p.unavailable[4].detail, None);

    let api = service(&p, "api");
    // text values stay, marked: never taken for hard-coded values
    let image = api.image.as_ref().unwrap();
    assert!(image.interpolated);
    let url = api.env("DATABASE_URL").unwrap();
    assert_eq!(url.provenance, Provenance::Interpolated);
    assert!(url.value.as_ref().unwrap().interpolated);
    assert_eq!(
        api.env("LOG_LEVEL").unwrap().value.as_ref().unwrap().value,
        "info"
    );
    // values that cannot be read without the variable are unknown, not absent and not safe
    assert_eq!(api.privileged, None);
    assert_eq!(api.restart, None);
    assert_eq!(api.resources.memory, None);
    let unknown: Vec<(&str, usize)> = api
        .unknown
        .iter()
        .map(|u| (u.key.as_str(), u.location.line))
        .collect();
    assert_eq!(
        unknown,
        [
            ("restart", 8),
            ("privileged", 9),
            ("ports", 12),
            ("deploy.resources.limits.memory", 17)
        ]
    );
    // the known settings around them are read
    assert!(api.read_only.as_ref().unwrap().value);
    assert_eq!(api.ports.len(), 1);
    assert_eq!(api.ports[0].value.host_ip.as_deref(), Some("127.0.0.1"));

    let db = service(&p, "db");
    assert!(db.unknown.is_empty());
    assert_eq!(db.user.as_ref().unwrap().value, "postgres");
    let password = db.env("POSTGRES_PASSWORD").unwrap();
    assert_eq!(password.provenance, Provenance::Interpolated);
}

#[test]
fn unknown_settings_are_filled_both_ways_for_judgements() {
    let p = load(&[("compose.yaml", APP)], &Env::new());
    let api = service(&p, "api");
    let worst = api.assuming(Assume::Worst);
    let best = api.assuming(Assume::Best);
    assert!(worst.privileged.as_ref().unwrap().value);
    assert!(!best.privileged.as_ref().unwrap().value);
    assert_eq!(
        worst.resources.memory.as_ref().unwrap().value.bytes,
        Some(0)
    );
    assert!(best.resources.memory.as_ref().unwrap().value.bytes > Some(0));
    // filled at the unknown value, marked interpolated
    let m = best.resources.memory.as_ref().unwrap();
    assert_eq!((m.location.line, m.location.column), (17, 19));
    assert!(m.interpolated);
    // a known setting is not touched
    assert!(worst.read_only.as_ref().unwrap().value);
}

#[test]
fn present_inputs_leave_nothing_unknown() {
    let env = Env::new()
        .with("TAG", "1.4.2")
        .with("DB_PASSWORD", "x")
        .with("RESTART_POLICY", "unless-stopped")
        .with("PRIVILEGED", "false")
        .with("API_PORT", "8080")
        .with("API_MEMORY", "512m");
    let p = load(
        &[
            ("compose.yaml", APP),
            (".env", "LOG_FORMAT=json\n"),
            ("secrets.env", "API_KEY=k\n"),
        ],
        &env,
    );
    assert!(p.unavailable.is_empty(), "{:?}", p.unavailable);
    let api = service(&p, "api");
    assert!(api.unknown.is_empty());
    assert_eq!(api.restart.as_ref().unwrap().value.name, "unless-stopped");
    assert!(!api.privileged.as_ref().unwrap().value);
    assert_eq!(api.ports.len(), 2);
    assert_eq!(
        api.env("LOG_FORMAT").unwrap().value.as_ref().unwrap().value,
        "json"
    );
}

#[test]
fn a_variable_set_to_empty_is_missing_only_where_colon_forms_require_it() {
    let p = load(
        &[(
            "compose.yaml",
            "services:\n  a:\n    image: a:${EMPTY?}\n    hostname: ${EMPTY:?}\n",
        )],
        &Env::new().with("EMPTY", ""),
    );
    assert_eq!(notes(&p), [(UnavailableKind::Variable, "EMPTY", 4, 15)]);
}

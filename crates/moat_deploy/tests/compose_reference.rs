//! Merge, `extends` and interpolation compared with Docker's own implementation:
//! `docker compose config` (v2) or `docker-compose config` (v1), when one is installed.
//! Skipped, with a message, on machines that have neither.

mod support;

use moat_deploy::{Env, load_compose, parse_compose};
use std::path::{Path, PathBuf};
use support::{reference, reference_config, summaries};

fn compare(dir: &str, files: &[&str], vars: &[(&str, &str)]) {
    let Some((prog, pre)) = reference() else {
        println!("skipped: neither `docker compose` nor `docker-compose` is installed");
        return;
    };
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(dir);
    let mut env = Env::from_process();
    for (k, v) in vars {
        env.set(*k, *v);
    }
    let text = reference_config(&(prog.clone(), pre.clone()), &dir, files, vars)
        .unwrap_or_else(|e| panic!("{prog} config failed: {e}"));
    let theirs = parse_compose(&text, "<reference config>", &Env::new())
        .unwrap_or_else(|e| panic!("reference output does not parse: {e}\n{text}"));
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let ours = load_compose(&paths, &env).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "compared with `{prog} {} config` on {}",
        pre.join(" "),
        dir.display()
    );
    assert_eq!(
        summaries(&ours),
        summaries(&theirs),
        "reference output:\n{text}"
    );
}

#[test]
fn override_merge_matches_docker_compose() {
    compare(
        "merge",
        &["compose.yml", "compose.override.yml"],
        &[("BVAL", "bee"), ("DB_PASSWORD", "pw"), ("TAG", "")],
    );
}

#[test]
fn extends_anchors_and_dotenv_match_docker_compose() {
    compare("extends", &["compose.yml"], &[]);
}

#[test]
fn syntax_forms_match_docker_compose() {
    compare("forms", &["compose.yml", "compose.prod.yml"], &[]);
}

//! The parsers return errors, never panic, whatever the input.

use moat_deploy::{Env, find_docker_runs, parse_compose, parse_daemon_config, parse_docker_run};
use proptest::prelude::*;
use std::fmt::Write as _;

/// Text made of the characters that matter to YAML, shell and JSON syntax.
fn syntaxy() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "([ \\n\\t:,\\-\\[\\]{}&*<>|!'\"#$%@`\\\\=/.]|services|ports|volumes|environment|extends|image|<<|docker run|-p|--cap-add|é|[a-z0-9]){0,120}",
    )
    .expect("valid regex")
}

/// Compose-shaped documents with random values.
fn compose_doc() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("image"),
        Just("ports"),
        Just("volumes"),
        Just("environment"),
        Just("extends"),
        Just("user"),
        Just("privileged"),
        Just("cap_add"),
        Just("security_opt"),
        Just("deploy"),
        Just("restart"),
        Just("healthcheck"),
        Just("command"),
        Just("networks"),
        Just("ulimits"),
        Just("env_file"),
        Just("devices"),
        Just("logging"),
        Just("secrets"),
        Just("tmpfs"),
    ];
    let value = syntaxy();
    proptest::collection::vec((key, value), 0..6).prop_map(|entries| {
        let mut s = String::from("services:\n  a:\n");
        for (k, v) in entries {
            let _ = writeln!(s, "    {k}: {v}");
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compose_never_panics(text in syntaxy()) {
        let _ = parse_compose(&text, "/nonexistent/compose.yaml", &Env::new());
    }

    #[test]
    fn compose_documents_never_panic(text in compose_doc()) {
        let _ = parse_compose(&text, "/nonexistent/compose.yaml", &Env::new());
    }

    #[test]
    fn docker_run_never_panics(args in syntaxy()) {
        let _ = parse_docker_run(&format!("docker run {args}"), "c", 7);
        let _ = parse_docker_run(&args, "c", 0);
    }

    #[test]
    fn scripts_never_panic(text in syntaxy()) {
        let _ = find_docker_runs(&text, "deploy.sh");
        let _ = find_docker_runs(&text, "Makefile");
    }

    #[test]
    fn daemon_json_never_panics(text in syntaxy()) {
        let _ = parse_daemon_config(&text, "daemon.json");
    }

    #[test]
    fn arbitrary_unicode_never_panics(text in any::<String>()) {
        let _ = parse_compose(&text, "/nonexistent/compose.yaml", &Env::new());
        let _ = parse_docker_run(&text, "c", 0);
        let _ = find_docker_runs(&text, "x.sh");
        let _ = parse_daemon_config(&text, "d");
    }
}

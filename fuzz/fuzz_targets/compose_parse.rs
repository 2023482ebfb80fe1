//! Fuzzes the compose source (YAML, merge keys, interpolation, facts) and the daemon.json reader:
//! any input must give facts or a located error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_deploy::{Env, parse_compose, parse_daemon_config};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let env = Env::new().with("SET", "value").with("EMPTY", "");
        // a path in a directory that does not exist: env_file/extends/include reads fail cleanly
        let _ = parse_compose(text, "/nonexistent-fuzz-dir/compose.yaml", &env);
        let _ = parse_daemon_config(text, "daemon.json");
    }
});

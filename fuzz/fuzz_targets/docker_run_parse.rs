//! Fuzzes the `docker run` parser and the script scanner: any input must give facts or a
//! located error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_deploy::{find_docker_runs, parse_docker_run};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_docker_run(text, "<docker-run>", 0);
        let _ = parse_docker_run(&format!("docker run {text}"), "<docker-run>", 17);
        let _ = find_docker_runs(text, "deploy.sh");
        let _ = find_docker_runs(text, "Makefile");
    }
});

//! Times the parser on a folder of Dockerfiles (by default the shared corpus):
//! `cargo run -p moat_dockerfile --release --example parse_corpus [DIR]`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dockerfiles"),
        PathBuf::from,
    );
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no such folder: {}", dir.display());
        std::process::exit(2);
    };
    let sources: Vec<String> = entries
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let bytes: usize = sources.iter().map(String::len).sum();
    let (parse, all) = (time(&sources, false), time(&sources, true));
    let per_file = |d: Duration| d.as_secs_f64() * 1e6 / sources.len().max(1) as f64;
    println!(
        "{} files, {:.1} MiB: parse {:.1} ms ({:.1} µs/file); parse + words/key_values/run_commands {:.1} ms ({:.1} µs/file)",
        sources.len(),
        bytes as f64 / (1024.0 * 1024.0),
        parse.as_secs_f64() * 1e3,
        per_file(parse),
        all.as_secs_f64() * 1e3,
        per_file(all),
    );
}

/// Best of five passes over all sources.
fn time(sources: &[String], accessors: bool) -> Duration {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for src in sources {
                let Ok(df) = moat_dockerfile::parse(src) else {
                    continue;
                };
                if accessors {
                    for ins in &df.instructions {
                        std::hint::black_box((ins.words(), ins.key_values(), ins.run_commands()));
                    }
                }
                std::hint::black_box(df);
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

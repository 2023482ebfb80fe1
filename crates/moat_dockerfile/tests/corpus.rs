//! Parses every Dockerfile of the shared corpus (about 3,000 real-world files): no panic
//! anywhere (parse and every accessor), and parse failures on at most 1% of the files.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The corpus folder, beside the repository (`shared/corpus/dockerfiles`).
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dockerfiles")
}

/// Parses `src` and exercises every accessor; `Err` carries the parse error.
fn exercise(src: &str) -> Result<(), String> {
    let df = moat_dockerfile::parse(src).map_err(|e| {
        let line = src[..e.span.start.min(src.len())].matches('\n').count() + 1;
        format!("line {line}: {}", e.message)
    })?;
    for ins in &df.instructions {
        let _ = (ins.words(), ins.key_values(), ins.run_commands());
    }
    for stage in &df.stages {
        let _ = df.instructions_of(stage);
    }
    Ok(())
}

#[test]
fn corpus_parses_without_panics() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: corpus not found at {}", dir.display());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let (mut failures, mut panics) = (Vec::new(), Vec::new());
    for path in &paths {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let src = String::from_utf8_lossy(&bytes);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match catch_unwind(AssertUnwindSafe(|| exercise(&src))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => panics.push(name.into_owned()),
        }
    }
    println!(
        "{} files, {} parse failures, {} panics",
        paths.len(),
        failures.len(),
        panics.len()
    );
    for f in &failures {
        println!("  failure: {f}");
    }
    assert!(panics.is_empty(), "panics on: {panics:?}");
    assert!(
        failures.len() * 100 <= paths.len(),
        "{} failures on {} files",
        failures.len(),
        paths.len()
    );
}

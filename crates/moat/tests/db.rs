//! `moat db` end to end: import, info, lookup, and the errors a user meets offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn moat(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .current_dir(dir)
        .env_remove("XDG_CACHE_HOME")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../moat_vuln/tests/fixtures/debian12")
}

#[test]
fn import_info_and_lookup() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("adv.db");
    let db = db.to_str().unwrap();
    let o = moat(
        tmp.path(),
        &["db", "import", "--db", db, fixtures().to_str().unwrap()],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("imported 5 records"), "{out}");

    let o = moat(
        tmp.path(),
        &["db", "info", "--db", db, "--max-db-age", "7d"],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    for needle in ["schema:   1", "Debian:12", "osv-folder  5 records", "ago"] {
        assert!(out.contains(needle), "{needle} in {out}");
    }

    let o = moat(
        tmp.path(),
        &[
            "db",
            "lookup",
            "--db",
            db,
            "Debian:12",
            "openssl",
            "3.0.11-1~deb12u1",
        ],
        &[],
    );
    let (out, _) = text(&o);
    assert!(
        out.contains("DSA-5532-1") && out.contains("AFFECTED, fixed in 3.0.11-1~deb12u2"),
        "{out}"
    );
    let o = moat(
        tmp.path(),
        &[
            "db",
            "lookup",
            "--db",
            db,
            "Debian:12",
            "openssl",
            "3.0.11-1~deb12u2",
        ],
        &[],
    );
    assert!(text(&o).0.contains("not affected"));
}

#[test]
fn default_location_is_under_the_cache_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let vars = [("XDG_CACHE_HOME", cache.to_str().unwrap())];
    let o = moat(
        tmp.path(),
        &["db", "import", fixtures().to_str().unwrap()],
        &vars,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    assert!(cache.join("moat/advisories.db").is_file());
    let o = moat(tmp.path(), &["db", "info"], &vars);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn missing_database_explains_offline_setup() {
    let tmp = tempfile::tempdir().unwrap();
    let o = moat(tmp.path(), &["db", "info", "--db", "nowhere.db"], &[]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    for needle in [
        "no advisory database at nowhere.db",
        "all.zip",
        "moat db import",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
}

#[test]
fn bad_inputs_exit_two_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("BROKEN-1.json"), "{\"id\": ").unwrap();
    let o = moat(
        tmp.path(),
        &["db", "import", "--db", "x.db", "BROKEN-1.json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("BROKEN-1.json"));
    let o = moat(
        tmp.path(),
        &["db", "import", "--db", "x.db", "missing-dir"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("missing-dir"));
    let o = moat(
        tmp.path(),
        &["db", "info", "--db", "x.db", "--max-db-age", "soon"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--max-db-age"));
}

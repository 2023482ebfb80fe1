//! The image readers on images of a real Docker engine: an image imported from a root
//! filesystem made here (the host's static busybox, a dpkg status and an apk database), read
//! from its `docker save` tarball and streamed from the engine's export.
//!
//! Without an engine the tests are skipped (a line on stderr); with `MOAT_REQUIRE_DOCKER=1`
//! that is a failure. Everything created carries the run label and is removed on drop.

use std::path::Path;

use moat_engine::test_support::{BUSYBOX, EngineGuard, require_engine};
use moat_scan::image::{ArchiveSource, EngineSource, ImageFiles, Limits, final_files};

const DPKG: &str = "Package: busybox-static\nStatus: install ok installed\nVersion: 1:1.36.1-6\n\n";
const APK: &str = "P:musl\nV:1.2.4-r2\nA:x86_64\n\n";

fn wanted(path: &str, _: u64, _: u32) -> bool {
    matches!(
        path,
        "var/lib/dpkg/status" | "lib/apk/db/installed" | "bin/busybox" | "bin/sh" | "etc/passwd"
    )
}

/// Imports a rootfs with busybox, a dpkg status and an apk database; returns its reference.
fn import(guard: &EngineGuard) -> String {
    let root = guard.dir().join("rootfs");
    for d in ["bin", "etc", "var/lib/dpkg", "lib/apk/db"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), DPKG).unwrap();
    std::fs::write(root.join("lib/apk/db/installed"), APK).unwrap();
    let tar = guard.dir().join("rootfs.tar");
    let ok = std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar of the rootfs");
    let reference = format!("moat-scan-test:{}", guard.run_id());
    let label = format!("LABEL {}", guard.label());
    let id = guard.docker(&[
        "import",
        "--change",
        &label,
        "--change",
        "USER 65534",
        "--change",
        "ENV API_KEY=x",
        &tar.to_string_lossy(),
        &reference,
    ]);
    guard.own_image(&id);
    reference
}

fn check(img: &ImageFiles, reference: &str) {
    let get = |p: &str| {
        img.files
            .iter()
            .find(|f| f.path == p)
            .unwrap_or_else(|| panic!("{p} missing: {:?}", img.warnings))
    };
    assert_eq!(get("var/lib/dpkg/status").data, DPKG.as_bytes());
    assert_eq!(get("lib/apk/db/installed").data, APK.as_bytes());
    let busybox = get("bin/busybox");
    let size = std::fs::metadata(BUSYBOX).unwrap().len();
    assert_eq!(busybox.size, size);
    assert_eq!(busybox.data.len() as u64, size);
    assert!(busybox.mode & 0o111 != 0);
    let sh = get("bin/sh");
    assert_eq!(sh.link.as_deref(), Some("bin/busybox"));
    assert_eq!(img.files.len(), 5);
    assert!(img.files.iter().all(|f| f.layer == 0));
    assert_eq!(img.layers.len(), 1);
    assert!(img.layers[0].starts_with("sha256:"), "{:?}", img.layers);
    let config = img.config.as_ref().unwrap();
    assert_eq!(config.user.as_deref(), Some("65534"));
    assert!(config.env.iter().any(|e| e == "API_KEY=x"));
    assert_eq!(img.reference.as_deref(), Some(reference));
    assert!(img.warnings.is_empty(), "{:?}", img.warnings);
}

#[test]
fn docker_save_tarball_of_an_imported_image() {
    let Some(guard) = require_engine() else {
        return;
    };
    let reference = import(&guard);
    let saved = guard.dir().join("saved.tar");
    guard.docker(&["save", "-o", &saved.to_string_lossy(), &reference]);
    let img = final_files(
        &mut ArchiveSource::open(&saved).unwrap(),
        &wanted,
        &Limits::default(),
    )
    .unwrap();
    check(&img, &reference);
    // the same bytes as a stream
    let file = std::fs::File::open(&saved).unwrap();
    let streamed = final_files(
        &mut ArchiveSource::from_stream(file, "saved.tar"),
        &wanted,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(streamed.files, img.files);
    timing(&saved);
}

#[test]
fn engine_export_streamed() {
    let Some(guard) = require_engine() else {
        return;
    };
    let reference = import(&guard);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let host = moat_engine::EngineHost::from_env(None).unwrap();
    let engine = runtime.block_on(moat_engine::connect(&host)).unwrap();
    let mut source = EngineSource::new(&engine, &reference, runtime.handle().clone());
    let img = final_files(&mut source, &wanted, &Limits::default()).unwrap();
    check(&img, &reference);

    let mut missing = EngineSource::new(
        &engine,
        &format!("moat-scan-test-absent:{}", guard.run_id()),
        runtime.handle().clone(),
    );
    let err = final_files(&mut missing, &wanted, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("moat-scan-test-absent"), "{err}");
}

/// Prints how long reading a tarball takes against reading its bytes (`MOAT_IMAGE_TAR` names
/// a bigger one to measure).
fn timing(default: &Path) {
    let path = std::env::var_os("MOAT_IMAGE_TAR").map_or_else(|| default.to_path_buf(), Into::into);
    let start = std::time::Instant::now();
    let bytes = std::io::copy(
        &mut std::fs::File::open(&path).unwrap(),
        &mut std::io::sink(),
    )
    .unwrap();
    let cat = start.elapsed();
    let start = std::time::Instant::now();
    let small = final_files(
        &mut ArchiveSource::open(&path).unwrap(),
        &|p: &str, _: u64, _: u32| p.ends_with("dpkg/status"),
        &Limits::default(),
    )
    .unwrap();
    eprintln!(
        "{}: package database only: {:?}",
        path.display(),
        start.elapsed()
    );
    assert!(!small.files.is_empty());
    let start = std::time::Instant::now();
    let img = final_files(
        &mut ArchiveSource::open(&path).unwrap(),
        &|p: &str, _: u64, m: u32| {
            p.ends_with("dpkg/status") || m & 0o111 != 0 && p.contains("bin/")
        },
        &Limits::default(),
    )
    .unwrap();
    eprintln!(
        "{}: {bytes} bytes; read {cat:?}, final_files {:?} ({} files)",
        path.display(),
        start.elapsed(),
        img.files.len()
    );
}

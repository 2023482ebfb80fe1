//! The image readers on tarballs and layouts built here in memory: both `docker save` layouts,
//! `oci-archive`, OCI layout directories and root filesystems; whiteouts and opaque
//! directories; and hostile input (each ends in an error or a warning, never a panic).

mod image_support;

use std::io::Cursor;

use image_support::{E, all, gzip, layer, outer, read_both, summary, zstd};
use moat_scan::image::{
    ArchiveSource, ImageError, Limits, OciLayoutSource, RootfsSource, S_IFLNK, S_IFMT, S_IFREG,
    final_files,
};

fn s(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

// `image_support` names blobs and diff ids by made-up digests (`hex(i)`). The readers check
// blobs against their digests: the tarballs and layouts of these tests name them by their own.

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Renames each `blobs/sha256/…` member by the digest of its bytes, in order, and rewrites the
/// JSON members after it that name it.
fn sealed(members: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut renamed: Vec<(String, String)> = Vec::new();
    members
        .into_iter()
        .map(|(name, mut bytes)| {
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                let mut text = String::from_utf8(bytes).unwrap();
                for (old, new) in &renamed {
                    text = text.replace(old.as_str(), new);
                }
                bytes = text.into_bytes();
            }
            match name.strip_prefix("blobs/sha256/") {
                Some(old) => {
                    let new = sha256(&bytes);
                    renamed.push((old.to_string(), new.clone()));
                    (format!("blobs/sha256/{new}"), bytes)
                }
                None => (name, bytes),
            }
        })
        .collect()
}

/// [`image_support::oci_members`], content-addressed.
fn oci_members(layers: &[Vec<u8>], name: &str, docker: bool) -> Vec<(String, Vec<u8>)> {
    sealed(image_support::oci_members(layers, name, docker))
}

/// A configuration with the real diff ids of `layers` (uncompressed tars).
fn with_diff_ids(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(config).unwrap();
    let ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256(l)))
        .collect();
    doc["rootfs"]["diff_ids"] = serde_json::json!(ids);
    serde_json::to_vec(&doc).unwrap()
}

/// The `(name, bytes)` members of a tarball.
fn members_of(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// [`image_support::legacy_archive`], with the layers' real diff ids in the configurations.
fn legacy_archive(images: &[image_support::Image<'_>]) -> Vec<u8> {
    let mut members = members_of(&image_support::legacy_archive(images));
    let get = |members: &[(String, Vec<u8>)], name: &str| {
        members.iter().position(|(n, _)| n == name).unwrap()
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&members[get(&members, "manifest.json")].1).unwrap();
    for image in manifest.as_array().unwrap() {
        let layers: Vec<Vec<u8>> = image["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| members[get(&members, l.as_str().unwrap())].1.clone())
            .collect();
        let layers: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
        let at = get(&members, image["Config"].as_str().unwrap());
        members[at].1 = with_diff_ids(&members[at].1, &layers);
    }
    outer(&members)
}

fn two_layers() -> Vec<Vec<u8>> {
    let base = layer(&[
        E::Dir("etc/"),
        E::File("etc/os-release", s("ID=debian\n")),
        E::File("etc/removed", s("gone")),
        E::Dir("var/lib/dpkg/"),
        E::File("var/lib/dpkg/status", s("Package: a\n")),
        E::Dir("opt/app/"),
        E::File("opt/app/old.txt", s("old")),
        E::File("opt/app/sub/deep.txt", s("deep")),
        E::Dir("data/"),
        E::File("data/keep.txt", s("keep")),
        E::File("data/replaced-by-dir", s("file")),
    ]);
    let top = layer(&[
        E::File("etc/.wh.removed", vec![]),
        E::File("opt/app/.wh..wh..opq", vec![]),
        E::File("opt/app/new.txt", s("new")),
        E::File("var/lib/dpkg/status", s("Package: a\n\nPackage: b\n")),
        E::Dir("data/replaced-by-dir/"),
    ]);
    vec![base, top]
}

#[test]
fn legacy_archive_applies_whiteouts_and_opaque_directories() {
    let tar = legacy_archive(&[(&["app:1"], two_layers(), "nobody")]);
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(
        summary(&img.files),
        vec![
            ("data/keep.txt".into(), "keep".into(), 0),
            ("etc/os-release".into(), "ID=debian\n".into(), 0),
            ("opt/app/new.txt".into(), "new".into(), 1),
            (
                "var/lib/dpkg/status".into(),
                "Package: a\n\nPackage: b\n".into(),
                1
            ),
        ]
    );
    let config = img.config.unwrap();
    assert_eq!(config.user.as_deref(), Some("nobody"));
    assert_eq!(config.env, ["PATH=/bin", "SECRET=x"]);
    assert_eq!(config.labels["a"], "b");
    assert_eq!(config.history.len(), 2);
    assert_eq!(
        img.layers, config.diff_ids,
        "legacy layers are named by diff id"
    );
    assert_eq!(img.reference.as_deref(), Some("app:1"));
    assert!(img.warnings.is_empty(), "{:?}", img.warnings);
    let f = &img.files[0];
    assert_eq!(f.mode & S_IFMT, S_IFREG);
    assert_eq!(f.size, 4);
    assert!(!f.truncated);
}

#[test]
fn oci_layout_in_a_docker_tarball_with_gzip_layers() {
    let layers: Vec<Vec<u8>> = two_layers().iter().map(|l| gzip(l)).collect();
    let tar = outer(&oci_members(&layers, "app:2", true));
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(img.files.len(), 4);
    assert_eq!(img.layers[0], format!("sha256:{}", sha256(&layers[0])));
    assert_eq!(img.reference.as_deref(), Some("app:2"));
    assert_eq!(img.config.unwrap().user.as_deref(), Some("app"));
}

#[test]
fn oci_archive_with_zstd_layers_and_a_name() {
    let layers: Vec<Vec<u8>> = two_layers().iter().map(|l| zstd(l)).collect();
    let tar = outer(&oci_members(&layers, "app:3", false));
    for reference in [None, Some("app:3"), Some("docker.io/library/app:3")] {
        let img = read_both(&tar, reference, &Limits::default()).unwrap();
        assert_eq!(img.files.len(), 4, "{reference:?}");
        assert_eq!(img.reference.as_deref(), Some("docker.io/library/app:3"));
    }
    let err = read_both(&tar, Some("other:1"), &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::NotFound { .. }), "{err}");
}

#[test]
fn zstd_streams_of_several_frames_and_skippable_frames() {
    let l = layer(&[E::File("a", s("one")), E::File("b", s("two"))]);
    let (first, second) = l.split_at(700);
    let mut z = zstd(first);
    // a skippable frame between the two
    z.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    z.extend(zstd(second));
    let tar = outer(&oci_members(&[z], "z:1", false));
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(summary(&img.files).len(), 2);
}

#[test]
fn oci_layout_directory() {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in oci_members(&two_layers(), "app:4", false) {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let img = final_files(
        &mut OciLayoutSource::new(dir.path()),
        &all,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(img.files.len(), 4);
    let named = final_files(
        &mut OciLayoutSource::new(dir.path()).with_reference(Some("app:4")),
        &all,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(named.files, img.files);
    // a layer blob removed
    let second = sha256(&two_layers()[1]);
    std::fs::remove_file(dir.path().join(format!("blobs/sha256/{second}"))).unwrap();
    let err = final_files(
        &mut OciLayoutSource::new(dir.path()),
        &all,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Missing { .. }), "{err}");
    assert!(err.to_string().contains(&second), "{err}");
}

#[test]
fn several_images_pick_the_named_one_or_list_them() {
    let one = vec![layer(&[E::File("who", s("one"))])];
    let two = vec![layer(&[E::File("who", s("two"))])];
    let tar = legacy_archive(&[(&["one:1"], one, "a"), (&["two:1", "two:latest"], two, "b")]);
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    let ImageError::Ambiguous { images, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(images, &["one:1", "two:1 two:latest"]);
    assert!(err.to_string().contains("one:1"), "{err}");
    let img = read_both(&tar, Some("two"), &Limits::default()).unwrap();
    assert_eq!(summary(&img.files), vec![("who".into(), "two".into(), 0)]);
    assert_eq!(img.reference.as_deref(), Some("two:latest"));
    let err = read_both(&tar, Some("three"), &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("no image three; it holds: one:1, two:1 two:latest"),
        "{err}"
    );
}

#[test]
fn a_layer_shared_by_a_link_and_used_twice() {
    let l0 = layer(&[E::File("a", s("a"))]);
    let l1 = layer(&[E::File("b", s("b"))]);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    add("x/layer.tar", &l0);
    add("y/layer.tar", &l1);
    add(
        "c.json",
        &with_diff_ids(&image_support::config(3, "u"), &[&l0, &l1, &l0]),
    );
    add(
        "manifest.json",
        br#"[{"Config":"c.json","RepoTags":["t:1"],"Layers":["x/layer.tar","z/layer.tar","x/layer.tar"]}]"#,
    );
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "z/layer.tar", "../y/layer.tar")
        .unwrap();
    let tar = b.into_inner().unwrap();
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(
        summary(&img.files),
        vec![("a".into(), "a".into(), 2), ("b".into(), "b".into(), 1)]
    );
}

#[test]
fn the_filter_decides_and_sees_paths_sizes_and_modes() {
    let l = layer(&[
        E::FileMode("usr/local/bin/api", s("\x7fELF"), 0o755),
        E::File("etc/big", vec![b'x'; 5000]),
        E::File("./etc/os-release", s("x")),
        E::Sym("bin/sh", "busybox"),
    ]);
    let tar = legacy_archive(&[(&["f:1"], vec![l], "u")]);
    let seen = std::sync::Mutex::new(Vec::new());
    let filter = |p: &str, size: u64, mode: u32| {
        seen.lock().unwrap().push((p.to_string(), size, mode));
        p != "etc/big"
    };
    let img = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(tar), "t"),
        &filter,
        &Limits::default(),
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.contains(&("usr/local/bin/api".into(), 4, S_IFREG | 0o755)),
        "{seen:?}"
    );
    assert!(seen.contains(&("etc/big".into(), 5000, S_IFREG | 0o644)));
    assert!(seen.contains(&("etc/os-release".into(), 1, S_IFREG | 0o644)));
    assert!(seen.contains(&("bin/sh".into(), 7, S_IFLNK | 0o777)));
    let paths: Vec<&str> = img.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["etc/os-release", "usr/local/bin/api"]);
    assert_eq!(
        img.warnings.len(),
        1,
        "the link to an unread file: {:?}",
        img.warnings
    );
}

#[test]
fn symbolic_links_resolve_inside_the_root() {
    let l0 = layer(&[
        E::File("usr/lib/os-release", s("ID=debian\n")),
        E::Sym("etc/os-release", "../usr/lib/os-release"),
        E::Sym("lib", "usr/lib"),
        E::Sym("escape", "../../../../usr/lib/os-release"),
        E::Sym("via-dir", "/lib/os-release"),
        E::Sym("loop1", "loop2"),
        E::Sym("loop2", "loop1"),
        E::Sym("dangling", "/nowhere"),
    ]);
    let tar = legacy_archive(&[(&["l:1"], vec![l0], "u")]);
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    let get = |p: &str| img.files.iter().find(|f| f.path == p);
    for p in ["etc/os-release", "escape", "via-dir"] {
        let f = get(p).unwrap_or_else(|| panic!("{p}: {:?}", img.warnings));
        assert_eq!(f.data, b"ID=debian\n");
        assert_eq!(f.link.as_deref(), Some("usr/lib/os-release"));
    }
    assert!(get("loop1").is_none() && get("dangling").is_none());
    assert_eq!(img.warnings.len(), 4, "{:?}", img.warnings); // loop1, loop2, dangling, lib
}

#[test]
fn rootfs_directory_without_following_links_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("usr/lib/os-release"), "ID=alpine\n").unwrap();
    std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
    // a directory link to outside the root is a link, not a directory to walk
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(dir.path().join("outside/secret"), "host").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside"), root.join("out")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("host")).unwrap();
    let img = final_files(&mut RootfsSource::new(&root), &all, &Limits::default()).unwrap();
    assert_eq!(
        summary(&img.files),
        vec![
            ("etc/os-release".into(), "ID=alpine\n".into(), 0),
            ("usr/lib/os-release".into(), "ID=alpine\n".into(), 0),
        ]
    );
    assert!(img.config.is_none() && img.layers.is_empty());
    let err = final_files(
        &mut RootfsSource::new(root.join("nope")),
        &all,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Io { .. }), "{err}");
}

// ---- hostile input -------------------------------------------------------------------------

fn one_layer(l: Vec<u8>) -> Vec<u8> {
    legacy_archive(&[(&["h:1"], vec![l], "u")])
}

#[test]
fn path_traversal_is_skipped_and_absolute_paths_are_inside_the_root() {
    let l = layer(&[
        E::File("../../etc/passwd", s("evil")),
        E::File("a/../../x", s("evil")),
        E::File("/etc/abs", s("abs")),
        E::File("a/./b/../c", s("c")),
    ]);
    let img = read_both(&one_layer(l), None, &Limits::default()).unwrap();
    assert_eq!(
        summary(&img.files),
        vec![
            ("a/c".into(), "c".into(), 0),
            ("etc/abs".into(), "abs".into(), 0)
        ]
    );
    assert_eq!(img.warnings.len(), 2, "{:?}", img.warnings);
    assert!(
        img.warnings[0].contains("leaves the image root"),
        "{:?}",
        img.warnings
    );
}

#[test]
fn enormous_files_are_read_only_up_to_the_limit() {
    let l = layer(&[E::File("big", vec![7; 100_000]), E::File("after", s("ok"))]);
    let limits = Limits {
        max_file_size: 1000,
        ..Limits::default()
    };
    for bytes in [
        one_layer(l.clone()),
        outer(&oci_members(&[gzip(&l)], "g:1", false)),
    ] {
        let img = read_both(&bytes, None, &limits).unwrap();
        let big = &img.files[1];
        assert_eq!(
            (big.path.as_str(), big.data.len(), big.size, big.truncated),
            ("big", 1000, 100_000, true)
        );
        assert_eq!(img.files[0].data, b"ok");
    }
}

#[test]
fn decompression_bombs_stop_at_the_byte_limit() {
    let l = layer(&[E::File("zeros", vec![0; 4 * 1024 * 1024])]);
    let bomb = gzip(&l);
    assert!(bomb.len() < 64 * 1024);
    let limits = Limits {
        max_total_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let err = read_both(&outer(&oci_members(&[bomb], "b:1", false)), None, &limits).unwrap_err();
    assert!(matches!(err, ImageError::Limit { .. }), "{err}");
    assert!(
        err.to_string().contains("1048576 uncompressed bytes"),
        "{err}"
    );
}

#[test]
fn too_many_entries() {
    let entries: Vec<E> = (0..50).map(|_| E::Dir("d/")).collect();
    let limits = Limits {
        max_layer_entries: 10,
        ..Limits::default()
    };
    let err = read_both(&one_layer(layer(&entries)), None, &limits).unwrap_err();
    assert!(
        err.to_string()
            .contains("more than 10 entries in one layer"),
        "{err}"
    );
}

#[test]
fn wanted_bytes_held_in_memory_are_bounded() {
    let l = layer(&[E::File("a", vec![1; 600]), E::File("b", vec![1; 600])]);
    let limits = Limits {
        max_kept_bytes: 1000,
        ..Limits::default()
    };
    let err = read_both(&one_layer(l), None, &limits).unwrap_err();
    assert!(
        err.to_string().contains("more than 1000 bytes in memory"),
        "{err}"
    );
}

#[test]
fn truncated_and_corrupt_layers() {
    // an entry claiming more bytes than the layer has
    let lying = layer(&[E::Lying("x", 10_000, vec![1; 512])]);
    let err = read_both(&one_layer(lying.clone()), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("layer.tar"),
        "names the layer: {err}"
    );
    // a gzip stream cut short
    let gz = gzip(&layer(&[E::File("a", vec![3; 100_000])]));
    let cut = gz[..gz.len() / 2].to_vec();
    let err = read_both(
        &outer(&oci_members(&[cut], "c:1", false)),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
    // garbage after a gzip magic
    let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bad.extend([0xff; 100]);
    let err = read_both(
        &outer(&oci_members(&[bad], "c:1", false)),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
    // xz is not read
    let xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
    let err = read_both(
        &outer(&oci_members(&[xz], "c:1", false)),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Unsupported { .. }), "{err}");
}

#[test]
fn a_truncated_tarball() {
    let tar = legacy_archive(&[(&["t:1"], two_layers(), "u")]);
    for cut in [700, 1600, tar.len() / 2, tar.len() - 1500] {
        let err = read_both(&tar[..cut], None, &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Corrupt { .. }
                    | ImageError::Unsupported { .. }
                    | ImageError::Missing { .. }
            ),
            "{cut}: {err}"
        );
    }
}

#[test]
fn a_manifest_naming_what_is_not_there() {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    add("c.json", &image_support::config(1, "u"));
    add(
        "manifest.json",
        br#"[{"Config":"c.json","RepoTags":["m:1"],"Layers":["nope/layer.tar"]}]"#,
    );
    let tar = b.into_inner().unwrap();
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("nope/layer.tar"), "{err}");

    let tar = outer(&[(
        "manifest.json".into(),
        br#"[{"Config":"missing.json","RepoTags":["m:1"],"Layers":[]}]"#.to_vec(),
    )]);
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");

    let tar = outer(&[("manifest.json".into(), b"{not json".to_vec())]);
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");

    let tar = outer(&[("hello.txt".into(), b"hi".to_vec())]);
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImageError::Unsupported { .. }), "{err}");
}

#[test]
fn digests_cannot_point_outside_the_layout() {
    let index =
        br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:../../../etc/passwd","size":1}]}"#;
    let tar = outer(&[("index.json".into(), index.to_vec())]);
    let err = read_both(&tar, None, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("bad digest"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.json"), index).unwrap();
    let err = final_files(
        &mut OciLayoutSource::new(dir.path()),
        &all,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("bad digest"), "{err}");
}

#[test]
fn hard_links() {
    let l = layer(&[
        E::File("usr/bin/perl5", s("perl")),
        E::Hard("usr/bin/perl", "usr/bin/perl5"),
        E::Hard("self", "self"),
        E::Hard("a", "b"),
        E::Hard("b", "a"),
        E::Hard("out", "../../etc/passwd"),
    ]);
    let img = read_both(&one_layer(l), None, &Limits::default()).unwrap();
    assert_eq!(
        summary(&img.files),
        vec![
            ("usr/bin/perl".into(), "perl".into(), 0),
            ("usr/bin/perl5".into(), "perl".into(), 0),
        ]
    );
    assert_eq!(img.warnings.len(), 4, "{:?}", img.warnings);
}

#[test]
fn a_later_entry_replaces_a_directory_or_a_file() {
    let l0 = layer(&[
        E::File("d/f", s("1")),
        E::File("g", s("2")),
        E::File("h/i", s("3")),
    ]);
    let l1 = layer(&[E::Sym("d", "elsewhere"), E::Dir("g/"), E::Dir("h/")]);
    let tar = legacy_archive(&[(&["r:1"], vec![l0, l1], "u")]);
    let filter = |p: &str, _: u64, mode: u32| mode & S_IFMT == S_IFREG || p == "none";
    let img = final_files(
        &mut ArchiveSource::from_stream(Cursor::new(tar), "t"),
        &filter,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(summary(&img.files), vec![("h/i".into(), "3".into(), 0)]);
}

// ---- digests ---------------------------------------------------------------------------------

/// Flips a bit of the first byte of the first `needle` in `bytes`.
fn tamper(bytes: &mut [u8], needle: &[u8]) {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)));
    bytes[at] ^= 1;
}

/// Reads a tarball both ways; both must fail.
fn both_fail(bytes: &[u8], filter: &dyn moat_scan::image::FileFilter) -> [ImageError; 2] {
    let seek = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(bytes.to_vec()), "image.tar"),
        filter,
        &Limits::default(),
    );
    let stream = final_files(
        &mut ArchiveSource::from_stream(Cursor::new(bytes.to_vec()), "image.tar"),
        filter,
        &Limits::default(),
    );
    [seek.unwrap_err(), stream.unwrap_err()]
}

/// `err` is a digest mismatch on the blob named `member` (a part of it), which should have
/// hashed to `expected` (`alg:hex`).
fn assert_mismatch(err: &ImageError, member: &str, expected: &str) {
    let ImageError::Corrupt { what, detail } = err else {
        panic!("not a digest mismatch: {err}")
    };
    assert!(what.contains(member), "names the blob: {err}");
    let alg = expected.split(':').next().unwrap();
    assert!(
        detail.starts_with(&format!("digest mismatch: expected {expected}, got {alg}:")),
        "{err}"
    );
}

fn os_release(_: &str, _: u64, _: u32) -> bool {
    false
}

#[test]
fn a_tampered_layer_of_an_oci_layout_directory() {
    let layers = vec![two_layers()[0].clone(), gzip(&two_layers()[1])];
    let blobs: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let write = |dir: &std::path::Path| {
        for (name, data) in oci_members(&layers, "app:5", false) {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let read = |filter: &dyn moat_scan::image::FileFilter| {
        final_files(
            &mut OciLayoutSource::new(dir.path()),
            filter,
            &Limits::default(),
        )
    };
    let img = read(&all).unwrap();
    assert_eq!(img.files.len(), 4);
    assert!(img.warnings.is_empty(), "{:?}", img.warnings);
    // one byte of a file of the uncompressed layer, wanted or seeked over
    let path = dir.path().join(format!("blobs/sha256/{}", blobs[0]));
    let mut bytes = std::fs::read(&path).unwrap();
    tamper(&mut bytes, b"ID=debian");
    std::fs::write(&path, bytes).unwrap();
    for filter in [&all as &dyn moat_scan::image::FileFilter, &os_release] {
        let err = read(filter).unwrap_err();
        assert_mismatch(&err, &blobs[0], &format!("sha256:{}", blobs[0]));
        assert!(
            err.to_string().starts_with(&format!(
                "{}: blobs/sha256/{}: corrupt: digest mismatch",
                dir.path().display(),
                blobs[0]
            )),
            "{err}"
        );
    }
    // a byte of the gzip stream: the layer may not even decompress; the mismatch is the error
    write(dir.path());
    let path = dir.path().join(format!("blobs/sha256/{}", blobs[1]));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let err = read(&all).unwrap_err();
    assert_mismatch(&err, &blobs[1], &format!("sha256:{}", blobs[1]));
}

#[test]
fn a_tampered_layer_of_an_oci_archive_or_a_docker_tarball() {
    let layers = vec![two_layers()[0].clone(), zstd(&two_layers()[1])];
    let blob = sha256(&layers[0]);
    for docker in [false, true] {
        let mut tar = outer(&oci_members(&layers, "app:6", docker));
        assert_eq!(
            read_both(&tar, None, &Limits::default())
                .unwrap()
                .files
                .len(),
            4
        );
        tamper(&mut tar, b"Package: a");
        for filter in [&all as &dyn moat_scan::image::FileFilter, &os_release] {
            for err in both_fail(&tar, filter) {
                assert_mismatch(
                    &err,
                    &format!("blobs/sha256/{blob}"),
                    &format!("sha256:{blob}"),
                );
            }
        }
    }
    // a byte near the end of the zstd layer (its last block or its checksum)
    let mut tar = outer(&oci_members(&layers, "app:6", false));
    let zstd_blob = sha256(&layers[1]);
    let start = tar
        .windows(layers[1].len())
        .position(|w| w == layers[1])
        .unwrap();
    tar[start + layers[1].len() - 3] ^= 0x10;
    for err in both_fail(&tar, &all) {
        assert_mismatch(&err, &zstd_blob, &format!("sha256:{zstd_blob}"));
    }
}

#[test]
fn a_tampered_configuration_or_manifest() {
    let layers = vec![gzip(&two_layers()[0])];
    for docker in [false, true] {
        let members = oci_members(&layers, "app:7", docker);
        let digest_of = |prefix: &[u8]| {
            members
                .iter()
                .find(|(n, b)| n.starts_with("blobs/") && b.starts_with(prefix))
                .map(|(n, _)| n.trim_start_matches("blobs/sha256/").to_string())
                .unwrap()
        };
        let config = digest_of(b"{\"architecture\"");
        let manifest = digest_of(b"{\"config\"");
        let mut cases = vec![(&b"\"User\":\"app\""[..], &config)];
        if !docker {
            // Docker's `manifest.json` names the configuration and layers itself: the OCI
            // manifest is not read
            cases.push((&b"\"schemaVersion\":2"[..], &manifest));
        }
        for (needle, blob) in cases {
            let mut tar = outer(&members);
            tamper(&mut tar, needle);
            for err in both_fail(&tar, &all) {
                assert_mismatch(&err, blob, &format!("sha256:{blob}"));
            }
            // an OCI layout directory
            let dir = tempfile::tempdir().unwrap();
            for (name, mut data) in members.clone() {
                if name.ends_with(blob.as_str()) {
                    tamper(&mut data, needle);
                }
                let p = dir.path().join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, data).unwrap();
            }
            let err = final_files(
                &mut OciLayoutSource::new(dir.path()),
                &all,
                &Limits::default(),
            )
            .unwrap_err();
            assert_mismatch(&err, blob, &format!("sha256:{blob}"));
        }
    }
}

#[test]
fn a_tampered_legacy_layer_does_not_match_its_diff_id() {
    let tar = legacy_archive(&[(&["app:8"], two_layers(), "u")]);
    let diff_id = sha256(&two_layers()[0]);
    let mut bad = tar.clone();
    tamper(&mut bad, b"ID=debian");
    for filter in [&all as &dyn moat_scan::image::FileFilter, &os_release] {
        for err in both_fail(&bad, filter) {
            assert_mismatch(
                &err,
                "/layer.tar (its diff id)",
                &format!("sha256:{diff_id}"),
            );
        }
    }
    // a configuration without diff ids: nothing to check against
    let mut members = members_of(&image_support::legacy_archive(&[(
        &["app:8"],
        two_layers(),
        "u",
    )]));
    for (name, bytes) in &mut members {
        if name.len() == 64 + ".json".len() {
            let mut doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            doc.as_object_mut().unwrap().remove("rootfs");
            *bytes = serde_json::to_vec(&doc).unwrap();
        }
        if name.ends_with("/layer.tar") && bytes.windows(9).any(|w| w == b"ID=debian") {
            tamper(bytes, b"ID=debian");
        }
    }
    let img = read_both(&outer(&members), None, &Limits::default()).unwrap();
    assert!(img.files.iter().any(|f| f.data == b"HD=debian\n"));
}

/// An OCI layout whose layers are named by the given digests (and blobs).
fn layout_named(layers: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut members = Vec::new();
    let mut descs = Vec::new();
    for (digest, bytes) in layers {
        let (alg, hex) = digest.split_once(':').unwrap();
        members.push((format!("blobs/{alg}/{hex}"), bytes.clone()));
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": bytes.len()}));
    }
    let config = image_support::config(layers.len(), "u");
    let config_digest = sha256(&config);
    members.push((format!("blobs/sha256/{config_digest}"), config));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": 1},
        "layers": descs,
    }))
    .unwrap();
    let manifest_digest = sha256(&manifest);
    members.push((format!("blobs/sha256/{manifest_digest}"), manifest));
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"digest": format!("sha256:{manifest_digest}"), "size": 1}]});
    members.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    members
}

#[test]
fn sha512_digests_are_checked_others_are_warned_about_and_malformed_ones_refused() {
    use sha2::Digest;
    let l = two_layers()[0].clone();
    let sha512 = hex(&sha2::Sha512::digest(&l));
    let tar = outer(&layout_named(&[(format!("sha512:{sha512}"), l.clone())]));
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(img.files.len(), 7);
    assert!(img.warnings.is_empty(), "{:?}", img.warnings);
    let mut bad = tar.clone();
    tamper(&mut bad, b"ID=debian");
    for err in both_fail(&bad, &all) {
        assert_mismatch(&err, &sha512, &format!("sha512:{sha512}"));
    }
    // an algorithm this reader does not hash: read, with a warning
    let tar = outer(&layout_named(&[("blake3:0123abcd".into(), l.clone())]));
    let img = read_both(&tar, None, &Limits::default()).unwrap();
    assert_eq!(img.files.len(), 7);
    assert_eq!(img.warnings.len(), 1, "{:?}", img.warnings);
    assert!(
        img.warnings[0].contains("blobs/blake3/0123abcd: not checked")
            && img.warnings[0].contains("blake3"),
        "{:?}",
        img.warnings
    );
    // sha256 with the wrong length, upper case hex
    let short = sha256(&l)[..63].to_string();
    let upper = sha256(&l).to_uppercase();
    for digest in [format!("sha256:{short}"), format!("sha256:{upper}")] {
        let tar = outer(&layout_named(&[(digest.clone(), l.clone())]));
        for err in both_fail(&tar, &all) {
            let ImageError::Corrupt { detail, .. } = &err else {
                panic!("{err}")
            };
            assert!(detail.contains("malformed digest"), "{digest}: {err}");
        }
    }
}

// ---- files searched on the way (secrets) ---------------------------------------------------

/// Searches every file for secrets with the scanner's own detectors.
struct Secrets;

impl moat_scan::image::Inspector for Secrets {
    fn wants(&self, path: &str, size: u64, _: u32) -> bool {
        moat_scan::secrets::wants(path, size)
    }
    fn inspect(&self, path: &str, mode: u32, data: &[u8]) -> moat_scan::image::Inspection {
        let mut found = moat_scan::image::Inspection {
            hits: moat_scan::secrets::scan(data),
            ..Default::default()
        };
        // executables named `*.bin` stand for programs with packages built in
        if mode & 0o111 != 0
            && std::path::Path::new(path)
                .extension()
                .is_some_and(|e| e == "bin")
        {
            found.packages.push(moat_scan::model::Package {
                ecosystem: moat_scan::model::Ecosystem::Go,
                name: String::from_utf8_lossy(data).trim().to_string(),
                version: "v1.0.0".into(),
                source_name: None,
                source_version: None,
                path: path.into(),
                layer: None,
            });
        }
        found
    }
}

const AWS: &str = "AWS_ACCESS_KEY_ID=AKIAYS4VL64KAFD2NASL\n";

fn nothing(_: &str, _: u64, _: u32) -> bool {
    false
}

/// `(path, layer, removed_in, lines of the hits)` of what was found.
fn found(img: &moat_scan::image::ImageFiles) -> Vec<(String, usize, Option<usize>, Vec<usize>)> {
    img.found
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.layer,
                f.removed_in,
                f.hits.iter().map(|h| h.line).collect(),
            )
        })
        .collect()
}

#[test]
fn secrets_are_found_in_every_layer_and_deleted_ones_stay_reported() {
    let base = layer(&[
        E::Dir("app/"),
        E::File("app/.env", s(AWS)),
        E::File("app/config.env", s(&format!("# first\n{AWS}"))),
        E::File("app/plain.txt", s("nothing here\n")),
        E::File("etc/os-release", s(&format!("ID=debian\n{AWS}"))),
        E::File("usr/share/doc/example.conf", s(AWS)),
    ]);
    let deletes = layer(&[E::File("app/.wh..env", vec![])]);
    let replaces = layer(&[E::File("app/config.env", s(&format!("\n\n{AWS}")))]);
    let tar = legacy_archive(&[(&["s:1"], vec![base, deletes, replaces], "u")]);
    let os_release = |p: &str, _: u64, _: u32| p == "etc/os-release";
    for streamed in [false, true] {
        let mut source = if streamed {
            ArchiveSource::from_stream(Cursor::new(tar.clone()), "image.tar")
        } else {
            ArchiveSource::from_seekable(Cursor::new(tar.clone()), "image.tar")
        };
        let img = moat_scan::image::read_image(
            &mut source,
            &os_release,
            Some(&Secrets),
            &Limits::default(),
        )
        .unwrap();
        // final files first, then the buried ones; the wanted file is kept, not searched here;
        // documentation is not searched
        assert_eq!(
            found(&img),
            vec![
                ("app/config.env".into(), 2, None, vec![3]),
                ("app/.env".into(), 0, Some(1), vec![1]),
                ("app/config.env".into(), 0, Some(2), vec![2]),
            ],
            "streamed: {streamed}"
        );
        assert_eq!(summary(&img.files).len(), 1);
        let evidence = &img.found[0].hits[0].evidence;
        assert!(!evidence.contains("AKIAYS4VL64KAFD2NASL"), "{evidence}");
    }
    // without an inspector nothing is searched
    let img = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(tar), "image.tar"),
        &nothing,
        &Limits::default(),
    )
    .unwrap();
    assert!(img.found.is_empty() && img.files.is_empty());
}

#[test]
fn searched_bytes_are_bounded_by_the_file_limit() {
    // the key sits past the first 64 bytes: a 64-byte limit does not see it
    let text = format!("{}\n{AWS}", "#".repeat(100));
    let tar = one_layer(layer(&[E::File("app/.env", s(&text))]));
    let read = |max_file_size| {
        let limits = Limits {
            max_file_size,
            ..Limits::default()
        };
        moat_scan::image::read_image(
            &mut ArchiveSource::from_seekable(Cursor::new(tar.clone()), "image.tar"),
            &nothing,
            Some(&Secrets),
            &limits,
        )
        .unwrap()
    };
    assert_eq!(found(&read(64)), vec![]);
    assert_eq!(
        found(&read(1 << 20)),
        vec![("app/.env".into(), 0, None, vec![2])]
    );
}

#[test]
fn secrets_in_a_root_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("srv/api")).unwrap();
    std::fs::create_dir_all(dir.path().join("usr/share/doc")).unwrap();
    std::fs::write(
        dir.path().join("srv/api/settings.py"),
        format!("x = 1\n{AWS}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("srv/api/clean.py"), "x = 1\n").unwrap();
    std::fs::write(dir.path().join("usr/share/doc/README"), AWS).unwrap();
    let img = moat_scan::image::read_image(
        &mut RootfsSource::new(dir.path()),
        &nothing,
        Some(&Secrets),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        found(&img),
        vec![("srv/api/settings.py".into(), 0, None, vec![2])]
    );
}

#[test]
fn packages_of_executables_read_as_they_stream_past() {
    let base = layer(&[
        E::Dir("usr/bin/"),
        E::FileMode("usr/bin/kept.bin", s("example.com/kept"), 0o755),
        E::FileMode("usr/bin/deleted.bin", s("example.com/deleted"), 0o755),
        E::FileMode("usr/bin/replaced.bin", s("example.com/old"), 0o755),
        E::File("usr/bin/not-executable.bin", s("example.com/no")),
    ]);
    let top = layer(&[
        E::File("usr/bin/.wh.deleted.bin", vec![]),
        E::FileMode("usr/bin/replaced.bin", s("example.com/new"), 0o755),
    ]);
    let tar = legacy_archive(&[(&["b:1"], vec![base, top], "u")]);
    let img = moat_scan::image::read_image(
        &mut ArchiveSource::from_seekable(Cursor::new(tar), "image.tar"),
        &nothing,
        Some(&Secrets),
        &Limits::default(),
    )
    .unwrap();
    let packages: Vec<(String, usize, Option<usize>)> = img
        .found
        .iter()
        .flat_map(|f| {
            f.packages
                .iter()
                .map(move |p| (p.name.clone(), f.layer, f.removed_in))
        })
        .collect();
    // a deleted or replaced program's packages are not installed
    assert_eq!(
        packages,
        [
            ("example.com/kept".to_string(), 0, None),
            ("example.com/new".to_string(), 1, None),
        ]
    );
    assert!(
        img.files.is_empty(),
        "nothing kept: read as they streamed past"
    );
}

//! Builders of small image tarballs in memory, for the image reader's tests.
#![allow(dead_code)]

use std::io::{Cursor, Write};

use moat_scan::image::{ArchiveSource, FileEntry, ImageError, ImageFiles, Limits, final_files};

/// One entry of a layer tar.
#[derive(Debug, Clone)]
pub enum E {
    /// A regular file.
    File(&'static str, Vec<u8>),
    /// A regular file with a mode.
    FileMode(&'static str, Vec<u8>, u32),
    /// A directory.
    Dir(&'static str),
    /// A symbolic link.
    Sym(&'static str, &'static str),
    /// A hard link.
    Hard(&'static str, &'static str),
    /// A regular file whose header claims `size` bytes while `data` is what follows.
    Lying(&'static str, u64, Vec<u8>),
}

fn header(path: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // the name written as is (the builder refuses `..`, which hostile layers have)
    let name = &mut h.as_gnu_mut().unwrap().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h
}

fn link(path: &str, kind: tar::EntryType, target: &str) -> tar::Header {
    let mut h = header(path, kind, 0, 0o777);
    let l = &mut h.as_gnu_mut().unwrap().linkname;
    l.fill(0);
    l[..target.len()].copy_from_slice(target.as_bytes());
    h.set_cksum();
    h
}

/// A layer tar of `entries`.
pub fn layer(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, d) => append(
                &mut b,
                header(p, tar::EntryType::Regular, d.len() as u64, 0o644),
                d,
            ),
            E::FileMode(p, d, m) => append(
                &mut b,
                header(p, tar::EntryType::Regular, d.len() as u64, *m),
                d,
            ),
            E::Dir(p) => append(&mut b, header(p, tar::EntryType::Directory, 0, 0o755), &[]),
            E::Sym(p, t) => append(&mut b, link(p, tar::EntryType::Symlink, t), &[]),
            E::Hard(p, t) => append(&mut b, link(p, tar::EntryType::Link, t), &[]),
            E::Lying(p, size, d) => {
                let mut h = header(p, tar::EntryType::Regular, *size, 0o644);
                h.set_cksum();
                b.get_mut().write_all(h.as_bytes()).unwrap();
                b.get_mut().write_all(d).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn append(b: &mut tar::Builder<Vec<u8>>, mut h: tar::Header, data: &[u8]) {
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// Gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Zstd of `data`.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// An outer tarball of `(name, bytes)` members, in order.
pub fn outer(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// An image configuration with `env`, `user`, a label and one history entry per layer.
pub fn config(layers: usize, user: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = (0..layers).map(|i| format!("sha256:{}", hex(i))).collect();
    let history: Vec<serde_json::Value> = (0..layers)
        .map(|i| serde_json::json!({"created_by": format!("step {i}")}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin", "SECRET=x"], "User": user, "Labels": {"a": "b"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// A 64-character hex name for blob `i`.
pub fn hex(i: usize) -> String {
    format!("{:064x}", i + 0xabc0)
}

/// A legacy `docker save` tarball (Docker < 25): `<id>/layer.tar`, `<hex>.json`, and
/// `manifest.json` last, as Docker writes them (in name order).
/// An image of a legacy archive: its tags, its layers and its user.
pub type Image<'a> = (&'a [&'a str], Vec<Vec<u8>>, &'a str);

pub fn legacy_archive(images: &[Image<'_>]) -> Vec<u8> {
    let mut members = Vec::new();
    let mut manifest = Vec::new();
    for (n, (tags, layers, user)) in images.iter().enumerate() {
        let mut names = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let name = format!("{}/layer.tar", hex(n * 100 + i));
            members.push((name.clone(), l.clone()));
            names.push(name);
        }
        let cfg = format!("{}.json", hex(1000 + n));
        members.push((cfg.clone(), config(layers.len(), user)));
        manifest.push(serde_json::json!({"Config": cfg, "RepoTags": tags, "Layers": names}));
    }
    members.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    outer(&members)
}

/// An OCI layout as `(member, bytes)`: `blobs/sha256/…`, `index.json`, `oci-layout`, and a
/// `manifest.json` as well when `docker` (Docker 25 and later).
pub fn oci_members(layers: &[Vec<u8>], name: &str, docker: bool) -> Vec<(String, Vec<u8>)> {
    let mut members = Vec::new();
    let mut descs = Vec::new();
    let mut blob_names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let h = hex(200 + i);
        members.push((format!("blobs/sha256/{h}"), l.clone()));
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{h}"), "size": l.len()}));
        blob_names.push(format!("blobs/sha256/{h}"));
    }
    let cfg = hex(300);
    members.push((format!("blobs/sha256/{cfg}"), config(layers.len(), "app")));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cfg}"), "size": 1},
        "layers": descs,
    }))
    .unwrap();
    let m = hex(400);
    members.push((format!("blobs/sha256/{m}"), manifest));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{m}"), "size": 1,
            "annotations": {"io.containerd.image.name": format!("docker.io/library/{name}"), "org.opencontainers.image.ref.name": name.rsplit(':').next().unwrap()}}],
    });
    members.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    if docker {
        let dm = serde_json::json!([{"Config": format!("blobs/sha256/{cfg}"), "RepoTags": [name], "Layers": blob_names}]);
        members.push(("manifest.json".into(), serde_json::to_vec(&dm).unwrap()));
    }
    members.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    members
}

/// Everything is wanted.
pub fn all(_: &str, _: u64, _: u32) -> bool {
    true
}

/// Reads `bytes` as a seekable tarball and as a stream, checks both agree, returns one.
pub fn read_both(
    bytes: &[u8],
    reference: Option<&str>,
    limits: &Limits,
) -> Result<ImageFiles, ImageError> {
    let seek = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(bytes.to_vec()), "image.tar")
            .with_reference(reference),
        &all,
        limits,
    );
    let stream = final_files(
        &mut ArchiveSource::from_stream(Cursor::new(bytes.to_vec()), "image.tar")
            .with_reference(reference),
        &all,
        limits,
    );
    match (&seek, &stream) {
        (Ok(a), Ok(b)) => assert_eq!(a.files, b.files, "seekable and stream reads differ"),
        (Err(_), Err(_)) => {}
        _ => panic!("seekable {seek:?} vs stream {stream:?}"),
    }
    seek
}

/// `path → (text, layer)` of the files.
pub fn summary(files: &[FileEntry]) -> Vec<(String, String, usize)> {
    files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8_lossy(&f.data).into_owned(),
                f.layer,
            )
        })
        .collect()
}

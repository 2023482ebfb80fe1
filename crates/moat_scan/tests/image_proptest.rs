//! Random bytes, and random damage to a valid tarball, never panic the image readers: every
//! input ends in files or in an error.

mod image_support;

use std::io::Cursor;

use image_support::{E, all, gzip, layer, legacy_archive, oci_members, outer};
use moat_scan::image::{ArchiveSource, Limits, final_files};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits {
        max_total_bytes: 1 << 20,
        max_kept_bytes: 1 << 20,
        ..Limits::default()
    }
}

fn read(bytes: &[u8]) {
    let _ = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(bytes.to_vec()), "fuzz"),
        &all,
        &limits(),
    );
    let _ = final_files(
        &mut ArchiveSource::from_stream(Cursor::new(bytes.to_vec()), "fuzz"),
        &all,
        &limits(),
    );
}

fn valid() -> Vec<Vec<u8>> {
    let l = layer(&[
        E::File("etc/os-release", b"ID=x\n".to_vec()),
        E::Sym("a", "etc/os-release"),
        E::File("etc/.wh.gone", Vec::new()),
    ]);
    vec![
        legacy_archive(&[(&["p:1"], vec![l.clone()], "u")]),
        outer(&oci_members(&[gzip(&l)], "p:1", true)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read(&bytes);
    }

    #[test]
    fn random_bytes_as_a_layer(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read(&outer(&oci_members(std::slice::from_ref(&bytes), "p:1", false)));
        read(&outer(&oci_members(&[gzip(&bytes)], "p:1", false)));
    }

    #[test]
    fn damaged_tarballs(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid()[which].clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        read(&bytes);
        let end = cut.index(bytes.len());
        read(&bytes[..end]);
    }
}

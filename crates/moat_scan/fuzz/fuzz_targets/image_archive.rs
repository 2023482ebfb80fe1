//! Any bytes, read as an image tarball (seekable and streamed), end in files or an error.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use moat_scan::image::{ArchiveSource, Limits, final_files};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 16 << 20,
        max_kept_bytes: 16 << 20,
        ..Limits::default()
    };
    let all = |_: &str, _: u64, _: u32| true;
    let _ = final_files(
        &mut ArchiveSource::from_seekable(Cursor::new(data.to_vec()), "fuzz"),
        &all,
        &limits,
    );
    let _ = final_files(
        &mut ArchiveSource::from_stream(Cursor::new(data.to_vec()), "fuzz"),
        &all,
        &limits,
    );
});

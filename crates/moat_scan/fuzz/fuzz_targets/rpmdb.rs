//! Any bytes, read as rpm's SQLite database (`rpmdb.sqlite`), end in packages or an error,
//! never a panic. Seed it with the real database of `tests/fixtures/analyze/rpm`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_scan::analyze::{ANALYZERS, Context, os_release};

fuzz_target!(|data: &[u8]| {
    let rpm = ANALYZERS
        .iter()
        .find(|a| a.name == "rpm")
        .expect("the rpm analyzer");
    let ctx = Context {
        os: os_release::parse(b"ID=rocky\nVERSION_ID=9.3\n").ok(),
    };
    let _ = (rpm.analyze)("var/lib/rpm/rpmdb.sqlite", data, 0, &ctx);
});

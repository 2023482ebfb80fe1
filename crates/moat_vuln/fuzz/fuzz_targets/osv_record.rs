//! Any bytes, read as one OSV record: parsing ends in a record or an error, the conversion to
//! an advisory (severity vectors, ecosystem and name normalisation) and the evaluation of the
//! record's own versions against every affected package never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_vuln::osv::OsvRecord;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = OsvRecord::from_json(data) else {
        return;
    };
    let Some(advisory) = record.into_advisory() else {
        return;
    };
    // the versions the record names, and a few of every order's edge cases
    let mut versions: Vec<String> = vec!["0".into(), String::new(), "1.0.0".into()];
    for affected in &advisory.affected {
        versions.extend(affected.versions.iter().cloned());
        for range in &affected.ranges {
            versions.extend(range.events.iter().map(|e| e.version().to_string()));
        }
    }
    versions.truncate(64);
    for affected in &advisory.affected {
        for v in &versions {
            if let Some(verdict) = affected.evaluate(v) {
                let _ = verdict.status();
            }
        }
    }
});

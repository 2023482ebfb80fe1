//! The canonical request target (path rules, host parsing) on arbitrary input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    moat_gateway::fuzzing::request_target(data);
});

//! Config parsing, validation and `gateway check` on arbitrary input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    moat_gateway::fuzzing::config(data);
});

//! An upstream's response (head parser, body framing) on arbitrary input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    moat_gateway::fuzzing::upstream_response(data);
});

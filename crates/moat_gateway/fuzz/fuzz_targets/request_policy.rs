//! The request-policy path (smuggling guard, client address, API keys, rate-limit keys) on
//! arbitrary input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    moat_gateway::fuzzing::request_policy(data);
});

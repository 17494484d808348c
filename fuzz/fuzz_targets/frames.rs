#![no_main]
//! Bytes decoded into frames (headers from templates, checksums fixed, then damaged) sent into a bridge, a router and a host.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hoplab::fuzzing::frames_bytes(data);
});

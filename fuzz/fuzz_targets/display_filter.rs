#![no_main]
//! Bytes decoded into a display filter and frames to match it against.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hoplab::fuzzing::filter_bytes(data);
});

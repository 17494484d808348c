#![no_main]
//! Bytes as a lab file: it loads and builds, or every error is located (file:line:col, field).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hoplab::fuzzing::lab_bytes(data);
});

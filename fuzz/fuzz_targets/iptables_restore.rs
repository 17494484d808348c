#![no_main]
//! `iptables-restore` input: the first byte picks the options (and whether the rest is the
//! file as is, or decoded from tokens), the rest is the file.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((first, rest)) = data.split_first() {
        hoplab::fuzzing::restore_bytes(rest, first & 0x80 != 0);
    }
});

#![no_main]
//! Bytes decoded into `iptables` command lines (a vocabulary of options and values, raw strings).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hoplab::fuzzing::iptables_bytes(data);
});

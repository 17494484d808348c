//! `-m string`: errors as iptables 1.8.9 (nf_tables) printed them in a network namespace,
//! and `skb_find_text`'s window. (Listings: `tests/iptables_listings.rs`,
//! `string-1.8.9.txt`.)

use super::super::testing::{argv, udp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::Instant;

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.";

#[test]
fn errors_are_iptables_words() {
    let long = "a".repeat(129);
    let too_long = format!("--algo bm --string {long}");
    let cases = [
        (
            "--hex-string |4| --algo bm",
            "Invalid hex block".to_string(),
        ),
        ("--hex-string |zz| --algo bm", "Invalid hex char 'z'".into()),
        (
            "--algo bm --hex-string ab\\",
            "Bad literal placement at end of string".into(),
        ),
        (
            "--string x",
            "string: option \"--algo\" must be specified\n".into(),
        ),
        (
            "--algo bm",
            "STRING match: You must specify `--string' or `--hex-string'".into(),
        ),
        (
            "--algo bm --string x --string y",
            "string: option \"--string\" can only be used once.\n".into(),
        ),
        (
            "--algo bm --string x --hex-string |41|",
            "string: option \"--string\" cannot be used together with \"--hex-string\".\n".into(),
        ),
        (
            "--algo bm --string x --algo kmp",
            "string: option \"--algo\" can only be used once.\n".into(),
        ),
        (
            "--algo bm --string x --to 65536",
            "string: bad value for option \"--to\", or out of range (0-65535).\n".into(),
        ),
        (too_long.as_str(), format!("STRING too long \"{long}\"")),
    ];
    for (opts, msg) in cases {
        let line = format!("-A INPUT -m string {opts}");
        let e = Tables::new(IptablesVersion::V1_8_9)
            .apply(&argv(&line))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}"),
            "{line}"
        );
    }
    for (opts, errno) in [
        ("--algo xx --string x", "No such file or directory"),
        ("--algo fsm --string x", "Invalid argument"),
        ("--algo bm --string x --from 5 --to 3", "Invalid argument"),
    ] {
        let line = format!("-A INPUT -m string {opts}");
        let e = Tables::new(IptablesVersion::V1_8_9)
            .apply(&argv(&line))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "iptables v1.8.9 (nf_tables):  RULE_APPEND failed ({errno}): rule in chain INPUT"
            ),
            "{line}"
        );
    }
}

/// A UDP packet to port 80 (28 bytes of headers) carrying `payload`.
fn packet(payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip.extend_from_slice(&[0x13, 0x88, 0, 80, 0, 0, 0, 0]);
    ip.extend_from_slice(payload);
    ip
}

fn accepted(rules: &[&str], ip: &[u8]) -> Vec<bool> {
    let pkt = PacketView {
        len: ip.len() as u32,
        ip,
        ..udp("10.0.0.1", 5000, "10.0.0.2", 80)
    };
    rules
        .iter()
        .map(|r| {
            let mut t = Tables::new(IptablesVersion::V1_8_9);
            t.apply(&argv("-P INPUT DROP")).unwrap();
            t.apply(&argv(&format!("-A INPUT -m string {r} -j ACCEPT")))
                .unwrap_or_else(|e| panic!("{r}: {e}"));
            t.run(Table::Filter, Hook::Input, &pkt, Instant::ZERO, &mut |_| {}) == Verdict::Accept
        })
        .collect()
}

#[test]
fn the_window_starts_at_the_ip_header() {
    // "GET /" at offset 28.
    let ip = packet(b"GET / HTTP/1.1\r\n");
    let rules = [
        "--algo bm --string GET",
        "--algo kmp --string get",
        "--algo kmp --string get --icase",
        "--algo bm --string GET --from 28",
        "--algo bm --string GET --from 29",
        "--algo bm --string GET --to 31",
        "--algo bm --string GET --to 30",
        "--algo bm ! --string POST",
        "--algo bm --hex-string |0d0a|",
        // The IP header's own bytes are searched too (protocol 17, TTL 64: "|4011|").
        "--algo bm --hex-string |4011|",
    ];
    let want = [
        true, false, true, true, false, true, false, true, true, true,
    ];
    assert_eq!(accepted(&rules, &ip), want);
}

//! `-m sctp`: errors as iptables 1.8.9 (nf_tables) printed them in a network namespace, and
//! `sctp_mt` on packets of protocol 132. (Listings: `tests/iptables_listings.rs`,
//! `sctp-1.8.9.txt`.)

use super::super::testing::{argv, udp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::Instant;

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.";

#[test]
fn errors_are_iptables_words() {
    let cases = [
        (
            "-p sctp -m sctp --chunk-types foo DATA",
            "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"",
        ),
        (
            "-p sctp -m sctp --chunk-types any FOO",
            "Unknown sctp chunk `FOO'",
        ),
        (
            "-p sctp -m sctp --dport x",
            "invalid port/service `x' specified",
        ),
        (
            "-p sctp -m sctp --chunk-types any",
            "--chunk-types requires two args",
        ),
        (
            "-p sctp --dport 80 --dport 81",
            "Only one `--destination-port' allowed",
        ),
    ];
    for (opts, msg) in cases {
        let line = format!("-A INPUT {opts}");
        let e = Tables::new(IptablesVersion::V1_8_9)
            .apply(&argv(&line))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}"),
            "{line}"
        );
    }
    let e = Tables::new(IptablesVersion::V1_8_9)
        .apply(&argv("-A INPUT -m sctp --dport 80"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT"
    );
    // `--dp` is an abbreviation once `-p sctp` loaded the module.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    t.apply(&argv("-A INPUT -p sctp --dp 80 --sp 1:2")).unwrap();
    assert_eq!(
        t.apply(&argv("-S INPUT")).unwrap(),
        "-P INPUT ACCEPT\n-A INPUT -p sctp -m sctp --sport 1:2 --dport 80\n"
    );
}

/// An SCTP packet from port 5000 to 80 with these chunks (type, flags, value length).
fn sctp(chunks: &[(u8, u8, usize)]) -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 132, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip.extend_from_slice(&[0x13, 0x88, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0]);
    for &(t, f, n) in chunks {
        let len = (4 + n) as u16;
        ip.extend_from_slice(&[t, f]);
        ip.extend_from_slice(&len.to_be_bytes());
        ip.extend(std::iter::repeat_n(0u8, n.div_ceil(4) * 4));
    }
    let total = ip.len() as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip
}

fn view(ip: &[u8]) -> PacketView<'_> {
    PacketView {
        len: ip.len() as u32,
        proto: 132,
        sport: None,
        dport: None,
        ip,
        ..udp("10.0.0.1", 0, "10.0.0.2", 0)
    }
}

fn accepted(rules: &[&str], pkt: &PacketView) -> Vec<bool> {
    rules
        .iter()
        .map(|r| {
            let mut t = Tables::new(IptablesVersion::V1_8_9);
            t.apply(&argv("-P INPUT DROP")).unwrap();
            t.apply(&argv(&format!("-A INPUT -p sctp {r} -j ACCEPT")))
                .unwrap_or_else(|e| panic!("{r}: {e}"));
            t.run(Table::Filter, Hook::Input, pkt, Instant::ZERO, &mut |_| {}) == Verdict::Accept
        })
        .collect()
}

#[test]
fn ports_and_chunks_match_as_sctp_mt() {
    // DATA (flags B|E, 5 bytes: padded), then SACK.
    let ip = sctp(&[(0, 0x03, 5), (3, 0, 12)]);
    let rules = [
        "--dport 80",
        "--sport 5000:5001 ! --dport 81",
        "! --sport 5000",
        "--chunk-types any INIT,SACK",
        "--chunk-types all DATA,SACK",
        "--chunk-types all DATA,SACK,INIT",
        "--chunk-types only DATA,SACK,INIT",
        "--chunk-types only DATA",
        "! --chunk-types any INIT",
        "--chunk-types any DATA:BE",
        "--chunk-types any DATA:Be",
        "--chunk-types any NONE",
    ];
    let want = [
        true, true, false, true, true, false, true, false, true, true, false, false,
    ];
    assert_eq!(accepted(&rules, &view(&ip)), want);
    // A chunk of length 0: dropped by the kernel, so no rule with chunks matches.
    let bad = sctp(&[(0, 0, 0)]);
    let mut bad = bad.clone();
    let at = bad.len() - 2;
    bad[at..].copy_from_slice(&[0, 0]);
    assert_eq!(
        accepted(
            &["--chunk-types any DATA", "! --chunk-types any DATA"],
            &view(&bad)
        ),
        [false, false]
    );
}

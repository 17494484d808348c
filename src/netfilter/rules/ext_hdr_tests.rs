//! Header matches and targets: errors as iptables 1.8.9 (nf_tables) printed them in a network
//! namespace, evaluation as the `xt_*` modules do it, and the header rewrite. (Listings:
//! `tests/iptables_listings.rs`, `hdr-1.8.9.txt`.)

use super::super::testing::{argv, tcp};
use super::super::{IptablesVersion, Tables};
use super::{HdrTarget, decrease_ttl, rewrite_tos_ttl};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::Instant;

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.";

/// (command, message before the `Try` line; a message ending in `\n` leaves an empty line).
const CASES: &[(&str, &str)] = &[
    (
        "-A FORWARD -m length --length 70000",
        "length: bad value for option \"--length\" near \"70000\", or out of range (0-65535).\n",
    ),
    (
        "-A FORWARD -m length --length x",
        "length: bad value for option \"--length\" near \"x\", or out of range (0-65535).\n",
    ),
    (
        "-A FORWARD -m length",
        "length: option \"--length\" must be specified\n",
    ),
    (
        "-A FORWARD -m ttl",
        "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt",
    ),
    (
        "-A FORWARD -m ttl --ttl-eq 1 --ttl-gt 2",
        "ttl: option \"--ttl-gt\" cannot be used together with \"--ttl-eq\".\n",
    ),
    (
        "-A FORWARD -m ttl ! --ttl-gt 2",
        "ttl: option \"--ttl-gt\" cannot be inverted.\n",
    ),
    (
        "-A FORWARD -m ttl --ttl-eq 256",
        "ttl: bad value for option \"--ttl-eq\", or out of range (0-255).\n",
    ),
    (
        "-A FORWARD -m pkttype",
        "pkttype: option \"--pkt-type\" must be specified\n",
    ),
    (
        "-A FORWARD -m pkttype --pkt-type foo",
        "Bad packet type 'foo'",
    ),
    (
        "-A FORWARD -m pkttype --pkt-type outgoing",
        "Bad packet type 'outgoing'",
    ),
    (
        "-A FORWARD -m pkttype --pkt-type unicast --pkt-type host",
        "pkttype: option \"--pkt-type\" can only be used once.\n",
    ),
    (
        "-A FORWARD -m mac",
        "mac: option \"--mac-source\" must be specified\n",
    ),
    (
        "-A FORWARD -m mac --mac-source 01:02:03:04:05",
        "Invalid MAC address specified.",
    ),
    (
        "-A FORWARD -m mac --mac-source zz:02:03:04:05:06",
        "Invalid MAC address specified.",
    ),
    (
        "-A FORWARD -m mac --mac-source 01:02:03:04:05:06:07",
        "Invalid MAC address specified.",
    ),
    (
        "-A FORWARD -m dscp",
        "DSCP match: Parameter --dscp is required",
    ),
    (
        "-A FORWARD -m dscp --dscp 64",
        "dscp: bad value for option \"--dscp\", or out of range (0-63).\n",
    ),
    (
        "-A FORWARD -m dscp --dscp-class XX",
        "Invalid DSCP value `XX'",
    ),
    (
        "-A FORWARD -m dscp --dscp 1 --dscp-class EF",
        "dscp: option \"--dscp\" cannot be used together with \"--dscp-class\".\n",
    ),
    (
        "-A FORWARD -m dscp --dscp 1 --dscp 2",
        "dscp: option \"--dscp\" can only be used once.\n",
    ),
    (
        "-A FORWARD -m tos",
        "tos: option \"--tos\" must be specified\n",
    ),
    (
        "-A FORWARD -m tos --tos 256",
        "Symbolic name \"256\" is unknown",
    ),
    (
        "-A FORWARD -m tos --tos foo",
        "Symbolic name \"foo\" is unknown",
    ),
    (
        "-A FORWARD -p tcp -m tcpmss",
        "tcpmss: option \"--mss\" must be specified\n",
    ),
    (
        "-A FORWARD -p tcp -m tcpmss --mss 2:1",
        "tcpmss: invalid range given",
    ),
    (
        "-A FORWARD -m devgroup",
        "devgroup match: You must specify either '--src-group' or '--dst-group'",
    ),
    (
        "-A FORWARD -m devgroup --src-group foo",
        "devgroup: could not map name foo to an integer value for option \"--src-group\".\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL --ttl-dec 0",
        "TTL: bad value for option \"--ttl-dec\", or out of range (1-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL",
        "TTL: You must specify an action",
    ),
    (
        "-t mangle -A FORWARD -j TTL --ttl-set 5 --ttl-inc 1",
        "TTL: option \"--ttl-set\" cannot be used together with \"--ttl-inc\".\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL --ttl-set 256",
        "TTL: bad value for option \"--ttl-set\", or out of range (0-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL --ttl-set x",
        "TTL: bad value for option \"--ttl-set\", or out of range (0-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL --ttl-inc 256",
        "TTL: bad value for option \"--ttl-inc\", or out of range (1-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TTL ! --ttl-set 3",
        "TTL: option \"--ttl-set\" cannot be inverted.\n",
    ),
    (
        "-t mangle -A FORWARD -j DSCP --set-dscp 64",
        "DSCP: bad value for option \"--set-dscp\", or out of range (0-63).\n",
    ),
    (
        "-t mangle -A FORWARD -j DSCP",
        "DSCP target: Parameter --set-dscp is required",
    ),
    (
        "-t mangle -A FORWARD -j DSCP --set-dscp-class XX",
        "Invalid DSCP value `XX'",
    ),
    (
        "-t mangle -A FORWARD -j DSCP --set-dscp 1 --set-dscp-class EF",
        "DSCP: option \"--set-dscp\" cannot be used together with \"--set-dscp-class\".\n",
    ),
    ("-t mangle -A FORWARD -j TOS", "TOS: An action is required"),
    (
        "-t mangle -A FORWARD -j TOS --set-tos 256",
        "Symbolic name \"256\" is unknown",
    ),
    (
        "-t mangle -A FORWARD -j TOS --and-tos 256",
        "TOS: bad value for option \"--and-tos\", or out of range (0-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TOS --and-tos Minimize-Cost",
        "TOS: bad value for option \"--and-tos\", or out of range (0-255).\n",
    ),
    (
        "-t mangle -A FORWARD -j TOS --set-tos 1 --and-tos 2",
        "TOS: option \"--set-tos\" cannot be used together with \"--and-tos\".\n",
    ),
    (
        "-t mangle -A POSTROUTING -j CHECKSUM",
        "CHECKSUM: option \"--checksum-fill\" must be specified\n",
    ),
    (
        "-t mangle -A POSTROUTING -j CHECKSUM --checksum-fill --checksum-fill",
        "CHECKSUM: option \"--checksum-fill\" can only be used once.\n",
    ),
    (
        "-A FORWARD -j LOG --log-level err",
        "log level \"err\" unknown\n",
    ),
    (
        "-A FORWARD -j LOG --log-level warn",
        "log level \"warn\" unknown\n",
    ),
    (
        "-A FORWARD -j LOG --log-level 8",
        "log level \"8\" unknown\n",
    ),
];

#[test]
fn errors_are_iptables_words() {
    for &(line, msg) in CASES {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        let want = format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}");
        match t.apply(&argv(line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
}

/// What the kernel refuses (`RULE_APPEND failed (Invalid argument)`): `-m mac` outside
/// PREROUTING/INPUT/FORWARD, `-m tcpmss` without `-p tcp`, the header targets outside mangle.
#[test]
fn kernel_refusals() {
    let cases = [
        ("-A OUTPUT -m mac --mac-source 02:00:00:aa:bb:cc", "OUTPUT"),
        ("-A FORWARD -m tcpmss --mss 5", "FORWARD"),
        ("-A FORWARD -j TTL --ttl-set 5", "FORWARD"),
        ("-A FORWARD -j DSCP --set-dscp 10", "FORWARD"),
        ("-A FORWARD -j TOS --set-tos 0x10", "FORWARD"),
        ("-A FORWARD -j CHECKSUM --checksum-fill", "FORWARD"),
        (
            "-t mangle -A POSTROUTING -m devgroup --src-group 0",
            "POSTROUTING",
        ),
        ("-t mangle -A INPUT -m devgroup --dst-group 0", "INPUT"),
    ];
    for (line, chain) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        let e = t.apply(&argv(line)).expect_err(line);
        assert_eq!(
            e.to_string(),
            format!(
                "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in \
                 chain {chain}"
            ),
            "{line}"
        );
    }
    // Reached from OUTPUT through a user chain.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    t.apply(&argv("-N M")).unwrap();
    t.apply(&argv("-A M -m mac --mac-source 02:00:00:aa:bb:cc"))
        .unwrap();
    t.apply(&argv("-A INPUT -j M")).unwrap();
    assert!(t.apply(&argv("-A OUTPUT -j M")).is_err());
}

/// An IPv4 header (20 bytes, right checksum) with TOS and TTL, then a TCP header with
/// the given options.
fn packet(tos: u8, ttl: u8, tcp_opts: &[u8]) -> Vec<u8> {
    let tcp_len = 20 + tcp_opts.len();
    let total = 20 + tcp_len;
    let mut ip = vec![0u8; total];
    ip[0] = 0x45;
    ip[1] = tos;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[8] = ttl;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let sum = checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip[32] = ((tcp_len / 4) as u8) << 4;
    ip[40..].copy_from_slice(tcp_opts);
    ip
}

fn checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

fn view(ip: &[u8]) -> PacketView<'_> {
    PacketView {
        len: ip.len() as u32,
        ip,
        ..tcp("10.0.0.1", 1000, "10.0.0.2", 80)
    }
}

/// Which of `rules` (FORWARD, each `-j ACCEPT` with policy DROP) accept the packet.
fn accepted(rules: &[&str], pkt: &PacketView) -> Vec<bool> {
    rules
        .iter()
        .map(|r| {
            let mut t = Tables::new(IptablesVersion::V1_8_9);
            t.apply(&argv("-P FORWARD DROP")).unwrap();
            t.apply(&argv(&format!("-A FORWARD {r} -j ACCEPT")))
                .unwrap_or_else(|e| panic!("{r}: {e}"));
            t.run(
                Table::Filter,
                Hook::Forward,
                pkt,
                Instant::ZERO,
                &mut |_| {},
            ) == Verdict::Accept
        })
        .collect()
}

#[test]
fn length_ttl_dscp_tos_match_as_the_kernel() {
    // TOS 0xb9: DSCP 0x2e (EF), ECN 1. TTL 64. Total length 44.
    let ip = packet(0xB9, 64, &[2, 4, 0x05, 0xB4]);
    let pkt = view(&ip);
    let rules = [
        "-m length --length 44",
        "-m length --length 45:",
        "-m length ! --length 45:",
        "-m ttl --ttl-eq 64",
        "-m ttl ! --ttl-eq 64",
        "-m ttl --ttl-gt 63",
        "-m ttl --ttl-lt 64",
        "-m dscp --dscp-class EF",
        "-m dscp ! --dscp 0x2e",
        "-m tos --tos 0xb9",
        "-m tos --tos 0x38/0x3c",
        "-m tos ! --tos Minimize-Delay",
    ];
    let want = [
        true, false, true, true, false, true, false, true, false, true, true, true,
    ];
    assert_eq!(accepted(&rules, &pkt), want);
}

#[test]
fn tcpmss_reads_the_first_mss_option() {
    let rules = [
        "-p tcp -m tcpmss --mss 1460",
        "-p tcp -m tcpmss --mss 1000:1400",
        "-p tcp -m tcpmss ! --mss 1000:1400",
    ];
    // NOP, NOP, MSS 1460.
    let ip = packet(0, 64, &[1, 1, 2, 4, 0x05, 0xB4, 0, 0]);
    assert_eq!(accepted(&rules, &view(&ip)), [true, false, true]);
    // No MSS option: only the inverted match holds.
    let ip = packet(0, 64, &[]);
    assert_eq!(accepted(&rules, &view(&ip)), [false, false, true]);
}

#[test]
fn mac_and_pkttype_read_the_received_frame() {
    let ip = packet(0, 64, &[]);
    let mut pkt = view(&ip);
    let rules = [
        "-m mac --mac-source 02:00:00:00:00:0a",
        "-m mac ! --mac-source 02:00:00:00:00:0a",
        "-m pkttype --pkt-type unicast",
        "-m pkttype --pkt-type broadcast",
        "-m pkttype --pkt-type multicast",
    ];
    let frame = |dst: [u8; 6]| {
        let mut f = [0u8; 14];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x0a]);
        f[12..].copy_from_slice(&[8, 0]);
        f
    };
    pkt.mac = Some(frame([2, 0, 0, 0, 0, 1]));
    assert_eq!(accepted(&rules, &pkt), [true, false, true, false, false]);
    pkt.mac = Some(frame([0xFF; 6]));
    assert_eq!(accepted(&rules, &pkt), [true, false, false, true, false]);
    pkt.mac = Some(frame([1, 0, 0x5e, 0, 0, 1]));
    assert_eq!(accepted(&rules, &pkt), [true, false, false, false, true]);
    // Made by the host: no frame, so `-m mac` matches neither way; unicast.
    pkt.mac = None;
    assert_eq!(accepted(&rules, &pkt), [false, false, true, false, false]);
}

#[test]
fn devgroup_sees_group_zero() {
    let ip = packet(0, 64, &[]);
    let rules = [
        "-m devgroup --src-group default",
        "-m devgroup ! --src-group 0",
        "-m devgroup --dst-group 1",
        "-m devgroup --dst-group 2/0x1",
    ];
    assert_eq!(accepted(&rules, &view(&ip)), [true, false, false, true]);
}

#[test]
fn targets_compute_as_the_kernel() {
    let cases = [
        (HdrTarget::TtlSet(5), (0xB9, 64), (0xB9, 5)),
        (HdrTarget::TtlInc(200), (0, 64), (0, 255)),
        (HdrTarget::TtlDec(70), (0, 64), (0, 0)),
        // DSCP keeps the ECN bits.
        (HdrTarget::Dscp(0x0a), (0xB9, 64), (0x29, 64)),
        // --and-tos 0x3f, --or-tos 0x04, --xor-tos 0x04, --set-tos 0x10/0x3f.
        (
            HdrTarget::Tos {
                value: 0,
                mask: 0xC0,
            },
            (0xFF, 1),
            (0x3F, 1),
        ),
        (HdrTarget::Tos { value: 4, mask: 4 }, (0x01, 1), (0x05, 1)),
        (HdrTarget::Tos { value: 4, mask: 0 }, (0x05, 1), (0x01, 1)),
        (
            HdrTarget::Tos {
                value: 0x10,
                mask: 0x3F,
            },
            (0xEF, 1),
            (0xD0, 1),
        ),
        (HdrTarget::Checksum, (0xEF, 9), (0xEF, 9)),
    ];
    for (t, before, after) in cases {
        assert_eq!(t.apply(before), after, "{t:?}");
    }
}

#[test]
fn rewrite_keeps_the_checksum_right() {
    let mut ip = packet(0xB9, 64, &[]);
    rewrite_tos_ttl(&mut ip, (0x29, 3));
    assert_eq!((ip[1], ip[8]), (0x29, 3));
    assert_eq!(checksum(&ip[..20]), 0, "header sums to 0xffff");
    rewrite_tos_ttl(&mut ip, (0xFF, 255));
    assert_eq!(checksum(&ip[..20]), 0);
}

/// The router's TTL decrement writes the very checksum a full recomputation writes, for any
/// header whose checksum verifies, the header that sums to zero (checksum 0xFFFF) included.
#[test]
fn decreasing_the_ttl_writes_the_recomputed_checksum() {
    use smoltcp::wire::Ipv4Packet;
    let mut rng = crate::rand::Rng::new(3);
    for i in 0..20_000u32 {
        let mut ip = [0u8; 24];
        for b in ip.iter_mut() {
            *b = rng.below(256) as u8;
        }
        ip[0] = if i % 2 == 0 { 0x45 } else { 0x46 };
        ip[8] = ip[8].max(2);
        let hl = usize::from(ip[0] & 0x0f) * 4;
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..hl]);
        p.fill_checksum();
        if i % 7 == 0 {
            // Adding the checksum into the identification makes the header sum 0xFFFF, whose
            // checksum is 0, and 0xFFFF, the other encoding of zero, verifies too.
            let sum = u32::from(p.ident()) + u32::from(p.checksum());
            p.set_ident(((sum & 0xffff) + (sum >> 16)) as u16);
            p.fill_checksum();
            assert_eq!(p.checksum(), 0);
            if i % 14 == 0 {
                p.set_checksum(0xffff);
            }
        }
        assert!(p.verify_checksum());
        let mut full = ip;
        let mut p = Ipv4Packet::new_unchecked(&mut full[..hl]);
        p.set_hop_limit(p.hop_limit() - 1);
        p.fill_checksum();
        decrease_ttl(&mut ip[..hl]);
        assert_eq!(ip, full);
    }
}

/// Several targets in one run compose; the hooks take the result.
#[test]
fn a_run_leaves_the_new_header_for_the_hooks() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "-t mangle -A FORWARD -j TTL --ttl-dec 3",
        "-t mangle -A FORWARD -j TTL --ttl-inc 1",
        "-t mangle -A FORWARD -j DSCP --set-dscp-class AF11",
    ] {
        t.apply(&argv(r)).unwrap();
    }
    let ip = packet(0x01, 64, &[]);
    let v = t.run(
        Table::Mangle,
        Hook::Forward,
        &view(&ip),
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(v, Verdict::Accept);
    assert_eq!(t.hdr, Some((0x29, 62)));
    // A table without them leaves nothing.
    t.run(
        Table::Filter,
        Hook::Forward,
        &view(&ip),
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(t.hdr, None);
}

/// `-p tcp --tcp-option`: listings as iptables 1.8.9 printed them, errors, and
/// `tcp_find_option`.
#[test]
fn tcp_option() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "-A INPUT -p tcp ! --tcp-option 3 --syn",
        "-A INPUT -p tcp --tcp-option 0x10",
        "-A INPUT -p tcp -m tcp --tcp-option 2 --dport 80",
    ] {
        t.apply(&argv(r)).unwrap();
    }
    assert_eq!(
        t.apply(&argv("-S INPUT")).unwrap(),
        "-P INPUT ACCEPT\n\
         -A INPUT -p tcp -m tcp ! --tcp-option 3 --tcp-flags FIN,SYN,RST,ACK SYN\n\
         -A INPUT -p tcp -m tcp --tcp-option 16\n\
         -A INPUT -p tcp -m tcp --dport 80 --tcp-option 2\n"
    );
    let l = t.apply(&argv("-L INPUT")).unwrap();
    let tails: Vec<&str> = l.lines().skip(2).map(|x| &x[62..]).collect();
    assert_eq!(
        tails,
        [
            "tcp option=!3 flags:FIN,SYN,RST,ACK/SYN",
            "tcp option=16",
            "tcp dpt:http option=2"
        ]
    );
    let n = t.apply(&argv("-nL INPUT")).unwrap();
    assert!(n.contains("tcp option=!3 flags:0x17/0x02\n"), "{n}");
    for (line, msg) in [
        ("-A INPUT -p tcp --tcp-option 0", "Bad TCP option \"0\""),
        ("-A INPUT -p tcp --tcp-option 256", "Bad TCP option \"256\""),
        ("-A INPUT -p tcp --tcp-option x", "Bad TCP option \"x\""),
        (
            "-A INPUT -p tcp --tcp-option 3 --tcp-option 4",
            "Only one `--tcp-option' allowed",
        ),
    ] {
        let e = Tables::new(IptablesVersion::V1_8_9)
            .apply(&argv(line))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}")
        );
    }
    // NOP, NOP, MSS, then window scale.
    let ip = packet(0, 64, &[1, 1, 2, 4, 5, 0xB4, 3, 3, 7, 0, 0, 0]);
    let rules = [
        "-p tcp --tcp-option 2",
        "-p tcp --tcp-option 3",
        "-p tcp --tcp-option 8",
        "-p tcp ! --tcp-option 8",
        "-p tcp ! --tcp-option 2",
    ];
    assert_eq!(
        accepted(&rules, &view(&ip)),
        [true, true, false, true, false]
    );
    // No options: only the inverted test holds.
    let ip = packet(0, 64, &[]);
    assert_eq!(
        accepted(&rules, &view(&ip)),
        [false, false, false, true, true]
    );
}

/// Abbreviated options of these modules, as iptables 1.8.9 (nf_tables) resolved them in a
/// network namespace: the rule as `-S` printed it, or the error's first line.
#[test]
fn abbreviations_resolve_as_getopt_long() {
    let unknown = |o: &str| format!("iptables v1.8.9 (nf_tables): unknown option \"{o}\"");
    let cases = [
        (
            "-A INPUT -m ttl --ttl-e 5",
            "-A INPUT -m ttl --ttl-eq 5".to_string(),
        ),
        ("-A INPUT -m ttl --tt 5", unknown("--tt")),
        (
            "-A INPUT -m pkttype --pkt broadcast",
            "-A INPUT -m pkttype --pkt-type broadcast".into(),
        ),
        (
            "-A INPUT -m mac --mac 02:00:00:00:00:01",
            "-A INPUT -m mac --mac-source 02:00:00:00:00:01".into(),
        ),
        (
            "-A INPUT -m dscp --dscp-c EF",
            "-A INPUT -m dscp --dscp 0x2e".into(),
        ),
        (
            "-A INPUT -m length --len 5",
            "-A INPUT -m length --length 5".into(),
        ),
        (
            "-A INPUT -m hashlimit --hashlimit-up 5 --hashlimit-na x",
            "-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name x"
                .into(),
        ),
        (
            "-A INPUT -m hashlimit --hashlimit-upto 5 --hashlimit-n x --hashlimit-htable-e 100",
            "-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name x \
             --hashlimit-htable-expire 100"
                .into(),
        ),
        (
            "-t mangle -A FORWARD -j TTL --ttl-s 5",
            "-A FORWARD -j TTL --ttl-set 5".into(),
        ),
        ("-t mangle -A FORWARD -j TTL --ttl 5", unknown("--ttl")),
        (
            "-t mangle -A FORWARD -j DSCP --set-dscp-c EF",
            "-A FORWARD -j DSCP --set-dscp 0x2e".into(),
        ),
        (
            "-t mangle -A FORWARD -j TOS --and 0x3f",
            "-A FORWARD -j TOS --set-tos 0x00/0xc0".into(),
        ),
        ("-t mangle -A FORWARD -j TOS --set 0x10", unknown("--set")),
        (
            "-t mangle -A POSTROUTING -j CHECKSUM --checksum",
            "-A POSTROUTING -j CHECKSUM --checksum-fill".into(),
        ),
        (
            "-A INPUT -m string --al bm --str x",
            "-A INPUT -m string --string \"x\" --algo bm".into(),
        ),
        (
            "-A INPUT -m string --algo bm --hex |41|",
            "-A INPUT -m string --string \"A\" --algo bm".into(),
        ),
        (
            "-A INPUT -m time --times 08:00 --week Mon",
            unknown("--times"),
        ),
        (
            "-A INPUT -m time --kern",
            "-A INPUT -m time --datestop 2038-01-19T03:14:07 --kerneltz".into(),
        ),
        (
            "-A INPUT -p tcp --tcp-o 2",
            "-A INPUT -p tcp -m tcp --tcp-option 2".into(),
        ),
        (
            "-A INPUT -p sctp --chunk any DATA",
            "-A INPUT -p sctp -m sctp --chunk-types any DATA".into(),
        ),
        (
            "-A INPUT -m devgroup --src 0",
            "iptables v1.8.9 (nf_tables): devgroup match: You must specify either \
             '--src-group' or '--dst-group'"
                .into(),
        ),
        ("-A INPUT -m tos --t 8", unknown("--t")),
        (
            "-A INPUT -p tcp -m tcpmss --ms 5",
            "-A INPUT -p tcp -m tcpmss --mss 5".into(),
        ),
    ];
    for (line, want) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        let got = match t.apply(&argv(line)) {
            Ok(_) => {
                let table = if line.starts_with("-t mangle") {
                    "-t mangle -S"
                } else {
                    "-S"
                };
                let s = t.apply(&argv(table)).unwrap();
                s.lines().last().unwrap_or("").to_string()
            }
            Err(e) => e.to_string().lines().next().unwrap_or("").to_string(),
        };
        assert_eq!(got, want, "{line}");
    }
}

/// Odd values for every option of these modules are refused or taken, never a panic; and
/// every match evaluates packets cut short without one.
#[test]
fn odd_input_never_panics() {
    let values = [
        "",
        ":",
        "::",
        "0x",
        "-1",
        "|",
        "||",
        "\\",
        "é",
        "1:",
        ":1",
        "99999999999999999999",
        "1/",
        "/1",
        "a,,b",
        ",",
        "T",
        "2038-99",
        "1:2:3:4",
        "|4 1|",
        "\\|",
    ];
    let modules: &[(&str, &[&str])] = &[
        ("-m length", &["--length"]),
        ("-m ttl", &["--ttl-eq", "--ttl-gt", "--ttl-lt", "--ttl"]),
        ("-m pkttype", &["--pkt-type"]),
        ("-m mac", &["--mac-source"]),
        ("-m dscp", &["--dscp", "--dscp-class"]),
        ("-m tos", &["--tos"]),
        ("-p tcp -m tcpmss", &["--mss"]),
        ("-p tcp", &["--tcp-option"]),
        ("-m devgroup", &["--src-group", "--dst-group"]),
        (
            "-m hashlimit --hashlimit-name x",
            &[
                "--hashlimit-upto",
                "--hashlimit-burst",
                "--hashlimit-mode",
                "--hashlimit-srcmask",
                "--hashlimit-htable-max",
            ],
        ),
        (
            "-p sctp",
            &["--sport", "--chunk-types any", "--chunk-types"],
        ),
        (
            "-m string --algo bm",
            &["--string", "--hex-string", "--from"],
        ),
        (
            "-m time",
            &["--datestart", "--timestart", "--weekdays", "--monthdays"],
        ),
    ];
    let targets: &[(&str, &[&str])] = &[
        ("TTL", &["--ttl-set", "--ttl-inc", "--ttl-dec"]),
        ("DSCP", &["--set-dscp", "--set-dscp-class"]),
        ("TOS", &["--set-tos", "--and-tos", "--xor-tos"]),
    ];
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for v in values {
        for (m, opts) in modules {
            for o in *opts {
                let mut line = argv(&format!("-A INPUT {m} {o}"));
                line.push(v.to_string());
                let _ = t.apply(&line);
            }
        }
        for (name, opts) in targets {
            for o in *opts {
                let mut line = argv(&format!("-t mangle -A PREROUTING -j {name} {o}"));
                line.push(v.to_string());
                let _ = t.apply(&line);
            }
        }
    }
    for l in ["-S", "-L", "-nvL", "-t mangle -S", "-t mangle -L"] {
        t.apply(&argv(l)).unwrap();
    }
    // One rule of each module, then packets of every length up to a full header and more.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "-A INPUT -m ttl --ttl-gt 3",
        "-A INPUT -m tos --tos 8",
        "-A INPUT -m dscp --dscp 1",
        "-A INPUT -p tcp -m tcpmss --mss 1",
        "-A INPUT -p tcp --tcp-option 2",
        "-A INPUT -p sctp --chunk-types all DATA",
        "-A INPUT -m string --algo bm --string ab --from 3",
        "-A INPUT -m hashlimit --hashlimit-upto 1/s --hashlimit-mode srcport,dstport --hashlimit-name x",
        "-A INPUT -m time --monthdays 3 --weekdays Fri --timestart 23:00 --timestop 01:00 --contiguous",
        "-A INPUT -m mac --mac-source 1:2:3:4:5:6",
        "-A INPUT -m pkttype --pkt-type multicast",
    ] {
        t.apply(&argv(r)).unwrap();
    }
    let full = packet(0xFF, 1, &[2, 4, 5, 0xB4, 8, 0, 0, 0]);
    for len in 0..=full.len() {
        for proto in [6u8, 17, 132] {
            let mut ip = full[..len].to_vec();
            if ip.len() > 9 {
                ip[9] = proto;
            }
            let pkt = PacketView { proto, ..view(&ip) };
            let now = Instant::from_nanos(len as u64 * 7_777_777_777);
            t.run(Table::Filter, Hook::Input, &pkt, now, &mut |_| {});
        }
    }
}

/// The kernel rewrites in place: a later rule of the same walk sees the new TTL and TOS.
#[test]
fn later_rules_of_the_walk_see_the_rewrite() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "-t mangle -A FORWARD -j TTL --ttl-set 5",
        "-t mangle -A FORWARD -j DSCP --set-dscp 10",
        "-t mangle -A FORWARD -m ttl --ttl-eq 64 -j DROP",
        "-t mangle -A FORWARD -m dscp ! --dscp 10 -j DROP",
        "-t mangle -A FORWARD -m ttl --ttl-eq 5 -m tos --tos 0x28/0xfc -j ACCEPT",
        "-t mangle -P FORWARD DROP",
    ] {
        t.apply(&argv(r)).unwrap();
    }
    let ip = packet(0, 64, &[]);
    let v = t.run(
        Table::Mangle,
        Hook::Forward,
        &view(&ip),
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(v, Verdict::Accept);
    assert_eq!(t.hdr, Some((0x28, 5)));
}

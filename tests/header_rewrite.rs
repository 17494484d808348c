//! `-j TTL`, `-j DSCP` and `-j TOS` rewrite forwarded packets for real: the captures show
//! the new header fields, and tshark finds every IP checksum right.

mod common;

use std::path::Path;

use common::{assert_tshark_clean, have_tool, run, tshark};

const LAB: &str = r#"
version: 1
name: header-rewrite
seed: 1
hosts:
  - name: h1
    interfaces: {eth0: 10.0.1.10/24}
    gateway: 10.0.1.1
  - name: h2
    interfaces: {eth0: 10.0.2.10/24}
    gateway: 10.0.2.1
routers:
  - name: r1
    interfaces:
      eth0: 10.0.1.1/24
      eth1: 10.0.2.1/24
    iptables:
      - iptables -t mangle -A PREROUTING -i eth1 -j TTL --ttl-inc 1
      - iptables -t mangle -A FORWARD -i eth0 -j DSCP --set-dscp-class AF41
      - iptables -t mangle -A FORWARD -i eth0 -j TTL --ttl-set 9
      - iptables -t mangle -A POSTROUTING -o eth0 -j TOS --set-tos 0x10/0x3f
      - iptables -t mangle -A POSTROUTING -o eth0 -j TTL --ttl-dec 3
links:
  - [h1:eth0, r1:eth0]
  - [r1:eth1, h2:eth0]
steps:
  - on: h1
    run: ping -c 1 10.0.2.10
"#;

#[test]
fn rewritten_headers_keep_their_checksums() {
    if !have_tool("tshark", "rewritten_headers_keep_their_checksums") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab.yaml");
    std::fs::write(&lab, LAB).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "run",
        lab.to_str().unwrap(),
        "--capture",
        "both",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", common::text(&out.stdout));
    for f in std::fs::read_dir(&out_dir).unwrap() {
        assert_tshark_clean(&f.unwrap().path());
    }
    let fields = tshark(
        &Path::new(&out_dir).join("all.pcapng"),
        &[
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "ip.ttl",
            "-e",
            "ip.dsfield",
            "-Y",
            "icmp",
        ],
    );
    let lines = common::text(&fields.stdout);
    let lines: Vec<&str> = lines.lines().collect();
    // The request: TTL 64 from h1, set to 9 and DSCP AF41 (0x22 << 2) past r1. The reply:
    // 64 from h2, +1 in PREROUTING, -1 forwarding, -3 in POSTROUTING; TOS 0x10.
    assert_eq!(
        lines,
        [
            "h1:eth0\t64\t0x00",
            "r1:eth0\t64\t0x00",
            "r1:eth1\t9\t0x88",
            "h2:eth0\t9\t0x88",
            "h2:eth0\t64\t0x00",
            "r1:eth1\t64\t0x00",
            "r1:eth0\t61\t0x10",
            "h1:eth0\t61\t0x10",
        ]
    );
}

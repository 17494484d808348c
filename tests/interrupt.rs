//! Ctrl-C mid-run: exit 130 and complete, readable captures.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;

#[test]
fn sigint_leaves_valid_captures() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("long.yaml");
    std::fs::write(
        &lab,
        "version: 1
name: long
hosts:
  - {name: a, interfaces: {eth0: 10.0.0.1/24}}
  - {name: b, interfaces: {eth0: 10.0.0.2/24}}
links:
  - [a:eth0, b:eth0]
steps:
  - {on: b, run: bulk-recv 5001, background: true}
  - {on: a, run: bulk-send 10.0.0.2 5001 100G, timeout: 1h}
",
    )
    .unwrap();
    let out = dir.path().join("out");
    let child = common::hoplab()
        .args(["run", lab.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the captures have content, then interrupt.
    let start = Instant::now();
    while std::fs::metadata(out.join("a-eth0.pcap")).map_or(0, |m| m.len()) < 1_000_000 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never started writing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let result = child.wait_with_output().unwrap();
    assert_eq!(
        result.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );

    for name in ["a-eth0.pcap", "b-eth0.pcap"] {
        let mut r = PcapReader::new(std::fs::File::open(out.join(name)).unwrap()).unwrap();
        let mut n = 0;
        while let Some(p) = r.next_packet() {
            p.unwrap_or_else(|e| panic!("{name}: record {n}: {e}"));
            n += 1;
        }
        assert!(n > 100, "{name}: {n} frames");
    }
    let mut r = PcapNgReader::new(std::fs::File::open(out.join("all.pcapng")).unwrap()).unwrap();
    let mut blocks = 0;
    while let Some(b) = r.next_block() {
        b.unwrap_or_else(|e| panic!("all.pcapng: block {blocks}: {e}"));
        blocks += 1;
    }
    assert!(blocks > 100);
}

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
        .args(["run", lab.to_str().unwrap(), "--capture", "both"])
        .args(["--out", out.to_str().unwrap()])
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

/// A lab that, paced at real time, would take a minute of wall time.
const SLOW_PING: &str = "version: 1
name: slow-ping
hosts:
  - {name: a, interfaces: {eth0: 10.0.0.1/24}}
  - {name: b, interfaces: {eth0: 10.0.0.2/24}}
links:
  - [a:eth0, b:eth0]
steps:
  - {on: a, run: ping -c 60 10.0.0.2, timeout: 2m}
";

/// Starts `hoplab run` of the slow lab with `--pace 1` (and `extra`), sends `signal` a second
/// and a half later (a paced run writes its files only at the end), and returns the exit code, the text report and messages
/// (standard output, less a streamed pcapng, and standard error) and the time the run took to
/// end after the signal.
fn paced_run_signalled(signal: &str, extra: &[&str]) -> (Option<i32>, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("slow.yaml");
    std::fs::write(&lab, SLOW_PING).unwrap();
    let out = dir.path().join("out");
    let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
    let mut child = common::hoplab()
        .args(["run", lab.to_str().unwrap(), "--pace", "1"])
        .args(["--out", out.to_str().unwrap()])
        .args(extra)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the paced run ended early"
    );
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    let result = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    let mut text = common::text(&result.stderr);
    if !extra.contains(&"-") {
        text += &std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    }
    (result.status.code(), text, took)
}

#[test]
fn paced_run_ends_at_sigint_and_sigterm() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        for extra in [&[][..], &["--pcapng", "-"][..]] {
            let (got, text, took) = paced_run_signalled(signal, extra);
            assert_eq!(got, Some(code), "{signal} {extra:?}: {text}");
            assert!(
                text.contains("\nINTERRUPTED: "),
                "{signal} {extra:?}: {text}"
            );
            assert!(!text.contains("PASS"), "{signal} {extra:?}: {text}");
            // The lab has about a minute left at real time: it must not have run to its end.
            assert!(
                took < Duration::from_secs(30),
                "{signal} {extra:?}: ended {took:?} after the signal"
            );
        }
    }
}

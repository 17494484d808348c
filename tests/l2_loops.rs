//! L2 loops end in a clear result: `check` names the loop, a storming run is stopped by the
//! storm guard or the capture limit (exit 1, captures whole), and spanning tree (lab 22)
//! breaks the loop with real BPDUs.

mod common;

use common::{assert_tshark_clean, have_tool, lab_report, run, text, tshark, tshark_lines};

const TWO_BRIDGES: &str = "tests/fixtures/l2loop/hang-l2-loop-two-bridges.yaml";
const TO_ITSELF: &str = "tests/fixtures/l2loop/hang-l2-loop-bridge-to-itself.yaml";
const LAB: &str = "scenarios/22-l2-loop-and-stp.yaml";

#[test]
fn check_names_each_loop() {
    for (lab, cycle) in [
        (TWO_BRIDGES, "L2 loop: br0:a2 -- br1:b2, br1:b1 -- br0:a1"),
        (TO_ITSELF, "L2 loop: br0:p1 -- br0:p2"),
    ] {
        let out = run(&["check", lab]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("warning: {cycle} (")), "{err}");
        assert_eq!(err.matches("L2 loop").count(), 1, "{err}");
    }
    // With STP on one of its bridges, lab 22's first loop is no warning; its second is.
    let err = text(&run(&["check", LAB]).stderr);
    assert!(!err.contains("br0:a2"), "{err}");
    assert!(
        err.contains("L2 loop: br2:c2 -- br3:d2, br3:d1 -- br2:c1"),
        "{err}"
    );
}

#[test]
fn the_storm_guard_stops_each_reproducer_and_names_the_loop() {
    for (lab, cycle) in [
        (
            TWO_BRIDGES,
            "the L2 loop br0:a2 -- br1:b2, br1:b1 -- br0:a1",
        ),
        (TO_ITSELF, "the L2 loop br0:p1 -- br0:p2"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = run(&["run", lab, "--out", dir.path().to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{lab}: {stdout}");
        assert!(stdout.contains("STOPPED: storm guard: packet id=1 (ARP, Request who-has"));
        assert!(stdout.contains("was flooded 1001 times"), "{stdout}");
        assert!(stdout.contains(cycle), "{stdout}");
        // Stopped within milliseconds of virtual time, not after the lab's hour.
        assert!(
            stdout.contains("STOPPED: 0/0 expectations held; 0.0050"),
            "{stdout}"
        );
        if have_tool("tshark", "the_storm_guard_stops_each_reproducer") {
            assert_tshark_clean(&dir.path().join("all.pcapng"));
        }
    }
}

#[test]
fn a_stopped_run_reports_why_in_json_and_is_deterministic() {
    let runs: Vec<(serde_json::Value, Vec<u8>)> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let out = run(&[
                "run",
                TO_ITSELF,
                "--json",
                "--capture",
                "merged",
                "--out",
                dir.path().to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(1));
            assert!(text(&out.stderr).contains("hoplab: stopped: storm guard"));
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            (
                report,
                std::fs::read(dir.path().join("all.pcapng")).unwrap(),
            )
        })
        .collect();
    let r = &runs[0].0;
    assert_eq!(r["passed"], false);
    assert_eq!(r["interrupted"], false);
    assert!(r["halted"].as_str().unwrap().contains("br0:p1 -- br0:p2"));
    assert!(
        runs[0].1 == runs[1].1,
        "the same lab and seed give the same capture"
    );
}

#[test]
fn max_capture_bytes_stops_the_run_with_whole_files_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 300_000u64;
    let out = run(&[
        "run",
        TWO_BRIDGES,
        "--out",
        dir.path().to_str().unwrap(),
        "--max-capture-bytes",
        &limit.to_string(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("STOPPED: the captures reached --max-capture-bytes (300000 bytes)"),
        "{stdout}"
    );
    let total: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= limit, "{total} bytes written");
    assert!(total > limit / 2, "{total} bytes written");
    if have_tool("tshark", "max_capture_bytes_stops_the_run") {
        for e in std::fs::read_dir(dir.path()).unwrap() {
            assert_tshark_clean(&e.unwrap().path());
        }
    }
    // 0 lifts the limit: then the storm guard stops the run.
    let out = run(&[
        "run",
        TO_ITSELF,
        "--capture",
        "none",
        "--max-capture-bytes",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("STOPPED: storm guard"));
    let out = run(&["run", TO_ITSELF, "--max-capture-bytes", "lots"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lab_22_blocks_one_port_with_stp_and_storms_without() {
    let out = run(&["test", LAB]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let (code, r) = lab_report(&std::fs::read_to_string(LAB).unwrap());
    assert_eq!(code, Some(0));
    assert!(r["halted"].as_str().unwrap().contains("br2:c2 -- br3:d2"));
    // The same lab, but its storming half expected to be quiet: it fails.
    let text_lab = std::fs::read_to_string(LAB)
        .unwrap()
        .replace("storms: true", "storms: false");
    let (code, r) = lab_report(&text_lab);
    assert_eq!(code, Some(1));
    assert_eq!(r["passed"], false);
    // And with STP on br2, no storm at all: the storm expectation fails instead.
    let quiet = std::fs::read_to_string(LAB)
        .unwrap()
        .replace("ports: [c1, c2, h]}", "ports: [c1, c2, h], stp: true}");
    let (code, r) = lab_report(&quiet);
    assert_eq!(code, Some(1));
    assert!(r["halted"].is_null());
    let storm = r["expectations"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(storm["actual"], "no", "{storm}");
}

#[test]
fn lab_22_bpdus_dissect_as_stp() {
    if !have_tool("tshark", "lab_22_bpdus_dissect_as_stp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["run", LAB, "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let merged = dir.path().join("all.pcapng");
    assert_tshark_clean(&merged);
    let count = |filter: &str| tshark_lines(&tshark(&merged, &["-Y", filter]));
    // br0 is root: its BPDUs name itself as root, at cost 0, from port 0x8001 on a1.
    assert!(
        count(
            "frame.interface_name == \"br1:b1\" && stp.type == 0x00 && stp.root.hw == 02:00:00:00:00:01 && stp.root.cost == 0 && stp.port == 0x8001 && stp.max_age == 20 && stp.hello == 2 && stp.forward == 15"
        ) >= 10
    );
    // br1 relays the root's BPDUs on its designated port h, at cost 2.
    assert!(
        count(
            "frame.interface_name == \"h2:eth0\" && stp.root.hw == 02:00:00:00:00:01 && stp.root.cost == 2 && stp.bridge.hw == 02:00:00:00:00:02"
        ) >= 10
    );
    // A topology change: br1's TCN, the root's acknowledgement, then TC in its BPDUs.
    assert!(count("stp.type == 0x80") >= 1);
    assert!(count("stp.flags.tcack == 1") >= 1);
    assert!(count("stp.flags.tc == 1") >= 1);
    assert_eq!(count("stp && _ws.malformed"), 0);
    // br2 and br3 run no STP: no BPDU from them.
    assert_eq!(count("stp && frame.interface_name contains \"br2\""), 0);
}

#[test]
fn a_full_fdb_is_mentioned_once_in_the_summary() {
    let lab = "version: 1
name: fdbfull
bridges:
  - {name: br0, fdb_max: 1}
hosts:
  - {name: h1, interfaces: {eth0: 10.0.0.1/24}}
  - {name: h2, interfaces: {eth0: 10.0.0.2/24}}
  - {name: h3, interfaces: {eth0: 10.0.0.3/24}}
links:
  - [h1:eth0, br0:p1]
  - [h2:eth0, br0:p2]
  - [h3:eth0, br0:p3]
steps:
  - {on: h1, run: ping -c 2 10.0.0.2, expect: {received: 2}}
  - {on: h1, run: ping -c 2 10.0.0.3, expect: {received: 2}}
";
    let (code, r) = lab_report(lab);
    assert_eq!(code, Some(0));
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.contains("FDB full"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("br0: FDB full (fdb_max 1): "),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("source addresses were not learned"));
}

//! Watching a lab live: `--pcapng -` streams the merged capture to standard output as frames
//! happen (the text report goes to standard error), `--pcapng PATH` writes it elsewhere, and
//! `--pace X` runs no faster than X virtual seconds per wall second.

mod common;

use common::{run, text};

const LAB: &str = "scenarios/01-arp-and-mac-learning.yaml";

/// The merged capture of a normal run of `LAB`.
fn normal_capture() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["run", LAB, "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::read(dir.path().join("all.pcapng")).unwrap()
}

#[test]
fn pcapng_dash_streams_the_merged_capture_and_reports_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--capture",
        "both",
        "--out",
        dir.path().to_str().unwrap(),
        "--pcapng",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        out.stdout,
        normal_capture(),
        "the stream is the run's all.pcapng"
    );
    let report = text(&out.stderr);
    assert!(report.contains("PASS: 18/18"), "{report}");
    assert!(report.contains("standard output (34 frames)"), "{report}");
    assert!(!dir.path().join("all.pcapng").exists());
    assert!(
        dir.path().join("c1-eth0.pcap").exists(),
        "per-point files still go to --out"
    );
}

#[test]
fn pcapng_path_writes_the_merged_capture_there() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.pcapng");
    let out = run(&[
        "run",
        LAB,
        "--capture",
        "none",
        "--out",
        dir.path().to_str().unwrap(),
        "--pcapng",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&file).unwrap(), normal_capture());
}

#[test]
fn pace_slows_the_run_and_changes_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let out = run(&[
        "run",
        LAB,
        "--out",
        dir.path().to_str().unwrap(),
        "--pace",
        "4",
    ]);
    // Lab 01 lasts 4 s of virtual time: at 4 virtual seconds per wall second, at least 1 s.
    // (A lower bound only: sleeping never ends early.)
    assert!(start.elapsed() >= std::time::Duration::from_millis(950));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("all.pcapng")).unwrap(),
        normal_capture()
    );
    for bad in ["0", "-1", "NaN", "fast"] {
        let out = run(&["run", LAB, "--capture", "none", "--pace", bad]);
        assert_eq!(out.status.code(), Some(2), "--pace {bad}");
    }
    let both = run(&["run", LAB, "--json", "--pcapng", "-"]);
    assert_eq!(
        both.status.code(),
        Some(2),
        "--json and --pcapng - share stdout"
    );
    assert!(text(&both.stderr).contains("give --pcapng a file"));
    // With a file, the JSON report and the merged capture go to their own places.
    let file = dir.path().join("run.pcapng");
    let out = run(&["run", LAB, "--json", "--pcapng", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["files"].as_array().unwrap().last().unwrap()["path"],
        file.to_str().unwrap()
    );
    assert_eq!(std::fs::read(&file).unwrap(), normal_capture());
}

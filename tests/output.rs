//! Standard output as Unix tools treat it: a reader that closes the pipe early (`| head`)
//! ends the output quietly, and a write that fails otherwise (a full disk) is an error with a
//! non-zero exit code, never a panic. Capture files that cannot be written fail the run.

mod common;

use std::process::{Output, Stdio};

use common::{hoplab, repo, text};

const LAB: &str = "scenarios/01-arp-and-mac-learning.yaml";

/// Runs hoplab with `stdout` as its standard output.
fn with_stdout(args: &[&str], stdout: impl Into<Stdio>) -> Output {
    hoplab()
        .args(args)
        .current_dir(repo())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Runs hoplab with standard output a pipe whose reading end is already closed.
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    with_stdout(args, writer)
}

/// Runs hoplab with standard output `/dev/full` (every write: "No space left on device").
fn into_full_device(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    with_stdout(args, full)
}

fn no_panic(what: &str, out: &Output) {
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["list"],
        &["check", LAB],
        &["run", LAB, "--out", out_dir],
        &["run", LAB, "--out", out_dir, "--json"],
        &["run", LAB, "--out", out_dir, "--pcapng", "-"],
        &["show", LAB, "--on", "br0", "bridge fdb show"],
    ];
    for args in cases {
        let out = into_closed_pipe(args);
        no_panic(&format!("{args:?}"), &out);
        // The lab passes and the reader's leaving is not an error: exit 0, nothing said.
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
    // `test` prints its table to standard output too.
    let out = into_closed_pipe(&["test", LAB]);
    no_panic("test", &out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_full_device_on_standard_output_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["list"],
        &["check", LAB],
        &["run", LAB, "--out", out_dir],
        &["run", LAB, "--out", out_dir, "--json"],
        &["test", LAB],
    ];
    for args in cases {
        let out = into_full_device(args);
        no_panic(&format!("{args:?}"), &out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("hoplab: cannot write to standard output: No space left on device"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_capture_that_cannot_be_written_fails_the_run_and_names_the_file() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().to_str().unwrap();
    // The merged pcapng to a full device, and the same streamed to a full standard output.
    let out = common::run(&["run", LAB, "--out", out_dir, "--pcapng", "/dev/full"]);
    no_panic("--pcapng /dev/full", &out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Captures failed: /dev/full: No space left on device"),
        "{err}"
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("/dev/full (INCOMPLETE: cut short by a write error)"),
        "{report}"
    );
    assert!(report.contains("\nERROR: "), "{report}");
    assert!(!report.contains("PASS"), "{report}");

    let out = into_full_device(&["run", LAB, "--out", out_dir, "--pcapng", "-"]);
    no_panic("--pcapng - > /dev/full", &out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Captures failed at 1.000000 s: standard output: No space"),
        "{}",
        text(&out.stderr)
    );

    // The JSON report says which file and why, and that the lab did not pass.
    let out = common::run(&[
        "run",
        LAB,
        "--out",
        out_dir,
        "--pcapng",
        "/dev/full",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["capture_failure"]["path"], "/dev/full");
    let files = v["files"].as_array().unwrap();
    let merged = files.iter().find(|f| f["point"] == "all").unwrap();
    assert_eq!(merged["complete"], false);
    assert!(
        files
            .iter()
            .filter(|f| f["point"] != "all")
            .all(|f| f["complete"] == true)
    );
}

//! Every shipped lab's captures open cleanly in tshark, and tshark counts what the lab's
//! capture expectations count, with the same filter strings.

mod common;

use std::path::Path;

use common::{have_tool, labs, run, tshark};

fn count(out: &std::process::Output) -> usize {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .count()
}

fn assert_clean(file: &Path) {
    let all = tshark(file, &["-T", "fields", "-e", "frame.number"]);
    assert!(
        all.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&all.stderr)
    );
    let bad = tshark(
        file,
        &[
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            common::UNCLEAN,
        ],
    );
    assert!(bad.status.success());
    assert_eq!(
        count(&bad),
        0,
        "{}: malformed frames or bad checksums:\n{}",
        file.display(),
        String::from_utf8_lossy(&bad.stdout)
    );
    assert!(count(&all) > 0, "{} is empty", file.display());
}

#[test]
fn every_lab_capture_is_tshark_clean_and_filters_agree() {
    if !have_tool(
        "tshark",
        "every_lab_capture_is_tshark_clean_and_filters_agree",
    ) {
        return;
    }
    let _kernel = common::real_kernel();
    for lab in labs() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(&[
            "run",
            lab.to_str().unwrap(),
            "--json",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}", lab.display()));
        for f in report["files"].as_array().unwrap() {
            assert_clean(Path::new(f["path"].as_str().unwrap()));
        }
        // The capture expectations, recounted by tshark on the merged file.
        let text = std::fs::read_to_string(&lab).unwrap();
        let parsed = hoplab::scenario::parse(&text, "lab").unwrap();
        let merged = dir.path().join("all.pcapng");
        for (e, result) in parsed
            .expects
            .iter()
            .zip(report["expectations"].as_array().unwrap())
        {
            let filter = format!(
                "frame.interface_name == \"{}\" && ({})",
                e.point,
                e.filter.text()
            );
            let n = count(&tshark(&merged, &["-Y", &filter]));
            assert_eq!(
                n.to_string(),
                result["actual"].as_str().unwrap(),
                "{}: tshark and hoplab disagree on `{filter}`",
                lab.display()
            );
        }
    }
}

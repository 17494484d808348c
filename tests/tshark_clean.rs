//! Every shipped lab's captures open cleanly in tshark, and tshark counts what the lab's
//! capture expectations count, with the same filter strings (and a step's or a time
//! window as a range of the frames' times).

mod common;

use std::path::Path;

use common::{assert_tshark_clean, have_tool, labs, run, tshark, tshark_lines};
use hoplab::scenario::model::Window;

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
            // Both kinds of file, each checked.
            "--capture",
            "both",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}", lab.display()));
        for f in report["files"].as_array().unwrap() {
            assert_tshark_clean(Path::new(f["path"].as_str().unwrap()));
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
            // A window is a time range; virtual time is the capture's epoch time.
            let secs = |d: hoplab::time::Duration| d.as_secs_f64();
            let window = match &e.window {
                Window::All => (None, None),
                Window::Step(k) => {
                    let s = &report["steps"].as_array().unwrap()[*k];
                    (s["at"].as_f64(), s["end"].as_f64())
                }
                Window::Times { from, to } => (from.map(secs), to.map(secs)),
            };
            let mut filter = format!(
                "frame.interface_name == \"{}\" && ({})",
                e.point,
                e.filter.text()
            );
            if let Some(from) = window.0 {
                filter.push_str(&format!(" && frame.time_epoch >= {from:.9}"));
            }
            if let Some(to) = window.1 {
                filter.push_str(&format!(" && frame.time_epoch <= {to:.9}"));
            }
            let n = tshark_lines(&tshark(&merged, &["-Y", &filter]));
            assert_eq!(
                n.to_string(),
                result["actual"].as_str().unwrap(),
                "{}: tshark and hoplab disagree on `{filter}`",
                lab.display()
            );
        }
    }
}

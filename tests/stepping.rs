//! Tables over time: `hoplab show --at T` prints a listing as it was at virtual time T, and
//! `hoplab run --step` pauses after each step or frame (go on, show, list frames, go back,
//! quit).

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{hoplab, repo, run, text};

#[test]
fn show_at_prints_the_fdb_as_it_was_then() {
    let show = |at: &str| {
        let out = run(&[
            "show",
            "scenarios/01-arp-and-mac-learning.yaml",
            "--on",
            "br0",
            "bridge fdb show dynamic",
            "--at",
            at,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    // c1's ARP request has reached the bridge at 1.00001 s, c2's reply not yet.
    assert_eq!(show("0.5s"), "");
    assert_eq!(
        show("1.000015s"),
        "02:42:ac:11:00:02 dev veth1 master br0 \n"
    );
    assert_eq!(
        show("2s"),
        "02:42:ac:11:00:02 dev veth1 master br0 \n02:42:ac:11:00:03 dev veth2 master br0 \n"
    );
    let bad = run(&[
        "show",
        "scenarios/01-arp-and-mac-learning.yaml",
        "--on",
        "br0",
        "bridge fdb show",
        "--at",
        "soon",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Runs lab 01 with `--step`, typing `input`.
fn step(input: &str) -> (Option<i32>, String) {
    let mut child = hoplab()
        .args([
            "run",
            "scenarios/01-arp-and-mac-learning.yaml",
            "--step",
            "--capture",
            "none",
        ])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stdout))
}

#[test]
fn step_pauses_shows_lists_frames_goes_back_and_quits() {
    let (code, out) = step("\nshow br0 bridge fdb show dynamic\nframes\nback\nquit\n");
    assert_eq!(code, Some(130), "{out}");
    let pauses: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("[after step"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        pauses,
        [
            "[after step 1/5",
            "[after step 2/5",
            "[after step 2/5",
            "[after step 2/5",
            "[after step 1/5"
        ]
    );
    assert!(
        out.contains("> 02:42:ac:11:00:02 dev veth1 master br0 \n"),
        "{out}"
    );
    assert!(
        out.contains("in   br0:veth1              id=1 ARP, Request who-has 172.17.0.3"),
        "{out}"
    );
    assert!(out.contains("(rerunning the lab to step 1)"));
    assert!(out.contains("(stopped at the user's request)"));
}

#[test]
fn step_without_more_input_runs_to_the_end() {
    let (code, out) = step("");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("PASS:"), "{out}");
    assert_eq!(out.matches("[after step").count(), 5);
}

#[test]
fn step_goes_frame_by_frame_within_a_step_and_back_to_the_step_before() {
    let (code, out) = step("frame\nframe\nshow br0 bridge fdb show dynamic\nback\nquit\n");
    assert_eq!(code, Some(130), "{out}");
    let pauses: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix('[').or_else(|| l.strip_prefix("> [")))
        .filter(|l| l.starts_with("after step") || l.starts_with("in step"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        pauses,
        [
            "after step 1/5",
            "in step 2/5",
            "in step 2/5",
            "in step 2/5",
            "after step 1/5"
        ],
        "{out}"
    );
    // The first frame pause is after the bridge flooded c1's ARP request; the second after
    // c2 answered. Mid-step, the bridge has learned c1 only.
    assert!(out.contains("#4     [  1.000010s] out  br0:veth3"), "{out}");
    assert!(out.contains("#6     [  1.000020s] out  c2:eth0                id=2 ARP, Reply"));
    assert!(
        out.contains("> 02:42:ac:11:00:02 dev veth1 master br0 \n\n[in step 2/5"),
        "{out}"
    );
    // Going back from within step 2 is the end of step 1, and stops the ping unfinished.
    assert!(!out.contains("packets transmitted"), "{out}");
}

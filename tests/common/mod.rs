//! Shared by the integration tests: running the CLI, and the project rule for tests that need
//! a tool or privilege: skip with a reason, or fail when `HOPLAB_REQUIRE_PRIVILEGED=1`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn hoplab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hoplab"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(args: &[&str]) -> Output {
    hoplab()
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run hoplab")
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The project rule for a test that cannot run here: it skips, saying why, and returns false;
/// with `HOPLAB_REQUIRE_PRIVILEGED=1` (CI) a skip is a failure instead.
pub fn skip(test: &str, why: &str) -> bool {
    if std::env::var("HOPLAB_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{test}: {why}; HOPLAB_REQUIRE_PRIVILEGED=1 makes this a failure, not a skip");
    }
    eprintln!("{test}: skipped: {why}");
    false
}

/// True when `tool` can run. Otherwise prints why the caller skips, or panics when the
/// environment demands every privileged test run.
pub fn have_tool(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok || skip(test, &format!("{tool} cannot be run (is it installed?)"))
}

/// Held by a test while it runs a lab with TAPs: such a lab's namespace and TAP names are
/// the kernel's, one at a time (tests of one binary run in parallel).
pub static REAL_KERNEL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes `REAL_KERNEL`, whether or not a test that held it failed.
pub fn real_kernel() -> std::sync::MutexGuard<'static, ()> {
    REAL_KERNEL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether this process may create TAPs. Otherwise prints why the caller skips, or panics
/// when the environment demands every privileged test run.
pub fn have_net_admin(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let ok = hoplab::scenario::grade::cap_eff_has_net_admin(&status)
        && Path::new("/dev/net/tun").exists();
    ok || skip(test, "needs root (CAP_NET_ADMIN) and /dev/net/tun")
}

/// The display filter of frames tshark must not find in a capture: malformed ones and bad
/// checksums. Frames hoplab refused at a TAP (`dropped: runt`, ...) are malformed on
/// purpose and left out. A TCP or UDP segment quoted in an ICMP error is cut short (at 576
/// bytes, as the kernel cuts it), and tshark checks its checksum over what is left and
/// reassembles it into the stream (an "overlap" once the segment is sent again smaller):
/// only the ICMP's own checksum counts there, and reassembly errors do not count.
pub const UNCLEAN: &str = "((_ws.malformed && !(_ws.expert.group == 0x07000000)) || (_ws.expert.severity >= error && !(icmp && _ws.expert.group == 0x01000000) && !(_ws.expert.group == 0x07000000)) || ip.checksum.status == 0 || (tcp.checksum.status == 0 && !icmp) || (udp.checksum.status == 0 && !icmp) || icmp.checksum.status == 0 || icmpv6.checksum.status == 0) && !(frame.comment matches \"dropped: (runt|oversize|bad_ip_header|bad_ip_checksum)\")";

/// Every shipped lab at the top of `scenarios/`.
pub fn labs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

pub fn tshark(file: &Path, extra: &[&str]) -> Output {
    Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(extra)
        .env(
            "WIRESHARK_CONFIG_DIR",
            std::env::temp_dir().join("hoplab-empty-wireshark-profile"),
        )
        .output()
        .expect("run tshark")
}

/// Runs a lab given as text with `--json`: its exit code and report.
pub fn lab_report(lab: &str) -> (Option<i32>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, lab).unwrap();
    let captures = dir.path().join("captures");
    let out = run(&[
        "run",
        path.to_str().unwrap(),
        "--json",
        "--out",
        captures.to_str().unwrap(),
    ]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out.status.code(), report)
}

/// Non-empty lines of tshark's output: frames, one per line.
pub fn tshark_lines(out: &Output) -> usize {
    text(&out.stdout).lines().filter(|l| !l.is_empty()).count()
}

/// `file` opens in tshark, holds frames, and none is malformed or has a bad checksum
/// (frames hoplab refused at a TAP aside: `UNCLEAN`).
pub fn assert_tshark_clean(file: &Path) {
    let all = tshark(file, &["-T", "fields", "-e", "frame.number"]);
    assert!(
        all.status.success(),
        "{}: {}",
        file.display(),
        text(&all.stderr)
    );
    assert!(tshark_lines(&all) > 0, "{} is empty", file.display());
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
            UNCLEAN,
        ],
    );
    assert!(bad.status.success(), "{}", text(&bad.stderr));
    assert_eq!(
        tshark_lines(&bad),
        0,
        "{}: malformed frames or bad checksums:\n{}",
        file.display(),
        text(&bad.stdout)
    );
}

/// Runs a lab given as YAML text (named `file` in messages), without captures.
pub fn run_lab_text(y: &str, file: &str) -> hoplab::scenario::run::RunReport {
    let lab = hoplab::scenario::parse(y, file).unwrap_or_else(|e| panic!("{e}\n{y}"));
    let opts = hoplab::scenario::run::RunOptions::without_captures();
    hoplab::scenario::run::Runner::new(&lab, &opts)
        .expect("build")
        .run()
}

/// Step `name`'s exit code (0 for a listing) and text (its output or listing).
pub fn step_out(r: &hoplab::scenario::run::RunReport, name: &str) -> (i32, String) {
    let s = r
        .steps
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no step {name}"));
    match (&s.result, &s.listing) {
        (Some(r), _) => (r.exit_code, r.output.clone()),
        (None, Some(l)) => (0, l.clone()),
        _ => panic!("{name}: no output"),
    }
}

//! The command line's contract: exit codes and located errors.

mod common;

use common::{run, text};

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn broken_yaml_is_a_located_error_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "broken.yaml", "version: 1\nname: x\nhosts: [\n");
    let out = run(&["run", &f]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("{f}:3:8: field 'hosts': ")),
        "{err}"
    );
}

#[test]
fn bad_address_is_a_located_error_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "bad.yaml",
        "version: 1\nname: x\nhosts:\n  - name: a\n    interfaces:\n      eth0: {ip: 10.0.0.256/24}\n",
    );
    for cmd in ["run", "check"] {
        let out = run(&[cmd, &f]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert_eq!(
            text(&out.stderr).trim_end(),
            format!("{f}:6:18: field 'ip': '10.0.0.256/24' is not an IPv4 address with prefix")
        );
    }
}

#[test]
fn a_missing_file_is_exit_2() {
    let out = run(&["run", "no/such/lab.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
}

#[test]
fn a_failed_expectation_is_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "fail.yaml",
        "version: 1\nname: x\nhosts:\n  - {name: a, interfaces: {eth0: 10.0.0.1/24}}\n  - {name: b, interfaces: {eth0: 10.0.0.2/24}}\nlinks:\n  - [a:eth0, b:eth0]\nsteps:\n  - {on: a, run: ping -c 1 10.0.0.3 -W 1, expect: {received: 1}}\ncaptures: none\n",
    );
    let out = run(&["run", &f]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("FAIL"));
}

#[test]
fn check_accepts_every_shipped_lab() {
    for lab in common::labs() {
        let out = run(&["check", lab.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            lab.display(),
            text(&out.stderr)
        );
    }
}

#[test]
fn bad_flags_are_exit_2() {
    assert_eq!(
        run(&["bench", "--only", "no_such_key"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["run"]).status.code(), Some(2));
    assert_eq!(
        run(&[
            "run",
            "scenarios/01-arp-and-mac-learning.yaml",
            "--capture",
            "all"
        ])
        .status
        .code(),
        Some(2)
    );
    let out = run(&[
        "show",
        "scenarios/01-arp-and-mac-learning.yaml",
        "--on",
        "c9",
        "ip addr",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

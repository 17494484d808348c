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

#[test]
fn yaml_mistakes_are_told_in_plain_words_with_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            "version: one\nname: x\n",
            ":1:10: field 'version': 'one' is not a whole number; write digits, e.g. 1",
        ),
        (
            "version: 1\nname: x\nname: y\n",
            ":3:1: field 'name': 'name' is given twice in the same mapping; keep one",
        ),
        (
            "version: 1\nname: x\nhosts:\n\t- name: a\n",
            ":4:2: field 'name': a tab in the indentation: YAML indents with spaces only; replace the tab with spaces",
        ),
        (
            "version: 1\nname: x\nhosts: [{name: h1, interfaces: {eth0: 10.0.0.1/24}}]\nsteps:\n  - {on: h1, run: curl -s -w \"%{http_code}\" http://10.0.0.2/}\n",
            ":5:43: field 'run': unclosed quote: a `{...}` or `[...]` on one line ends a value at the first `,`, `}` or `]`",
        ),
    ];
    for (body, error) in cases {
        let f = write(&d, "lab.yaml", body);
        let out = run(&["check", &f]);
        assert_eq!(out.status.code(), Some(2), "{body}");
        let err = text(&out.stderr);
        assert!(err.starts_with(&format!("{f}{error}")), "{body}\n{err}");
        assert!(
            !err.contains("DuplicateKeyPolicy") && !err.contains("invalid u32"),
            "{err}"
        );
    }
    // The fix the message gives works.
    let f = write(
        &d,
        "lab.yaml",
        "version: 1\nname: x\nhosts: [{name: h1, interfaces: {eth0: 10.0.0.1/24}}]\nsteps:\n  - {on: h1, run: 'curl -s -w \"%{http_code}\" http://10.0.0.2/'}\n",
    );
    assert_eq!(run(&["check", &f]).status.code(), Some(0));
}

#[test]
fn ip_on_a_host_says_what_it_lists_and_where_changes_go() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "lab.yaml",
        "version: 1\nname: x\nhosts: [{name: h1, interfaces: {eth0: 10.0.0.1/24}}]\nsteps:\n  - {on: h1, run: ip addr add 10.0.0.5/24 dev eth0}\n",
    );
    let out = run(&["check", &f]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{f}:5:19: field 'run': ip addr add 10.0.0.5/24 dev eth0: a host runs `ip route add|del|replace PREFIX via GW`; its other `ip` commands only list, as a `show:` step: `ip addr`, `ip link`, `ip -s link`, `ip route`, `ip neigh`."
        )),
        "{err}"
    );
    assert!(
        err.contains("`link: NODE:IFACE` steps with `set: up|down`"),
        "{err}"
    );
    assert!(!err.contains("command not found"), "{err}");
}

#[test]
fn show_at_past_the_labs_end_is_refused() {
    let lab = "scenarios/01-arp-and-mac-learning.yaml";
    let out = run(&[
        "show",
        lab,
        "--on",
        "br0",
        "bridge fdb show",
        "--at",
        "100s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with(
            "hoplab: --at 100s: lab 'arp-and-mac-learning' ends at 4.000040 s, before that"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["show", lab, "--on", "br0", "bridge fdb show", "--at", "4s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn every_argument_has_a_help_text() {
    for (cmd, wanted) in [
        (
            "run",
            &[("<FILE>  ", "The lab file"), ("--seed <SEED>", "The seed")][..],
        ),
        (
            "show",
            &[("<FILE>  ", "The lab file"), ("--seed <SEED>", "The seed")],
        ),
        (
            "trace",
            &[("<FILE>  ", "The lab file"), ("--seed <SEED>", "The seed")],
        ),
        ("list", &[("[DIR]  ", "The directory")]),
        ("check", &[("<FILES>...  ", "The lab files")]),
    ] {
        let out = run(&[cmd, "--help"]);
        let help = text(&out.stdout);
        for (arg, says) in wanted {
            let line = help.lines().find(|l| l.trim_start().starts_with(arg));
            assert!(
                line.is_some_and(|l| l.contains(says)),
                "{cmd} {arg}: {says}\n{help}"
            );
        }
    }
}

/// A host's `routes:` are checked as they will run: a gateway off the host's subnets is
/// iproute2's error, at the route's place in the file.
#[test]
fn host_routes_are_checked_where_they_are_written() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "lab.yaml",
        "version: 1\nname: x\nhosts:\n  - name: h1\n    interfaces: {eth0: 10.0.0.1/24}\n    routes: [ip route add 10.9.0.0/16 via 10.0.0.254, 10.8.0.0/16 via 10.7.0.1]\n",
    );
    let out = run(&["check", &f]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("{f}:6:55: field 'routes': Error: Nexthop has invalid gateway.")
    );
    let ok = f.replace("lab.yaml", "ok.yaml");
    std::fs::write(
        &ok,
        "version: 1\nname: x\nhosts:\n  - name: h1\n    interfaces: {eth0: 10.0.0.1/24}\n    routes: [ip route add 10.9.0.0/16 via 10.0.0.254]\nsteps:\n  - {on: h1, show: ip route, expect: {contains: [\"10.9.0.0/16 via 10.0.0.254 dev eth0 \\n\"]}}\n",
    )
    .unwrap();
    let out = run(&["run", &ok, "--capture", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

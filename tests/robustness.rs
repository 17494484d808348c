//! Inputs that once made hoplab panic, storm or pass falsely (tests/fixtures/robustness/):
//! each now gives a located error or a correct result.

mod common;

use common::{run, text};

const DIR: &str = "tests/fixtures/robustness";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

#[test]
fn non_unicast_addresses_are_located_errors_at_check_time() {
    let cases = [
        (
            "panic-multicast-host-ip.yaml",
            ":5:18: field 'ip': '224.0.0.1/4' is a multicast address, not a unicast one",
        ),
        (
            "panic-docker-subnet-multicast.yaml",
            ":6:27: field 'subnet': '224.0.0.0/4' holds multicast addresses, not unicast ones",
        ),
    ];
    for (file, error) in cases {
        let f = fixture(file);
        for args in [&["check", &f][..], &["run", &f, "--capture", "none"][..]] {
            let out = run(args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?}: {}",
                text(&out.stderr)
            );
            let err = text(&out.stderr);
            assert!(err.starts_with(&format!("{f}{error}")), "{args:?}: {err}");
        }
    }
    // Broadcast and unspecified addresses too, on a host and on a Docker host's eth0.
    let d = tempfile::tempdir().unwrap();
    for (addr, kind) in [
        ("255.255.255.255/32", "broadcast"),
        ("0.0.0.0/8", "unspecified"),
        ("239.1.2.3/24", "multicast"),
    ] {
        let host = d.path().join("host.yaml");
        std::fs::write(
            &host,
            format!(
                "version: 1\nname: x\nhosts:\n  - {{name: h1, interfaces: {{eth0: {addr}}}}}\n"
            ),
        )
        .unwrap();
        let docker = d.path().join("docker.yaml");
        std::fs::write(
            &docker,
            format!("version: 1\nname: x\ndocker:\n  host: {{name: dh, eth0: {addr}}}\n"),
        )
        .unwrap();
        for f in [&host, &docker] {
            let out = run(&["check", f.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(2), "{addr}");
            let err = text(&out.stderr);
            assert!(
                err.contains(&format!("'{addr}' is a {kind} address")),
                "{err}"
            );
        }
    }
}

#[test]
fn ping_to_0_0_0_0_pings_this_host_as_linux_does() {
    let out = run(&[
        "run",
        &fixture("panic-ping-unspecified.yaml"),
        "--capture",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("PING 0.0.0.0 (127.0.0.1) 56(84) bytes of data.\n64 bytes from 127.0.0.1: icmp_seq=1 ttl=64"),
        "{report}"
    );
    assert!(
        report.contains("--- 0.0.0.0 ping statistics ---"),
        "{report}"
    );
}

#[test]
fn steps_the_lab_would_never_reach_are_refused() {
    let cases = [
        (
            "silent-skip-step-after-duration.yaml",
            ":6:10: field 'at': step 1 cannot start before 20s, but the lab ends at 10s (its `duration`)",
        ),
        (
            "silent-skip-step-after-1h-cap.yaml",
            ":6:10: field 'at': step 1 cannot start before 5000h, but a lab without `duration` ends at 1h at the latest",
        ),
    ];
    for (file, error) in cases {
        let f = fixture(file);
        let out = run(&["check", &f]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = text(&out.stderr);
        assert!(err.starts_with(&format!("{f}{error}")), "{err}");
    }
    // `run --duration` shorter than the steps: the steps not reached fail the run.
    let out = run(&[
        "run",
        "scenarios/01-arp-and-mac-learning.yaml",
        "--capture",
        "none",
        "--duration",
        "500ms",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains(
            "FAIL steps 2..5 of the lab: not run: the lab ended at 0.500000 s (expected run)"
        ),
        "{report}"
    );
    assert!(!report.contains("PASS"), "{report}");
}

#[test]
fn a_lab_without_expectations_says_so() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("none.yaml");
    std::fs::write(
        &f,
        "version: 1\nname: none\nhosts: [{name: h1, interfaces: {eth0: 10.0.0.1/24}}]\nsteps:\n  - {on: h1, run: sleep 1s}\n",
    )
    .unwrap();
    let out = run(&["run", f.to_str().unwrap(), "--capture", "none"]);
    assert_eq!(out.status.code(), Some(0));
    let report = text(&out.stdout);
    assert!(
        report
            .contains("This lab has no expectations: it ran, but it checked nothing.\n\nPASS: 0/0"),
        "{report}"
    );
}

#[test]
fn test_reports_every_lab_of_a_directory_whatever_each_does() {
    let out = run(&["test", &fixture("test-aborts-on-panic")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for (lab, result) in [
        ("a.yaml", "error"),
        ("b.yaml", "pass"),
        ("c.yaml", "pass"),
        ("d.yaml", "error"),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&fixture(&format!("test-aborts-on-panic/{lab}"))))
            .unwrap_or_else(|| panic!("no row for {lab}:\n{table}"));
        assert!(row.ends_with(result), "{lab}: {row}");
    }
    assert!(
        table.contains("4 labs: 2 passed, 0 failed, 0 skipped, 2 errors"),
        "{table}"
    );
}

#[test]
fn a_file_too_large_to_be_a_lab_is_refused_without_reading_it_all() {
    let out = run(&["check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim_end(),
        "/dev/zero:1:1: field '(file)': cannot read: larger than 64 MiB, which no lab is (is it the right file?)"
    );
}

#[test]
fn a_full_conntrack_table_drops_new_flows_and_says_so() {
    let f = fixture("conntrack-full.yaml");
    let out = run(&["run", &f, "--capture", "none", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["conntrack"],
        serde_json::json!([{"node": "r1", "count": 2, "max": 2, "table_full_drops": 1, "insert_failed": 0}])
    );
    assert!(
        v["kernel_log"][0]["line"]
            .as_str()
            .unwrap()
            .ends_with("] nf_conntrack: nf_conntrack: table full, dropping packet"),
        "{}",
        v["kernel_log"]
    );
    let out = run(&["run", &f, "--capture", "none"]);
    assert!(
        text(&out.stdout)
            .contains("Conntrack: r1: 1 new flows dropped, the table full (nf_conntrack_max 2)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_second_listener_on_a_port_fails_with_eaddrinuse() {
    let out = run(&[
        "run",
        &fixture("fidelity-duplicate-listeners.yaml"),
        "--capture",
        "none",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = |i: usize| &v["steps"][i]["result"];
    assert!(
        result(0)["output"]
            .as_str()
            .unwrap()
            .starts_with("Serving HTTP on 0.0.0.0 port 80")
    );
    assert_eq!(result(1)["exit_code"], 1);
    assert_eq!(
        result(1)["output"],
        "OSError: [Errno 98] Address already in use\n"
    );
    assert_eq!(result(2)["exit_code"], 1);
    assert_eq!(result(2)["output"], "nc: Address already in use\n");
    // The first server still answers.
    assert!(
        result(3)["output"]
            .as_str()
            .unwrap()
            .starts_with("Hello from h2")
    );
}

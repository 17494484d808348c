//! The lab format as a lab's author and grader use it: named steps, commands meant to fail
//! and `||`/`&&` lists, `after:`, capture expectations per step or time window, step names
//! in the reports and in `trace`, and Docker's proxy variants.

mod common;

use std::path::Path;
use std::process::Output;

use common::{run, text};

fn write(dir: &Path, body: &str) -> String {
    let p = dir.join("lab.yaml");
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Runs a lab given as text with `--json`, captures in a temporary directory.
fn run_json(body: &str) -> (Output, serde_json::Value) {
    let d = tempfile::tempdir().unwrap();
    let lab = write(d.path(), body);
    let out_dir = d.path().join("captures");
    let out = run(&[
        "run",
        &lab,
        "--json",
        "--capture",
        "none",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let v = if out.status.code() == Some(2) {
        serde_json::Value::Null
    } else {
        json(&out)
    };
    (out, v)
}

fn step<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report}"))
}

const TWO_HOSTS: &str = "version: 1
name: t
bridges: [{name: br0}]
hosts:
  - {name: a, interfaces: {eth0: 10.0.0.1/24}}
  - {name: b, interfaces: {eth0: 10.0.0.2/24}}
routers:
  - {name: r, interfaces: {eth0: 10.0.0.254/24}}
links:
  - [a:eth0, br0:p1]
  - [b:eth0, br0:p2]
  - [r:eth0, br0:p3]
";

#[test]
fn the_probe_lab_passes_and_reads_by_step_name() {
    let out = run(&[
        "run",
        "scenarios/14-probe-steps.yaml",
        "--json",
        "--capture",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let r = json(&out);
    let check = step(&r, "check-absent");
    assert_eq!(check["result"]["exit_code"], 1);
    assert_eq!(
        check["result"]["output"],
        "iptables: Bad rule (does a matching rule exist in that chain?).\n"
    );
    assert_eq!(step(&r, "unblock-again")["result"]["exit_code"], 1);
    // `after: 10ms` starts 10 ms after the step before it ended (an instant command).
    let before = step(&r, "unblock-again")["at"].as_f64().unwrap();
    let after = step(&r, "probe-open")["at"].as_f64().unwrap();
    assert!((after - before - 0.010).abs() < 1e-9, "{before} {after}");
    let whats: Vec<&str> = r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert!(whats[0].contains(" during probe-blocked "), "{whats:?}");
    assert!(whats[2].contains(" during probe-open "), "{whats:?}");
    // Unnamed steps have no name in the JSON.
    assert!(r["steps"][0].get("name").is_none(), "{}", r["steps"][0]);
}

#[test]
fn lists_run_as_a_shell_runs_them() {
    let lab = format!(
        "{TWO_HOSTS}steps:
  - name: or-runs-after-failure
    on: a
    run: ping -c 1 -W 1 10.0.0.9 || ping -c 1 10.0.0.2
    expect: {{exit: 0, received: 1}}
  - name: and-skips-after-failure
    on: a
    run: ping -c 1 -W 1 10.0.0.9 && ping -c 1 10.0.0.2
    expect: {{exit: 1, received: 0}}
  - name: chain-made-once
    on: r
    run: iptables -N PROBE && iptables -A PROBE -j DROP && iptables -N PROBE || iptables -S PROBE
    expect: {{exit: 0, contains: ['iptables: Chain already exists.', '-A PROBE -j DROP']}}
"
    );
    let (out, r) = run_json(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let or = step(&r, "or-runs-after-failure")["result"]["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(or.matches("PING ").count(), 2, "{or}");
    let and = step(&r, "and-skips-after-failure")["result"]["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(and.matches("PING ").count(), 1, "{and}");
}

#[test]
fn state_is_the_runs_business_syntax_the_loaders() {
    // Absent rules and chains, a jump to a chain that does not exist: run-time outcomes with
    // iptables' exit codes.
    let lab = format!(
        "{TWO_HOSTS}steps:
  - {{on: r, run: iptables -D INPUT -s 1.2.3.4 -j DROP, expect: {{exit: 1}}}}
  - {{on: r, run: iptables -C NOPE -j DROP, expect: {{exit: 1}}}}
  - {{on: r, run: iptables -A INPUT -j NOSUCH, expect: {{exit: 2}}}}
  - {{on: r, run: iptables -N X}}
  - {{on: r, run: iptables -A INPUT -j X}}
  - {{on: r, run: iptables -X X, expect: {{exit: 4}}}}
"
    );
    let (out, _) = run_json(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A bad option is the lab's fault, in whichever command of a list it is.
    let bad = format!(
        "{TWO_HOSTS}steps:
  - on: r
    run: iptables -C INPUT -j DROP || iptables -I INPUT --bogus -j DROP
"
    );
    let (out, _) = run_json(&bad);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(e.contains("lab.yaml:15:10: field 'run': "), "{e}");
    assert!(e.contains("--bogus"), "{e}");
    for (body, msg) in [
        (
            "  - {on: a, run: 'ping -c 1 10.0.0.2 ||'}\n",
            "syntax error: a command must follow `||'",
        ),
        (
            "  - {on: a, run: 'sleep 1 && sleep 1', background: true}\n",
            "a background step runs one command",
        ),
        (
            "  - {name: x, on: a, run: sleep 1}\n  - {name: x, on: a, run: sleep 1}\n",
            "duplicate step name 'x'",
        ),
        (
            "  - {name: 'a b', on: a, run: sleep 1}\n",
            "'a b' is not a valid step name",
        ),
        ("  - {at: 1s, after: 1s, on: a, run: sleep 1}\n", "not both"),
    ] {
        let (out, _) = run_json(&format!("{TWO_HOSTS}steps:\n{body}"));
        assert_eq!(out.status.code(), Some(2), "{body}");
        assert!(
            text(&out.stderr).contains(msg),
            "{body}: {}",
            text(&out.stderr)
        );
    }
}

const WINDOWED: &str = "steps:
  - {name: first, on: a, run: ping -c 1 10.0.0.2}
  - {name: second, at: 5s, on: a, run: ping -c 2 -i 0.5 10.0.0.2}
expect:
  - {capture: b:eth0, filter: icmp.type == 8, during: first, count: 1}
  - {capture: b:eth0, filter: icmp.type == 8, during: second, count: 2}
  - {capture: b:eth0, filter: icmp.type == 8, from: 4s, count: 2}
  - {capture: b:eth0, filter: icmp.type == 8, to: 4s, count: 1}
  - {capture: b:eth0, filter: icmp.type == 8, from: 5s, to: 5100ms, count: 1}
  - {capture: b:eth0, filter: icmp.type == 8, count: 3}
";

#[test]
fn capture_expectations_count_in_their_window() {
    let (out, r) = run_json(&format!("{TWO_HOSTS}{WINDOWED}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let whats: Vec<&str> = r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        whats,
        [
            "b:eth0: icmp.type == 8 during first",
            "b:eth0: icmp.type == 8 during second",
            "b:eth0: icmp.type == 8 from 4s",
            "b:eth0: icmp.type == 8 to 4s",
            "b:eth0: icmp.type == 8 from 5s to 5.1s",
            "b:eth0: icmp.type == 8",
        ]
    );
    // A window that holds the wrong count fails: the windows do count.
    let wrong = WINDOWED.replace("during: second, count: 2", "during: second, count: 3");
    let (out, _) = run_json(&format!("{TWO_HOSTS}{wrong}"));
    assert_eq!(out.status.code(), Some(1));
    for (from, to, msg) in [
        (
            "during: first, count: 1",
            "during: frist, count: 1",
            "no step named 'frist' (did you mean 'first'?)",
        ),
        (
            "during: first, count: 1",
            "during: first, from: 1s, count: 1",
            "not both",
        ),
        (
            "from: 5s, to: 5100ms",
            "from: 5s, to: 4s",
            "the window ends before it starts",
        ),
    ] {
        let (out, _) = run_json(&format!("{TWO_HOSTS}{}", WINDOWED.replace(from, to)));
        assert_eq!(out.status.code(), Some(2), "{to}");
        assert!(
            text(&out.stderr).contains(msg),
            "{to}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn graders_see_step_names_in_test_json_junit_and_trace() {
    let d = tempfile::tempdir().unwrap();
    let failing = WINDOWED.replace(
        "ping -c 1 10.0.0.2}",
        "ping -c 1 10.0.0.2, expect: {transmitted: 5}}",
    );
    let lab = write(d.path(), &format!("{TWO_HOSTS}{failing}"));
    let junit = d.path().join("junit.xml");
    let out = run(&["test", &lab, "--json", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(
        r["labs"][0]["failures"][0],
        "step first: packets transmitted: 1 (expected 5)"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("step first: packets transmitted: 1 (expected 5)"),
        "{xml}"
    );
    // trace: the first echo request of step `second`, and the step a packet belongs to.
    let out = run(&[
        "trace",
        &lab,
        "--match",
        "icmp.type == 8",
        "--during",
        "second",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("  during step second\n"), "{t}");
    assert!(t.contains("[   5.0000"), "{t}");
    let out = run(&["trace", &lab, "--match", "icmp.type == 8"]);
    assert!(text(&out.stdout).contains("  during step first\n"));
    let out = run(&["trace", &lab, "--match", "icmp", "--during", "third"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no step named 'third' (named: first, second)"),
        "{}",
        text(&out.stderr)
    );
}

/// A Docker host with web's 8080 published, and a LAN peer; `PROXY` is its userland_proxy.
const PROXY_LAB: &str = "version: 1
name: proxy
docker:
  host: {name: dockerhost, eth0: 192.168.1.10/24}
  engine: 28
  userland_proxy: PROXY
  containers:
    - {name: web, publish: ['8080:80']}
hosts:
  - {name: peer, interfaces: {eth0: 192.168.1.20/24}}
bridges: [{name: lan}]
links:
  - [dockerhost:eth0, lan:p1]
  - [peer:eth0, lan:p2]
steps:
  - {on: web, run: http-server 80, background: true}
  - {name: from-lan, on: peer, run: curl -s -m 2 http://192.168.1.10:8080/}
  - {name: from-host, on: dockerhost, run: curl -s -m 2 http://127.0.0.1:8080/}
  - {name: nat, on: dockerhost, show: iptables -t nat -S DOCKER}
";

#[test]
fn docker_proxy_rules_and_process_apart() {
    let exit = |r: &serde_json::Value, s: &str| step(r, s)["result"]["exit_code"].clone();
    // The default: the proxy's rules, and the proxy serves the host's own connection.
    let (out, r) = run_json(&PROXY_LAB.replace("PROXY", "true"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(exit(&r, "from-lan"), 0);
    assert_eq!(exit(&r, "from-host"), 0);
    let with_proxy = step(&r, "nat")["listing"].clone();
    // Its rules without it: the LAN still gets through DNAT; the host's own connection to
    // 127.0.0.1 is not DNATed and finds nothing listening.
    let (out, r) = run_json(&PROXY_LAB.replace("PROXY", "{rules: true, process: false}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(exit(&r, "from-lan"), 0);
    assert_eq!(exit(&r, "from-host"), 7);
    assert_eq!(step(&r, "nat")["listing"], with_proxy);
    assert!(
        with_proxy.as_str().unwrap().contains("! -i docker0 -p tcp"),
        "{with_proxy}"
    );
    // No proxy: the hairpin rules, and the host's connection is DNATed.
    let (out, r) = run_json(&PROXY_LAB.replace("PROXY", "{rules: false}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(exit(&r, "from-host"), 0);
    assert_ne!(step(&r, "nat")["listing"], with_proxy);
    let (out, _) = run_json(&PROXY_LAB.replace("PROXY", "{rules: false, process: true}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("field 'process': dockerd starts no docker-proxy"),
        "{}",
        text(&out.stderr)
    );
}

/// An `iptables-restore` input's error is located at its line: in the lab for a block
/// scalar, in the rules file for `input_file`, at the token iptables quotes.
#[test]
fn restore_errors_point_into_the_input() {
    let d = tempfile::tempdir().unwrap();
    let lab = write(
        d.path(),
        "version: 1\nname: x\nrouters:\n  - name: fw\n    interfaces: {eth0: 10.0.0.1/24}\nsteps:\n  - on: fw\n    run: iptables-restore\n    input: |\n      *filter\n      :INPUT ACCEPT [0:0]\n      -A INPUT -p tcp --dportx 22 -j ACCEPT\n      COMMIT\n",
    );
    let out = run(&["check", &lab]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{lab}:12:23: field 'input': iptables-restore v1.8.10 (nf_tables): unknown option \"--dportx\"\nError occurred at line: 3\n"
        )),
        "{err}"
    );

    let rules = d.path().join("fw.rules");
    std::fs::write(
        &rules,
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j NOPE\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        &lab,
        "version: 1\nname: x\nrouters:\n  - name: fw\n    interfaces: {eth0: 10.0.0.1/24}\nsteps:\n  - {on: fw, run: iptables-restore, input_file: fw.rules}\n",
    )
    .unwrap();
    let out = run(&["check", &lab]);
    assert_eq!(out.status.code(), Some(2));
    // nf_tables resolves jumps at COMMIT: iptables names that line.
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{}:4:1: field 'input_file': iptables-restore v1.8.10 (nf_tables): Chain 'NOPE' does not exist\nError occurred at line: 4\n",
            rules.display()
        )),
        "{err}"
    );

    // A good file is the step's input; both forms at once, or a missing file, are errors.
    std::fs::write(
        &rules,
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        &lab,
        "version: 1\nname: x\nrouters:\n  - name: fw\n    interfaces: {eth0: 10.0.0.1/24}\nsteps:\n  - {on: fw, run: iptables-restore, input_file: fw.rules}\n  - {on: fw, show: iptables -S FORWARD, expect: {contains: [\"-P FORWARD DROP\\n-A FORWARD -p udp -j ACCEPT\"]}}\n",
    )
    .unwrap();
    let out = run(&["run", &lab, "--capture", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    for (step, says) in [
        (
            "{on: fw, run: iptables-restore, input: x, input_file: fw.rules}",
            "7:59: field 'input_file': give input or input_file, not both",
        ),
        (
            "{on: fw, run: iptables-restore, input_file: gone.rules}",
            "7:49: field 'input_file': cannot read",
        ),
    ] {
        std::fs::write(
            &lab,
            format!("version: 1\nname: x\nrouters:\n  - name: fw\n    interfaces: {{eth0: 10.0.0.1/24}}\nsteps:\n  - {step}\n"),
        )
        .unwrap();
        let out = run(&["check", &lab]);
        assert_eq!(out.status.code(), Some(2), "{step}");
        assert!(
            text(&out.stderr).contains(says),
            "{step}: {}",
            text(&out.stderr)
        );
    }
}

/// `ipv6:` and `gateway6:` are checked as `ip:` and `gateway:` are: each mistake at its
/// line and column, with what to write instead; a router takes no IPv6 yet.
#[test]
fn ipv6_settings_are_checked_with_their_locations() {
    let d = tempfile::tempdir().unwrap();
    let lab = write(
        d.path(),
        "version: 1
name: bad6
hosts:
  - name: a
    interfaces:
      eth0: {ipv6: \"2001:db8::10\", mac: \"02:00:00:00:00:01\"}
      eth1: {ipv6: \"fe80::1/64\"}
      eth2: {ipv6: \"ff02::1/64\"}
      eth3: {ipv6: \"10.0.0.1/24\"}
    gateway6: 2001:db8:9::1
  - name: b
    interfaces:
      eth0: {ipv6: link-local}
    gateway6: fe80::1
  - name: c
    interfaces:
      eth0: 10.0.0.3/24
    gateway6: fe80::1
routers:
  - name: r
    interfaces:
      eth0: {ip: 10.0.0.1/24, ipv6: \"2001:db8::1\"}
      eth1: {ipv6: \"2001:db8:1::1/64\"}
    routes:
      - 2001:db8:5::/64 via 2001:db8:7::1
",
    );
    let out = run(&["check", &lab]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for want in [
        "lab.yaml:6:20: field 'ipv6': '2001:db8::10': add the prefix length, e.g. 2001:db8::10/64",
        "lab.yaml:7:20: field 'ipv6': 'fe80::1/64' is link-local",
        "lab.yaml:8:20: field 'ipv6': 'ff02::1/64' is a multicast address",
        "lab.yaml:9:20: field 'ipv6': '10.0.0.1/24' is not an IPv6 address with prefix",
        "lab.yaml:10:15: field 'gateway6': gateway6 2001:db8:9::1: it is not on any of a's IPv6 prefixes",
        "lab.yaml:18:15: field 'gateway6': gateway6 fe80::1: c has no interface with IPv6",
        "lab.yaml:22:37: field 'ipv6': '2001:db8::1': add the prefix length, e.g. 2001:db8::1/64",
        "lab.yaml:25:9: field 'routes': RTNETLINK answers: No route to host",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    // b's link-local gateway is fine: only the errors above.
    assert_eq!(
        err.lines().filter(|l| l.contains("lab.yaml:")).count(),
        8,
        "{err}"
    );
}

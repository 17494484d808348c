//! Networks built by commands (`ip netns`, `ip link`, `brctl`): lab 16, the captures of
//! interfaces that did not exist when the lab started, and the commands' errors.

mod common;

use common::{repo, run, text};

const LAB16: &str = "scenarios/16-netns-by-hand.yaml";

#[test]
fn lab16_passes_and_captures_the_namespaces_interfaces_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["run", LAB16, "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    if !common::have_tool("tshark", "lab16_passes_and_captures") {
        return;
    }
    let merged = dir.path().join("all.pcapng");
    common::assert_tshark_clean(&merged);
    let names = common::tshark(&merged, &["-T", "fields", "-e", "frame.interface_name"]);
    let names = text(&names.stdout);
    for point in [
        "netns1:veth1",
        "host:veth0",
        "br0:veth-a",
        "ns-a:eth0",
        "ns-b:eth0",
    ] {
        assert!(names.lines().any(|l| l == point), "no frame at {point}");
    }
}

#[test]
fn runs_of_a_lab_built_by_commands_are_byte_identical() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        let out = run(&["run", LAB16, "--out", d.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0));
    }
    let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("all.pcapng")).unwrap();
    assert_eq!(read(&a), read(&b));
}

fn lab(steps: &str) -> (Option<i32>, serde_json::Value) {
    common::lab_report(&format!(
        "version: 1\nname: t\nrouters:\n  - name: host\n    interfaces: {{}}\nsteps:\n{steps}"
    ))
}

fn outputs(report: &serde_json::Value) -> Vec<(i64, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match s["result"].as_object() {
            Some(r) => (
                r["exit_code"].as_i64().unwrap(),
                r["output"].as_str().unwrap().to_string(),
            ),
            None => (0, s["listing"].as_str().unwrap_or("").to_string()),
        })
        .collect()
}

#[test]
fn brctl_builds_a_bridge_as_ip_link_does() {
    let (_, report) = lab("  - {on: host, run: brctl addbr br0}
  - {on: host, run: ip link add v0 type veth peer name v1}
  - {on: host, run: brctl addif br0 v0}
  - {on: host, show: brctl show}
  - {on: host, show: ip link show master br0}
  - {on: host, run: ip link set br0 up}
  - {on: host, run: brctl delbr br0}
  - {on: host, run: brctl addif br9 v1}
  - {on: host, run: brctl delif br0 v0}
  - {on: host, run: ip link set br0 down}
  - {on: host, run: brctl delbr br0}
  - {on: host, show: brctl show}
");
    let o = outputs(&report);
    assert!(o[3].1.contains("br0\t\t8000."), "{}", o[3].1);
    assert!(o[3].1.trim_end().ends_with("no\t\tv0"), "{}", o[3].1);
    assert!(
        o[4].1
            .starts_with("4: v0@v1: <BROADCAST,MULTICAST,M-DOWN> "),
        "{}",
        o[4].1
    );
    assert_eq!(
        o[6],
        (1, "bridge br0 is still up; can't delete it\n".into())
    );
    assert_eq!(o[7], (1, "bridge br9 does not exist!\n".into()));
    assert_eq!(o[8].0, 0);
    assert_eq!(o[10].0, 0);
    assert_eq!(
        o[11].1,
        "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n"
    );
}

#[test]
fn a_step_may_run_on_a_namespace_a_command_made() {
    let (code, report) = lab("  - {on: host, run: ip netns add ns1}
  - {on: host, run: ip link add v0 type veth peer name v1 netns ns1}
  - {on: ns1, run: ip addr add 10.0.0.2/24 dev v1}
  - {on: ns1, run: ip link set v1 up}
  - {on: host, run: ip addr add 10.0.0.1/24 dev v0}
  - {on: host, run: ip link set v0 up}
  - {on: ns1, run: ping -c 2 10.0.0.1, expect: {received: 2}}
  - {on: ns1, show: ip route}
  - {on: host, show: ip netns}
");
    assert_eq!(code, Some(0), "{report}");
    let o = outputs(&report);
    assert_eq!(
        o[7].1,
        "10.0.0.0/24 dev v1 proto kernel scope link src 10.0.0.2 \n"
    );
    assert_eq!(o[8].1, "ns1 (id: 0)\n");
}

#[test]
fn a_step_on_a_namespace_no_command_makes_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(
        &path,
        "version: 1\nname: t\nrouters:\n  - name: host\n    interfaces: {}\nsteps:\n  - {on: host, run: ip netns add ns1}\n  - {on: ns2, run: ip link}\n",
    )
    .unwrap();
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("field 'on': no node named 'ns2' (did you mean 'ns1'?)"),
        "{}",
        text(&out.stderr)
    );
    let _ = repo();
}

#[test]
fn deleting_a_namespace_takes_its_veths_peers_away() {
    let (_, report) = lab("  - {on: host, run: ip netns add ns1}
  - {on: host, run: ip link add v0 type veth peer name v1}
  - {on: host, run: ip link set v1 netns ns1}
  - {on: host, run: ip netns del ns1}
  - {on: host, show: ip link}
  - {on: host, run: ip netns exec ns1 ip link}
  - {on: host, run: ip netns add ns1}
  - {on: host, show: ip netns exec ns1 ip link}
");
    let o = outputs(&report);
    assert!(!o[4].1.contains("v0"), "{}", o[4].1);
    assert_eq!(
        o[5],
        (
            255,
            "Cannot open network namespace \"ns1\": No such file or directory\n".into()
        )
    );
    assert!(
        o[7].1
            .starts_with("1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN"),
        "{}",
        o[7].1
    );
    assert!(!o[7].1.contains("v1"), "{}", o[7].1);
}

#[test]
fn a_vlan_filtering_bridge_typed_on_the_root_namespace() {
    let (code, report) = lab(
        "  - {on: host, run: ip link add br0 type bridge vlan_filtering 1}
  - {on: host, run: ip link set br0 up}
  - {on: host, run: ip netns add a}
  - {on: host, run: ip netns add c}
  - {on: host, run: ip link add va type veth peer name eth0 netns a}
  - {on: host, run: ip link add vc type veth peer name eth0 netns c}
  - {on: host, run: ip link set va master br0}
  - {on: host, run: ip link set vc master br0}
  - {on: host, run: bridge vlan add dev va vid 10 pvid untagged}
  - {on: host, run: bridge vlan add dev vc vid 20 pvid untagged}
  - {on: host, run: bridge vlan add dev nope vid 20}
  - {on: host, show: bridge vlan show}
  - {on: host, run: ip link set va up}
  - {on: host, run: ip link set vc up}
  - {on: a, run: ip addr add 10.0.0.1/24 dev eth0}
  - {on: c, run: ip addr add 10.0.0.3/24 dev eth0}
  - {on: a, run: ip link set eth0 up}
  - {on: c, run: ip link set eth0 up}
  - {on: a, run: ping -c 1 -W 1 10.0.0.3, expect: {received: 0}}
  - {on: host, run: ip link set br0 type bridge vlan_filtering 0}
  - {on: a, run: ping -c 1 10.0.0.3, expect: {received: 1}}
",
    );
    assert_eq!(code, Some(0), "{report}");
    let o = outputs(&report);
    assert_eq!(o[10], (1, "Cannot find device \"nope\"\n".into()));
    assert_eq!(
        o[11].1,
        "port              vlan-id  \nbr0               1 PVID Egress Untagged\nva                1 Egress Untagged\n                  10 PVID Egress Untagged\nvc                1 Egress Untagged\n                  20 PVID Egress Untagged\n"
    );
}

#[test]
fn show_and_trace_reach_the_namespaces_a_lab_made() {
    let out = run(&["show", LAB16, "--on", "ns-a", "ip addr"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("inet 192.168.100.10/24 scope global eth0\n"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["show", LAB16, "--on", "host", "ip netns"]);
    assert_eq!(
        text(&out.stdout),
        "ns-b (id: 2)\nns-a (id: 1)\nnetns1 (id: 0)\n"
    );
    let out = run(&[
        "trace",
        LAB16,
        "--match",
        "icmp && ip.src == 192.168.100.10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for hop in [
        "out  ns-a:eth0",
        "in   br0:veth-a",
        "out  br0:veth-b",
        "in   ns-b:eth0",
    ] {
        assert!(t.contains(hop), "{t}");
    }
}

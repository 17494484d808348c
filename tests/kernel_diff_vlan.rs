//! VLANs against the kernel: a bridge with `vlan_filtering 1` (access ports, a trunk, a
//! port without a PVID) and a router on a stick with VLAN devices, built from the same lab
//! in namespaces (`bridge vlan`, `ip link add ... type vlan`) and in hoplab. The same pings
//! must succeed or fail, and `bridge vlan show`, `bridge fdb show`, `ip link` and the
//! commands' refusals must read the same. Needs root and a kernel with 802.1Q and bridge
//! VLAN filtering (see `tests/kernel/mod.rs`).

mod kernel;

use std::process::Command;

use kernel::docker::docker_steps;
use kernel::{Out, Outcome, Step, dump, ping_outcome, privileged, run};

const LAB: &str = r#"version: 1
name: kd-vlan
captures: none
bridges:
  - name: sw
    vlan_filtering: true
    vlans:
      a1: 10 pvid untagged
      a2: 10 pvid untagged
      a3: 10 pvid untagged
      b1: 20 pvid untagged
      b2: 20 untagged
      trunk: 10, 20
hosts:
  - {name: h10a, interfaces: {eth0: 10.0.10.10/24}, gateway: 10.0.10.1}
  - {name: h10b, interfaces: {eth0: 10.0.10.11/24}, gateway: 10.0.10.1}
  - {name: stray, interfaces: {eth0: 10.0.20.50/24}}
  - {name: h20a, interfaces: {eth0: 10.0.20.10/24}, gateway: 10.0.20.1}
  - {name: h20b, interfaces: {eth0: 10.0.20.11/24}, gateway: 10.0.20.1}
routers:
  - name: r1
    interfaces:
      eth0:
      eth0.10: 10.0.10.1/24
      eth0.20: 10.0.20.1/24
    iptables_version: 1.8.9
links:
  - [h10a:eth0, sw:a1]
  - [h10b:eth0, sw:a2]
  - [stray:eth0, sw:a3]
  - [h20a:eth0, sw:b1]
  - [h20b:eth0, sw:b2]
  - [r1:eth0, sw:trunk]
"#;

/// Whether this kernel makes VLAN devices and filtering bridges; says why not. A kernel
/// built without them is no missing privilege that CI could grant: the case skips, saying
/// so, even under `HOPLAB_REQUIRE_PRIVILEGED=1`; `HOPLAB_REQUIRE_KERNEL_VLAN=1` makes it a
/// failure where the kernel is known to have them.
fn vlan_kernel(case: &str) -> bool {
    if !privileged(case) {
        return false;
    }
    let ns = format!("hlvlanprobe{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let made = ip(&["netns", "add", &ns]);
    let ok =
        made && ip(&[
            "-n",
            &ns,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "vlan_filtering",
            "1",
        ]) && ip(&[
            "-n", &ns, "link", "add", "link", "br0", "name", "br0.5", "type", "vlan", "id", "5",
        ]);
    if made {
        ip(&["netns", "del", &ns]);
    }
    if ok {
        return true;
    }
    let why = "the kernel makes no VLAN devices or VLAN-filtering bridges \
               (CONFIG_VLAN_8021Q, CONFIG_BRIDGE_VLAN_FILTERING)";
    if std::env::var("HOPLAB_REQUIRE_KERNEL_VLAN").as_deref() == Ok("1") {
        panic!("{case}: {why}, and HOPLAB_REQUIRE_KERNEL_VLAN=1");
    }
    eprintln!("{case}: skipped: {why}");
    false
}

/// `bridge fdb show` without what IPv6 would add (off in the testbed, not modelled), in a
/// stable order: the kernel lists each device's entries newest first, and two learned in
/// the same instant may come either way.
fn fdb(o: &Out) -> Vec<String> {
    let mut v: Vec<String> = o
        .text
        .lines()
        .filter(|l| !l.starts_with("33:33:"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn kd_vlan_access_trunk_and_router_on_a_stick() {
    let case = "kd_vlan_stick";
    if !vlan_kernel(case) {
        return;
    }
    let steps = [
        run("h10a", "ping -c 1 -W 2 10.0.10.11"),
        run("h10a", "ping -c 1 -W 2 10.0.20.10"),
        run("stray", "ping -c 1 -W 2 10.0.20.10"),
        run("h20b", "ping -c 1 -W 2 10.0.20.1"),
        run("sw", "bridge vlan add dev b2 vid 20 pvid untagged"),
        run("h20b", "ping -c 1 -W 2 10.0.20.1"),
        Step::Show("sw", "bridge vlan show"),
        Step::Show("sw", "bridge fdb show"),
        Step::Show("r1", "ip link show eth0.10"),
        Step::Show("r1", "ip -d link show eth0.20"),
    ];
    let r = docker_steps(case, LAB, &steps);
    let ctx = format!(
        "--- kernel:\n{}\n--- hoplab:\n{}",
        dump(&steps, &r.kernel),
        dump(&steps, &r.hoplab)
    );
    let pings: Vec<(Outcome, Outcome)> = [0, 1, 2, 3, 5]
        .iter()
        .map(|&i| {
            (
                ping_outcome(&r.kernel[i].text),
                ping_outcome(&r.hoplab[i].text),
            )
        })
        .collect();
    for (k, h) in &pings {
        assert_eq!(k, h, "{ctx}");
    }
    // Same VLAN direct, across VLANs through r1, the wrong VLAN and no PVID silent, then
    // the PVID fixes it.
    let want = [
        Outcome::Reply { ttl: 64 },
        Outcome::Reply { ttl: 63 },
        Outcome::Silent,
        Outcome::Silent,
        Outcome::Reply { ttl: 64 },
    ];
    for ((k, _), w) in pings.iter().zip(want) {
        assert_eq!(*k, w, "{ctx}");
    }
    assert_eq!(r.kernel[4], r.hoplab[4], "{ctx}");
    assert_eq!(
        r.kernel[6].text, r.hoplab[6].text,
        "bridge vlan show\n{ctx}"
    );
    assert_eq!(
        fdb(&r.kernel[7]),
        fdb(&r.hoplab[7]),
        "bridge fdb show\n{ctx}"
    );
    assert_eq!(r.kernel[8].text, r.hoplab[8].text, "ip link show\n{ctx}");
    // The details: the link line and the VLAN's kind and options; the kernel's generic
    // sizes after them depend on its version.
    let head = |o: &Out| {
        let mut lines = o.text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let vlan = lines
            .find(|l| l.trim_start().starts_with("vlan "))
            .and_then(|l| l.split(" addrgenmode").next())
            .unwrap_or_default()
            .to_string();
        (first, vlan)
    };
    assert_eq!(
        head(&r.kernel[9]),
        head(&r.hoplab[9]),
        "ip -d link show\n{ctx}"
    );
}

#[test]
fn kd_vlan_devices_come_and_go_with_the_kernels_words() {
    let case = "kd_vlan_devices";
    if !vlan_kernel(case) {
        return;
    }
    let steps = [
        run("r1", "ip link add link eth0 name eth0.99 type vlan id 10"),
        run("r1", "ip link add link eth0 name eth0.10 type vlan id 30"),
        run("r1", "ip link add link eth9 name eth9.30 type vlan id 30"),
        run("r1", "ip link add link eth0 name eth0.30 type vlan id 4095"),
        run("r1", "ip link add link eth0 name eth0.30 type vlan id 30"),
        Step::Show("r1", "ip link show eth0.30"),
        run("r1", "ip addr add 10.0.30.1/24 dev eth0.30"),
        run("r1", "ip link set eth0.30 up"),
        Step::Show("r1", "ip route"),
        run("r1", "ip link delete eth0.30"),
        run("r1", "ip link delete eth0.30"),
        Step::Show("r1", "ip route"),
        run("sw", "bridge vlan add dev nope vid 5"),
        run("sw", "bridge vlan add dev a1 vid 4095"),
        run("sw", "bridge vlan add dev sw vid 5"),
        run("sw", "bridge vlan del dev a1 vid 77"),
    ];
    let r = docker_steps(case, LAB, &steps);
    let ctx = format!(
        "--- kernel:\n{}\n--- hoplab:\n{}",
        dump(&steps, &r.kernel),
        dump(&steps, &r.hoplab)
    );
    for (i, (k, h)) in r.kernel.iter().zip(&r.hoplab).enumerate() {
        assert_eq!(k, h, "step {}: {:?}\n{ctx}", i + 1, steps[i]);
    }
    // What the steps said, as the kernel says it.
    assert_eq!(
        r.kernel[0].text, "Error: 8021q: VLAN device already exists.\n",
        "{ctx}"
    );
    assert!(r.kernel[5].text.contains("qdisc noop state DOWN"), "{ctx}");
    assert!(
        r.kernel[8].text.contains("10.0.30.0/24 dev eth0.30"),
        "{ctx}"
    );
    assert!(!r.kernel[11].text.contains("eth0.30"), "{ctx}");
}

//! Lab 17 through the CLI: VLANs on a bridge with filtering, a router on a stick, and what
//! the captures and listings show; and the VLAN parts of the lab format and commands.

mod common;

use std::path::Path;

use pcap_file::pcap::PcapReader;

use common::{assert_tshark_clean, have_tool, lab_report, run, text, tshark, tshark_lines};

const LAB: &str = "scenarios/17-vlans.yaml";

/// What each step printed (its command's output or its listing), by step text.
fn outputs(report: &serde_json::Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let out = s["result"]["output"]
                .as_str()
                .or(s["listing"].as_str())
                .unwrap_or_default();
            (
                s["command"].as_str().unwrap_or_default().to_string(),
                out.to_string(),
            )
        })
        .collect()
}

fn output<'a>(outs: &'a [(String, String)], text: &str) -> &'a str {
    &outs
        .iter()
        .find(|(t, _)| t == text)
        .unwrap_or_else(|| panic!("no step {text:?}"))
        .1
}

/// The VLAN id of each frame of a per-point pcap (None: untagged).
fn tags(path: &Path) -> Vec<Option<u16>> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap record");
        out.push(hoplab::wire::vlan::tag(&pkt.data).map(|t| t.vid));
    }
    out
}

#[test]
fn lab17_vlans_a_trunk_and_a_router_on_a_stick() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--json",
        "--capture",
        "both",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report:#}");
    let outs = outputs(&report);

    assert_eq!(
        output(&outs, "bridge vlan show"),
        "port              vlan-id  \n\
         sw                1 PVID Egress Untagged\n\
         a1                10 PVID Egress Untagged\n\
         a2                10 PVID Egress Untagged\n\
         a3                10 PVID Egress Untagged\n\
         b1                20 PVID Egress Untagged\n\
         b2                20 Egress Untagged\n\
         c1                30 PVID Egress Untagged\n\
         trunk             10\n\
         \x20                 20\n\
         \x20                 30\n"
    );
    // r1's VLAN devices sit on eth0, with its MAC, numbered after it.
    let link = output(&outs, "ip link");
    let lines: Vec<&str> = link.lines().collect();
    assert!(lines[2].starts_with("2: eth0@if"), "{link}");
    assert!(
        lines[4].starts_with("3: eth0.10@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000"),
        "{link}"
    );
    assert!(lines[6].starts_with("4: eth0.20@eth0: "), "{link}");
    let mac = |l: &str| l.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(mac(lines[3]), mac(lines[5]));
    // The trunk learned r1's one MAC twice, once per VLAN.
    let r1 = mac(lines[3]);
    let fdb = output(&outs, "bridge fdb show dev trunk");
    for vid in [10, 20] {
        assert!(
            fdb.contains(&format!("{r1} dev trunk vlan {vid} master sw \n")),
            "{fdb}"
        );
    }

    // Every frame on the trunk is tagged; none on an access port is.
    let trunk = tags(&dir.path().join("sw-trunk.pcap"));
    assert!(trunk.len() > 20);
    assert!(trunk.iter().all(Option::is_some), "{trunk:?}");
    let seen: std::collections::BTreeSet<u16> = trunk.iter().flatten().copied().collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [10, 20, 30]);
    for access in ["sw-a1.pcap", "sw-b1.pcap", "h20a-eth0.pcap"] {
        let t = tags(&dir.path().join(access));
        assert!(!t.is_empty() && t.iter().all(Option::is_none), "{access}");
    }

    if !have_tool("tshark", "lab17_vlans_a_trunk_and_a_router_on_a_stick") {
        return;
    }
    let merged = dir.path().join("all.pcapng");
    assert_tshark_clean(&merged);
    // tshark reads the tags as hoplab writes them.
    let count = |filter: &str| tshark_lines(&tshark(&merged, &["-Y", filter]));
    let tagged = count("frame.interface_name == \"sw:trunk\" && vlan");
    assert_eq!(tagged, trunk.len());
    assert!(count("frame.interface_name == \"sw:trunk\" && vlan.id == 10 && icmp.type == 8") >= 3);
    assert_eq!(count("frame.interface_name == \"sw:a1\" && vlan"), 0);
}

#[test]
fn vlan_devices_made_and_refused_as_iproute2_does() {
    let lab = r#"
version: 1
name: vlan-cmds
routers:
  - name: r1
    interfaces:
      eth0: {ip: 192.0.2.1/24}
      lan10: {link: eth0, vlan: 10, ip: 10.0.10.1/24}
hosts:
  - {name: h1, interfaces: {eth0: 192.0.2.2/24}}
links:
  - [h1:eth0, r1:eth0]
steps:
  - {on: r1, run: ip link add link eth0 name eth0.10 type vlan id 10}
  - {on: r1, run: ip link add link eth0 name lan10 type vlan id 11}
  - {on: r1, run: ip link add link eth9 name eth9.5 type vlan id 5}
  - {on: r1, run: ip link add link eth0 name v4095 type vlan id 4095}
  - {on: r1, run: ip link add link eth0 name v7 type vlan}
  - {on: r1, run: ip link add name v8 type vlan id 8}
  - {on: r1, run: ip link add link eth0 name eth0.20 type vlan id 20}
  - {on: r1, show: ip link show eth0.20}
  - {on: r1, run: ip addr add 10.0.20.1/24 dev eth0.20}
  - {on: r1, show: ip route}
  - {on: r1, run: ip link set eth0.20 up}
  - {on: r1, show: ip route}
  - {on: r1, run: ip link set eth0 down}
  - {on: r1, run: ip link del eth0}
  - {on: r1, run: ip addr add 10.0.20.1/24 dev eth0.20}
  - {on: r1, show: ip addr show dev lan10}
"#;
    let (code, report) = lab_report(lab);
    assert_eq!(code, Some(0), "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    let got: Vec<(i64, String)> = steps
        .iter()
        .map(|s| {
            let r = &s["result"];
            match r.is_null() {
                true => (0, s["listing"].as_str().unwrap_or_default().to_string()),
                false => (
                    r["exit_code"].as_i64().unwrap(),
                    r["output"].as_str().unwrap().to_string(),
                ),
            }
        })
        .collect();
    let want: &[(i64, &str)] = &[
        (2, "Error: 8021q: VLAN device already exists.\n"),
        (2, "RTNETLINK answers: File exists\n"),
        (1, "Cannot find device \"eth9\"\n"),
        (2, "Error: 8021q: Invalid VLAN id.\n"),
        (2, "Error: 8021q: VLAN properties not specified.\n"),
        (2, "Error: 8021q: link not specified.\n"),
        (0, ""),
    ];
    for (k, (code, text)) in want.iter().enumerate() {
        assert_eq!(got[k], (*code, text.to_string()), "step {}", k + 1);
    }
    // A new VLAN device is down, its qdisc noop, until it is set up; its address's route
    // comes with it.
    assert!(
        got[7].1.starts_with("4: eth0.20@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n"),
        "{}",
        got[7].1
    );
    assert!(!got[9].1.contains("10.0.20.0/24"), "{}", got[9].1);
    assert!(
        got[11]
            .1
            .contains("10.0.20.0/24 dev eth0.20 proto kernel scope link src 10.0.20.1"),
        "{}",
        got[11].1
    );
    // A real interface goes down and is deleted as a veth is; its VLAN devices go with it,
    // as the kernel unregisters them with their parent.
    assert_eq!(got[12], (0, String::new()), "ip link set eth0 down");
    assert_eq!(got[13], (0, String::new()), "ip link del eth0");
    assert_eq!(got[14], (1, "Cannot find device \"eth0.20\"\n".to_string()));
    assert_eq!(got[15].1, "Device \"lan10\" does not exist.\n");
}

#[test]
fn the_lab_format_checks_vlans() {
    let err = |lab: &str| {
        let e = hoplab::scenario::parse(lab, "lab.yaml").expect_err("refused");
        e.to_string()
    };
    let base = "version: 1\nname: x\n";
    let e = err(&format!(
        "{base}hosts:\n  - {{name: h1, interfaces: {{eth0: 10.0.0.1/24, eth0.10: 10.0.10.1/24}}}}\n"
    ));
    assert!(e.contains("eth0.10: VLAN devices are a router's"), "{e}");
    let e = err(&format!(
        "{base}routers:\n  - {{name: r1, interfaces: {{eth0: , v: {{link: eth1, vlan: 10}}}}}}\n"
    ));
    assert!(e.contains("no interface 'eth1' to put v on"), "{e}");
    let e = err(&format!(
        "{base}routers:\n  - {{name: r1, interfaces: {{eth0: , eth0.4095: 10.0.0.1/24}}}}\n"
    ));
    assert!(e.contains("VLAN id 4095 is out of range"), "{e}");
    let e = err(&format!(
        "{base}routers:\n  - {{name: r1, interfaces: {{eth0: , eth0.10: , v10: {{link: eth0, vlan: 10}}}}}}\n"
    ));
    assert!(
        e.contains("eth0.10 and v10 are both VLAN 10 on eth0"),
        "{e}"
    );
    let e = err(&format!(
        "{base}bridges:\n  - {{name: sw, vlan_filtering: true, vlans: {{p9: 10 pvid untagged, p1: 5000}}}}\nhosts:\n  - {{name: h1, interfaces: {{eth0: 10.0.0.1/24}}}}\nlinks:\n  - [h1:eth0, sw:p1]\n"
    ));
    assert!(e.contains("'5000' is not a VLAN id (1-4094)"), "{e}");
    assert!(e.contains("bridge 'sw' has no port 'p9'"), "{e}");
    let e = err(&format!(
        "{base}bridges:\n  - {{name: sw}}\nsteps:\n  - {{on: sw, run: bridge vlan add dev p1}}\n"
    ));
    assert!(
        e.contains("Device and VLAN ID are required arguments."),
        "{e}"
    );
    // A capture point is a port: a VLAN device is captured on its parent.
    let e = err(&format!(
        "{base}routers:\n  - {{name: r1, interfaces: {{eth0: , eth0.10: 10.0.10.1/24}}}}\nexpect:\n  - {{capture: r1:eth0.10, filter: vlan, count: 0}}\n"
    ));
    assert!(e.contains("eth0.10"), "{e}");
}

//! Every loader error path, with its exact location.

use super::parse;

const BASE: &str = "version: 1
name: t
bridges:
  - name: br0
hosts:
  - name: c1
    interfaces:
      eth0: {ip: 10.0.0.1/24}
  - name: c2
    interfaces:
      eth0: 10.0.0.2/24
links:
  - [c1:eth0, br0:p1]
  - [c2:eth0, br0:p2]
";

fn err(text: &str) -> String {
    parse(text, "lab.yaml").unwrap_err().to_string()
}

#[test]
fn base_lab_loads_with_ports_created_by_links() {
    let lab = parse(BASE, "lab.yaml").unwrap();
    assert_eq!(lab.bridges[0].ports.len(), 2);
    assert_eq!(
        lab.hosts[1].ifaces[0].cidr.unwrap().to_string(),
        "10.0.0.2/24"
    );
    assert!(lab.warnings.is_empty());
}

#[test]
fn yaml_syntax_error_is_located() {
    let e = err("version: 1\nname: t\nhosts: [\n");
    assert!(e.starts_with("lab.yaml:3:8: field 'hosts': "), "{e}");
}

#[test]
fn unknown_field_suggests_the_near_name() {
    let text = BASE.replace("  - name: c1\n", "  - name: c1\n    gatewya: 10.0.0.254\n");
    let e = err(&text);
    assert!(
        e.starts_with("lab.yaml:7:5: field 'gatewya': unknown field"),
        "{e}"
    );
    assert!(e.contains("(did you mean 'gateway'?)"), "{e}");
}

#[test]
fn wrong_type_names_the_field() {
    let text = BASE.replace("version: 1", "version: one");
    let e = err(&text);
    assert!(e.starts_with("lab.yaml:1:10: field 'version': "), "{e}");
}

#[test]
fn bad_address_points_at_the_value() {
    let text = BASE.replace("{ip: 10.0.0.1/24}", "{ip: 10.0.0.300/24}");
    let e = err(&text);
    assert_eq!(
        e,
        "lab.yaml:8:18: field 'ip': '10.0.0.300/24' is not an IPv4 address with prefix"
    );
}

#[test]
fn shorthand_address_error_points_at_the_interface() {
    let text = BASE.replace("eth0: 10.0.0.2/24", "eth0: 10.0.0.2");
    let e = err(&text);
    assert_eq!(
        e,
        "lab.yaml:11:7: field 'ip': '10.0.0.2' is not an IPv4 address with prefix (add the prefix length, e.g. /24)"
    );
}

#[test]
fn duplicate_node_names_are_refused() {
    let text = BASE.replace("  - name: c2\n", "  - name: c1\n");
    let e = err(&text);
    assert!(
        e.contains("lab.yaml:9:11: field 'name': duplicate node name 'c1'"),
        "{e}"
    );
}

#[test]
fn link_to_unknown_node_or_interface() {
    let e = err(&BASE.replace("[c2:eth0, br0:p2]", "[c3:eth0, br0:p2]"));
    assert!(
        e.contains("lab.yaml:14:6: field 'a': no node named 'c3'"),
        "{e}"
    );
    let e = err(&BASE.replace("[c2:eth0, br0:p2]", "[c2:eth1, br0:p2]"));
    assert!(
        e.contains("field 'a': c2 has no interface 'eth1' (did you mean 'eth0'?)"),
        "{e}"
    );
    let e = err(&BASE.replace("[c2:eth0, br0:p2]", "[c1:eth0, br0:p2]"));
    assert!(e.contains("c1:eth0 is already linked"), "{e}");
}

#[test]
fn steps_are_checked() {
    let e = err(&format!(
        "{BASE}steps:\n  - {{on: c9, run: ping -c 1 10.0.0.2}}\n"
    ));
    assert!(
        e.contains("lab.yaml:16:10: field 'on': no node named 'c9' (did you mean 'c1'?)"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}steps:\n  - {{on: c1, run: pong 10.0.0.2}}\n"
    ));
    assert!(e.contains("field 'run': pong: command not found"), "{e}");
    let e = err(&format!(
        "{BASE}steps:\n  - {{on: br0, run: ping 10.0.0.2}}\n"
    ));
    assert!(
        e.contains("field 'run': ping 10.0.0.2: a bridge runs `bridge vlan add|del ...`"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}steps:\n  - {{at: 2 parsecs, on: c1, show: ip addr}}\n"
    ));
    assert!(e.contains("field 'at': unknown time unit"), "{e}");
}

#[test]
fn capture_expectations_are_checked() {
    let e = err(&format!(
        "{BASE}expect:\n  - {{capture: c1:eth9, filter: icmp, count: 1}}\n"
    ));
    assert!(
        e.contains("field 'capture': c1 has no interface 'eth9'"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}expect:\n  - {{capture: c1:eth0, filter: icmp}}\n"
    ));
    assert!(e.contains("field 'count': say how many frames"), "{e}");
}

#[test]
fn several_errors_are_all_reported() {
    let text = BASE
        .replace("{ip: 10.0.0.1/24}", "{ip: nonsense}")
        .replace("[c2:eth0, br0:p2]", "[c3:eth0, br0:p2]");
    let e = err(&text);
    assert_eq!(e.lines().count(), 2, "{e}");
}

#[test]
fn duplicate_ip_is_a_warning_not_an_error() {
    let text = BASE.replace("eth0: 10.0.0.2/24", "eth0: 10.0.0.1/24");
    let lab = parse(&text, "lab.yaml").unwrap();
    assert!(
        lab.warnings[0].contains("both have address 10.0.0.1"),
        "{:?}",
        lab.warnings
    );
}

#[test]
fn duplicates_on_separate_segments_are_not_warned_of() {
    // c2 leaves br0 for a bridge of its own: its 10.0.0.1 and MAC meet c1's nowhere.
    let text = BASE
        .replace(
            "eth0: 10.0.0.2/24",
            "eth0: {ip: 10.0.0.1/24, mac: \"02:00:00:00:00:01\"}",
        )
        .replace(
            "{ip: 10.0.0.1/24}",
            "{ip: 10.0.0.1/24, mac: \"02:00:00:00:00:01\"}",
        )
        .replace("  - name: br0\n", "  - name: br0\n  - name: br1\n")
        .replace("[c2:eth0, br0:p2]", "[c2:eth0, br1:p1]");
    let lab = parse(&text, "lab.yaml").unwrap();
    assert!(lab.warnings.is_empty(), "{:?}", lab.warnings);
    // Back on one bridge, both are warned of.
    let joined = text.replace("[c2:eth0, br1:p1]", "[c2:eth0, br0:p2]");
    let lab = parse(&joined, "lab.yaml").unwrap();
    assert_eq!(lab.warnings.len(), 2, "{:?}", lab.warnings);
    assert!(lab.warnings[1].contains("both have MAC 02:00:00:00:00:01"));
}

#[test]
fn link_mtu_below_an_interface_mtu_is_a_warning_naming_both_ends() {
    let text = "version: 1
name: t
hosts:
  - name: a
    interfaces:
      eth0: {ip: 10.0.0.1/24, mtu: 1400}
  - name: b
    interfaces:
      eth0: 10.0.0.2/24
links:
  - {a: a:eth0, b: b:eth0, mtu: 1400}
";
    let lab = parse(text, "lab.yaml").unwrap();
    assert_eq!(
        lab.warnings,
        [
            "link a:eth0 - b:eth0 has mtu 1400, but b:eth0 has mtu 1500: frames larger than \
          1400 bytes are dropped on the link without an ICMP error (give both interfaces mtu 1400)"
        ]
    );
    let matched = text.replace("eth0: 10.0.0.2/24", "eth0: {ip: 10.0.0.2/24, mtu: 1400}");
    assert!(parse(&matched, "lab.yaml").unwrap().warnings.is_empty());
}

#[test]
fn unsupported_version_is_refused() {
    let e = err(&BASE.replace("version: 1", "version: 2"));
    assert_eq!(
        e,
        "lab.yaml:1:10: field 'version': version 2 is not supported; this hoplab reads version 1"
    );
}

const ROUTED: &str = "version: 1
name: t
routers:
  - {name: r, interfaces: {eth0: 10.0.0.1/24}}
steps:
";

#[test]
fn a_step_that_names_nothing_is_located_at_the_step() {
    // Found by tests/properties.rs: these were reported at 0:0.
    let e = err(&format!("{ROUTED}  - {{on: r, run: dmesg}}\n  - {{}}\n"));
    assert_eq!(
        e,
        "lab.yaml:7:5: field 'run': a step does exactly one of run, show, link or exercise"
    );
    let e = err(&format!(
        "{ROUTED}  - name: only-a-name\n    background: true\n"
    ));
    assert_eq!(
        e,
        "lab.yaml:6:5: field 'run': a step does exactly one of run, show, link or exercise"
    );
}

#[test]
fn a_key_with_no_name_is_named_in_the_error() {
    // Found by tests/properties.rs: the field was reported as ''.
    for (text, at) in [("{!}", "1:3"), ("\"\": 1", "1:1"), ("? !\n: 1", "1:4")] {
        let e = err(text);
        assert!(
            e.starts_with(&format!(
                "lab.yaml:{at}: field '(empty key)': unknown field ``"
            )),
            "{text:?}: {e}"
        );
    }
}

#[test]
fn state_dependent_iptables_outcomes_load_and_bad_syntax_is_located() {
    let ok = format!(
        "{ROUTED}  - {{on: r, run: iptables -D INPUT -j DROP, expect: {{exit: 1}}}}
  - {{on: r, run: iptables -C INPUT -j DROP || iptables -A INPUT -j DROP}}
  - {{on: r, run: iptables -A INPUT -j NOSUCH}}
"
    );
    let lab = parse(&ok, "lab.yaml").unwrap();
    match &lab.steps[1].action {
        super::model::Action::Run { argv, then, .. } => {
            assert_eq!(argv[1], "-C");
            assert_eq!(then.len(), 1);
            assert_eq!(then[0].0, super::cmdlist::Joiner::Or);
        }
        other => panic!("{other:?}"),
    }
    let e = err(&format!(
        "{ROUTED}  - {{on: r, run: iptables -C INPUT -j DROP || iptables -A INPUT -x}}\n"
    ));
    assert!(
        e.starts_with("lab.yaml:6:18: field 'run': iptables v1.8.10"),
        "{e}"
    );
}

#[test]
fn step_names_after_and_windows_are_checked_where_written() {
    let e = err(&format!(
        "{ROUTED}  - {{name: a, on: r, run: dmesg}}
  - {{name: a, on: r, run: dmesg}}
"
    ));
    assert!(
        e.starts_with("lab.yaml:7:12: field 'name': duplicate step name 'a'"),
        "{e}"
    );
    let e = err(&format!(
        "{ROUTED}  - {{name: probe, on: r, after: 1x, run: dmesg}}\n"
    ));
    assert!(e.starts_with("lab.yaml:6:33: field 'after': "), "{e}");
    let e = err(&format!(
        "{ROUTED}  - {{name: probe, on: r, run: dmesg}}
expect:
  - {{capture: r:eth0, filter: arp, during: prob, count: 0}}
"
    ));
    assert!(
        e.starts_with(
            "lab.yaml:8:44: field 'during': no step named 'prob' (did you mean 'probe'?)"
        ),
        "{e}"
    );
    let lab = parse(
        &format!(
            "{ROUTED}  - {{name: probe, on: r, run: dmesg}}
expect:
  - {{capture: r:eth0, filter: arp, during: probe, count: 0}}
  - {{capture: r:eth0, filter: arp, from: 1s, count: 0}}
"
        ),
        "lab.yaml",
    )
    .unwrap();
    assert_eq!(lab.expects[0].window, super::model::Window::Step(0));
    assert_eq!(
        lab.expects[1].window,
        super::model::Window::Times {
            from: Some(crate::time::Duration::from_secs(1)),
            to: None
        }
    );
    assert_eq!(lab.steps[0].label(0), "probe");
}

#[test]
fn an_unmodelled_extension_is_told_apart_from_a_typo_where_written() {
    let e = err("version: 1
name: t
routers:
  - name: r
    interfaces: {eth0: 10.0.0.1/24}
    iptables:
      - iptables -A INPUT -m ipvs --ipvs
");
    assert_eq!(
        e,
        "lab.yaml:7:9: field 'iptables': hoplab: match 'ipvs' is not modelled"
    );
    let e = err(&format!(
        "{ROUTED}  - {{on: r, run: iptables -t mangle -A PREROUTING -p tcp -j SYNPROXY --sack-perm}}\n"
    ));
    assert!(
        e.starts_with("lab.yaml:6:18: field 'run': hoplab: target 'SYNPROXY' is not modelled"),
        "{e}"
    );
    let e = err(&format!(
        "{ROUTED}  - {{on: r, run: iptables -A INPUT -m recnet}}\n"
    ));
    assert!(
        e.starts_with(
            "lab.yaml:6:18: field 'run': iptables v1.8.10 (nf_tables): Couldn't load match \
             `recnet':No such file or directory"
        ),
        "{e}"
    );
}

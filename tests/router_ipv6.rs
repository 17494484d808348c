//! IPv6 on routers through small labs, without root: VLAN devices with IPv6, a reply
//! that waits for the gateway's address, and the refusals of `ip -6 route` and
//! `ip -6 addr` as step results. (The kernel's side of the same behaviour is in
//! tests/kernel_diff_v6_router.rs.)

mod common;

use hoplab::scenario::run::RunReport;

/// a (VLAN 10) and b (VLAN 20) on a VLAN-aware switch; r routes between its VLAN devices
/// on the trunk. The gateways are the router's global addresses.
const LAB: &str = r#"version: 1
name: router-ipv6
bridges:
  - name: sw
    ports: [p1, p2, trunk]
    vlan_filtering: true
    vlans: {p1: '10 pvid untagged', p2: '20 pvid untagged', trunk: '10, 20'}
hosts:
  - name: a
    interfaces: {eth0: {ipv6: "2001:db8:10::2/64", mac: "02:00:00:00:10:02"}}
    gateway6: "2001:db8:10::1"
  - name: b
    interfaces: {eth0: {ipv6: "2001:db8:20::2/64", mac: "02:00:00:00:20:02"}}
    gateway6: "2001:db8:20::1"
routers:
  - name: r
    interfaces:
      eth0: {mac: "02:00:00:00:00:01"}
      eth0.10: {ipv6: "2001:db8:10::1/64"}
      eth0.20: {ipv6: "2001:db8:20::1/64"}
links:
  - [a:eth0, sw:p1]
  - [b:eth0, sw:p2]
  - [r:eth0, sw:trunk]
steps:
"#;

/// [`LAB`] with these steps, run.
fn run(steps: &str) -> RunReport {
    run_yaml(&format!("{LAB}{steps}"))
}

fn run_yaml(y: &str) -> RunReport {
    common::run_lab_text(y, "router-ipv6.yaml")
}

/// Step `name`'s exit code (0 for a listing) and text.
fn out(r: &RunReport, name: &str) -> (i32, String) {
    common::step_out(r, name)
}

#[test]
fn vlan_devices_route_ipv6_and_the_first_reply_is_not_lost() {
    let r = run("  - {name: addr, on: r, show: ip -6 addr}
  - {name: route, on: r, show: ip -6 route}
  - {name: ping, on: a, run: ping -6 -c 2 2001:db8:20::2}
  - {name: neigh, on: b, show: ip -6 neigh}
");
    let addr = out(&r, "addr").1;
    assert!(
        addr.contains(
            "3: eth0.10@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP qlen 1000\n    inet6 2001:db8:10::1/64 scope global \n"
        ),
        "{addr}"
    );
    assert!(
        addr.contains("    inet6 fe80::ff:fe00:1/64 scope link \n"),
        "{addr}"
    );
    assert_eq!(
        out(&r, "route").1,
        "2001:db8:10::/64 dev eth0.10 proto kernel metric 256 pref medium\n\
         2001:db8:20::/64 dev eth0.20 proto kernel metric 256 pref medium\n\
         fe80::/64 dev eth0.10 proto kernel metric 256 pref medium\n\
         fe80::/64 dev eth0.20 proto kernel metric 256 pref medium\n"
    );
    // b learned the router's link-local address from its solicitation (the request it
    // forwarded was a's): b's answer waits while b solicits its gateway, then goes.
    let (code, ping) = out(&r, "ping");
    assert_eq!(code, 0, "{ping}");
    assert!(ping.contains("2 packets transmitted, 2 received"), "{ping}");
    assert!(ping.contains("icmp_seq=1 ttl=63"), "{ping}");
    let neigh = out(&r, "neigh").1;
    assert!(
        neigh.contains("2001:db8:20::1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE"),
        "{neigh}"
    );
}

#[test]
fn route_and_address_refusals_are_the_steps_own() {
    let r = run(
        "  - {name: unreachable-gw, on: r, run: ip -6 route add 2001:db8:5::/64 via 2001:db8:6::1}
  - {name: no-dev, on: r, run: ip -6 route add 2001:db8:8::/64 via fe80::1}
  - {name: missing, on: r, run: ip -6 route del 2001:db8:7::/64}
  - {name: ok, on: r, run: ip -6 route add default via 2001:db8:10::99 metric 10}
  - {name: dup, on: r, run: ip -6 route add default via 2001:db8:10::98 metric 10}
  - {name: twice, on: r, run: ip -6 addr add 2001:db8:10::1/64 dev eth0.10}
  - {name: gone, on: r, run: ip -6 addr del 2001:db8:99::1/64 dev eth0.10}
  - {name: nodev, on: r, run: ip -6 addr add 2001:db8:99::1/64 dev eth7}
  - {name: route, on: r, show: ip -6 route}
",
    );
    for (name, code, text) in [
        ("unreachable-gw", 2, "RTNETLINK answers: No route to host\n"),
        ("no-dev", 2, "Error: Egress device not specified.\n"),
        ("missing", 2, "RTNETLINK answers: No such process\n"),
        ("ok", 0, ""),
        ("dup", 2, "RTNETLINK answers: File exists\n"),
        ("twice", 2, "Error: ipv6: address already assigned.\n"),
        ("gone", 2, "Error: ipv6: address not found.\n"),
        ("nodev", 1, "Cannot find device \"eth7\"\n"),
    ] {
        assert_eq!(out(&r, name), (code, text.to_string()), "{name}");
    }
    assert!(
        out(&r, "route")
            .1
            .ends_with("default via 2001:db8:10::99 dev eth0.10 metric 10 pref medium\n")
    );
}

#[test]
fn static_ipv6_neighbours() {
    let r = run("  - {name: add, on: r, run: ip -6 neigh add 2001:db8:20::5 lladdr 02:00:00:00:00:05 dev eth0.20}
  - {name: again, on: r, run: ip -6 neigh add 2001:db8:20::5 lladdr 02:00:00:00:00:05 dev eth0.20}
  - {name: v4, on: r, run: ip -6 neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev eth0.20}
  - {name: nomac, on: r, run: ip -6 neigh add 2001:db8:20::8 dev eth0.20}
  - {name: reach, on: r, run: ip neigh add 2001:db8:20::6 lladdr 02:00:00:00:00:06 dev eth0.20 nud reachable}
  - {name: del, on: r, run: ip -6 neigh del 2001:db8:20::7 dev eth0.20}
  - {name: list, on: r, show: ip -6 neigh show dev eth0.20}
  - {name: flush, on: r, run: ip -6 neigh flush dev eth0.20}
  - {name: after, on: r, show: ip -6 neigh}
");
    for (name, code, text) in [
        ("add", 0, ""),
        ("again", 2, "RTNETLINK answers: File exists\n"),
        (
            "v4",
            1,
            "Error: inet6 address is expected rather than \"10.0.0.1\".\n",
        ),
        ("nomac", 2, "Error: No link layer address given.\n"),
        ("reach", 0, ""),
        ("del", 2, "RTNETLINK answers: No such file or directory\n"),
    ] {
        assert_eq!(out(&r, name), (code, text.to_string()), "{name}");
    }
    assert_eq!(
        out(&r, "list").1,
        "2001:db8:20::5 lladdr 02:00:00:00:00:05 PERMANENT \n\
         2001:db8:20::6 lladdr 02:00:00:00:00:06 REACHABLE \n"
    );
    // A flush keeps what was set by hand as permanent, as the kernel's does.
    assert_eq!(
        out(&r, "after").1,
        "2001:db8:20::5 dev eth0.20 lladdr 02:00:00:00:00:05 PERMANENT \n"
    );
}

#[test]
fn a_bad_ipv6_route_in_a_step_is_a_lab_error() {
    let y = format!("{LAB}  - {{on: r, run: ip -6 route add 2001:zz::/64 dev eth0.10}}\n");
    let e = hoplab::scenario::parse(&y, "router-ipv6.yaml").unwrap_err();
    assert!(
        e.to_string()
            .contains("Error: inet6 prefix is expected rather than \"2001:zz::/64\"."),
        "{e}"
    );
}

#[test]
fn a_namespace_made_by_hand_takes_ipv6_and_its_link_local_address_comes_up_with_the_link() {
    // As the kernel lists it: a static address on a link that is down, the link-local
    // address only once the link is up.
    let y = "version: 1
name: netns-v6
routers:
  - name: host
    interfaces: {}
steps:
  - {on: host, run: ip netns add ns1}
  - {on: host, run: ip netns add ns2}
  - {on: host, run: ip link add veth1 type veth peer name veth2}
  - {on: host, run: ip link set veth1 netns ns1}
  - {on: host, run: ip link set veth2 netns ns2}
  - {on: host, run: ip netns exec ns1 ip -6 addr add 2001:db8::1/64 dev veth1}
  - {on: host, run: ip netns exec ns2 ip -6 addr add 2001:db8::2/64 dev veth2}
  - {name: down, on: ns1, show: ip -6 addr}
  - {on: host, run: ip netns exec ns1 ip link set veth1 up}
  - {on: host, run: ip netns exec ns2 ip link set veth2 up}
  - {name: up, on: ns1, show: ip -6 addr}
  - {name: ping, on: host, run: ip netns exec ns1 ping -6 -c 1 2001:db8::2}
";
    let r = run_yaml(y);
    let down = out(&r, "down").1;
    assert!(down.contains("inet6 2001:db8::1/64 scope global"), "{down}");
    assert!(!down.contains("scope link"), "{down}");
    let up = out(&r, "up").1;
    assert!(up.contains("scope link"), "{up}");
    let (code, ping) = out(&r, "ping");
    assert_eq!(code, 0, "{ping}");
}

#[test]
fn setting_a_link_down_takes_its_ipv6_addresses() {
    // As the kernel does with keep_addr_on_down 0: down and up again, eth0.10 has its
    // link-local address alone (checked in a namespace: `ip -6 addr add` on a veth,
    // `ip link set veth1 down`, `up`).
    let r = run("  - {on: r, run: ip link set eth0.10 down}
  - {name: down, on: r, show: ip -6 route}
  - {on: r, run: ip link set eth0.10 up}
  - {name: up, on: r, show: ip -6 addr}
");
    assert!(!out(&r, "down").1.contains("eth0.10"));
    let up = out(&r, "up").1;
    assert!(
        up.contains("eth0.10@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP qlen 1000\n    inet6 fe80::ff:fe00:1/64 scope link \n"),
        "{up}"
    );
    assert!(!up.contains("2001:db8:10::1"), "{up}");
}

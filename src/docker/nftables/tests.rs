use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::*;
use crate::docker::model::{Endpoint, FirewallBackend, GatewayMode, PortMap, Proto};
use crate::docker::rules::iptables_commands;

fn daemon() -> Daemon {
    Daemon {
        firewall_backend: FirewallBackend::Nftables,
        ..Daemon::default()
    }
}

fn web_net() -> Network {
    let subnet = Ipv4Cidr::new(Ipv4Address::new(192, 0, 2, 0), 24);
    Network {
        bridge: "bridge1".into(),
        ..Network::user("web", "b".repeat(64), subnet)
    }
}

fn ctr(name: &str, last: u8, publish: &[(u16, u16)]) -> Container {
    Container {
        name: name.into(),
        id: name.repeat(64)[..64].to_string(),
        endpoints: vec![Endpoint {
            network: 1,
            ip: Ipv4Address::new(192, 0, 2, last),
            ip6: None,
            mac: EthernetAddress([2, 0, 0, 0, 0, last]),
        }],
        publish: publish
            .iter()
            .map(|&(host_port, ctr_port)| PortMap {
                host_ip: None,
                host_port,
                ctr_port,
                proto: Proto::Tcp,
            })
            .collect(),
    }
}

fn host() -> Vec<Network> {
    vec![Network::default_bridge("a".repeat(64)), web_net()]
}

fn rules<'a>(tables: &'a [Table], chain: &str) -> &'a [String] {
    &tables[0].chain(chain).expect("chain").rules
}

#[test]
fn port_rules_sit_between_icc_and_the_final_drop_in_start_order() {
    let t = docker_tables(
        &daemon(),
        &host(),
        &[ctr("a", 2, &[(8080, 80)]), ctr("b", 3, &[(8443, 443)])],
    );
    assert_eq!(
        rules(&t, "filter-forward-in__bridge1"),
        [
            "ct state established,related counter accept",
            "iifname \"bridge1\" counter accept comment \"ICC\"",
            "ip daddr 192.0.2.2 tcp dport 80 counter accept",
            "ip daddr 192.0.2.3 tcp dport 443 counter accept",
            "counter drop comment \"UNPUBLISHED PORT DROP\"",
        ]
    );
    // Endpoints' drops come before the ports of the next container, in start order.
    assert_eq!(
        rules(&t, "raw-PREROUTING"),
        [
            "ip daddr 192.0.2.2 iifname != \"bridge1\" counter drop comment \"DROP DIRECT ACCESS\"",
            "ip daddr 192.0.2.3 iifname != \"bridge1\" counter drop comment \"DROP DIRECT ACCESS\"",
        ]
    );
}

#[test]
fn two_host_ports_for_one_container_port_accept_once() {
    let d = Daemon {
        userland_proxy: false,
        ..daemon()
    };
    let t = docker_tables(&d, &host(), &[ctr("a", 2, &[(8080, 80), (8081, 80)])]);
    let accepts = rules(&t, "filter-forward-in__bridge1")
        .iter()
        .filter(|r| r.contains("dport 80 counter accept"))
        .count();
    assert_eq!(accepts, 1);
    let own = rules(&t, "nat-postrouting-in__bridge1")
        .iter()
        .filter(|r| r.contains("MASQ TO OWN PORT"))
        .count();
    assert_eq!(own, 1);
    assert_eq!(
        rules(&t, "nat-prerouting-and-output").len(),
        2,
        "a DNAT per host port"
    );
}

#[test]
fn host_ipv4_snats_instead_of_masquerading() {
    let d = Daemon {
        userland_proxy: false,
        ..daemon()
    };
    let mut nets = host();
    nets[1].host_ipv4 = Some(Ipv4Address::new(203, 0, 113, 5));
    let t = docker_tables(&d, &nets, &[]);
    assert_eq!(
        rules(&t, "nat-postrouting-out__bridge1"),
        [
            "oifname != \"bridge1\" ip saddr 192.0.2.0/24 counter snat to 203.0.113.5 comment \"SNAT\""
        ]
    );
    assert_eq!(
        rules(&t, "nat-postrouting-in__bridge1"),
        ["fib saddr type local counter snat to 203.0.113.5 comment \"SNAT FROM HOST\""]
    );
}

#[test]
fn routed_networks_map_no_host_port() {
    let mut nets = host();
    nets[1].gateway_mode_ipv4 = GatewayMode::Routed;
    let t = docker_tables(&daemon(), &nets, &[ctr("a", 2, &[(8080, 80)])]);
    assert!(rules(&t, "nat-prerouting-and-output").is_empty());
    assert!(rules(&t, "nat-postrouting-out__bridge1").is_empty());
    assert!(rules(&t, "raw-PREROUTING").is_empty());
}

#[test]
fn the_ip6_table_has_the_base_chains_and_no_network() {
    let t = docker_tables(&daemon(), &host(), &[ctr("a", 2, &[(8080, 80)])]);
    assert_eq!(t[1].family, Family::Ip6);
    assert!(t[1].maps.iter().all(|m| m.elements.is_empty()));
    assert_eq!(t[1].chains.len(), 6);
    assert_eq!(
        rules(&t[1..], "nat-OUTPUT"),
        ["ip6 daddr != ::1 fib daddr type local counter jump nat-prerouting-and-output"]
    );
}

#[test]
fn the_script_declares_maps_before_rules_use_them_and_adds_elements_last() {
    let s = nft_ruleset(&daemon(), &host(), &[]);
    let map = s.find("map filter-forward-in-jumps").unwrap();
    let uses = s.find("oifname vmap @filter-forward-in-jumps").unwrap();
    let chain = s.find("chain filter-forward-in__bridge1").unwrap();
    let element = s
        .find("add element ip docker-bridges filter-forward-in-jumps { \"docker0\" : jump filter-forward-in__docker0, \"bridge1\" : jump filter-forward-in__bridge1 }")
        .unwrap();
    assert!(map < uses && uses < chain && chain < element, "{s}");
    assert!(s.contains("type nat hook output priority -100; policy accept;"));
}

#[test]
fn iptables_false_installs_no_table_and_nftables_no_iptables_rule() {
    let off = Daemon {
        iptables: false,
        ..daemon()
    };
    assert_eq!(nft_ruleset(&off, &host(), &[]), "");
    let c = [ctr("a", 2, &[(8080, 80)])];
    assert!(iptables_commands(&daemon(), &host(), &c).is_empty());
    assert!(!iptables_commands(&Daemon::default(), &host(), &c).is_empty());
}

#[test]
fn an_update_between_equal_states_is_empty() {
    let t = docker_tables(&daemon(), &host(), &[ctr("a", 2, &[(8080, 80)])]);
    assert_eq!(nft_update(&t, &t), "");
}

#[test]
fn a_stopped_container_flushes_and_refills_the_chains_it_touched() {
    let nets = host();
    let up = docker_tables(&daemon(), &nets, &[ctr("a", 2, &[(8080, 80)])]);
    let down = docker_tables(&daemon(), &nets, &[]);
    let u = nft_update(&up, &down);
    let flushed: Vec<&str> = u
        .lines()
        .filter_map(|l| l.strip_prefix("flush chain ip docker-bridges "))
        .collect();
    assert_eq!(
        flushed,
        [
            "nat-prerouting-and-output",
            "raw-PREROUTING",
            "filter-forward-in__bridge1"
        ]
    );
    assert!(!u.contains("element") && !u.contains("delete"), "{u}");
    // The refilled port chain keeps its other rules.
    assert!(
        u.contains("counter drop comment \"UNPUBLISHED PORT DROP\""),
        "{u}"
    );
}

#[test]
fn a_removed_network_loses_its_elements_before_its_chains() {
    let nets = host();
    let before = docker_tables(&daemon(), &nets, &[]);
    let after = docker_tables(&daemon(), &nets[..1], &[]);
    let u = nft_update(&before, &after);
    let element = u
        .find("delete element ip docker-bridges filter-forward-in-jumps { \"bridge1\" }")
        .unwrap();
    let chain = u
        .find("delete chain ip docker-bridges filter-forward-in__bridge1")
        .unwrap();
    assert!(element < chain, "{u}");
    assert!(!u.contains("docker0"), "{u}");
}

/// moby's `TestNftabler` setup: bridge `br-dummy` with 192.168.0.0/24 and
/// fd49:efd7:54aa::/64, one container (.2 and ::1) publishing 8080 to 80/tcp.
fn dual_stack(userland_proxy: bool, icc: bool) -> Vec<Table> {
    use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
    let v6 = |s: &str| s.parse::<Ipv6Address>().unwrap();
    let net = Network {
        bridge: "br-dummy".into(),
        enable_icc: icc,
        ipv6: Some(crate::docker::model::Subnet6 {
            subnet: Ipv6Cidr::new(v6("fd49:efd7:54aa::"), 64),
            gateway: v6("fd49:efd7:54aa::ffff"),
        }),
        ..Network::user(
            "dummy",
            "d".repeat(64),
            Ipv4Cidr::new(Ipv4Address::new(192, 168, 0, 0), 24),
        )
    };
    let mut c = ctr("c", 2, &[(8080, 80)]);
    c.endpoints[0].network = 0;
    c.endpoints[0].ip = Ipv4Address::new(192, 168, 0, 2);
    c.endpoints[0].ip6 = Some(v6("fd49:efd7:54aa::1"));
    let d = Daemon {
        userland_proxy,
        ..daemon()
    };
    docker_tables(&d, &[net], &[c])
}

#[test]
fn an_ipv6_network_fills_the_ip6_table_as_the_ip_one() {
    let t = dual_stack(true, false);
    assert_eq!(t[1].family, Family::Ip6);
    let six = |chain: &str| t[1].chain(chain).expect("chain").rules.clone();
    assert_eq!(
        six("nat-OUTPUT"),
        ["ip6 daddr != ::1 fib daddr type local counter jump nat-prerouting-and-output"]
    );
    assert_eq!(
        six("nat-prerouting-and-output"),
        [
            "iifname != \"br-dummy\" ip6 saddr != fe80::/10 tcp dport 8080 counter dnat to \
             [fd49:efd7:54aa::1]:80 comment \"DNAT\""
        ]
    );
    assert_eq!(
        six("raw-PREROUTING"),
        [
            "ip6 daddr fd49:efd7:54aa::1 iifname != \"br-dummy\" counter drop comment \
             \"DROP DIRECT ACCESS\""
        ]
    );
    assert_eq!(
        six("filter-forward-in__br-dummy"),
        [
            "ct state established,related counter accept",
            "iifname \"br-dummy\" counter drop comment \"ICC\"",
            "ip6 daddr fd49:efd7:54aa::1 tcp dport 80 counter accept",
            "counter drop comment \"UNPUBLISHED PORT DROP\"",
        ]
    );
    assert_eq!(
        six("nat-postrouting-out__br-dummy"),
        [
            "oifname != \"br-dummy\" ip6 saddr fd49:efd7:54aa::/64 counter masquerade comment \
             \"MASQUERADE\""
        ]
    );
    for m in &t[1].maps {
        assert_eq!(m.elements.len(), 1, "{}", m.name);
    }
    // Without the proxy: DNAT from the bridge too, and the host's and hairpin masquerade.
    let t = dual_stack(false, true);
    let six = |chain: &str| t[1].chain(chain).expect("chain").rules.clone();
    assert_eq!(
        six("nat-prerouting-and-output"),
        [
            "ip6 saddr != fe80::/10 tcp dport 8080 counter dnat to [fd49:efd7:54aa::1]:80 \
             comment \"DNAT\""
        ]
    );
    assert_eq!(
        six("nat-postrouting-in__br-dummy"),
        [
            "fib saddr type local counter masquerade comment \"MASQUERADE FROM HOST\"",
            "ip6 saddr fd49:efd7:54aa::1 ip6 daddr fd49:efd7:54aa::1 tcp dport 80 counter \
             masquerade comment \"MASQ TO OWN PORT\"",
        ]
    );
}

#[test]
fn an_ipv4_only_network_leaves_the_ip6_table_bare() {
    let t = docker_tables(&daemon(), &host(), &[ctr("a", 2, &[(8080, 80)])]);
    assert!(t[1].maps.iter().all(|m| m.elements.is_empty()));
    assert!(t[1].chain("filter-forward-in__bridge1").is_none());
    assert!(
        t[1].chain("nat-prerouting-and-output")
            .unwrap()
            .rules
            .is_empty()
    );
}

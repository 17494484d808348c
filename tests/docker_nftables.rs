//! `hoplab::docker::nftables`: the tables Docker 29 installs with
//! `--firewall-backend=nftables`, checked against Docker's own listings and the kernel.
//!
//! Fixtures (`tests/fixtures/docker/nftables-v29/`, verbatim copies, never edited; see the
//! NOTICE there): moby's CI-generated nftablesdoc pages
//! (`integration/network/bridge/nftablesdoc/generated/`). Each shows, for one setup, the
//! whole `nft -s list table ip docker-bridges` indented by four spaces, then some of its
//! chains again. The setups are those of the iptablesdoc pages (`tests/docker_rules.rs`).
//!
//! Per page: `nft_<page>` renders our tables as `nft -s list` prints them and compares with
//! the page (no privilege needed); `kd_nft_docker_<page>` loads [`nft_ruleset`] with the real
//! `nft -f -` in a fresh namespace and compares the kernel's listing with the page, byte for
//! byte, and the `ip6` table with ours. The `kd_nft_docker_update_*` cases replay Docker's
//! incremental updates ([`nft_update`]) in the kernel.

mod kernel;

use kernel::netns::Netns;

use std::fmt::Write as _;

use hoplab::docker::nftables::{Family, Table, docker_tables, nft_update};
use hoplab::docker::{
    Container, Daemon, Endpoint, FirewallBackend, GatewayMode, Network, PortMap, Proto,
    iptables_commands, nft_ruleset,
};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

// ---------------------------------------------------------------------------------------
// Fixture pages
// ---------------------------------------------------------------------------------------

fn page_text(page: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/docker/nftables-v29/{page}.md",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The page's first listing of `table FAMILY docker-bridges`, unindented, as `nft` prints it
/// (ending with a newline), if the page shows one.
fn page_table(text: &str, family: &str) -> Option<String> {
    let head = format!("    table {family} docker-bridges {{");
    let mut lines = text.lines().skip_while(|l| *l != head);
    let mut out = String::new();
    for l in lines.by_ref() {
        out.push_str(l.strip_prefix("    ").unwrap_or(l));
        out.push('\n');
        if l == "    }" {
            return Some(out);
        }
    }
    None
}

#[test]
fn every_page_shows_the_ip_table_and_no_swarm_page_is_copied() {
    let dir = format!(
        "{}/tests/fixtures/docker/nftables-v29",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = PAGES.iter().map(|p| format!("{p}.md")).collect();
    want.sort();
    assert_eq!(pages, want);
    for p in PAGES {
        let t = page_table(&page_text(p), "ip").unwrap_or_else(|| panic!("{p}: no ip table"));
        assert!(t.ends_with("}\n") && t.lines().count() > 40, "{p}: {t}");
    }
}

// ---------------------------------------------------------------------------------------
// `nft -s list table` as nft 1.0.6 prints it
// ---------------------------------------------------------------------------------------

/// The standard priority name nft prints, where it prints one (1.0.6 prints the nat output
/// hook's -100 as a number).
fn priority_name(kind: &str, hook: &str, prio: i32) -> String {
    match (kind, hook, prio) {
        ("filter", _, 0) => "filter".into(),
        ("filter", _, -300) => "raw".into(),
        ("nat", "prerouting", -100) => "dstnat".into(),
        ("nat", "postrouting", 100) => "srcnat".into(),
        _ => prio.to_string(),
    }
}

/// nft lists an ifname map's elements by key as a little-endian number over the 16 bytes
/// (last byte most significant), not in the order they were added.
fn element_order(key: &str) -> Vec<u8> {
    let mut b = key.as_bytes().to_vec();
    b.resize(16, 0);
    b.reverse();
    b
}

fn list_table(t: &Table) -> String {
    let mut out = format!("table {} docker-bridges {{\n", t.family.as_str());
    let mut blocks = Vec::new();
    for m in &t.maps {
        let mut b = format!("\tmap {} {{\n\t\ttype ifname : verdict\n", m.name);
        let mut els = m.elements.clone();
        els.sort_by_key(|(k, _)| element_order(k));
        let els: Vec<String> = els.iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
        if !els.is_empty() {
            let _ = writeln!(b, "\t\telements = {{ {} }}", els.join(",\n\t\t\t     "));
        }
        b.push_str("\t}\n");
        blocks.push(b);
    }
    for c in &t.chains {
        let mut b = format!("\tchain {} {{\n", c.name);
        if let Some(h) = &c.base {
            let prio = priority_name(h.kind, h.hook, h.priority);
            let (kind, hook, policy) = (h.kind, h.hook, h.policy);
            let _ = writeln!(
                b,
                "\t\ttype {kind} hook {hook} priority {prio}; policy {policy};"
            );
        }
        for r in &c.rules {
            let _ = writeln!(b, "\t\t{r}");
        }
        b.push_str("\t}\n");
        blocks.push(b);
    }
    out.push_str(&blocks.join("\n"));
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------------------
// The pages' setups
// ---------------------------------------------------------------------------------------

const PAGES: [&str; 8] = [
    "new-daemon",
    "usernet-internal",
    "usernet-portmap",
    "usernet-portmap-lo",
    "usernet-portmap-natunprot",
    "usernet-portmap-noicc",
    "usernet-portmap-noproxy",
    "usernet-portmap-routed",
];

const DOCKER0_ID: &str = "6a1e3d0c9b5f4e2d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d";
const BRIDGE1_ID: &str = "b1d9e0f2a3c4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
const BRIDGE2_ID: &str = "c2e0f1a3b4d5c6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

fn ip(s: &str) -> Ipv4Address {
    s.parse().unwrap()
}

fn nft_daemon() -> Daemon {
    Daemon {
        firewall_backend: FirewallBackend::Nftables,
        ..Daemon::default()
    }
}

fn named_bridge(bridge: &str, id: &str, subnet: &str) -> Network {
    let (a, len) = subnet.split_once('/').unwrap();
    Network {
        bridge: bridge.to_string(),
        ..Network::user("bridge1", id, Ipv4Cidr::new(ip(a), len.parse().unwrap()))
    }
}

fn container(name: &str, network: usize, addr: &str, publish: &[PortMap]) -> Container {
    Container {
        name: name.to_string(),
        id: format!("{name:0>64}"),
        endpoints: vec![Endpoint {
            network,
            ip: ip(addr),
            ip6: None,
            mac: EthernetAddress([0x02, 0x42, 0xc0, 0x00, 0x02, 0x02]),
        }],
        publish: publish.to_vec(),
    }
}

fn tcp(host_ip: Option<&str>, host_port: u16, ctr_port: u16) -> PortMap {
    PortMap {
        host_ip: host_ip.map(|s| ip(s).into()),
        host_port,
        ctr_port,
        proto: Proto::Tcp,
    }
}

/// A host: the daemon, its networks (docker0 first), its containers.
type Host = (Daemon, Vec<Network>, Vec<Container>);

/// The setup of a page, as `nftablesdoc_linux_test.go` builds it.
fn setup(page: &str) -> Host {
    let docker0 = Network::default_bridge(DOCKER0_ID);
    let mut daemon = nft_daemon();
    let mut bridge1 = named_bridge("bridge1", BRIDGE1_ID, "192.0.2.0/24");
    let mut map = tcp(None, 8080, 80);
    match page {
        "new-daemon" => return (daemon, vec![docker0], Vec::new()),
        // The page's header gives bridgeNoICC `enable_icc=true`, a copy slip: the generator
        // sets noICC for it, and its rules drop ICC.
        "usernet-internal" => {
            let mut icc = named_bridge("bridgeICC", BRIDGE1_ID, "192.0.2.0/24");
            icc.internal = true;
            let mut no_icc = named_bridge("bridgeNoICC", BRIDGE2_ID, "198.51.100.0/24");
            no_icc.internal = true;
            no_icc.enable_icc = false;
            let c1 = container("c1", 1, "192.0.2.2", &[]);
            let c2 = container("c2", 2, "198.51.100.2", &[]);
            return (daemon, vec![docker0, icc, no_icc], vec![c1, c2]);
        }
        "usernet-portmap" => {}
        "usernet-portmap-lo" => map = tcp(Some("127.0.0.1"), 8080, 80),
        "usernet-portmap-natunprot" => bridge1.gateway_mode_ipv4 = GatewayMode::NatUnprotected,
        "usernet-portmap-noicc" => bridge1.enable_icc = false,
        "usernet-portmap-noproxy" => {
            daemon.userland_proxy = false;
            daemon.proxy_process = false;
        }
        "usernet-portmap-routed" => bridge1.gateway_mode_ipv4 = GatewayMode::Routed,
        other => panic!("no setup for page {other}"),
    }
    let c1 = container("c1", 1, "192.0.2.2", &[map]);
    (daemon, vec![docker0, bridge1], vec![c1])
}

fn tables(h: &Host) -> Vec<Table> {
    docker_tables(&h.0, &h.1, &h.2)
}

fn family(ts: &[Table], f: Family) -> &Table {
    ts.iter()
        .find(|t| t.family == f)
        .expect("table of the family")
}

// ---------------------------------------------------------------------------------------
// Our tables, as nft would list them, against the pages
// ---------------------------------------------------------------------------------------

/// Our tables listed as nft lists them equal the page; and the script itself spells every
/// regular chain of the page exactly as the page shows it (base chains differ only in
/// giving priorities as numbers).
fn check_listing(page: &str) {
    let want = page_table(&page_text(page), "ip").unwrap();
    let h = setup(page);
    let got = list_table(family(&tables(&h), Family::Ip));
    assert_eq!(
        got, want,
        "{page}: ours (left) differs from the page (right)"
    );
    let script = nft_ruleset(&h.0, &h.1, &h.2);
    let mut regular = 0;
    let mut block: Option<String> = None;
    for line in want.lines() {
        if line.starts_with("\tchain ") {
            block = Some(String::new());
        }
        if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
        if line == "\t}"
            && let Some(b) = block.take()
            && !b.contains(" hook ")
        {
            regular += 1;
            assert!(
                script.contains(&b),
                "{page}: the script lacks\n{b}\n{script}"
            );
        }
    }
    assert!(regular >= 5, "{page}: {regular} regular chains found");
}

#[test]
fn nft_new_daemon() {
    check_listing("new-daemon");
}

#[test]
fn nft_usernet_internal() {
    check_listing("usernet-internal");
}

#[test]
fn nft_usernet_portmap() {
    check_listing("usernet-portmap");
}

#[test]
fn nft_usernet_portmap_lo() {
    check_listing("usernet-portmap-lo");
}

#[test]
fn nft_usernet_portmap_natunprot() {
    check_listing("usernet-portmap-natunprot");
}

#[test]
fn nft_usernet_portmap_noicc() {
    check_listing("usernet-portmap-noicc");
}

#[test]
fn nft_usernet_portmap_noproxy() {
    check_listing("usernet-portmap-noproxy");
}

#[test]
fn nft_usernet_portmap_routed() {
    check_listing("usernet-portmap-routed");
}

// ---------------------------------------------------------------------------------------
// The kernel
// ---------------------------------------------------------------------------------------

/// `nft ARGS` in the namespace, `input` on stdin; (success, stdout, stderr).
fn nft(ns: &Netns, args: &[&str], input: &str) -> (bool, String, String) {
    let argv: Vec<&str> = std::iter::once("nft").chain(args.iter().copied()).collect();
    let (code, out, err) = ns.run(&argv, input);
    (code == 0, out, err)
}

fn load(ns: &Netns, script: &str) {
    let (ok, _, err) = nft(ns, &["-f", "-"], script);
    assert!(ok, "nft -f refused the script: {err}\n{script}");
}

fn list(ns: &Netns, family: &str) -> String {
    let (ok, out, err) = nft(ns, &["-s", "list", "table", family, "docker-bridges"], "");
    assert!(ok, "nft list table {family} docker-bridges: {err}");
    out
}

/// Loads the page's host with the real nft and compares the kernel's listings: `ip` with the
/// page, `ip6` with ours.
fn kernel_check(page: &str) {
    let case = format!("kd_nft_docker_{page}");
    if !kernel::privileged(&case) {
        return;
    }
    let h = setup(page);
    let ns = Netns::new(&format!("dnft-{page}"));
    load(&ns, &nft_ruleset(&h.0, &h.1, &h.2));
    let want = page_table(&page_text(page), "ip").unwrap();
    assert_eq!(
        list(&ns, "ip"),
        want,
        "{case}: the kernel (left) and the page (right)"
    );
    let ours6 = list_table(family(&tables(&h), Family::Ip6));
    let want6 = page_table(&page_text(page), "ip6").unwrap_or(ours6);
    assert_eq!(
        list(&ns, "ip6"),
        want6,
        "{case}: the kernel's ip6 table (left)"
    );
}

#[test]
fn kd_nft_docker_new_daemon() {
    kernel_check("new-daemon");
}

#[test]
fn kd_nft_docker_usernet_internal() {
    kernel_check("usernet-internal");
}

#[test]
fn kd_nft_docker_usernet_portmap() {
    kernel_check("usernet-portmap");
}

#[test]
fn kd_nft_docker_usernet_portmap_lo() {
    kernel_check("usernet-portmap-lo");
}

#[test]
fn kd_nft_docker_usernet_portmap_natunprot() {
    kernel_check("usernet-portmap-natunprot");
}

#[test]
fn kd_nft_docker_usernet_portmap_noicc() {
    kernel_check("usernet-portmap-noicc");
}

#[test]
fn kd_nft_docker_usernet_portmap_noproxy() {
    kernel_check("usernet-portmap-noproxy");
}

#[test]
fn kd_nft_docker_usernet_portmap_routed() {
    kernel_check("usernet-portmap-routed");
}

/// A host's life as the update cases replay it: the daemon starts (docker0 alone), the
/// networks are created, the containers start, then stop, then the networks go.
fn lifecycle(daemon: &Daemon, nets: &[Network], ctrs: &[Container]) -> Vec<Host> {
    vec![
        (daemon.clone(), nets[..1].to_vec(), Vec::new()),
        (daemon.clone(), nets.to_vec(), Vec::new()),
        (daemon.clone(), nets.to_vec(), ctrs.to_vec()),
        (daemon.clone(), nets.to_vec(), Vec::new()),
        (daemon.clone(), nets[..1].to_vec(), Vec::new()),
    ]
}

/// Docker's incremental updates, replayed in the kernel for each page's host: the daemon
/// starts (docker0), the page's networks are created, its containers start, then stop, then
/// the networks go. After each step both tables list as ours for that state, and with
/// everything running as the page.
#[test]
fn kd_nft_docker_update_steps() {
    let case = "kd_nft_docker_update_steps";
    if !kernel::privileged(case) {
        return;
    }
    for page in PAGES {
        let (daemon, nets, ctrs) = setup(page);
        let states = lifecycle(&daemon, &nets, &ctrs);
        let ns = Netns::new(&format!("dnft-upd-{page}"));
        load(&ns, &nft_ruleset(&states[0].0, &states[0].1, &states[0].2));
        for (step, pair) in states.windows(2).enumerate() {
            let (before, after) = (tables(&pair[0]), tables(&pair[1]));
            let script = nft_update(&before, &after);
            load(&ns, &script);
            for t in &after {
                let fam = t.family.as_str();
                let got = list(&ns, fam);
                assert_eq!(got, list_table(t), "{page} step {step} {fam}:\n{script}");
            }
            if step == 1 {
                let want = page_table(&page_text(page), "ip").unwrap();
                assert_eq!(list(&ns, "ip"), want, "{page}: after the containers start");
            }
        }
    }
}

/// The nftables backend leaves iptables alone: no Docker command at all.
#[test]
fn nftables_mode_issues_no_iptables_command() {
    for page in PAGES {
        let (daemon, nets, ctrs) = setup(page);
        assert!(
            iptables_commands(&daemon, &nets, &ctrs).is_empty(),
            "{page}"
        );
        let iptables = Daemon {
            firewall_backend: FirewallBackend::Iptables,
            ..daemon
        };
        assert!(
            !iptables_commands(&iptables, &nets, &ctrs).is_empty(),
            "{page}"
        );
    }
}

/// A host beyond the pages: three networks (one SNATing to `host_ipv4`, one routed, one
/// without masquerade), UDP and TCP ports, a port on a specific host address, two host ports
/// for one container port, a container on two networks, no userland proxy. The kernel lists
/// what we expect for both families.
#[test]
fn kd_nft_docker_rich_host() {
    let case = "kd_nft_docker_rich_host";
    if !kernel::privileged(case) {
        return;
    }
    let daemon = Daemon {
        userland_proxy: false,
        proxy_process: false,
        ..nft_daemon()
    };
    let mut snat = named_bridge("br-snat", BRIDGE1_ID, "192.0.2.0/24");
    snat.host_ipv4 = Some(ip("203.0.113.7"));
    let mut routed = named_bridge("br-routed", BRIDGE2_ID, "198.51.100.0/24");
    routed.gateway_mode_ipv4 = GatewayMode::Routed;
    let mut plain = named_bridge("br-plain", DOCKER0_ID, "10.99.0.0/16");
    plain.enable_ip_masquerade = false;
    plain.enable_icc = false;
    let nets = vec![Network::default_bridge(DOCKER0_ID), snat, routed, plain];
    let udp = PortMap {
        proto: Proto::Udp,
        ..tcp(Some("10.0.0.10"), 5353, 53)
    };
    let mut web = container(
        "web",
        1,
        "192.0.2.2",
        &[tcp(None, 8080, 80), tcp(None, 8081, 80), udp],
    );
    web.endpoints.push(Endpoint {
        network: 3,
        ip: ip("10.99.0.2"),
        ip6: None,
        mac: EthernetAddress([0x02, 0x42, 0x0a, 0x63, 0x00, 0x02]),
    });
    let api = container("api", 2, "198.51.100.2", &[tcp(None, 0, 443)]);
    let db = container("db", 3, "10.99.0.3", &[tcp(Some("127.0.0.1"), 5432, 5432)]);
    let h: Host = (daemon, nets, vec![web, api, db]);
    let ns = Netns::new("dnft-rich");
    load(&ns, &nft_ruleset(&h.0, &h.1, &h.2));
    for t in tables(&h) {
        let fam = t.family.as_str();
        assert_eq!(
            list(&ns, fam),
            list_table(&t),
            "{case}: the kernel (left), {fam}"
        );
    }
}

/// Each page's host with IPv6 on its user-defined networks (2001:db8:N::/64, the gateway
/// mode of IPv4 for IPv6 too) and each container's second address there.
fn dual_stack((daemon, mut nets, mut ctrs): Host) -> Host {
    use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
    for (i, n) in nets.iter_mut().enumerate().skip(1) {
        let prefix = Ipv6Address::new(0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 0);
        n.ipv6 = Some(hoplab::docker::Subnet6 {
            subnet: Ipv6Cidr::new(prefix, 64),
            gateway: Ipv6Address::new(0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 1),
        });
        n.gateway_mode_ipv6 = n.gateway_mode_ipv4;
    }
    for c in &mut ctrs {
        for e in &mut c.endpoints {
            let last = u16::from(e.ip.octets()[3]);
            e.ip6 = Some(Ipv6Address::new(
                0x2001,
                0xdb8,
                e.network as u16,
                0,
                0,
                0,
                0,
                last,
            ));
        }
    }
    (daemon, nets, ctrs)
}

/// The IPv6 rules of every page's host made dual-stack, loaded and updated in the kernel:
/// nft takes each script, and the `ip6` table lists as ours after every step (networks
/// created, containers started and stopped, networks removed). The `ip` table is the
/// page's still.
#[test]
fn kd_nft_docker_ipv6_networks() {
    let case = "kd_nft_docker_ipv6_networks";
    if !kernel::privileged(case) {
        return;
    }
    for page in PAGES {
        let (daemon, nets, ctrs) = dual_stack(setup(page));
        let states = lifecycle(&daemon, &nets, &ctrs);
        let ns = Netns::new(&format!("dnft6-{page}"));
        load(&ns, &nft_ruleset(&states[0].0, &states[0].1, &states[0].2));
        for (step, pair) in states.windows(2).enumerate() {
            let (before, after) = (tables(&pair[0]), tables(&pair[1]));
            let script = nft_update(&before, &after);
            load(&ns, &script);
            let six = family(&after, Family::Ip6);
            assert_eq!(
                list(&ns, "ip6"),
                list_table(six),
                "{page} step {step}:\n{script}"
            );
            if step == 1 {
                let want = page_table(&page_text(page), "ip").unwrap();
                assert_eq!(list(&ns, "ip"), want, "{page}: after the containers start");
                // One element per network with IPv6: every one but docker0.
                assert!(
                    six.maps.iter().all(|m| m.elements.len() == nets.len() - 1),
                    "{page}"
                );
            }
        }
    }
}

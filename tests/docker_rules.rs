//! `hoplab::docker`: the iptables rules Docker installs, checked against Docker's own listings.
//!
//! Fixtures (`tests/fixtures/docker/`, verbatim copies, never edited; see the NOTICE there):
//! `v28.5.2/*.md` and `v29.7.2/*.md` are moby's CI-generated iptablesdoc pages
//! (`integration/network/bridge/iptablesdoc/generated/`). Each shows, for one setup, the
//! `iptables -nvL --line-numbers` (v28, iptables 1.8.9) or `iptables -vL --line-numbers`
//! (v29, names resolved) view of the filter, nat and raw tables, or of one chain, each
//! followed by the `iptables -S` commands that build it.
//!
//! Each page test describes the page's setup as a [`hoplab::docker`] host (the default bridge
//! docker0 172.17.0.0/16 always exists; FORWARD policy ACCEPT as the CI host had), applies
//! [`iptables_commands`] to a rule engine, and compares every view the page shows, byte for
//! byte. The other tests cover the address, MAC and port helpers, the ≤ 27 layout
//! (`docker-netfilter.md` §1.7), a real Docker 29 host, and that every option combination
//! yields commands the engine accepts.

use std::fmt::Write as _;

use hoplab::docker::ipam::{
    allocate_address, allocate_subnet, bridge_name, container_mac, random_mac, veth_name,
};
use hoplab::docker::{
    Container, Daemon, Endpoint, Engine, ForwardPolicy, GatewayMode, Network, PortAllocator,
    PortMap, Proto, iptables_commands, port_bindings,
};
use hoplab::netfilter::rules::{IptablesVersion, Tables};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

// ---------------------------------------------------------------------------------------
// Fixture pages
// ---------------------------------------------------------------------------------------

/// A moby release whose iptablesdoc pages are copied here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Release {
    V28,
    V29,
}

impl Release {
    fn dir(self) -> &'static str {
        match self {
            Release::V28 => "v28.5.2",
            Release::V29 => "v29.7.2",
        }
    }

    fn engine(self) -> Engine {
        match self {
            Release::V28 => Engine::V28,
            Release::V29 => Engine::V29,
        }
    }

    /// v28's CI ran iptables 1.8.9 (numeric protocols with `-n`); v29's listings resolve
    /// names, so the release does not matter there: 1.8.10.
    fn iptables(self) -> IptablesVersion {
        match self {
            Release::V28 => IptablesVersion::V1_8_9,
            Release::V29 => IptablesVersion::V1_8_10,
        }
    }

    /// The options after `-L [CHAIN]` that give the page's view.
    fn list_options(self) -> &'static [&'static str] {
        match self {
            Release::V28 => &["-nv", "--line-numbers"],
            Release::V29 => &["-v", "--line-numbers"],
        }
    }
}

/// One view a page shows: a whole table, or one chain of it, as `-L` and as `-S`.
#[derive(Debug)]
struct View {
    table: &'static str,
    chain: Option<String>,
    listing: String,
    commands: String,
}

fn page_text(release: Release, page: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/docker/{}/{page}.md",
        env!("CARGO_MANIFEST_DIR"),
        release.dir()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The table a prose line names, if it speaks of one ("The filter table is:", "Table nat:",
/// "<summary>filter table</summary>"); the last name wins ("The filter and nat tables").
fn table_named(line: &str) -> Option<&'static str> {
    if !line.to_ascii_lowercase().contains("table") || line.contains("http") {
        return None;
    }
    let words = line.split(|c: char| !c.is_ascii_alphanumeric());
    words.fold(None, |last, w| match w.to_ascii_lowercase().as_str() {
        "filter" => Some("filter"),
        "nat" => Some("nat"),
        "raw" => Some("raw"),
        _ => last,
    })
}

/// The table an `iptables -S` block lists, from its policies.
fn table_of_policies(commands: &str) -> Option<&'static str> {
    let has = |chain: &str| {
        commands
            .lines()
            .any(|l| l.starts_with(&format!("-P {chain} ")))
    };
    match (has("FORWARD"), has("POSTROUTING"), has("PREROUTING")) {
        (true, false, _) => Some("filter"),
        (false, true, _) => Some("nat"),
        (false, false, true) => Some("raw"),
        _ => None,
    }
}

/// The page's 4-space-indented blocks that are listings (`Chain ...`) or commands (`-P`,
/// `-N`), unindented, each with the table the prose last named.
fn indented_blocks(text: &str) -> Vec<(Option<&'static str>, String)> {
    let (mut blocks, mut table, mut cur) = (Vec::new(), None, None::<String>);
    for line in text.lines() {
        match line.strip_prefix("    ") {
            Some(rest) => {
                let block = cur.get_or_insert_with(String::new);
                block.push_str(rest);
                block.push('\n');
            }
            None => {
                blocks.extend(cur.take().map(|b| (table, b)));
                table = table_named(line).or(table);
            }
        }
    }
    blocks.extend(cur.map(|b| (table, b)));
    blocks
        .into_iter()
        .filter(|(_, b)| ["Chain ", "-P ", "-N "].iter().any(|p| b.starts_with(p)))
        .map(|(t, b)| (t, format!("{}\n", b.trim_end_matches('\n'))))
        .collect()
}

/// The views of a page: listing blocks paired with the `-S` block after them. A whole
/// table's `-S` names its table by its policies; a pair whose commands start with `-N CHAIN`
/// is an excerpt: that chain of the table the prose named last (the lo page shows its raw
/// table right after a "nat table" summary, so the policies have the last word).
fn views(text: &str) -> Vec<View> {
    let blocks = indented_blocks(text);
    assert!(
        blocks.len() >= 2 && blocks.len().is_multiple_of(2),
        "{} blocks",
        blocks.len()
    );
    let mut out = Vec::new();
    for pair in blocks.chunks(2) {
        let [(named, listing), (_, commands)] = pair else {
            unreachable!()
        };
        assert!(listing.starts_with("Chain "), "a listing first: {listing}");
        let chain = commands
            .strip_prefix("-N ")
            .and_then(|rest| rest.lines().next())
            .map(str::to_string);
        let table = match chain {
            None => table_of_policies(commands),
            Some(_) => *named,
        };
        out.push(View {
            table: table.unwrap_or_else(|| panic!("which table is this?\n{commands}")),
            chain,
            listing: listing.clone(),
            commands: commands.clone(),
        });
    }
    out
}

#[test]
fn the_page_parser_finds_every_view() {
    let count = |r, p| views(&page_text(r, p)).len();
    assert_eq!(count(Release::V29, "usernet-portmap"), 3);
    assert_eq!(count(Release::V29, "new-daemon"), 2);
    // filter, the DOCKER chain excerpt, nat.
    let routed = views(&page_text(Release::V28, "usernet-portmap-routed"));
    let what: Vec<_> = routed
        .iter()
        .map(|v| (v.table, v.chain.as_deref()))
        .collect();
    assert_eq!(
        what,
        [("filter", None), ("filter", Some("DOCKER")), ("nat", None)]
    );
}

// ---------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------

/// Views the rule engine itself cannot print as iptables does (a bug outside
/// `src/docker/`): (release, page, table, "-L" or "-S"). Each is reported, not asserted.
/// Empty: every view matches.
const ENGINE_GAPS: &[(Release, &str, &str, &str)] = &[];

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// The host's iptables tables after Docker's commands (its ip6tables commands, applied to
/// tables of their own, must apply too; the pages list IPv4 alone).
fn build(version: IptablesVersion, commands: &[Vec<String>]) -> Tables {
    build_both(version, commands).0
}

/// The host's iptables and ip6tables tables after Docker's commands.
fn build_both(version: IptablesVersion, commands: &[Vec<String>]) -> (Tables, Tables) {
    let (mut t4, mut t6) = (Tables::new(version), Tables::new_v6(version));
    for c in commands {
        let t = if c[0] == "ip6tables" {
            &mut t6
        } else {
            &mut t4
        };
        if let Err(e) = t.apply(c) {
            panic!("{}: {e}", c.join(" "));
        }
    }
    (t4, t6)
}

fn run(t: &mut Tables, words: &[&str]) -> String {
    t.apply(&argv(words))
        .unwrap_or_else(|e| panic!("{}: {e}", words.join(" ")))
}

/// A line diff (longest common subsequence), `-` for fixture lines, `+` for ours, with three
/// lines of context around each change.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut lcs = vec![vec![0usize; g.len() + 1]; w.len() + 1];
    for i in (0..w.len()).rev() {
        for j in (0..g.len()).rev() {
            lcs[i][j] = if w[i] == g[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < w.len() || j < g.len() {
        if i < w.len() && j < g.len() && w[i] == g[j] {
            ops.push((' ', w[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < w.len() && (j == g.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', w[i]));
            i += 1;
        } else {
            ops.push(('+', g[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(3);
        ops[lo..(k + 4).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            let _ = writeln!(out, "{op} {line:?}");
        } else if k > 0 && near_change(k - 1) {
            out.push_str("  ...\n");
        }
    }
    if want.ends_with('\n') != got.ends_with('\n') {
        out.push_str("(the final newline differs)\n");
    }
    out
}

/// Applies the host's commands and compares every view of the page. Returns the number of
/// views compared.
fn check_page(
    release: Release,
    page: &str,
    daemon: &Daemon,
    networks: &[Network],
    containers: &[Container],
) -> usize {
    assert_eq!(daemon.engine, release.engine());
    let mut t = build(
        release.iptables(),
        &iptables_commands(daemon, networks, containers),
    );
    let (mut failures, mut compared) = (Vec::new(), 0);
    for v in views(&page_text(release, page)) {
        let chain: Vec<&str> = v.chain.as_deref().into_iter().collect();
        let mut list = vec!["iptables", "-t", v.table, "-L"];
        list.extend(&chain);
        list.extend(release.list_options());
        let mut save = vec!["iptables", "-t", v.table, "-S"];
        save.extend(&chain);
        for (kind, cmd, want) in [("-L", list, &v.listing), ("-S", save, &v.commands)] {
            let got = run(&mut t, &cmd);
            let gap = ENGINE_GAPS.contains(&(release, page, v.table, kind));
            if gap {
                eprintln!("known engine gap, not asserted: {}", cmd.join(" "));
            } else if got != *want {
                failures.push(format!(
                    "{}/{page}: `{}` differs (- fixture, + ours):\n{}",
                    release.dir(),
                    cmd.join(" "),
                    diff(want, &got)
                ));
            } else {
                compared += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{}/{page}: {compared} views equal", release.dir());
    compared
}

// ---------------------------------------------------------------------------------------
// The pages' setups
// ---------------------------------------------------------------------------------------

const DOCKER0_ID: &str = "6a1e3d0c9b5f4e2d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d";
const BRIDGE1_ID: &str = "b1d9e0f2a3c4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
const BRIDGE2_ID: &str = "c2e0f1a3b4d5c6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

fn ip(s: &str) -> Ipv4Address {
    s.parse().unwrap()
}

fn cidr(s: &str) -> Ipv4Cidr {
    let (a, len) = s.split_once('/').unwrap();
    Ipv4Cidr::new(ip(a), len.parse().unwrap())
}

/// The CI daemon: FORWARD policy ACCEPT, as every page shows.
fn ci_daemon(release: Release) -> Daemon {
    Daemon {
        engine: release.engine(),
        forward_policy: ForwardPolicy::Accept,
        ..Daemon::default()
    }
}

fn docker0() -> Network {
    Network::default_bridge(DOCKER0_ID)
}

/// `docker network create -o com.docker.network.bridge.name=BRIDGE --subnet SUBNET
/// --gateway .1 bridge1`.
fn named_bridge(bridge: &str, id: &str, subnet: &str) -> Network {
    Network {
        bridge: bridge.to_string(),
        ..Network::user("bridge1", id, cidr(subnet))
    }
}

fn bridge1() -> Network {
    named_bridge("bridge1", BRIDGE1_ID, "192.0.2.0/24")
}

/// `docker run --network NET [-p ...] --name NAME busybox`, its address given.
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

/// `-p [HOST_IP:]HOST_PORT:CTR_PORT` over TCP.
fn tcp(host_ip: Option<&str>, host_port: u16, ctr_port: u16) -> PortMap {
    PortMap {
        host_ip: host_ip.map(|s| ip(s).into()),
        host_port,
        ctr_port,
        proto: Proto::Tcp,
    }
}

/// The usernet-portmap pages: bridge1 192.0.2.0/24 as `configure` leaves it, c1 at
/// 192.0.2.2 with `-p 8080:80` (or the page's mapping).
fn usernet_portmap(
    release: Release,
    page: &str,
    daemon: Daemon,
    configure: impl FnOnce(&mut Network),
    map: PortMap,
) -> usize {
    let mut net = bridge1();
    configure(&mut net);
    let c1 = container("c1", 1, "192.0.2.2", &[map]);
    check_page(release, page, &daemon, &[docker0(), net], &[c1])
}

fn new_daemon(release: Release) -> usize {
    check_page(
        release,
        "new-daemon",
        &ci_daemon(release),
        &[docker0()],
        &[],
    )
}

/// Two internal networks. The page's header gives the second one `enable_icc=true`, but its
/// name (bridgeNoICC) and its rules (`-i bridgeNoICC -o bridgeNoICC -j DROP`) are those of
/// `enable_icc=false`: the header has a copy slip, the listing is what CI ran.
fn usernet_internal(release: Release) -> usize {
    let mut icc = named_bridge("bridgeICC", BRIDGE1_ID, "192.0.2.0/24");
    icc.internal = true;
    let mut no_icc = named_bridge("bridgeNoICC", BRIDGE2_ID, "198.51.100.0/24");
    no_icc.internal = true;
    no_icc.enable_icc = false;
    let c1 = container("c1", 1, "192.0.2.2", &[]);
    let c2 = container("c2", 2, "198.51.100.2", &[]);
    let nets = [docker0(), icc, no_icc];
    check_page(
        release,
        "usernet-internal",
        &ci_daemon(release),
        &nets,
        &[c1, c2],
    )
}

fn portmap(release: Release) -> usize {
    let d = ci_daemon(release);
    usernet_portmap(release, "usernet-portmap", d, |_| {}, tcp(None, 8080, 80))
}

fn portmap_lo(release: Release) -> usize {
    let d = ci_daemon(release);
    let map = tcp(Some("127.0.0.1"), 8080, 80);
    usernet_portmap(release, "usernet-portmap-lo", d, |_| {}, map)
}

fn portmap_natunprot(release: Release) -> usize {
    let d = ci_daemon(release);
    let unprotected = |n: &mut Network| n.gateway_mode_ipv4 = GatewayMode::NatUnprotected;
    let map = tcp(None, 8080, 80);
    usernet_portmap(release, "usernet-portmap-natunprot", d, unprotected, map)
}

fn portmap_noicc(release: Release) -> usize {
    let d = ci_daemon(release);
    let no_icc = |n: &mut Network| n.enable_icc = false;
    usernet_portmap(
        release,
        "usernet-portmap-noicc",
        d,
        no_icc,
        tcp(None, 8080, 80),
    )
}

fn portmap_noproxy(release: Release) -> usize {
    let d = Daemon {
        userland_proxy: false,
        ..ci_daemon(release)
    };
    usernet_portmap(
        release,
        "usernet-portmap-noproxy",
        d,
        |_| {},
        tcp(None, 8080, 80),
    )
}

fn portmap_routed(release: Release) -> usize {
    let d = ci_daemon(release);
    let routed = |n: &mut Network| n.gateway_mode_ipv4 = GatewayMode::Routed;
    usernet_portmap(
        release,
        "usernet-portmap-routed",
        d,
        routed,
        tcp(None, 8080, 80),
    )
}

#[test]
fn v28_new_daemon() {
    assert_eq!(new_daemon(Release::V28), 4);
}

#[test]
fn v28_usernet_internal() {
    assert_eq!(usernet_internal(Release::V28), 4);
}

#[test]
fn v28_usernet_portmap() {
    assert_eq!(portmap(Release::V28), 6);
}

#[test]
fn v28_usernet_portmap_lo() {
    assert_eq!(portmap_lo(Release::V28), 6);
}

#[test]
fn v28_usernet_portmap_natunprot() {
    assert_eq!(portmap_natunprot(Release::V28), 4);
}

#[test]
fn v28_usernet_portmap_noicc() {
    assert_eq!(portmap_noicc(Release::V28), 4);
}

#[test]
fn v28_usernet_portmap_noproxy() {
    assert_eq!(portmap_noproxy(Release::V28), 4);
}

#[test]
fn v28_usernet_portmap_routed() {
    assert_eq!(portmap_routed(Release::V28), 6);
}

#[test]
fn v29_new_daemon() {
    assert_eq!(new_daemon(Release::V29), 4);
}

#[test]
fn v29_usernet_internal() {
    assert_eq!(usernet_internal(Release::V29), 4);
}

#[test]
fn v29_usernet_portmap() {
    assert_eq!(portmap(Release::V29), 6);
}

#[test]
fn v29_usernet_portmap_lo() {
    assert_eq!(portmap_lo(Release::V29), 6);
}

#[test]
fn v29_usernet_portmap_natunprot() {
    assert_eq!(portmap_natunprot(Release::V29), 4);
}

#[test]
fn v29_usernet_portmap_noicc() {
    assert_eq!(portmap_noicc(Release::V29), 4);
}

#[test]
fn v29_usernet_portmap_noproxy() {
    assert_eq!(portmap_noproxy(Release::V29), 4);
}

#[test]
fn v29_usernet_portmap_routed() {
    assert_eq!(portmap_routed(Release::V29), 6);
}

/// `host_binding_ipv4=127.0.0.1` on the network gives the rules of `-p 127.0.0.1:8080:80`.
#[test]
fn host_binding_ipv4_is_the_default_host_address() {
    for release in [Release::V28, Release::V29] {
        let on_loopback = |n: &mut Network| n.host_binding_ipv4 = Some(ip("127.0.0.1"));
        let d = ci_daemon(release);
        let map = tcp(None, 8080, 80);
        assert_eq!(
            usernet_portmap(release, "usernet-portmap-lo", d, on_loopback, map),
            6
        );
    }
}

// ---------------------------------------------------------------------------------------
// A real Docker 29 host
// ---------------------------------------------------------------------------------------

/// The seed host (`/work/shared/seeds/002_…`, excerpted in
/// `tests/fixtures/iptables/seed-docker29-host-nL.txt`): docker0 and the compose network
/// `docker_default` (br-d9231d44a1ab, 172.18.0.0/16), container `ens_monitor_cron` at
/// 172.18.0.2 without published ports, FORWARD policy DROP, iptables 1.8.10+.
#[test]
fn seed_docker29_host() {
    let path = format!(
        "{}/tests/fixtures/iptables/seed-docker29-host-nL.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (filter, nat) = text
        .split_once("[root@test ~]# iptables -nL -t nat\n")
        .unwrap();
    let filter = filter
        .strip_prefix("[root@test ~]# iptables -nL -t filter\n")
        .unwrap();

    let id = "d9231d44a1ab7bc81da84032ada7a6588d30f8554cc363188d4c2c7a10cad502";
    let subnet = allocate_subnet(&[cidr("172.17.0.0/16")]).unwrap();
    let compose = Network::user("docker_default", id, subnet);
    assert_eq!(compose.bridge, "br-d9231d44a1ab");
    assert_eq!(compose.gateway, ip("172.18.0.1"));
    let addr = allocate_address(compose.subnet, compose.gateway, &[]).unwrap();
    let mut c = container("ens_monitor_cron", 1, &addr.to_string(), &[]);
    c.endpoints[0].mac = EthernetAddress([0x96, 0x00, 0x76, 0x49, 0xce, 0x66]);
    let daemon = Daemon::default();
    let commands = iptables_commands(&daemon, &[docker0(), compose], &[c]);
    let mut t = build(IptablesVersion::V1_8_10, &commands);

    let got = run(&mut t, &["iptables", "-nL", "-t", "filter"]);
    // The blog cut some trailing spaces off its very last line: compare that one trimmed.
    let split = |s: &str| {
        let s = s.trim_end_matches('\n');
        s.rsplit_once('\n')
            .map(|(h, l)| (h.to_string(), l.trim_end().to_string()))
    };
    assert_eq!(split(&got), split(filter), "{}", diff(filter, &got));
    let got = run(&mut t, &["iptables", "-nL", "-t", "nat"]);
    assert_eq!(got, nat, "{}", diff(nat, &got));
    // Not shown by the blog, but there: the raw rule against direct access.
    let raw = run(&mut t, &["iptables", "-t", "raw", "-S", "PREROUTING"]);
    assert!(raw.contains("-A PREROUTING -d 172.18.0.2/32 ! -i br-d9231d44a1ab -j DROP\n"));
}

// ---------------------------------------------------------------------------------------
// Engine 27 (docker-netfilter.md §1.7)
// ---------------------------------------------------------------------------------------

/// §1.7's filter listing, verbatim (comments and all), for docker0 with a container at
/// 172.17.0.2 publishing 8080:80, and a user network br-1a2b3c4d5e6f created after it.
const LEGACY_FILTER: &str = "\
-P FORWARD DROP
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-ISOLATION-STAGE-2
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o br-1a2b3c4d5e6f -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   # newer networks first (inserted)
-A FORWARD -o br-1a2b3c4d5e6f -j DOCKER
-A FORWARD -i br-1a2b3c4d5e6f ! -o br-1a2b3c4d5e6f -j ACCEPT
-A FORWARD -i br-1a2b3c4d5e6f -o br-1a2b3c4d5e6f -j ACCEPT
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT          # icc=false gives \"-j DROP\", appended at the end
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT   # appended; no DROP rule
-A DOCKER-ISOLATION-STAGE-1 -i br-1a2b3c4d5e6f ! -o br-1a2b3c4d5e6f -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br-1a2b3c4d5e6f -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
";

/// §1.7's nat: "same as 28 for PREROUTING, OUTPUT, RETURN and DNAT, plus always" the
/// container's self-MASQUERADE; the MASQUERADE rules as in 28 (newest network first).
const LEGACY_NAT: &str = "\
-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N DOCKER
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.18.0.0/16 ! -o br-1a2b3c4d5e6f -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i br-1a2b3c4d5e6f -j RETURN
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
";

fn legacy_host(daemon: &Daemon) -> (Vec<Network>, Vec<Container>) {
    let id = format!("1a2b3c4d5e6f{}", &BRIDGE1_ID[12..]);
    let subnet = allocate_subnet(&[cidr("172.17.0.0/16")]).unwrap();
    let user = Network::user("mynet", id, subnet);
    let addr = allocate_address(cidr("172.17.0.0/16"), ip("172.17.0.1"), &[]).unwrap();
    let mut c = container("web", 0, &addr.to_string(), &[tcp(None, 8080, 80)]);
    c.endpoints[0].mac = container_mac(daemon.engine, addr, &mut || 0);
    (vec![docker0(), user], vec![c])
}

#[test]
fn v27_legacy_layout_matches_the_reference() {
    let daemon = Daemon {
        engine: Engine::V27,
        ..Daemon::default()
    };
    let (nets, containers) = legacy_host(&daemon);
    assert_eq!(
        containers[0].endpoints[0].mac.to_string(),
        "02-42-ac-11-00-02"
    );
    let mut t = build(
        IptablesVersion::V1_8_10,
        &iptables_commands(&daemon, &nets, &containers),
    );
    let want: String = LEGACY_FILTER
        .lines()
        .map(|l| format!("{}\n", l.split("  #").next().unwrap_or(l).trim_end()))
        .collect();
    let got = run(&mut t, &["iptables", "-t", "filter", "-S"]);
    let got: String = got
        .lines()
        .filter(|l| !["-P INPUT ACCEPT", "-P OUTPUT ACCEPT"].contains(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(got, want, "{}", diff(&want, &got));
    let got = run(&mut t, &["iptables", "-t", "nat", "-S"]);
    assert_eq!(got, LEGACY_NAT, "{}", diff(LEGACY_NAT, &got));
    // No raw rules before 28.
    let raw = run(&mut t, &["iptables", "-t", "raw", "-S"]);
    assert_eq!(raw, "-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n");
}

/// 27's ICC=false DROP is appended at the very end of FORWARD, after every network's rules.
#[test]
fn v27_icc_false_drop_goes_to_the_end_of_forward() {
    let daemon = Daemon {
        engine: Engine::V27,
        ..Daemon::default()
    };
    let (mut nets, containers) = legacy_host(&daemon);
    nets[0].enable_icc = false;
    let mut t = build(
        IptablesVersion::V1_8_10,
        &iptables_commands(&daemon, &nets, &containers),
    );
    let forward = run(&mut t, &["iptables", "-S", "FORWARD"]);
    let last = forward.lines().last().unwrap_or("");
    assert_eq!(last, "-A FORWARD -i docker0 -o docker0 -j DROP");
    assert!(!forward.contains("-i docker0 -o docker0 -j ACCEPT"));
}

// ---------------------------------------------------------------------------------------
// Daemon options
// ---------------------------------------------------------------------------------------

#[test]
fn iptables_false_installs_nothing() {
    let daemon = Daemon {
        iptables: false,
        ..Daemon::default()
    };
    let c = container("c1", 0, "172.17.0.2", &[tcp(None, 8080, 80)]);
    assert!(iptables_commands(&daemon, &[docker0()], &[c]).is_empty());
}

#[test]
fn forward_policy_drop_is_set_once_at_start() {
    for engine in [Engine::V27, Engine::V28, Engine::V29] {
        let daemon = Daemon {
            engine,
            ..Daemon::default()
        };
        let commands = iptables_commands(&daemon, &[docker0(), bridge1()], &[]);
        let policy = argv(&["iptables", "-t", "filter", "-P", "FORWARD", "DROP"]);
        assert_eq!(commands.first(), Some(&policy), "{engine:?}");
        assert_eq!(commands.iter().filter(|c| **c == policy).count(), 1);
        let accept = Daemon {
            forward_policy: ForwardPolicy::Accept,
            ..daemon
        };
        let commands = iptables_commands(&accept, &[docker0()], &[]);
        assert!(!commands.iter().any(|c| c.contains(&"-P".to_string())));
    }
}

/// Docker's commands as it issues them: `-t TABLE`, then `-N`, `-P`, `-A`, `-I CHAIN 1` or
/// the `-D` of a jump it moves back to the top.
#[test]
fn commands_have_docker_shape() {
    let daemon = Daemon::default();
    let c = container("c1", 1, "192.0.2.2", &[tcp(None, 8080, 80)]);
    let commands = iptables_commands(&daemon, &[docker0(), bridge1()], &[c]);
    for c in &commands {
        assert!(["iptables", "ip6tables"].contains(&c[0].as_str()), "{c:?}");
        assert_eq!(c[1], "-t", "{c:?}");
        assert!(["filter", "nat", "raw"].contains(&c[2].as_str()), "{c:?}");
        assert!(
            ["-N", "-P", "-A", "-I", "-D"].contains(&c[3].as_str()),
            "{c:?}"
        );
        if c[3] == "-I" {
            assert_eq!(c[5], "1", "{c:?}");
        }
    }
    // The per-port ACCEPT is inserted, the DNAT appended (§1.5).
    let has = |words: &[&str]| commands.iter().any(|c| c.starts_with(&argv(words)));
    assert!(has(&[
        "iptables",
        "-t",
        "filter",
        "-I",
        "DOCKER",
        "1",
        "-d",
        "192.0.2.2/32"
    ]));
    assert!(has(&[
        "iptables", "-t", "nat", "-A", "DOCKER", "!", "-i", "bridge1"
    ]));
}

/// Every combination of engine, proxy, network options and gateway mode gives commands the
/// rule engine accepts, the same each time.
#[test]
fn every_option_combination_applies_cleanly() {
    let modes = [
        GatewayMode::Nat,
        GatewayMode::NatUnprotected,
        GatewayMode::Routed,
    ];
    for engine in [Engine::V27, Engine::V28, Engine::V29] {
        for proxy in [true, false] {
            for bits in 0..16u8 {
                for mode in modes {
                    let daemon = Daemon {
                        engine,
                        userland_proxy: proxy,
                        ..Daemon::default()
                    };
                    let mut net = bridge1();
                    net.internal = bits & 1 != 0;
                    net.enable_icc = bits & 2 != 0;
                    net.enable_ip_masquerade = bits & 4 != 0;
                    net.host_ipv4 = (bits & 8 != 0).then(|| ip("203.0.113.7"));
                    net.gateway_mode_ipv4 = mode;
                    let maps = [
                        tcp(None, 8080, 80),
                        tcp(Some("127.0.0.1"), 0, 443),
                        PortMap {
                            proto: Proto::Udp,
                            ..tcp(Some("198.51.100.1"), 5353, 53)
                        },
                    ];
                    let mut two = container("c1", 1, "192.0.2.2", &maps);
                    two.endpoints.push(Endpoint {
                        network: 0,
                        ..two.endpoints[0]
                    });
                    let c2 = container("c2", 0, "172.17.0.2", &[tcp(None, 8080, 80)]);
                    let nets = [docker0(), net];
                    let containers = [two, c2];
                    let commands = iptables_commands(&daemon, &nets, &containers);
                    build(IptablesVersion::V1_8_10, &commands);
                    assert_eq!(commands, iptables_commands(&daemon, &nets, &containers));
                }
            }
        }
    }
}

/// An endpoint on a network that does not exist is skipped, not a panic.
#[test]
fn endpoints_on_missing_networks_are_skipped() {
    let daemon = Daemon::default();
    let c = container("c1", 7, "10.0.0.2", &[tcp(None, 8080, 80)]);
    let commands = iptables_commands(&daemon, &[docker0()], &[c]);
    assert!(!commands.iter().any(|c| c.join(" ").contains("10.0.0.2")));
    assert!(iptables_commands(&daemon, &[], &[]).len() > 5);
}

// ---------------------------------------------------------------------------------------
// Addresses, MACs, names and ports (docker-netfilter.md §2)
// ---------------------------------------------------------------------------------------

#[test]
fn subnets_come_from_the_default_pools_in_order() {
    let docker0 = allocate_subnet(&[]).unwrap();
    assert_eq!(docker0, cidr("172.17.0.0/16"));
    let first = allocate_subnet(&[docker0]).unwrap();
    assert_eq!(first, cidr("172.18.0.0/16"));
    // A reserved prefix (a host route inside 172.18/16) pushes the network on.
    assert_eq!(
        allocate_subnet(&[docker0, cidr("172.18.5.0/24")]),
        Some(cidr("172.19.0.0/16"))
    );
    // A freed subnet is reused: the lowest free pool wins.
    assert_eq!(
        allocate_subnet(&[docker0, cidr("172.19.0.0/16")]),
        Some(cidr("172.18.0.0/16"))
    );
    // After the /16s come the 192.168.x.0/20s, then nothing.
    let mut used: Vec<Ipv4Cidr> = (17..=31)
        .map(|b| cidr(&format!("172.{b}.0.0/16")))
        .collect();
    assert_eq!(allocate_subnet(&used), Some(cidr("192.168.0.0/20")));
    used.push(cidr("192.168.0.0/16"));
    assert_eq!(allocate_subnet(&used), None);
}

#[test]
fn addresses_are_first_available_after_the_gateway() {
    let (net, gw) = (cidr("172.18.0.0/16"), ip("172.18.0.1"));
    assert_eq!(allocate_address(net, gw, &[]), Some(ip("172.18.0.2")));
    let used = [ip("172.18.0.2"), ip("172.18.0.3")];
    assert_eq!(allocate_address(net, gw, &used), Some(ip("172.18.0.4")));
    // .2 freed: the next container gets it back.
    assert_eq!(
        allocate_address(net, gw, &used[1..]),
        Some(ip("172.18.0.2"))
    );
    // Network and broadcast addresses are never handed out.
    let small = cidr("192.0.2.0/30");
    assert_eq!(
        allocate_address(small, ip("192.0.2.1"), &[]),
        Some(ip("192.0.2.2"))
    );
    assert_eq!(
        allocate_address(small, ip("192.0.2.1"), &[ip("192.0.2.2")]),
        None
    );
    let user = Network::user("n", BRIDGE1_ID, cidr("10.9.8.7/24"));
    assert_eq!(
        (user.subnet, user.gateway),
        (cidr("10.9.8.0/24"), ip("10.9.8.1"))
    );
}

#[test]
fn macs_per_engine() {
    let mut draws = [0x1122_3344_5566_7788u64, 0x0123_4567_89ab_cdef].into_iter();
    let mut random = || draws.next().unwrap_or(0);
    // 27: 02:42 + the address.
    let v27 = container_mac(Engine::V27, ip("172.17.0.2"), &mut random);
    assert_eq!(v27, EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]));
    // 28+: random, unicast, locally administered (little-endian bytes of the draw).
    let v29 = container_mac(Engine::V29, ip("172.17.0.2"), &mut random);
    assert_eq!(v29, EthernetAddress([0x8a, 0x77, 0x66, 0x55, 0x44, 0x33]));
    let v28 = container_mac(Engine::V28, ip("172.17.0.2"), &mut random);
    assert_eq!(v28.0[0] & 0x03, 0x02);
    for seed in 0..64u64 {
        let mac = random_mac(&mut || seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        assert!(mac.is_unicast() && mac.is_local(), "{mac}");
    }
}

#[test]
fn names_are_deterministic_given_the_random_source() {
    let mut rng = hoplab::rand::Rng::stream(7, "docker:veth");
    let a = veth_name(&mut || rng.next_u64());
    let mut rng = hoplab::rand::Rng::stream(7, "docker:veth");
    assert_eq!(a, veth_name(&mut || rng.next_u64()));
    assert_eq!(veth_name(&mut || 0x9780_2001_2345_6789), "veth9780200");
    assert_eq!(bridge_name(BRIDGE1_ID), "br-b1d9e0f2a3c4");
    assert_eq!(docker0().bridge, "docker0");
    assert_eq!(bridge1().bridge, "bridge1");
}

#[test]
fn published_ports_resolve_to_bindings() {
    let daemon = Daemon::default();
    let mut routed = bridge1();
    routed.gateway_mode_ipv4 = GatewayMode::Routed;
    let mut lo_net = named_bridge("lonet", BRIDGE2_ID, "198.51.100.0/24");
    lo_net.host_binding_ipv4 = Some(ip("127.0.0.1"));
    let nets = [docker0(), routed, lo_net];
    let a = container("a", 0, "172.17.0.2", &[tcp(None, 0, 80), tcp(None, 0, 81)]);
    let b = container("b", 1, "192.0.2.2", &[tcp(None, 8080, 80)]);
    let c = container("c", 2, "198.51.100.2", &[tcp(None, 0, 80)]);
    // The same host port twice: the second mapping cannot be made.
    let d = container("d", 0, "172.17.0.3", &[tcp(None, 32768, 80)]);
    let got: Vec<_> = port_bindings(&daemon, &nets, &[a, b, c, d])
        .iter()
        .map(|b| (b.container, b.host_ip.to_string(), b.host_port, b.ctr_port))
        .collect();
    let want = [
        // Each wildcard mapping also on [::], the same port (docker-proxy's alone here).
        (0, "0.0.0.0".to_string(), 32768, 80),
        (0, "::".to_string(), 32768, 80),
        (0, "0.0.0.0".to_string(), 32769, 81),
        (0, "::".to_string(), 32769, 81),
        // Routed: no host port.
        (1, "0.0.0.0".to_string(), 0, 80),
        // host_binding_ipv4; the wildcard bindings hold 32768 and 32769 on every address.
        (2, "127.0.0.1".to_string(), 32770, 80),
    ];
    assert_eq!(got, want);
    let mut ports = PortAllocator::new();
    assert_eq!(
        ports.request(ip("0.0.0.0").into(), Proto::Udp, 0),
        Some(32768)
    );
    assert!(ports.in_use(ip("10.1.1.1").into(), Proto::Udp, 32768));
}

// ---------------------------------------------------------------------------------------
// IPv6 networks
// ---------------------------------------------------------------------------------------

/// Docker's IPv6 rules are its IPv4 rules with the other family's addresses (the CI pages
/// list IPv4 alone): for a network with IPv6, in every engine, gateway mode, ICC, internal
/// and proxy setting, `ip6tables -S` of each table reads as `iptables -S` with bridge1's
/// addresses swapped for its IPv6 ones, ICMP for ICMPv6 and 127.0.0.0/8 for ::1. What IPv4
/// alone has
/// drops out: docker0 (no IPv6), the raw rule of a port bound to 127.0.0.1 (none here), and
/// the FORWARD policy, set for IPv6 only when an IPv6 network turned forwarding on.
#[test]
fn ipv6_rules_mirror_the_ipv4_rules() {
    use hoplab::docker::Subnet6;
    use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
    let a6 = |s: &str| s.parse::<Ipv6Address>().unwrap();
    for (engine, proxy) in [
        (Engine::V27, true),
        (Engine::V28, true),
        (Engine::V29, true),
        (Engine::V27, false),
        (Engine::V29, false),
    ] {
        for mode in [
            GatewayMode::Nat,
            GatewayMode::NatUnprotected,
            GatewayMode::Routed,
        ] {
            for (icc, internal) in [(true, false), (false, false), (true, true)] {
                let daemon = Daemon {
                    engine,
                    userland_proxy: proxy,
                    ..Daemon::default()
                };
                let mut net = bridge1();
                net.ipv6 = Some(Subnet6 {
                    subnet: Ipv6Cidr::new(a6("2001:db8::"), 64),
                    gateway: a6("2001:db8::1"),
                });
                (net.gateway_mode_ipv4, net.gateway_mode_ipv6) = (mode, mode);
                (net.enable_icc, net.internal) = (icc, internal);
                let mut c = container("c1", 1, "192.0.2.2", &[tcp(None, 8080, 80)]);
                c.endpoints[0].ip6 = Some(a6("2001:db8::2"));
                let commands = iptables_commands(&daemon, &[docker0(), net], &[c]);
                let (mut t4, mut t6) = build_both(IptablesVersion::V1_8_10, &commands);
                for table in ["filter", "nat", "raw"] {
                    let v4 = run(&mut t4, &["iptables", "-t", table, "-S"]);
                    let v6 = run(&mut t6, &["ip6tables", "-t", table, "-S"]);
                    let mirrored: String = v4
                        .lines()
                        .filter(|l| !l.contains("docker0") && !l.contains("-P FORWARD"))
                        .map(|l| {
                            l.replace("192.0.2.0/24", "2001:db8::/64")
                                .replace("192.0.2.2/32", "2001:db8::2/128")
                                .replace("192.0.2.2:80", "[2001:db8::2]:80")
                                .replace("127.0.0.0/8", "::1/128")
                                .replace("-p icmp ", "-p ipv6-icmp ")
                                + "\n"
                        })
                        .collect();
                    let v6: String = v6
                        .lines()
                        .filter(|l| !l.contains("-P FORWARD"))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    assert_eq!(
                        v6,
                        mirrored,
                        "{engine:?} proxy {proxy} {mode:?} icc {icc} internal {internal} {table}\n{}",
                        diff(&mirrored, &v6)
                    );
                }
                // The first IPv6 network turned IPv6 forwarding on: its policy is DROP.
                let policy = run(&mut t6, &["ip6tables", "-S", "FORWARD"]);
                assert!(policy.starts_with("-P FORWARD DROP\n"), "{policy}");
            }
        }
    }
}

/// A daemon without IPv6 networks still makes its chains in ip6tables (ip6tables is on by
/// default since 27.0), with nothing in them and FORWARD's policy untouched; with
/// `ip6tables: false` (or `iptables: false`) there is no ip6tables command at all.
#[test]
fn ip6tables_chains_without_ipv6_networks() {
    for engine in [Engine::V27, Engine::V28, Engine::V29] {
        let daemon = Daemon {
            engine,
            ..Daemon::default()
        };
        let c = container("c1", 1, "192.0.2.2", &[tcp(None, 8080, 80)]);
        let commands =
            iptables_commands(&daemon, &[docker0(), bridge1()], std::slice::from_ref(&c));
        let (_, mut t6) = build_both(IptablesVersion::V1_8_10, &commands);
        let filter = run(&mut t6, &["ip6tables", "-S"]);
        assert!(
            filter.starts_with("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n"),
            "{filter}"
        );
        assert!(filter.contains("-N DOCKER-USER\n"), "{filter}");
        assert!(
            !filter.contains("bridge1") && !filter.contains("docker0"),
            "{filter}"
        );
        let nat = run(&mut t6, &["ip6tables", "-t", "nat", "-S"]);
        assert!(
            nat.contains("-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER\n"),
            "{nat}"
        );
        for off in [
            Daemon {
                ip6tables: false,
                ..daemon.clone()
            },
            Daemon {
                iptables: false,
                ..daemon.clone()
            },
        ] {
            let commands =
                iptables_commands(&off, &[docker0(), bridge1()], std::slice::from_ref(&c));
            assert!(commands.iter().all(|c| c[0] == "iptables"), "{engine:?}");
        }
    }
}

//! The iptables rules Docker Engine installs for a host, as the command lines it issues.
//!
//! Order: daemon start, then each network in creation order (the default bridge first), then
//! each container with its endpoints and published ports. Each rule is appended or inserted
//! at the top as Docker does (`docker-netfilter.md` §1.5), so applying the commands in order
//! gives Docker's rule order; `tests/docker_rules.rs` checks it against Docker's CI listings.
//!
//! This file holds the 28/29 layout and what 27 shares with it; `legacy.rs` the rest of the
//! ≤ 27 layout; `specs.rs` the rules themselves.

use smoltcp::wire::IpAddress;

use super::legacy;
use super::model::{
    Container, Daemon, Endpoint, Engine, Family, FirewallBackend, ForwardPolicy, GatewayMode,
    Network,
};
use super::ports::{Binding, port_bindings};
use super::program::{Program, Table, spec};
use super::specs::{
    FamilyNet, default_forward, direct_access_drop, dnat, established, established_accept,
    hairpin_masquerade, internal_egress_drop, internal_ingress_drop, intra_bridge,
    loopback_port_drop, masquerade, outgoing_accept, published_accept, routed_icmp_accept,
    self_masquerade, skip_dnat, to_docker_chain,
};

pub(super) const DOCKER: &str = "DOCKER";
const DOCKER_USER: &str = "DOCKER-USER";
const DOCKER_FORWARD: &str = "DOCKER-FORWARD";
const DOCKER_BRIDGE: &str = "DOCKER-BRIDGE";
const DOCKER_CT: &str = "DOCKER-CT";
const DOCKER_INTERNAL: &str = "DOCKER-INTERNAL";
pub(super) const ISOLATION_1: &str = "DOCKER-ISOLATION-STAGE-1";
pub(super) const ISOLATION_2: &str = "DOCKER-ISOLATION-STAGE-2";

/// The `iptables` and `ip6tables` command lines (argv, starting `iptables -t TABLE` or
/// `ip6tables -t TABLE`) Docker issues for this host, in its order (each family's own; the
/// IPv4 commands come first). Nothing when the daemon runs with `--iptables=false` or with the
/// nftables firewall backend (see [`super::nft_ruleset`]). Endpoints on a
/// network index that does not exist are skipped.
pub fn iptables_commands(
    daemon: &Daemon,
    networks: &[Network],
    containers: &[Container],
) -> Vec<Vec<String>> {
    let mut book = RuleBook::new(daemon);
    for net in networks {
        book.network(net);
    }
    let bindings = port_bindings(daemon, networks, containers);
    for (ci, c) in containers.iter().enumerate() {
        let mine: Vec<Binding> = bindings
            .iter()
            .filter(|b| b.container == ci)
            .copied()
            .collect();
        book.endpoints(networks, &c.endpoints, true);
        book.ports(networks, &mine, true);
    }
    book.take_commands()
}

/// The rules of a running daemon: what it has installed, and the commands it issues as
/// networks are made and containers come and go (each rule added or deleted as Docker does,
/// so applying every command in order gives Docker's rules at that moment).
#[derive(Debug)]
pub struct RuleBook {
    /// iptables, then ip6tables.
    programs: [Program; 2],
    layout: Layout,
    /// `--iptables=false`, or the nftables backend: no command at all.
    off: bool,
    /// `--ip6tables`: the IPv6 program is written.
    v6: bool,
    /// Whether an IPv6 network was made yet: the first turns IPv6 forwarding on.
    forwarding6: bool,
}

impl RuleBook {
    /// The daemon starts: its chains and jumps, in iptables and (with `--ip6tables`)
    /// ip6tables alike.
    pub fn new(daemon: &Daemon) -> RuleBook {
        let off = !daemon.iptables || daemon.firewall_backend == FirewallBackend::Nftables;
        let mut book = RuleBook {
            programs: [Program::default(), Program::v6()],
            layout: Layout::of(daemon),
            // With the nftables backend Docker 29 creates none of its iptables chains and adds
            // no jump to DOCKER-USER: its rules are all in `nft_ruleset`.
            off,
            // `--iptables=false` turns ip6tables off too.
            v6: !off && daemon.ip6tables,
            forwarding6: false,
        };
        let layout = book.layout;
        for family in book.families() {
            layout.daemon_start(book.program(family), family);
        }
        book
    }

    /// The families whose rules Docker writes.
    fn families(&self) -> impl Iterator<Item = Family> + use<> {
        let (v4, v6) = (!self.off, self.v6);
        [(Family::V4, v4), (Family::V6, v6)]
            .into_iter()
            .filter_map(|(f, on)| on.then_some(f))
    }

    fn program(&mut self, family: Family) -> &mut Program {
        match family {
            Family::V4 => &mut self.programs[0],
            Family::V6 => &mut self.programs[1],
        }
    }

    /// A network is created: its rules in each family it has (the DOCKER-USER jump is put
    /// back on top in both, `arrangeUserFilterRule`).
    pub fn network(&mut self, net: &Network) {
        for family in self.families() {
            let layout = self.layout;
            if family == Family::V6 && net.has(family) && !self.forwarding6 {
                // `setupIPv6Forwarding`: dockerd turns IPv6 forwarding on for the first IPv6
                // network, and drops what it did not allow, as for IPv4 at start.
                self.forwarding6 = true;
                if layout.forward_drop {
                    self.program(family)
                        .policy(Table::Filter, "FORWARD", "DROP");
                }
            }
            let p = self.program(family);
            if net.has(family) {
                layout.network(p, &FamilyNet { net, family });
            }
            layout.user_chain(p);
        }
    }

    /// A container's endpoints are created (`up`) or deleted: the raw rules that drop
    /// traffic routed straight to them (28+).
    pub fn endpoints(&mut self, networks: &[Network], endpoints: &[Endpoint], up: bool) {
        for family in self.families() {
            let layout = self.layout;
            let p = self.program(family);
            p.set_removing(!up);
            layout.container(p, networks, endpoints, family);
            p.set_removing(false);
        }
    }

    /// A container's published ports are mapped (`up`) or released.
    pub fn ports(&mut self, networks: &[Network], bindings: &[Binding], up: bool) {
        for family in self.families() {
            let layout = self.layout;
            let p = self.program(family);
            p.set_removing(!up);
            for b in bindings
                .iter()
                .filter(|b| b.family() == family && !b.proxy_only())
            {
                if let Some(net) = networks.get(b.network) {
                    layout.published_port(p, &FamilyNet { net, family }, b);
                }
            }
            p.set_removing(false);
        }
    }

    /// The commands issued since the last call, in order (IPv4's, then IPv6's).
    pub fn take_commands(&mut self) -> Vec<Vec<String>> {
        let [v4, v6] = &mut self.programs;
        let mut out = v4.take_commands();
        out.extend(v6.take_commands());
        out
    }
}

/// The daemon options that shape the rules.
#[derive(Clone, Copy, Debug)]
struct Layout {
    engine: Engine,
    /// userland-proxy=false.
    hairpin: bool,
    forward_drop: bool,
}

impl Layout {
    fn of(daemon: &Daemon) -> Layout {
        Layout {
            engine: daemon.engine,
            hairpin: !daemon.userland_proxy,
            forward_drop: daemon.forward_policy == ForwardPolicy::Drop,
        }
    }

    fn daemon_start(self, p: &mut Program, family: Family) {
        if self.forward_drop && family == Family::V4 {
            // setupIPv4Forwarding, when dockerd turned ip_forward on itself (§1.2).
            p.policy(Table::Filter, "FORWARD", "DROP");
        }
        match self.engine {
            Engine::V27 => legacy::daemon_start(p, self.hairpin, family),
            Engine::V28 | Engine::V29 => self.chains(p, family),
        }
        self.user_chain(p);
    }

    /// `setupIPChains` (28/29): the chains, the nat jumps, and the DOCKER-FORWARD jumps
    /// inserted at the top in reverse, giving CT, ISOLATION-STAGE-1 or INTERNAL, BRIDGE.
    fn chains(self, p: &mut Program, family: Family) {
        p.new_chain(Table::Nat, DOCKER);
        for chain in [DOCKER, DOCKER_FORWARD, DOCKER_BRIDGE, DOCKER_CT] {
            p.new_chain(Table::Filter, chain);
        }
        if self.engine == Engine::V28 {
            p.new_chain(Table::Filter, ISOLATION_1);
            p.new_chain(Table::Filter, ISOLATION_2);
        } else {
            p.new_chain(Table::Filter, DOCKER_INTERNAL);
        }
        nat_jumps(p, self.hairpin, family);
        p.ensure_jump(Table::Filter, "FORWARD", DOCKER_FORWARD);
        p.ensure_jump(Table::Filter, DOCKER_FORWARD, DOCKER_BRIDGE);
        p.ensure_jump(Table::Filter, DOCKER_FORWARD, self.internal_chain());
        p.ensure_jump(Table::Filter, DOCKER_FORWARD, DOCKER_CT);
    }

    /// Where the `--internal` rules go: DOCKER-INTERNAL in 29, ISOLATION-STAGE-1 before.
    fn internal_chain(self) -> &'static str {
        match self.engine {
            Engine::V29 => DOCKER_INTERNAL,
            Engine::V27 | Engine::V28 => ISOLATION_1,
        }
    }

    /// DOCKER-USER (`firewall_linux.go`): made once, its jump put back at the top of FORWARD
    /// after every network (the iptablesdoc's "deleting it and re-creating after each new
    /// network"). Empty since 28.2.2; ≤ 27 ends it with `-j RETURN` (§1.2, §1.7).
    fn user_chain(self, p: &mut Program) {
        p.new_chain(Table::Filter, DOCKER_USER);
        if self.engine == Engine::V27 {
            p.append(Table::Filter, DOCKER_USER, spec(["-j", "RETURN"]));
        }
        p.ensure_jump(Table::Filter, "FORWARD", DOCKER_USER);
    }

    fn network(self, p: &mut Program, net: &FamilyNet) {
        match (self.engine, net.internal) {
            (Engine::V27, _) => {
                legacy::network(p, net, self.hairpin);
                // 27's setupIPTables ends by putting its isolation jump back on top of the
                // rules it just inserted into FORWARD; DOCKER-USER goes above it next.
                p.ensure_jump(Table::Filter, "FORWARD", ISOLATION_1);
            }
            (_, true) => internal_network(p, net, self.internal_chain()),
            (_, false) => self.external_network(p, net),
        }
    }

    /// `setupNonInternalNetworkRules`, `setDefaultForwardRule`, the DOCKER-CT and
    /// DOCKER-BRIDGE rules, and in 28 `setINC` (moby `iptabler/network.go`).
    fn external_network(self, p: &mut Program, net: &FamilyNet) {
        network_nat(p, net, self.hairpin, self.engine == Engine::V28);
        if !net.enable_icc {
            p.append(Table::Filter, DOCKER_FORWARD, intra_bridge(net, "DROP"));
        }
        if !net.is_nat() {
            // Appended, so it sits above this network's default DROP (usernet-portmap-routed).
            p.append(Table::Filter, DOCKER, routed_icmp_accept(net));
        }
        p.append(Table::Filter, DOCKER_FORWARD, outgoing_accept(net));
        p.append(Table::Filter, DOCKER, default_forward(net));
        p.append(Table::Filter, DOCKER_CT, established_accept(net));
        p.append(Table::Filter, DOCKER_BRIDGE, to_docker_chain(net));
        if self.engine == Engine::V28 {
            isolation(p, net, Op::Append);
        }
    }

    /// An endpoint's raw DROP of traffic routed straight to the container (28.2+
    /// `filterDirectAccess`): only for NAT-protected, non-internal networks.
    fn container(
        self,
        p: &mut Program,
        networks: &[Network],
        endpoints: &[Endpoint],
        family: Family,
    ) {
        if self.engine == Engine::V27 {
            return;
        }
        for ep in endpoints {
            let Some(net) = networks.get(ep.network) else {
                continue;
            };
            let ip = match family {
                Family::V4 => Some(IpAddress::Ipv4(ep.ip)),
                Family::V6 => ep.ip6.map(IpAddress::Ipv6),
            };
            let Some(ip) = ip else { continue };
            if !net.internal && net.gateway_mode(family) == GatewayMode::Nat {
                let net = FamilyNet { net, family };
                p.append(Table::Raw, "PREROUTING", direct_access_drop(&net, ip));
            }
        }
    }

    /// `setPerPortIptables` (28/29): loopback filter, DNAT, hairpin self-MASQUERADE, and the
    /// filter ACCEPT inserted above every DROP.
    fn published_port(self, p: &mut Program, net: &FamilyNet, b: &Binding) {
        if self.engine == Engine::V27 {
            return legacy::published_port(p, net, b, self.hairpin);
        }
        if b.host_port != 0 {
            // IPv4 only: ::1 is never routed off the host (no route_localnet for IPv6).
            if matches!(b.host_ip, IpAddress::Ipv4(ip) if ip.is_loopback()) {
                p.append(Table::Raw, "PREROUTING", loopback_port_drop(b));
            }
            p.append(Table::Nat, DOCKER, dnat(net, b, self.hairpin));
            if self.hairpin {
                p.append(Table::Nat, "POSTROUTING", self_masquerade(b));
            }
        }
        if !net.is_unprotected() {
            p.insert(Table::Filter, DOCKER, published_accept(net, b));
        }
    }
}

/// The daemon's nat jumps (`addNATJumpRules`), appended once. In hairpin mode the host's
/// own connections to its loopback addresses are DNATed too (the rule names no loopback
/// address, in either family).
pub(super) fn nat_jumps(p: &mut Program, hairpin: bool, family: Family) {
    let local = ["-m", "addrtype", "--dst-type", "LOCAL", "-j", DOCKER];
    p.append(Table::Nat, "PREROUTING", spec(local));
    let loopback = match family {
        Family::V4 => "127.0.0.0/8",
        Family::V6 => "::1/128",
    };
    let output = if hairpin {
        spec(local)
    } else {
        let [m, addrtype, dst, kind, j, docker] = local;
        spec(["!", "-d", loopback, m, addrtype, dst, kind, j, docker])
    };
    p.append(Table::Nat, "OUTPUT", output);
}

/// The nat rules of a network: MASQUERADE inserted (newest network first), the skip-DNAT
/// RETURN up to 28 (`return_rules`), and the hairpin MASQUERADE, inserted after the network's
/// own so it lands above it (usernet-portmap-noproxy).
pub(super) fn network_nat(p: &mut Program, net: &FamilyNet, hairpin: bool, return_rules: bool) {
    if net.is_nat() && net.enable_ip_masquerade {
        p.insert(Table::Nat, "POSTROUTING", masquerade(net));
    }
    if return_rules && skips_dnat(net, hairpin) {
        p.insert(Table::Nat, DOCKER, skip_dnat(net));
    }
    if hairpin {
        p.insert(Table::Nat, "POSTROUTING", hairpin_masquerade(net));
    }
}

/// `setupInternalNetworkRules`: two DROP rules inserted at the top (the outgoing one ends
/// up first), and the ICC rule appended to DOCKER-FORWARD (usernet-internal).
fn internal_network(p: &mut Program, net: &FamilyNet, chain: &str) {
    p.insert(Table::Filter, chain, internal_egress_drop(net));
    p.insert(Table::Filter, chain, internal_ingress_drop(net));
    let icc = if net.enable_icc { "ACCEPT" } else { "DROP" };
    p.append(Table::Filter, DOCKER_FORWARD, intra_bridge(net, icc));
}

/// How a rule joins its chain: at the end, or at the top.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Append,
    Insert,
}

/// `setINC`: traffic from this bridge to another goes to stage 2, which drops it if the
/// other is a bridge. Routed networks first let anything in and replies out. Stage 1 is
/// appended in 28 and inserted above the RETURN tail in 27; stage 2 is inserted in both.
pub(super) fn isolation(p: &mut Program, net: &FamilyNet, stage1: Op) {
    if !net.is_nat() {
        p.insert(
            Table::Filter,
            ISOLATION_1,
            spec(["-o", &net.bridge, "-j", "RETURN"]),
        );
        p.insert(Table::Filter, ISOLATION_1, established(["-i", &net.bridge]));
    }
    let to_stage2 = spec(["-i", &net.bridge, "!", "-o", &net.bridge, "-j", ISOLATION_2]);
    match stage1 {
        Op::Append => p.append(Table::Filter, ISOLATION_1, to_stage2),
        Op::Insert => p.insert(Table::Filter, ISOLATION_1, to_stage2),
    }
    p.insert(
        Table::Filter,
        ISOLATION_2,
        spec(["-o", &net.bridge, "-j", "DROP"]),
    );
}

/// Whether the nat DOCKER chain RETURNs the network's own traffic before DNAT: always for
/// routed networks; for NAT ones when masquerading with the userland proxy, which then
/// takes container-to-published-port traffic (moby 28 `setupNonInternalNetworkRules`).
pub(super) fn skips_dnat(net: &FamilyNet, hairpin: bool) -> bool {
    !net.is_nat() || (net.enable_ip_masquerade && !hairpin)
}

#[cfg(test)]
mod tests {
    use smoltcp::wire::{EthernetAddress, Ipv4Address};

    use super::*;
    use crate::docker::model::{Endpoint, PortMap, Proto};
    use crate::docker::ports::{PortAllocator, bind};

    /// The rule of a command, whatever adds or deletes it: (table, chain, spec).
    fn rule(argv: &[String]) -> (String, String, Vec<String>) {
        let skip = if argv[3] == "-I" { 6 } else { 5 };
        (argv[2].clone(), argv[4].clone(), argv[skip..].to_vec())
    }

    #[test]
    fn a_stopped_container_takes_exactly_its_rules_away() {
        for engine in [Engine::V27, Engine::V28, Engine::V29] {
            for proxy in [true, false] {
                let daemon = Daemon {
                    engine,
                    userland_proxy: proxy,
                    ..Daemon::default()
                };
                let net = Network::default_bridge("f".repeat(64));
                let c = Container {
                    name: "web".into(),
                    id: "a".repeat(64),
                    endpoints: vec![Endpoint {
                        network: 0,
                        ip: Ipv4Address::new(172, 17, 0, 2),
                        ip6: None,
                        mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
                    }],
                    publish: vec![PortMap {
                        host_port: 8080,
                        ctr_port: 80,
                        proto: Proto::Tcp,
                        host_ip: None,
                    }],
                };
                let nets = [net];
                let mut book = RuleBook::new(&daemon);
                book.network(&nets[0]);
                book.take_commands();
                let b = bind(&mut PortAllocator::new(), &daemon, &nets, 0, &c);
                book.endpoints(&nets, &c.endpoints, true);
                book.ports(&nets, &b, true);
                let up = book.take_commands();
                book.ports(&nets, &b, false);
                book.endpoints(&nets, &c.endpoints, false);
                let down = book.take_commands();
                assert!(!up.is_empty());
                assert!(down.iter().all(|d| d[3] == "-D"), "{down:?}");
                let mut added: Vec<_> = up.iter().map(|a| rule(a)).collect();
                let mut deleted: Vec<_> = down.iter().map(|d| rule(d)).collect();
                added.sort();
                deleted.sort();
                assert_eq!(added, deleted, "{engine:?} proxy {proxy}");
                // Started again: the same rules come back.
                book.endpoints(&nets, &c.endpoints, true);
                book.ports(&nets, &b, true);
                assert_eq!(book.take_commands(), up);
            }
        }
    }
}

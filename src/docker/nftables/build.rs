//! The rules of Docker's nftables tables, from the model: daemon start (`nftabler.go`
//! `init`), each network (`network.go` `configure`), each container's endpoints
//! (`endpoint.go` `filterDirectAccess`) and published ports (`port.go`), in that order.
//!
//! Docker files each rule under a rule group and keeps a chain's rules sorted by group,
//! each group in the order its rules were added; [`Rules`] does the same, so the order of
//! the chains' rules is Docker's whatever order the model is replayed in.

use super::{BaseChain, Chain, Family, Table, VerdictMap};
use crate::docker::model::{Container, Daemon, Endpoint, GatewayMode, Network};
use crate::docker::ports::{Binding, port_bindings};
use crate::docker::specs::FamilyNet;
use smoltcp::wire::IpAddress;

const FORWARD: &str = "filter-FORWARD";
const NAT_OUTPUT: &str = "nat-OUTPUT";
const NAT_POSTROUTING: &str = "nat-POSTROUTING";
const NAT_PREROUTING: &str = "nat-PREROUTING";
/// Where both nat base chains send local destinations: the DNAT rules.
const NAT_CHAIN: &str = "nat-prerouting-and-output";
const RAW_PREROUTING: &str = "raw-PREROUTING";
const FWD_IN_MAP: &str = "filter-forward-in-jumps";
const FWD_OUT_MAP: &str = "filter-forward-out-jumps";
const POST_IN_MAP: &str = "nat-postrouting-in-jumps";
const POST_OUT_MAP: &str = "nat-postrouting-out-jumps";

/// Docker's rule groups (`nftabler.go`): the initial group everywhere, then in
/// `filter-forward-in__BR` the accept-fwmark, legacy-links, ICC, ports and final groups,
/// and in `raw-PREROUTING` the ports group (direct-access and loopback drops).
const INITIAL: u8 = 0;
const FWD_IN_ICC: u8 = 3;
const FWD_IN_PORTS: u8 = 4;
const FWD_IN_FINAL: u8 = 5;
const RAW_PORTS: u8 = 1;

/// The tables Docker 29 with the nftables backend has installed for this host: `ip` then
/// `ip6`, each a pure function of the model; none with `--iptables=false`.
pub fn docker_tables(
    daemon: &Daemon,
    networks: &[Network],
    containers: &[Container],
) -> Vec<Table> {
    let bindings = port_bindings(daemon, networks, containers);
    docker_tables_bound(daemon, networks, containers, &bindings)
}

/// [`docker_tables`] with the host ports already bound (a host whose containers started
/// and stopped in some order holds the ports each took then, which a replay from nothing
/// would not give back): `bindings[i].container` indexes `containers`, and a stopped
/// container is one without endpoints or bindings.
pub fn docker_tables_bound(
    daemon: &Daemon,
    networks: &[Network],
    containers: &[Container],
    bindings: &[Binding],
) -> Vec<Table> {
    if !daemon.iptables {
        return Vec::new();
    }
    let hairpin = !daemon.userland_proxy;
    [Family::Ip, Family::Ip6]
        .into_iter()
        .map(|family| {
            let mine = family.model();
            let mut t = Builder::new(family, hairpin);
            // Docker configures nothing in the ip6 table for a network without an IPv6
            // subnet (`configure` returns early without a prefix).
            for net in networks.iter().filter(|n| n.has(mine)) {
                t.network(&FamilyNet { net, family: mine });
            }
            for (ci, c) in containers.iter().enumerate() {
                t.endpoints(networks, &c.endpoints);
                // `[::]` served by docker-proxy alone has no rule.
                let bound = bindings
                    .iter()
                    .filter(|b| b.container == ci && b.family() == mine && !b.proxy_only());
                t.ports(networks, bound);
            }
            t.finish()
        })
        .collect()
}

/// A chain's rules with their groups, kept in Docker's order.
#[derive(Default)]
struct Rules(Vec<(u8, String)>);

impl Rules {
    /// After every rule of its group or an earlier one.
    fn add(&mut self, group: u8, rule: String) {
        let at = self
            .0
            .iter()
            .position(|(g, _)| *g > group)
            .unwrap_or(self.0.len());
        self.0.insert(at, (group, rule));
    }

    /// As [`Rules::add`], unless the same rule is there already: Docker ignores "rule
    /// exists" for the per-port accept and hairpin masquerade, which two host ports mapped
    /// to one container port both ask for.
    fn add_once(&mut self, group: u8, rule: String) {
        if !self.0.iter().any(|(_, r)| *r == rule) {
            self.add(group, rule);
        }
    }
}

struct Builder {
    family: Family,
    hairpin: bool,
    maps: Vec<VerdictMap>,
    chains: Vec<(String, Option<BaseChain>, Rules)>,
}

impl Builder {
    /// The daemon starts (`init`): maps, base chains and the NAT chain, named in sorted
    /// order as Docker writes them.
    fn new(family: Family, hairpin: bool) -> Builder {
        let maps = [FWD_IN_MAP, FWD_OUT_MAP, POST_IN_MAP, POST_OUT_MAP]
            .map(|name| VerdictMap {
                name: name.to_string(),
                elements: Vec::new(),
            })
            .to_vec();
        let mut b = Builder {
            family,
            hairpin,
            maps,
            chains: Vec::new(),
        };
        let base = |kind, hook, priority| {
            Some(BaseChain {
                kind,
                hook,
                priority,
                policy: "accept",
            })
        };
        b.chain(FORWARD, base("filter", "forward", 0));
        b.chain(NAT_OUTPUT, base("nat", "output", -100));
        b.chain(NAT_POSTROUTING, base("nat", "postrouting", 100));
        b.chain(NAT_PREROUTING, base("nat", "prerouting", -100));
        b.chain(NAT_CHAIN, None);
        b.chain(RAW_PREROUTING, base("filter", "prerouting", -300));
        b.rule(FORWARD, INITIAL, format!("oifname vmap @{FWD_IN_MAP}"));
        b.rule(FORWARD, INITIAL, format!("iifname vmap @{FWD_OUT_MAP}"));
        b.rule(
            NAT_POSTROUTING,
            INITIAL,
            format!("iifname vmap @{POST_OUT_MAP}"),
        );
        b.rule(
            NAT_POSTROUTING,
            INITIAL,
            format!("oifname vmap @{POST_IN_MAP}"),
        );
        let to_nat = format!("fib daddr type local counter jump {NAT_CHAIN}");
        b.rule(NAT_PREROUTING, INITIAL, to_nat.clone());
        // With the proxy, the host's own connections to loopback are the proxy's to take.
        let output = match (hairpin, family) {
            (true, _) => to_nat,
            (false, Family::Ip) => format!("ip daddr != 127.0.0.0/8 {to_nat}"),
            (false, Family::Ip6) => format!("ip6 daddr != ::1 {to_nat}"),
        };
        b.rule(NAT_OUTPUT, INITIAL, output);
        b
    }

    fn chain(&mut self, name: &str, base: Option<BaseChain>) {
        self.chains.push((name.to_string(), base, Rules::default()));
    }

    fn rules(&mut self, chain: &str) -> &mut Rules {
        let at = match self.chains.iter().position(|(n, _, _)| n == chain) {
            Some(at) => at,
            None => {
                self.chain(chain, None);
                self.chains.len() - 1
            }
        };
        &mut self.chains[at].2
    }

    fn rule(&mut self, chain: &str, group: u8, rule: String) {
        self.rules(chain).add(group, rule);
    }

    fn element(&mut self, map: &str, bridge: &str, chain: &str) {
        if let Some(m) = self.maps.iter_mut().find(|m| m.name == map) {
            m.elements
                .push((bridge.to_string(), format!("jump {chain}")));
        }
    }

    fn fam(&self) -> &'static str {
        self.family.as_str()
    }

    /// A network is created (`configure`), for this table's family.
    fn network(&mut self, net: &FamilyNet) {
        let br = net.bridge.as_str();
        let [fwd_in, fwd_out, post_in, post_out] = [
            "filter-forward-in",
            "filter-forward-out",
            "nat-postrouting-in",
            "nat-postrouting-out",
        ]
        .map(|c| format!("{c}__{br}"));
        for (chain, map) in [
            (&fwd_in, FWD_IN_MAP),
            (&fwd_out, FWD_OUT_MAP),
            (&post_in, POST_IN_MAP),
            (&post_out, POST_OUT_MAP),
        ] {
            self.chain(chain, None);
            self.element(map, br, chain);
        }
        let ct = "ct state established,related counter accept".to_string();
        self.rule(&fwd_in, INITIAL, ct.clone());
        self.rule(&fwd_out, INITIAL, ct);
        let icc = if net.enable_icc { "accept" } else { "drop" };
        if net.internal {
            let ingress =
                format!("iifname != \"{br}\" counter drop comment \"INTERNAL NETWORK INGRESS\"");
            let egress =
                format!("oifname != \"{br}\" counter drop comment \"INTERNAL NETWORK EGRESS\"");
            self.rule(&fwd_in, INITIAL, ingress);
            self.rule(&fwd_out, INITIAL, egress);
            self.rule(
                &fwd_in,
                FWD_IN_ICC,
                format!("counter {icc} comment \"ICC\""),
            );
            return;
        }
        let icc_rule = format!("iifname \"{br}\" counter {icc} comment \"ICC\"");
        self.rule(&fwd_in, FWD_IN_ICC, icc_rule);
        self.rule(
            &fwd_out,
            INITIAL,
            "counter accept comment \"OUTGOING\"".to_string(),
        );
        let last = match net.is_unprotected() {
            true => "counter accept comment \"UNPROTECTED\"",
            false => "counter drop comment \"UNPUBLISHED PORT DROP\"",
        };
        self.rule(&fwd_in, FWD_IN_FINAL, last.to_string());
        let routed = !net.is_nat();
        if routed {
            let icmp = match self.family {
                Family::Ip => "ip protocol icmp",
                Family::Ip6 => "meta l4proto ipv6-icmp",
            };
            self.rule(
                &fwd_in,
                INITIAL,
                format!("{icmp} counter accept comment \"ICMP\""),
            );
        }
        // SNAT to com.docker.network.host_ipv4 where set, else masquerade.
        let (verdict, comment) = match net.snat_to() {
            Some(ip) => (format!("snat to {ip}"), "SNAT"),
            None => ("masquerade".to_string(), "MASQUERADE"),
        };
        if net.enable_ip_masquerade && !routed {
            let subnet = net.subnet();
            let fam = self.fam();
            let rule = format!(
                "oifname != \"{br}\" {fam} saddr {subnet} counter {verdict} comment \"{comment}\""
            );
            self.rule(&post_out, INITIAL, rule);
        }
        if self.hairpin {
            let rule =
                format!("fib saddr type local counter {verdict} comment \"{comment} FROM HOST\"");
            self.rule(&post_in, INITIAL, rule);
        }
    }

    /// A container's endpoints are created (`filterDirectAccess`): only NAT-protected,
    /// non-internal networks drop traffic routed straight to the container.
    fn endpoints(&mut self, networks: &[Network], endpoints: &[Endpoint]) {
        for ep in endpoints {
            let Some(net) = networks.get(ep.network) else {
                continue;
            };
            let (mode, ip) = match self.family {
                Family::Ip => (net.gateway_mode_ipv4, IpAddress::from(ep.ip)),
                Family::Ip6 => match ep.ip6 {
                    Some(ip6) if net.ipv6.is_some() => (net.gateway_mode_ipv6, ip6.into()),
                    _ => continue,
                },
            };
            if net.internal || mode != GatewayMode::Nat {
                continue;
            }
            let rule = format!(
                "{} daddr {ip} iifname != \"{}\" counter drop comment \"DROP DIRECT ACCESS\"",
                self.fam(),
                net.bridge
            );
            self.rule(RAW_PREROUTING, RAW_PORTS, rule);
        }
    }

    /// A container's ports are published (`setPerPortRules`): each step for every binding
    /// before the next step, as Docker does.
    fn ports<'a>(&mut self, networks: &[Network], bindings: impl Iterator<Item = &'a Binding>) {
        let bindings: Vec<(&Network, &Binding)> = bindings
            .filter_map(|b| Some((networks.get(b.network)?, b)))
            .filter(|(net, _)| !net.internal)
            .collect();
        let fam = self.fam();
        let mine = self.family.model();
        for (net, b) in &bindings {
            let net = FamilyNet { net, family: mine };
            if !net.is_unprotected() {
                let (ip, proto, port) = (b.ctr_ip, b.proto.as_str(), b.ctr_port);
                let rule = format!("{fam} daddr {ip} {proto} dport {port} counter accept");
                let chain = format!("filter-forward-in__{}", net.bridge);
                self.rules(&chain).add_once(FWD_IN_PORTS, rule);
            }
        }
        let mapped = || bindings.iter().filter(|(_, b)| b.host_port != 0);
        for (net, b) in mapped() {
            let rule = self.dnat(net, b);
            self.rule(NAT_CHAIN, INITIAL, rule);
        }
        if self.hairpin {
            for (net, b) in mapped() {
                let (ip, proto, port) = (b.ctr_ip, b.proto.as_str(), b.ctr_port);
                let rule = format!(
                    "{fam} saddr {ip} {fam} daddr {ip} {proto} dport {port} counter masquerade comment \"MASQ TO OWN PORT\""
                );
                let chain = format!("nat-postrouting-in__{}", net.bridge);
                self.rules(&chain).add_once(INITIAL, rule);
            }
        }
        // IPv6 has no `route_localnet`: the kernel drops what comes for `::1` from outside.
        let v4_loopback = |b: &Binding| matches!(b.host_ip, IpAddress::Ipv4(a) if a.is_loopback());
        for (_, b) in mapped().filter(|(_, b)| v4_loopback(b)) {
            let rule = format!(
                "iifname != \"lo\" {fam} daddr {} {} dport {} counter drop comment \"DROP REMOTE LOOPBACK\"",
                b.host_ip,
                b.proto.as_str(),
                b.host_port
            );
            self.rule(RAW_PREROUTING, RAW_PORTS, rule);
        }
    }

    /// `setPerPortDNAT`: with the proxy, traffic from the container's own bridge is left to
    /// the proxy; IPv6 from a link-local source is not DNATed (the container could not
    /// answer it); a specific host address is matched, the wildcard is not.
    fn dnat(&self, net: &Network, b: &Binding) -> String {
        let mut rule = String::new();
        if !self.hairpin {
            rule.push_str(&format!("iifname != \"{}\" ", net.bridge));
        }
        if self.family == Family::Ip6 {
            rule.push_str("ip6 saddr != fe80::/10 ");
        }
        if !b.host_ip.is_unspecified() {
            rule.push_str(&format!("{} daddr {} ", self.fam(), b.host_ip));
        }
        let to = match b.ctr_ip {
            IpAddress::Ipv4(ip) => format!("{ip}:{}", b.ctr_port),
            IpAddress::Ipv6(ip) => format!("[{ip}]:{}", b.ctr_port),
        };
        rule.push_str(&format!(
            "{} dport {} counter dnat to {to} comment \"DNAT\"",
            b.proto.as_str(),
            b.host_port,
        ));
        rule
    }

    fn finish(self) -> Table {
        Table {
            family: self.family,
            maps: self.maps,
            chains: self
                .chains
                .into_iter()
                .map(|(name, base, rules)| Chain {
                    name,
                    base,
                    rules: rules.0.into_iter().map(|(_, r)| r).collect(),
                })
                .collect(),
        }
    }
}

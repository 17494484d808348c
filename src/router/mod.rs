//! A Linux-like router host: interfaces with addresses, `ip_forward`, a routing table, its own
//! neighbour table with the kernel's states, ARP, and the IPv4 receive and forward paths.
//!
//! Receive path, in the kernel's order: a unicast frame for another MAC is dropped; the IPv4
//! header is checked (version, length, checksum); PREROUTING runs; a 127.0.0.0/8 address is
//! a martian unless the interface has `route_localnet`; a packet for one of the router's
//! addresses (any interface: the weak host model) or a broadcast passes INPUT and is
//! delivered locally (to a program of the router's own stack that takes it, see `local.rs`;
//! else echo requests answered, UDP to a closed port answered with port unreachable, TCP
//! with a reset);
//! otherwise, with forwarding on, the route is looked up (none: ICMP network unreachable),
//! then TTL is checked before forwarding (TTL <= 1: ICMP time exceeded), then the egress MTU
//! (DF set: ICMP fragmentation needed), then TTL is decremented and the packet goes to the
//! next hop once ARP resolves it. ICMP errors quote the datagram byte for byte, are never sent
//! about ICMP errors or broadcasts, and are rate limited per destination.

mod addr;
mod br_netfilter;
pub use br_netfilter::BridgeChain;
mod brctl;
mod explain;
pub mod icmp;
pub mod ipv6;
pub mod links;
mod local;
pub mod neigh;
mod neigh_cmd;
pub mod netns;
mod nft_cmd;
pub mod policy;
pub mod route;
pub mod sysctl;
mod tables;
pub mod vlan;

use std::any::Any;

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, IpAddress, IpProtocol, Ipv4Address,
    Ipv4Cidr, Ipv4Packet,
};

use crate::link::ETH_HEADER_LEN;
use crate::listing::iproute::{self, LinkInfo, NeighInfo};
use crate::netfilter::base::Family;
use crate::netfilter::hooks::{ChainOutcome, Cx, Env, Fate, Netfilter, Notes, Outcome, Rules};
use crate::netfilter::rules::{IptablesVersion, Tables, TraceEvent};
use crate::netfilter::{AddrType, Hook, PacketView, RejectWith, Table, Verdict};
use crate::rand::Rng;
use crate::sim::{CmdId, CmdResult, Ctx, DropReason, Node, Note, PacketTag, PortView};
use crate::time::Instant;
pub use explain::{RuleStep, TableWalk};
use neigh::{Action, NeighTable, Resolve};
use route::RouteCmd;
pub use vlan::VlanConfig;

#[derive(Clone, Debug)]
pub struct RouterIface {
    pub name: String,
    pub mac: EthernetAddress,
    pub addrs: Vec<Ipv4Cidr>,
    pub mtu: u32,
    /// IPv6: None when off on the interface, else its addresses. A configuration gives
    /// the static ones; the namespace keeps them in the kernel's order with the link-local
    /// address it adds (see `ipv6::iface_addrs`).
    pub ipv6: Option<Vec<smoltcp::wire::Ipv6Cidr>>,
}

#[derive(Clone, Debug)]
pub struct RouterConfig {
    pub name: String,
    pub ifaces: Vec<RouterIface>,
    pub forwarding: bool,
    pub routes: Vec<RouteCmd>,
    /// Which iptables the listings imitate.
    pub iptables_version: IptablesVersion,
    /// `iptables ...` command lines applied at start, in order.
    pub iptables: Vec<Vec<String>>,
}

/// Counters as `netstat -s` groups them.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RouterCounters {
    pub forwarded: u64,
    pub delivered: u64,
    pub header_errors: u64,
    pub no_route: u64,
    pub ttl_expired: u64,
    pub icmp_sent: u64,
    pub icmp_rate_limited: u64,
}

/// A router's conntrack table at the end of a run (`--json`'s `conntrack`).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ConntrackSummary {
    pub node: String,
    /// Flows in the table (`net.netfilter.nf_conntrack_count`).
    pub count: u64,
    /// `net.netfilter.nf_conntrack_max`.
    pub max: u64,
    /// New flows dropped because the table was full (`drop` in `conntrack -S`; each logged
    /// as `nf_conntrack: table full, dropping packet`).
    pub table_full_drops: u64,
    /// New flows dropped because another flow held their tuple (`insert_failed`).
    pub insert_failed: u64,
}

/// The router's iptables tables, and the kernel log their LOG rules write to (`dmesg`).
pub struct RuleSet {
    pub tables: Tables,
    /// The ip6tables tables, which IPv6 packets meet where IPv4 ones meet `tables`.
    pub tables6: Tables,
    /// `[seconds] line`, as dmesg prints it; bounded like the kernel's ring buffer.
    pub log: std::collections::VecDeque<String>,
    /// Something reads the current frame's notes (a capture comment, a trace): the chains
    /// say what decided at each table (drops, rejects, NAT rules, the rule that accepted a
    /// new flow).
    pub detail: bool,
    /// How often kernel messages other than LOG rules' may be printed.
    ratelimit: NetRatelimit,
    /// While tracing, each table's walk with its rules' counters (`hoplab explain`).
    pub walks: Option<Vec<TableWalk>>,
    /// The nftables ruleset (`nft`), whose base chains run among the iptables tables.
    pub nft: crate::nft::Nft,
    /// The iptables tables, and per nft table, whose rules read address classes: found
    /// when a packet first asks after the rules changed (a lab's build changes them many
    /// times with no packet between).
    addr_types_read: std::cell::OnceCell<AddrTypesRead>,
}

/// The iptables and ip6tables tables whose rules read address classes, and per nft table
/// whether its rules do.
type AddrTypesRead = (Vec<(Family, Table)>, Vec<bool>);

impl RuleSet {
    fn addr_types_read(&self) -> &AddrTypesRead {
        self.addr_types_read.get_or_init(|| {
            let tables = [Table::Filter, Table::Nat, Table::Mangle, Table::Raw];
            (
                Family::ALL
                    .into_iter()
                    .flat_map(|f| tables.map(|t| (f, t)))
                    .filter(|&(f, t)| self.family(f).reads_addr_types(t))
                    .collect(),
                self.nft.tables_reading_addr_types(),
            )
        })
    }

    /// The tables of a family: iptables' or ip6tables'.
    pub fn family(&self, family: Family) -> &Tables {
        match family {
            Family::Ipv4 => &self.tables,
            Family::Ipv6 => &self.tables6,
        }
    }

    /// [`RuleSet::family`], to change.
    pub fn family_mut(&mut self, family: Family) -> &mut Tables {
        match family {
            Family::Ipv4 => &mut self.tables,
            Family::Ipv6 => &mut self.tables6,
        }
    }
}

/// What the router's netfilter hooks run on.
pub struct Filtering {
    pub nf: Netfilter,
    pub rules: RuleSet,
    /// `net.bridge.bridge-nf-call-iptables` (br_netfilter loaded and on).
    pub bridge_nf: bool,
    /// `net.bridge.bridge-nf-call-ip6tables`: bridged IPv6 through ip6tables.
    pub bridge_nf6: bool,
    /// nftables' `bridge` family filter chains, in priority order (see `br_netfilter`).
    pub bridge_chains: Vec<BridgeChain>,
}

impl Filtering {
    /// Keeps netfilter's per-hook "every chain accepts" flags true to the rules: called
    /// after anything that may change them (a command, tracing on or off).
    fn rules_changed(&mut self) {
        self.rules.addr_types_read.take();
        self.nf.rules_changed(&self.rules);
    }
}

/// An ip6tables command line (`ip6tables`, `ip6tables-save`, `ip6tables-restore`, ...).
fn is_ip6tables(argv: &[String]) -> bool {
    argv.first().is_some_and(|a| a.starts_with("ip6tables"))
}

/// Lines the kernel log keeps (its ring buffer is bounded too).
const LOG_LINES: usize = 10_000;

impl Rules for RuleSet {
    fn passes_all(&self, family: Family, table: Table, hook: Hook) -> bool {
        self.family(family).passes_all(table, hook)
    }

    fn tracks(&self, family: Family) -> bool {
        match family {
            Family::Ipv4 => true,
            Family::Ipv6 => self.tables6.needs_conntrack() || self.nft.tracks_ipv6(),
        }
    }

    fn passes_all_nft(&self, chain: u32) -> bool {
        self.nft.passes_all(crate::nft::ChainRef(chain))
    }

    fn reads_addr_types(&self, family: Family, table: Table) -> bool {
        self.addr_types_read().0.contains(&(family, table))
    }

    fn reads_addr_types_nft(&self, chain: u32) -> bool {
        let table = crate::nft::ChainRef(chain).table();
        self.addr_types_read().1.get(table).copied().unwrap_or(true)
    }

    fn run_nft(
        &mut self,
        chain: u32,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn crate::netfilter::ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome {
        let logged = notes.logs().len();
        let out = self
            .nft
            .run(crate::nft::ChainRef(chain), hook, pkt, now, conns, notes);
        // `log` statements write to the kernel log too.
        for line in &notes.logs()[logged..] {
            dmesg(&mut self.log, now, line);
        }
        out
    }

    fn kernel_log(&mut self, now: Instant, line: &str) {
        let (print, suppressed) = self.ratelimit.allow(now);
        if suppressed > 0 {
            dmesg(
                &mut self.log,
                now,
                &format!("net_ratelimit: {suppressed} callbacks suppressed"),
            );
        }
        if print {
            dmesg(&mut self.log, now, line);
        }
        // The frame's comment says why it was dropped whether or not the log printed.
    }

    fn run(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn crate::netfilter::ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome {
        let outcome = self.run_logged(table, hook, pkt, now, conns, notes);
        let verdict = outcome.verdict;
        let detail = self.detail;
        let tables = match pkt.is_v6() {
            true => &mut self.tables6,
            false => &mut self.tables,
        };
        let queued = tables.take_notes();
        if detail {
            for q in queued {
                notes.decision(q.into());
            }
        }
        if tables.tracing() {
            return outcome;
        }
        if detail {
            let new = pkt
                .ct
                .is_some_and(|c| c.state == crate::netfilter::CtState::New);
            let what = match verdict {
                Verdict::Drop => Some("dropped by"),
                Verdict::Reject(_) => Some("rejected by"),
                Verdict::Nat(_) => Some("NAT by"),
                Verdict::Accept if new && tables.decided.is_some() => {
                    Some("new connection accepted by")
                }
                _ => None,
            };
            if let Some(what) = what {
                let decision = tables.decision(table, hook);
                let text = format!("{} {}: {what} {decision}", table.name(), hook.chain_name());
                notes.decision(text.into());
            }
        }
        outcome
    }
}

/// Appends a line to the kernel log as dmesg prints it, `[seconds.micros] text`, the oldest
/// line going once the ring is full.
fn dmesg(log: &mut std::collections::VecDeque<String>, now: Instant, text: &str) {
    let ns = now.nanos();
    if log.len() >= LOG_LINES {
        log.pop_front();
    }
    log.push_back(format!(
        "[{:>5}.{:06}] {text}",
        ns / 1_000_000_000,
        (ns % 1_000_000_000) / 1000
    ));
}

/// The kernel's `net_ratelimit()`: at most `BURST` messages each `INTERVAL`
/// (net.core.message_burst = 10, net.core.message_cost = 5 s); what it holds back is counted
/// and said at the start of the next interval, as `net_ratelimit: N callbacks suppressed`.
#[derive(Default)]
struct NetRatelimit {
    start: Option<Instant>,
    printed: u32,
    suppressed: u32,
}

impl NetRatelimit {
    const BURST: u32 = 10;
    const INTERVAL: crate::time::Duration = crate::time::Duration::from_secs(5);

    /// Whether a message may be printed now, and the suppressed count to say first.
    fn allow(&mut self, now: Instant) -> (bool, u32) {
        let mut said = 0;
        if self.start.is_none_or(|s| now >= s + Self::INTERVAL) {
            said = std::mem::take(&mut self.suppressed);
            self.start = Some(now);
            self.printed = 0;
        }
        if self.printed < Self::BURST {
            self.printed += 1;
            (true, said)
        } else {
            self.suppressed += 1;
            (false, said)
        }
    }
}

impl RuleSet {
    /// Runs a chain, writing what LOG rules log to the kernel log and the frame's notes.
    fn run_logged(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn crate::netfilter::ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome {
        let log = &mut self.log;
        let tables = match pkt.is_v6() {
            true => &mut self.tables6,
            false => &mut self.tables,
        };
        // Rules met while tracing: (chain, rule number, matched); a policy as rule 0.
        let mut path: Vec<(String, usize, bool)> = Vec::new();
        let mut policy = "ACCEPT";
        let outcome = tables.run_outcome(table, hook, pkt, now, conns, &mut |ev| match ev {
            TraceEvent::Log(line) => {
                let text = line.to_string();
                dmesg(log, now, &text);
                notes.log(text.into());
            }
            TraceEvent::Rule {
                chain,
                rule,
                matched,
                ..
            } => path.push((chain.to_string(), rule, matched)),
            TraceEvent::Policy { chain, verdict, .. } => {
                policy = verdict_name(verdict);
                path.push((chain.to_string(), 0, true))
            }
            _ => {}
        });
        let verdict = outcome.verdict;
        if tables.tracing()
            && let Some(walks) = self.walks.as_mut()
        {
            let v = verdict_name(verdict);
            walks.push(explain::walk(tables, table, hook, &path, policy, v));
        }
        if tables.tracing() {
            let steps: Vec<String> = path
                .iter()
                .map(|(chain, rule, matched)| match (rule, matched) {
                    (0, _) => format!("{chain} policy"),
                    (n, false) => format!("{chain} #{n} no match"),
                    (n, true) => format!(
                        "{chain} #{n} {}",
                        tables.rule_text(table, chain, *n).unwrap_or_default()
                    ),
                })
                .collect();
            let text = format!(
                "{} {}: {} => {}",
                table.name(),
                hook.chain_name(),
                if steps.is_empty() {
                    "no rule".to_string()
                } else {
                    steps.join(", ")
                },
                verdict_name(verdict)
            );
            notes.decision(text.into());
        }
        outcome
    }
}

/// A verdict as a trace names it.
fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "ACCEPT",
        Verdict::Drop => "DROP",
        Verdict::Reject(_) => "REJECT",
        Verdict::Nat(crate::netfilter::NatAction::Masquerade { .. }) => "MASQUERADE",
        Verdict::Nat(crate::netfilter::NatAction::Snat { .. }) => "SNAT",
        Verdict::Nat(crate::netfilter::NatAction::Dnat { .. }) => "DNAT",
        Verdict::Nat(crate::netfilter::NatAction::Redirect { .. }) => "REDIRECT",
        Verdict::Nat(crate::netfilter::NatAction::Netmap { .. }) => "NETMAP",
    }
}

/// The name of the interface a locally generated packet leaves by (`None`: `lo`).
fn egress_name<'a>(ifaces: &'a [RouterIface], route: &Option<route::Route>) -> &'a str {
    route
        .as_ref()
        .map_or(local::LO, |r| ifaces[r.dev].name.as_str())
}

/// When tracing: the conntrack state PREROUTING found the packet in (`conntrack: NEW`).
fn note_conntrack(tr: &crate::netfilter::conntrack::Tracked, ctx: &mut Ctx<'_>) {
    if ctx.trace() {
        let dir = if tr.reply { ", reply direction" } else { "" };
        let state = format!("{:?}", tr.state).to_uppercase();
        ctx.note(Note::Decision(format!("conntrack: {state}{dir}").into()));
    }
}

impl RouterEnv<'_> {
    /// `-m addrtype` of an IPv6 address: the router's own (and `::1`) local, multicast,
    /// the unspecified address, else unicast (IPv6 has no broadcast).
    fn addr_type6(&self, a: smoltcp::wire::Ipv6Address) -> AddrType {
        if a.is_unspecified() {
            AddrType::Unspec
        } else if a.is_multicast() {
            AddrType::Multicast
        } else if a.is_loopback()
            || self.0.iter().any(|f| {
                f.ipv6
                    .as_ref()
                    .is_some_and(|v| v.iter().any(|c| c.address() == a))
            })
        {
            AddrType::Local
        } else {
            AddrType::Unicast
        }
    }
}

/// How the router's addresses look to `-m addrtype`, and its routes' MTUs to TCPMSS.
/// What the router's rules may ask of it: its interfaces, its routing, and its own
/// programs' sockets (`-m socket`).
struct RouterEnv<'a>(
    &'a [RouterIface],
    Option<policy::Routing<'a>>,
    Option<&'a crate::host::Stack>,
);

impl Env for RouterEnv<'_> {
    fn route_mtu(&self, addr: IpAddress) -> Option<u32> {
        let IpAddress::Ipv4(addr) = addr else {
            return None;
        };
        let key = policy::FlowKey::from_lo(None, addr, 0);
        let (route, _, _) = self.1?.lookup(&key)?;
        self.0.get(route.dev).map(|f| f.mtu)
    }

    fn reverse_path(
        &self,
        src: IpAddress,
        iif: &str,
        accept_local: bool,
        loose: bool,
    ) -> Option<bool> {
        let routing = self.1?;
        let IpAddress::Ipv4(src4) = src else {
            return None;
        };
        // The local table comes first: the router's own addresses (and 127.0.0.0/8).
        if self.addr_type(src) == AddrType::Local {
            return Some(accept_local);
        }
        // `rpfilter_mt`'s lookup: toward the source, from `lo`, through the policy rules.
        let key = policy::FlowKey::from_lo(None, src4, 0);
        let Some((route, _, _)) = routing.lookup(&key) else {
            return Some(false);
        };
        Some(loose || self.0.get(route.dev).is_some_and(|f| f.name == iif))
    }

    fn local_socket(
        &self,
        proto: u8,
        remote: (IpAddress, u16),
        local: (IpAddress, u16),
    ) -> Option<bool> {
        match (remote.0, local.0) {
            (IpAddress::Ipv4(r), IpAddress::Ipv4(l)) => {
                self.2?.net.socket_for(proto, (r, remote.1), (l, local.1))
            }
            _ => None,
        }
    }

    fn addr_type(&self, a: IpAddress) -> AddrType {
        let a = match a {
            IpAddress::Ipv4(a) => a,
            IpAddress::Ipv6(a) => return self.addr_type6(a),
        };
        if a.is_unspecified() {
            AddrType::Unspec
        } else if a.is_multicast() {
            AddrType::Multicast
        } else if a.is_loopback()
            || self
                .0
                .iter()
                .any(|f| f.addrs.iter().any(|c| c.address() == a))
        {
            // The local table holds 127.0.0.0/8 whole (`local 127.0.0.0/8 dev lo`).
            AddrType::Local
        } else if a.is_broadcast()
            || self
                .0
                .iter()
                .any(|f| f.addrs.iter().any(|c| c.broadcast() == Some(a)))
        {
            AddrType::Broadcast
        } else {
            AddrType::Unicast
        }
    }
}

pub struct Router {
    name: String,
    /// The namespace the router is: interfaces, addresses, routes, neighbours, sysctls.
    pub ns: netns::Namespace,
    /// Conntrack, NAT and the rules. The bridges whose device is one of the interfaces call
    /// in to run bridged IPv4 (IPv6) through them when `bridge-nf-call-iptables`
    /// (`-ip6tables`) is on (`br_netfilter`).
    filtering: Filtering,
    /// Interfaces whose bridge runs spanning tree (`brctl show`'s STP column).
    stp_bridges: Vec<usize>,
    limit: icmp::RateLimit,
    ident: u16,
    pub counters: RouterCounters,
    /// The router's own sockets and programs, built when the first program starts.
    stack: Option<crate::host::Stack>,
    /// True while the stack's output is being sent (see `flush_stack`).
    flushing: bool,
    seed: u64,
    /// Ports of the bridges whose device is one of the interfaces (`master docker0`), as
    /// its listings show them after its own interfaces.
    members: Vec<BridgeMember>,
    /// Installed tools, by name.
    clis: Vec<(String, Box<dyn Cli>)>,
    /// The Ethernet header of the frame being handled (LOG's `MAC=`).
    rx_mac: Option<[u8; 14]>,
    /// The interface the frame being handled came in on (where an ICMPv6 error about it
    /// to a link-local source goes back).
    rx_dev: Option<usize>,
}

/// A command-line tool installed on the router that reports state kept outside its network
/// stack, such as a Docker host's `docker` CLI. It reads; it never sends.
pub trait Cli {
    /// Runs `argv` (whose first word is the tool's name) at `now`: exit code and output.
    fn run(&mut self, now: Instant, argv: &[String]) -> (i32, String);
}

/// A port of a bridge whose device is one of the router's interfaces.
#[derive(Clone, Debug)]
pub struct BridgeMember {
    /// The interface that is the bridge's device.
    pub master: usize,
    pub name: String,
    pub mac: EthernetAddress,
    pub ifindex: u32,
}

/// A command a router runs.
#[derive(Clone, Debug, PartialEq)]
pub enum RouterCmd {
    Route(RouteCmd),
    /// `ip -6 route add|del|replace ...` (or `ip route ...` with an IPv6 prefix).
    Route6(ipv6::route6::Route6Cmd),
    /// `ip -6 addr add|del|flush ...` (or `ip addr add|del` with an IPv6 address).
    Addr6(ipv6::addr6::Addr6Cmd),
    /// `ip rule add|del|flush ...`, the words after `ip rule`.
    Rule(Vec<String>),
    /// `ip neigh add|replace|change|del|flush ...`, the words after `ip neigh`; true after
    /// `ip -6 neigh`.
    Neigh(Vec<String>, bool),
    /// `sysctl [-w] [-a] [-n|-N] [-r RE] KEY[=VALUE]...` (see `sysctl.rs`).
    Sysctl(sysctl::SysctlArgs),
    /// `conntrack -L|-F|-C ...`, the words after `conntrack`.
    Conntrack(Vec<String>),
    /// `iptables ...`, `iptables-restore` (rules from the step's input), `iptables-save`.
    Iptables(Vec<String>),
    /// `nft ...` (`nft -f -` reads the step's input).
    Nft(Vec<String>),
    /// A program for the router's own stack (`ping`, `curl`, `http-server`, ...).
    Program,
    /// An installed tool (`docker ...` on a Docker host).
    Cli,
    /// `ip addr add|del|flush ...`, the words after `ip addr`.
    Addr(Vec<String>),
    /// `cat /proc/sys/KEY/PATH` or `echo VALUE > /proc/sys/KEY/PATH`: a sysctl by its file.
    ProcSys(String, Option<String>),
    /// `ip netns ...`, `ip link add|set|del ...`: they change the lab's topology, so the
    /// lab's runner carries them out (see `scenario::netns`).
    Topology,
    /// `ip link add ... type vlan ...`, the words after `ip link`: a VLAN device, which the
    /// lab's runner gives a port before the router makes it (see `vlan`).
    Link(Vec<String>),
}

/// Parses a router command: `ip route add|del|replace ...`, `sysctl [-w] net.ipv4.ip_forward[=N]`.
pub fn parse_command(argv: &[String]) -> Result<RouterCmd, String> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["ip", "rule" | "ru", "add" | "del" | "delete" | "flush", ..] => {
            let rest = &words[2..];
            if rest != ["flush"] {
                policy::parse_rule_cmd(rest).map_err(|e| e.trim_end().to_string())?;
            }
            Ok(RouterCmd::Rule(argv[2..].to_vec()))
        }
        [
            "ip",
            "-6",
            "route" | "r",
            "add" | "append" | "del" | "delete" | "replace" | "change",
            ..,
        ] => ipv6::route6::parse(&words[3..]).map(RouterCmd::Route6),
        // iproute2 takes the family from the addresses when `-6` is left out.
        [
            "ip",
            "route" | "r",
            "add" | "append" | "del" | "delete" | "replace" | "change",
            ..,
        ] if ipv6::route6::is_ipv6_line(&words[2..]) => {
            ipv6::route6::parse(&words[2..]).map(RouterCmd::Route6)
        }
        ["ip", "route" | "r", ..] => route::parse_route_cmd(&words).map(RouterCmd::Route),
        [
            "ip",
            "-6",
            "addr" | "a" | "address",
            "add" | "del" | "delete" | "replace" | "change" | "flush",
            ..,
        ] => ipv6::addr6::parse(&words[3..]).map(RouterCmd::Addr6),
        [
            "ip",
            "addr" | "a" | "address",
            "add" | "del" | "delete" | "replace" | "change",
            a,
            ..,
        ] if a.contains(':') => ipv6::addr6::parse(&words[2..]).map(RouterCmd::Addr6),
        ["ip", "addr" | "a" | "address", op, ..]
            if matches!(
                *op,
                "add" | "del" | "delete" | "flush" | "replace" | "change"
            ) =>
        {
            if matches!(*op, "add" | "del" | "delete") {
                addr::parse_addr_cmd(&words[2..])?;
            }
            Ok(RouterCmd::Addr(argv[2..].to_vec()))
        }
        ["cat", path] if path.starts_with("/proc/sys/") => Ok(RouterCmd::ProcSys(
            path["/proc/sys/".len()..].replace('/', "."),
            None,
        )),
        ["echo", value, ">", path] if path.starts_with("/proc/sys/") => Ok(RouterCmd::ProcSys(
            path["/proc/sys/".len()..].replace('/', "."),
            Some(value.to_string()),
        )),
        ["ip", "link" | "l", "add", ..] if words.windows(2).any(|p| p == ["type", "vlan"]) => {
            vlan::parse_link_cmd(&words[2..])?;
            Ok(RouterCmd::Link(argv[2..].to_vec()))
        }
        ["ip", "netns", ..]
        | ["ip", "link" | "l", "add" | "set" | "del" | "delete", ..]
        | ["brctl", "addbr" | "delbr" | "addif" | "delif", ..]
        | ["bridge", "vlan", "add" | "del" | "delete" | "set", ..] => Ok(RouterCmd::Topology),
        ["ip", "neigh" | "n" | "neighbour" | "neighbor", op, ..]
            if matches!(
                *op,
                "add" | "replace" | "change" | "del" | "delete" | "flush"
            ) =>
        {
            Ok(RouterCmd::Neigh(argv[2..].to_vec(), false))
        }
        ["ip", "-6", "neigh" | "n" | "neighbour" | "neighbor", op, ..]
            if matches!(
                *op,
                "add" | "replace" | "change" | "del" | "delete" | "flush"
            ) =>
        {
            Ok(RouterCmd::Neigh(argv[3..].to_vec(), true))
        }
        ["conntrack", rest @ ..] => {
            let args: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            conntrack_args(&args)?;
            Ok(RouterCmd::Conntrack(args))
        }
        [
            "iptables" | "iptables-restore" | "iptables-save" | "iptables-legacy" | "iptables-nft"
            | "ip6tables" | "ip6tables-restore" | "ip6tables-save" | "ip6tables-legacy"
            | "ip6tables-nft",
            ..,
        ] => Ok(RouterCmd::Iptables(argv.to_vec())),
        ["dmesg"] => Ok(RouterCmd::Iptables(argv.to_vec())),
        ["nft", ..] => Ok(RouterCmd::Nft(argv.to_vec())),
        ["cat", path] if path.starts_with("/proc/net/xt_recent/") => {
            Ok(RouterCmd::Iptables(argv.to_vec()))
        }
        ["ipset", ..] => Ok(RouterCmd::Iptables(argv.to_vec())),
        ["docker", ..] => Ok(RouterCmd::Cli),
        ["sysctl", ..] => sysctl::parse(&argv[1..]).map(RouterCmd::Sysctl),
        _ => crate::host::cmd::parse(argv)
            .map(|_| RouterCmd::Program)
            .map_err(|e| match e.contains("command not found") {
                true => format!(
                    "{e}; a router also runs `ip route ...`, `sysctl`, `iptables ...`, \
                     `iptables-restore`, `iptables-save`, `ip6tables ...`, \
                     `ip6tables-restore`, `ip6tables-save`, `conntrack ...`, `ipset ...`, \
                     `cat /proc/net/xt_recent/NAME`, `dmesg`"
                ),
                false => e,
            }),
    }
}

/// What `conntrack` is asked: list (with filters), flush or count.
#[derive(Debug, PartialEq, Eq)]
enum CtCmd {
    List(crate::netfilter::conntrack::ListFilter),
    Flush,
    Count,
    Stats,
}

fn conntrack_args(args: &[String]) -> Result<CtCmd, String> {
    let mut cmd = None;
    let mut filter = crate::netfilter::conntrack::ListFilter::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-L" | "--dump" => cmd = Some("L"),
            "-F" | "--flush" => cmd = Some("F"),
            "-C" | "--count" => cmd = Some("C"),
            "-S" | "--stats" => cmd = Some("S"),
            "-p" | "--proto" => {
                filter.proto = Some(match it.next().map(String::as_str) {
                    Some("tcp") => 6,
                    Some("udp") => 17,
                    Some("icmp") => 1,
                    Some("icmpv6") => 58,
                    other => {
                        return Err(format!(
                            "conntrack v1.4.7 (conntrack-tools): proto `{}' not found",
                            other.unwrap_or("")
                        ));
                    }
                })
            }
            "--src-nat" => filter.snat = true,
            "--dst-nat" => filter.dnat = true,
            "-f" | "--family" => {
                filter.family = Some(match it.next().map(String::as_str) {
                    Some("ipv4") => false,
                    Some("ipv6") => true,
                    other => {
                        return Err(format!(
                            "conntrack v1.4.7 (conntrack-tools): `{}' unsupported protocol\n\
                             Try `conntrack -h' or 'conntrack --help' for more information.",
                            other.unwrap_or("")
                        ));
                    }
                })
            }
            "-o" | "--output" => match it.next().map(String::as_str) {
                Some("extended") => filter.extended = true,
                other => {
                    return Err(format!(
                        "conntrack v1.4.7 (conntrack-tools): Bad parameter `{}'",
                        other.unwrap_or("")
                    ));
                }
            },
            "-n" => {}
            other => {
                return Err(format!(
                    "conntrack v1.4.7 (conntrack-tools): Bad parameter `{other}'"
                ));
            }
        }
    }
    match cmd {
        Some("L") | None => Ok(CtCmd::List(filter)),
        Some("F") => Ok(CtCmd::Flush),
        Some("S") => Ok(CtCmd::Stats),
        _ => Ok(CtCmd::Count),
    }
}

impl Router {
    /// The interface named `name`: its MAC and first address.
    pub fn iface(&self, name: &str) -> Option<&RouterIface> {
        self.ns.ifaces.iter().find(|i| i.name == name)
    }

    /// The MAC the router's neighbour table holds for `ip` on `dev`, if resolved.
    pub fn neighbour_mac(&self, dev: &str, ip: IpAddress) -> Option<EthernetAddress> {
        let dev = self.ns.ifaces.iter().position(|i| i.name == dev)?;
        match ip {
            IpAddress::Ipv4(ip) => self.ns.neigh.entry(ip, dev)?.mac,
            IpAddress::Ipv6(ip) => self.ns.v6.neigh.entry(ip, dev)?.mac,
        }
    }

    /// Readies the router for one packet `hoplab explain` sends: the packet starts with
    /// `mark`; with `established`, its flow is entered as one that has seen both directions
    /// (false when a flow already holds it, which then decides). Each table's walk is kept
    /// until [`Router::end_explain`].
    pub fn begin_explain(
        &mut self,
        now: Instant,
        mark: u32,
        established: Option<crate::netfilter::conntrack::Tuple>,
    ) -> bool {
        let f = &mut self.filtering;
        f.nf.rx_mark = mark;
        f.rules.walks = Some(Vec::new());
        match established {
            Some(t) => f.nf.conntrack.establish(now, t),
            None => false,
        }
    }

    /// The table walks recorded since [`Router::begin_explain`]; recording stops.
    pub fn end_explain(&mut self) -> Vec<TableWalk> {
        let f = &mut self.filtering;
        f.nf.rx_mark = 0;
        f.rules.walks.take().unwrap_or_default()
    }

    /// Runs `iptables`, `iptables-restore` (reading `input`), `iptables-save` or `dmesg`,
    /// or ip6tables' three on the IPv6 tables. An error comes with iptables' exit code.
    pub fn iptables(&mut self, argv: &[String], input: &str) -> Result<String, (i32, String)> {
        let out = self.run_iptables(argv, input);
        let f = &mut self.filtering;
        // iptables-nft's tables take their nft table handles as they are made, whatever the
        // family, so `nft list ruleset` lists them in creation order.
        f.xt_tables_made();
        if is_ip6tables(argv) {
            f.rules_changed();
            return out;
        }
        f.rules_changed();
        out.map(|text| f.incompatible_notice(argv, text))
    }

    fn run_iptables(&mut self, argv: &[String], input: &str) -> Result<String, (i32, String)> {
        let filtering = &mut self.filtering;
        let filtering = &mut *filtering;
        let v6 = is_ip6tables(argv);
        let t = match v6 {
            true => &mut filtering.rules.tables6,
            false => &mut filtering.rules.tables,
        };
        match argv.first().map(String::as_str) {
            Some("iptables-restore" | "ip6tables-restore") => {
                let counters = argv.iter().any(|a| a == "-c" || a == "--counters");
                let noflush = argv.iter().any(|a| a == "-n" || a == "--noflush");
                let opts = crate::netfilter::rules::RestoreOptions { counters, noflush };
                let out = t
                    .restore_with(input, opts)
                    .map(|_| String::new())
                    .map_err(|e| (e.exit_code(), e.to_string()));
                t.sync_ext_state();
                out
            }
            Some("iptables-save" | "ip6tables-save") => {
                Ok(t.save_with(argv.iter().any(|a| a == "-c" || a == "--counters"), None))
            }
            Some("cat") => crate::netfilter::rules::proc_file(t, &argv[1..]),
            Some("ipset") => {
                let now = t.ipset_clock();
                t.ipset(&argv[1..], now)
            }
            Some("dmesg") => Ok(filtering
                .rules
                .log
                .iter()
                .map(|l| format!("{l}\n"))
                .collect()),
            _ => {
                let mut args = argv.to_vec();
                args[0] = if v6 { "ip6tables" } else { "iptables" }.into();
                let out = t.apply(&args).map_err(|e| (e.exit_code(), e.to_string()));
                t.sync_ext_state();
                out
            }
        }
    }

    /// [`Router::iptables`] at `now` (the time `ipset` timeouts count from).
    pub fn iptables_at(
        &mut self,
        now: Instant,
        argv: &[String],
        input: &str,
    ) -> Result<String, (i32, String)> {
        self.filtering.rules.tables.set_ipset_clock(now);
        self.iptables(argv, input)
    }

    /// Checks an `iptables` command line's syntax without running it (`Tables::check`),
    /// with iptables' exit code; `iptables-restore` and `dmesg` pass.
    pub fn check_iptables(&self, argv: &[String]) -> Result<(), (i32, String)> {
        match argv.first().map(String::as_str) {
            Some("iptables-restore" | "ip6tables-restore" | "dmesg" | "cat" | "ipset") => Ok(()),
            _ => {
                let v6 = is_ip6tables(argv);
                let mut args = argv.to_vec();
                if args
                    .first()
                    .is_some_and(|a| a != "iptables-save" && a != "ip6tables-save")
                {
                    args[0] = if v6 { "ip6tables" } else { "iptables" }.into();
                }
                let f = &self.filtering;
                f.rules
                    .family(if v6 { Family::Ipv6 } else { Family::Ipv4 })
                    .check(&args)
                    .map_err(|e| (e.exit_code(), e.to_string()))
            }
        }
    }

    fn conntrack_cmd(&mut self, now: Instant, args: &[String]) -> Result<String, String> {
        Ok(match conntrack_args(args)? {
            CtCmd::List(filter) => {
                let f = &self.filtering;
                f.nf.conntrack.listing(now, filter)
            }
            CtCmd::Flush => {
                self.filtering.nf.conntrack.flush();
                "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.\n"
                    .into()
            }
            CtCmd::Count => format!("{}\n", self.filtering.nf.conntrack.len()),
            // One CPU's counters, as conntrack-tools 1.4.7 prints them from a 6.x kernel.
            CtCmd::Stats => {
                let f = &self.filtering;
                let s = &f.nf.conntrack.stats;
                format!(
                    "cpu=0   \tfound={} invalid={} insert=0 insert_failed={} drop={} early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n",
                    s.found, s.invalid, s.insert_failed, s.drop
                )
            }
        })
    }

    /// The conntrack table's fill, size and refusals, for the run's summary.
    pub fn conntrack_summary(&self) -> ConntrackSummary {
        let f = &self.filtering;
        let ct = &f.nf.conntrack;
        ConntrackSummary {
            node: self.name.clone(),
            count: ct.len() as u64,
            max: ct.max() as u64,
            table_full_drops: ct.stats.drop,
            insert_failed: ct.stats.insert_failed,
        }
    }

    pub fn new(config: RouterConfig, seed: u64) -> Result<Router, String> {
        Router::with_vlans(config, Vec::new(), seed)
    }

    /// A router with VLAN devices on its interfaces (up), made before its routes and rules.
    pub fn with_vlans(
        config: RouterConfig,
        vlans: Vec<VlanConfig>,
        seed: u64,
    ) -> Result<Router, String> {
        let mut rng = Rng::stream(seed, &format!("router:{}", config.name));
        let nat_rng = Rng::stream(seed, &format!("nat:{}", config.name));
        let ident = rng.next_u64() as u16;
        let v6 = ipv6::V6::new(
            Rng::stream(seed, &format!("router6:{}", config.name)),
            config.forwarding,
        );
        let ns = netns::Namespace::new(config.ifaces, config.forwarding, NeighTable::new(rng), v6);
        let mut r = Router {
            name: config.name,
            ns,
            stp_bridges: Vec::new(),
            ident,
            filtering: Filtering {
                nf: Netfilter::new(crate::netfilter::conntrack::DEFAULT_MAX, nat_rng),
                rules: RuleSet {
                    tables: Tables::new(config.iptables_version),
                    tables6: Tables::new_v6(config.iptables_version),
                    log: Default::default(),
                    ratelimit: NetRatelimit::default(),
                    walks: None,
                    detail: false,
                    nft: crate::nft::Nft::new(),
                    addr_types_read: std::cell::OnceCell::new(),
                },
                bridge_nf: false,
                bridge_nf6: false,
                bridge_chains: Vec::new(),
            },
            limit: icmp::RateLimit::default(),
            counters: RouterCounters::default(),
            stack: None,
            flushing: false,
            seed,
            members: Vec::new(),
            clis: Vec::new(),
            rx_mac: None,
            rx_dev: None,
        };
        // Each VLAN device takes the device number (and the lab gives it the port) after
        // the real interfaces.
        for v in vlans {
            let dev = r.ns.ifaces.len();
            r.add_vlan(v, true, dev)?;
        }
        for cmd in &config.routes {
            r.apply_route(cmd)?;
        }
        r.filtering.rules_changed();
        for argv in &config.iptables {
            r.iptables(argv, "").map_err(|(_, e)| e)?;
        }
        Ok(r)
    }

    /// Installs a tool the router runs as `name ...` (see `Cli`).
    pub fn install_cli(&mut self, name: &str, cli: Box<dyn Cli>) {
        self.clis.push((name.to_string(), cli));
    }

    /// Replaces an installed tool (or installs it): the Docker daemon changed what its CLI
    /// reports.
    pub fn replace_cli(&mut self, name: &str, cli: Box<dyn Cli>) {
        self.clis.retain(|(n, _)| n != name);
        self.install_cli(name, cli);
    }

    /// Deletes the conntrack entries with `ip` in any tuple, and the UDP ones whose original
    /// destination port is one of `udp_ports` (what dockerd does when it creates an
    /// endpoint: NAT rules only apply to a flow's first packet). Returns how many went.
    pub fn conntrack_forget(&mut self, ips: &[IpAddress], udp_ports: &[u16]) -> usize {
        self.filtering.nf.conntrack.delete_where(|c| {
            let t = [c.orig.src, c.orig.dst, c.reply.src, c.reply.dst];
            t.iter().any(|a| ips.contains(a))
                || (c.orig.proto == 17 && udp_ports.contains(&c.orig.dport))
        })
    }

    /// Runs an installed tool; a tool that is not installed is "command not found" (127).
    fn run_cli(&mut self, now: Instant, argv: &[String]) -> (i32, String) {
        let name = argv.first().map_or("", String::as_str);
        match self.clis.iter_mut().find(|(n, _)| n == name) {
            Some((_, cli)) => cli.run(now, argv),
            None => (127, format!("{name}: command not found\n")),
        }
    }

    /// Declares a port of the bridge whose device is interface `master` (see `members`).
    pub fn add_bridge_member(&mut self, member: BridgeMember) {
        self.members.push(member);
    }

    /// Reads or sets a sysctl, printing as `sysctl` does (`KEY = VALUE`).
    pub fn sysctl(&mut self, key: &str, value: Option<&str>) -> Result<String, String> {
        let flag = |v: &str| match v {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(format!("sysctl: setting key \"{key}\": Invalid argument")),
        };
        let not_found = || {
            format!(
                "sysctl: cannot stat /proc/sys/{}: No such file or directory",
                key.replace('.', "/")
            )
        };
        // The conntrack table's size and fill: numbers, not flags.
        match key {
            "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => {
                let f = &mut self.filtering;
                if let Some(v) = value {
                    let n = v
                        .parse::<u32>()
                        .map_err(|_| format!("sysctl: setting key \"{key}\": Invalid argument"))?;
                    f.nf.conntrack.set_max(n as usize);
                }
                return Ok(format!("{key} = {}\n", f.nf.conntrack.max()));
            }
            "net.netfilter.nf_conntrack_count" => {
                if value.is_some() {
                    // The count is read-only; sysctl says so as it does for a bad value.
                    return Err(format!("sysctl: setting key \"{key}\": Invalid argument"));
                }
                let n = self.filtering.nf.conntrack.len();
                return Ok(format!("{key} = {n}\n"));
            }
            _ => {}
        }
        let int_key = key.strip_prefix("net.ipv4.conf.").and_then(|k| {
            k.strip_suffix(".rp_filter")
                .map(|d| (d, true))
                .or_else(|| k.strip_suffix(".arp_ignore").map(|d| (d, false)))
        });
        if let Some((dev, rpf)) = int_key {
            let i = match dev {
                "all" | "default" => None,
                _ => Some(self.live_link(dev).ok_or_else(not_found)?),
            };
            let slot = match (rpf, dev, i) {
                (true, "all", _) => &mut self.ns.sysctl.rp_filter_all,
                (true, "default", _) => &mut self.ns.sysctl.rp_filter_default,
                (true, _, Some(i)) => &mut self.ns.sysctl.rp_filter[i],
                (false, "all", _) => &mut self.ns.sysctl.arp_ignore_all,
                (false, "default", _) => &mut self.ns.sysctl.arp_ignore_default,
                (false, _, Some(i)) => &mut self.ns.sysctl.arp_ignore[i],
                _ => return Err(not_found()),
            };
            if let Some(v) = value {
                // `proc_dointvec`: any integer; 1 is strict, every other non-zero loose.
                *slot = v
                    .parse()
                    .map_err(|_| format!("sysctl: setting key \"{key}\": Invalid argument"))?;
            }
            return Ok(format!("{key} = {slot}\n"));
        }
        let on = match key {
            "net.bridge.bridge-nf-call-iptables" => {
                let f = &mut self.filtering;
                if let Some(v) = value {
                    f.bridge_nf = flag(v)?;
                }
                f.bridge_nf
            }
            "net.bridge.bridge-nf-call-ip6tables" => {
                let f = &mut self.filtering;
                if let Some(v) = value {
                    f.bridge_nf6 = flag(v)?;
                }
                f.bridge_nf6
            }
            "net.ipv4.ip_forward" => {
                if let Some(v) = value {
                    self.ns.sysctl.forwarding = flag(v)?;
                }
                self.ns.sysctl.forwarding
            }
            "net.ipv6.conf.all.forwarding" => {
                if let Some(v) = value {
                    self.ns.v6.forwarding = flag(v)?;
                }
                self.ns.v6.forwarding
            }
            _ => {
                let dev = key
                    .strip_prefix("net.ipv4.conf.")
                    .and_then(|k| k.strip_suffix(".route_localnet"))
                    .ok_or_else(not_found)?;
                let slot = match dev {
                    "all" => &mut self.ns.sysctl.localnet_all,
                    _ => {
                        let i = self
                            .ns
                            .ifaces
                            .iter()
                            .position(|f| f.name == dev)
                            .ok_or_else(not_found)?;
                        &mut self.ns.sysctl.localnet[i]
                    }
                };
                if let Some(v) = value {
                    *slot = flag(v)?;
                }
                *slot
            }
        };
        Ok(format!("{key} = {}\n", u8::from(on)))
    }

    pub fn apply_route(&mut self, cmd: &RouteCmd) -> Result<(), String> {
        self.ns.apply_route(cmd)
    }

    /// The route for a packet as the kernel's policy routing finds it: the rules in
    /// priority order, each looking up its table, the first route found winning; with it,
    /// the table and the rule's priority. Rule 0's `local` table is the router's own
    /// addresses, handled before routing.
    pub fn route_for(&self, key: &policy::FlowKey) -> Option<(route::Route, u32, u32)> {
        self.ns.route_for(key)
    }

    pub fn forwarding(&self) -> bool {
        self.ns.sysctl.forwarding
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    fn send_frame(
        &self,
        dev: usize,
        mac: EthernetAddress,
        (tag, mut frame): (PacketTag, Vec<u8>),
        ctx: &mut Ctx<'_>,
    ) {
        // The packet's version says the EtherType (IPv6's path sends through here too).
        let ethertype = match frame.get(ETH_HEADER_LEN).map(|b| b >> 4) {
            Some(6) => EthernetProtocol::Ipv6,
            _ => EthernetProtocol::Ipv4,
        };
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.set_dst_addr(mac);
        eth.set_src_addr(self.ns.ifaces[dev].mac);
        eth.set_ethertype(ethertype);
        self.transmit(dev, frame, tag, ctx);
    }

    fn send_arp(
        &self,
        dev: usize,
        target: Ipv4Address,
        to: Option<EthernetAddress>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(src) = self.ns.source_on(dev, target) else {
            return;
        };
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: self.ns.ifaces[dev].mac,
            source_protocol_addr: src,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        self.emit_arp(dev, to.unwrap_or(EthernetAddress::BROADCAST), &repr, ctx);
    }

    fn emit_arp(&self, dev: usize, dst: EthernetAddress, repr: &ArpRepr, ctx: &mut Ctx<'_>) {
        let mut buf = ctx.buffer();
        buf.resize(ETH_HEADER_LEN + repr.buffer_len(), 0);
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(dst);
        eth.set_src_addr(self.ns.ifaces[dev].mac);
        eth.set_ethertype(EthernetProtocol::Arp);
        repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
        let tag = ctx.new_tag();
        self.transmit(dev, buf, tag, ctx);
    }

    /// Sends a frame (Ethernet header to fill, IPv4 packet after it) to `next_hop` on `dev`,
    /// as the packet `tag` (the one forwarded, or a new one the router made).
    fn output(
        &mut self,
        now: Instant,
        dev: usize,
        next_hop: Ipv4Address,
        frame: (PacketTag, Vec<u8>),
        ctx: &mut Ctx<'_>,
    ) {
        match self.ns.neigh.resolve(now, next_hop, dev, frame) {
            (Resolve::Send(mac), Some(frame)) => self.send_frame(dev, mac, frame, ctx),
            (Resolve::Queued { probe }, _) => {
                ctx.note(Note::Queued {
                    next_hop: next_hop.into(),
                });
                if probe {
                    self.send_arp(dev, next_hop, None, ctx);
                }
            }
            (_, _) => ctx.note(Note::Dropped(DropReason::NeighbourQueueFull)),
        }
    }

    /// Sends an ICMP error about `original` (an IPv4 datagram) back to its source.
    fn icmp_error(
        &mut self,
        now: Instant,
        original: &[u8],
        msg: Icmpv4Message,
        code: u8,
        extra: [u8; 4],
        ctx: &mut Ctx<'_>,
    ) {
        let Ok(ip) = Ipv4Packet::new_checked(original) else {
            return;
        };
        let src = ip.src_addr();
        // Never about an ICMP error, a fragment after the first, or to a non-unicast source.
        if ip.next_header() == IpProtocol::Icmp
            && let Ok(inner) = Icmpv4Packet::new_checked(ip.payload())
            && !matches!(
                inner.msg_type(),
                Icmpv4Message::EchoRequest
                    | Icmpv4Message::EchoReply
                    | Icmpv4Message::Timestamp
                    | Icmpv4Message::TimestampReply
            )
        {
            return;
        }
        if ip.frag_offset() != 0
            || src.is_unspecified()
            || src.is_broadcast()
            || src.is_multicast()
            || self.ns.is_broadcast(src)
        {
            return;
        }
        // No rate limit toward `lo` (`icmpv4_xrlim_allow`).
        if !self.loops_back(src) && !self.limit.allow(now, src) {
            self.counters.icmp_rate_limited += 1;
            return;
        }
        let Some(back) = self.ns.route_out(src) else {
            return;
        };
        // An error about a packet for one of our addresses comes from that address; else from
        // the address we answer through (`icmp_send`'s source choice).
        let Some(from) = Some(ip.dst_addr())
            .filter(|d| self.ns.is_local(*d))
            .or_else(|| self.ns.source_on(back.dev, src))
        else {
            return;
        };
        let ident = self.next_ident();
        let buf = ctx.buffer();
        if let Some(frame) = icmp::error(buf, from, original, msg, code, extra, ident) {
            self.counters.icmp_sent += 1;
            ctx.note(Note::Icmp {
                kind: u8::from(msg),
                code,
            });
            self.send_local(now, Some(frame), ctx);
        }
    }

    fn reply(&mut self, now: Instant, frame: Option<Vec<u8>>, ctx: &mut Ctx<'_>) {
        self.send_local(now, frame, ctx);
    }

    /// Sends a packet the router made itself (a frame with its IPv4 datagram after the
    /// Ethernet header): routing, OUTPUT (which may DNAT: then routing again), POSTROUTING.
    fn send_local(&mut self, now: Instant, frame: Option<Vec<u8>>, ctx: &mut Ctx<'_>) {
        let Some(mut frame) = frame else {
            return;
        };
        // A new packet, answering the one being handled if any.
        let tag = ctx.new_tag();
        let dst_of = |f: &[u8]| Ipv4Packet::new_unchecked(&f[ETH_HEADER_LEN..]).dst_addr();
        let dst = dst_of(&frame);
        // None: through `lo`.
        let Some(route) = self.route_local(dst) else {
            return;
        };
        let (out, mut tr) = self.netfilter(now, |nf, cx, ifs| {
            nf.output(cx, &mut frame[ETH_HEADER_LEN..], egress_name(ifs, &route))
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        let new_dst = dst_of(&frame);
        // OUTPUT changed the destination (DNAT) or the mark (`-j MARK`): routed again, with
        // the packet's source and mark (`ip_route_me_harder`), so `ip rule fwmark` applies.
        let route = match new_dst == dst && tr.mark == 0 {
            true => route,
            false => {
                let src = Ipv4Packet::new_unchecked(&frame[ETH_HEADER_LEN..]).src_addr();
                match self.route_local_marked(new_dst, Some(src), tr.mark) {
                    Some(r) => r,
                    None => return,
                }
            }
        };
        // A loopback source may leave only where `route_localnet` allows it (an OUTPUT DNAT
        // of 127.0.0.1 to a container needs it: `ip_route_me_harder` fails otherwise).
        if let Some(r) = &route {
            let src = Ipv4Packet::new_unchecked(&frame[ETH_HEADER_LEN..]).src_addr();
            if src.is_loopback() && !self.ns.localnet(r.dev) {
                ctx.note(Note::Dropped(DropReason::Martian));
                return;
            }
        }
        let next_hop = route.as_ref().map(|r| r.via.unwrap_or(new_dst));
        let out_addr = match (&route, next_hop) {
            (Some(r), Some(hop)) => self.ns.source_on(r.dev, hop),
            _ => Some(local::LOOPBACK),
        };
        let out = self.netfilter(now, |nf, cx, ifs| {
            let ip = &mut frame[ETH_HEADER_LEN..];
            let out = egress_name(ifs, &route);
            nf.postrouting(cx, ip, &mut tr, (None, out), out_addr.map(IpAddress::Ipv4))
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        match (route, next_hop) {
            (Some(r), Some(hop)) => self.output(now, r.dev, hop, (tag, frame), ctx),
            _ => self.receive_loopback(now, frame, ctx),
        }
    }

    /// The route of a locally generated packet: `Some(None)` through `lo`, `None` when there
    /// is no route.
    fn route_local(&self, dst: Ipv4Address) -> Option<Option<route::Route>> {
        self.route_local_marked(dst, None, 0)
    }

    /// [`Router::route_local`] for a packet with a source and a mark.
    fn route_local_marked(
        &self,
        dst: Ipv4Address,
        src: Option<Ipv4Address>,
        mark: u32,
    ) -> Option<Option<route::Route>> {
        if self.loops_back(dst) {
            return Some(None);
        }
        let key = policy::FlowKey::from_lo(src, dst, mark);
        self.ns.route_for(&key).map(|(r, _, _)| Some(r))
    }

    fn local(&mut self, now: Instant, pkt: &[u8], broadcast: bool, ctx: &mut Ctx<'_>) {
        self.counters.delivered += 1;
        ctx.note(Note::Local);
        let Ok(ip) = Ipv4Packet::new_checked(pkt) else {
            return;
        };
        if !broadcast && self.deliver_to_stack(now, pkt, ctx) {
            return;
        }
        match ip.next_header() {
            IpProtocol::Icmp => {
                let is_request = Icmpv4Packet::new_checked(ip.payload())
                    .is_ok_and(|i| i.msg_type() == Icmpv4Message::EchoRequest);
                if is_request && !broadcast {
                    let ident = self.next_ident();
                    let buf = ctx.buffer();
                    let reply = icmp::echo_reply(buf, pkt, ip.dst_addr(), ident);
                    ctx.note(Note::Icmp { kind: 0, code: 0 });
                    self.reply(now, reply, ctx);
                }
            }
            _ if broadcast => {}
            IpProtocol::Udp => {
                let code = u8::from(Icmpv4DstUnreachable::PortUnreachable);
                self.icmp_error(now, pkt, Icmpv4Message::DstUnreachable, code, [0; 4], ctx);
            }
            IpProtocol::Tcp => {
                let ident = self.next_ident();
                let buf = ctx.buffer();
                let rst = icmp::tcp_reset(buf, pkt, ident);
                self.reply(now, rst, ctx);
            }
            _ => {
                let code = u8::from(Icmpv4DstUnreachable::ProtoUnreachable);
                self.icmp_error(now, pkt, Icmpv4Message::DstUnreachable, code, [0; 4], ctx);
            }
        }
    }

    fn handle_ipv4(
        &mut self,
        now: Instant,
        dev: usize,
        data: &[u8],
        l2_broadcast: bool,
        ctx: &mut Ctx<'_>,
    ) {
        let total = match Ipv4Packet::new_checked(data) {
            Ok(ip) if ip.version() == 4 && ip.verify_checksum() => usize::from(ip.total_len()),
            _ => {
                self.counters.header_errors += 1;
                ctx.note(Note::Dropped(DropReason::BadIpHeader));
                return;
            }
        };
        // Netfilter may rewrite the packet: work on a copy, with room for the Ethernet header.
        let mut frame = ctx.buffer();
        frame.resize(ETH_HEADER_LEN, 0);
        frame.extend_from_slice(&data[..total]);
        let in_addr = self.ns.ifaces[dev].addrs.first().map(|a| a.address());
        let (out, mut tr) = self.netfilter(now, |nf, cx, ifs| {
            nf.prerouting(
                cx,
                &mut frame[ETH_HEADER_LEN..],
                &ifs[dev].name,
                in_addr.map(IpAddress::Ipv4),
            )
        });
        note_conntrack(&tr, ctx);
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        let ip = Ipv4Packet::new_unchecked(&frame[ETH_HEADER_LEN..]);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        // The route lookup, after PREROUTING's DNAT: 127.0.0.0/8 arriving on a wire is a
        // martian unless the interface routes it (`route_localnet`, `ip_route_input_slow`). A
        // packet sent to 127.0.0.1 and DNATed elsewhere is not (moby#45610).
        if (src.is_loopback() || dst.is_loopback()) && !self.ns.localnet(dev) {
            ctx.note(Note::Dropped(DropReason::Martian));
            return;
        }
        if !src.is_unspecified() && !self.ns.reverse_path_ok(src, dst, dev) {
            ctx.note(Note::Dropped(DropReason::ReversePath));
            return;
        }
        let to_broadcast = self.ns.is_broadcast(dst);
        // A reply un-NATed to 127.0.0.1 (the host's own connection, DNATed out) is local
        // where `route_localnet` lets loopback addresses in.
        let local = self.ns.is_local(dst) || dst.is_loopback() && self.ns.localnet(dev);
        if to_broadcast || local {
            let broadcast = to_broadcast || l2_broadcast;
            let out = self.netfilter(now, |nf, cx, ifs| {
                let ip = &mut frame[ETH_HEADER_LEN..];
                nf.input(
                    cx,
                    ip,
                    &mut tr,
                    &ifs[dev].name,
                    in_addr.map(IpAddress::Ipv4),
                )
            });
            if self.pass(now, out, &frame, ctx) {
                self.local(now, &frame[ETH_HEADER_LEN..], broadcast, ctx);
            }
            return;
        }
        if dst.is_multicast() || l2_broadcast {
            return;
        }
        if !self.ns.sysctl.forwarding {
            ctx.note(Note::Dropped(DropReason::ForwardingOff));
            return;
        }
        let pkt = &frame[ETH_HEADER_LEN..];
        let key = policy::FlowKey {
            src: Some(src),
            dst,
            mark: tr.mark,
            iif: Some(&self.ns.ifaces[dev].name),
            oif: None,
        };
        let Some((route, table, pref)) = self.ns.route_for(&key) else {
            self.counters.no_route += 1;
            let code = u8::from(Icmpv4DstUnreachable::NetUnreachable);
            let pkt = pkt.to_vec();
            self.icmp_error(now, &pkt, Icmpv4Message::DstUnreachable, code, [0; 4], ctx);
            return;
        };
        let ip = Ipv4Packet::new_unchecked(pkt);
        if ip.hop_limit() <= 1 {
            self.counters.ttl_expired += 1;
            let pkt = pkt.to_vec();
            self.icmp_error(now, &pkt, Icmpv4Message::TimeExceeded, 0, [0; 4], ctx);
            return;
        }
        let mtu = self.ns.ifaces[route.dev].mtu as usize;
        if pkt.len() > mtu {
            if ip.dont_frag() {
                let code = u8::from(Icmpv4DstUnreachable::FragRequired);
                let extra = [0, 0, (mtu >> 8) as u8, mtu as u8];
                let pkt = pkt.to_vec();
                self.icmp_error(now, &pkt, Icmpv4Message::DstUnreachable, code, extra, ctx);
            } else {
                ctx.note(Note::Dropped(DropReason::NeedsFragmenting));
            }
            return;
        }
        if ctx.trace() {
            let ttl = ip.hop_limit();
            let dst_text = match route.dst.prefix_len() {
                0 => "default".to_string(),
                _ => route.dst.to_string(),
            };
            let via = route.via.map(|v| format!(" via {v}")).unwrap_or_default();
            let by = match (table, pref) {
                (policy::MAIN, 32766) => String::new(),
                (t, p) => format!(" (ip rule {p}: table {})", policy::table_name(t)),
            };
            let route_text = format!(
                "route {dst_text}{via} dev {} matched {dst} (longest prefix){by}; TTL {ttl} -> {}",
                self.ns.ifaces[route.dev].name,
                ttl - 1
            );
            ctx.note(Note::Decision(route_text.into()));
        }
        // The header's checksum verified on arrival and every rewrite since kept it right
        // incrementally, so the TTL's change is summed in rather than the header re-read.
        crate::netfilter::rules::decrease_ttl(&mut frame[ETH_HEADER_LEN..]);
        let next_hop = route.via.unwrap_or(dst);
        let out_addr = self.ns.source_on(route.dev, next_hop);
        let out = self.netfilter(now, |nf, cx, ifs| {
            let (in_name, out_name) = (&ifs[dev].name, &ifs[route.dev].name);
            let ip = &mut frame[ETH_HEADER_LEN..];
            let out = nf.forward(cx, ip, &mut tr, in_name, out_name);
            match out.fate {
                Fate::Continue => {
                    let out_addr = out_addr.map(IpAddress::Ipv4);
                    out.then(nf.postrouting(cx, ip, &mut tr, (Some(in_name), out_name), out_addr))
                }
                _ => out,
            }
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        self.counters.forwarded += 1;
        ctx.note(self.routed_note(route.dev, route.via.map(Into::into)));
        let tag = ctx.incoming();
        self.output(now, route.dev, next_hop, (tag, frame), ctx);
    }

    /// Runs netfilter hook calls with the router's rules and its view of its addresses.
    fn netfilter<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Netfilter, &mut Cx<'_>, &[RouterIface]) -> R,
    ) -> R {
        let env = RouterEnv(
            &self.ns.ifaces,
            Some(self.ns.routing()),
            self.stack.as_ref(),
        );
        let filtering = &mut self.filtering;
        let Filtering { nf, rules, .. } = &mut *filtering;
        let mut cx = Cx {
            now,
            env: &env,
            rules,
            mac: self.rx_mac,
            physdev: None,
        };
        f(nf, &mut cx, &self.ns.ifaces)
    }

    /// Carries out a hook's outcome: its notes become the frame's, then its fate: true to go
    /// on; a drop is noted, a reject answered.
    fn pass(&mut self, now: Instant, out: Outcome, frame: &[u8], ctx: &mut Ctx<'_>) -> bool {
        // LOG rules' lines become the frame's capture comment, then what decided and what
        // NAT rewrote, before the verdict's note.
        let Outcome { fate, notes } = out;
        if !notes.is_empty() {
            let notes = notes.into_lists();
            for line in notes.logs {
                ctx.note(Note::Log(line));
            }
            for text in notes.decisions {
                ctx.note(Note::Decision(text));
            }
            for r in notes.rewrites {
                ctx.note(Note::Rewrite {
                    by: r.by,
                    reply: r.reply,
                    source: r.source,
                    before: r.before,
                    after: r.after,
                });
            }
        }
        match fate {
            Fate::Continue => true,
            Fate::Drop => {
                ctx.note(Note::Dropped(DropReason::Filtered));
                false
            }
            Fate::TableFull => {
                ctx.note(Note::Dropped(DropReason::ConntrackFull));
                false
            }
            Fate::Reject(with) => {
                ctx.note(Note::Dropped(DropReason::Filtered));
                let pkt = frame[ETH_HEADER_LEN..].to_vec();
                let answer_from = self.filtering.nf.take_answer_from();
                self.reject(now, with, &pkt, answer_from, ctx);
                false
            }
        }
    }

    /// The answer of a REJECT rule. A reset for a flow whose destination was NATed answers
    /// from where the flow was first sent (`answer_from`), as the kernel's reset does once
    /// NAT turns it back.
    fn reject(
        &mut self,
        now: Instant,
        with: RejectWith,
        pkt: &[u8],
        answer_from: Option<(IpAddress, u16)>,
        ctx: &mut Ctx<'_>,
    ) {
        use Icmpv4DstUnreachable as U;
        if pkt.first().map(|b| b >> 4) == Some(6) {
            return self.reject6(now, with, pkt, answer_from, ctx);
        }
        let code = match with {
            RejectWith::TcpReset => {
                let ident = self.next_ident();
                let buf = ctx.buffer();
                let mut rst = icmp::tcp_reset(buf, pkt, ident);
                if let (Some(rst), Some((addr, port))) = (rst.as_mut(), answer_from) {
                    crate::netfilter::nat::set_source(&mut rst[ETH_HEADER_LEN..], addr, port);
                }
                return self.reply(now, rst, ctx);
            }
            RejectWith::IcmpNetUnreachable => U::NetUnreachable,
            RejectWith::IcmpHostUnreachable => U::HostUnreachable,
            RejectWith::IcmpPortUnreachable => U::PortUnreachable,
            RejectWith::IcmpProtoUnreachable => U::ProtoUnreachable,
            RejectWith::IcmpNetProhibited => U::NetProhibited,
            RejectWith::IcmpHostProhibited => U::HostProhibited,
            RejectWith::IcmpAdminProhibited => U::CommProhibited,
            // ip6tables' rejects are IPv6's: an IPv4 packet never meets one.
            RejectWith::Icmp6Unreachable(_) => U::PortUnreachable,
        };
        self.icmp_error(
            now,
            pkt,
            Icmpv4Message::DstUnreachable,
            u8::from(code),
            [0; 4],
            ctx,
        );
    }

    fn handle_arp(&mut self, now: Instant, dev: usize, data: &[u8], ctx: &mut Ctx<'_>) {
        let Ok(Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        })) = ArpPacket::new_checked(data).map(|p| ArpRepr::parse(&p))
        else {
            ctx.note(Note::Dropped(DropReason::Malformed));
            return;
        };
        if !source_hardware_addr.is_unicast() {
            return;
        }
        if source_protocol_addr == target_protocol_addr && !self.ns.is_local(target_protocol_addr) {
            // Someone announcing its (new) MAC, as a restarted container does.
            let waiting = self
                .ns
                .neigh
                .gratuitous(source_protocol_addr, dev, source_hardware_addr);
            for queued in waiting {
                self.send_frame(dev, source_hardware_addr, queued, ctx);
            }
            return;
        }
        if !self.ns.is_local(target_protocol_addr) {
            return;
        }
        if operation == ArpOperation::Request
            && self
                .ns
                .arp_ignored(dev, source_protocol_addr, target_protocol_addr)
        {
            ctx.note(Note::Decision("ARP request ignored (arp_ignore)".into()));
            return;
        }
        let reply = operation == ArpOperation::Reply;
        let waiting =
            self.ns
                .neigh
                .learn(now, source_protocol_addr, dev, source_hardware_addr, reply);
        for queued in waiting {
            self.send_frame(dev, source_hardware_addr, queued, ctx);
        }
        if operation == ArpOperation::Request {
            let repr = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.ns.ifaces[dev].mac,
                source_protocol_addr: target_protocol_addr,
                target_hardware_addr: source_hardware_addr,
                target_protocol_addr: source_protocol_addr,
            };
            self.emit_arp(dev, source_hardware_addr, &repr, ctx);
        }
    }

    /// The interfaces, then the ports of bridges whose device is one of them (the views of
    /// those ports follow the router's own, in `members` order). A bridge device has no peer
    /// and carries while one of its ports does; each peer namespace gets a netnsid in order.
    fn links(&self, views: &[PortView]) -> Vec<LinkInfo> {
        let (own, listed) = views.split_at(self.ns.ifaces.len().min(views.len()));
        let mut netns: Vec<String> = Vec::new();
        let mut nsid = |v: &PortView| {
            let n = v.peer_node.as_deref()?;
            Some(match netns.iter().position(|x| x == n) {
                Some(i) => i as u32,
                None => {
                    netns.push(n.to_string());
                    netns.len() as u32 - 1
                }
            })
        };
        // Bridges whose device is one of the interfaces are in this namespace: a veth whose
        // peer is one of their ports has its peer here.
        let bridges: Vec<&str> = self
            .ns
            .ifaces
            .iter()
            .zip(&self.ns.links)
            .enumerate()
            .filter(|(i, (_, l))| {
                !l.gone
                    && (l.kind == links::LinkKind::Bridge
                        || self.members.iter().any(|m| m.master == *i))
            })
            .map(|(_, (f, _))| f.name.as_str())
            .collect();
        let here = |v: &PortView| match v.peer_node.as_deref() {
            None => v.peer_ifindex.is_some(),
            Some(n) => n == self.name || bridges.contains(&n),
        };
        let mut same: Vec<u32> = Vec::new();
        let named = |v: &PortView| {
            v.peer_node
                .as_ref()
                .filter(|n| self.ns.named_netns.contains(n))
                .cloned()
        };
        let mut lo = LinkInfo::loopback();
        if !self.ns.lo_up {
            lo.admin_up = false;
            lo.activated = false;
            lo.addrs.clear();
        } else if self.ns.ifaces.iter().any(|f| f.ipv6.is_some()) {
            // IPv6 is on in the namespace: `lo` holds ::1.
            lo.addrs6 = vec![smoltcp::wire::Ipv6Cidr::new(
                smoltcp::wire::Ipv6Address::LOCALHOST,
                128,
            )];
        }
        let mut links = vec![lo];
        for (i, (f, v)) in self.ns.ifaces.iter().zip(own).enumerate() {
            let state = &self.ns.links[i];
            if state.gone {
                continue;
            }
            if let Some(mut link) = self.vlan_link(i, own) {
                link.addrs6 = self.listed6(i);
                links.push(link);
                continue;
            }
            let ifindex = state.ifindex;
            let mut link = LinkInfo::veth(ifindex, &f.name, v, (f.mac, f.mtu), f.addrs.clone());
            link.addrs6 = self.listed6(i);
            link.admin_up = state.up;
            link.activated = state.activated;
            link.no_brd = self.ns.no_brd.clone();
            if state.kind == links::LinkKind::Bridge {
                let mut ports = self
                    .members
                    .iter()
                    .zip(listed)
                    .filter(|(m, v)| m.master == i && v.present);
                let any = ports.clone().next().is_some();
                link.carrier = ports.any(|(_, pv)| pv.up);
                // Without a port the bridge keeps its carrier and an unknown operstate;
                // with ports it follows them.
                link.unknown = !link.carrier;
                if !any {
                    link.carrier = true;
                }
                link.peer_ifindex = None;
                link.link_netnsid = None;
                link.bridge = true;
            } else if self.members.iter().any(|m| m.master == i) || self.is_bridge_device(i, v) {
                let mut ports = self
                    .members
                    .iter()
                    .zip(listed)
                    .filter(|(m, v)| m.master == i && v.present);
                link.carrier = ports.any(|(_, pv)| pv.up);
                link.peer_ifindex = None;
                link.link_netnsid = None;
                link.bridge = true;
            } else if here(v) {
                // A veth whose peer is in this namespace too: `veth1@veth0` (below).
                link.link_netnsid = None;
                same.push(ifindex);
            } else if let Some(name) = named(v) {
                link.link_netns = Some(name);
                link.link_netnsid = None;
            } else {
                link.link_netnsid = nsid(v);
            }
            if state.kind == links::LinkKind::Dummy {
                link.peer_ifindex = None;
                link.link_netnsid = None;
                link.carrier = state.up;
                link.unknown = true;
                link.noarp = true;
            }
            links.push(link);
        }
        for (m, v) in self.members.iter().zip(listed).filter(|(_, v)| v.present) {
            let mtu = self.ns.ifaces[m.master].mtu;
            let held = self.held_addrs(&m.name);
            let mut link = LinkInfo::veth(m.ifindex, &m.name, v, (m.mac, mtu), held);
            link.master = Some(self.ns.ifaces[m.master].name.clone());
            link.no_brd = self.ns.no_brd.clone();
            if let Some(state) = self.member_state(&m.name) {
                link.admin_up = state.up;
                link.activated = state.activated;
            }
            match named(v) {
                _ if here(v) => {
                    link.link_netnsid = None;
                    same.push(m.ifindex);
                }
                Some(name) => {
                    link.link_netns = Some(name);
                    link.link_netnsid = None;
                }
                None => link.link_netnsid = nsid(v),
            }
            links.push(link);
        }
        links.sort_by_key(|l| l.ifindex);
        // Peers in this namespace go by name, and say when they are down (`M-DOWN`).
        let peers: Vec<(u32, String, bool)> = links
            .iter()
            .map(|l| (l.ifindex, l.name.clone(), l.admin_up))
            .collect();
        for l in links.iter_mut().filter(|l| same.contains(&l.ifindex)) {
            if let Some((_, name, up)) = peers.iter().find(|p| Some(p.0) == l.peer_ifindex) {
                l.peer_name = Some(name.clone());
                l.m_down = !up;
            }
        }
        // Veths made by commands: the kernel's operstate (`default_operstate`) looks the
        // peer's ifindex up here, and says LOWERLAYERDOWN only when that device is up.
        let here: Vec<(u32, bool)> = links
            .iter()
            .map(|l| (l.ifindex, l.admin_up && (l.carrier || l.loopback)))
            .collect();
        for l in links.iter_mut() {
            let made = self
                .live_link(&l.name)
                .is_some_and(|i| self.ns.links[i].kind == links::LinkKind::Veth);
            if made && let Some(p) = l.peer_ifindex {
                l.lower_missing = !here.iter().any(|(i, up)| *i == p && *up);
            }
        }
        links
    }

    /// An interface joined to a bridge's own port (`host:` of a bridge) is that bridge's
    /// device even while the bridge has no other port.
    fn is_bridge_device(&self, i: usize, v: &PortView) -> bool {
        v.peer_node.as_deref() == Some(self.ns.ifaces[i].name.as_str())
    }

    fn neighbours(&self) -> Vec<NeighInfo> {
        self.ns
            .neigh
            .entries()
            .iter()
            .map(|n| NeighInfo {
                ip: n.ip,
                dev: self.ns.ifaces[n.dev].name.clone(),
                lladdr: n
                    .mac
                    .filter(|_| !matches!(n.state, neigh::Nud::Incomplete | neigh::Nud::Failed)),
                state: n.state.name(),
            })
            .collect()
    }
}

impl Node for Router {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "router"
    }

    fn ifindex(&self, port: u16) -> u32 {
        self.ns
            .links
            .get(usize::from(port))
            .map_or(u32::from(port) + 2, |l| l.ifindex)
    }

    fn bridge_filtering(&self, _dev: &str) -> bool {
        self.filtering.bridge_filtering()
    }

    fn bridge_forward(
        &mut self,
        now: Instant,
        dev: &str,
        frame: &mut [u8],
        ports: (&str, &str),
    ) -> bool {
        let Router { filtering, ns, .. } = self;
        filtering.bridge_forward(&ns.ifaces, dev, now, frame, ports)
    }

    fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8], ctx: &mut Ctx<'_>) {
        {
            let f = &mut self.filtering;
            f.nf.detail = ctx.detail();
            f.rules.detail = ctx.detail();
            if f.rules.nft.detail() != ctx.detail() {
                f.rules.nft.set_detail(ctx.detail());
            }
            if f.rules.tables.tracing() != ctx.trace() {
                f.rules.tables.set_trace(ctx.trace());
                f.rules.tables6.set_trace(ctx.trace());
                f.rules.nft.set_tracing(ctx.trace());
                f.rules_changed();
            }
        }
        // A tagged frame is its VLAN device's, untagged (see `vlan`).
        let untagged;
        let (dev, frame) = match crate::wire::vlan::is_tagged(frame) {
            false => (usize::from(port), frame),
            true => match self.vlan_ingress(port, frame, ctx) {
                Some((dev, f)) => {
                    untagged = f;
                    (dev, &untagged[..])
                }
                None => return,
            },
        };
        let Some(iface) = self.ns.ifaces.get(dev) else {
            return;
        };
        if !self.link_usable(dev) {
            ctx.note(Note::Dropped(DropReason::LinkDown));
            return;
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            ctx.note(Note::Dropped(DropReason::Malformed));
            return;
        };
        let dst = eth.dst_addr();
        let l2_broadcast = !dst.is_unicast();
        if !l2_broadcast && dst != iface.mac {
            ctx.note(Note::Dropped(DropReason::OtherHost));
            return;
        }
        self.rx_mac = frame.get(..ETH_HEADER_LEN).and_then(|h| h.try_into().ok());
        self.rx_dev = Some(dev);
        match eth.ethertype() {
            EthernetProtocol::Arp => self.handle_arp(now, dev, eth.payload(), ctx),
            EthernetProtocol::Ipv4 => self.handle_ipv4(now, dev, eth.payload(), l2_broadcast, ctx),
            EthernetProtocol::Ipv6 => self.handle_ipv6(now, dev, eth.payload(), ctx),
            _ => {}
        }
        self.rx_mac = None;
        self.rx_dev = None;
    }

    fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        self.stack_timeout(now, ctx);
        self.filtering.nf.conntrack.expire(now);
        self.neigh6_timeout(now, ctx);
        for action in self.ns.neigh.expire(now) {
            match action {
                Action::Probe { ip, dev, to } => self.send_arp(dev, ip, to, ctx),
                Action::Failed { packets } => {
                    for (tag, frame) in packets {
                        // The error answers the packet that waited.
                        ctx.set_incoming(tag);
                        ctx.note(Note::Dropped(DropReason::NeighbourFailed));
                        let code = u8::from(Icmpv4DstUnreachable::HostUnreachable);
                        let original = frame[ETH_HEADER_LEN..].to_vec();
                        self.icmp_error(
                            now,
                            &original,
                            Icmpv4Message::DstUnreachable,
                            code,
                            [0; 4],
                            ctx,
                        );
                    }
                }
            }
        }
    }

    fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        // Asked after every frame: plain compares, not an iterator chain over the three.
        let earlier = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        let conntrack = self.filtering.nf.conntrack.next_expiry();
        let next = earlier(self.ns.neigh.next_deadline(), conntrack);
        let next = earlier(next, self.ns.v6.neigh.next_deadline());
        earlier(next, self.stack_deadline(now))
    }

    fn start_command(
        &mut self,
        now: Instant,
        cmd: CmdId,
        argv: &[String],
        input: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        // A failure as a command's: its message ends its line.
        let failed = |code: i32, mut msg: String| {
            if !msg.ends_with('\n') {
                msg.push('\n');
            }
            (code, msg)
        };
        let (exit_code, output) = match parse_command(argv)? {
            RouterCmd::Route(r) => self
                .ns
                .apply_route(&r)
                .map_or_else(|e| failed(2, e), |_| (0, String::new())),
            RouterCmd::Route6(r) => self
                .apply_route6(&r)
                .map_or_else(|(code, e)| failed(code, e), |_| (0, String::new())),
            RouterCmd::Addr6(a) => self
                .ip_addr6_cmd(now, &a)
                .map_or_else(|(code, e)| failed(code, e), |_| (0, String::new())),
            RouterCmd::Neigh(w, v6) => {
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                match self.ip_neigh_cmd(now, (&w, v6), ctx) {
                    Ok(out) => (0, out),
                    Err((code, msg)) => failed(code, msg),
                }
            }
            RouterCmd::Rule(w) => {
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                self.ip_rule(&w)
                    .map_or_else(|e| failed(2, e), |out| (0, out))
            }
            RouterCmd::Sysctl(args) => self.sysctl_run(&args),
            RouterCmd::Addr(w) => {
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                match self.ip_addr_cmd(now, &w) {
                    Ok(out) => (0, out),
                    Err((code, msg)) => failed(code, msg),
                }
            }
            RouterCmd::ProcSys(key, value) => self.proc_sys(&key, value.as_deref()),
            RouterCmd::Topology | RouterCmd::Link(_) => failed(
                2,
                "hoplab: `ip netns` and `ip link add|set|del` run as a lab's steps".into(),
            ),
            RouterCmd::Conntrack(args) => self
                .conntrack_cmd(now, &args)
                .map_or_else(|e| failed(2, e), |out| (0, out)),
            RouterCmd::Program => return self.start_program(now, cmd, argv, input, ctx),
            RouterCmd::Cli => self.run_cli(now, argv),
            RouterCmd::Iptables(argv) => match self.iptables_at(now, &argv, input) {
                Ok(out) => (0, out),
                Err((code, msg)) => failed(code, msg),
            },
            RouterCmd::Nft(argv) => match self.nft(&argv, input) {
                Ok(out) => (0, out),
                Err((code, msg)) => failed(code, msg),
            },
        };
        ctx.finish(
            cmd,
            CmdResult {
                exit_code,
                output,
                ..CmdResult::default()
            },
        );
        Ok(())
    }

    fn stop_command(&mut self, now: Instant, cmd: CmdId, ctx: &mut Ctx<'_>) {
        self.stop_program(now, cmd, ctx);
    }

    fn show(
        &mut self,
        now: Instant,
        argv: &[String],
        ports: &[PortView],
    ) -> Result<String, String> {
        let mut words: Vec<&str> = argv.iter().map(String::as_str).collect();
        // `ip -4 ...`: IPv4 alone (`ip route` and its like are IPv4's already).
        let v4_only = words.len() > 2 && words[0] == "ip" && words[1] == "-4";
        if v4_only {
            words.remove(1);
        }
        let links = || {
            let mut links = self.links(ports);
            if v4_only {
                links.iter_mut().for_each(|l| l.addrs6.clear());
            }
            links
        };
        if let Some(out) = iproute::link_listing(&words, links) {
            return Ok(out);
        }
        if let Some(out) = self.one_link(&words, ports) {
            return out;
        }
        if let Some(out) = self.picked_links(&words, ports) {
            return out;
        }
        let names: Vec<String> = self.ns.ifaces.iter().map(|f| f.name.clone()).collect();
        match words.as_slice() {
            ["ip", "route" | "r"] | ["ip", "route", "show"] => {
                let links = self.links(ports);
                let down = |dev: &str| links.iter().any(|l| l.name == dev && !l.carrier);
                Ok(iproute::ip_route_with(
                    &self.ns.routes.listing(|d| names[d].clone()),
                    &down,
                ))
            }
            ["ip", "route" | "r", "show" | "list" | "ls", "table", which] => {
                let links = self.links(ports);
                let down = |dev: &str| links.iter().any(|l| l.name == dev && !l.carrier);
                self.ip_route_table(which, &down)
            }
            ["ip", "route" | "r", "get", rest @ ..] => self.ip_route_get(rest),
            ["ip", "-6", "route" | "r"] | ["ip", "-6", "route" | "r", "show" | "list" | "ls"] => {
                Ok(self.ns.v6.routes.listing(|d| names[d].clone()))
            }
            ["ip", "-6", "neigh" | "n" | "neighbour" | "neighbor"]
            | [
                "ip",
                "-6",
                "neigh" | "n" | "neighbour" | "neighbor",
                "show" | "list",
            ] => Ok(iproute::ip_neigh(&self.neighbours6())),
            [
                "ip",
                "-6",
                "neigh" | "n" | "neighbour" | "neighbor",
                "show" | "list",
                "dev",
                dev,
            ] => {
                if self.live_link(dev).is_none() {
                    return Err(format!("Cannot find device \"{dev}\""));
                }
                let mine: Vec<_> = self
                    .neighbours6()
                    .into_iter()
                    .filter(|n| n.dev == *dev)
                    .collect();
                Ok(iproute::ip_neigh(&mine).replace(&format!(" dev {dev}"), ""))
            }
            ["brctl", "show", names @ ..] => self.brctl_show(names, ports),
            ["ip", "rule" | "ru"] | ["ip", "rule" | "ru", "show" | "list" | "ls"] => {
                Ok(self.ip_rule_listing())
            }
            [
                "ip",
                "neigh" | "n" | "neighbour" | "neighbor",
                "show" | "list",
                "dev",
                dev,
            ] => self.ip_neigh_dev(dev),
            ["ip", "neigh" | "n" | "neighbour" | "neighbor"]
            | ["ip", "neigh" | "neighbour" | "neighbor", "show"] => {
                // Both families, as the kernel dumps its ARP table, then its ND one.
                let mut out = iproute::ip_neigh(&self.neighbours());
                if !v4_only {
                    out += &iproute::ip_neigh(&self.neighbours6());
                }
                Ok(out)
            }
            ["cat", path] if path.starts_with("/proc/sys/") => {
                let key = path["/proc/sys/".len()..].replace('/', ".");
                match self.proc_sys(&key, None) {
                    (0, out) => Ok(out),
                    (_, err) => Err(err.trim_end().to_string()),
                }
            }
            ["sysctl", ..] => match self.sysctl_run(&sysctl::parse(&argv[1..])?) {
                (0, out) => Ok(out),
                (_, err) => Err(err.trim_end().to_string()),
            },
            ["ss", ..] => self.ss_listing(now, &argv[1..]),
            ["docker", ..] => match self.run_cli(now, argv) {
                (0, out) => Ok(out),
                (_, err) => Err(err.trim_end().to_string()),
            },
            ["conntrack", rest @ ..] => {
                let args: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
                self.conntrack_cmd(now, &args)
            }
            [
                "iptables" | "iptables-save" | "iptables-legacy" | "iptables-nft" | "dmesg"
                | "ip6tables" | "ip6tables-save" | "ip6tables-legacy" | "ip6tables-nft",
                ..,
            ] => self.iptables(argv, "").map_err(|(_, e)| e),
            ["nft", ..] => self
                .nft(argv, "")
                .map_err(|(_, e)| e.trim_end().to_string()),
            ["cat", path] if path.starts_with("/proc/net/xt_recent/") => {
                self.iptables(argv, "").map_err(|(_, e)| e)
            }
            ["ipset", ..] => self.iptables_at(now, argv, "").map_err(|(_, e)| e),
            _ => Err(format!(
                "{}: a router shows `ip addr [show DEV]`, `ip -6 addr`, `ip link [show DEV|master BR|type T]`, `ip -s link`, `ip route [show table T]`, `ip -6 route`, `ip route get ADDR`, `ip rule`, `ip neigh`, `ip -6 neigh`, `ip netns list`, `bridge link`, `brctl show`, `sysctl -a`, `sysctl KEY`, `cat /proc/sys/KEY`, `ss`, `conntrack -L`, `ipset list`, `cat /proc/net/xt_recent/NAME`",
                argv.join(" ")
            )),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod ratelimit_tests {
    use super::NetRatelimit;
    use crate::time::{Duration, Instant};

    #[test]
    fn ten_messages_per_five_seconds_then_the_suppressed_count() {
        let mut r = NetRatelimit::default();
        let t = |ms: u64| Instant::ZERO + Duration::from_millis(ms);
        for i in 0..10 {
            assert_eq!(r.allow(t(i)), (true, 0), "message {i}");
        }
        assert_eq!(r.allow(t(100)), (false, 0));
        assert_eq!(r.allow(t(4999)), (false, 0));
        // A new interval: the two held back are said first.
        assert_eq!(r.allow(t(5000)), (true, 2));
        assert_eq!(r.allow(t(5001)), (true, 0));
    }
}

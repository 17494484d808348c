//! What the rule engine sees of a packet at a hook, and what it answers. This is the contract
//! between the rule engine (tables, chains, rules: `rules`) and the router, conntrack and NAT
//! that call it.

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

/// An address's bits, an IPv4 one in the low 32: rules' networks, hashes and NAT ranges
/// compute on these for either family.
pub fn bits(addr: IpAddress) -> u128 {
    match addr {
        IpAddress::Ipv4(a) => u128::from(a.to_bits()),
        IpAddress::Ipv6(a) => a.to_bits(),
    }
}

/// The address with these bits, IPv6 when `v6` (else the low 32 bits as IPv4).
pub fn from_bits(v6: bool, bits: u128) -> IpAddress {
    match v6 {
        true => IpAddress::Ipv6(Ipv6Address::from_bits(bits)),
        false => IpAddress::Ipv4(Ipv4Address::from_bits(bits as u32)),
    }
}

/// The unspecified address of the family (`0.0.0.0`, `::`).
pub fn unspecified(v6: bool) -> IpAddress {
    from_bits(v6, 0)
}

/// The tables, in the order Linux registers them on a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Raw,
    Mangle,
    Nat,
    Filter,
}

impl Table {
    pub const ALL: [Table; 4] = [Table::Raw, Table::Mangle, Table::Nat, Table::Filter];

    pub fn name(self) -> &'static str {
        match self {
            Table::Raw => "raw",
            Table::Mangle => "mangle",
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }

    pub fn parse(s: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The built-in chains of the table, in `iptables -L` order.
    pub fn builtin_chains(self) -> &'static [Hook] {
        match self {
            Table::Raw => &[Hook::Prerouting, Hook::Output],
            Table::Mangle => &[
                Hook::Prerouting,
                Hook::Input,
                Hook::Forward,
                Hook::Output,
                Hook::Postrouting,
            ],
            Table::Nat => &[
                Hook::Prerouting,
                Hook::Input,
                Hook::Output,
                Hook::Postrouting,
            ],
            Table::Filter => &[Hook::Input, Hook::Forward, Hook::Output],
        }
    }

    /// The position of `hook` in `builtin_chains`, without searching the list: the hooks
    /// ask it of every table for every packet.
    pub fn builtin_index(self, hook: Hook) -> Option<usize> {
        use Hook::*;
        match (self, hook) {
            (Table::Raw, Prerouting) => Some(0),
            (Table::Raw, Output) => Some(1),
            (Table::Mangle, Prerouting) => Some(0),
            (Table::Mangle, Input) => Some(1),
            (Table::Mangle, Forward) => Some(2),
            (Table::Mangle, Output) => Some(3),
            (Table::Mangle, Postrouting) => Some(4),
            (Table::Nat, Prerouting) => Some(0),
            (Table::Nat, Input) => Some(1),
            (Table::Nat, Output) => Some(2),
            (Table::Nat, Postrouting) => Some(3),
            (Table::Filter, Input) => Some(0),
            (Table::Filter, Forward) => Some(1),
            (Table::Filter, Output) => Some(2),
            _ => None,
        }
    }
}

#[cfg(test)]
#[test]
fn builtin_index_is_the_position_in_builtin_chains() {
    let hooks = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];
    for table in Table::ALL {
        for hook in hooks {
            let at = table.builtin_chains().iter().position(|&h| h == hook);
            assert_eq!(table.builtin_index(hook), at, "{table:?} {hook:?}");
        }
    }
}

/// The five IPv4 hooks; each names the built-in chain of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
}

/// Conntrack's verdict on the packet, as `-m conntrack --ctstate` and `-m state` see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

/// The connection a packet belongs to, as `-m conntrack` matches see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtView {
    pub state: CtState,
    /// The original direction's tuple (before any NAT).
    pub orig_src: IpAddress,
    pub orig_dst: IpAddress,
    pub orig_sport: Option<u16>,
    pub orig_dport: Option<u16>,
    /// The packet travels in the reply direction.
    pub reply: bool,
    pub snat: bool,
    pub dnat: bool,
    /// The connection's mark (`ct->mark`: `-m connmark`, `CONNMARK`).
    pub mark: u32,
    /// The reply tuple, protocol, status and expiry (`-m conntrack --ctrepl*`, ...).
    pub detail: CtDetail,
}

/// More of a packet's connection, for `-m conntrack`'s `--ctproto`, `--ctreplsrc`,
/// `--ctrepldst`, `--ctreplsrcport`, `--ctrepldstport`, `--ctstatus` and `--ctexpire`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtDetail {
    /// The reply direction's tuple (after NAT).
    pub repl_src: IpAddress,
    pub repl_dst: IpAddress,
    pub repl_sport: Option<u16>,
    pub repl_dport: Option<u16>,
    /// The layer-4 protocol number.
    pub proto: u8,
    /// `IPS_*` status bits: EXPECTED 1, SEEN_REPLY 2, ASSURED 4, CONFIRMED 8.
    pub status: u32,
    /// When the entry times out; `None` before it is confirmed (`nf_ct_expires` is 0).
    pub expires: Option<crate::time::Instant>,
    /// The original tuple's ports as conntrack keys it (an ICMP query's identifier).
    pub orig_keys: (u16, u16),
}

/// Conntrack as rules ask it (`-m connlimit` counts live connections).
pub trait ConnQuery {
    /// The flow whose original tuple this is is in the table and not closed (a TCP flow in
    /// TIME_WAIT or CLOSE is, for `nf_conncount`).
    fn alive(&self, src: IpAddress, dst: IpAddress, proto: u8, keys: (u16, u16)) -> bool;

    /// `-m rpfilter`'s reverse-path lookup of `src` for a packet that came in on `iif`:
    /// `None` when no routing table is at hand.
    fn reverse_path(
        &self,
        _src: IpAddress,
        _iif: &str,
        _accept_local: bool,
        _loose: bool,
    ) -> Option<bool> {
        None
    }

    /// `-m socket`'s lookup: whether a local program has a socket for this TCP or UDP
    /// packet (`remote` is its source, `local` its destination): `Some(true)` for a
    /// wildcard one (listening or bound on 0.0.0.0), `Some(false)` for a connection or a
    /// socket bound to the address, `None` for none.
    fn local_socket(
        &self,
        _proto: u8,
        _remote: (IpAddress, u16),
        _local: (IpAddress, u16),
    ) -> Option<bool> {
        None
    }
}

/// No conntrack to ask: every flow counts as alive.
pub struct NoConns;

impl ConnQuery for NoConns {
    fn alive(&self, _: IpAddress, _: IpAddress, _: u8, _: (u16, u16)) -> bool {
        true
    }
}

impl Default for CtDetail {
    fn default() -> Self {
        CtDetail {
            repl_src: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            repl_dst: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            repl_sport: None,
            repl_dport: None,
            proto: 0,
            status: 0,
            expires: None,
            orig_keys: (0, 0),
        }
    }
}

/// How `-m addrtype` classifies an address from the host's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrType {
    Unspec,
    Unicast,
    Local,
    Broadcast,
    Multicast,
}

/// How the host classed a packet's source and destination for `-m addrtype`, each with the
/// address it classed. A packet's `Tracked` keeps them from hook to hook: the host's addresses
/// do not change while a packet passes, so only an address NAT rewrote is classed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrTypes {
    pub src: (IpAddress, AddrType),
    pub dst: (IpAddress, AddrType),
}

/// One IPv4 or IPv6 packet at one hook.
#[derive(Clone, Copy, Debug)]
pub struct PacketView<'a> {
    /// The packet's length (IPv4 total length; IPv6 payload length and the fixed header),
    /// for byte counters.
    pub len: u32,
    pub src: IpAddress,
    pub dst: IpAddress,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6): for IPv6 the header after
    /// the extension headers, as `ip6tables -p` matches it.
    pub proto: u8,
    /// TCP/UDP ports, absent for other protocols and non-first fragments.
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20).
    pub tcp_flags: Option<u8>,
    /// ICMP (or ICMPv6) type and code.
    pub icmp: Option<(u8, u8)>,
    /// A fragment other than the first (`-f`).
    pub fragment: bool,
    pub in_iface: Option<&'a str>,
    pub out_iface: Option<&'a str>,
    pub ct: Option<CtView>,
    /// `-m addrtype` of the source and destination.
    pub src_type: AddrType,
    pub dst_type: AddrType,
    /// The IP packet itself (LOG writes its header fields).
    pub ip: &'a [u8],
    /// The Ethernet header it arrived in, when it arrived on an interface (LOG's `MAC=`).
    pub mac: Option<[u8; 14]>,
    /// The packet's mark (`skb->mark`: `-m mark`, `MARK`): 0 when received or made, kept
    /// from hook to hook, never on the wire.
    pub mark: u32,
    /// The bridge ports of a frame br_netfilter runs through the hooks (`-m physdev`): the
    /// port it came in on, and from FORWARD on the port it leaves by; `None` when routed.
    pub physdev: Option<(&'a str, Option<&'a str>)>,
}

/// A packet's mark and its connection's mark after a table ran (what `MARK` and
/// `CONNMARK` rules left), for the hooks to carry on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub mark: u32,
    /// The connection's mark; ignored for a packet without a connection.
    pub ctmark: u32,
}

/// How REJECT answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectWith {
    IcmpNetUnreachable,
    IcmpHostUnreachable,
    IcmpPortUnreachable,
    IcmpProtoUnreachable,
    IcmpNetProhibited,
    IcmpHostProhibited,
    IcmpAdminProhibited,
    TcpReset,
    /// ip6tables: ICMPv6 destination unreachable with this code.
    Icmp6Unreachable(u8),
}

/// A NAT target's request, carried out by the NAT module on the flow's first packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatAction {
    /// Source becomes the egress interface's address; ports kept unless they collide, then
    /// picked from `ports` (or the default range).
    Masquerade { ports: Option<(u16, u16)> },
    Snat {
        addrs: (IpAddress, IpAddress),
        ports: Option<(u16, u16)>,
    },
    Dnat {
        addrs: (IpAddress, IpAddress),
        ports: Option<(u16, u16)>,
    },
    /// Destination becomes the ingress interface's address (or 127.0.0.1 from OUTPUT).
    Redirect { ports: Option<(u16, u16)> },
    /// NETMAP: the host part of the destination (PREROUTING, OUTPUT) or source (POSTROUTING,
    /// INPUT) is kept and the network part (`mask`) taken from `to`; ports are kept. The hook
    /// decides the side: `nat::netmap` turns it into the DNAT or SNAT it amounts to.
    Netmap { to: IpAddress, mask: u128 },
}

/// The outcome of running a hook's chains for one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject(RejectWith),
    Nat(NatAction),
}

impl PacketView<'_> {
    /// An IPv6 packet (an ip6tables table or an `ip6`/`inet` chain runs for it).
    pub fn is_v6(&self) -> bool {
        matches!(self.src, IpAddress::Ipv6(_))
    }
}

/// An IPv4 address's bits, for the matches and targets only iptables (not ip6tables) has;
/// an IPv6 address gives its low 32 bits, which such a rule never sees.
pub fn bits4(addr: IpAddress) -> u32 {
    bits(addr) as u32
}

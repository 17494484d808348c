//! What a rule reads from a packet (payload fields, meta, ct, fib), the datatypes of those
//! keys, and the typed values rules compare them with. Values are numbers in host order (a
//! port is `22`, an IPv4 address its `u32`), so the evaluator compares without parsing.

/// One key a rule reads: a header field, a meta or ct key, or a fib lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Payload(Field),
    Meta(MetaKey),
    Ct(CtKey),
    /// `ct original|reply ip saddr|daddr|proto-src|proto-dst`: one direction's tuple.
    CtTuple(CtDir, TupleKey),
    /// `fib saddr . iif oif`: a route lookup on the packet's address.
    Fib(FibFlags, FibResult),
}

/// A header field at a fixed place of its protocol's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    EtherSaddr,
    EtherDaddr,
    EtherType,
    IpSaddr,
    IpDaddr,
    IpProtocol,
    IpTtl,
    IpLength,
    IpDscp,
    Ip6Saddr,
    Ip6Daddr,
    Ip6Nexthdr,
    Ip6Hoplimit,
    TcpSport,
    TcpDport,
    TcpFlags,
    UdpSport,
    UdpDport,
    /// `th sport`: the transport header's first 16 bits, whatever the protocol.
    ThSport,
    ThDport,
    IcmpType,
    IcmpCode,
    Icmpv6Type,
}

/// `meta KEY` (and the bare `iifname`, `oifname`, `iif`, `oif`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaKey {
    Iifname,
    Oifname,
    Iif,
    Oif,
    L4proto,
    Nfproto,
    Protocol,
    Mark,
    Pkttype,
}

/// `ct KEY` without a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtKey {
    State,
    Status,
    Mark,
    Direction,
}

/// A conntrack direction: the flow's first packet's (`original`) or the answer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtDir {
    Original,
    Reply,
}

/// A field of one direction's tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TupleKey {
    IpSaddr,
    IpDaddr,
    Ip6Saddr,
    Ip6Daddr,
    ProtoSrc,
    ProtoDst,
}

/// Which address a fib lookup uses and what it adds to the lookup (bits of [`FibFlags`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FibFlags(pub u8);

impl FibFlags {
    pub const SADDR: u8 = 1;
    pub const DADDR: u8 = 2;
    pub const MARK: u8 = 4;
    pub const IIF: u8 = 8;
    pub const OIF: u8 = 16;
}

/// What a fib lookup returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FibResult {
    /// The address type (`local`, `unicast`...): [`DataType::FibAddrType`].
    Type,
    /// The route's output interface, by index (`0` when there is no route).
    Oif,
    Oifname,
}

/// A value's type, as nft names it (`type ipv4_addr . inet_service`); decides how values are
/// parsed and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// A plain number of this many bits (`ip ttl`, `ip length`).
    Integer(u8),
    Ipv4Addr,
    Ipv6Addr,
    EtherAddr,
    EtherType,
    InetProto,
    InetService,
    /// An interface name, matched as a string (`"eth*"` is a prefix match).
    Ifname,
    /// An interface index; rules name the interface (`iif "lo"`) and keep its name.
    Iface,
    /// A 32-bit mark, printed `0x%08x`.
    Mark,
    /// Conntrack states as bits: invalid 1, established 2, related 4, new 8, untracked 64.
    CtState,
    /// Conntrack status bits (expected 1, seen-reply 2, assured 4, confirmed 8, snat 16,
    /// dnat 32, dying 512).
    CtStatus,
    CtDir,
    /// TCP flags as bits: fin 1, syn 2, rst 4, psh 8, ack 16, urg 32, ecn 64, cwr 128.
    TcpFlags,
    IcmpType,
    IcmpCode,
    Icmpv6Type,
    /// The layer-3 family of a packet (`ipv4` 2, `ipv6` 10).
    Nfproto,
    /// `host` 0, `broadcast` 1, `multicast` 2, `other` 3.
    Pkttype,
    /// A fib lookup's address type (`unspec` 0, `unicast` 1, `local` 2, `broadcast` 3...).
    FibAddrType,
    Dscp,
    Verdict,
}

impl DataType {
    /// The type's name in `type ...` of a set.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Integer(_) => "integer",
            DataType::Ipv4Addr => "ipv4_addr",
            DataType::Ipv6Addr => "ipv6_addr",
            DataType::EtherAddr => "ether_addr",
            DataType::EtherType => "ether_type",
            DataType::InetProto => "inet_proto",
            DataType::InetService => "inet_service",
            DataType::Ifname => "ifname",
            DataType::Iface => "iface_index",
            DataType::Mark => "mark",
            DataType::CtState => "ct_state",
            DataType::CtStatus => "ct_status",
            DataType::CtDir => "ct_dir",
            DataType::TcpFlags => "tcp_flag",
            DataType::IcmpType => "icmp_type",
            DataType::IcmpCode => "icmp_code",
            DataType::Icmpv6Type => "icmpv6_type",
            DataType::Nfproto => "nf_proto",
            DataType::Pkttype => "pkt_type",
            DataType::FibAddrType => "fib_addrtype",
            DataType::Dscp => "dscp",
            DataType::Verdict => "verdict",
        }
    }

    /// The value's width in bits (an ifname is 16 bytes, as the kernel compares it).
    pub fn bits(self) -> u32 {
        match self {
            DataType::Integer(b) => u32::from(b),
            DataType::Ipv4Addr | DataType::Mark | DataType::CtState | DataType::CtStatus => 32,
            DataType::Iface | DataType::Verdict => 32,
            DataType::Ipv6Addr => 128,
            DataType::EtherAddr => 48,
            DataType::EtherType | DataType::InetService => 16,
            DataType::Ifname => 128,
            DataType::FibAddrType => 32,
            DataType::InetProto
            | DataType::CtDir
            | DataType::TcpFlags
            | DataType::IcmpType
            | DataType::IcmpCode
            | DataType::Icmpv6Type
            | DataType::Nfproto
            | DataType::Pkttype => 8,
            DataType::Dscp => 6,
        }
    }

    /// Whether a bare value list (`established,related`) is a bit mask matched as "any of".
    pub fn is_bitmask(self) -> bool {
        matches!(
            self,
            DataType::CtState | DataType::CtStatus | DataType::TcpFlags
        )
    }
}

/// A constant a rule compares with or sets: a number (an address, port, mark, state bits...
/// in host order) or an interface name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Num(u128),
    /// An interface name; a trailing `*` makes it a prefix (`"eth*"`).
    Name(Box<str>),
}

impl Value {
    /// The number, or 0 for a name.
    pub fn num(&self) -> u128 {
        match self {
            Value::Num(n) => *n,
            Value::Name(_) => 0,
        }
    }
}

/// The left side of a match, a map's key, a set's key: one key or a concatenation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    One(Key),
    /// `ip saddr . tcp dport`: the keys read in order and compared as one tuple.
    Concat(Box<[Key]>),
}

impl Expr {
    /// The keys in order (one for a plain key).
    pub fn keys(&self) -> &[Key] {
        match self {
            Expr::One(k) => std::slice::from_ref(k),
            Expr::Concat(ks) => ks,
        }
    }
}

impl Key {
    /// The type of the value this key reads.
    pub fn datatype(self) -> DataType {
        match self {
            Key::Payload(f) => match f {
                Field::EtherSaddr | Field::EtherDaddr => DataType::EtherAddr,
                Field::EtherType => DataType::EtherType,
                Field::IpSaddr | Field::IpDaddr => DataType::Ipv4Addr,
                Field::IpProtocol | Field::Ip6Nexthdr => DataType::InetProto,
                Field::IpTtl | Field::Ip6Hoplimit => DataType::Integer(8),
                Field::IpLength => DataType::Integer(16),
                Field::IpDscp => DataType::Dscp,
                Field::Ip6Saddr | Field::Ip6Daddr => DataType::Ipv6Addr,
                Field::TcpSport
                | Field::TcpDport
                | Field::UdpSport
                | Field::UdpDport
                | Field::ThSport
                | Field::ThDport => DataType::InetService,
                Field::TcpFlags => DataType::TcpFlags,
                Field::IcmpType => DataType::IcmpType,
                Field::IcmpCode => DataType::IcmpCode,
                Field::Icmpv6Type => DataType::Icmpv6Type,
            },
            Key::Meta(m) => match m {
                MetaKey::Iifname | MetaKey::Oifname => DataType::Ifname,
                MetaKey::Iif | MetaKey::Oif => DataType::Iface,
                MetaKey::L4proto => DataType::InetProto,
                MetaKey::Nfproto => DataType::Nfproto,
                MetaKey::Protocol => DataType::EtherType,
                MetaKey::Mark => DataType::Mark,
                MetaKey::Pkttype => DataType::Pkttype,
            },
            Key::Ct(c) => match c {
                CtKey::State => DataType::CtState,
                CtKey::Status => DataType::CtStatus,
                CtKey::Mark => DataType::Mark,
                CtKey::Direction => DataType::CtDir,
            },
            Key::CtTuple(_, t) => match t {
                TupleKey::IpSaddr | TupleKey::IpDaddr => DataType::Ipv4Addr,
                TupleKey::Ip6Saddr | TupleKey::Ip6Daddr => DataType::Ipv6Addr,
                TupleKey::ProtoSrc | TupleKey::ProtoDst => DataType::InetService,
            },
            Key::Fib(_, r) => match r {
                FibResult::Type => DataType::FibAddrType,
                FibResult::Oif => DataType::Iface,
                FibResult::Oifname => DataType::Ifname,
            },
        }
    }
}

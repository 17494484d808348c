//! What a rule matches: the IP header part every rule has (`-s -d -i -o -p -f`) and the match
//! extensions (`-m ...`), with the kernel's evaluation of each.

use smoltcp::wire::IpAddress;

use crate::netfilter::packet::{AddrType, PacketView, bits};
use crate::time::Instant;

/// An IPv4 or IPv6 network: `addr` is already masked; an IPv4 one in the low 32 bits of
/// `addr` and `mask` (as [`bits`] puts an IPv4 address).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Net {
    pub addr: u128,
    pub mask: u128,
    pub v6: bool,
}

impl Net {
    pub const ANY: Net = Net {
        addr: 0,
        mask: 0,
        v6: false,
    };
    pub const ANY6: Net = Net {
        addr: 0,
        mask: 0,
        v6: true,
    };

    /// An IPv4 network (`addr` not yet masked).
    pub fn v4(addr: u32, mask: u32) -> Net {
        Net {
            addr: u128::from(addr & mask),
            mask: u128::from(mask),
            v6: false,
        }
    }

    /// An IPv6 network (`addr` not yet masked).
    pub fn v6(addr: u128, mask: u128) -> Net {
        Net {
            addr: addr & mask,
            mask,
            v6: true,
        }
    }

    /// An IPv4 network's address.
    pub fn addr4(self) -> u32 {
        self.addr as u32
    }

    /// An IPv4 network's mask.
    pub fn mask4(self) -> u32 {
        self.mask as u32
    }

    pub fn contains(self, ip: IpAddress) -> bool {
        bits(ip) & self.mask == self.addr
    }

    /// The prefix length, if the mask is contiguous.
    pub fn prefix(self) -> Option<u32> {
        let mask = match self.v6 {
            true => self.mask,
            false => self.mask << 96,
        };
        let ones = mask.leading_ones();
        (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
    }

    /// The full mask of the family: a host (`/32`, `/128`).
    pub fn is_host(self) -> bool {
        self.prefix() == Some(if self.v6 { 128 } else { 32 })
    }
}

/// An interface name as `-i`/`-o` give it, `+` ending a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Iface {
    bytes: [u8; 16],
    len: u8,
    plus: bool,
}

impl Iface {
    /// `name` must be shorter than 16 bytes (checked by the parser).
    pub fn new(name: &str) -> Iface {
        let (stem, plus) = match name.strip_suffix('+') {
            Some(stem) => (stem, true),
            None => (name, false),
        };
        let mut bytes = [0u8; 16];
        let n = stem.len().min(15);
        bytes[..n].copy_from_slice(&stem.as_bytes()[..n]);
        Iface {
            bytes,
            len: n as u8,
            plus,
        }
    }

    fn stem(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The kernel's masked compare: a missing device is the empty name.
    pub fn matches(&self, dev: Option<&str>) -> bool {
        let dev = dev.unwrap_or("").as_bytes();
        if self.plus {
            dev.starts_with(self.stem())
        } else {
            dev == self.stem()
        }
    }

    /// As `-S` prints it (`docker+`).
    pub fn write(&self, out: &mut String) {
        out.push_str(std::str::from_utf8(self.stem()).unwrap_or(""));
        if self.plus {
            out.push('+');
        }
    }
}

/// The part of a rule in the kernel's `ipt_ip`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IpSpec {
    pub src: Net,
    pub src_inv: bool,
    pub dst: Net,
    pub dst_inv: bool,
    pub iniface: Option<Iface>,
    pub in_inv: bool,
    pub outiface: Option<Iface>,
    pub out_inv: bool,
    /// 0 is any.
    pub proto: u8,
    pub proto_inv: bool,
    pub frag: bool,
    pub frag_inv: bool,
}

impl IpSpec {
    /// `ip_packet_match`.
    pub fn matches(&self, pkt: &PacketView) -> bool {
        if self.src.contains(pkt.src) == self.src_inv || self.dst.contains(pkt.dst) == self.dst_inv
        {
            return false;
        }
        if let Some(i) = &self.iniface
            && i.matches(pkt.in_iface) == self.in_inv
        {
            return false;
        }
        if let Some(o) = &self.outiface
            && o.matches(pkt.out_iface) == self.out_inv
        {
            return false;
        }
        if self.proto != 0 && (pkt.proto == self.proto) == self.proto_inv {
            return false;
        }
        !(self.frag && pkt.fragment == self.frag_inv)
    }
}

/// A port range with its `!`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ports {
    pub lo: u16,
    pub hi: u16,
    pub inv: bool,
}

impl Ports {
    pub const ANY: Ports = Ports {
        lo: 0,
        hi: 0xFFFF,
        inv: false,
    };
    pub fn is_any(self) -> bool {
        self == Ports::ANY
    }
    pub fn matches(self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port) != self.inv
    }
}

/// `-m tcp` / `-m udp` (flags are TCP only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PortMatch {
    pub sport: Ports,
    pub dport: Ports,
    /// `--tcp-flags MASK COMP` (and `--syn`), with its `!`.
    pub flags: Option<(u8, u8, bool)>,
    /// `--tcp-option N`, with its `!` (TCP only).
    pub option: Option<(u8, bool)>,
}

/// `-m icmp --icmp-type`: type 255 is any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IcmpMatch {
    pub typ: u8,
    pub code_lo: u8,
    pub code_hi: u8,
    pub inv: bool,
}

/// Conntrack state bits, in `print_state` order.
pub(crate) mod ct {
    pub const INVALID: u16 = 1;
    pub const NEW: u16 = 2;
    pub const RELATED: u16 = 4;
    pub const ESTABLISHED: u16 = 8;
    pub const UNTRACKED: u16 = 16;
    pub const SNAT: u16 = 32;
    pub const DNAT: u16 = 64;
    pub const NAMES: &[(&str, u16)] = &[
        ("INVALID", INVALID),
        ("NEW", NEW),
        ("RELATED", RELATED),
        ("ESTABLISHED", ESTABLISHED),
        ("UNTRACKED", UNTRACKED),
        ("SNAT", SNAT),
        ("DNAT", DNAT),
    ];
}

/// `-m conntrack` (and `-m state`, its alias for `--state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CtMatch {
    /// Written as `-m state --state`.
    pub state_alias: bool,
    pub state: Option<(u16, bool)>,
    pub origsrc: Option<(Net, bool)>,
    pub origdst: Option<(Net, bool)>,
    pub origsrcport: Option<Ports>,
    pub origdstport: Option<Ports>,
    /// `--ctdir REPLY` is `Some(true)`.
    pub dir_reply: Option<bool>,
    /// `--ctproto`, the reply tuple, `--ctstatus`, `--ctexpire` (`ext_ctmatch.rs`).
    pub ext: super::ext_ctmatch::CtExtra,
}

/// `-m addrtype`: masks over `names::ADDR_TYPES` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AddrTypeMatch {
    pub src: Option<(u16, bool)>,
    pub dst: Option<(u16, bool)>,
    pub limit_in: bool,
    pub limit_out: bool,
}

pub(crate) fn addrtype_bit(t: AddrType) -> u16 {
    1 << match t {
        AddrType::Unspec => 0,
        AddrType::Unicast => 1,
        AddrType::Local => 2,
        AddrType::Broadcast => 3,
        AddrType::Multicast => 5,
    }
}

/// `-m iprange`: inclusive ranges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IpRangeMatch {
    pub src: Option<(u32, u32, bool)>,
    pub dst: Option<(u32, u32, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MultiportKind {
    Source,
    Destination,
    Either,
}

/// `-m multiport` (revision 1: ranges allowed, up to 15 slots).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MultiportMatch {
    pub kind: MultiportKind,
    pub ports: Vec<(u16, u16)>,
    pub inv: bool,
}

/// `-m limit`: `avg` in `XT_LIMIT_SCALE` (1/10000 s) units per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LimitMatch {
    pub avg: u32,
    pub burst: u32,
    /// Credit in nanoseconds, and when it was last topped up.
    pub credit: u64,
    pub prev: Option<Instant>,
}

/// `-m statistic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatMode {
    /// `every` is N - 1, as the kernel stores it; `count` runs from `packet`.
    Nth { every: u32, packet: u32, count: u32 },
    /// Probability in 1/2^31 units; a deterministic generator stands in for the kernel's.
    Random { probability: u32, state: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatMatch {
    pub mode: StatMode,
    pub inv: bool,
}

/// `-m mark` and `-m connmark`: `(mark & mask) == mark_value`, with its `!`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MarkMatch {
    pub mark: u32,
    pub mask: u32,
    pub inv: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Tcp(PortMatch),
    Udp(PortMatch),
    Icmp(IcmpMatch),
    /// `-m icmp6 --icmpv6-type` (ip6tables).
    Icmp6(IcmpMatch),
    /// Boxed: its tuple options (IPv6-wide networks) make it the largest match by far.
    Conntrack(Box<CtMatch>),
    AddrType(AddrTypeMatch),
    IpRange(IpRangeMatch),
    Multiport(MultiportMatch),
    Limit(LimitMatch),
    Statistic(StatMatch),
    Comment(String),
    /// `-m mark`: the packet's mark.
    Mark(MarkMatch),
    /// `-m connmark`: the connection's mark (no connection: no match, `!` or not).
    ConnMark(MarkMatch),
    /// `-m length`, `ttl`, `pkttype`, `mac`, `dscp`, `tos`, `tcpmss`, `devgroup` (`ext_hdr.rs`).
    Hdr(super::ext_hdr::HdrMatch),
    State(super::ext_state::StateMatch),
}

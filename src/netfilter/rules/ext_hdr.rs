//! Header matches and header-rewriting targets: `-m length`, `-m ttl`, `-m pkttype`,
//! `-m mac`, `-m dscp`, `-m tos`, `-m tcpmss`, `-m devgroup`, and `-j TTL`, `-j DSCP`,
//! `-j TOS`, `-j CHECKSUM`: their options as libxt_* reads them, their `print`/`save`, and
//! their evaluation as the kernel's `xt_*` modules do it.
//!
//! * The packet type (`-m pkttype`) is `skb->pkt_type` as `eth_type_trans` set it from the
//!   received frame's destination: broadcast, multicast, else unicast (the router only takes
//!   frames for its own MAC; br_netfilter's packets count as the host's too). A packet the
//!   host made has no received frame and is unicast, as the kernel leaves `pkt_type` 0.
//! * `-m mac` reads the received frame's source; a packet without one matches neither way
//!   (`mac_mt`). The kernel allows it in PREROUTING, INPUT and FORWARD only.
//! * Every interface is in device group 0 (`default`), the kernel's default.
//! * The targets rewrite the IP header when the table's run is over (`Tables::hdr`), with the
//!   header checksum updated incrementally (`csum_replace2`), before the next table of the
//!   hook reads the packet. Later rules of the same table see the new TOS and TTL through
//!   `-m ttl`, `-m dscp` and `-m tos` as in the kernel, which rewrites in place (`-m string`
//!   and LOG still read the bytes as they entered the table).

use std::fmt::Write;

use super::Prog;
use super::ext_hashlimit::HashLimit;
use super::ext_sctp::SctpMatch;
use super::ext_string::StringMatch;
use super::ext_time::TimeMatch;
use super::model::Rule;
use super::parse::{Args, Res};
use super::validate::hook_bit;
use super::values::{parse_mark_mask, strtoul0};
use crate::netfilter::packet::{Hook, PacketView};
use crate::time::Instant;

/// The match modules of this file.
pub(crate) const HDR_MATCHES: &[&str] = &[
    "length",
    "ttl",
    "pkttype",
    "mac",
    "dscp",
    "tos",
    "tcpmss",
    "devgroup",
    "hashlimit",
    "sctp",
    "string",
    "time",
];

/// The targets of this file.
pub(crate) const HDR_TARGETS: &[&str] = &["TTL", "DSCP", "TOS", "CHECKSUM"];

/// The long options of each match module, in the module's table order.
pub(crate) fn match_options(name: &str) -> &'static [(&'static str, u8)] {
    match name {
        "length" => &[("length", 1)],
        "ttl" => &[("ttl-eq", 1), ("ttl-lt", 1), ("ttl-gt", 1), ("ttl", 1)],
        "pkttype" => &[("pkt-type", 1)],
        "mac" => &[("mac-source", 1)],
        "dscp" => &[("dscp", 1), ("dscp-class", 1)],
        "tos" => &[("tos", 1)],
        "tcpmss" => &[("mss", 1)],
        "devgroup" => &[("src-group", 1), ("dst-group", 1)],
        "hashlimit" => super::ext_hashlimit::OPTIONS,
        "sctp" => super::ext_sctp::OPTIONS,
        "string" => super::ext_string::OPTIONS,
        "time" => super::ext_time::OPTIONS,
        _ => &[],
    }
}

/// The long options of each target.
pub(crate) fn target_options(name: &str) -> &'static [(&'static str, u8)] {
    match name {
        "TTL" => &[("ttl-set", 1), ("ttl-dec", 1), ("ttl-inc", 1)],
        "DSCP" => &[("set-dscp", 1), ("set-dscp-class", 1)],
        "TOS" => &[
            ("set-tos", 1),
            ("and-tos", 1),
            ("or-tos", 1),
            ("xor-tos", 1),
        ],
        "CHECKSUM" => &[("checksum-fill", 0)],
        _ => &[],
    }
}

/// Options that exclude each other (`xt_option_entry.excl`): in option table order, each
/// with its id (`O_*`). `xtables_options_fcheck` names the first given in table order and
/// the lowest-numbered other one given.
fn exclusive(ext: &str) -> &'static [(&'static str, u8)] {
    match ext {
        // libxt_ttl: O_TTL_EQ 0, O_TTL_LT 1, O_TTL_GT 2; table order lt, gt, eq.
        "ttl" => &[("ttl-lt", 1), ("ttl-gt", 2), ("ttl-eq", 0)],
        "dscp" => &[("dscp", 0), ("dscp-class", 1)],
        "DSCP" => &[("set-dscp", 0), ("set-dscp-class", 1)],
        // libxt_HL: O_TTL_SET 0, O_TTL_INC 1, O_TTL_DEC 2.
        "TTL" => &[("ttl-set", 0), ("ttl-dec", 2), ("ttl-inc", 1)],
        "TOS" => &[
            ("set-tos", 0),
            ("and-tos", 1),
            ("or-tos", 2),
            ("xor-tos", 3),
        ],
        _ => &[],
    }
}

fn fcheck(p: &Prog, ext: &str, seen: &[&str]) -> Res<()> {
    let table = exclusive(ext);
    let given: Vec<_> = table.iter().filter(|o| seen.contains(&o.0)).collect();
    if let Some(first) = given.first()
        && let Some(other) = given.iter().skip(1).min_by_key(|o| o.1)
    {
        return Err(p.param(
            format!(
                "{ext}: option \"--{}\" cannot be used together with \"--{}\".\n",
                first.0, other.0
            ),
            None,
        ));
    }
    Ok(())
}

/// `-m ttl`'s comparison (`IPT_TTL_EQ`, `_NE`, `_LT`, `_GT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TtlCmp {
    Eq,
    Ne,
    Lt,
    Gt,
}

/// `PACKET_HOST`, `PACKET_BROADCAST`, `PACKET_MULTICAST`, `PACKET_OTHERHOST`.
const PKT_TYPES: &[(&str, u8)] = &[
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("otherhost", 3),
    ("host", 0),
];

/// The TOS names of `tos_values.c` (with mask 0x3f).
const TOS_NAMES: &[(&str, u8)] = &[
    ("Minimize-Cost", 0x02),
    ("Maximize-Reliability", 0x04),
    ("Maximize-Throughput", 0x08),
    ("Minimize-Delay", 0x10),
    ("Normal-Service", 0x00),
];

/// The DiffServ classes of `dscp_helper.c`.
const DSCP_CLASSES: &[(&str, u8)] = &[
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// A header match (and `-m hashlimit`, `ext_hashlimit.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HdrMatch {
    /// `-m length`: the IP total length in `lo..=hi`.
    Length {
        lo: u16,
        hi: u16,
        inv: bool,
    },
    Ttl {
        cmp: TtlCmp,
        ttl: u8,
    },
    PktType {
        typ: u8,
        inv: bool,
    },
    Mac {
        addr: [u8; 6],
        inv: bool,
    },
    /// `-m dscp`: the six DSCP bits.
    Dscp {
        dscp: u8,
        inv: bool,
    },
    /// `-m tos` (revision 1): `(tos & mask) == value`.
    Tos {
        value: u8,
        mask: u8,
        inv: bool,
    },
    /// `-m tcpmss`: the MSS option's value in `lo..=hi`.
    TcpMss {
        lo: u16,
        hi: u16,
        inv: bool,
    },
    /// `-m devgroup`: group and mask, with the `!`, per side.
    DevGroup {
        src: Option<(u32, u32, bool)>,
        dst: Option<(u32, u32, bool)>,
    },
    HashLimit(Box<HashLimit>),
    Sctp(Box<SctpMatch>),
    String(Box<StringMatch>),
    Time(TimeMatch),
}

impl HdrMatch {
    pub fn new(name: &str) -> HdrMatch {
        match name {
            "length" => HdrMatch::Length {
                lo: 0,
                hi: 0,
                inv: false,
            },
            "ttl" => HdrMatch::Ttl {
                cmp: TtlCmp::Eq,
                ttl: 0,
            },
            "pkttype" => HdrMatch::PktType { typ: 0, inv: false },
            "mac" => HdrMatch::Mac {
                addr: [0; 6],
                inv: false,
            },
            "dscp" => HdrMatch::Dscp {
                dscp: 0,
                inv: false,
            },
            "tos" => HdrMatch::Tos {
                value: 0,
                mask: 0,
                inv: false,
            },
            "tcpmss" => HdrMatch::TcpMss {
                lo: 0,
                hi: 0,
                inv: false,
            },
            "hashlimit" => HdrMatch::HashLimit(Box::new(HashLimit::new())),
            "sctp" => HdrMatch::Sctp(Box::new(SctpMatch::new())),
            "string" => HdrMatch::String(Box::new(StringMatch::new())),
            "time" => HdrMatch::Time(TimeMatch::new()),
            _ => HdrMatch::DevGroup {
                src: None,
                dst: None,
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            HdrMatch::Length { .. } => "length",
            HdrMatch::Ttl { .. } => "ttl",
            HdrMatch::PktType { .. } => "pkttype",
            HdrMatch::Mac { .. } => "mac",
            HdrMatch::Dscp { .. } => "dscp",
            HdrMatch::Tos { .. } => "tos",
            HdrMatch::TcpMss { .. } => "tcpmss",
            HdrMatch::DevGroup { .. } => "devgroup",
            HdrMatch::HashLimit(_) => "hashlimit",
            HdrMatch::Sctp(_) => "sctp",
            HdrMatch::String(_) => "string",
            HdrMatch::Time(_) => "time",
        }
    }

    /// Reads option `opt` (its `!` in `inv`); `seen` holds the options read so far, and
    /// gets this one, as `xtables_option_parse` checks them.
    pub fn parse(
        &mut self,
        p: &Prog,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
        seen: &mut Vec<&'static str>,
    ) -> Res<()> {
        let ext = self.name();
        if let HdrMatch::Sctp(s) = self {
            return s.parse(p, opt, inv, args, seen);
        }
        // `--ttl` is `--ttl-eq` under another name, without `!`; `--hashlimit` is
        // `--hashlimit-upto`.
        let key = match opt {
            "ttl" => "ttl-eq",
            "hashlimit" => "hashlimit-upto",
            o => o,
        };
        let inv_ok = match self {
            HdrMatch::HashLimit(_) => matches!(key, "hashlimit-upto" | "hashlimit-above"),
            HdrMatch::String(_) => matches!(key, "string" | "hex-string"),
            HdrMatch::Time(_) => matches!(key, "weekdays" | "monthdays"),
            _ => !matches!(opt, "ttl-lt" | "ttl-gt" | "ttl"),
        };
        super::parse_ext::once(p, ext, seen, key, inv, inv_ok)?;
        match self {
            HdrMatch::HashLimit(h) => return h.parse(p, opt, inv, args),
            HdrMatch::String(s) => return s.parse(p, opt, inv, args),
            HdrMatch::Time(t) => return t.parse(p, opt, inv, args),
            _ => {}
        }
        let v = args.value(p)?;
        match self {
            HdrMatch::Length { lo, hi, inv: i } => {
                (*lo, *hi) = u16_range(p, ext, opt, v)?;
                *i = inv;
            }
            HdrMatch::TcpMss { lo, hi, inv: i } => {
                (*lo, *hi) = u16_range(p, ext, opt, v)?;
                if lo > hi {
                    return Err(p.param("tcpmss: invalid range given", Some(v)));
                }
                *i = inv;
            }
            HdrMatch::Ttl { cmp, ttl } => {
                *ttl = uint(p, ext, opt, v, 0, 255)? as u8;
                *cmp = match opt {
                    "ttl-lt" => TtlCmp::Lt,
                    "ttl-gt" => TtlCmp::Gt,
                    _ if inv => TtlCmp::Ne,
                    _ => TtlCmp::Eq,
                };
            }
            HdrMatch::PktType { typ, inv: i } => {
                *typ = PKT_TYPES
                    .iter()
                    .find(|t| t.0.eq_ignore_ascii_case(v))
                    .map(|t| t.1)
                    .ok_or_else(|| p.param(format!("Bad packet type '{v}'"), Some(v)))?;
                *i = inv;
            }
            HdrMatch::Mac { addr, inv: i } => {
                *addr = parse_mac(v)
                    .ok_or_else(|| p.param("Invalid MAC address specified.", Some(v)))?;
                *i = inv;
            }
            HdrMatch::Dscp { dscp, inv: i } => {
                *dscp = match opt {
                    "dscp" => uint(p, ext, opt, v, 0, 63)? as u8,
                    _ => dscp_class(p, v)?,
                };
                *i = inv;
            }
            HdrMatch::Tos {
                value,
                mask,
                inv: i,
            } => {
                (*value, *mask) = tos_mask(p, ext, opt, v)?;
                *i = inv;
            }
            HdrMatch::DevGroup { src, dst } => {
                let (g, m) = devgroup(p, opt, v)?;
                if opt == "src-group" {
                    *src = Some((g, m, inv));
                } else {
                    *dst = Some((g, m, inv));
                }
            }
            HdrMatch::HashLimit(_)
            | HdrMatch::Sctp(_)
            | HdrMatch::String(_)
            | HdrMatch::Time(_) => {}
        }
        Ok(())
    }

    /// The module's checks once the line is read.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        match self {
            HdrMatch::HashLimit(h) => return h.final_check(p, seen),
            HdrMatch::Sctp(_) => return Ok(()),
            HdrMatch::String(s) => return s.final_check(p, seen),
            HdrMatch::Time(t) => return t.final_check(p, seen),
            _ => {}
        }
        fcheck(p, self.name(), seen)?;
        if !seen.is_empty() {
            return Ok(());
        }
        let msg = match self {
            HdrMatch::Ttl { .. } => {
                "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt".to_string()
            }
            HdrMatch::Dscp { .. } => "DSCP match: Parameter --dscp is required".to_string(),
            HdrMatch::DevGroup { .. } => {
                "devgroup match: You must specify either '--src-group' or '--dst-group'".to_string()
            }
            _ => format!(
                "{}: option \"--{}\" must be specified\n",
                self.name(),
                match_options(self.name())[0].0
            ),
        };
        Err(p.param(msg, Some(self.name())))
    }

    /// The protocol the kernel module registers for (checked against `-p`).
    pub fn proto(&self) -> Option<u8> {
        match self {
            HdrMatch::TcpMss { .. } => Some(6),
            HdrMatch::Sctp(_) => Some(132),
            _ => None,
        }
    }

    /// Why the kernel's `checkentry` refuses the values (an errno text), if it does.
    pub fn refused(&self) -> Option<&'static str> {
        match self {
            HdrMatch::HashLimit(h) if !h.kernel_ok() => Some("Invalid argument"),
            HdrMatch::String(s) => s.refused(),
            _ => None,
        }
    }

    /// The hooks the kernel module allows, when it restricts them.
    pub fn hooks(&self) -> Option<u8> {
        use Hook::*;
        let input = hook_bit(Prerouting) | hook_bit(Input) | hook_bit(Forward);
        let output = hook_bit(Forward) | hook_bit(Output) | hook_bit(Postrouting);
        match self {
            HdrMatch::Mac { .. } => Some(input),
            // `devgroup_mt_checkentry`.
            HdrMatch::DevGroup { src, dst } => {
                let mut allowed = 0xFF;
                if src.is_some() {
                    allowed &= input;
                }
                if dst.is_some() {
                    allowed &= output;
                }
                Some(allowed)
            }
            _ => None,
        }
    }

    /// The kernel's `match` function.
    pub fn matches(&mut self, pkt: &PacketView, now: Instant) -> bool {
        self.matches_hdr(pkt, now, None)
    }

    /// [`HdrMatch::matches`], with the (TOS, TTL) header targets earlier in the walk wrote
    /// (the kernel rewrites the packet in place: later rules see the new fields).
    pub fn matches_hdr(&mut self, pkt: &PacketView, now: Instant, hdr: Option<(u8, u8)>) -> bool {
        let tos = hdr.map(|h| h.0).or_else(|| pkt.ip.get(1).copied());
        let ttl = hdr.map(|h| h.1).or_else(|| pkt.ip.get(8).copied());
        match *self {
            HdrMatch::HashLimit(ref mut h) => h.matches(pkt, now),
            HdrMatch::Sctp(ref s) => s.matches(pkt),
            HdrMatch::String(ref s) => s.matches(pkt),
            HdrMatch::Time(ref t) => t.matches(now),
            // `length_mt`: the IP total length.
            HdrMatch::Length { lo, hi, inv } => {
                (u32::from(lo)..=u32::from(hi)).contains(&pkt.len) != inv
            }
            // `ttl_mt`.
            HdrMatch::Ttl { cmp, ttl: want } => {
                let Some(t) = ttl else {
                    return false;
                };
                let ttl = want;
                match cmp {
                    TtlCmp::Eq => t == ttl,
                    TtlCmp::Ne => t != ttl,
                    TtlCmp::Lt => t < ttl,
                    TtlCmp::Gt => t > ttl,
                }
            }
            // `pkttype_mt`.
            HdrMatch::PktType { typ, inv } => (pkt_type(pkt) == typ) != inv,
            // `mac_mt`: no received Ethernet header, no match either way.
            HdrMatch::Mac { addr, inv } => match pkt.mac.filter(|_| pkt.in_iface.is_some()) {
                Some(eth) => (eth[6..12] == addr) != inv,
                None => false,
            },
            // `dscp_mt`.
            HdrMatch::Dscp { dscp, inv } => match tos {
                Some(tos) => (tos >> 2 == dscp) != inv,
                None => false,
            },
            // `tos_mt` (revision 1).
            HdrMatch::Tos { value, mask, inv } => match tos {
                Some(tos) => (tos & mask == value) != inv,
                None => false,
            },
            HdrMatch::TcpMss { lo, hi, inv } => tcpmss_mt(pkt, lo, hi, inv),
            // `devgroup_mt`: every device is in group 0.
            HdrMatch::DevGroup { src, dst } => {
                let ok = |side: Option<(u32, u32, bool)>| {
                    side.is_none_or(|(g, m, inv)| (g & m == 0) != inv)
                };
                ok(src) && ok(dst)
            }
        }
    }

    /// As `iptables -L` prints it.
    pub fn print(&self, out: &mut String, numeric: bool) {
        let bang = |inv: bool| if inv { "!" } else { "" };
        match *self {
            HdrMatch::Length { lo, hi, inv } => {
                let _ = write!(out, " length {}", bang(inv));
                range(out, lo, hi);
            }
            HdrMatch::Ttl { cmp, ttl } => {
                let op = match cmp {
                    TtlCmp::Eq => "==",
                    TtlCmp::Ne => "!=",
                    TtlCmp::Lt => "<",
                    TtlCmp::Gt => ">",
                };
                let _ = write!(out, " TTL match TTL {op} {ttl}");
            }
            HdrMatch::PktType { typ, inv } => {
                let _ = write!(
                    out,
                    " PKTTYPE {} {}",
                    if inv { "!=" } else { "=" },
                    pkt_type_name(typ)
                );
            }
            HdrMatch::Mac { addr, inv } => {
                out.push_str(" MAC");
                if inv {
                    out.push_str(" !");
                }
                out.push(' ');
                mac(out, addr);
            }
            HdrMatch::Dscp { dscp, inv } => {
                let _ = write!(out, " DSCP match {}0x{dscp:02x}", bang(inv));
            }
            HdrMatch::Tos { value, mask, inv } => {
                let _ = write!(out, " tos match{}", bang(inv));
                if numeric || !tos_symbolic(out, "", value, mask) {
                    let _ = write!(out, "0x{value:02x}/0x{mask:02x}");
                }
            }
            HdrMatch::TcpMss { lo, hi, inv } => {
                let _ = write!(out, " tcpmss match {}", bang(inv));
                range(out, lo, hi);
            }
            HdrMatch::DevGroup { src, dst } => devgroups(out, src, dst, "", numeric),
            HdrMatch::HashLimit(ref h) => h.print(out),
            HdrMatch::Sctp(ref s) => s.print(out, numeric),
            HdrMatch::String(ref s) => s.print(out),
            HdrMatch::Time(ref t) => t.print(out),
        }
    }

    /// As `-S` writes it (after ` -m NAME`).
    pub fn save(&self, out: &mut String) {
        let bang = |inv: bool| if inv { " !" } else { "" };
        match *self {
            HdrMatch::Length { lo, hi, inv } => {
                let _ = write!(out, "{} --length ", bang(inv));
                range(out, lo, hi);
            }
            HdrMatch::Ttl { cmp, ttl } => {
                let opt = match cmp {
                    TtlCmp::Eq => "--ttl-eq",
                    TtlCmp::Ne => "! --ttl-eq",
                    TtlCmp::Lt => "--ttl-lt",
                    TtlCmp::Gt => "--ttl-gt",
                };
                let _ = write!(out, " {opt} {ttl}");
            }
            HdrMatch::PktType { typ, inv } => {
                let _ = write!(out, "{} --pkt-type {}", bang(inv), pkt_type_name(typ));
            }
            HdrMatch::Mac { addr, inv } => {
                let _ = write!(out, "{} --mac-source ", bang(inv));
                mac(out, addr);
            }
            HdrMatch::Dscp { dscp, inv } => {
                let _ = write!(out, "{} --dscp 0x{dscp:02x}", bang(inv));
            }
            HdrMatch::Tos { value, mask, inv } => {
                let _ = write!(out, "{} --tos 0x{value:02x}/0x{mask:02x}", bang(inv));
            }
            HdrMatch::TcpMss { lo, hi, inv } => {
                let _ = write!(out, "{} --mss ", bang(inv));
                range(out, lo, hi);
            }
            HdrMatch::DevGroup { src, dst } => devgroups(out, src, dst, "--", false),
            HdrMatch::HashLimit(ref h) => h.save(out),
            HdrMatch::Sctp(ref s) => s.save(out),
            HdrMatch::String(ref s) => s.save(out),
            HdrMatch::Time(ref t) => t.save(out),
        }
    }
}

impl super::matches::Match {
    /// `matches`, with the (TOS, TTL) the header targets earlier in the walk wrote, if any.
    pub fn matches_at(&mut self, pkt: &PacketView, now: Instant, hdr: Option<(u8, u8)>) -> bool {
        match self {
            super::matches::Match::Hdr(h) => h.matches_hdr(pkt, now, hdr),
            m => m.matches(pkt, now),
        }
    }
}

/// The hooks every match of `r` allows (`None`: any).
pub(crate) fn rule_hooks(r: &Rule) -> Option<u8> {
    r.matches
        .iter()
        .filter_map(|m| match m {
            super::matches::Match::Hdr(h) => h.hooks(),
            _ => None,
        })
        .reduce(|a, b| a & b)
}

/// `skb->pkt_type` as `pkttype_mt` reads it (see the module doc).
fn pkt_type(pkt: &PacketView) -> u8 {
    match pkt.mac.filter(|_| pkt.in_iface.is_some()) {
        Some(eth) if eth[..6] == [0xFF; 6] => 1,
        Some(eth) if eth[0] & 1 != 0 => 2,
        _ => 0,
    }
}

fn pkt_type_name(typ: u8) -> &'static str {
    PKT_TYPES.iter().find(|t| t.1 == typ).map_or("", |t| t.0)
}

/// `tcpmss_mt`: the first well-formed MSS option decides; no option matches only inverted.
/// A header too short to read matches nothing (the kernel drops such a packet).
fn tcpmss_mt(pkt: &PacketView, lo: u16, hi: u16, inv: bool) -> bool {
    let ihl = usize::from(pkt.ip.first().map_or(0, |b| b & 0x0F)) * 4;
    let Some(th) = pkt.ip.get(ihl..).filter(|t| t.len() >= 20) else {
        return false;
    };
    let doff = usize::from(th[12] >> 4) * 4;
    if doff < 20 {
        return false;
    }
    let Some(op) = th.get(20..doff) else {
        return false;
    };
    let mut i = 0;
    while i < op.len() {
        if op[i] == 2 && op.len() - i >= 4 && op[i + 1] == 4 {
            let mss = u16::from_be_bytes([op[i + 2], op[i + 3]]);
            return (lo..=hi).contains(&mss) != inv;
        }
        if op[i] < 2 {
            i += 1;
        } else {
            i += usize::from(op.get(i + 1).copied().unwrap_or(0)).max(1);
        }
    }
    inv
}

fn range(out: &mut String, lo: u16, hi: u16) {
    if lo == hi {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

fn mac(out: &mut String, addr: [u8; 6]) {
    for (i, b) in addr.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// `tos_try_print_symbolic`: a name only under mask 0x3f.
fn tos_symbolic(out: &mut String, prefix: &str, value: u8, mask: u8) -> bool {
    if mask != 0x3F {
        return false;
    }
    match TOS_NAMES.iter().find(|t| t.1 == value) {
        Some(t) => {
            let _ = write!(out, " {prefix}{}", t.0);
            true
        }
        None => false,
    }
}

/// `devgroup_show`.
fn devgroups(
    out: &mut String,
    src: Option<(u32, u32, bool)>,
    dst: Option<(u32, u32, bool)>,
    pfx: &str,
    numeric: bool,
) {
    for (side, spec) in [("src", src), ("dst", dst)] {
        if let Some((g, m, inv)) = spec {
            if inv {
                out.push_str(" !");
            }
            let _ = write!(out, " {pfx}{side}-group ");
            // `xtables_print_val_mask` with /etc/iproute2/group's one name.
            if m != u32::MAX {
                let _ = write!(out, "0x{g:x}/0x{m:x}");
            } else if g == 0 && !numeric {
                out.push_str("default");
            } else {
                let _ = write!(out, "0x{g:x}");
            }
        }
    }
}

/// `xtopt_parse_mint` for a `uint16` range `A[:B]`: a missing bound is 0 or 65535.
fn u16_range(p: &Prog, ext: &str, opt: &str, v: &str) -> Res<(u16, u16)> {
    let mut vals = Vec::new();
    let mut arg = v;
    loop {
        if vals.len() == 2 {
            return Err(p.param(format!("{ext}: Too many ranges specified\n"), Some(v)));
        }
        let (value, end) = if arg.is_empty() || arg.starts_with(':') {
            (if vals.len() == 1 { 65535 } else { 0 }, arg)
        } else {
            let parsed = strtoul0(arg).filter(|&(n, _)| n <= 65535);
            let Some((n, end)) = parsed else {
                return Err(p.param(
                    format!(
                        "{ext}: bad value for option \"--{opt}\" near \"{arg}\", or out of range \
                         (0-65535).\n"
                    ),
                    Some(v),
                ));
            };
            if !end.is_empty() && !end.starts_with(':') {
                return Err(p.param(
                    format!(
                        "{ext}: Argument to \"--{opt}\" has unexpected characters near \
                         \"{end}\".\n"
                    ),
                    Some(v),
                ));
            }
            (n as u16, end)
        };
        vals.push(value);
        match end.strip_prefix(':') {
            Some(rest) => arg = rest,
            None => break,
        }
    }
    Ok((vals[0], vals.get(1).copied().unwrap_or(vals[0])))
}

/// `xtopt_parse_int`: the whole argument, in `min..=max`.
fn uint(p: &Prog, ext: &str, opt: &str, v: &str, min: u64, max: u64) -> Res<u64> {
    match strtoul0(v) {
        Some((n, "")) if (min..=max).contains(&n) => Ok(n),
        _ => Err(p.param(
            format!("{ext}: bad value for option \"--{opt}\", or out of range ({min}-{max}).\n"),
            Some(v),
        )),
    }
}

/// `xtopt_parse_ethermac`: six groups of at most two hex digits.
fn parse_mac(v: &str) -> Option<[u8; 6]> {
    let mut addr = [0u8; 6];
    let mut parts = v.split(':');
    for b in addr.iter_mut() {
        let part = parts.next()?;
        if part.len() > 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *b = if part.is_empty() {
            0
        } else {
            u8::from_str_radix(part, 16).ok()?
        };
    }
    parts.next().is_none().then_some(addr)
}

/// `class_to_dscp`: a class name, compared case-blind over the name's length.
fn dscp_class(p: &Prog, v: &str) -> Res<u8> {
    DSCP_CLASSES
        .iter()
        .find(|c| {
            v.get(..c.0.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(c.0))
        })
        .map(|c| c.1)
        .ok_or_else(|| p.param(format!("Invalid DSCP value `{v}'"), Some(v)))
}

/// `xtopt_parse_tosmask`: `VALUE[/MASK]` (mask 0xff when absent) or a name (mask 0x3f).
fn tos_mask(p: &Prog, ext: &str, opt: &str, v: &str) -> Res<(u8, u8)> {
    let byte = |s| strtoul0(s).filter(|&(n, _)| n <= 255);
    if let Some((value, rest)) = byte(v) {
        let bad = || {
            p.param(
                format!("{ext}: Bad value for \"--{opt}\" option: \"{v}\""),
                Some(v),
            )
        };
        let (mask, rest) = match rest.strip_prefix('/') {
            Some(m) => byte(m).ok_or_else(bad)?,
            None => (255, rest),
        };
        if !rest.is_empty() {
            return Err(bad());
        }
        return Ok((value as u8, mask as u8));
    }
    TOS_NAMES
        .iter()
        .find(|t| t.0.eq_ignore_ascii_case(v))
        .map(|t| (t.1, 0x3F))
        .ok_or_else(|| p.param(format!("Symbolic name \"{v}\" is unknown"), Some(v)))
}

/// `xtables_parse_val_mask` over /etc/iproute2/group (only `default`, 0).
fn devgroup(p: &Prog, opt: &str, v: &str) -> Res<(u32, u32)> {
    if v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return parse_mark_mask(p, "devgroup", opt, v);
    }
    if v == "default" {
        return Ok((0, u32::MAX));
    }
    Err(p.param(
        format!("devgroup: could not map name {v} to an integer value for option \"--{opt}\".\n"),
        Some(v),
    ))
}

/// A header-rewriting target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HdrTarget {
    /// `-j TTL`: `IPT_TTL_SET`, `_INC`, `_DEC`.
    TtlSet(u8),
    TtlInc(u8),
    TtlDec(u8),
    /// `-j DSCP`: the six DSCP bits (ECN kept).
    Dscp(u8),
    /// `-j TOS` (revision 1): `tos = (tos & !mask) ^ value`.
    Tos {
        value: u8,
        mask: u8,
    },
    /// `-j CHECKSUM --checksum-fill`: fills in a checksum left for offload. hoplab's
    /// packets always carry their checksums, so it changes nothing.
    Checksum,
}

impl HdrTarget {
    pub fn new(name: &str) -> HdrTarget {
        match name {
            "TTL" => HdrTarget::TtlSet(0),
            "DSCP" => HdrTarget::Dscp(0),
            "TOS" => HdrTarget::Tos { value: 0, mask: 0 },
            _ => HdrTarget::Checksum,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            HdrTarget::TtlSet(_) | HdrTarget::TtlInc(_) | HdrTarget::TtlDec(_) => "TTL",
            HdrTarget::Dscp(_) => "DSCP",
            HdrTarget::Tos { .. } => "TOS",
            HdrTarget::Checksum => "CHECKSUM",
        }
    }

    /// Reads one option (`once` has been checked by the caller).
    pub fn parse(&mut self, p: &Prog, opt: &str, args: &mut Args) -> Res<()> {
        let ext = self.name();
        if opt == "checksum-fill" {
            return Ok(());
        }
        let v = args.value(p)?;
        *self = match opt {
            "ttl-set" => HdrTarget::TtlSet(uint(p, ext, opt, v, 0, 255)? as u8),
            "ttl-dec" => HdrTarget::TtlDec(uint(p, ext, opt, v, 1, 255)? as u8),
            "ttl-inc" => HdrTarget::TtlInc(uint(p, ext, opt, v, 1, 255)? as u8),
            "set-dscp" => HdrTarget::Dscp(uint(p, ext, opt, v, 0, 63)? as u8),
            "set-dscp-class" => HdrTarget::Dscp(dscp_class(p, v)?),
            "set-tos" => {
                let (value, mask) = tos_mask(p, ext, opt, v)?;
                HdrTarget::Tos { value, mask }
            }
            // `tos_tg_parse_v1`.
            _ => {
                let bits = uint(p, ext, opt, v, 0, 255)? as u8;
                let (value, mask) = match opt {
                    "and-tos" => (0, !bits),
                    "or-tos" => (bits, bits),
                    _ => (bits, 0),
                };
                HdrTarget::Tos { value, mask }
            }
        };
        Ok(())
    }

    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        fcheck(p, self.name(), seen)?;
        if !seen.is_empty() {
            return Ok(());
        }
        let msg = match self {
            HdrTarget::Dscp(_) => "DSCP target: Parameter --set-dscp is required",
            HdrTarget::Tos { .. } => "TOS: An action is required",
            HdrTarget::Checksum => "CHECKSUM: option \"--checksum-fill\" must be specified\n",
            _ => "TTL: You must specify an action",
        };
        Err(p.param(msg, None))
    }

    /// As `iptables -L` prints it.
    pub fn print(&self, out: &mut String, numeric: bool) {
        match *self {
            HdrTarget::TtlSet(n) => {
                let _ = write!(out, " TTL set to {n}");
            }
            HdrTarget::TtlDec(n) => {
                let _ = write!(out, " TTL decrement by {n}");
            }
            HdrTarget::TtlInc(n) => {
                let _ = write!(out, " TTL increment by {n}");
            }
            HdrTarget::Dscp(d) => {
                let _ = write!(out, " DSCP set 0x{d:02x}");
            }
            // `tos_tg_print_v1`.
            HdrTarget::Tos { value, mask } => {
                if numeric {
                    let _ = write!(out, " TOS set 0x{value:02x}/0x{mask:02x}");
                } else if tos_symbolic(out, " TOS set", value, mask) {
                } else if value == 0 {
                    let _ = write!(out, " TOS and 0x{:02x}", !mask);
                } else if value == mask {
                    let _ = write!(out, " TOS or 0x{value:02x}");
                } else if mask == 0 {
                    let _ = write!(out, " TOS xor 0x{value:02x}");
                } else {
                    let _ = write!(out, " TOS set 0x{value:02x}/0x{mask:02x}");
                }
            }
            HdrTarget::Checksum => out.push_str(" CHECKSUM fill"),
        }
    }

    /// As `-S` writes it (after ` -j NAME`).
    pub fn save(&self, out: &mut String) {
        let _ = match *self {
            HdrTarget::TtlSet(n) => write!(out, " --ttl-set {n}"),
            HdrTarget::TtlDec(n) => write!(out, " --ttl-dec {n}"),
            HdrTarget::TtlInc(n) => write!(out, " --ttl-inc {n}"),
            HdrTarget::Dscp(d) => write!(out, " --set-dscp 0x{d:02x}"),
            HdrTarget::Tos { value, mask } => write!(out, " --set-tos 0x{value:02x}/0x{mask:02x}"),
            HdrTarget::Checksum => write!(out, " --checksum-fill"),
        };
    }

    /// The header's (TOS, TTL) after the target (`ttl_tg`, `dscp_tg`, `tos_tg`).
    pub fn apply(&self, (tos, ttl): (u8, u8)) -> (u8, u8) {
        match *self {
            HdrTarget::TtlSet(n) => (tos, n),
            HdrTarget::TtlInc(n) => (tos, ttl.saturating_add(n)),
            HdrTarget::TtlDec(n) => (tos, ttl.saturating_sub(n)),
            HdrTarget::Dscp(d) => ((tos & 0x03) | d << 2, ttl),
            HdrTarget::Tos { value, mask } => ((tos & !mask) ^ value, ttl),
            HdrTarget::Checksum => (tos, ttl),
        }
    }
}

/// The packet's (TOS, TTL), as the header-rewriting targets start from.
pub(crate) fn tos_ttl(pkt: &PacketView) -> Option<(u8, u8)> {
    Some((*pkt.ip.get(1)?, *pkt.ip.get(8)?))
}

/// Writes TOS and TTL into an IPv4 header, updating its checksum as `csum_replace2` does
/// (for each changed 16-bit word), so a packet keeps a right checksum.
pub fn rewrite_tos_ttl(ip: &mut [u8], (tos, ttl): (u8, u8)) {
    if ip.len() < 20 {
        return;
    }
    let mut sum = u16::from_be_bytes([ip[10], ip[11]]);
    for (at, byte, value) in [(0, 1, tos), (8, 8, ttl)] {
        let old = u16::from_be_bytes([ip[at], ip[at + 1]]);
        ip[byte] = value;
        let new = u16::from_be_bytes([ip[at], ip[at + 1]]);
        sum = csum_replace2(sum, old, new);
    }
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Decrements an IPv4 header's TTL, updating its checksum incrementally as the kernel's
/// `ip_decrease_ttl` does. For a header whose checksum verifies, the result is the
/// checksum a full recomputation gives: both are the one representative in 1..=0xFFFF of
/// the same ones'-complement sum, complemented, so nothing on the wire changes.
pub fn decrease_ttl(ip: &mut [u8]) {
    if ip.len() < 20 {
        return;
    }
    let old = u16::from_be_bytes([ip[8], ip[9]]);
    ip[8] = ip[8].wrapping_sub(1);
    let new = u16::from_be_bytes([ip[8], ip[9]]);
    let sum = u16::from_be_bytes([ip[10], ip[11]]);
    ip[10..12].copy_from_slice(&csum_replace2(sum, old, new).to_be_bytes());
}

/// RFC 1624 eq. 3: `HC' = ~(~HC + ~m + m')`.
fn csum_replace2(check: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!check) + u32::from(!old) + u32::from(new);
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
#[path = "ext_hdr_tests.rs"]
mod tests;

//! A rule's IP header part and its matches as nft 1.0.6 prints what iptables-nft 1.8.9 put
//! in the kernel: native expressions for `-i -o -p -s -d -f`, `tcp`, `udp`, `mark`, `limit`;
//! compat matches through libxtables' translations (1.8.9's texts, quirks included: checked
//! against the real tools). Extensions without a translation print as `xt match NAME`.

use super::ext_hdr::{HdrMatch, TtlCmp};
use super::ext_state::StateMatch;
use super::matches::{
    AddrTypeMatch, CtMatch, IcmpMatch, Iface, IpSpec, LimitMatch, Match, MultiportKind,
    MultiportMatch, Net, PortMatch, Ports, StatMode, ct,
};
use super::names;
use super::nft_view::Stmt;

const TCP: u8 = 6;
const UDP: u8 = 17;

fn ip(a: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(a)
}

fn neq(inv: bool) -> &'static str {
    if inv { "!= " } else { "" }
}

/// nft's name of an IP protocol (`getprotobynumber`), or its number.
pub(super) fn proto_text(p: u8) -> String {
    names::proto_name(p).map_or_else(|| p.to_string(), str::to_string)
}

fn iface_text(i: &Iface) -> Option<String> {
    let mut s = String::new();
    i.write(&mut s);
    // `-i +` matches every name: iptables-nft adds nothing for it.
    if s == "+" {
        return None;
    }
    Some(match s.strip_suffix('+') {
        Some(stem) => format!("\"{stem}*\""),
        None => format!("\"{s}\""),
    })
}

/// `ip saddr 10.0.0.0/8`, `ip saddr 1.2.3.4`, or with a mask that is not a prefix
/// `ip saddr & 255.0.255.0 == 10.0.0.0`.
fn addr_stmt(field: &str, n: Net, inv: bool) -> Stmt {
    let (fam, addr, mask) = match n.v6 {
        true => (
            "ip6",
            std::net::Ipv6Addr::from(n.addr).to_string(),
            std::net::Ipv6Addr::from(n.mask).to_string(),
        ),
        false => ("ip", ip(n.addr4()).to_string(), ip(n.mask4()).to_string()),
    };
    Stmt::expr(match n.prefix() {
        Some(_) if n.is_host() => format!("{fam} {field} {}{addr}", neq(inv)),
        Some(len) => format!("{fam} {field} {}{addr}/{len}", neq(inv)),
        None => format!(
            "{fam} {field} & {mask} {} {addr}",
            if inv { "!=" } else { "==" },
        ),
    })
}

/// The `ipt_ip` part, in `nft_ipv4_add`'s order.
pub(super) fn ip_stmts(spec: &IpSpec) -> Vec<Stmt> {
    let mut s = Vec::new();
    for (key, iface, inv) in [
        ("iifname", &spec.iniface, spec.in_inv),
        ("oifname", &spec.outiface, spec.out_inv),
    ] {
        if let Some(name) = iface.as_ref().and_then(iface_text) {
            s.push(Stmt::expr(format!("{key} {}{name}", neq(inv))));
        }
    }
    if spec.proto != 0 {
        s.push(Stmt::Expr {
            text: format!(
                "meta l4proto {}{}",
                neq(spec.proto_inv),
                proto_text(spec.proto)
            ),
            dep: (!spec.proto_inv).then_some(spec.proto),
            l4: None,
        });
    }
    if spec.src.mask != 0 || spec.src_inv {
        s.push(addr_stmt("saddr", spec.src, spec.src_inv));
    }
    if spec.dst.mask != 0 || spec.dst_inv {
        s.push(addr_stmt("daddr", spec.dst, spec.dst_inv));
    }
    if spec.frag {
        let op = if spec.frag_inv { "==" } else { "!=" };
        s.push(Stmt::expr(format!("ip frag-off & 8191 {op} 0")));
    }
    s
}

/// The statements one match becomes.
pub(super) fn match_stmts(m: &Match, spec: &IpSpec) -> Vec<Stmt> {
    match m {
        Match::Tcp(t) => tcp_udp("tcp", TCP, t),
        Match::Udp(u) => tcp_udp("udp", UDP, u),
        Match::Icmp(i) => vec![Stmt::xt_match("icmp", icmp(i))],
        Match::Icmp6(i) => vec![Stmt::xt_match("icmp6", icmp6(i))],
        Match::Conntrack(c) if c.state_alias => vec![Stmt::xt_match("state", conntrack(c))],
        Match::Conntrack(c) => vec![Stmt::xt_match("conntrack", conntrack(c))],
        Match::AddrType(a) => vec![Stmt::xt_match("addrtype", addrtype(a))],
        Match::IpRange(r) => {
            let mut parts = Vec::new();
            for (field, range) in [("saddr", r.src), ("daddr", r.dst)] {
                if let Some((lo, hi, inv)) = range {
                    parts.push(format!("ip {field} {}{}-{}", neq(inv), ip(lo), ip(hi)));
                }
            }
            vec![Stmt::xt_match("iprange", Some(parts.join(" ")))]
        }
        Match::Multiport(mp) => vec![Stmt::xt_match("multiport", multiport(mp, spec.proto))],
        Match::Limit(l) => vec![Stmt::other(limit(l))],
        Match::Statistic(st) => {
            let text = match st.mode {
                StatMode::Random { probability, .. } => format!(
                    "meta random & 2147483647 {} {probability}",
                    if st.inv { ">=" } else { "<" }
                ),
                StatMode::Nth { every, packet, .. } => format!(
                    "numgen inc mod {} {}{packet}",
                    u64::from(every) + 1,
                    neq(st.inv)
                ),
            };
            vec![Stmt::xt_match("statistic", Some(text))]
        }
        // libxtables hands the comment to nft apart from the translation, and nft 1.0.6
        // prints only the translation: nothing.
        Match::Comment(_) => vec![Stmt::xt_match("comment", Some(String::new()))],
        Match::Mark(mk) => vec![Stmt::expr(if mk.mask == u32::MAX {
            format!("meta mark {}0x{:08x}", neq(mk.inv), mk.mark)
        } else {
            format!(
                "meta mark & 0x{:08x} {} 0x{:08x}",
                mk.mask,
                if mk.inv { "!=" } else { "==" },
                mk.mark
            )
        })],
        Match::ConnMark(mk) => vec![Stmt::xt_match(
            "connmark",
            Some(if mk.mask == u32::MAX {
                format!("ct mark {}0x{:x}", neq(mk.inv), mk.mark)
            } else {
                format!(
                    "ct mark and 0x{:x} {} 0x{:x}",
                    mk.mask,
                    if mk.inv { "!=" } else { "==" },
                    mk.mark
                )
            }),
        )],
        Match::Hdr(h) => vec![hdr(h)],
        Match::State(s) => vec![state(s)],
    }
}

/// A port range as iptables-nft compares it: equal, `<=` from 0, or a range.
fn native_ports(proto: &str, dir: &str, p: Ports) -> String {
    let op = if p.lo == p.hi {
        format!("{}{}", neq(p.inv), p.lo)
    } else if p.lo == 0 {
        format!("{} {}", if p.inv { ">" } else { "<=" }, p.hi)
    } else {
        format!("{}{}-{}", neq(p.inv), p.lo, p.hi)
    };
    format!("{proto} {dir} {op}")
}

const TCP_FLAGS: [&str; 8] = ["fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"];

fn flag_names(bits: u8) -> String {
    let names: Vec<&str> = (0..8)
        .filter(|b| bits & (1 << b) != 0)
        .map(|b| TCP_FLAGS[b])
        .collect();
    names.join(",")
}

/// `tcp`/`udp`: native unless the match has a TCP option test or tests nothing (then the
/// compat match, whose translation prints what it has: ports, option, flags).
fn tcp_udp(name: &str, proto: u8, m: &PortMatch) -> Vec<Stmt> {
    let nothing = m.sport.is_any() && m.dport.is_any() && m.flags.is_none_or(|f| f.0 == 0);
    if nothing || m.option.is_some() {
        let mut parts = Vec::new();
        for (dir, p) in [("sport", m.sport), ("dport", m.dport)] {
            if !p.is_any() {
                parts.push(xlate_ports(name, dir, p));
            }
        }
        if let Some((opt, inv)) = m.option {
            let what = if inv { "missing" } else { "exists" };
            parts.push(format!("tcp option {opt} {what}"));
        }
        if let Some((mask, comp, inv)) = m.flags.filter(|f| f.0 != 0) {
            parts.push(format!(
                "tcp flags {}{} / {}",
                neq(inv),
                flag_names(comp),
                flag_names(mask)
            ));
        }
        return vec![Stmt::xt_match(name, Some(parts.join(" ")))];
    }
    let mut s = Vec::new();
    if let Some((mask, comp, inv)) = m.flags.filter(|f| f.0 != 0) {
        // nft folds `flags & MASK ==/!= COMP` into its flag notations.
        let text = if comp == 0 {
            format!(
                "tcp flags {}{}",
                if inv { "" } else { "! " },
                flag_names(mask)
            )
        } else if comp == mask && mask.is_power_of_two() {
            let f = flag_names(mask);
            format!("tcp flags & {f} {} {f}", if inv { "!=" } else { "==" })
        } else {
            format!(
                "tcp flags {}{} / {}",
                neq(inv),
                flag_names(comp),
                flag_names(mask)
            )
        };
        s.push(Stmt::l4(proto, text));
    }
    for (dir, p) in [("sport", m.sport), ("dport", m.dport)] {
        if !p.is_any() {
            s.push(Stmt::l4(proto, native_ports(name, dir, p)));
        }
    }
    s
}

/// A port range as the translations print it.
fn xlate_ports(proto: &str, dir: &str, p: Ports) -> String {
    if p.lo == p.hi {
        format!("{proto} {dir} {}{}", neq(p.inv), p.lo)
    } else {
        format!("{proto} {dir} {}{}-{}", neq(p.inv), p.lo, p.hi)
    }
}

/// `icmp_xlate`: a type whose codes are all allowed prints by name; a single code fails.
fn icmp(i: &IcmpMatch) -> Option<String> {
    if i.typ == 0xFF {
        return Some("ip protocol icmp".into());
    }
    if i.code_lo == i.code_hi {
        return None;
    }
    let (name, ..) = names::ICMP_TYPES
        .iter()
        .find(|&&(_, t, lo, hi)| t == i.typ && lo == i.code_lo && hi == i.code_hi)?;
    Some(format!("icmp type {}{name}", neq(i.inv)))
}

/// `icmp6_xlate`: the type by nft's name, when the rule takes every code of it.
fn icmp6(i: &IcmpMatch) -> Option<String> {
    if i.typ == 0xFF {
        return Some("meta l4proto ipv6-icmp".into());
    }
    if (i.code_lo, i.code_hi) != (0, 0xFF) {
        return None;
    }
    let name = match i.typ {
        1 => "destination-unreachable",
        2 => "packet-too-big",
        3 => "time-exceeded",
        4 => "parameter-problem",
        128 => "echo-request",
        129 => "echo-reply",
        133 => "nd-router-solicit",
        134 => "nd-router-advert",
        135 => "nd-neighbor-solicit",
        136 => "nd-neighbor-advert",
        137 => "nd-redirect",
        _ => return None,
    };
    Some(format!("icmpv6 type {}{name}", neq(i.inv)))
}

fn addr_part(n: Net) -> String {
    let addr = match n.v6 {
        true => std::net::Ipv6Addr::from(n.addr).to_string(),
        false => ip(n.addr4()).to_string(),
    };
    match n.prefix() {
        Some(len) if !n.is_host() => format!("{addr}/{len}"),
        _ => addr,
    }
}

fn range<T: std::fmt::Display + PartialEq>(lo: T, hi: T) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// `_conntrack3_mt_xlate` of libxt_conntrack 1.8.9 (and `state_xlate`).
fn conntrack(c: &CtMatch) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let reply = c.dir_reply == Some(true);
    let side = if reply { "reply" } else { "original" };
    if let Some(r) = c.dir_reply {
        parts.push(format!(
            "ct direction {}",
            if r { "reply" } else { "original" }
        ));
    }
    if let Some((p, inv)) = c.ext.proto {
        parts.push(format!("ct {side} protocol {}{p}", neq(inv)));
    }
    if let Some((mask, inv)) = c.state {
        if mask & (ct::SNAT | ct::DNAT) != 0 {
            // 1.8.9 tests the status flag's `!` here, and prints the first NAT bit alone.
            let status_inv = c.ext.status.is_some_and(|s| s.1);
            let which = if mask & ct::SNAT != 0 { "snat" } else { "dnat" };
            parts.push(format!(
                "ct status {}{which}",
                if status_inv { "!=" } else { "" }
            ));
        } else {
            let names: Vec<&str> = [
                (ct::INVALID, "invalid"),
                (ct::NEW, "new"),
                (ct::RELATED, "related"),
                (ct::ESTABLISHED, "established"),
                (ct::UNTRACKED, "untracked"),
            ]
            .into_iter()
            .filter(|(b, _)| mask & b != 0)
            .map(|(_, n)| n)
            .collect();
            let bang = if inv { "! " } else { "" };
            parts.push(format!("ct state {bang}{}", names.join(",")));
        }
    }
    if let Some((mask, inv)) = c.ext.status {
        let names: Vec<&str> = [
            (1, "expected"),
            (2, "seen-reply"),
            (4, "assured"),
            (8, "confirmed"),
        ]
        .into_iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| n)
        .collect();
        let bang = if inv { "! " } else { "" };
        parts.push(format!("ct status {bang}{}", names.join(",")));
    }
    if let Some((lo, hi, inv)) = c.ext.expire {
        parts.push(format!("ct expiration {}{}", neq(inv), range(lo, hi)));
    }
    for (what, addr) in [
        ("original saddr", c.origsrc),
        ("original daddr", c.origdst),
        ("reply saddr", c.ext.replsrc),
        ("reply daddr", c.ext.repldst),
    ] {
        if let Some((n, inv)) = addr {
            parts.push(format!("ct {what} {}{}", neq(inv), addr_part(n)));
        }
    }
    for (what, ports) in [
        ("original proto-src", c.origsrcport),
        ("original proto-dst", c.origdstport),
        ("reply proto-src", c.ext.replsrcport),
        ("reply proto-dst", c.ext.repldstport),
    ] {
        if let Some(p) = ports {
            parts.push(format!("ct {what} {}{}", neq(p.inv), range(p.lo, p.hi)));
        }
    }
    Some(parts.join(" "))
}

/// nft's names of the address types libxt_addrtype translates (bit `i` as in
/// `names::ADDR_TYPES`); THROW, NAT and XRESOLVE have none and are left out.
const FIB_TYPES: [(u16, &str); 9] = [
    (1, "unspec"),
    (1 << 1, "unicast"),
    (1 << 2, "local"),
    (1 << 3, "broadcast"),
    (1 << 4, "anycast"),
    (1 << 5, "multicast"),
    (1 << 6, "blackhole"),
    (1 << 7, "unreachable"),
    (1 << 8, "prohibit"),
];

/// `addrtype_mt_xlate`: the source type when there is one, else the destination type (a
/// rule with both prints the source's alone).
fn addrtype(a: &AddrTypeMatch) -> Option<String> {
    let (field, (mask, inv)) = match (a.src, a.dst) {
        (Some(s), _) => ("saddr", s),
        (None, Some(d)) => ("daddr", d),
        (None, None) => return None,
    };
    let iface = if a.limit_in {
        " . iif"
    } else if a.limit_out {
        " . oif"
    } else {
        ""
    };
    let types: Vec<&str> = FIB_TYPES
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
    let set = match types.as_slice() {
        [] => return None,
        [one] => one.to_string(),
        many => format!("{{ {} }}", many.join(", ")),
    };
    Some(format!("fib {field}{iface} type {}{set}", neq(inv)))
}

/// `multiport_xlate`: a set of ports or ranges; `--ports` becomes a concatenation that
/// takes each stored port alone (a range's ends as two ports) and drops the `!`.
fn multiport(mp: &MultiportMatch, proto: u8) -> Option<String> {
    let p = proto_text(proto);
    let elems: Vec<String> = mp.ports.iter().map(|&(lo, hi)| range(lo, hi)).collect();
    let set = |v: &[String]| match v {
        [one] => one.clone(),
        many => format!("{{ {} }}", many.join(", ")),
    };
    Some(match mp.kind {
        MultiportKind::Source => format!("{p} sport {}{}", neq(mp.inv), set(&elems)),
        MultiportKind::Destination => format!("{p} dport {}{}", neq(mp.inv), set(&elems)),
        MultiportKind::Either => {
            let mut ports = Vec::new();
            for &(lo, hi) in &mp.ports {
                ports.push(lo);
                if hi != lo {
                    ports.push(hi);
                }
            }
            let pairs: Vec<String> = ports
                .iter()
                .map(|x| format!("0-65535 . {x}, {x} . 0-65535"))
                .collect();
            format!("{p} sport . {p} dport {{ {} }}", pairs.join(", "))
        }
    })
}

/// `add_nft_limit`: the average as a rate per the largest unit that keeps it whole, as
/// nft prints a native limit (the default burst of 5 unsaid).
fn limit(l: &LimitMatch) -> String {
    const SCALE: u64 = 10_000;
    let mult = [SCALE * 86_400, SCALE * 3_600, SCALE * 60, SCALE];
    let avg = u64::from(l.avg.max(1));
    let mut i = 1;
    while i < mult.len() {
        if avg > mult[i] || mult[i] / avg < mult[i] % avg {
            break;
        }
        i += 1;
    }
    let unit = match mult[i - 1] / SCALE {
        86_400 => "day",
        3_600 => "hour",
        60 => "minute",
        _ => "second",
    };
    let mut s = format!("limit rate {}/{unit}", mult[i - 1] / avg);
    if l.burst != 0 && l.burst != 5 {
        s.push_str(&format!(" burst {} packets", l.burst));
    }
    s
}

fn hdr(h: &HdrMatch) -> Stmt {
    let text = match h {
        HdrMatch::Length { lo, hi, inv } => {
            Some(format!("meta length {}{}", neq(*inv), range(*lo, *hi)))
        }
        HdrMatch::Ttl { cmp, ttl } => Some(match cmp {
            TtlCmp::Eq => format!("ip ttl {ttl}"),
            TtlCmp::Ne => format!("ip ttl != {ttl}"),
            TtlCmp::Lt => format!("ip ttl lt {ttl}"),
            TtlCmp::Gt => format!("ip ttl gt {ttl}"),
        }),
        HdrMatch::PktType { typ, inv } => {
            let name = match typ {
                0 => "unicast".to_string(),
                1 => "broadcast".to_string(),
                2 => "multicast".to_string(),
                n => n.to_string(),
            };
            Some(format!("pkttype {}{name}", neq(*inv)))
        }
        HdrMatch::Mac { addr, inv } => {
            let hex: Vec<String> = addr.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("ether saddr {}{}", neq(*inv), hex.join(":")))
        }
        HdrMatch::Dscp { dscp, inv } => Some(format!("ip dscp {}0x{dscp:02x}", neq(*inv))),
        HdrMatch::TcpMss { lo, hi, inv } => Some(format!(
            "tcp option maxseg size {}{}",
            neq(*inv),
            range(*lo, *hi)
        )),
        HdrMatch::DevGroup { src, dst } => {
            let mut parts = Vec::new();
            for (key, g) in [("iifgroup", src), ("oifgroup", dst)] {
                if let Some((id, mask, inv)) = g {
                    parts.push(if *mask == u32::MAX {
                        format!("{key} {}0x{id:x}", neq(*inv))
                    } else {
                        format!(
                            "{key} and 0x{mask:x} {} 0x{id:x}",
                            if *inv { "!=" } else { "==" }
                        )
                    });
                }
            }
            Some(parts.join(" "))
        }
        HdrMatch::Sctp(s) if s.chunks.is_none() => {
            let mut parts = Vec::new();
            for (dir, p) in [("sport", s.sport), ("dport", s.dport)] {
                if let Some((lo, hi, inv)) = p {
                    parts.push(format!("sctp {dir} {}{}", neq(inv), range(lo, hi)));
                }
            }
            Some(parts.join(" "))
        }
        HdrMatch::Time(t) => t.nft_xlate(),
        HdrMatch::HashLimit(h) => h.nft_xlate(),
        // No translation in 1.8.9: tos, string, sctp with chunk types.
        _ => None,
    };
    Stmt::xt_match(hdr_name(h), text)
}

fn hdr_name(h: &HdrMatch) -> &'static str {
    match h {
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

fn state(s: &StateMatch) -> Stmt {
    match s {
        StateMatch::Helper(h) => Stmt::xt_match(
            "helper",
            Some(format!("ct helper {}\"{}\"", neq(h.invert), h.name)),
        ),
        StateMatch::Owner(o) => {
            // Only a uid or a gid test translates (`skuid`, `skgid`).
            let text = match (o.uid, o.gid, o.socket || o.suppl) {
                (Some(u), None, false) => Some(format!(
                    "skuid {}{}",
                    neq(o.invert & 2 != 0),
                    range(u.0, u.1)
                )),
                (None, Some(g), false) => Some(format!(
                    "skgid {}{}",
                    neq(o.invert & 4 != 0),
                    range(g.0, g.1)
                )),
                _ => None,
            };
            Stmt::xt_match("owner", text)
        }
        StateMatch::Policy(p) => {
            // Only `--dir in` with `--pol` and no element translates.
            let text = (p.dir_in == Some(true) && p.elems.is_empty() && !p.strict).then(|| {
                let what = if p.none { "missing" } else { "exists" };
                format!("meta secpath {what}")
            });
            Stmt::xt_match("policy", text)
        }
        StateMatch::Recent(_) => Stmt::xt_match("recent", None),
        StateMatch::Set(_) => Stmt::xt_match("set", None),
        StateMatch::Connlimit(_) => Stmt::xt_match("connlimit", None),
        StateMatch::Physdev(_) => Stmt::xt_match("physdev", None),
        StateMatch::Rpfilter(r) => {
            // `rpfilter_xlate`: none with `--accept-local`.
            let text = (!r.accept_local).then(|| {
                let mark = if r.validmark { " . mark" } else { "" };
                let iif = if r.loose { "" } else { " . iif" };
                let cmp = if r.invert { "0" } else { "!= 0" };
                format!("fib saddr{mark}{iif} oif {cmp}")
            });
            Stmt::xt_match("rpfilter", text)
        }
        StateMatch::Socket(_) => Stmt::xt_match("socket", None),
    }
}

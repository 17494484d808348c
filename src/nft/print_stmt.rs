//! A rule as `nft list` prints it: keys, values, sets and statements in nft 1.0.6's words.

use super::NftFamily;
use super::expr::{CtDir, CtKey, DataType, Expr, FibFlags, FibResult, Field, Key, MetaKey};
use super::expr::{TupleKey, Value};
use super::model::{
    CmpOp, Elem, ElemData, Limit, Log, Match, Nat, NatKind, NatTo, Reject, Rhs, Rule, Set, SetRef,
    Stmt, Table, Verdict,
};
use super::value;
use std::fmt::Write;

/// How a listing prints: `-s`, `-n`, `-a`, and which nft prints it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub stateless: bool,
    pub numeric: bool,
    pub handles: bool,
    pub version: NftVersion,
}

/// Which nft's listing format: 1.0.6 (Debian 12, the default) or 1.1 (1.1.x, Debian 13). They
/// differ in three places: 1.1 writes a flag test on several flags as `& (A | B) == V`
/// instead of `V / A,B`, always names a packet limit's burst (`burst 5 packets`), and prints
/// ICMP codes as numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NftVersion {
    #[default]
    V1_0_6,
    V1_1,
}

impl NftVersion {
    /// As a lab names it: `1.0.6` or `1.1`.
    pub fn parse(s: &str) -> Option<NftVersion> {
        match s {
            "1.0.6" => Some(NftVersion::V1_0_6),
            "1.1" => Some(NftVersion::V1_1),
            _ => None,
        }
    }
}

/// A key's words.
pub fn key_name(k: &Key) -> String {
    let s = match k {
        Key::Payload(f) => match f {
            Field::EtherSaddr => "ether saddr",
            Field::EtherDaddr => "ether daddr",
            Field::EtherType => "ether type",
            Field::IpSaddr => "ip saddr",
            Field::IpDaddr => "ip daddr",
            Field::IpProtocol => "ip protocol",
            Field::IpTtl => "ip ttl",
            Field::IpLength => "ip length",
            Field::IpDscp => "ip dscp",
            Field::Ip6Saddr => "ip6 saddr",
            Field::Ip6Daddr => "ip6 daddr",
            Field::Ip6Nexthdr => "ip6 nexthdr",
            Field::Ip6Hoplimit => "ip6 hoplimit",
            Field::TcpSport => "tcp sport",
            Field::TcpDport => "tcp dport",
            Field::TcpFlags => "tcp flags",
            Field::UdpSport => "udp sport",
            Field::UdpDport => "udp dport",
            Field::ThSport => "th sport",
            Field::ThDport => "th dport",
            Field::IcmpType => "icmp type",
            Field::IcmpCode => "icmp code",
            Field::Icmpv6Type => "icmpv6 type",
        },
        Key::Meta(m) => match m {
            MetaKey::Iifname => "iifname",
            MetaKey::Oifname => "oifname",
            MetaKey::Iif => "iif",
            MetaKey::Oif => "oif",
            MetaKey::L4proto => "meta l4proto",
            MetaKey::Nfproto => "meta nfproto",
            MetaKey::Protocol => "meta protocol",
            MetaKey::Mark => "meta mark",
            MetaKey::Pkttype => "meta pkttype",
        },
        Key::Ct(c) => match c {
            CtKey::State => "ct state",
            CtKey::Status => "ct status",
            CtKey::Mark => "ct mark",
            CtKey::Direction => "ct direction",
        },
        Key::CtTuple(d, t) => {
            let dir = match d {
                CtDir::Original => "original",
                CtDir::Reply => "reply",
            };
            let key = match t {
                TupleKey::IpSaddr => "ip saddr",
                TupleKey::IpDaddr => "ip daddr",
                TupleKey::Ip6Saddr => "ip6 saddr",
                TupleKey::Ip6Daddr => "ip6 daddr",
                TupleKey::ProtoSrc => "proto-src",
                TupleKey::ProtoDst => "proto-dst",
            };
            return format!("ct {dir} {key}");
        }
        Key::Fib(flags, r) => {
            let names = [
                (FibFlags::SADDR, "saddr"),
                (FibFlags::DADDR, "daddr"),
                (FibFlags::MARK, "mark"),
                (FibFlags::IIF, "iif"),
                (FibFlags::OIF, "oif"),
            ];
            let parts: Vec<&str> = names
                .iter()
                .filter(|(b, _)| flags.0 & b != 0)
                .map(|(_, n)| *n)
                .collect();
            let r = match r {
                FibResult::Type => "type",
                FibResult::Oif => "oif",
                FibResult::Oifname => "oifname",
            };
            return format!("fib {} {r}", parts.join(" . "));
        }
    };
    s.to_string()
}

fn expr(out: &mut String, e: &Expr) {
    let names: Vec<String> = e.keys().iter().map(key_name).collect();
    out.push_str(&names.join(" . "));
}

/// Whether nft prints prefixes of this type as `a/len` in sets.
fn prefixable(dt: DataType) -> bool {
    matches!(dt, DataType::Ipv4Addr | DataType::Ipv6Addr)
}

/// The prefix length of `lo-hi` if it is exactly one prefix.
fn prefix_len(dt: DataType, lo: u128, hi: u128) -> Option<u32> {
    let bits = dt.bits();
    let host = lo ^ hi;
    if lo & host != 0 || host & host.wrapping_add(1) != 0 {
        return None;
    }
    Some(bits - (128 - host.leading_zeros()).min(bits))
}

fn interval(out: &mut String, dt: DataType, lo: &Value, hi: &Value, st: Style) {
    value::print(out, dt, lo, st.numeric);
    if lo == hi {
        return;
    }
    if prefixable(dt)
        && let Some(len) = prefix_len(dt, lo.num(), hi.num())
    {
        let _ = write!(out, "/{len}");
        return;
    }
    out.push('-');
    value::print(out, dt, hi, st.numeric);
}

fn elem(out: &mut String, set: &Set, e: &Elem, st: Style) {
    for (i, (dt, (lo, hi))) in set.key.iter().zip(e.key.iter()).enumerate() {
        if i > 0 {
            out.push_str(" . ");
        }
        interval(out, *dt, lo, hi, st);
    }
    if let Some(c) = &e.comment {
        let _ = write!(out, " comment \"{c}\"");
    }
    match &e.data {
        None => {}
        Some(ElemData::Verdict(v)) => {
            out.push_str(" : ");
            verdict(out, v);
        }
        Some(ElemData::Values(vs)) => {
            out.push_str(" : ");
            let types = set.data.as_deref().unwrap_or(&[]);
            for (i, (v, dt)) in vs.iter().zip(types).enumerate() {
                if i > 0 {
                    out.push_str(" . ");
                }
                value::print(out, *dt, v, st.numeric);
            }
        }
    }
}

/// `{ a, b, ... }`: on one line for a rule's set; a named set's breaks lines as nft does
/// (five numbers or two addresses a line, one other value a line).
pub fn elems(out: &mut String, set: &Set, st: Style) {
    out.push_str("{ ");
    let per_line = match set.key.first() {
        _ if set.flags.anonymous => usize::MAX,
        _ if set.key.len() > 1 => 1,
        Some(
            DataType::Nfproto
            | DataType::Integer(_)
            | DataType::InetProto
            | DataType::InetService
            | DataType::TcpFlags
            | DataType::Mark
            | DataType::Iface
            | DataType::CtDir,
        ) => 5,
        Some(DataType::Ipv4Addr | DataType::CtState | DataType::CtStatus | DataType::Pkttype) => 2,
        _ => 1,
    };
    for (i, e) in set.elems.iter().enumerate() {
        if i > 0 {
            if i % per_line == 0 {
                out.push_str(",\n\t\t\t     ");
            } else {
                out.push_str(", ");
            }
        }
        elem(out, set, e, st);
    }
    out.push_str(" }");
}

fn set_ref(out: &mut String, r: &SetRef, st: Style) {
    match r {
        SetRef::Anon(s) => elems(out, s, st),
        SetRef::Named { name, .. } => {
            let _ = write!(out, "@{name}");
        }
    }
}

/// A verdict's words.
pub fn verdict(out: &mut String, v: &Verdict) {
    match v {
        Verdict::Accept => out.push_str("accept"),
        Verdict::Drop => out.push_str("drop"),
        Verdict::Continue => out.push_str("continue"),
        Verdict::Return => out.push_str("return"),
        Verdict::Jump(t) => {
            let _ = write!(out, "jump {}", t.name);
        }
        Verdict::Goto(t) => {
            let _ = write!(out, "goto {}", t.name);
        }
        Verdict::Queue { num } => {
            let _ = write!(out, "queue to {num}");
        }
    }
}

fn matches(out: &mut String, m: &Match, st: Style) {
    expr(out, &m.left);
    let dt = m.left.keys()[0].datatype();
    let op = match m.op {
        CmpOp::Implicit | CmpOp::Eq => "",
        CmpOp::Ne => "!= ",
        CmpOp::Lt => "< ",
        CmpOp::Gt => "> ",
        CmpOp::Le => "<= ",
        CmpOp::Ge => ">= ",
    };
    if let Some(mask) = m.mask {
        if dt.is_bitmask() && bitmask_match(out, m, mask, dt, st) {
            return;
        }
        out.push_str(" & ");
        value::print(out, dt, &Value::Num(mask), st.numeric);
        out.push_str(if op.is_empty() { " == " } else { " " });
        out.push_str(op);
        rhs(out, &m.left, &m.right, st);
        return;
    }
    out.push(' ');
    out.push_str(op);
    rhs(out, &m.left, &m.right, st);
}

/// A flag test (`tcp flags`, `ct state`, `ct status` under a mask) in nft's shorthand:
/// `! M` (none set), `M` (any set), `& F == F` (a single flag), and for several flags nft
/// 1.0.6's `V / M` and `!= V / M` or nft 1.1's `& (A | B) == V` and `!= V`. False: the plain
/// `& M OP V` form applies.
fn bitmask_match(out: &mut String, m: &Match, mask: u128, dt: DataType, st: Style) -> bool {
    let eq = match m.op {
        CmpOp::Implicit | CmpOp::Eq => true,
        CmpOp::Ne => false,
        _ => return false,
    };
    let Rhs::Value(vs) = &m.right else {
        return false;
    };
    let [Value::Num(v)] = vs.as_ref() else {
        return false;
    };
    let text = |n: u128| {
        let mut s = String::new();
        value::print(&mut s, dt, &Value::Num(n), st.numeric);
        s
    };
    match (*v, eq) {
        (0, true) => {
            let _ = write!(out, " ! {}", text(mask));
        }
        (0, false) => {
            let _ = write!(out, " {}", text(mask));
        }
        (v, true) if mask.count_ones() == 1 && v == mask => {
            let _ = write!(out, " & {} == {}", text(mask), text(v));
        }
        (_, _) if mask.count_ones() == 1 => return false,
        (v, eq) if st.version == NftVersion::V1_1 => {
            let op = if eq { "==" } else { "!=" };
            let or = |s: String| s.replace(',', " | ");
            let _ = write!(out, " & ({}) {op} {}", or(text(mask)), or(text(v)));
        }
        (v, eq) => {
            let op = if eq { "" } else { "!= " };
            let _ = write!(out, " {op}{} / {}", text(v), text(mask));
        }
    }
    true
}

fn rhs(out: &mut String, left: &Expr, r: &Rhs, st: Style) {
    let types: Vec<DataType> = left.keys().iter().map(|k| k.datatype()).collect();
    match r {
        Rhs::Value(vs) => {
            for (i, (v, dt)) in vs.iter().zip(&types).enumerate() {
                if i > 0 {
                    out.push_str(" . ");
                }
                // nft 1.1 names no ICMP code.
                let numeric =
                    st.numeric || (*dt == DataType::IcmpCode && st.version == NftVersion::V1_1);
                value::print(out, *dt, v, numeric);
            }
        }
        Rhs::Prefix(v, len) => {
            value::print(out, types[0], v, st.numeric);
            let _ = write!(out, "/{len}");
        }
        Rhs::Range(a, b) => {
            value::print(out, types[0], a, st.numeric);
            out.push('-');
            value::print(out, types[0], b, st.numeric);
        }
        Rhs::Set(s) => set_ref(out, s, st),
    }
}

fn log(out: &mut String, l: &Log) {
    out.push_str("log");
    if let Some(p) = &l.prefix {
        let _ = write!(out, " prefix \"{p}\"");
    }
    if let Some(g) = l.group {
        let _ = write!(out, " group {g}");
    }
    if let Some(level) = l.level {
        let _ = write!(out, " level {}", super::parse_stmt::log_level(level));
    }
    if l.flags == 31 {
        out.push_str(" flags all");
    } else if l.flags != 0 {
        let mut parts = Vec::new();
        match l.flags & 3 {
            1 => parts.push("tcp sequence"),
            2 => parts.push("tcp options"),
            3 => parts.push("tcp sequence,options"),
            _ => {}
        }
        for (bit, name) in [(4, "ip options"), (8, "skuid"), (16, "ether")] {
            if l.flags & bit != 0 {
                parts.push(name);
            }
        }
        let _ = write!(out, " flags {}", parts.join(" "));
    }
}

/// A byte count in the largest unit that divides it (`2 kbytes`).
fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} mbytes", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} kbytes", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

fn limit(out: &mut String, l: &Limit, st: Style) {
    let unit = match l.per {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        86400 => "day",
        _ => "week",
    };
    out.push_str("limit rate ");
    if l.over {
        out.push_str("over ");
    }
    if l.bytes {
        let _ = write!(out, "{}/{unit}", bytes(l.rate));
        if l.burst != 0 {
            let _ = write!(out, " burst {}", bytes(l.burst));
        }
    } else {
        let _ = write!(out, "{}/{unit}", l.rate);
        if l.burst != 5 || st.version == NftVersion::V1_1 {
            let _ = write!(out, " burst {} packets", l.burst);
        }
    }
}

fn nat(out: &mut String, n: &Nat, family: NftFamily, st: Style) {
    out.push_str(match n.kind {
        NatKind::Snat => "snat",
        NatKind::Dnat => "dnat",
        NatKind::Masquerade => "masquerade",
        NatKind::Redirect => "redirect",
    });
    let concat_map = matches!(
        n.to,
        NatTo::Map {
            with_port: true,
            ..
        }
    );
    if let Some(f) = n.family.filter(|_| family == NftFamily::Inet || concat_map) {
        let _ = write!(out, " {}", f.name());
    } else if concat_map {
        let _ = write!(
            out,
            " {}",
            if family == NftFamily::Ip6 {
                "ip6"
            } else {
                "ip"
            }
        );
    }
    let addr_type = if n.family == Some(NftFamily::Ip6) || family == NftFamily::Ip6 {
        DataType::Ipv6Addr
    } else {
        DataType::Ipv4Addr
    };
    match &n.to {
        NatTo::None => {}
        NatTo::Range { addrs, ports } => {
            out.push_str(" to ");
            // An IPv6 address before a port goes in brackets.
            let bracket = addr_type == DataType::Ipv6Addr && ports.is_some();
            let addr = |out: &mut String, v: &Value| {
                if bracket {
                    out.push('[');
                }
                value::print(out, addr_type, v, st.numeric);
                if bracket {
                    out.push(']');
                }
            };
            if let Some((a, b)) = addrs {
                addr(out, a);
                if a != b {
                    out.push('-');
                    addr(out, b);
                }
            }
            if let Some((p, q)) = ports {
                let _ = write!(out, ":{p}");
                if p != q {
                    let _ = write!(out, "-{q}");
                }
            }
        }
        NatTo::Map { key, map, .. } => {
            out.push_str(" to ");
            expr(out, key);
            out.push_str(" map ");
            set_ref(out, map, st);
        }
    }
    let mut flags = Vec::new();
    for (bit, name) in [
        (Nat::RANDOM, "random"),
        (Nat::FULLY_RANDOM, "fully-random"),
        (Nat::PERSISTENT, "persistent"),
    ] {
        if n.flags & bit != 0 {
            flags.push(name);
        }
    }
    if !flags.is_empty() {
        let _ = write!(out, " {}", flags.join(","));
    }
}

fn reject(out: &mut String, r: Reject, family: NftFamily, st: Style) {
    let code = |out: &mut String, table: &[(&'static str, u128)], c: u8| match value::symbol_name(
        table,
        u128::from(c),
    )
    .filter(|_| !st.numeric)
    {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{c}");
        }
    };
    match r {
        Reject::Default => out.push_str("reject"),
        Reject::Icmp(3) if family == NftFamily::Ip => out.push_str("reject"),
        Reject::Icmpv6(4) if family == NftFamily::Ip6 => out.push_str("reject"),
        Reject::Icmpx(1) if family == NftFamily::Inet => out.push_str("reject"),
        Reject::Icmp(c) => {
            out.push_str("reject with icmp ");
            code(out, value::ICMP_CODE, c);
        }
        Reject::Icmpv6(c) => {
            out.push_str("reject with icmpv6 ");
            code(out, value::ICMPV6_CODE, c);
        }
        Reject::Icmpx(c) => {
            out.push_str("reject with icmpx ");
            code(out, value::ICMPX_CODE, c);
        }
        Reject::TcpReset => out.push_str("reject with tcp reset"),
    }
}

/// One statement.
pub fn stmt(out: &mut String, s: &Stmt, family: NftFamily, st: Style) {
    match s {
        Stmt::Match(m) => matches(out, m, st),
        Stmt::Counter { packets, bytes } => {
            if st.stateless {
                out.push_str("counter");
            } else {
                let _ = write!(out, "counter packets {packets} bytes {bytes}");
            }
        }
        Stmt::Verdict(v) => verdict(out, v),
        Stmt::Vmap { key, map } => {
            expr(out, key);
            out.push_str(" vmap ");
            set_ref(out, map, st);
        }
        Stmt::Log(l) => log(out, l),
        Stmt::Limit(l) => limit(out, l, st),
        Stmt::Nat(n) => nat(out, n, family, st),
        Stmt::Reject(r) => reject(out, *r, family, st),
        Stmt::Mangle { key, value: v } => {
            out.push_str(&key_name(key));
            out.push_str(" set ");
            value::print(out, key.datatype(), v, st.numeric);
        }
        Stmt::Notrack => out.push_str("notrack"),
        Stmt::SetUpdate { update, key, set } => {
            out.push_str(if *update { "update " } else { "add " });
            set_ref(out, set, st);
            out.push_str(" { ");
            expr(out, key);
            out.push_str(" }");
        }
    }
}

/// A rule's text, without indentation or newline (`# handle N` with `-a`).
pub fn rule(out: &mut String, table: &Table, r: &Rule, st: Style) {
    let hidden = super::normalize::hidden_reset_dependency(&r.stmts, table.family);
    let mut first = true;
    for (i, s) in r.stmts.iter().enumerate() {
        if Some(i) == hidden {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        stmt(out, s, table.family, st);
    }
    if let Some(c) = &r.comment {
        if !first {
            out.push(' ');
        }
        let _ = write!(out, "comment \"{c}\"");
    }
    if st.handles {
        let _ = write!(out, " # handle {}", r.handle);
    }
}

//! Values on the command line: addresses and masks, ports and services, interfaces,
//! protocols, as libxtables parses them.

use super::matches::ct;
use super::matches::{Iface, Net};
use super::names::{
    ADDR_TYPES, ICMP_TYPES, host_by_name, network_by_name, parse_protocol, service_port,
};
use super::{IptablesError, Prog};

type Res<T> = Result<T, IptablesError>;

/// A dotted quad, possibly abbreviated (`10` is `10.0.0.0`, `192.168` is `192.168.0.0`), as
/// `xtables_numeric_to_ipaddr` reads it.
pub(crate) fn parse_ipv4(s: &str) -> Option<u32> {
    let mut addr = 0u32;
    for (n, part) in s.split('.').enumerate() {
        if n == 4 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        addr |= u32::from(part.parse::<u8>().ok()?) << (24 - 8 * n);
    }
    Some(addr)
}

fn parse_mask(s: &str) -> Option<u32> {
    if s.contains('.') {
        return s.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
    }
    match s.parse::<u32>().ok()? {
        0 => Some(0),
        n @ 1..=32 => Some(u32::MAX << (32 - n)),
        _ => None,
    }
}

/// `-s`/`-d`: a comma-separated list of `ADDRESS[/MASK]`, where an address may be a name from
/// `/etc/hosts` or `/etc/networks`. Duplicates (after masking) are dropped, as iptables does.
pub(crate) fn parse_net(p: &Prog, v: &str) -> Res<Vec<Net>> {
    let mut nets: Vec<Net> = Vec::new();
    for item in v.split(',') {
        let (a, m) = match item.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (item, None),
        };
        if p.v6 {
            let net = parse_net6(p, a, m)?;
            if !nets.contains(&net) {
                nets.push(net);
            }
            continue;
        }
        let mask = match m {
            Some(m) => parse_mask(m)
                .ok_or_else(|| p.param(format!("invalid mask `{m}' specified"), Some(m)))?,
            None => u32::MAX,
        };
        let addr = parse_ipv4(a)
            .or_else(|| host_by_name(a))
            .or_else(|| network_by_name(a))
            .ok_or_else(|| p.param(format!("host/network `{a}' not found"), Some(a)))?;
        let net = Net::v4(addr, mask);
        if !nets.contains(&net) {
            nets.push(net);
        }
    }
    Ok(nets)
}

/// One IPv6 `ADDRESS[/MASK]` (`xtables_ip6parse_multiple`): the mask a prefix length or an
/// address.
fn parse_net6(p: &Prog, a: &str, m: Option<&str>) -> Res<Net> {
    let mask = match m {
        None => u128::MAX,
        Some(m) if m.contains(':') => m
            .parse::<std::net::Ipv6Addr>()
            .map(u128::from)
            .map_err(|_| p.param(format!("invalid mask `{m}' specified"), Some(m)))?,
        Some(m) => match m.parse::<u32>() {
            Ok(0) => 0,
            Ok(n @ 1..=128) => u128::MAX << (128 - n),
            _ => return Err(p.param(format!("invalid mask `{m}' specified"), Some(m))),
        },
    };
    let addr = a
        .parse::<std::net::Ipv6Addr>()
        .map_err(|_| p.param(format!("host/network `{a}' not found"), Some(a)))?;
    Ok(Net::v6(u128::from(addr), mask))
}

/// `xtables_parse_port`: a number or a service name of `proto` (6 TCP, 17 UDP).
pub(crate) fn parse_port(p: &Prog, s: &str, proto: u8) -> Res<u16> {
    s.parse::<u16>()
        .ok()
        .or_else(|| service_port(s, proto))
        .ok_or_else(|| p.param(format!("invalid port/service `{s}' specified"), Some(s)))
}

/// `PORT` or `[FIRST]:[LAST]`.
pub(crate) fn parse_ports(p: &Prog, v: &str, proto: u8) -> Res<(u16, u16)> {
    match v.split_once(':') {
        None => {
            let x = parse_port(p, v, proto)?;
            Ok((x, x))
        }
        Some((a, z)) => {
            let lo = if a.is_empty() {
                0
            } else {
                parse_port(p, a, proto)?
            };
            let hi = if z.is_empty() {
                0xFFFF
            } else {
                parse_port(p, z, proto)?
            };
            if lo > hi {
                return Err(p.param("invalid portrange (min > max)", Some(v)));
            }
            Ok((lo, hi))
        }
    }
}

/// `-i`/`-o`.
pub(crate) fn parse_iface(p: &Prog, v: &str) -> Res<Iface> {
    if v.is_empty() {
        return Err(p.param("Empty interface is likely to be undesired", Some(v)));
    }
    if v.len() >= 16 {
        return Err(p.param(
            format!("interface name `{v}' must be shorter than IFNAMSIZ (15)"),
            Some(v),
        ));
    }
    Ok(Iface::new(v))
}

/// `-p`: lower-cased first, as iptables does.
pub(crate) fn parse_proto(p: &Prog, v: &str) -> Res<u8> {
    let lower = v.to_ascii_lowercase();
    parse_protocol(&lower)
        .ok_or_else(|| p.param(format!("unknown protocol \"{lower}\" specified"), Some(v)))
}

pub(crate) fn tcp_flags(p: &Prog, v: &str) -> Res<u8> {
    const NAMES: &[(&str, u8)] = &[
        ("FIN", 0x01),
        ("SYN", 0x02),
        ("RST", 0x04),
        ("PSH", 0x08),
        ("ACK", 0x10),
        ("URG", 0x20),
        ("ALL", 0x3F),
        ("NONE", 0),
    ];
    v.split(',').try_fold(0u8, |acc, f| {
        let bit = NAMES
            .iter()
            .find(|n| n.0.eq_ignore_ascii_case(f))
            .map(|n| n.1);
        Ok(acc | bit.ok_or_else(|| p.param(format!("Unknown TCP flag `{f}'"), Some(f)))?)
    })
}

/// The type and code range `v` names in `names`, as a unique prefix of a name (`what` is
/// the protocol for the message when the prefix is ambiguous); None when it names none.
fn icmp_type_named(
    p: &Prog,
    v: &str,
    names: &[(&'static str, u8, u8, u8)],
    what: &str,
) -> Res<Option<(u8, u8, u8)>> {
    let mut found: Option<&(&str, u8, u8, u8)> = None;
    for t in names {
        if !v.is_empty() && t.0.len() >= v.len() && t.0[..v.len()].eq_ignore_ascii_case(v) {
            if let Some(f) = found {
                return Err(p.param(
                    format!("Ambiguous {what} type `{v}': `{}' or `{}'?", f.0, t.0),
                    Some(v),
                ));
            }
            found = Some(t);
        }
    }
    Ok(found.map(|t| (t.1, t.2, t.3)))
}

/// `libxt_icmp6`'s `parse_icmpv6`: a (unique prefix of a) name, or `TYPE[/CODE]`.
pub(crate) fn icmpv6_type(p: &Prog, v: &str) -> Res<(u8, u8, u8)> {
    if let Some(t) = icmp_type_named(p, v, super::names::ICMPV6_TYPES, "ICMPv6")? {
        return Ok(t);
    }
    let unknown = || p.param(format!("Unknown ICMPv6 type `{v}'"), Some(v));
    let (typ, code) = match v.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (v, None),
    };
    let typ: u8 = typ.parse().map_err(|_| unknown())?;
    match code {
        Some(c) => {
            let c: u8 = c.parse().map_err(|_| unknown())?;
            Ok((typ, c, c))
        }
        None => Ok((typ, 0, 0xFF)),
    }
}

/// `parse_icmp`: a (unique prefix of a) name, or `TYPE[/CODE]`.
pub(crate) fn icmp_type(p: &Prog, v: &str) -> Res<(u8, u8, u8)> {
    if let Some(t) = icmp_type_named(p, v, ICMP_TYPES, "ICMP")? {
        return Ok(t);
    }
    let (typ, code) = match v.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (v, None),
    };
    let typ: u8 = typ
        .parse()
        .map_err(|_| p.param(format!("Invalid ICMP type `{typ}'\n"), Some(v)))?;
    match code {
        Some(c) => {
            let c: u8 = c
                .parse()
                .map_err(|_| p.param(format!("Invalid ICMP code `{c}'\n"), Some(v)))?;
            Ok((typ, c, c))
        }
        None => Ok((typ, 0, 0xFF)),
    }
}

pub(crate) fn states(p: &Prog, v: &str, opt: &str) -> Res<u16> {
    let what = if opt == "state" { "state" } else { "ctstate" };
    v.split(',').try_fold(0u16, |acc, s| {
        let bit = ct::NAMES
            .iter()
            .find(|n| n.0.eq_ignore_ascii_case(s))
            .map(|n| n.1);
        let bit = bit.filter(|&b| what == "ctstate" || b & (ct::SNAT | ct::DNAT) == 0);
        Ok(acc | bit.ok_or_else(|| p.param(format!("Bad {what} \"{s}\""), Some(s)))?)
    })
}

pub(crate) fn addr_types(p: &Prog, v: &str) -> Res<u16> {
    v.split(',').try_fold(0u16, |acc, t| {
        let i = ADDR_TYPES.iter().position(|n| n.eq_ignore_ascii_case(t));
        let i =
            i.ok_or_else(|| p.param(format!("addrtype: invalid address type \"{t}\""), Some(t)))?;
        Ok(acc | 1 << i)
    })
}

/// `parse_rate` of `libxt_limit`: `N[/second|/minute|/hour|/day]` (any prefix of the unit).
pub(crate) fn rate(v: &str) -> Option<u32> {
    let (num, unit) = match v.split_once('/') {
        Some((n, u)) => (n, Some(u)),
        None => (v, None),
    };
    let mult: u64 = match unit {
        None => 1,
        Some("") => return None,
        Some(u) => {
            let is = |full: &str| full.len() >= u.len() && full[..u.len()].eq_ignore_ascii_case(u);
            [
                ("second", 1),
                ("minute", 60),
                ("hour", 3600),
                ("day", 86_400),
            ]
            .iter()
            .find(|(full, _)| is(full))?
            .1
        }
    };
    let digits = num.bytes().take_while(u8::is_ascii_digit).count();
    let r: u64 = num[..digits].parse().ok().filter(|&r| r > 0)?;
    let avg = 10_000 * mult / r;
    (avg > 0).then_some(avg as u32)
}

/// The leading number of `s` as `strtoumax(s, &end, 0)` reads it (`0x` hex, `0` octal, else
/// decimal, an optional sign), and the rest; None when no digit is read or it overflows
/// (a `-` makes it out of range, as `xtables_strtoul_base` finds).
pub(crate) fn strtoul0(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.bytes().next().is_some_and(|b| b.is_ascii_hexdigit()) {
            (16, h)
        } else {
            // "0x" alone reads as the number 0 followed by "x".
            (8, t)
        }
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let n = digits
        .bytes()
        .take_while(|b| char::from(*b).is_digit(radix))
        .count();
    if n == 0 {
        return None;
    }
    let v = u64::from_str_radix(&digits[..n], radix).ok()?;
    if neg && v != 0 {
        return None;
    }
    Some((v, &digits[n..]))
}

/// A whole 32-bit number as `xtables_strtoui(s, NULL, .., 0, UINT32_MAX)` takes it.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    match strtoul0(s)? {
        (v, "") => u32::try_from(v).ok(),
        _ => None,
    }
}

/// `VALUE[/MASK]` (`XTTYPE_MARKMASK32`, the mask all ones when absent) as
/// `xtopt_parse_markmask` reads it for option `--opt` of module `ext`: a number it cannot
/// read is a bad integer value, anything after the numbers trailing garbage.
pub(crate) fn parse_mark_mask(p: &Prog, ext: &str, opt: &str, s: &str) -> Res<(u32, u32)> {
    let bad = || {
        p.param(
            format!("{ext}: bad integer value for option \"--{opt}\", or out of range.\n"),
            Some(s),
        )
    };
    let num = |t| {
        strtoul0(t)
            .and_then(|(v, rest)| Some((u32::try_from(v).ok()?, rest)))
            .ok_or_else(bad)
    };
    let (v, mut rest) = num(s)?;
    let mut mask = u32::MAX;
    if let Some(m) = rest.strip_prefix('/') {
        (mask, rest) = num(m)?;
    }
    if !rest.is_empty() {
        return Err(p.param(
            format!("{ext}: trailing garbage after value for option \"--{opt}\".\n"),
            Some(s),
        ));
    }
    Ok((v, mask))
}

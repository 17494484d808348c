//! How matches and targets print themselves: `print` for `iptables -L` (after the address
//! columns, every item with a leading space) and `save` for `-S` and `iptables-save`, as the
//! `libxt_*` modules do. This file has the pieces; `fmt_match.rs` and `fmt_target.rs` the
//! modules.

use std::fmt::Write;

use super::matches::{Net, Ports, StatMode, ct};
use super::names::{ADDR_TYPES, host_name, network_name, service_name};

/// `xtables_ipaddr_to_numeric`.
pub(crate) fn ip(out: &mut String, addr: u32) {
    let _ = write!(out, "{}", std::net::Ipv4Addr::from(addr));
}

/// `xtables_ipaddr_to_anyname`: a host name, else a network name, else the number.
pub(crate) fn ip_anyname(out: &mut String, addr: u32) {
    match host_name(addr).or_else(|| network_name(addr)) {
        Some(name) => out.push_str(name),
        None => ip(out, addr),
    }
}

/// `xtables_ipmask_to_numeric` (`xtables_ip6mask_to_numeric`): nothing for a host's mask,
/// `/N`, or the mask as an address if not contiguous.
pub(crate) fn mask_suffix(out: &mut String, net: Net) {
    match net.prefix() {
        Some(n) if net.is_host() => {
            let _ = n;
        }
        Some(n) => {
            let _ = write!(out, "/{n}");
        }
        None if net.v6 => {
            let _ = write!(out, "/{}", std::net::Ipv6Addr::from(net.mask));
        }
        None => {
            out.push('/');
            ip(out, net.mask4());
        }
    }
}

/// A network's address: IPv6 always as a number (names are IPv4's `/etc/hosts` here),
/// IPv4 as a name when not `numeric` and one is known.
pub(crate) fn net_addr(out: &mut String, net: Net, numeric: bool) {
    if net.v6 {
        let _ = write!(out, "{}", std::net::Ipv6Addr::from(net.addr));
    } else if numeric {
        ip(out, net.addr4())
    } else {
        ip_anyname(out, net.addr4())
    }
}

pub(super) fn port(out: &mut String, p: u16, proto: u8, numeric: bool) {
    match service_name(p, proto).filter(|_| !numeric) {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "{p}");
        }
    }
}

pub(super) fn print_ports(out: &mut String, name: &str, p: Ports, proto: u8, numeric: bool) {
    if p.is_any() {
        return;
    }
    let inv = if p.inv { "!" } else { "" };
    if p.lo == p.hi {
        let _ = write!(out, " {name}:{inv}");
        port(out, p.lo, proto, numeric);
    } else {
        let _ = write!(out, " {name}s:{inv}");
        port(out, p.lo, proto, numeric);
        out.push(':');
        port(out, p.hi, proto, numeric);
    }
}

pub(super) fn save_ports(out: &mut String, name: &str, p: Ports) {
    if p.lo == 0 && p.hi == 0xFFFF {
        return;
    }
    if p.inv {
        out.push_str(" !");
    }
    let _ = if p.lo == p.hi {
        write!(out, " --{name} {}", p.lo)
    } else {
        write!(out, " --{name} {}:{}", p.lo, p.hi)
    };
}

pub(super) fn tcp_flag_names(out: &mut String, mut flags: u8) {
    const NAMES: &[(&str, u8)] = &[
        ("FIN", 1),
        ("SYN", 2),
        ("RST", 4),
        ("PSH", 8),
        ("ACK", 16),
        ("URG", 32),
    ];
    if flags & 0x3F == 0 {
        out.push_str("NONE");
        return;
    }
    let mut first = true;
    for &(name, bit) in NAMES {
        if flags & bit != 0 {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
            flags &= !bit;
        }
    }
}

pub(super) fn states(out: &mut String, mask: u16) {
    let mut sep = " ";
    for &(name, bit) in ct::NAMES {
        if mask & bit != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

pub(super) fn types(out: &mut String, mask: u16) {
    let mut sep = "";
    for (i, name) in ADDR_TYPES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

/// `print_rate` of `libxt_limit`.
pub(super) fn rate(out: &mut String, avg: u32) {
    const RATES: &[(&str, u64)] = &[
        ("day", 864_000_000),
        ("hour", 36_000_000),
        ("min", 600_000),
        ("sec", 10_000),
    ];
    let period = u64::from(avg.max(1));
    let mut i = 1;
    while i < RATES.len() && !(period > RATES[i].1 || RATES[i].1 / period < RATES[i].1 % period) {
        i += 1;
    }
    let _ = write!(out, " {}/{}", RATES[i - 1].1 / period, RATES[i - 1].0);
}

/// `xtables_save_string`: bare if only `[A-Za-z0-9_-]`, else double-quoted with `"`, `\` and
/// `'` escaped.
pub(crate) fn save_string(out: &mut String, s: &str) {
    out.push(' ');
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

pub(super) fn ct_addr(
    out: &mut String,
    prefix: &str,
    what: &str,
    spec: Option<(Net, bool)>,
    numeric: bool,
) {
    let Some((net, inv)) = spec else { return };
    let _ = write!(out, "{} {prefix}{what}", if inv { " !" } else { "" });
    out.push(' ');
    if !numeric && net.addr == 0 {
        out.push_str("anywhere");
        return;
    }
    net_addr(out, net, numeric);
    mask_suffix(out, net);
}

pub(super) fn ct_port(out: &mut String, prefix: &str, what: &str, spec: Option<Ports>) {
    let Some(p) = spec else { return };
    let _ = write!(
        out,
        "{} {prefix}{what} {}",
        if p.inv { " !" } else { "" },
        p.lo
    );
    if p.hi != p.lo {
        let _ = write!(out, ":{}", p.hi);
    }
}

/// The conntrack match, listed (`prefix` "") or saved (`prefix` "--").
pub(super) fn conntrack(
    out: &mut String,
    m: &super::matches::CtMatch,
    prefix: &str,
    numeric: bool,
) {
    if let Some((mask, inv)) = m.state {
        if inv {
            out.push_str(" !");
        }
        let _ = write!(
            out,
            " {prefix}{}",
            if m.state_alias { "state" } else { "ctstate" }
        );
        states(out, mask);
    }
    m.ext.print_proto(out, prefix);
    ct_addr(out, prefix, "ctorigsrc", m.origsrc, numeric);
    ct_addr(out, prefix, "ctorigdst", m.origdst, numeric);
    m.ext.print_addrs(out, prefix, numeric);
    ct_port(out, prefix, "ctorigsrcport", m.origsrcport);
    ct_port(out, prefix, "ctorigdstport", m.origdstport);
    m.ext.print_rest(out, prefix);
    if let Some(reply) = m.dir_reply {
        let _ = write!(
            out,
            " {prefix}ctdir {}",
            if reply { "REPLY" } else { "ORIGINAL" }
        );
    }
}

pub(super) fn multiport_ports(out: &mut String, ports: &[(u16, u16)], proto: u8, numeric: bool) {
    for (i, &(lo, hi)) in ports.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        port(out, lo, proto, numeric);
        if hi != lo {
            out.push(':');
            port(out, hi, proto, numeric);
        }
    }
}

pub(super) fn stat_mode(out: &mut String, s: &super::matches::StatMatch, prefix: &str) {
    let inv = if s.inv { " !" } else { "" };
    match s.mode {
        StatMode::Random { probability, .. } => {
            let p = f64::from(probability) / f64::from(0x8000_0000u32);
            let _ = write!(out, " {prefix}mode random{inv} {prefix}probability {p:.11}");
        }
        StatMode::Nth { every, packet, .. } => {
            let _ = write!(
                out,
                " {prefix}mode nth{inv} {prefix}every {}",
                u64::from(every) + 1
            );
            if packet != 0 || !prefix.is_empty() {
                let _ = write!(out, " {prefix}packet {packet}");
            }
        }
    }
}

pub(crate) use super::fmt_match::{print_match, save_match};
pub(crate) use super::fmt_target::{print_target, save_target};

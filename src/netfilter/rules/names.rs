//! Name tables of iptables and libc: services, protocols, networks, ICMP types, REJECT types,
//! syslog levels, address types, and the K/M/G counter format.

use super::services::{HOSTS, NETWORKS, PROTOCOLS, TCP_SERVICES, UDP_SERVICES};
use crate::netfilter::packet::RejectWith;

/// `number:name[,alias...]` entries of a database string.
fn entries(db: &'static str) -> impl Iterator<Item = (u32, &'static str)> {
    db.split_ascii_whitespace().filter_map(|e| {
        let (num, names) = e.split_once(':')?;
        Some((num.parse().ok()?, names))
    })
}

fn services(proto: u8) -> Option<&'static str> {
    match proto {
        6 => Some(TCP_SERVICES),
        17 => Some(UDP_SERVICES),
        _ => None,
    }
}

/// `getservbyport(port, proto)`: the primary name of a TCP or UDP port.
pub(crate) fn service_name(port: u16, proto: u8) -> Option<&'static str> {
    entries(services(proto)?)
        .find(|&(n, _)| n == u32::from(port))
        .map(|(_, names)| names.split(',').next().unwrap_or(names))
}

/// `getservbyname(name, proto)`: a port from a service name or alias.
pub(crate) fn service_port(name: &str, proto: u8) -> Option<u16> {
    entries(services(proto)?)
        .find(|&(_, names)| names.split(',').any(|n| n == name))
        .and_then(|(n, _)| u16::try_from(n).ok())
}

/// `getprotobynumber`.
pub(crate) fn proto_name(num: u8) -> Option<&'static str> {
    entries(PROTOCOLS)
        .find(|&(n, _)| n == u32::from(num))
        .map(|(_, names)| names.split(',').next().unwrap_or(names))
}

/// `getprotobyname` (names and aliases, case-sensitive as libc is).
pub(crate) fn proto_by_name(name: &str) -> Option<u8> {
    entries(PROTOCOLS)
        .find(|&(_, names)| names.split(',').any(|n| n == name))
        .and_then(|(n, _)| u8::try_from(n).ok())
}

/// `xtables_chain_protos`: the names iptables prints without asking libc.
const CHAIN_PROTOS: &[(&str, u8)] = &[
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
];

/// `proto_to_name(proto, nolookup)` of iptables' `xshared.c`.
pub(crate) fn proto_to_name(proto: u8, nolookup: bool) -> Option<&'static str> {
    if proto != 0
        && !nolookup
        && let Some(name) = proto_name(proto)
    {
        return Some(name);
    }
    CHAIN_PROTOS.iter().find(|p| p.1 == proto).map(|p| p.0)
}

/// `xtables_parse_protocol`: a number, `all`, a libc name, or a chain-proto name.
pub(crate) fn parse_protocol(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    if s == "all" {
        return Some(0);
    }
    proto_by_name(s).or_else(|| CHAIN_PROTOS.iter().find(|p| p.0 == s).map(|p| p.1))
}

/// `getnetbyaddr` (`/etc/networks`).
pub(crate) fn network_name(addr: u32) -> Option<&'static str> {
    NETWORKS.iter().find(|n| n.0 == addr).map(|n| n.1)
}

/// `getnetbyname`.
pub(crate) fn network_by_name(name: &str) -> Option<u32> {
    NETWORKS.iter().find(|n| n.1 == name).map(|n| n.0)
}

/// `gethostbyaddr` through `/etc/hosts` (no DNS: a lab host resolves nothing else).
pub(crate) fn host_name(addr: u32) -> Option<&'static str> {
    HOSTS.iter().find(|h| h.0 == addr).map(|h| h.1)
}

/// `gethostbyname` through `/etc/hosts`.
pub(crate) fn host_by_name(name: &str) -> Option<u32> {
    HOSTS.iter().find(|h| h.1 == name).map(|h| h.0)
}

/// ICMP type names of `libxt_icmp`: name, type, code range.
pub(crate) const ICMP_TYPES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
];

/// ICMPv6 type names of `libxt_icmp6`: name, type, code range.
pub(crate) const ICMPV6_TYPES: &[(&str, u8, u8, u8)] = &[
    ("destination-unreachable", 1, 0, 0xFF),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xFF),
    ("time-exceeded", 3, 0, 0xFF),
    ("ttl-exceeded", 3, 0, 0xFF),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xFF),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xFF),
    ("ping", 128, 0, 0xFF),
    ("echo-reply", 129, 0, 0xFF),
    ("pong", 129, 0, 0xFF),
    ("router-solicitation", 133, 0, 0xFF),
    ("router-advertisement", 134, 0, 0xFF),
    ("neighbour-solicitation", 135, 0, 0xFF),
    ("neighbor-solicitation", 135, 0, 0xFF),
    ("neighbour-advertisement", 136, 0, 0xFF),
    ("neighbor-advertisement", 136, 0, 0xFF),
    ("redirect", 137, 0, 0xFF),
];

/// ip6tables REJECT's `--reject-with` names (full name, short alias), `libip6t_REJECT`'s:
/// ICMPv6 destination unreachable codes, and a TCP reset.
pub(crate) const REJECT_TYPES6: &[(&str, &str, RejectWith)] = &[
    (
        "icmp6-no-route",
        "no-route",
        RejectWith::Icmp6Unreachable(0),
    ),
    (
        "icmp6-adm-prohibited",
        "adm-prohibited",
        RejectWith::Icmp6Unreachable(1),
    ),
    (
        "icmp6-addr-unreachable",
        "addr-unreach",
        RejectWith::Icmp6Unreachable(3),
    ),
    (
        "icmp6-port-unreachable",
        "port-unreach",
        RejectWith::Icmp6Unreachable(4),
    ),
    ("tcp-reset", "tcp-reset", RejectWith::TcpReset),
    (
        "icmp6-policy-fail",
        "policy-fail",
        RejectWith::Icmp6Unreachable(5),
    ),
    (
        "icmp6-reject-route",
        "reject-route",
        RejectWith::Icmp6Unreachable(6),
    ),
];

/// REJECT's `--reject-with` names (full name, short alias).
pub(crate) const REJECT_TYPES: &[(&str, &str, RejectWith)] = &[
    (
        "icmp-net-unreachable",
        "net-unreach",
        RejectWith::IcmpNetUnreachable,
    ),
    (
        "icmp-host-unreachable",
        "host-unreach",
        RejectWith::IcmpHostUnreachable,
    ),
    (
        "icmp-proto-unreachable",
        "proto-unreach",
        RejectWith::IcmpProtoUnreachable,
    ),
    (
        "icmp-port-unreachable",
        "port-unreach",
        RejectWith::IcmpPortUnreachable,
    ),
    (
        "icmp-net-prohibited",
        "net-prohib",
        RejectWith::IcmpNetProhibited,
    ),
    (
        "icmp-host-prohibited",
        "host-prohib",
        RejectWith::IcmpHostProhibited,
    ),
    ("tcp-reset", "tcp-reset", RejectWith::TcpReset),
    (
        "icmp-admin-prohibited",
        "admin-prohib",
        RejectWith::IcmpAdminProhibited,
    ),
];

pub(crate) fn reject_name(with: RejectWith) -> &'static str {
    REJECT_TYPES
        .iter()
        .chain(REJECT_TYPES6)
        .find(|r| r.2 == with)
        .map_or("icmp-port-unreachable", |r| r.0)
}

/// syslog levels as `libxt_LOG` names them, in its table order.
pub(crate) const LOG_LEVELS: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
];

/// `rtn_names` of `libxt_addrtype`: bit `i` of a type mask is `ADDR_TYPES[i]`.
pub(crate) const ADDR_TYPES: &[&str] = &[
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

/// `xtables_print_num`: a counter column (`tabular`) or inline value, with K/M/G/T unless
/// `exact`.
pub(crate) fn print_num(out: &mut String, n: u64, exact: bool, tabular: bool) {
    use std::fmt::Write;
    if exact {
        let _ = if tabular {
            write!(out, "{n:>8} ")
        } else {
            write!(out, "{n} ")
        };
        return;
    }
    if n <= 99_999 {
        let _ = if tabular {
            write!(out, "{n:>5} ")
        } else {
            write!(out, "{n} ")
        };
        return;
    }
    let mut n = n;
    for suffix in ['K', 'M', 'G'] {
        n = n.saturating_add(500) / 1000;
        if n <= 9999 {
            let _ = if tabular {
                write!(out, "{n:>4}{suffix} ")
            } else {
                write!(out, "{n}{suffix} ")
            };
            return;
        }
    }
    n = n.saturating_add(500) / 1000;
    let _ = if tabular {
        write!(out, "{n:>4}T ")
    } else {
        write!(out, "{n}T ")
    };
}

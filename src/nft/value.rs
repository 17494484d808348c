//! Values of each datatype: read from a word as nft's datatypes parse them, and printed as
//! `nft list` prints them. The symbol tables are nft's own (`ct state`, `tcp flags`, ICMP
//! types...); services and protocols come from the libc databases iptables uses too.

use super::expr::{DataType, Value};
use super::lex::Fault;
use crate::netfilter::rules::names;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

const CT_STATE: &[(&str, u128)] = &[
    ("invalid", 1),
    ("established", 2),
    ("related", 4),
    ("new", 8),
    ("untracked", 64),
];
const CT_STATUS: &[(&str, u128)] = &[
    ("expected", 1),
    ("seen-reply", 2),
    ("assured", 4),
    ("confirmed", 8),
    ("snat", 16),
    ("dnat", 32),
    ("dying", 512),
];
const TCP_FLAGS: &[(&str, u128)] = &[
    ("fin", 1),
    ("syn", 2),
    ("rst", 4),
    ("psh", 8),
    ("ack", 16),
    ("urg", 32),
    ("ecn", 64),
    ("cwr", 128),
];
const CT_DIR: &[(&str, u128)] = &[("original", 0), ("reply", 1)];
const PKTTYPE: &[(&str, u128)] = &[
    ("host", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("other", 3),
];
const NFPROTO: &[(&str, u128)] = &[("ipv4", 2), ("ipv6", 10)];
const ETHER_TYPE: &[(&str, u128)] = &[
    ("ip", 0x0800),
    ("arp", 0x0806),
    ("ip6", 0x86dd),
    ("8021q", 0x8100),
    ("8021ad", 0x88a8),
    // An alias nft reads and never prints.
    ("vlan", 0x8100),
];
const FIB_ADDRTYPE: &[(&str, u128)] = &[
    ("unspec", 0),
    ("unicast", 1),
    ("local", 2),
    ("broadcast", 3),
    ("anycast", 4),
    ("multicast", 5),
    ("blackhole", 6),
    ("unreachable", 7),
    ("prohibit", 8),
];
/// `icmp type` names.
pub const ICMP_TYPE: &[(&str, u128)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];
const ICMPV6_TYPE: &[(&str, u128)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];
/// `reject with icmp type` codes.
pub const ICMP_CODE: &[(&str, u128)] = &[
    ("net-unreachable", 0),
    ("host-unreachable", 1),
    ("prot-unreachable", 2),
    ("port-unreachable", 3),
    ("frag-needed", 4),
    ("net-prohibited", 9),
    ("host-prohibited", 10),
    ("admin-prohibited", 13),
];
/// `reject with icmpv6 type` codes.
pub const ICMPV6_CODE: &[(&str, u128)] = &[
    ("no-route", 0),
    ("admin-prohibited", 1),
    ("addr-unreachable", 3),
    ("port-unreachable", 4),
    ("policy-fail", 5),
    ("reject-route", 6),
];
/// `reject with icmpx type` codes.
pub const ICMPX_CODE: &[(&str, u128)] = &[
    ("no-route", 0),
    ("port-unreachable", 1),
    ("host-unreachable", 2),
    ("admin-prohibited", 3),
];
const DSCP: &[(&str, u128)] = &[
    ("cs0", 0),
    ("cs1", 8),
    ("af11", 10),
    ("af12", 12),
    ("af13", 14),
    ("cs2", 16),
    ("af21", 18),
    ("af22", 20),
    ("af23", 22),
    ("cs3", 24),
    ("af31", 26),
    ("af32", 28),
    ("af33", 30),
    ("cs4", 32),
    ("af41", 34),
    ("af42", 36),
    ("af43", 38),
    ("cs5", 40),
    ("ef", 46),
    ("cs6", 48),
    ("cs7", 56),
];

/// The symbol table of a datatype that has one, and nft's word for it in errors.
fn symbols(dt: DataType) -> Option<(&'static [(&'static str, u128)], &'static str)> {
    Some(match dt {
        DataType::CtState => (CT_STATE, "conntrack state"),
        DataType::CtStatus => (CT_STATUS, "conntrack status"),
        DataType::TcpFlags => (TCP_FLAGS, "TCP flag"),
        DataType::CtDir => (CT_DIR, "conntrack direction"),
        DataType::Pkttype => (PKTTYPE, "packet type"),
        DataType::Nfproto => (NFPROTO, "netfilter protocol"),
        DataType::EtherType => (ETHER_TYPE, "Ethernet protocol"),
        DataType::FibAddrType => (FIB_ADDRTYPE, "fib address type"),
        DataType::IcmpType => (ICMP_TYPE, "ICMP type"),
        DataType::Icmpv6Type => (ICMPV6_TYPE, "ICMPv6 type"),
        DataType::IcmpCode => (ICMP_CODE, "icmp code"),
        DataType::Dscp => (DSCP, "Differentiated Services Code Point"),
        _ => return None,
    })
}

/// A number as nft reads one: decimal or `0x` hexadecimal.
pub fn parse_num(s: &str) -> Option<u128> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u128::from_str_radix(h, 16).ok(),
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

/// Reads one value of type `dt` from `text` (a word, or a quoted string's content).
pub fn parse(dt: DataType, text: &str, at: (usize, usize)) -> Result<Value, Fault> {
    let fail = |msg: &str| Err(Fault::new(msg, at));
    let too_big = |n: u128| dt.bits() < 128 && n >> dt.bits() != 0;
    match dt {
        DataType::Ipv4Addr => match text.parse::<Ipv4Addr>() {
            Ok(a) => Ok(Value::Num(u128::from(u32::from(a)))),
            Err(_) if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
                fail("Could not resolve hostname: Name or service not known")
            }
            Err(_) => fail("Could not resolve hostname: Temporary failure in name resolution"),
        },
        DataType::Ipv6Addr => match text.parse::<Ipv6Addr>() {
            Ok(a) => Ok(Value::Num(u128::from(a))),
            Err(_) => fail("Could not resolve hostname: Name or service not known"),
        },
        DataType::EtherAddr => {
            let parts: Vec<&str> = text.split(':').collect();
            let mut n = 0u128;
            for p in &parts {
                match u8::from_str_radix(p, 16) {
                    Ok(b) if parts.len() == 6 && p.len() <= 2 => n = n << 8 | u128::from(b),
                    _ => return fail("Invalid ethernet address"),
                }
            }
            Ok(Value::Num(n))
        }
        DataType::InetService => match parse_num(text) {
            Some(n) if n > 65535 => fail("Service out of range"),
            Some(n) => Ok(Value::Num(n)),
            None => match names::service_port(text, 6).or_else(|| names::service_port(text, 17)) {
                Some(p) => Ok(Value::Num(u128::from(p))),
                None => fail("Could not resolve service: Servname not supported for ai_socktype"),
            },
        },
        DataType::InetProto => match parse_num(text) {
            Some(n) if n > 255 => fail("Protocol out of range"),
            Some(n) => Ok(Value::Num(n)),
            None => match names::proto_by_name(text) {
                Some(p) => Ok(Value::Num(u128::from(p))),
                None => fail("Could not resolve protocol name"),
            },
        },
        DataType::Ifname | DataType::Iface => {
            if text.len() >= 16 {
                return fail("Interface name too long");
            }
            Ok(Value::Name(text.into()))
        }
        DataType::Mark | DataType::Integer(_) | DataType::Verdict => match parse_num(text) {
            Some(n) if too_big(n) => fail(&format!("Value {text} exceeds valid range 0-{}", {
                (1u128 << dt.bits()) - 1
            })),
            Some(n) => Ok(Value::Num(n)),
            None => fail(&format!("Could not parse {}", dt.name())),
        },
        _ => {
            let (table, what) = symbols(dt).unwrap_or((&[], "value"));
            if let Some(&(_, v)) = table.iter().find(|(n, _)| *n == text) {
                return Ok(Value::Num(v));
            }
            match parse_num(text) {
                Some(n) if !too_big(n) => Ok(Value::Num(n)),
                _ => fail(&format!("Could not parse {what}")),
            }
        }
    }
}

/// Appends `v` as nft prints a value of type `dt`; `numeric` is `-n`: symbols and protocol
/// names print as numbers (bits of a mask each as `0x..`).
pub fn print(out: &mut String, dt: DataType, v: &Value, numeric: bool) {
    let n = match v {
        Value::Name(s) => {
            let _ = write!(out, "\"{s}\"");
            return;
        }
        Value::Num(n) => *n,
    };
    match dt {
        DataType::Ipv4Addr => {
            let _ = write!(out, "{}", Ipv4Addr::from(n as u32));
        }
        DataType::Ipv6Addr => {
            let _ = write!(out, "{}", Ipv6Addr::from(n));
        }
        DataType::EtherAddr => {
            for i in (0..6).rev() {
                let _ = write!(out, "{:02x}", (n >> (8 * i)) as u8);
                if i > 0 {
                    out.push(':');
                }
            }
        }
        DataType::InetProto => match names::proto_name(n as u8).filter(|_| !numeric) {
            Some(name) => out.push_str(name),
            None => {
                let _ = write!(out, "{n}");
            }
        },
        DataType::Mark => {
            let _ = write!(out, "0x{n:08x}");
        }
        DataType::CtState | DataType::CtStatus | DataType::TcpFlags if numeric => {
            // `-n`: each bit as a number.
            let bits: Vec<String> = (0..32)
                .map(|i| 1u128 << i)
                .filter(|b| n & b != 0)
                .map(|b| format!("0x{b:x}"))
                .collect();
            if bits.is_empty() {
                out.push_str("0x0");
            }
            out.push_str(&bits.join(","));
        }
        // An ethertype is hex, four digits, also when numeric.
        DataType::EtherType if numeric => {
            let _ = write!(out, "0x{n:04x}");
        }
        _ if numeric && symbols(dt).is_some() => {
            let _ = write!(out, "{n}");
        }
        DataType::CtState | DataType::CtStatus | DataType::TcpFlags => {
            let (table, _) = symbols(dt).unwrap_or((&[], ""));
            let mut first = true;
            let mut rest = n;
            for &(name, bit) in table {
                if n & bit != 0 {
                    if !first {
                        out.push(',');
                    }
                    out.push_str(name);
                    first = false;
                    rest &= !bit;
                }
            }
            if rest != 0 || first {
                if !first {
                    out.push(',');
                }
                let _ = write!(out, "0x{rest:x}");
            }
        }
        DataType::EtherType => match symbols(dt).and_then(|(t, _)| t.iter().find(|e| e.1 == n)) {
            Some((name, _)) => out.push_str(name),
            None => {
                let _ = write!(out, "0x{n:04x}");
            }
        },
        _ => match symbols(dt).and_then(|(t, _)| t.iter().find(|e| e.1 == n)) {
            Some((name, _)) => out.push_str(name),
            None => {
                let _ = write!(out, "{n}");
            }
        },
    }
}

/// The value `name` has in `table`, or a number.
pub fn symbol(table: &[(&str, u128)], name: &str) -> Option<u128> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|e| e.1)
        .or_else(|| parse_num(name))
}

/// The name `n` has in `table`.
pub fn symbol_name(table: &[(&'static str, u128)], n: u128) -> Option<&'static str> {
    table.iter().find(|e| e.1 == n).map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(dt: DataType, text: &str) -> String {
        let mut s = String::new();
        print(&mut s, dt, &parse(dt, text, (0, 0)).unwrap(), false);
        s
    }

    #[test]
    fn values_print_as_nft_lists_them() {
        assert_eq!(show(DataType::Mark, "16"), "0x00000010");
        assert_eq!(show(DataType::InetProto, "6"), "tcp");
        assert_eq!(show(DataType::InetService, "ssh"), "22");
        assert_eq!(show(DataType::CtState, "related"), "related");
        assert_eq!(
            show(DataType::EtherAddr, "02:00:00:00:0:1"),
            "02:00:00:00:00:01"
        );
        assert_eq!(show(DataType::Ipv6Addr, "2001:db8:0::1"), "2001:db8::1");
    }

    #[test]
    fn bad_values_fail_naming_the_problem() {
        let e = |dt, t| parse(dt, t, (0, 1)).unwrap_err().msg;
        assert_eq!(e(DataType::InetService, "70000"), "Service out of range");
        assert_eq!(
            e(DataType::CtState, "foo"),
            "Could not parse conntrack state"
        );
        assert_eq!(
            e(DataType::Ipv4Addr, "1.2.3.256"),
            "Could not resolve hostname: Name or service not known"
        );
    }
}

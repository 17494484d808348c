//! `conntrack -L`: the flows as conntrack-tools lists them.

use std::fmt::Write;

use smoltcp::wire::IpAddress;

use super::{Conntrack, Tuple};
use crate::time::Instant;

/// Which flows `conntrack -L` lists, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// `-p PROTO`.
    pub proto: Option<u8>,
    /// `--src-nat`, `--dst-nat`.
    pub snat: bool,
    pub dnat: bool,
    /// `-f ipv4|ipv6` (true: IPv6); both families without it.
    pub family: Option<bool>,
    /// `-o extended`: each line starts with the family's name and number.
    pub extended: bool,
}

impl Conntrack {
    /// `conntrack -L [-f FAMILY] [-p PROTO] [--src-nat] [--dst-nat] [-o extended]`, with the
    /// summary line the tool prints (on stderr, so after the list on a terminal).
    pub fn listing(&self, now: Instant, filter: ListFilter) -> String {
        let mut out = String::new();
        let mut n = 0;
        for c in self.flows() {
            let v6 = matches!(c.orig.src, IpAddress::Ipv6(_));
            if filter.proto.is_some_and(|p| p != c.orig.proto)
                || (filter.snat && !c.snat)
                || (filter.dnat && !c.dnat)
                || filter.family.is_some_and(|f| f != v6)
            {
                continue;
            }
            n += 1;
            let name = match c.orig.proto {
                6 => "tcp",
                17 => "udp",
                1 => "icmp",
                58 => "icmpv6",
                _ => "unknown",
            };
            if filter.extended {
                let _ = write!(
                    out,
                    "{:<8} {} ",
                    if v6 { "ipv6" } else { "ipv4" },
                    if v6 { 10 } else { 2 }
                );
            }
            let left = c.expires.saturating_sub(now).nanos() / 1_000_000_000;
            let _ = write!(out, "{name:<8} {} {left} ", c.orig.proto);
            if c.orig.proto == 6 {
                let _ = write!(out, "{} ", c.tcp.name());
            }
            tuple_text(&mut out, &c.orig, c.icmp_type);
            if !c.seen_reply {
                out.push_str("[UNREPLIED] ");
            }
            tuple_text(&mut out, &c.reply, icmp_reply_type(c.icmp_type));
            if c.assured {
                out.push_str("[ASSURED] ");
            }
            let _ = writeln!(out, "mark={} use=1", c.mark);
        }
        let _ = writeln!(
            out,
            "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown."
        );
        out
    }
}

fn icmp_reply_type(t: u8) -> u8 {
    match t {
        128 => 129,
        8 => 0,
        13 => 14,
        15 => 16,
        17 => 18,
        other => other,
    }
}

fn tuple_text(out: &mut String, t: &Tuple, icmp_type: u8) {
    let _ = write!(out, "src={} dst={} ", t.src, t.dst);
    match t.proto {
        6 | 17 => {
            let _ = write!(out, "sport={} dport={} ", t.sport, t.dport);
        }
        1 | 58 => {
            let _ = write!(out, "type={icmp_type} code=0 id={} ", t.sport);
        }
        _ => {}
    }
}

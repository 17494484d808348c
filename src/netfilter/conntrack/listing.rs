//! `conntrack -L`: the flows as conntrack-tools lists them.

use std::fmt::Write;

use super::{Conntrack, Tuple};
use crate::time::Instant;

impl Conntrack {
    /// `conntrack -L [-p PROTO] [--src-nat] [--dst-nat]`, with the summary line the tool prints
    /// (on stderr, so after the list on a terminal).
    pub fn listing(&self, now: Instant, proto: Option<u8>, snat: bool, dnat: bool) -> String {
        let mut out = String::new();
        let mut n = 0;
        for c in self.flows() {
            if proto.is_some_and(|p| p != c.orig.proto) || (snat && !c.snat) || (dnat && !c.dnat) {
                continue;
            }
            n += 1;
            let name = match c.orig.proto {
                6 => "tcp",
                17 => "udp",
                1 => "icmp",
                _ => "unknown",
            };
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
        1 => {
            let _ = write!(out, "type={icmp_type} code=0 id={} ", t.sport);
        }
        _ => {}
    }
}

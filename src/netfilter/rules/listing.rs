//! `iptables -L` (with `-n`, `-v`, `-x`, `--line-numbers`), column for column as iptables'
//! `print_header`, `print_rule_details`, `print_ifaces` and `print_ipv4_addresses` print.

use std::fmt::Write;

use super::IptablesVersion;
use super::fmt_ext::{mask_suffix, net_addr, print_match, print_target};
use super::matches::{Iface, Net};
use super::model::{Rule, TableState, Target};
use super::names::{print_num, proto_to_name};

/// The `-L` options.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListFormat {
    pub numeric: bool,
    pub verbose: bool,
    pub exact: bool,
    pub line_numbers: bool,
}

/// `%-Ns `: pad to `width`, then a space.
fn col(out: &mut String, s: &str, width: usize) {
    let _ = write!(out, "{s:<width$} ");
}

fn header(out: &mut String, ts: &TableState, id: usize, f: ListFormat) {
    let c = ts.chain(id);
    let _ = write!(out, "Chain {}", c.name);
    if c.hook.is_some() {
        let _ = write!(out, " (policy {}", c.policy.name());
        if f.verbose {
            out.push(' ');
            print_num(out, c.policy_counters.packets, f.exact, false);
            out.push_str("packets, ");
            print_num(out, c.policy_counters.bytes, f.exact, false);
            out.push_str("bytes");
        }
        out.push_str(")\n");
    } else {
        let _ = writeln!(out, " ({} references)", ts.references(id));
    }
    if f.line_numbers {
        col(out, "num", 4);
    }
    if f.verbose {
        // iptables' print_header: `%5s %5s ` in units, `%8s %10s ` with -x, although the
        // byte counts below are printed `%8llu ` like the packets.
        let (wp, wb) = if f.exact { (8, 10) } else { (5, 5) };
        let _ = write!(out, "{:>wp$} {:>wb$} ", "pkts", "bytes");
    }
    col(out, "target", 9);
    out.push_str(" prot opt");
    if f.verbose {
        let _ = write!(out, " {:<6} {:<6} ", "in", "out");
    }
    let _ = writeln!(out, " {:<19}  {:<19} ", "source", "destination");
}

fn iface(i: Option<Iface>, inv: bool, numeric: bool) -> String {
    let mut s = String::new();
    if inv {
        s.push('!');
    }
    match i {
        Some(i) => i.write(&mut s),
        None => s.push_str(if numeric { "*" } else { "any" }),
    }
    s
}

fn address(out: &mut String, net: Net, inv: bool, numeric: bool) {
    out.push(if inv { '!' } else { ' ' });
    let mut s = String::new();
    if net.mask == 0 && !numeric {
        s.push_str("anywhere");
    } else {
        net_addr(&mut s, net, numeric);
        mask_suffix(&mut s, net);
    }
    col(out, &s, 19);
}

/// One rule's line.
pub(crate) fn rule_line(
    out: &mut String,
    ts: &TableState,
    r: &Rule,
    num: usize,
    f: ListFormat,
    v: IptablesVersion,
) {
    if f.line_numbers {
        col(out, &num.to_string(), 4);
    }
    if f.verbose {
        print_num(out, r.counters.packets, f.exact, true);
        print_num(out, r.counters.bytes, f.exact, true);
    }
    let target = match &r.target {
        Target::None => "",
        Target::Accept => "ACCEPT",
        Target::Drop => "DROP",
        Target::Return => "RETURN",
        Target::Queue => "QUEUE",
        Target::Jump(id) | Target::Goto(id) => ts.chain(*id).name.as_str(),
        Target::Reject(_) => "REJECT",
        Target::Log(_) => "LOG",
        Target::TcpMss(_) => "TCPMSS",
        Target::Mark(_) => "MARK",
        Target::ConnMark(_) => "CONNMARK",
        Target::Hdr(h) => h.name(),
        Target::State(t) => t.column(),
        Target::Nat(n) => match n.action {
            crate::netfilter::packet::NatAction::Dnat { .. } => "DNAT",
            crate::netfilter::packet::NatAction::Snat { .. } => "SNAT",
            crate::netfilter::packet::NatAction::Masquerade { .. } => "MASQUERADE",
            crate::netfilter::packet::NatAction::Redirect { .. } => "REDIRECT",
            crate::netfilter::packet::NatAction::Netmap { .. } => "NETMAP",
        },
    };
    col(out, target, 9);
    let ipspec = &r.ip;
    out.push(if ipspec.proto_inv { '!' } else { ' ' });
    // iptables 1.8.9 prints protocol numbers whenever -n is given.
    let nolookup = f.numeric;
    let pname = match v {
        IptablesVersion::V1_8_9 if f.numeric => None,
        _ => proto_to_name(ipspec.proto, nolookup),
    };
    match pname {
        Some(name) => col(out, name, 4),
        None => col(out, &ipspec.proto.to_string(), 4),
    }
    out.push(if ipspec.frag_inv { '!' } else { '-' });
    out.push(if ipspec.frag { 'f' } else { '-' });
    out.push(' ');
    if f.verbose {
        let i = iface(ipspec.iniface, ipspec.in_inv, f.numeric);
        let o = iface(ipspec.outiface, ipspec.out_inv, f.numeric);
        let _ = write!(out, " {i:<6} {o:<6} ");
    }
    address(out, ipspec.src, ipspec.src_inv, f.numeric);
    address(out, ipspec.dst, ipspec.dst_inv, f.numeric);
    if matches!(r.target, Target::Goto(_)) {
        out.push_str("[goto] ");
    }
    for m in &r.matches {
        print_match(out, m, ipspec, f.numeric);
    }
    print_target(out, &r.target, f.numeric);
    out.push('\n');
}

/// `iptables -L [CHAIN [RULENUM]]`: chains separated by an empty line; a rule number prints
/// that rule's line alone.
pub(crate) fn list(
    ts: &TableState,
    chain: Option<usize>,
    rulenum: Option<usize>,
    f: ListFormat,
    v: IptablesVersion,
) -> String {
    let mut out = String::new();
    let ids = match chain {
        Some(id) => vec![id],
        None => ts.listing_order(),
    };
    for (k, &id) in ids.iter().enumerate() {
        let c = ts.chain(id);
        if let Some(n) = rulenum {
            if let Some(r) = c.rules.get(n - 1) {
                rule_line(&mut out, ts, r, n, f, v);
            }
            continue;
        }
        if k > 0 {
            out.push('\n');
        }
        header(&mut out, ts, id, f);
        for (i, r) in c.rules.iter().enumerate() {
            rule_line(&mut out, ts, r, i + 1, f, v);
        }
    }
    out
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;

//! Each target's `print` (for `-L`) and `save` (for `-S`).

use std::fmt::Write;

use super::fmt_ext::save_string;
use super::model::{ConnMarkMode, TableState, Target};
use super::names::reject_name;
use smoltcp::wire::IpAddress;

use crate::netfilter::packet::NatAction;
use crate::netfilter::tcpmss::TcpMss;

/// glibc's `prioritynames` (`<syslog.h>`), in its order, without `none`.
const PRIORITY_NAMES: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("err", 3),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warn", 4),
    ("warning", 4),
];

/// A NAT range as `libxt_NAT` prints it: an IPv6 address in brackets when a port follows.
fn nat_range(out: &mut String, (lo, hi): (IpAddress, IpAddress), ports: Option<(u16, u16)>) {
    let brackets = matches!(lo, IpAddress::Ipv6(_)) && ports.is_some();
    if brackets {
        out.push('[');
    }
    let _ = write!(out, "{lo}");
    if hi != lo {
        let _ = write!(out, "-{hi}");
    }
    if brackets {
        out.push(']');
    }
    if let Some((lo, hi)) = ports {
        let _ = write!(out, ":{lo}");
        if hi != lo {
            let _ = write!(out, "-{hi}");
        }
    }
}

/// NETMAP's prefix length, of its family's width.
fn netmap_prefix(to: IpAddress, mask: u128) -> u32 {
    match to {
        IpAddress::Ipv4(_) => (mask as u32).leading_ones(),
        IpAddress::Ipv6(_) => mask.leading_ones(),
    }
}

fn port_range(out: &mut String, (lo, hi): (u16, u16)) {
    let _ = write!(out, "{lo}");
    if hi != lo {
        let _ = write!(out, "-{hi}");
    }
}

/// The target's own text in `iptables -L` (standard verdicts and chains print nothing).
pub(crate) fn print_target(out: &mut String, t: &Target, numeric: bool) {
    match t {
        Target::Reject(with) => {
            let _ = write!(out, " reject-with {}", reject_name(*with));
        }
        Target::Log(l) => {
            out.push_str(" LOG");
            if numeric {
                let _ = write!(out, " flags {} level {}", l.flags, l.level);
            } else {
                // `priority2name`: the first of glibc's `prioritynames` with the level, so
                // `err` and `warn` rather than the `error` and `warning` iptables reads.
                match PRIORITY_NAMES.iter().find(|x| x.1 == l.level) {
                    Some(x) => {
                        let _ = write!(out, " level {}", x.0);
                    }
                    None => {
                        let _ = write!(out, " UNKNOWN level {}", l.level);
                    }
                }
                for (bit, word) in [
                    (1, "tcp-sequence"),
                    (2, "tcp-options"),
                    (4, "ip-options"),
                    (8, "uid"),
                    (0x20, "macdecode"),
                ] {
                    if l.flags & bit != 0 {
                        let _ = write!(out, " {word}");
                    }
                }
            }
            if !l.prefix.is_empty() {
                let _ = write!(out, " prefix \"{}\"", l.prefix);
            }
        }
        Target::Nat(n) => {
            match n.action {
                NatAction::Dnat { addrs, ports } | NatAction::Snat { addrs, ports } => {
                    out.push_str(" to:");
                    nat_range(out, addrs, ports);
                }
                NatAction::Masquerade { ports } => {
                    if let Some(r) = ports {
                        out.push_str(" masq ports: ");
                        port_range(out, r);
                    }
                }
                NatAction::Redirect { ports } => {
                    if let Some(r) = ports {
                        out.push_str(" redir ports ");
                        port_range(out, r);
                    }
                }
                NatAction::Netmap { to, mask } => {
                    let _ = write!(out, " to:{to}/{}", netmap_prefix(to, mask));
                }
            }
            if n.random {
                out.push_str(" random");
            }
            if n.random_fully {
                out.push_str(" random-fully");
            }
            if n.persistent {
                out.push_str(" persistent");
            }
        }
        Target::TcpMss(TcpMss::ClampToPmtu) => out.push_str(" TCPMSS clamp to PMTU"),
        Target::TcpMss(TcpMss::Set(n)) => {
            let _ = write!(out, " TCPMSS set {n}");
        }
        Target::Mark(m) => set_mark(out, "MARK", m.xor, m.mask),
        Target::ConnMark(c) => {
            match c.mode {
                ConnMarkMode::Set => set_mark(out, "CONNMARK", c.ctmark, c.ctmask),
                ConnMarkMode::Save => {
                    masks(out, "save", ("nfmask", c.nfmask), ("ctmask", c.ctmask))
                }
                ConnMarkMode::Restore => {
                    masks(out, "restore", ("ctmask", c.ctmask), ("nfmask", c.nfmask))
                }
            }
            if c.shift_bits != 0 {
                let dir = if c.shift_right { "right" } else { "left" };
                let _ = write!(out, " {dir}-shift-mark {}", c.shift_bits);
            }
        }
        Target::Hdr(h) => h.print(out, numeric),
        Target::State(t) => t.print(out),
        _ => {}
    }
}

/// `mark_tg_print` / `connmark_tg_print`'s set mode: the simplest of and, or, xor, set,
/// xset that says it.
fn set_mark(out: &mut String, name: &str, xor: u32, mask: u32) {
    let _ = if xor == 0 {
        write!(out, " {name} and 0x{:x}", !mask)
    } else if xor == mask {
        write!(out, " {name} or 0x{xor:x}")
    } else if mask == 0 {
        write!(out, " {name} xor 0x{xor:x}")
    } else if mask == u32::MAX {
        write!(out, " {name} set 0x{xor:x}")
    } else {
        write!(out, " {name} xset 0x{xor:x}/0x{mask:x}")
    };
}

/// `CONNMARK save|restore`: the masks only when not all ones, one when they agree, else the
/// first and the complement of the second.
fn masks(out: &mut String, mode: &str, first: (&str, u32), second: (&str, u32)) {
    let _ = if first.1 == u32::MAX && second.1 == u32::MAX {
        write!(out, " CONNMARK {mode}")
    } else if first.1 == second.1 {
        write!(out, " CONNMARK {mode} mask 0x{:x}", first.1)
    } else {
        write!(
            out,
            " CONNMARK {mode} {} 0x{:x} {} ~0x{:x}",
            first.0, first.1, second.0, second.1
        )
    };
}

/// ` -j TARGET [options]` (or ` -g CHAIN`) as `-S` writes it.
pub(crate) fn save_target(out: &mut String, t: &Target, ts: &TableState) {
    match t {
        Target::None => {}
        Target::Accept => out.push_str(" -j ACCEPT"),
        Target::Drop => out.push_str(" -j DROP"),
        Target::Return => out.push_str(" -j RETURN"),
        Target::Queue => out.push_str(" -j QUEUE"),
        Target::Jump(id) => {
            let _ = write!(out, " -j {}", ts.chain(*id).name);
        }
        Target::Goto(id) => {
            let _ = write!(out, " -g {}", ts.chain(*id).name);
        }
        Target::Reject(with) => {
            let _ = write!(out, " -j REJECT --reject-with {}", reject_name(*with));
        }
        Target::Log(l) => {
            out.push_str(" -j LOG");
            if !l.prefix.is_empty() {
                out.push_str(" --log-prefix");
                save_string(out, &l.prefix);
            }
            if l.level != 4 {
                let _ = write!(out, " --log-level {}", l.level);
            }
            for (bit, opt) in [
                (1, "tcp-sequence"),
                (2, "tcp-options"),
                (4, "ip-options"),
                (8, "uid"),
                (0x20, "macdecode"),
            ] {
                if l.flags & bit != 0 {
                    let _ = write!(out, " --log-{opt}");
                }
            }
        }
        Target::Nat(n) => {
            let (name, opt) = match n.action {
                NatAction::Dnat { .. } => ("DNAT", " --to-destination "),
                NatAction::Snat { .. } => ("SNAT", " --to-source "),
                NatAction::Masquerade { .. } => ("MASQUERADE", " --to-ports "),
                NatAction::Redirect { .. } => ("REDIRECT", " --to-ports "),
                NatAction::Netmap { .. } => ("NETMAP", " --to "),
            };
            let _ = write!(out, " -j {name}");
            match n.action {
                NatAction::Dnat { addrs, ports } | NatAction::Snat { addrs, ports } => {
                    out.push_str(opt);
                    nat_range(out, addrs, ports);
                }
                NatAction::Masquerade { ports: Some(r) }
                | NatAction::Redirect { ports: Some(r) } => {
                    out.push_str(opt);
                    port_range(out, r);
                }
                NatAction::Netmap { to, mask } => {
                    let _ = write!(out, "{opt}{to}/{}", netmap_prefix(to, mask));
                }
                _ => {}
            }
            if n.random {
                out.push_str(" --random");
            }
            if n.random_fully {
                out.push_str(" --random-fully");
            }
            if n.persistent {
                out.push_str(" --persistent");
            }
        }
        Target::TcpMss(TcpMss::ClampToPmtu) => out.push_str(" -j TCPMSS --clamp-mss-to-pmtu"),
        Target::TcpMss(TcpMss::Set(n)) => {
            let _ = write!(out, " -j TCPMSS --set-mss {n}");
        }
        Target::Mark(m) => {
            let _ = write!(out, " -j MARK --set-xmark 0x{:x}/0x{:x}", m.xor, m.mask);
        }
        Target::ConnMark(c) => {
            let _ = match c.mode {
                ConnMarkMode::Set => write!(
                    out,
                    " -j CONNMARK --set-xmark 0x{:x}/0x{:x}",
                    c.ctmark, c.ctmask
                ),
                ConnMarkMode::Save | ConnMarkMode::Restore => write!(
                    out,
                    " -j CONNMARK --{}-mark --nfmask 0x{:x} --ctmask 0x{:x}",
                    if c.mode == ConnMarkMode::Save {
                        "save"
                    } else {
                        "restore"
                    },
                    c.nfmask,
                    c.ctmask
                ),
            };
            if c.shift_bits != 0 {
                let dir = if c.shift_right { "right" } else { "left" };
                let _ = write!(out, " --{dir}-shift-mark {}", c.shift_bits);
            }
        }
        Target::Hdr(h) => {
            let _ = write!(out, " -j {}", h.name());
            h.save(out);
        }
        Target::State(t) => t.save(out),
    }
}

//! The `-m conntrack` options beyond the state and the original tuple (`xt_conntrack`
//! revision 3): `--ctproto`, `--ctreplsrc`, `--ctrepldst`, `--ctreplsrcport`,
//! `--ctrepldstport`, `--ctstatus` and `--ctexpire`, as libxt_conntrack reads and prints
//! them and `conntrack_mt` tests them.

use std::fmt::Write;

use super::Prog;
use super::matches::{Net, Ports};
use super::parse::Res;
use crate::netfilter::packet::CtView;
use crate::time::Instant;

/// The options this file reads.
pub(crate) const OPTIONS: &[&str] = &[
    "ctproto",
    "ctreplsrc",
    "ctrepldst",
    "ctreplsrcport",
    "ctrepldstport",
    "ctstatus",
    "ctexpire",
];

/// `IPS_*` bits and their names, in `print_status` order.
const STATUS: &[(&str, u32)] = &[
    ("EXPECTED", 1),
    ("SEEN_REPLY", 2),
    ("ASSURED", 4),
    ("CONFIRMED", 8),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CtExtra {
    pub proto: Option<(u8, bool)>,
    pub replsrc: Option<(Net, bool)>,
    pub repldst: Option<(Net, bool)>,
    pub replsrcport: Option<Ports>,
    pub repldstport: Option<Ports>,
    pub status: Option<(u32, bool)>,
    /// `--ctexpire MIN[:MAX]` in seconds.
    pub expire: Option<(u32, u32, bool)>,
}

impl CtExtra {
    /// Reads option `opt` (one of [`OPTIONS`]) with value `v`.
    pub fn parse(&mut self, p: &Prog, opt: &str, v: &str, inv: bool) -> Res<()> {
        match opt {
            "ctproto" => self.proto = Some((super::values::parse_proto(p, v)?, inv)),
            "ctreplsrc" => self.replsrc = Some((super::values::parse_net(p, v)?[0], inv)),
            "ctrepldst" => self.repldst = Some((super::values::parse_net(p, v)?[0], inv)),
            "ctreplsrcport" | "ctrepldstport" => {
                let ports = Some(port_range(p, opt, v, inv)?);
                if opt == "ctreplsrcport" {
                    self.replsrcport = ports;
                } else {
                    self.repldstport = ports;
                }
            }
            "ctstatus" => self.status = Some((statuses(p, v)?, inv)),
            _ => {
                let bad = |near: &str| {
                    p.param(
                        format!(
                            "conntrack: bad value for option \"--ctexpire\" near \"{near}\", or \
                             out of range (0-4294967295).\n"
                        ),
                        Some(v),
                    )
                };
                let num = |s: &str| super::values::parse_u32(s).ok_or_else(|| bad(s));
                let (lo, hi) = match v.split_once(':') {
                    Some((a, z)) => (num(a)?, num(z)?),
                    None => {
                        let n = num(v)?;
                        (n, n)
                    }
                };
                self.expire = Some((lo, hi, inv));
            }
        }
        Ok(())
    }

    /// ` [!] ctproto N` (after the state).
    pub fn print_proto(&self, out: &mut String, prefix: &str) {
        if let Some((n, inv)) = self.proto {
            let _ = write!(out, "{} {prefix}ctproto {n}", if inv { " !" } else { "" });
        }
    }

    /// The reply addresses (after the original ones).
    pub fn print_addrs(&self, out: &mut String, prefix: &str, numeric: bool) {
        super::fmt_ext::ct_addr(out, prefix, "ctreplsrc", self.replsrc, numeric);
        super::fmt_ext::ct_addr(out, prefix, "ctrepldst", self.repldst, numeric);
    }

    /// The reply ports, status and expiry (after the original ports).
    pub fn print_rest(&self, out: &mut String, prefix: &str) {
        super::fmt_ext::ct_port(out, prefix, "ctreplsrcport", self.replsrcport);
        super::fmt_ext::ct_port(out, prefix, "ctrepldstport", self.repldstport);
        if let Some((mask, inv)) = self.status {
            let _ = write!(out, "{} {prefix}ctstatus", if inv { " !" } else { "" });
            let mut sep = " ";
            for &(name, bit) in STATUS {
                if mask & bit != 0 {
                    let _ = write!(out, "{sep}{name}");
                    sep = ",";
                }
            }
            if mask == 0 {
                let _ = write!(out, "{sep}NONE");
            }
        }
        if let Some((lo, hi, inv)) = self.expire {
            let _ = write!(out, "{} {prefix}ctexpire {lo}", if inv { " !" } else { "" });
            if hi != lo {
                let _ = write!(out, ":{hi}");
            }
        }
    }

    /// The `conntrack_mt` tests of these options for a packet with a connection (without
    /// one, only `--ctstate` decides, in `ct_match`).
    pub fn matches(&self, view: Option<CtView>, now: Instant) -> bool {
        let Some(v) = super::match_eval::conn(view) else {
            return true;
        };
        let d = v.detail;
        let addr_ok = |spec: Option<(Net, bool)>, ip: smoltcp::wire::IpAddress| {
            spec.is_none_or(|(net, inv)| net.contains(ip) != inv)
        };
        let port_ok = |spec: Option<Ports>, port: Option<u16>| {
            spec.is_none_or(|p| p.matches(port.unwrap_or(0)))
        };
        let expires = || {
            d.expires
                .map_or(0, |t| t.saturating_sub(now).nanos() / 1_000_000_000)
        };
        self.proto.is_none_or(|(n, inv)| (d.proto == n) != inv)
            && addr_ok(self.replsrc, d.repl_src)
            && addr_ok(self.repldst, d.repl_dst)
            && port_ok(self.replsrcport, d.repl_sport)
            && port_ok(self.repldstport, d.repl_dport)
            && self
                .status
                .is_none_or(|(mask, inv)| (mask & d.status != 0) != inv)
            && self.expire.is_none_or(|(lo, hi, inv)| {
                let e = expires();
                (e >= u64::from(lo) && e <= u64::from(hi)) != inv
            })
    }
}

/// `XTTYPE_PORTRC` (`xtopt_parse_mport`): `[LO][:[HI]]`, each a number (kept modulo 65536)
/// or a service name; a missing end is 0 or 65535; the ends are kept in the order given.
pub(crate) fn port_range(p: &Prog, opt: &str, v: &str, inv: bool) -> Res<Ports> {
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() > 2 {
        return Err(p.param(
            format!("conntrack: Too many components for option \"--{opt}\" (max: 2)\n"),
            Some(v),
        ));
    }
    let one = |s: &str, default: u16| -> Res<u16> {
        if s.is_empty() {
            return Ok(default);
        }
        if let Some(n) =
            super::names::service_port(s, 6).or_else(|| super::names::service_port(s, 17))
        {
            return Ok(n);
        }
        super::values::strtoul0(s)
            .filter(|r| r.1.is_empty())
            .map(|r| r.0 as u16)
            .ok_or_else(|| {
                p.param(
                    format!("Port \"{s}\" does not resolve to anything.\n"),
                    Some(v),
                )
            })
    };
    let lo = one(parts[0], 0)?;
    let hi = match parts.get(1) {
        Some(h) => one(h, u16::MAX)?,
        None => lo,
    };
    Ok(Ports { lo, hi, inv })
}

/// `conntrack_ps_statuses`: comma-separated names, each any leading part of one, in any
/// case (`strncasecmp`); an empty word is refused.
fn statuses(p: &Prog, arg: &str) -> Res<u32> {
    let mut mask = 0;
    let mut rest = arg;
    loop {
        let (word, next) = match rest.split_once(',') {
            Some((w, n)) => (w, Some(n)),
            None => (rest, None),
        };
        let names = [("NONE", 0)].iter().chain(STATUS);
        let hit = names.clone().find(|(name, _)| {
            !word.is_empty()
                && word.len() <= name.len()
                && name[..word.len()].eq_ignore_ascii_case(word)
        });
        match hit {
            Some(&(_, bit)) => mask |= bit,
            None => return Err(p.param(format!("Bad ctstatus \"{rest}\""), Some(arg))),
        }
        match next {
            Some(n) => rest = n,
            None => return Ok(mask),
        }
    }
}

#[cfg(test)]
#[path = "ctmatch_tests.rs"]
mod tests;

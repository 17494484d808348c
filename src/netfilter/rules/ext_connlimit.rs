//! `-m connlimit` (`xt_connlimit` over `nf_conncount`): how many connections an address
//! (or its network, `--connlimit-mask`) has. As in the kernel the count is the rule's own:
//! each rule keeps, per key, the connections whose packets it saw, drops those conntrack no
//! longer has or that are closed (TCP TIME_WAIT, CLOSE) each time it counts, and counts the
//! packet's own connection with them.

use std::collections::BTreeMap;
use std::fmt::Write;

use smoltcp::wire::IpAddress;

use crate::netfilter::packet::bits4;

use super::Prog;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::{ConnQuery, PacketView};

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("connlimit-upto", 1),
    ("connlimit-above", 1),
    ("connlimit-mask", 1),
    ("connlimit-saddr", 0),
    ("connlimit-daddr", 0),
];

/// Connections remembered per rule at most (the kernel's are bounded by conntrack's).
const MAX_CONNS: usize = 65536;

type Flow = (IpAddress, IpAddress, u8, (u16, u16));

/// `xt_connlimit_info`, and the rule's `nf_conncount` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnlimitMatch {
    pub limit: u32,
    /// `--connlimit-upto` (or `! --connlimit-above`): `XT_CONNLIMIT_INVERT`.
    pub invert: bool,
    pub prefix: u8,
    pub daddr: bool,
    lists: BTreeMap<u32, Vec<Flow>>,
    total: usize,
}

impl Default for ConnlimitMatch {
    fn default() -> Self {
        ConnlimitMatch {
            limit: 0,
            invert: false,
            prefix: 32,
            daddr: false,
            lists: BTreeMap::new(),
            total: 0,
        }
    }
}

impl ConnlimitMatch {
    /// `connlimit_parse` (revision 1).
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        let inv_ok = matches!(opt, "connlimit-upto" | "connlimit-above");
        once(p, "connlimit", seen, opt, inv, inv_ok)?;
        match opt {
            "connlimit-upto" | "connlimit-above" => {
                let v = args.value(p)?;
                self.limit = super::values::parse_u32(v).ok_or_else(|| {
                    p.param(
                        format!(
                            "connlimit: bad value for option \"--{opt}\", or out of range \
                             (0-4294967295).\n"
                        ),
                        Some(v),
                    )
                })?;
                self.invert = (opt == "connlimit-upto") != inv;
            }
            "connlimit-mask" => {
                let v = args.value(p)?;
                self.prefix = plen_mask(v).ok_or_else(|| {
                    p.param(
                        "connlimit: bad value for option \"--connlimit-mask\", neither a valid \
                         network mask nor valid CIDR (0-32).\n",
                        Some(v),
                    )
                })?;
            }
            "connlimit-saddr" => self.daddr = false,
            _ => self.daddr = true,
        }
        Ok(())
    }

    /// `xtables_options_fcheck` (upto/above and saddr/daddr exclude each other), then
    /// `connlimit_check`.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        let has = |o: &str| seen.contains(&o);
        if has("connlimit-upto") && has("connlimit-above") {
            return Err(p.param(
                "connlimit: option \"--connlimit-upto\" cannot be used together with \
                 \"--connlimit-above\".\n",
                None,
            ));
        }
        if has("connlimit-saddr") && has("connlimit-daddr") {
            return Err(p.param(
                "connlimit: option \"--connlimit-saddr\" cannot be used together with \
                 \"--connlimit-daddr\".\n",
                None,
            ));
        }
        if !has("connlimit-upto") && !has("connlimit-above") {
            return Err(p.param(
                "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
                None,
            ));
        }
        Ok(())
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// `connlimit_print4`.
    pub fn print(&self, out: &mut String) {
        let _ = write!(
            out,
            " #conn {}/{} {} {}",
            if self.daddr { "dst" } else { "src" },
            self.prefix,
            if self.invert { "<=" } else { ">" },
            self.limit
        );
    }

    /// `connlimit_save4`.
    pub fn save(&self, out: &mut String) {
        let _ = write!(
            out,
            " --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
            if self.invert { "upto" } else { "above" },
            self.limit,
            self.prefix,
            if self.daddr { "daddr" } else { "saddr" }
        );
    }

    /// `connlimit_mt`: the packet's key, the live connections counted with its own.
    pub fn matches(&mut self, pkt: &PacketView, conns: &dyn ConnQuery) -> bool {
        let key = bits4(if self.daddr { pkt.dst } else { pkt.src }) & self.mask();
        // The packet's connection, or (without one) the tuple the packet makes.
        let own: Flow = match pkt.ct.filter(|c| {
            !matches!(
                c.state,
                crate::netfilter::CtState::Invalid | crate::netfilter::CtState::Untracked
            )
        }) {
            Some(c) => (c.orig_src, c.orig_dst, c.detail.proto, c.detail.orig_keys),
            None => (
                pkt.src,
                pkt.dst,
                pkt.proto,
                (pkt.sport.unwrap_or(0), pkt.dport.unwrap_or(0)),
            ),
        };
        let list = self.lists.entry(key).or_default();
        let before = list.len();
        list.retain(|f| *f == own || conns.alive(f.0, f.1, f.2, f.3));
        self.total -= before - list.len();
        if !list.contains(&own) && self.total < MAX_CONNS {
            list.push(own);
            self.total += 1;
        }
        let count = list.len() as u64;
        if list.is_empty() {
            self.lists.remove(&key);
        }
        (count > u64::from(self.limit)) != self.invert
    }
}

/// `XTTYPE_PLENMASK`: a prefix length (above 32 is all 32) or a dotted mask (one that is
/// not a prefix counts as 32).
fn plen_mask(v: &str) -> Option<u8> {
    if v.contains('.') {
        let m = super::values::parse_ipv4(v)?;
        return Some(match m.leading_ones() + m.trailing_zeros() {
            32 => m.leading_ones() as u8,
            _ => 32,
        });
    }
    super::values::parse_u32(v).map(|n| n.min(32) as u8)
}

#[cfg(test)]
#[path = "connlimit_tests.rs"]
mod tests;

//! `-m rpfilter` (`ipt_rpfilter`): the reverse-path test, a route lookup of the packet's
//! source in the router's routing table (raw and mangle PREROUTING only). The source must
//! be reachable by a unicast route out of the interface the packet came in on (`--loose`:
//! out of any), or be one of the router's own addresses with `--accept-local`. The lab has
//! no policy routing, so `--validmark` changes no lookup.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::{ConnQuery, Hook, PacketView, Table};

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("loose", 0),
    ("validmark", 0),
    ("accept-local", 0),
    ("invert", 0),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RpfilterMatch {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

impl RpfilterMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        _args: &mut Args,
    ) -> Res<()> {
        once(p, "rpfilter", seen, opt, inv, false)?;
        match opt {
            "loose" => self.loose = true,
            "validmark" => self.validmark = true,
            "accept-local" => self.accept_local = true,
            _ => self.invert = true,
        }
        Ok(())
    }

    fn write(&self, out: &mut String, pfx: &str) {
        for (on, word) in [
            (self.loose, "loose"),
            (self.validmark, "validmark"),
            (self.accept_local, "accept-local"),
            (self.invert, "invert"),
        ] {
            if on {
                let _ = write!(out, " {pfx}{word}");
            }
        }
    }

    pub fn print(&self, out: &mut String) {
        out.push_str(" rpfilter");
        self.write(out, "");
    }

    pub fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    /// `rpfilter_check`: the raw and mangle tables; the match is PREROUTING's.
    pub fn check_table(&self, table: Table) -> bool {
        matches!(table, Table::Raw | Table::Mangle)
    }

    pub fn hooks(&self) -> u8 {
        super::validate::hook_bit(Hook::Prerouting)
    }

    /// `rpfilter_mt`.
    pub fn matches(&self, pkt: &PacketView, routes: &dyn ConnQuery) -> bool {
        let inv = self.invert;
        if pkt.in_iface == Some("lo") {
            return !inv;
        }
        let dst = smoltcp::wire::Ipv4Address::from_bits(crate::netfilter::packet::bits4(pkt.dst));
        if !pkt.is_v6()
            && pkt.src.is_unspecified()
            && (dst.is_broadcast() || (dst.octets()[..3] == [224, 0, 0]))
        {
            return !inv;
        }
        let ok = routes
            .reverse_path(
                pkt.src,
                pkt.in_iface.unwrap_or(""),
                self.accept_local,
                self.loose,
            )
            .unwrap_or(true);
        ok != inv
    }
}

#[cfg(test)]
#[path = "rpfilter_tests.rs"]
mod tests;

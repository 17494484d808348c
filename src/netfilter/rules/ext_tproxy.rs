//! `-j TPROXY` (`xt_TPROXY` revision 1, IPv4): mangle PREROUTING, TCP or UDP. The target
//! hands the packet to a transparent socket (`IP_TRANSPARENT`) on `--on-ip:--on-port`,
//! marking it; programs in the lab open none, so `tproxy_tg4` finds no such socket and
//! drops the packet, and the frame's comment says so.

use std::fmt::Write;

use super::Prog;
use super::fmt_ext::ip;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::{Hook, Table};

pub(crate) const OPTIONS: &[(&str, u8)] = &[("on-port", 1), ("on-ip", 1), ("tproxy-mark", 1)];

/// `xt_tproxy_target_info_v1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TproxyTarget {
    pub port: u16,
    pub addr: u32,
    pub mark: u32,
    pub mask: u32,
}

impl TproxyTarget {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "TPROXY", seen, opt, inv, false)?;
        let v = args.value(p)?;
        match opt {
            "on-port" => {
                let n = super::names::service_port(v, 6)
                    .or_else(|| super::names::service_port(v, 17))
                    .or_else(|| {
                        super::values::strtoul0(v)
                            .filter(|r| r.1.is_empty())
                            .map(|r| r.0 as u16)
                    });
                self.port = n.ok_or_else(|| {
                    p.param(
                        format!("Port \"{v}\" does not resolve to anything.\n"),
                        Some(v),
                    )
                })?;
            }
            "on-ip" => {
                let a = v.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
                self.addr = a
                    .or_else(|| super::names::host_by_name(v))
                    .ok_or_else(|| p.param("getaddrinfo: Name or service not known\n", Some(v)))?;
            }
            _ => (self.mark, self.mask) = super::values::parse_mark_mask(p, "TPROXY", opt, v)?,
        }
        Ok(())
    }

    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if !seen.contains(&"on-port") {
            return Err(p.param("TPROXY: option \"--on-port\" must be specified\n", None));
        }
        Ok(())
    }

    /// `tproxy_tg4_check`: the mangle table, TCP or UDP.
    pub fn check_entry(
        &self,
        table: Table,
        proto: u8,
        proto_inv: bool,
    ) -> Result<(), &'static str> {
        if table != Table::Mangle || proto_inv || !matches!(proto, 6 | 17) {
            return Err("Invalid argument");
        }
        Ok(())
    }

    pub fn hooks(&self) -> u8 {
        super::validate::hook_bit(Hook::Prerouting)
    }

    pub fn print(&self, out: &mut String) {
        out.push_str(" TPROXY redirect ");
        ip(out, self.addr);
        let _ = write!(
            out,
            ":{} mark 0x{:x}/0x{:x}",
            self.port, self.mark, self.mask
        );
    }

    pub fn save(&self, out: &mut String) {
        let _ = write!(out, " -j TPROXY --on-port {} --on-ip ", self.port);
        ip(out, self.addr);
        let _ = write!(out, " --tproxy-mark 0x{:x}/0x{:x}", self.mark, self.mask);
    }

    /// The frame's note when no transparent socket takes the packet.
    pub fn note(&self, dst: u32) -> String {
        let mut s = String::from("TPROXY: no transparent socket on ");
        ip(&mut s, if self.addr == 0 { dst } else { self.addr });
        let _ = write!(s, ":{}: dropped", self.port);
        s
    }
}

#[cfg(test)]
#[path = "tproxy_tests.rs"]
mod tests;

//! `-m physdev` (`xt_physdev`): the bridge ports of a frame a router's bridge forwards
//! under br_netfilter (`net.bridge.bridge-nf-call-iptables`). The hooks carry its ports in
//! the packet's view (`PacketView::physdev`, from `Cx::physdev`): the port it came in on from
//! PREROUTING, and the port it goes out of from FORWARD on; a packet the router routes itself
//! has none.

use std::fmt::Write;

use super::Prog;
use super::matches::Iface;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::Hook;

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("physdev-in", 1),
    ("physdev-out", 1),
    ("physdev-is-in", 0),
    ("physdev-is-out", 0),
    ("physdev-is-bridged", 0),
];

/// `xt_physdev_info`: each option with its `!`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PhysdevMatch {
    pub phys_in: Option<(Iface, bool)>,
    pub phys_out: Option<(Iface, bool)>,
    pub is_in: Option<bool>,
    pub is_out: Option<bool>,
    pub bridged: Option<bool>,
}

impl PhysdevMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "physdev", seen, opt, inv, true)?;
        match opt {
            "physdev-in" | "physdev-out" => {
                let v = args.value(p)?;
                let iface = super::values::parse_iface(p, v)?;
                if opt == "physdev-in" {
                    self.phys_in = Some((iface, inv));
                } else {
                    self.phys_out = Some((iface, inv));
                }
            }
            "physdev-is-in" => self.is_in = Some(inv),
            "physdev-is-out" => self.is_out = Some(inv),
            _ => self.bridged = Some(inv),
        }
        Ok(())
    }

    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if seen.is_empty() {
            return Err(p.param("PHYSDEV: no physdev option specified", Some("physdev")));
        }
        Ok(())
    }

    fn write(&self, out: &mut String) {
        let inv = |i: bool| if i { " !" } else { "" };
        if let Some(i) = self.is_in {
            let _ = write!(out, "{} --physdev-is-in", inv(i));
        }
        if let Some((iface, i)) = self.phys_in {
            let _ = write!(out, "{} --physdev-in ", inv(i));
            iface.write(out);
        }
        if let Some(i) = self.is_out {
            let _ = write!(out, "{} --physdev-is-out", inv(i));
        }
        if let Some((iface, i)) = self.phys_out {
            let _ = write!(out, "{} --physdev-out ", inv(i));
            iface.write(out);
        }
        if let Some(i) = self.bridged {
            let _ = write!(out, "{} --physdev-is-bridged", inv(i));
        }
    }

    pub fn print(&self, out: &mut String) {
        out.push_str(" PHYSDEV match");
        self.write(out);
    }

    pub fn save(&self, out: &mut String) {
        self.write(out);
    }

    /// `physdev_mt_check`: the output port is known only for bridged traffic, never in
    /// OUTPUT (unless `--physdev-is-bridged` asks for bridged traffic).
    pub fn hooks(&self) -> Option<u8> {
        let wants_out = self.phys_out.is_some() || self.is_out.is_some();
        let bridged = self.bridged == Some(false);
        (wants_out && !bridged).then(|| 0x1f & !super::validate::hook_bit(Hook::Output))
    }

    /// `physdev_mt`.
    pub fn matches(&self, ports: Option<(&str, Option<&str>)>) -> bool {
        let Some((port_in, out)) = ports else {
            // Not a bridged packet: only inverted options hold.
            return [
                self.bridged,
                self.is_in,
                self.is_out,
                self.phys_in.map(|x| x.1),
                self.phys_out.map(|x| x.1),
            ]
            .iter()
            .all(|o| o.is_none_or(|inv| inv));
        };
        if let Some(inv) = self.bridged
            && out.is_some() == inv
        {
            return false;
        }
        // A bridged packet always has its input port.
        if self.is_in.is_some_and(|inv| inv) {
            return false;
        }
        if let Some(inv) = self.is_out
            && out.is_some() == inv
        {
            return false;
        }
        if let Some((iface, inv)) = self.phys_in
            && iface.matches(Some(port_in)) == inv
        {
            return false;
        }
        match self.phys_out {
            None => true,
            Some((iface, inv)) => match out {
                None => false,
                Some(o) => iface.matches(Some(o)) != inv,
            },
        }
    }
}

#[cfg(test)]
#[path = "physdev_tests.rs"]
mod tests;

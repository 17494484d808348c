//! `-m helper`, `-m owner` and `-m policy`: matches about what the lab has none of
//! (conntrack helpers, other users, IPsec), listed and checked as iptables and the kernel
//! do, and evaluated as their `xt_*` modules would on such a router.
//!
//! * `-m helper`: no helper is ever attached to a connection here, so `--helper` never
//!   matches and `! --helper` matches every packet with a connection (`helper_mt`).
//! * `-m owner` (OUTPUT and POSTROUTING): every program on a router runs as root, so a
//!   packet the router makes has a socket owned by uid 0, gid 0; forwarded packets have
//!   none. (The kernel sends its own ICMP errors and resets from control sockets without a
//!   file, which `--uid-owner` does not match; hoplab counts them as root's.)
//! * `-m policy`: no packet is IPsec-protected, so `--pol none` matches and `--pol ipsec`
//!   does not (`policy_mt` without a `sec_path` or `xfrm` route).

use std::fmt::Write;

use super::Prog;
use super::fmt_ext::mask_suffix;
use super::matches::Net;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::{CtState, Hook, PacketView};

pub(crate) const HELPER_OPTIONS: &[(&str, u8)] = &[("helper", 1)];
pub(crate) const OWNER_OPTIONS: &[(&str, u8)] = &[
    ("uid-owner", 1),
    ("gid-owner", 1),
    ("socket-exists", 0),
    ("suppl-groups", 0),
];
pub(crate) const POLICY_OPTIONS: &[(&str, u8)] = &[
    ("dir", 1),
    ("pol", 1),
    ("strict", 0),
    ("reqid", 1),
    ("spi", 1),
    ("proto", 1),
    ("mode", 1),
    ("tunnel-src", 1),
    ("tunnel-dst", 1),
    ("next", 0),
];

/// Debian 12's base users and groups (`/etc/passwd`, `/etc/group` of a fresh install).
const USERS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("_apt", 42),
    ("nobody", 65534),
];
const GROUPS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

/// `-m helper --helper NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HelperMatch {
    pub name: String,
    pub invert: bool,
}

impl HelperMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "helper", seen, opt, inv, true)?;
        let v = args.value(p)?;
        self.name = v.chars().take(29).collect();
        self.invert = inv;
        Ok(())
    }

    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if seen.is_empty() {
            return Err(p.param(
                "helper: option \"--helper\" must be specified\n",
                Some("helper"),
            ));
        }
        Ok(())
    }

    pub fn print(&self, out: &mut String) {
        let _ = write!(
            out,
            " helper match {}\"{}\"",
            if self.invert { "! " } else { "" },
            self.name
        );
    }

    pub fn save(&self, out: &mut String) {
        let _ = write!(out, "{} --helper", if self.invert { " !" } else { "" });
        super::fmt_ext::save_string(out, &self.name);
    }

    /// `helper_mt`: no connection, no match; a connection without a helper matches only
    /// `!` (no helper is attached in the lab).
    pub fn matches(&self, pkt: &PacketView) -> bool {
        match pkt.ct.map(|c| c.state) {
            None | Some(CtState::Invalid | CtState::Untracked) => false,
            Some(_) => self.invert,
        }
    }
}

/// `xt_owner_match_info`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OwnerMatch {
    pub uid: Option<(u32, u32)>,
    pub gid: Option<(u32, u32)>,
    pub socket: bool,
    pub suppl: bool,
    /// Inverted: bit 0 socket, 1 uid, 2 gid.
    pub invert: u8,
}

fn id_range(v: &str, names: &[(&str, u32)]) -> Option<(u32, u32)> {
    if let Some(&(_, n)) = names.iter().find(|(name, _)| *name == v) {
        return Some((n, n));
    }
    let (a, z) = v.split_once('-').unwrap_or((v, v));
    Some((super::values::parse_u32(a)?, super::values::parse_u32(z)?))
}

impl OwnerMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "owner", seen, opt, inv, opt != "suppl-groups")?;
        let bad = |v: &str| {
            p.param(
                format!("owner: Bad value for \"--{opt}\" option: \"{v}\""),
                Some(v),
            )
        };
        match opt {
            "uid-owner" => {
                let v = args.value(p)?;
                self.uid = Some(id_range(v, USERS).ok_or_else(|| bad(v))?);
                self.invert |= u8::from(inv) << 1;
            }
            "gid-owner" => {
                let v = args.value(p)?;
                self.gid = Some(id_range(v, GROUPS).ok_or_else(|| bad(v))?);
                self.invert |= u8::from(inv) << 2;
            }
            "socket-exists" => {
                self.socket = true;
                self.invert |= u8::from(inv);
            }
            _ => {
                if self.gid.is_none() {
                    return Err(bad("you need to use --gid-owner first"));
                }
                self.suppl = true;
            }
        }
        Ok(())
    }

    pub fn final_check(&self, p: &Prog) -> Res<()> {
        if self.uid.is_none() && self.gid.is_none() && !self.socket {
            return Err(p.param(
                "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required",
                Some("owner"),
            ));
        }
        Ok(())
    }

    fn item(
        out: &mut String,
        label: &str,
        inv: bool,
        range: (u32, u32),
        names: Option<&[(&str, u32)]>,
    ) {
        let _ = write!(out, "{} {label}", if inv { " !" } else { "" });
        if range.0 != range.1 {
            let _ = write!(out, " {}-{}", range.0, range.1);
            return;
        }
        match names.and_then(|n| n.iter().find(|x| x.1 == range.0)) {
            Some((name, _)) => {
                let _ = write!(out, " {name}");
            }
            None => {
                let _ = write!(out, " {}", range.0);
            }
        }
    }

    fn write(&self, out: &mut String, save: bool, numeric: bool) {
        let names = |n| (!save && !numeric).then_some(n);
        if self.socket {
            let label = if save {
                "--socket-exists"
            } else {
                "owner socket exists"
            };
            let _ = write!(
                out,
                "{} {label}",
                if self.invert & 1 != 0 { " !" } else { "" }
            );
        }
        if let Some(r) = self.uid {
            let label = if save {
                "--uid-owner"
            } else {
                "owner UID match"
            };
            Self::item(out, label, self.invert & 2 != 0, r, names(USERS));
        }
        if let Some(r) = self.gid {
            let label = if save {
                "--gid-owner"
            } else {
                "owner GID match"
            };
            Self::item(out, label, self.invert & 4 != 0, r, names(GROUPS));
        }
        if self.suppl {
            out.push_str(if save {
                " --suppl-groups"
            } else {
                " incl. suppl. groups"
            });
        }
    }

    pub fn print(&self, out: &mut String, numeric: bool) {
        self.write(out, false, numeric);
    }

    pub fn save(&self, out: &mut String) {
        self.write(out, true, true);
    }

    /// `owner_mt` where every local socket is root's and forwarded packets have none.
    pub fn matches(&self, pkt: &PacketView) -> bool {
        let has_socket = pkt.in_iface.is_none() && pkt.out_iface.is_some();
        let matchbits = u8::from(self.socket)
            | u8::from(self.uid.is_some()) << 1
            | u8::from(self.gid.is_some()) << 2;
        if !has_socket {
            return matchbits ^ self.invert == 0;
        }
        if matchbits & self.invert & 1 != 0 {
            return false;
        }
        let in_range = |r: Option<(u32, u32)>| r.is_some_and(|(a, z)| (a..=z).contains(&0));
        if self.uid.is_some() && in_range(self.uid) == (self.invert & 2 != 0) {
            return false;
        }
        if self.gid.is_some() && in_range(self.gid) == (self.invert & 4 != 0) {
            return false;
        }
        true
    }

    /// `owner_check`: a range must not run backwards.
    pub fn check_entry(&self) -> bool {
        [self.uid, self.gid].iter().flatten().all(|(a, z)| a <= z)
    }

    /// OUTPUT and POSTROUTING only (`owner_check`).
    pub fn hooks(&self) -> u8 {
        super::validate::hook_bit(Hook::Output) | super::validate::hook_bit(Hook::Postrouting)
    }
}

/// One `--next`-separated element of `-m policy` (`xt_policy_elem`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PolicyElem {
    pub reqid: Option<(u32, bool)>,
    pub spi: Option<(u32, bool)>,
    pub proto: Option<(u8, bool)>,
    /// `Some((tunnel, inv))`.
    pub mode: Option<(bool, bool)>,
    pub tunnel_src: Option<(Net, bool)>,
    pub tunnel_dst: Option<(Net, bool)>,
}

/// `xt_policy_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PolicyMatch {
    /// `Some(true)` in, `Some(false)` out.
    pub dir_in: Option<bool>,
    /// `--pol none` (else ipsec).
    pub none: bool,
    pub pol_given: bool,
    pub strict: bool,
    pub elems: Vec<PolicyElem>,
}

/// `XT_POLICY_MAX_ELEM`.
const MAX_ELEM: usize = 4;

impl PolicyMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        let elem_opt = !matches!(opt, "dir" | "pol" | "strict" | "next");
        if !elem_opt {
            once(p, "policy", seen, opt, inv, false)?;
            if opt == "next" {
                seen.retain(|o| {
                    !matches!(
                        *o,
                        "reqid" | "spi" | "proto" | "mode" | "tunnel-src" | "tunnel-dst" | "next"
                    )
                });
                if self.elems.is_empty() {
                    self.elems.push(PolicyElem::default());
                }
                if self.elems.len() >= MAX_ELEM {
                    return Err(p.param("policy match: maximum policy depth reached", Some(opt)));
                }
                self.elems.push(PolicyElem::default());
                return Ok(());
            }
        } else {
            once(p, "policy", seen, opt, inv, true)?;
        }
        if opt == "strict" {
            self.strict = true;
            return Ok(());
        }
        let v = args.value(p)?;
        match opt {
            "dir" => {
                self.dir_in = Some(match v {
                    "in" => true,
                    "out" => false,
                    _ => return Err(p.param(format!("policy_match: invalid dir \"{v}\""), Some(v))),
                })
            }
            "pol" => {
                self.none = match v {
                    "none" => true,
                    "ipsec" => false,
                    _ => {
                        return Err(
                            p.param(format!("policy match: invalid policy \"{v}\""), Some(v))
                        );
                    }
                };
                self.pol_given = true;
            }
            _ => {
                if self.elems.is_empty() {
                    self.elems.push(PolicyElem::default());
                }
                let e = self.elems.last_mut().expect("an element");
                match opt {
                    "reqid" | "spi" => {
                        let n = super::values::parse_u32(v).ok_or_else(|| {
                            p.param(format!("policy: bad value for option \"--{opt}\", or out of range (0-4294967295).\n"), Some(v))
                        })?;
                        if opt == "reqid" {
                            e.reqid = Some((n, inv));
                        } else {
                            e.spi = Some((n, inv));
                        }
                    }
                    "proto" => {
                        let n = super::values::parse_proto(p, v)?;
                        if !matches!(n, 50 | 51 | 108) {
                            return Err(
                                p.param("policy match: protocol must be ah/esp/ipcomp", Some(v))
                            );
                        }
                        e.proto = Some((n, inv));
                    }
                    "mode" => {
                        e.mode = Some((
                            match v {
                                "transport" => false,
                                "tunnel" => true,
                                _ => {
                                    return Err(p.param(
                                        format!("policy match: invalid mode \"{v}\""),
                                        Some(v),
                                    ));
                                }
                            },
                            inv,
                        ))
                    }
                    _ => {
                        let net = super::values::parse_net(p, v)?[0];
                        if opt == "tunnel-src" {
                            e.tunnel_src = Some((net, inv));
                        } else {
                            e.tunnel_dst = Some((net, inv));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `policy_check`.
    pub fn final_check(&self, p: &Prog) -> Res<()> {
        if self.dir_in.is_none() {
            return Err(p.param(
                "policy match: neither --dir in nor --dir out specified",
                Some("policy"),
            ));
        }
        if self.elems.len() > 1 && !self.strict {
            return Err(p.param(
                "policy: option \"--next\" also requires \"--strict\".\n",
                Some("policy"),
            ));
        }
        if self.none && self.strict {
            return Err(p.param(
                "policy match: policy none but --strict given",
                Some("policy"),
            ));
        }
        for e in &self.elems {
            if (e.tunnel_src.is_some() || e.tunnel_dst.is_some())
                && e.mode.is_some_and(|(tunnel, _)| !tunnel)
            {
                return Err(p.param(
                    "policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode",
                    Some("policy"),
                ));
            }
        }
        Ok(())
    }

    fn entry(out: &mut String, pfx: &str, e: &PolicyElem, numeric: bool) {
        let inv = |out: &mut String, i: bool| {
            if i {
                out.push_str(" !");
            }
        };
        if let Some((n, i)) = e.reqid {
            inv(out, i);
            let _ = write!(out, " {pfx}reqid {n}");
        }
        if let Some((n, i)) = e.spi {
            inv(out, i);
            let _ = write!(out, " {pfx}spi 0x{n:x}");
        }
        if let Some((n, i)) = e.proto {
            inv(out, i);
            let _ = write!(out, " {pfx}proto ");
            match super::names::proto_name(n).filter(|_| !numeric) {
                Some(name) => out.push_str(name),
                None => {
                    let _ = write!(out, "{n}");
                }
            }
        }
        if let Some((tunnel, i)) = e.mode {
            inv(out, i);
            let _ = write!(
                out,
                " {pfx}mode {}",
                if tunnel { "tunnel" } else { "transport" }
            );
        }
        for (name, spec) in [("tunnel-dst", e.tunnel_dst), ("tunnel-src", e.tunnel_src)] {
            if let Some((net, i)) = spec {
                inv(out, i);
                let _ = write!(out, " {pfx}{name} ");
                super::fmt_ext::net_addr(out, net, true);
                mask_suffix(out, net);
            }
        }
    }

    fn flags(&self, out: &mut String, pfx: &str) {
        let _ = write!(
            out,
            " {pfx}dir {}",
            if self.dir_in == Some(true) {
                "in"
            } else {
                "out"
            }
        );
        let _ = write!(
            out,
            " {pfx}pol {}",
            if self.none { "none" } else { "ipsec" }
        );
        if self.strict {
            let _ = write!(out, " {pfx}strict");
        }
    }

    pub fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" policy match");
        self.flags(out, "");
        for (i, e) in self.elems.iter().enumerate() {
            if self.elems.len() > 1 {
                let _ = write!(out, " [{i}]");
            }
            Self::entry(out, "", e, numeric);
        }
    }

    pub fn save(&self, out: &mut String) {
        self.flags(out, "--");
        for (i, e) in self.elems.iter().enumerate() {
            Self::entry(out, "--", e, false);
            if i + 1 < self.elems.len() {
                out.push_str(" --next");
            }
        }
    }

    /// `policy_mt` with no IPsec state: `--pol none` matches, `--pol ipsec` does not.
    pub fn matches(&self) -> bool {
        self.none
    }

    /// `policy_mt_check`: in for PREROUTING, INPUT, FORWARD; out for FORWARD, OUTPUT,
    /// POSTROUTING.
    pub fn hooks(&self) -> u8 {
        use super::validate::hook_bit;
        match self.dir_in {
            Some(true) => {
                hook_bit(Hook::Prerouting) | hook_bit(Hook::Input) | hook_bit(Hook::Forward)
            }
            _ => hook_bit(Hook::Forward) | hook_bit(Hook::Output) | hook_bit(Hook::Postrouting),
        }
    }
}

#[cfg(test)]
#[path = "misc_tests.rs"]
mod tests;

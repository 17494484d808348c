//! `-j CT` (`xt_CT`, revision 2) and `-j NOTRACK` (its alias): the raw table's say over
//! conntrack. `--notrack` leaves the packet UNTRACKED: conntrack skips it, `--ctstate
//! UNTRACKED` matches it and NAT leaves it alone. Zones, helpers and event masks are
//! checked and listed as the kernel has them; conntrack here keeps one zone and runs no
//! helpers, so they change nothing else.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::Table;

/// The options, in libxt_CT's table order.
pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("notrack", 0),
    ("zone", 1),
    ("ctevents", 1),
    ("expevents", 1),
    ("helper", 1),
    ("timeout", 1),
    ("zone-orig", 1),
    ("zone-reply", 1),
];

const CT_EVENTS: &[&str] = &[
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];
const EXP_EVENTS: &[&str] = &["new"];

/// Conntrack helpers a Linux 6.x kernel can load, with the protocols they register for.
const HELPERS: &[(&str, &[u8])] = &[
    ("amanda", &[17]),
    ("ftp", &[6]),
    ("RAS", &[17]),
    ("Q.931", &[6]),
    ("H.245", &[6]),
    ("irc", &[6]),
    ("netbios-ns", &[17]),
    ("pptp", &[6]),
    ("sane", &[6]),
    ("sip", &[6, 17]),
    ("snmp", &[17]),
    ("tftp", &[17]),
];

/// `xt_ct_target_info_v1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CtTarget {
    /// `-j NOTRACK` (`XT_CT_NOTRACK_ALIAS`).
    pub alias: bool,
    pub notrack: bool,
    pub helper: String,
    pub timeout: String,
    pub ct_events: u16,
    pub exp_events: u8,
    pub zone: u16,
    pub zone_mark: bool,
    /// `Some(false)` original direction only, `Some(true)` reply only.
    pub zone_dir: Option<bool>,
}

impl CtTarget {
    pub fn notrack_alias() -> CtTarget {
        CtTarget {
            alias: true,
            notrack: true,
            ..CtTarget::default()
        }
    }

    /// `CT_parse`.
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "CT", seen, opt, inv, false)?;
        if opt == "notrack" {
            self.notrack = true;
            return Ok(());
        }
        let v = args.value(p)?;
        match opt {
            "zone" | "zone-orig" | "zone-reply" => {
                match opt {
                    "zone-orig" => self.zone_dir = Some(false),
                    "zone-reply" => self.zone_dir = Some(true),
                    _ => {}
                }
                self.zone = 0;
                if v.eq_ignore_ascii_case("mark") {
                    self.zone_mark = true;
                } else {
                    let n = super::values::strtoul0(v)
                        .filter(|r| r.1.is_empty() && r.0 <= u64::from(u16::MAX));
                    self.zone = n
                        .ok_or_else(|| p.param(format!("Cannot parse {v} as a zone ID"), Some(v)))?
                        .0 as u16;
                }
            }
            "ctevents" | "expevents" => {
                let table = if opt == "ctevents" {
                    CT_EVENTS
                } else {
                    EXP_EVENTS
                };
                let mut mask = 0u16;
                for t in v.split(',') {
                    let i = table
                        .iter()
                        .position(|&n| n == t)
                        .ok_or_else(|| p.param(format!("Unknown event type \"{t}\""), Some(v)))?;
                    mask |= 1 << i;
                }
                if opt == "ctevents" {
                    self.ct_events = mask;
                } else {
                    self.exp_events = mask as u8;
                }
            }
            "helper" => self.helper = v.chars().take(15).collect(),
            _ => self.timeout = v.chars().take(31).collect(),
        }
        Ok(())
    }

    /// `xt_ct_tg_check`: the raw table only; a helper the kernel has for the rule's
    /// protocol; a timeout policy (none is defined in the lab). The errno when refused.
    pub fn check_entry(
        &self,
        table: Table,
        proto: u8,
        proto_inv: bool,
    ) -> Result<(), &'static str> {
        if table != Table::Raw {
            return Err("Invalid argument");
        }
        if self.notrack {
            return Ok(());
        }
        if !self.helper.is_empty() {
            let known = HELPERS
                .iter()
                .any(|(n, protos)| *n == self.helper && protos.contains(&proto));
            if proto == 0 || proto_inv || !known {
                return Err("No such file or directory");
            }
        }
        if !self.timeout.is_empty() {
            return Err("Invalid argument");
        }
        Ok(())
    }

    /// The target column of `-L`: `CT` for both spellings.
    pub fn column(&self) -> &'static str {
        "CT"
    }

    fn show(&self, out: &mut String, pfx: &str) {
        if self.notrack {
            let _ = write!(out, " {pfx}notrack");
        }
        if !self.helper.is_empty() {
            let _ = write!(out, " {pfx}helper {}", self.helper);
        }
        for (name, table, mask) in [
            ("ctevents", CT_EVENTS, self.ct_events),
            ("expevents", EXP_EVENTS, u16::from(self.exp_events)),
        ] {
            if mask == 0 {
                continue;
            }
            let _ = write!(out, " {pfx}{name} ");
            let names: Vec<&str> = (0..table.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| table[i])
                .collect();
            out.push_str(&names.join(","));
        }
        if self.zone_mark || self.zone != 0 {
            let dir = match self.zone_dir {
                Some(false) => "-orig",
                Some(true) => "-reply",
                None => "",
            };
            let _ = write!(out, " {pfx}zone{dir}");
            if self.zone_mark {
                out.push_str(" mark");
            } else {
                let _ = write!(out, " {}", self.zone);
            }
        }
        if !self.timeout.is_empty() {
            let _ = write!(out, " {pfx}timeout {}", self.timeout);
        }
    }

    /// `CT_print`.
    pub fn print(&self, out: &mut String) {
        if self.alias {
            out.push_str(" NOTRACK");
            return;
        }
        out.push_str(" CT");
        self.show(out, "");
    }

    /// `-j CT` and `CT_save` (nothing after `-j NOTRACK`).
    pub fn save(&self, out: &mut String) {
        if self.alias {
            out.push_str(" -j NOTRACK");
            return;
        }
        out.push_str(" -j CT");
        self.show(out, "--");
    }
}

#[cfg(test)]
#[path = "ct_tests.rs"]
mod tests;

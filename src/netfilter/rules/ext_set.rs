//! `-m set` (`xt_set`, revision 4): `[!] --match-set NAME src|dst[,...]` against the
//! router's IP sets (`ipset.rs`), with libxt_set's words.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use crate::netfilter::packet::PacketView;
use crate::time::Instant;

/// The options, in libxt_set's table order (revision 3 and 4).
pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("match-set", 2),
    ("set", 2),
    ("return-nomatch", 0),
    ("update-counters", 0),
    ("packets-eq", 1),
    ("packets-lt", 1),
    ("packets-gt", 1),
    ("bytes-eq", 1),
    ("bytes-lt", 1),
    ("bytes-gt", 1),
    ("update-subcounters", 0),
];

/// `IPSET_DIM_MAX`.
const DIM_MAX: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CounterOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

/// `xt_set_info_match_v4`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SetMatch {
    pub name: String,
    /// Per dimension: the source (else the destination).
    pub dims: Vec<bool>,
    pub invert: bool,
    pub return_nomatch: bool,
    pub skip_counters: bool,
    pub skip_subcounters: bool,
    pub packets: Option<(CounterOp, u64)>,
    pub bytes: Option<(CounterOp, u64)>,
}

impl SetMatch {
    /// `set_parse_v4` (and `set_parse_v1` for `--match-set`).
    pub fn parse(&mut self, p: &Prog, opt: &'static str, inv: bool, args: &mut Args) -> Res<()> {
        let err = |msg: String, tok: &str| p.param(msg, Some(tok));
        match opt {
            "match-set" | "set" => {
                if !self.dims.is_empty() {
                    return Err(err("--match-set can be specified only once".into(), opt));
                }
                self.invert = inv;
                let name = args.value(p)?;
                let Some(dirs) = args.next_arg() else {
                    return Err(err("--match-set requires two args.".into(), opt));
                };
                if name.len() > super::ipset::MAX_NAME {
                    return Err(err(
                        format!(
                            "setname `{name}' too long, max {} characters.",
                            super::ipset::MAX_NAME
                        ),
                        name,
                    ));
                }
                self.name = name.to_string();
                // `parse_dirs`: up to six words, each starting `src` or `dst`.
                let mut rest = Some(dirs);
                while self.dims.len() < DIM_MAX
                    && let Some(r) = rest
                {
                    let (word, tail) = match r.split_once(',') {
                        Some((w, t)) => (w, Some(t)),
                        None => (r, None),
                    };
                    rest = tail;
                    if word.starts_with("src") {
                        self.dims.push(true);
                    } else if word.starts_with("dst") {
                        self.dims.push(false);
                    } else {
                        return Err(err(
                            "You must spefify (the comma separated list of) 'src' or 'dst'.".into(),
                            dirs,
                        ));
                    }
                }
                if rest.is_some() {
                    return Err(err(
                        format!("Can't be more src/dst options than {DIM_MAX}."),
                        dirs,
                    ));
                }
            }
            "return-nomatch" => {
                if inv {
                    return Err(err("--return-nomatch flag cannot be inverted".into(), opt));
                }
                self.return_nomatch = true;
            }
            "update-counters" => self.skip_counters |= inv,
            "update-subcounters" => self.skip_subcounters |= inv,
            _ => {
                let (what, op) = opt.split_once('-').unwrap_or((opt, "eq"));
                let slot = if what == "packets" {
                    &mut self.packets
                } else {
                    &mut self.bytes
                };
                if slot.is_some() {
                    return Err(err(
                        format!("only one of the --{what}-[eq|lt|gt] is allowed"),
                        opt,
                    ));
                }
                let op = match (op, inv) {
                    ("eq", false) => CounterOp::Eq,
                    ("eq", true) => CounterOp::Ne,
                    (_, true) => {
                        return Err(err(format!("--{opt} option cannot be inverted"), opt));
                    }
                    ("lt", false) => CounterOp::Lt,
                    _ => CounterOp::Gt,
                };
                let v = args.value(p)?;
                let n = super::values::strtoul0(v)
                    .filter(|r| r.1.is_empty())
                    .map(|r| r.0);
                let n = n.ok_or_else(|| err(format!("Cannot parse {v} as a counter value"), v))?;
                *slot = Some((op, n));
            }
        }
        Ok(())
    }

    /// `set_check_v0`.
    pub fn final_check(&self, p: &Prog) -> Res<()> {
        if self.dims.is_empty() {
            return Err(p.param(
                "You must specify `--match-set' with proper arguments",
                Some("set"),
            ));
        }
        Ok(())
    }

    /// `set_print_v4_matchinfo` with `sep` "" (`-L`) or "--" (`-S`).
    fn write(&self, out: &mut String, sep: &str) {
        let _ = write!(
            out,
            "{} {sep}match-set {}",
            if self.invert { " !" } else { "" },
            self.name
        );
        for (i, &src) in self.dims.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { "," });
            out.push_str(if src { "src" } else { "dst" });
        }
        if self.return_nomatch {
            let _ = write!(out, " {sep}return-nomatch");
        }
        if self.skip_counters {
            let _ = write!(out, " ! {sep}update-counters");
        }
        if self.skip_subcounters {
            let _ = write!(out, " ! {sep}update-subcounters");
        }
        for (name, c) in [("packets", self.packets), ("bytes", self.bytes)] {
            let _ = match c {
                Some((CounterOp::Eq, v)) => write!(out, " {sep}{name}-eq {v}"),
                Some((CounterOp::Ne, v)) => write!(out, " ! {sep}{name}-eq {v}"),
                Some((CounterOp::Lt, v)) => write!(out, " {sep}{name}-lt {v}"),
                Some((CounterOp::Gt, v)) => write!(out, " {sep}{name}-gt {v}"),
                None => Ok(()),
            };
        }
    }

    pub fn print(&self, out: &mut String) {
        self.write(out, "");
    }

    pub fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    /// `set_match_v4`: `ip_set_test`, where `--return-nomatch` (for the types with
    /// `nomatch` elements, `hash:net`) swaps a match and a `nomatch` element, then the `!`.
    /// Sets keep no counters here (`counters` is not modelled), so the counter conditions
    /// hold, as the kernel has them for a set without counters.
    pub fn matches(&self, sets: &super::ipset::IpSets, pkt: &PacketView, now: Instant) -> bool {
        let swap =
            self.return_nomatch && sets.get(&self.name).is_some_and(|s| s.kind.has_nomatch());
        let hit = match sets.test_packet(&self.name, &self.dims, pkt, now) {
            Some(nomatch) => nomatch == swap,
            None => false,
        };
        hit != self.invert
    }
}

//! `-j NFLOG` and `-j NFQUEUE`: the targets that hand packets to a userspace program. No
//! program listens in the lab: NFLOG logs nothing (a note on the frame says so, as a LOG
//! rule's line is noted) and goes on; NFQUEUE drops the packet, as the kernel does when
//! no program is bound to the queue, or lets it go on with `--queue-bypass`.
//!
//! iptables-nft turns both into nftables' own `log` and `queue` statements and back, so
//! their listings follow what survives that trip: `--nflog-range` is dropped (with a
//! warning iptables prints on stderr), a threshold of 0 is not kept, a prefix keeps 127
//! bytes, and a plain `-j NFQUEUE` lists as `--queue-num 0`.

use std::fmt::Write;

use super::Prog;
use super::fmt_ext::save_string;
use super::parse::{Args, Res};
use super::parse_ext::once;

pub(crate) const NFLOG_OPTIONS: &[(&str, u8)] = &[
    ("nflog-group", 1),
    ("nflog-prefix", 1),
    ("nflog-range", 1),
    ("nflog-size", 1),
    ("nflog-threshold", 1),
];

pub(crate) const NFQUEUE_OPTIONS: &[(&str, u8)] = &[
    ("queue-num", 1),
    ("queue-balance", 1),
    ("queue-bypass", 0),
    ("queue-cpu-fanout", 0),
];

/// `xt_nflog_info` as nftables keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NflogTarget {
    pub group: u16,
    pub prefix: String,
    pub size: Option<u32>,
    pub threshold: u16,
}

/// `xt_NFQ_info_v3`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NfqueueTarget {
    pub num: u16,
    /// `--queue-balance FIRST:LAST`.
    pub balance: Option<(u16, u16)>,
    pub bypass: bool,
    pub cpu_fanout: bool,
}

fn uint(p: &Prog, ext: &str, opt: &str, v: &str, max: u32) -> Res<u32> {
    super::values::parse_u32(v)
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            p.param(
                format!("{ext}: bad value for option \"--{opt}\", or out of range (0-{max}).\n"),
                Some(v),
            )
        })
}

impl NflogTarget {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "NFLOG", seen, opt, inv, false)?;
        let v = args.value(p)?;
        match opt {
            "nflog-group" => self.group = uint(p, "NFLOG", opt, v, 65535)? as u16,
            "nflog-prefix" => {
                if v.is_empty() {
                    return Err(p.param(
                        "Argument must have a minimum length of 1 characters\n",
                        Some(v),
                    ));
                }
                let mut end = v.len().min(127);
                while !v.is_char_boundary(end) {
                    end -= 1;
                }
                self.prefix = v[..end].to_string();
            }
            // Read, then dropped: nftables' log statement has no such field.
            "nflog-range" => {
                uint(p, "NFLOG", opt, v, u32::MAX)?;
            }
            "nflog-size" => self.size = Some(uint(p, "NFLOG", opt, v, u32::MAX)?),
            _ => self.threshold = uint(p, "NFLOG", opt, v, 65535)? as u16,
        }
        Ok(())
    }

    /// `--nflog-range` and `--nflog-size` exclude each other (`xtables_options_fcheck`).
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if seen.contains(&"nflog-range") && seen.contains(&"nflog-size") {
            return Err(p.param(
                "NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n",
                None,
            ));
        }
        Ok(())
    }

    fn write(&self, out: &mut String, pfx: &str) {
        if !self.prefix.is_empty() {
            let _ = write!(out, " {pfx}nflog-prefix");
            save_string(out, &self.prefix);
        }
        if self.group != 0 {
            let _ = write!(out, " {pfx}nflog-group {}", self.group);
        }
        if let Some(n) = self.size {
            let _ = write!(out, " {pfx}nflog-size {n}");
        }
        if self.threshold != 0 {
            let _ = write!(out, " {pfx}nflog-threshold {}", self.threshold);
        }
    }

    pub fn print(&self, out: &mut String) {
        self.write(out, "");
    }

    pub fn save(&self, out: &mut String) {
        out.push_str(" -j NFLOG");
        self.write(out, "--");
    }

    /// The frame's note: what would have gone to a listener.
    pub fn note(&self) -> String {
        let mut s = format!("NFLOG group {}", self.group);
        if !self.prefix.is_empty() {
            let _ = write!(s, " prefix \"{}\"", self.prefix);
        }
        s.push_str(": no program listens, nothing logged");
        s
    }
}

impl NfqueueTarget {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        once(p, "NFQUEUE", seen, opt, inv, false)?;
        match opt {
            "queue-bypass" => self.bypass = true,
            "queue-cpu-fanout" => self.cpu_fanout = true,
            "queue-num" => {
                let v = args.value(p)?;
                self.num = uint(p, "NFQUEUE", opt, v, 65535)? as u16;
            }
            _ => {
                let v = args.value(p)?;
                let near = |s: &str| {
                    p.param(
                        format!(
                            "NFQUEUE: bad value for option \"--queue-balance\" near \"{s}\", or \
                             out of range (0-65535).\n"
                        ),
                        Some(v),
                    )
                };
                let num = |s: &str| {
                    super::values::parse_u32(s)
                        .filter(|&n| n <= 65535)
                        .map(|n| n as u16)
                        .ok_or_else(|| near(s))
                };
                let Some((a, z)) = v.split_once(':') else {
                    num(v)?;
                    return Err(p.param(format!("Bad range \"{v}\""), Some(v)));
                };
                let (a, z) = (num(a)?, num(z)?);
                if a >= z {
                    return Err(p.param(format!("{a} should be less than {z}"), Some(v)));
                }
                self.balance = Some((a, z));
            }
        }
        Ok(())
    }

    /// `--queue-num` and `--queue-balance` exclude each other; `--queue-cpu-fanout` needs
    /// `--queue-balance`.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if seen.contains(&"queue-num") && seen.contains(&"queue-balance") {
            return Err(p.param(
                "NFQUEUE: option \"--queue-num\" cannot be used together with \"--queue-balance\".\n",
                None,
            ));
        }
        if seen.contains(&"queue-cpu-fanout") && !seen.contains(&"queue-balance") {
            return Err(p.param(
                "NFQUEUE: option \"--queue-cpu-fanout\" also requires \"--queue-balance\".\n",
                None,
            ));
        }
        Ok(())
    }

    pub fn print(&self, out: &mut String) {
        match self.balance {
            Some((a, z)) => {
                let _ = write!(out, " NFQUEUE balance {a}:{z}");
            }
            None => {
                let _ = write!(out, " NFQUEUE num {}", self.num);
            }
        }
        if self.bypass {
            out.push_str(" bypass");
        }
        if self.cpu_fanout {
            out.push_str(" cpu-fanout");
        }
    }

    pub fn save(&self, out: &mut String) {
        match self.balance {
            Some((a, z)) => {
                let _ = write!(out, " -j NFQUEUE --queue-balance {a}:{z}");
            }
            None => {
                let _ = write!(out, " -j NFQUEUE --queue-num {}", self.num);
            }
        }
        if self.bypass {
            out.push_str(" --queue-bypass");
        }
        if self.cpu_fanout {
            out.push_str(" --queue-cpu-fanout");
        }
    }

    /// The verdict with no program bound to the queue, and the frame's note.
    pub fn outcome(&self) -> (crate::netfilter::packet::Verdict, String) {
        use crate::netfilter::packet::Verdict;
        let queue = match self.balance {
            Some((a, z)) => format!("queues {a}:{z}"),
            None => format!("queue {}", self.num),
        };
        if self.bypass {
            (
                Verdict::Accept,
                format!("NFQUEUE: no program listens on {queue}: accepted (--queue-bypass)"),
            )
        } else {
            (
                Verdict::Drop,
                format!("NFQUEUE: no program listens on {queue}: dropped"),
            )
        }
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;

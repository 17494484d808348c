//! `-m string` (revision 1): the pattern as libxt_string reads it (`--string`, or
//! `--hex-string` with `|41 42|` blocks and `\` literals), printed back as text or hex, and
//! matched as `string_mt` does with `skb_find_text`: the first occurrence in the packet
//! from the IP header on, starting at `--from`, and ending by `--to`. `bm` and `kmp` find
//! the same first occurrence; `--icase` compares as the kernel's `toupper` (Latin-1 aware).

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::values::strtoul0;
use crate::netfilter::packet::PacketView;

/// `XT_STRING_MAX_PATTERN_SIZE`, `XT_STRING_MAX_ALGO_NAME_SIZE`.
const MAX_PATTERN: usize = 128;
const MAX_ALGO: usize = 16;

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("from", 1),
    ("to", 1),
    ("algo", 1),
    ("string", 1),
    ("hex-string", 1),
    ("icase", 0),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StringMatch {
    pub algo: String,
    pub pattern: Vec<u8>,
    pub from: u16,
    pub to: u16,
    pub icase: bool,
    pub inv: bool,
}

impl StringMatch {
    pub fn new() -> StringMatch {
        StringMatch {
            algo: String::new(),
            pattern: Vec::new(),
            from: 0,
            to: u16::MAX,
            icase: false,
            inv: false,
        }
    }

    /// Reads one option (its repeat and `!` already checked).
    pub fn parse(&mut self, p: &Prog, opt: &str, inv: bool, args: &mut Args) -> Res<()> {
        if opt == "icase" {
            self.icase = true;
            return Ok(());
        }
        let v = args.value(p)?;
        match opt {
            "from" | "to" => {
                let n = match strtoul0(v) {
                    Some((n, "")) if n <= 65535 => n as u16,
                    _ => {
                        return Err(p.param(
                            format!(
                                "string: bad value for option \"--{opt}\", or out of range \
                                 (0-65535).\n"
                            ),
                            Some(v),
                        ));
                    }
                };
                if opt == "from" {
                    self.from = n;
                } else {
                    self.to = n;
                }
            }
            "algo" => {
                if v.len() >= MAX_ALGO {
                    return Err(p.param(format!("ALGO too long \"{v}\""), Some(v)));
                }
                self.algo = v.to_string();
            }
            "string" => {
                if v.len() > MAX_PATTERN {
                    return Err(p.param(format!("STRING too long \"{v}\""), Some(v)));
                }
                self.pattern = v.as_bytes().to_vec();
                self.inv = inv;
            }
            _ => {
                self.pattern = hex_string(p, v)?;
                self.inv = inv;
            }
        }
        Ok(())
    }

    /// `xtables_options_fcheck` (in table order: `--algo` is mandatory, `--string` and
    /// `--hex-string` exclude each other), then `string_check`.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        if !seen.contains(&"algo") {
            return Err(p.param("string: option \"--algo\" must be specified\n", None));
        }
        let string = seen.contains(&"string");
        let hex = seen.contains(&"hex-string");
        if string && hex {
            return Err(p.param(
                "string: option \"--string\" cannot be used together with \"--hex-string\".\n",
                None,
            ));
        }
        if !string && !hex {
            return Err(p.param(
                "STRING match: You must specify `--string' or `--hex-string'",
                None,
            ));
        }
        Ok(())
    }

    /// The kernel's refusal (`string_mt_check`, `textsearch_prepare`): an errno text.
    pub fn refused(&self) -> Option<&'static str> {
        if self.from > self.to || self.pattern.is_empty() {
            return Some("Invalid argument");
        }
        match self.algo.as_str() {
            "bm" | "kmp" => None,
            // ts_fsm takes a token program, not text: refused for text patterns, and its
            // programs are not modelled.
            "fsm" => Some("Invalid argument"),
            _ => Some("No such file or directory"),
        }
    }

    /// `string_mt`: `skb_find_text(skb, from, to, ...)` over the packet from its IP header.
    pub fn matches(&self, pkt: &PacketView) -> bool {
        let (from, to) = (usize::from(self.from), usize::from(self.to));
        let n = self.pattern.len();
        let text = pkt.ip.get(from..).unwrap_or(&[]);
        let up = |b: u8| if self.icase { kernel_toupper(b) } else { b };
        let found = (0..(text.len() + 1).saturating_sub(n)).find(|&i| {
            text[i..i + n]
                .iter()
                .zip(&self.pattern)
                .all(|(&a, &b)| up(a) == up(b))
        });
        let hit = found.is_some_and(|pos| pos + n <= to.saturating_sub(from));
        hit != self.inv
    }

    /// As `iptables -L` prints it.
    pub fn print(&self, out: &mut String) {
        let _ = write!(out, " STRING match {}", if self.inv { "!" } else { "" });
        self.pattern_text(out);
        let _ = write!(out, " ALGO name {}", self.algo);
        if self.from != 0 {
            let _ = write!(out, " FROM {}", self.from);
        }
        if self.to != u16::MAX {
            let _ = write!(out, " TO {}", self.to);
        }
        if self.icase {
            out.push_str(" ICASE");
        }
    }

    /// As `-S` writes it.
    pub fn save(&self, out: &mut String) {
        let hex = is_hex(&self.pattern);
        let _ = write!(
            out,
            "{} --{}",
            if self.inv { " !" } else { "" },
            if hex { "hex-string" } else { "string" }
        );
        self.pattern_text(out);
        let _ = write!(out, " --algo {}", self.algo);
        if self.from != 0 {
            let _ = write!(out, " --from {}", self.from);
        }
        if self.to != u16::MAX {
            let _ = write!(out, " --to {}", self.to);
        }
        if self.icase {
            out.push_str(" --icase");
        }
    }

    /// `print_hex_string` or `print_string`.
    fn pattern_text(&self, out: &mut String) {
        if is_hex(&self.pattern) {
            out.push_str(" \"|");
            for b in &self.pattern {
                let _ = write!(out, "{b:02x}");
            }
            out.push_str("|\"");
        } else {
            out.push_str(" \"");
            for &b in &self.pattern {
                if b == b'"' || b == b'\\' {
                    out.push('\\');
                }
                out.push(char::from(b));
            }
            out.push('"');
        }
    }
}

/// `is_hex_string`: a character `isprint` refuses, or a last `\`.
fn is_hex(s: &[u8]) -> bool {
    s.iter().any(|&b| !(0x20..0x7F).contains(&b)) || s.last() == Some(&b'\\')
}

/// The kernel's `toupper` (`lib/ctype.c`): ASCII and Latin-1 lower case.
fn kernel_toupper(b: u8) -> u8 {
    if b.is_ascii_lowercase() || (b >= 0xDF && b != 0xF7) {
        b - 0x20
    } else {
        b
    }
}

/// `parse_hex_string`, step for step.
fn hex_string(p: &Prog, s: &str) -> Res<Vec<u8>> {
    let err = |msg: String| Err(p.param(msg, Some(s)));
    let b = s.as_bytes();
    let slen = b.len();
    if slen == 0 {
        return err("STRING must contain at least one char".into());
    }
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let (mut i, mut hex_f, mut literal_f) = (0usize, false, false);
    let mut out = Vec::new();
    while i < slen {
        if out.len() >= MAX_PATTERN {
            return err(format!("STRING too long \"{s}\""));
        }
        if b[i] == b'\\' && !hex_f {
            literal_f = true;
        } else if b[i] == b'\\' {
            return err("Cannot include literals in hex data".into());
        } else if b[i] == b'|' {
            if hex_f {
                hex_f = false;
            } else {
                hex_f = true;
                while at(i + 1) == b' ' {
                    i += 1;
                }
            }
            if i + 1 >= slen {
                break;
            }
            i += 1;
        }
        if literal_f {
            if i + 1 >= slen {
                return err("Bad literal placement at end of string".into());
            }
            out.push(b[i + 1]);
            i += 2;
            literal_f = false;
        } else if hex_f {
            if i + 1 >= slen {
                return err("Odd number of hex digits".into());
            }
            if i + 2 >= slen {
                return err("Invalid hex block".into());
            }
            for c in [b[i], b[i + 1]] {
                if !c.is_ascii_hexdigit() {
                    return err(format!("Invalid hex char '{}'", char::from(c)));
                }
            }
            let pair = std::str::from_utf8(&b[i..i + 2]).unwrap_or("00");
            out.push(u8::from_str_radix(pair, 16).unwrap_or(0));
            i += if at(i + 2) == b' ' { 3 } else { 2 };
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "ext_string_tests.rs"]
mod tests;

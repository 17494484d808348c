//! `-m sctp` (`-p sctp --sport/--dport/--chunk-types`), as libxt_sctp reads and prints it
//! and `sctp_mt` matches it. hoplab's hosts speak no SCTP, but a router forwards protocol
//! 132 like any other, and the match reads its common header and chunks from the packet.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::values::parse_ports;
use crate::netfilter::packet::PacketView;

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("source-port", 1),
    ("sport", 1),
    ("destination-port", 1),
    ("dport", 1),
    ("chunk-types", 2),
];

/// `sctp_chunk_names`: name, type, the flag letters (bit 7 first).
const CHUNKS: &[(&str, u8, &[u8; 8])] = &[
    ("DATA", 0, b"----IUBE"),
    ("INIT", 1, b"--------"),
    ("INIT_ACK", 2, b"--------"),
    ("SACK", 3, b"--------"),
    ("HEARTBEAT", 4, b"--------"),
    ("HEARTBEAT_ACK", 5, b"--------"),
    ("ABORT", 6, b"-------T"),
    ("SHUTDOWN", 7, b"--------"),
    ("SHUTDOWN_ACK", 8, b"--------"),
    ("ERROR", 9, b"--------"),
    ("COOKIE_ECHO", 10, b"--------"),
    ("COOKIE_ACK", 11, b"--------"),
    ("ECN_ECNE", 12, b"--------"),
    ("ECN_CWR", 13, b"--------"),
    ("SHUTDOWN_COMPLETE", 14, b"-------T"),
    ("I_DATA", 64, b"----IUBE"),
    ("RE_CONFIG", 130, b"--------"),
    ("ASCONF", 193, b"--------"),
    ("ASCONF_ACK", 128, b"--------"),
    ("FORWARD_TSN", 192, b"--------"),
    ("I_FORWARD_TSN", 194, b"--------"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkMatch {
    Any,
    All,
    Only,
}

/// Flags a chunk type must have: type, flags, mask (`xt_sctp_flag_info`).
type ChunkFlags = Vec<(u8, u8, u8)>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SctpMatch {
    pub sport: Option<(u16, u16, bool)>,
    pub dport: Option<(u16, u16, bool)>,
    /// How, which types (a 256-bit map), the flags some types must have (type, flags,
    /// mask), and the `!`.
    pub chunks: Option<(ChunkMatch, [u32; 8], ChunkFlags, bool)>,
}

impl SctpMatch {
    pub fn new() -> SctpMatch {
        SctpMatch {
            sport: None,
            dport: None,
            chunks: None,
        }
    }

    /// Reads one option (libxt_sctp's `sctp_parse`, which has its own words for a repeat).
    pub fn parse(
        &mut self,
        p: &Prog,
        opt: &str,
        inv: bool,
        args: &mut Args,
        seen: &mut Vec<&'static str>,
    ) -> Res<()> {
        let (key, long): (&'static str, &str) = match opt {
            "sport" | "source-port" => ("sport", "source-port"),
            "dport" | "destination-port" => ("dport", "destination-port"),
            _ => ("chunk-types", "chunk-types"),
        };
        if seen.contains(&key) {
            return Err(p.param(format!("Only one `--{long}' allowed"), Some(opt)));
        }
        seen.push(key);
        let v = args.value(p)?;
        match key {
            "sport" | "dport" => {
                let (lo, hi) = parse_ports(p, v, 132)?;
                let spec = Some((lo, hi, inv));
                if key == "sport" {
                    self.sport = spec;
                } else {
                    self.dport = spec;
                }
            }
            _ => {
                let how = match v.to_ascii_uppercase().as_str() {
                    "ANY" => ChunkMatch::Any,
                    "ALL" => ChunkMatch::All,
                    "ONLY" => ChunkMatch::Only,
                    _ => {
                        return Err(p.param(
                            "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"",
                            Some(v),
                        ));
                    }
                };
                let list = args.second(p, "--chunk-types requires two args")?;
                let (map, flags) = chunk_list(p, &list)?;
                self.chunks = Some((how, map, flags, inv));
            }
        }
        Ok(())
    }

    /// `sctp_mt`: ports from the common header, chunks walked as `match_packet` does. A
    /// non-first fragment does not match; a packet too short, or with a chunk of length 0,
    /// matches nothing (the kernel drops it).
    pub fn matches(&self, pkt: &PacketView) -> bool {
        if pkt.fragment {
            return false;
        }
        let ihl = usize::from(pkt.ip.first().map_or(0, |b| b & 0x0F)) * 4;
        let Some(sh) = pkt.ip.get(ihl..ihl + 12) else {
            return false;
        };
        let sport = u16::from_be_bytes([sh[0], sh[1]]);
        let dport = u16::from_be_bytes([sh[2], sh[3]]);
        let ports = |spec: Option<(u16, u16, bool)>, port: u16| {
            spec.is_none_or(|(lo, hi, inv)| (lo..=hi).contains(&port) != inv)
        };
        if !ports(self.sport, sport) || !ports(self.dport, dport) {
            return false;
        }
        match &self.chunks {
            None => true,
            Some((how, map, flags, inv)) => match chunks_match(pkt, ihl + 12, *how, map, flags) {
                Some(hit) => hit != *inv,
                None => false,
            },
        }
    }

    /// As `iptables -L` prints it.
    pub fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" sctp");
        for (name, spec) in [("spt", self.sport), ("dpt", self.dport)] {
            if let Some((lo, hi, inv)) = spec
                && (lo != 0 || hi != 0xFFFF || inv)
            {
                let bang = if inv { "!" } else { "" };
                if lo == hi {
                    let _ = write!(out, " {name}:{bang}{lo}");
                } else {
                    let _ = write!(out, " {name}s:{bang}{lo}:{hi}");
                }
            }
        }
        if let Some((how, map, flags, inv)) = &self.chunks {
            if *inv {
                out.push_str(" !");
            }
            print_chunks(out, *how, map, flags, numeric);
        }
    }

    /// As `-S` writes it.
    pub fn save(&self, out: &mut String) {
        for (name, spec) in [("sport", self.sport), ("dport", self.dport)] {
            if let Some((lo, hi, inv)) = spec {
                if inv {
                    out.push_str(" !");
                }
                if lo == hi {
                    let _ = write!(out, " --{name} {lo}");
                } else {
                    let _ = write!(out, " --{name} {lo}:{hi}");
                }
            }
        }
        if let Some((how, map, flags, inv)) = &self.chunks {
            if *inv {
                out.push_str(" !");
            }
            out.push_str(" --chunk-types");
            print_chunks(out, *how, map, flags, false);
        }
    }
}

fn is_set(map: &[u32; 8], t: u8) -> bool {
    map[usize::from(t) / 32] & (1 << (t % 32)) != 0
}

/// `parse_sctp_chunks`' list: names (any case), `ALL`, `NONE`, each with `:FLAGS`.
fn chunk_list(p: &Prog, list: &str) -> Res<([u32; 8], ChunkFlags)> {
    let mut map = [0u32; 8];
    let mut flags: ChunkFlags = Vec::new();
    for item in list.split(',') {
        let (name, fl) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        if name.eq_ignore_ascii_case("ALL") {
            map = [u32::MAX; 8];
            continue;
        }
        if name.eq_ignore_ascii_case("NONE") {
            map = [0; 8];
            continue;
        }
        let Some(&(_, t, letters)) = CHUNKS.iter().find(|c| c.0.eq_ignore_ascii_case(name)) else {
            return Err(p.param(format!("Unknown sctp chunk `{name}'"), Some(list)));
        };
        map[usize::from(t) / 32] |= 1 << (t % 32);
        if let Some(fl) = fl {
            if flags.len() == 4 {
                return Err(p.param(
                    "Number of chunk types with flags exceeds currently allowed limit.",
                    Some(list),
                ));
            }
            let (mut flag, mut mask) = (0u8, 0u8);
            for c in fl.bytes() {
                let Some(i) = letters
                    .iter()
                    .position(|&l| l != b'-' && l == c.to_ascii_uppercase())
                else {
                    return Err(p.param(format!("Invalid flags for chunk type {t}"), Some(list)));
                };
                let bit = 1u8 << (7 - i);
                mask |= bit;
                if c.is_ascii_uppercase() {
                    flag |= bit;
                }
            }
            flags.push((t, flag, mask));
        }
    }
    Ok((map, flags))
}

/// `print_chunks`.
fn print_chunks(
    out: &mut String,
    how: ChunkMatch,
    map: &[u32; 8],
    flags: &[(u8, u8, u8)],
    numeric: bool,
) {
    out.push_str(match how {
        ChunkMatch::Any => " any",
        ChunkMatch::All => " all",
        ChunkMatch::Only => " only",
    });
    if map.iter().all(|&w| w == 0) {
        out.push_str(" NONE");
        return;
    }
    if map.iter().all(|&w| w == u32::MAX) {
        out.push_str(" ALL");
        return;
    }
    let mut first = true;
    for t in 0..=255u8 {
        if !is_set(map, t) {
            continue;
        }
        out.push(if first { ' ' } else { ',' });
        first = false;
        let letters = CHUNKS.iter().find(|c| c.1 == t);
        match letters {
            _ if numeric => {
                let _ = write!(out, "0x{t:04X}");
            }
            Some(c) => out.push_str(c.0),
            None => out.push_str("UNKNOWN"),
        }
        for &(_, flag, mask) in flags.iter().filter(|f| f.0 == t) {
            out.push(':');
            let letters = letters.map_or(b"--------", |c| c.2);
            for i in (0..8).rev() {
                let bit = 1u8 << i;
                if mask & bit != 0 {
                    let l = char::from(letters[7 - i]);
                    out.push(if flag & bit != 0 {
                        l.to_ascii_uppercase()
                    } else {
                        l.to_ascii_lowercase()
                    });
                }
            }
        }
    }
}

/// `match_packet`: None when a chunk header cannot be read or has length 0.
fn chunks_match(
    pkt: &PacketView,
    mut offset: usize,
    how: ChunkMatch,
    map: &[u32; 8],
    flags: &[(u8, u8, u8)],
) -> Option<bool> {
    let mut left = *map;
    let flags_ok = |t: u8, f: u8| {
        flags
            .iter()
            .find(|x| x.0 == t)
            .is_none_or(|&(_, flag, mask)| f & mask == flag)
    };
    let len = pkt.ip.len();
    loop {
        let ch = pkt.ip.get(offset..offset + 4)?;
        let (t, f) = (ch[0], ch[1]);
        let clen = usize::from(u16::from_be_bytes([ch[2], ch[3]]));
        if clen == 0 {
            return None;
        }
        offset += clen.div_ceil(4) * 4;
        if is_set(map, t) {
            match how {
                ChunkMatch::Any if flags_ok(t, f) => return Some(true),
                ChunkMatch::All if flags_ok(t, f) => {
                    left[usize::from(t) / 32] &= !(1 << (t % 32));
                }
                ChunkMatch::Only if !flags_ok(t, f) => return Some(false),
                _ => {}
            }
        } else if how == ChunkMatch::Only {
            return Some(false);
        }
        if offset >= len {
            break;
        }
    }
    Some(match how {
        ChunkMatch::All => left.iter().all(|&w| w == 0),
        ChunkMatch::Any => false,
        ChunkMatch::Only => true,
    })
}

#[cfg(test)]
#[path = "ext_sctp_tests.rs"]
mod tests;

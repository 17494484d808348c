//! `-m hashlimit` (revision 3, as iptables 1.8 loads it): a token bucket per key (the
//! addresses and ports `--hashlimit-mode` names, masked by `--hashlimit-srcmask` and
//! `--hashlimit-dstmask`), as `hashlimit_mt_common` keeps them, in virtual nanoseconds
//! instead of jiffies.
//!
//! * A key's bucket starts full (`--hashlimit-burst` packets) at its first packet and refills
//!   by the time elapsed since its last one, up to the burst. `--hashlimit-upto` matches
//!   while there is credit for one packet, `--hashlimit-above` (or `!`) once there is not.
//! * A bucket idle for `--hashlimit-htable-expire` milliseconds (by default the rate's unit)
//!   is removed by the garbage collection that runs every `--hashlimit-htable-gcinterval`
//!   milliseconds from the table's first packet; a new packet then starts a full bucket.
//! * At most `--hashlimit-htable-max` buckets (default 65,536: eight times the 8,192 slots
//!   the kernel sizes on a host with over 1 GiB): a packet that would need one more does not
//!   match (the kernel drops it: `hotdrop`).
//! * Not modelled: byte rates (`100kb/s`), `--hashlimit-rate-match` and
//!   `--hashlimit-rate-interval`; rules with the same `--hashlimit-name` share one table in
//!   the kernel, here each rule keeps its own.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::values::{parse_ipv4, strtoul0};
use crate::netfilter::packet::PacketView;
use crate::time::Instant;

/// `XT_HASHLIMIT_SCALE_v2`: rates are in microseconds per packet.
const SCALE: u64 = 1_000_000;
const HASH_DIP: u8 = 1;
const HASH_DPT: u8 = 2;
const HASH_SIP: u8 = 4;
const HASH_SPT: u8 = 8;
/// The kernel's default table size on a host with more than 1 GiB, times 8.
const DEFAULT_MAX: usize = 8 * 8192;

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("hashlimit", 1),
    ("hashlimit-upto", 1),
    ("hashlimit-above", 1),
    ("hashlimit-srcmask", 1),
    ("hashlimit-dstmask", 1),
    ("hashlimit-burst", 1),
    ("hashlimit-htable-size", 1),
    ("hashlimit-htable-max", 1),
    ("hashlimit-htable-gcinterval", 1),
    ("hashlimit-htable-expire", 1),
    ("hashlimit-mode", 1),
    ("hashlimit-name", 1),
    ("hashlimit-rate-match", 0),
    ("hashlimit-rate-interval", 1),
];

/// One key's bucket: credit in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    credit: u64,
    prev: Instant,
    expires: Instant,
}

type Key = (u32, u32, u16, u16);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HashLimit {
    pub above: bool,
    /// Microseconds per packet.
    pub avg: u64,
    pub burst: u64,
    pub mode: u8,
    pub name: String,
    pub size: u32,
    pub max: u32,
    pub gc_interval: u32,
    /// Milliseconds, when given (else the rate's unit: `expire()`).
    pub expire: Option<u32>,
    pub srcmask: u32,
    pub dstmask: u32,
    /// The rate's unit in seconds, as the rate was written.
    unit: u32,
    buckets: BTreeMap<Key, Bucket>,
    next_gc: Option<Instant>,
}

impl HashLimit {
    pub fn new() -> HashLimit {
        HashLimit {
            above: false,
            avg: 0,
            burst: 5,
            mode: 0,
            name: String::new(),
            size: 0,
            max: 0,
            gc_interval: 1000,
            expire: None,
            srcmask: 32,
            dstmask: 32,
            unit: 1,
            buckets: BTreeMap::new(),
            next_gc: None,
        }
    }

    /// Reads one option (its repeat and `!` already checked).
    pub fn parse(&mut self, p: &Prog, opt: &str, inv: bool, args: &mut Args) -> Res<()> {
        if opt.starts_with("hashlimit-rate-") {
            return Err(p.not_modelled("option", &format!("--{opt}")));
        }
        let v = args.value(p)?;
        let uint = |v: &str| -> Res<u32> {
            match strtoul0(v) {
                Some((n, "")) if n <= u64::from(u32::MAX) => Ok(n as u32),
                _ => Err(p.param(
                    format!(
                        "hashlimit: bad value for option \"--{opt}\", or out of range \
                         (0-4294967295).\n"
                    ),
                    Some(v),
                )),
            }
        };
        match opt {
            "hashlimit" | "hashlimit-upto" | "hashlimit-above" => {
                if byte_rate(v) {
                    return Err(p.not_modelled("hashlimit byte rate", v));
                }
                let (avg, unit) = rate(p, v)?.ok_or_else(|| {
                    p.param(
                        format!("hashlimit: Bad value for \"--{opt}\" option: \"{v}\""),
                        Some(v),
                    )
                })?;
                (self.avg, self.unit) = (avg, unit);
                self.above = (opt == "hashlimit-above") != inv;
            }
            "hashlimit-burst" => {
                self.burst = match strtoul0(v) {
                    Some((n, "")) if (1..=1_000_000).contains(&n) => n,
                    _ => {
                        return Err(p.param(
                            "bad value for option \"--hashlimit-burst\", or out of range \
                             (1-1000000).",
                            Some(v),
                        ));
                    }
                }
            }
            "hashlimit-srcmask" | "hashlimit-dstmask" => {
                let bits = plen(v).ok_or_else(|| {
                    p.param(
                        format!(
                            "hashlimit: bad value for option \"--{opt}\", neither a valid \
                             network mask nor valid CIDR (0-32).\n"
                        ),
                        Some(v),
                    )
                })?;
                if opt == "hashlimit-srcmask" {
                    self.srcmask = bits;
                } else {
                    self.dstmask = bits;
                }
            }
            "hashlimit-htable-size" => self.size = uint(v)?,
            "hashlimit-htable-max" => self.max = uint(v)?,
            "hashlimit-htable-gcinterval" => self.gc_interval = uint(v)?,
            "hashlimit-htable-expire" => self.expire = Some(uint(v)?),
            "hashlimit-mode" => {
                let mut mode = 0;
                for word in v.split(',').filter(|w| !w.is_empty()) {
                    mode |= match word {
                        "srcip" => HASH_SIP,
                        "srcport" => HASH_SPT,
                        "dstip" => HASH_DIP,
                        "dstport" => HASH_DPT,
                        _ => {
                            return Err(p.param(
                                format!("hashlimit: Bad value for \"--{opt}\" option: \"{v}\""),
                                Some(v),
                            ));
                        }
                    };
                }
                self.mode = mode;
            }
            _ => self.name = v.to_string(),
        }
        Ok(())
    }

    /// `hashlimit_mt_check_v3`'s checks after the line is read.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        let rate_given = seen
            .iter()
            .any(|o| matches!(*o, "hashlimit-upto" | "hashlimit-above"));
        if seen.contains(&"hashlimit-upto") && seen.contains(&"hashlimit-above") {
            return Err(p.param(
                "hashlimit: option \"--hashlimit-upto\" cannot be used together with \
                 \"--hashlimit-above\".\n",
                None,
            ));
        }
        if !seen.contains(&"hashlimit-name") {
            return Err(p.param(
                "hashlimit: option \"--hashlimit-name\" must be specified\n",
                None,
            ));
        }
        if !rate_given {
            return Err(p.param("You have to specify --hashlimit", None));
        }
        Ok(())
    }

    /// What the kernel's `checkentry` refuses (`EINVAL`).
    pub fn kernel_ok(&self) -> bool {
        self.srcmask <= 32 && self.dstmask <= 32 && self.gc_interval != 0 && self.expire() != 0
    }

    /// `hashlimit_mt_xlate` of libxt_hashlimit 1.8.9 (revision 3), as nft prints it: a
    /// meter keyed by the mode's fields (destination address, destination port, source
    /// address, source port, ports always as `tcp`), the lifetime unless it is one second,
    /// the rate in the largest unit that keeps it whole, the burst unless 5. None without
    /// a mode.
    pub fn nft_xlate(&self) -> Option<String> {
        let mask = |m: u32| match m {
            32 => String::new(),
            m => {
                let bits = u32::MAX.checked_shl(32 - m).unwrap_or(0);
                format!(" and {}", std::net::Ipv4Addr::from(bits))
            }
        };
        let fields: Vec<String> = [
            (HASH_DIP, format!("ip daddr{}", mask(self.dstmask))),
            (HASH_DPT, "tcp dport".to_string()),
            (HASH_SIP, format!("ip saddr{}", mask(self.srcmask))),
            (HASH_SPT, "tcp sport".to_string()),
        ]
        .into_iter()
        .filter(|(bit, _)| self.mode & bit != 0)
        .map(|(_, f)| f)
        .collect();
        if fields.is_empty() {
            return None;
        }
        let mut s = format!("meter {} {{ {}", self.name, fields.join(" . "));
        if self.expire() != 1000 {
            let _ = write!(s, " timeout {}s", self.expire() / 1000);
        }
        s.push_str(" limit rate");
        if self.above {
            s.push_str(" over");
        }
        const SCALE: u64 = 1_000_000;
        let mult = [SCALE * 86_400, SCALE * 3_600, SCALE * 60, SCALE];
        let avg = self.avg.max(1);
        let mut i = 1;
        while i < mult.len() && !(avg > mult[i] || mult[i] / avg < mult[i] % avg) {
            i += 1;
        }
        let unit = match mult[i - 1] / SCALE {
            86_400 => "day",
            3_600 => "hour",
            60 => "minute",
            _ => "second",
        };
        let _ = write!(s, " {}/{unit}", mult[i - 1] / avg);
        if self.burst != 5 {
            let _ = write!(s, " burst {} packets", self.burst);
        }
        s.push_str(" }");
        Some(s)
    }

    /// The buckets' idle lifetime in milliseconds: `--hashlimit-htable-expire`, else the
    /// rate's unit (`hashlimit_mt_check`'s default).
    fn expire(&self) -> u32 {
        self.expire
            .unwrap_or_else(|| self.unit.saturating_mul(1000))
    }

    /// `hashlimit_mt_common` for a packet rate.
    pub fn matches(&mut self, pkt: &PacketView, now: Instant) -> bool {
        self.gc(now);
        let key = self.key(pkt);
        let cost = self.avg.saturating_mul(1000);
        let cap = cost.saturating_mul(self.burst);
        let expire = u64::from(self.expire()) * 1_000_000;
        let expires = Instant::from_nanos(now.nanos().saturating_add(expire));
        let limit = if self.max == 0 {
            DEFAULT_MAX
        } else {
            self.max as usize
        };
        if !self.buckets.contains_key(&key) && self.buckets.len() >= limit {
            return false;
        }
        let b = self.buckets.entry(key).or_insert(Bucket {
            credit: cap,
            prev: now,
            expires,
        });
        let elapsed = now.saturating_sub(b.prev).nanos();
        b.credit = b.credit.saturating_add(elapsed).min(cap);
        b.prev = now;
        b.expires = expires;
        if b.credit >= cost {
            b.credit -= cost;
            !self.above
        } else {
            self.above
        }
    }

    /// The garbage collection ticks due by `now`: each removes the buckets expired by then.
    fn gc(&mut self, now: Instant) {
        let interval = u64::from(self.gc_interval.max(1)) * 1_000_000;
        let next = *self
            .next_gc
            .get_or_insert(Instant::from_nanos(now.nanos().saturating_add(interval)));
        if now < next {
            return;
        }
        let ticks = (now.nanos() - next.nanos()) / interval;
        let last = next.nanos() + ticks * interval;
        self.buckets
            .retain(|_, b| b.expires > Instant::from_nanos(last));
        self.next_gc = Some(Instant::from_nanos(last.saturating_add(interval)));
    }

    /// `hashlimit_init_dst`: the masked addresses and the ports the mode names.
    fn key(&self, pkt: &PacketView) -> Key {
        let mask = |bits: u32| u32::MAX.checked_shl(32 - bits.min(32)).unwrap_or(0);
        let src = if self.mode & HASH_SIP != 0 {
            crate::netfilter::packet::bits4(pkt.src) & mask(self.srcmask)
        } else {
            0
        };
        let dst = if self.mode & HASH_DIP != 0 {
            crate::netfilter::packet::bits4(pkt.dst) & mask(self.dstmask)
        } else {
            0
        };
        if self.mode & (HASH_SPT | HASH_DPT) == 0 {
            return (src, dst, 0, 0);
        }
        // `proto_ports_offset`: TCP, UDP, UDP-Lite, SCTP, DCCP, ESP at 0, AH at 4.
        let off = match pkt.proto {
            6 | 17 | 33 | 50 | 132 | 136 => Some(0),
            51 => Some(4),
            _ => None,
        };
        let ihl = usize::from(pkt.ip.first().map_or(0, |b| b & 0x0F)) * 4;
        let (sport, dport) = match off {
            Some(o) => pkt
                .ip
                .get(ihl + o..ihl + o + 4)
                .map(|p| {
                    (
                        u16::from_be_bytes([p[0], p[1]]),
                        u16::from_be_bytes([p[2], p[3]]),
                    )
                })
                .or_else(|| Some((pkt.sport?, pkt.dport?)))
                .unwrap_or((0, 0)),
            None => (0, 0),
        };
        (
            src,
            dst,
            if self.mode & HASH_SPT != 0 { sport } else { 0 },
            if self.mode & HASH_DPT != 0 { dport } else { 0 },
        )
    }

    /// As `iptables -L` prints it (`hashlimit_mt_print`).
    pub fn print(&self, out: &mut String) {
        out.push_str(if self.above {
            " limit: above"
        } else {
            " limit: up to"
        });
        let quantum = print_rate(out, self.avg);
        let _ = write!(out, " burst {}", self.burst);
        if self.mode != 0 {
            out.push_str(" mode");
            self.print_mode(out, '-');
        }
        self.tail(out, quantum, "");
    }

    /// As `-S` writes it (`hashlimit_mt_save`).
    pub fn save(&self, out: &mut String) {
        out.push_str(if self.above {
            " --hashlimit-above"
        } else {
            " --hashlimit-upto"
        });
        let quantum = print_rate(out, self.avg);
        let _ = write!(out, " --hashlimit-burst {}", self.burst);
        if self.mode != 0 {
            out.push_str(" --hashlimit-mode");
            self.print_mode(out, ',');
        }
        let _ = write!(out, " --hashlimit-name {}", self.name);
        self.tail(out, quantum, "--hashlimit-");
    }

    fn tail(&self, out: &mut String, quantum: u64, pfx: &str) {
        if self.size != 0 {
            let _ = write!(out, " {pfx}htable-size {}", self.size);
        }
        if self.max != 0 {
            let _ = write!(out, " {pfx}htable-max {}", self.max);
        }
        if self.gc_interval != 1000 {
            let _ = write!(out, " {pfx}htable-gcinterval {}", self.gc_interval);
        }
        if u64::from(self.expire()) != quantum {
            let _ = write!(out, " {pfx}htable-expire {}", self.expire());
        }
        if self.srcmask != 32 {
            let _ = write!(out, " {pfx}srcmask {}", self.srcmask);
        }
        if self.dstmask != 32 {
            let _ = write!(out, " {pfx}dstmask {}", self.dstmask);
        }
    }

    fn print_mode(&self, out: &mut String, sep: char) {
        out.push(' ');
        let mut first = true;
        for (bit, name) in [
            (HASH_SIP, "srcip"),
            (HASH_SPT, "srcport"),
            (HASH_DIP, "dstip"),
            (HASH_DPT, "dstport"),
        ] {
            if self.mode & bit != 0 {
                if !first {
                    out.push(sep);
                }
                out.push_str(name);
                first = false;
            }
        }
    }
}

/// `print_rate` (revision 3): the largest unit whose count is whole enough; returns the
/// unit in milliseconds.
fn print_rate(out: &mut String, period: u64) -> u64 {
    const RATES: [(&str, u64); 4] = [
        ("day", SCALE * 24 * 60 * 60),
        ("hour", SCALE * 60 * 60),
        ("min", SCALE * 60),
        ("sec", SCALE),
    ];
    if period == 0 {
        out.push_str(" inf");
        return 0;
    }
    let mut i = 1;
    while i < RATES.len() {
        let mult = RATES[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    let (name, mult) = RATES[i - 1];
    let _ = write!(out, " {}/{name}", mult / period);
    mult / SCALE * 1000
}

/// `parse_bytes` would take it: a number followed by a byte unit.
fn byte_rate(v: &str) -> bool {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && {
        let unit = v[digits..].split('/').next().unwrap_or("");
        matches!(unit, "b" | "kb" | "mb")
    }
}

/// `parse_rate` (revision 3): `N[/second|minute|hour|day]` (a prefix of the unit, any case)
/// as microseconds per packet and the unit in seconds; None for a bad value, an error for a
/// rate above one per microsecond.
fn rate(p: &Prog, v: &str) -> Res<Option<(u64, u32)>> {
    let mut mult = 1;
    if let Some((_, unit)) = v.split_once('/') {
        if unit.is_empty() {
            return Ok(None);
        }
        let is =
            |word: &str| word.len() >= unit.len() && word[..unit.len()].eq_ignore_ascii_case(unit);
        mult = if is("second") {
            1
        } else if is("minute") {
            60
        } else if is("hour") {
            3600
        } else if is("day") {
            86400
        } else {
            return Ok(None);
        };
    }
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let r: u64 = v[..digits].parse().unwrap_or(u64::MAX);
    if r == 0 || digits == 0 {
        return Ok(None);
    }
    let avg = SCALE * u64::from(mult) / r;
    if avg == 0 {
        return Err(p.param(format!("Rate too fast \"{v}\""), Some(v)));
    }
    Ok(Some((avg, mult)))
}

/// A prefix length or a contiguous dotted mask.
fn plen(v: &str) -> Option<u32> {
    if v.contains('.') {
        let m = parse_ipv4(v)?;
        return (m.leading_ones() + m.trailing_zeros() == 32).then(|| m.leading_ones());
    }
    match strtoul0(v) {
        Some((n, "")) if n <= 255 => Some(n as u32),
        _ => None,
    }
}

#[cfg(test)]
#[path = "ext_hashlimit_tests.rs"]
mod tests;

//! `-m recent` (`xt_recent`, revision 1): named lists of addresses with the times each was
//! seen, shared by every rule of the namespace that names the list, and
//! `/proc/net/xt_recent/NAME`.
//!
//! The bounds are those of the Linux 6.x module with its default parameters: `ip_list_tot`
//! 100 addresses per list (the least recently seen one goes to make room) and
//! `ip_pkt_list_tot` 0, so a list keeps, per address, as many stamps as the largest power of
//! two that covers the largest `--hitcount` of the rules naming it, or 65536 when a rule has
//! none (`nstamps_max_mask`). A list is made when a rule first names it, keeping that rule's
//! `--mask`, and goes with the last rule that names it.
//!
//! Times are jiffies at `HZ` = 250 of the virtual clock, counted as the kernel counts them
//! from boot: the lab's time 0 is boot, when jiffies is `INITIAL_JIFFIES` (2^32 - 300 s x
//! HZ = 4294892296 on a 64-bit kernel), so `last_seen` reads like a real router's.

use std::fmt::Write;

use super::Prog;
use super::fmt_ext::ip;
use super::parse::{Args, Res};
use super::parse_ext::once;
use super::values::parse_u32;
use crate::netfilter::packet::PacketView;
use crate::time::Instant;

/// `ip_list_tot`: addresses per list.
pub(crate) const LIST_TOT: usize = 100;
/// `XT_RECENT_MAX_NSTAMPS`.
const MAX_NSTAMPS: u32 = 65536;
/// Ticks per second.
pub(crate) const HZ: u64 = 250;
/// `INITIAL_JIFFIES` on a 64-bit kernel.
pub(crate) const INITIAL_JIFFIES: u64 = (1 << 32) - 300 * HZ;

/// The jiffies counter at virtual time `now`.
pub(crate) fn jiffies(now: Instant) -> u64 {
    INITIAL_JIFFIES.wrapping_add(now.nanos() / (1_000_000_000 / HZ))
}

/// `time_after(a, b)`: `a` is later than `b`, counting across a wrap.
pub(crate) fn time_after(a: u64, b: u64) -> bool {
    (b.wrapping_sub(a) as i64) < 0
}

// `check_set` bits (`xt_recent.h`).
const CHECK: u8 = 1;
const SET: u8 = 2;
const UPDATE: u8 = 4;
const REMOVE: u8 = 8;
const TTL: u8 = 16;
const REAP: u8 = 32;

/// The options, in libxt_recent's table order.
pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("set", 0),
    ("rcheck", 0),
    ("update", 0),
    ("remove", 0),
    ("seconds", 1),
    ("reap", 0),
    ("hitcount", 1),
    ("rttl", 0),
    ("name", 1),
    ("rsource", 0),
    ("rdest", 0),
    ("mask", 1),
];

/// `xt_recent_mtinfo_v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecentMatch {
    pub seconds: u32,
    pub hit_count: u32,
    pub check_set: u8,
    pub invert: bool,
    pub name: String,
    pub dest: bool,
    pub mask: u32,
}

impl Default for RecentMatch {
    /// `recent_init`: list `DEFAULT`, the source address, all of it.
    fn default() -> Self {
        RecentMatch {
            seconds: 0,
            hit_count: 0,
            check_set: 0,
            invert: false,
            name: "DEFAULT".into(),
            dest: false,
            mask: u32::MAX,
        }
    }
}

/// The option ids of libxt_recent and the ids each excludes (`.excl`) or needs (`.also`).
fn table() -> [(&'static str, u16, u16); 12] {
    const ANY_OP: u16 = 0b1111;
    [
        ("set", ANY_OP, 0),
        ("rcheck", ANY_OP, 0),
        ("update", ANY_OP, 0),
        ("remove", ANY_OP, 0),
        ("seconds", 0, 0),
        ("reap", 0, 1 << 4),
        ("hitcount", 0, 0),
        ("rttl", 0b1001, 0),
        ("name", 0, 0),
        ("rsource", 0, 0),
        ("rdest", 0, 0),
        ("mask", 0, 0),
    ]
}

impl RecentMatch {
    /// `recent_parse` after `xtables_option_parse`.
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
    ) -> Res<()> {
        let inv_ok = matches!(opt, "set" | "rcheck" | "update" | "remove");
        once(p, "recent", seen, opt, inv, inv_ok)?;
        let uint = |args: &mut Args, min: u32| -> Res<u32> {
            let v = args.value(p)?;
            parse_u32(v).filter(|&n| n >= min).ok_or_else(|| {
                p.param(
                    format!(
                        "recent: bad value for option \"--{opt}\", or out of range \
                         ({min}-4294967295).\n"
                    ),
                    Some(v),
                )
            })
        };
        let op = |m: &mut RecentMatch, bit: u8| {
            m.check_set |= bit;
            m.invert |= inv;
        };
        match opt {
            "set" => op(self, SET),
            "rcheck" => op(self, CHECK),
            "update" => op(self, UPDATE),
            "remove" => op(self, REMOVE),
            "seconds" => self.seconds = uint(args, 1)?,
            "reap" => self.check_set |= REAP,
            "hitcount" => self.hit_count = uint(args, 0)?,
            "rttl" => self.check_set |= TTL,
            "name" => {
                // `XTTYPE_STRING` into `name[XT_RECENT_NAME_LEN]`: cut to 199 bytes.
                let v = args.value(p)?;
                let mut end = v.len().min(199);
                while !v.is_char_boundary(end) {
                    end -= 1;
                }
                self.name = v[..end].to_string();
            }
            "rsource" => self.dest = false,
            "rdest" => self.dest = true,
            _ => {
                // `XTTYPE_HOST`: an address (or a name getaddrinfo knows).
                let v = args.value(p)?;
                let ok = v.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
                let ok = ok.or_else(|| super::names::host_by_name(v));
                self.mask =
                    ok.ok_or_else(|| p.param("getaddrinfo: Name or service not known\n", Some(v)))?;
            }
        }
        Ok(())
    }

    /// `xtables_options_fcheck` over libxt_recent's table, then `recent_check`.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        let t = table();
        let bit = |name: &str| t.iter().position(|o| o.0 == name).map_or(0, |i| 1u16 << i);
        let given: u16 = seen.iter().fold(0, |acc, o| acc | bit(o));
        for (i, &(name, excl, also)) in t.iter().enumerate() {
            if given & (1 << i) == 0 {
                continue;
            }
            let clash = excl & given & !(1 << i);
            if clash != 0 {
                let other = t[clash.trailing_zeros() as usize].0;
                return Err(p.param(
                    format!(
                        "recent: option \"--{name}\" cannot be used together with \"--{other}\".\n"
                    ),
                    Some(name),
                ));
            }
            let missing = also & !given;
            if missing != 0 {
                let other = t[missing.trailing_zeros() as usize].0;
                return Err(p.param(
                    format!("recent: option \"--{name}\" also requires \"--{other}\".\n"),
                    Some(name),
                ));
            }
        }
        if given & 0b1111 == 0 {
            return Err(p.param(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
                Some("recent"),
            ));
        }
        Ok(())
    }

    /// `recent_mt_check`.
    pub fn check_entry(&self) -> bool {
        let ops = self.check_set & (SET | REMOVE | CHECK | UPDATE);
        if ops.count_ones() != 1 {
            return false;
        }
        if ops & (SET | REMOVE) != 0
            && (self.seconds != 0 || self.hit_count != 0 || self.check_set & (TTL | REAP) != 0)
        {
            return false;
        }
        if self.check_set & REAP != 0 && self.seconds == 0 {
            return false;
        }
        if self.hit_count >= MAX_NSTAMPS {
            return false;
        }
        // `xt_check_proc_name`.
        !(self.name.is_empty()
            || self.name.len() >= 200
            || self.name == "."
            || self.name == ".."
            || self.name.contains('/'))
    }

    /// The `nstamps_max_mask` a rule asks of its list (`ip_pkt_list_tot` is 0).
    pub fn stamps_mask(&self) -> u32 {
        match self.hit_count {
            0 => MAX_NSTAMPS - 1,
            n => n.next_power_of_two().min(MAX_NSTAMPS) - 1,
        }
    }

    /// `recent_print` (IPv4).
    pub fn print(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" recent:");
        for (bit, word) in [(SET, "SET"), (CHECK, "CHECK"), (UPDATE, "UPDATE")] {
            if self.check_set & bit != 0 {
                let _ = write!(out, " {word}");
            }
        }
        if self.check_set & REMOVE != 0 {
            out.push_str(" REMOVE");
        }
        if self.seconds != 0 {
            let _ = write!(out, " seconds: {}", self.seconds as i32);
        }
        if self.check_set & REAP != 0 {
            out.push_str(" reap");
        }
        if self.hit_count != 0 {
            let _ = write!(out, " hit_count: {}", self.hit_count as i32);
        }
        if self.check_set & TTL != 0 {
            out.push_str(" TTL-Match");
        }
        if !self.name.is_empty() {
            let _ = write!(out, " name: {}", self.name);
        }
        out.push_str(if self.dest {
            " side: dest"
        } else {
            " side: source"
        });
        out.push_str(" mask: ");
        ip(out, self.mask);
    }

    /// `recent_save` (IPv4).
    pub fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        for (bit, word) in [
            (SET, "set"),
            (CHECK, "rcheck"),
            (UPDATE, "update"),
            (REMOVE, "remove"),
        ] {
            if self.check_set & bit != 0 {
                let _ = write!(out, " --{word}");
            }
        }
        if self.seconds != 0 {
            let _ = write!(out, " --seconds {}", self.seconds as i32);
        }
        if self.check_set & REAP != 0 {
            out.push_str(" --reap");
        }
        if self.hit_count != 0 {
            let _ = write!(out, " --hitcount {}", self.hit_count as i32);
        }
        if self.check_set & TTL != 0 {
            out.push_str(" --rttl");
        }
        if !self.name.is_empty() {
            let _ = write!(out, " --name {}", self.name);
        }
        out.push_str(" --mask ");
        ip(out, self.mask);
        out.push_str(if self.dest { " --rdest" } else { " --rsource" });
    }
}

/// One address of a list (`recent_entry`).
#[derive(Clone, Debug)]
struct Entry {
    addr: u32,
    ttl: u8,
    /// Ring of jiffies, `nstamps_max_mask + 1` at most; grows as stamps come.
    stamps: Vec<u64>,
    /// Where the next stamp goes (1 after the first), as the kernel counts it.
    index: u32,
    /// When it was last touched, for the least-recently-used order.
    lru: u64,
}

/// One list (`recent_table`).
#[derive(Clone, Debug)]
struct List {
    name: String,
    mask: u32,
    stamps_mask: u32,
    /// In the order addresses were added (the listing's order; the kernel's is its hash's).
    entries: Vec<Entry>,
    tick: u64,
}

impl List {
    fn new(name: &str, mask: u32, stamps_mask: u32) -> List {
        List {
            name: name.to_string(),
            mask,
            stamps_mask,
            entries: Vec::new(),
            tick: 0,
        }
    }

    fn touch(&mut self, i: usize) {
        self.tick += 1;
        self.entries[i].lru = self.tick;
    }

    /// The least recently used entry (the head of the kernel's `lru_list`).
    fn oldest(&self) -> Option<usize> {
        (0..self.entries.len()).min_by_key(|&i| self.entries[i].lru)
    }

    /// `recent_entry_lookup`: a TTL of 0 (either side) matches any.
    fn lookup(&self, addr: u32, ttl: u8) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.addr == addr && (ttl == e.ttl || ttl == 0 || e.ttl == 0))
    }

    /// `recent_entry_init`: the least recently used entry makes room when the list is full.
    fn init(&mut self, addr: u32, ttl: u8, now: u64) -> usize {
        if self.entries.len() >= LIST_TOT
            && let Some(i) = self.oldest()
        {
            self.entries.remove(i);
        }
        self.entries.push(Entry {
            addr,
            ttl,
            stamps: vec![now],
            index: 1,
            lru: 0,
        });
        let i = self.entries.len() - 1;
        self.touch(i);
        i
    }

    /// `recent_entry_update`.
    fn update(&mut self, i: usize, now: u64) {
        let mask = self.stamps_mask;
        let e = &mut self.entries[i];
        e.index &= mask;
        let at = e.index as usize;
        if at < e.stamps.len() {
            e.stamps[at] = now;
        } else {
            e.stamps.push(now);
        }
        e.index += 1;
        self.touch(i);
    }

    /// `recent_entry_reap`: drops the least recently used entry if its last stamp is older
    /// than `time`, unless it is the one about to be updated.
    fn reap(&mut self, time: u64, working: usize, update: bool) -> Option<usize> {
        let head = self.oldest()?;
        if head == working && update {
            return Some(working);
        }
        let e = &self.entries[head];
        let last = e.stamps[e.index as usize - 1];
        if time_after(time, last) {
            self.entries.remove(head);
            return match head.cmp(&working) {
                std::cmp::Ordering::Less => Some(working - 1),
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => Some(working),
            };
        }
        Some(working)
    }
}

/// The namespace's recent lists, in the order they were made.
#[derive(Clone, Debug, Default)]
pub(crate) struct RecentLists {
    lists: Vec<List>,
}

impl RecentLists {
    /// Keeps the lists the rules `wanted` name, drops the others, makes the missing ones
    /// with the first naming rule's `--mask`; a list asked for more stamps per address than
    /// it keeps is emptied and widened, as `recent_mt_check` does.
    pub fn sync(&mut self, wanted: &[&RecentMatch]) {
        self.lists
            .retain(|l| wanted.iter().any(|w| w.name == l.name));
        for m in wanted {
            let stamps = m.stamps_mask();
            match self.lists.iter_mut().find(|l| l.name == m.name) {
                Some(l) if stamps > l.stamps_mask => {
                    l.entries.clear();
                    l.stamps_mask = stamps;
                }
                Some(_) => {}
                None => self.lists.push(List::new(&m.name, m.mask, stamps)),
            }
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.lists.iter().map(|l| l.name.as_str()).collect()
    }

    /// `recent_seq_show` for every address of list `name`.
    pub fn listing(&self, name: &str) -> Option<String> {
        let l = self.lists.iter().find(|l| l.name == name)?;
        let mut out = String::new();
        for e in &l.entries {
            let last = e.stamps[((e.index - 1) & l.stamps_mask) as usize];
            out.push_str("src=");
            ip(&mut out, e.addr);
            let _ = write!(
                out,
                " ttl: {} last_seen: {last} oldest_pkt: {}",
                e.ttl, e.index
            );
            for (i, s) in e.stamps.iter().enumerate() {
                let _ = write!(out, "{} {s}", if i > 0 { "," } else { "" });
            }
            out.push('\n');
        }
        Some(out)
    }

    /// `recent_mt`.
    pub fn eval(&mut self, m: &RecentMatch, pkt: &PacketView, now: Instant) -> bool {
        let j = jiffies(now);
        let addr = crate::netfilter::packet::bits4(if m.dest { pkt.dst } else { pkt.src });
        let mut ttl = pkt.ip.get(8).copied().unwrap_or(0);
        // The TTL as seen before forwarding: a forwarded packet (no local socket) after
        // routing has had it lowered.
        if pkt.out_iface.is_some() && pkt.in_iface.is_some() {
            ttl = ttl.wrapping_add(1);
        }
        let li = match self.lists.iter().position(|l| l.name == m.name) {
            Some(i) => i,
            None => {
                self.lists.push(List::new(&m.name, m.mask, m.stamps_mask()));
                self.lists.len() - 1
            }
        };
        let t = &mut self.lists[li];
        let addr = addr & t.mask;
        let mut ret = m.invert;
        let look_ttl = if m.check_set & TTL != 0 { ttl } else { 0 };
        let Some(mut e) = t.lookup(addr, look_ttl) else {
            if m.check_set & SET == 0 {
                return ret;
            }
            t.init(addr, ttl, j);
            return !ret;
        };
        if m.check_set & SET != 0 {
            ret = !ret;
        } else if m.check_set & REMOVE != 0 {
            t.entries.remove(e);
            return !ret;
        } else if m.check_set & (CHECK | UPDATE) != 0 {
            let time = j.wrapping_sub(u64::from(m.seconds) * HZ);
            let mut hits = 0;
            for &s in &t.entries[e].stamps {
                if m.seconds != 0 && time_after(time, s) {
                    continue;
                }
                hits += 1;
                if m.hit_count == 0 || hits >= m.hit_count {
                    ret = !ret;
                    break;
                }
            }
            if m.check_set & REAP != 0 {
                match t.reap(time, e, m.check_set & UPDATE != 0 && ret) {
                    Some(i) => e = i,
                    None => return ret,
                }
            }
        }
        if m.check_set & SET != 0 || (m.check_set & UPDATE != 0 && ret) {
            t.update(e, j);
            t.entries[e].ttl = ttl;
        }
        ret
    }
}

#[cfg(test)]
#[path = "recent_tests.rs"]
mod tests;

//! `-m time`, as libxt_time reads and prints it and `time_mt` matches it.
//!
//! The clock: the kernel reads the wall clock (`ktime_get_real_ns`); hoplab's wall clock is
//! the one its captures are stamped with, the Unix epoch plus the virtual time
//! (`1970-01-01T00:00:00Z` at `Instant::ZERO`, a Thursday). The kernel's time zone
//! (`--kerneltz`, `sys_tz`) is UTC, as on a host whose clock runs in UTC, so it changes
//! nothing but the listing.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use crate::time::Instant;

pub(crate) const OPTIONS: &[(&str, u8)] = &[
    ("datestart", 1),
    ("datestop", 1),
    ("timestart", 1),
    ("timestop", 1),
    ("weekdays", 1),
    ("monthdays", 1),
    ("localtz", 0),
    ("utc", 0),
    ("kerneltz", 0),
    ("contiguous", 0),
];

const WEEK_DAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const ALL_MONTHDAYS: u32 = 0xFFFF_FFFE;
const ALL_WEEKDAYS: u32 = 0xFE;
const MAX_DAYTIME: u32 = 24 * 60 * 60 - 1;
/// `date_stop`'s default, `INT_MAX`.
const DATE_MAX: u32 = i32::MAX as u32;
const LOCAL_TZ: u8 = 1;
const CONTIGUOUS: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeMatch {
    pub date_start: u32,
    pub date_stop: u32,
    pub daytime_start: u32,
    pub daytime_stop: u32,
    pub monthdays: u32,
    pub weekdays: u32,
    pub flags: u8,
}

impl TimeMatch {
    /// `time_init`: every day, every daytime, no date bounds.
    pub fn new() -> TimeMatch {
        TimeMatch {
            date_start: 0,
            date_stop: DATE_MAX,
            daytime_start: 0,
            daytime_stop: MAX_DAYTIME,
            monthdays: ALL_MONTHDAYS,
            weekdays: ALL_WEEKDAYS,
            flags: 0,
        }
    }

    /// `time_parse` (repeats and `!` already checked).
    pub fn parse(&mut self, p: &Prog, opt: &str, inv: bool, args: &mut Args) -> Res<()> {
        match opt {
            "localtz" | "kerneltz" => {
                self.flags |= LOCAL_TZ;
                return Ok(());
            }
            "utc" => return Ok(()),
            "contiguous" => {
                self.flags |= CONTIGUOUS;
                return Ok(());
            }
            _ => {}
        }
        let v = args.value(p)?;
        match opt {
            "datestart" => self.date_start = parse_date(p, v)?,
            "datestop" => self.date_stop = parse_date(p, v)?,
            "timestart" => self.daytime_start = parse_daytime(p, v)?,
            "timestop" => self.daytime_stop = parse_daytime(p, v)?,
            "monthdays" => {
                self.monthdays = parse_monthdays(p, v)?;
                if inv {
                    self.monthdays ^= ALL_MONTHDAYS;
                }
            }
            _ => {
                self.weekdays = parse_weekdays(p, v)?;
                if inv {
                    self.weekdays ^= ALL_WEEKDAYS;
                }
            }
        }
        Ok(())
    }

    /// `xtables_options_fcheck` (`--utc` excludes `--localtz` and `--kerneltz`), then
    /// `time_fcheck`.
    pub fn final_check(&self, p: &Prog, seen: &[&'static str]) -> Res<()> {
        let has = |o| seen.contains(&o);
        let clash = |a: &str, b: &str| {
            Err(p.param(
                format!("time: option \"--{a}\" cannot be used together with \"--{b}\".\n"),
                None,
            ))
        };
        if has("localtz") && has("utc") {
            return clash("localtz", "utc");
        }
        if has("utc") && has("kerneltz") {
            return clash("utc", "kerneltz");
        }
        if self.flags & CONTIGUOUS != 0 && self.daytime_start < self.daytime_stop {
            return Err(p.param(
                "time: --contiguous only makes sense when stoptime is smaller than starttime",
                None,
            ));
        }
        Ok(())
    }

    /// `time_mt` at virtual time `now` (see the module doc).
    pub fn matches(&self, now: Instant) -> bool {
        let mut stamp = (now.nanos() / 1_000_000_000) as i64;
        if stamp < i64::from(self.date_start) || stamp > i64::from(self.date_stop) {
            return false;
        }
        let packet_time = (stamp % 86_400) as u32;
        if self.daytime_start < self.daytime_stop {
            if packet_time < self.daytime_start || packet_time > self.daytime_stop {
                return false;
            }
        } else {
            if packet_time < self.daytime_start && packet_time > self.daytime_stop {
                return false;
            }
            if self.flags & CONTIGUOUS != 0 && packet_time <= self.daytime_stop {
                stamp -= 86_400;
            }
        }
        let days = stamp.div_euclid(86_400);
        // 1970-01-01 was a Thursday (4); Monday is 1, Sunday 7.
        let weekday = (4 + days - 1).rem_euclid(7) + 1;
        if self.weekdays & (1 << weekday) == 0 {
            return false;
        }
        if self.monthdays != ALL_MONTHDAYS {
            let (_, _, mday) = civil_from_days(days);
            if self.monthdays & (1 << mday) == 0 {
                return false;
            }
        }
        true
    }

    /// As `iptables -L` prints it (`time_print`).
    pub fn print(&self, out: &mut String) {
        out.push_str(" TIME");
        if self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME {
            let _ = write!(out, " from {}", hms(self.daytime_start));
            let _ = write!(out, " to {}", hms(self.daytime_stop));
        }
        if self.weekdays != ALL_WEEKDAYS {
            out.push_str(" on");
            weekdays(out, self.weekdays);
        }
        if self.monthdays != ALL_MONTHDAYS {
            out.push_str(" on");
            monthdays(out, self.monthdays, true);
        }
        if self.date_start != 0 {
            let _ = write!(out, " starting from {}", date(self.date_start, ' '));
        }
        if self.date_stop != DATE_MAX {
            let _ = write!(out, " until date {}", date(self.date_stop, ' '));
        }
        if self.flags & LOCAL_TZ == 0 {
            out.push_str(" UTC");
        }
        if self.flags & CONTIGUOUS != 0 {
            out.push_str(" contiguous");
        }
    }

    /// As `-S` writes it (`time_save`): `--datestop` always, as its default is not the
    /// `LONG_MAX` `time_print_date` leaves out.
    pub fn save(&self, out: &mut String) {
        if self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME {
            let _ = write!(out, " --timestart {}", hms(self.daytime_start));
            let _ = write!(out, " --timestop {}", hms(self.daytime_stop));
        }
        if self.monthdays != ALL_MONTHDAYS {
            out.push_str(" --monthdays");
            monthdays(out, self.monthdays, false);
        }
        if self.weekdays != ALL_WEEKDAYS {
            out.push_str(" --weekdays");
            weekdays(out, self.weekdays);
        }
        if self.date_start != 0 {
            let _ = write!(out, " --datestart {}", date(self.date_start, 'T'));
        }
        let _ = write!(out, " --datestop {}", date(self.date_stop, 'T'));
        if self.flags & LOCAL_TZ != 0 {
            out.push_str(" --kerneltz");
        }
        if self.flags & CONTIGUOUS != 0 {
            out.push_str(" --contiguous");
        }
    }
}

impl TimeMatch {
    /// `time_xlate` of libxt_time 1.8.9, as nft prints it: the dates, then the daytimes
    /// and the week days each after a space (so a rule without dates starts with one);
    /// none for month days (`--contiguous` is left out). nft numbers days from Sunday, 0.
    pub fn nft_xlate(&self) -> Option<String> {
        if self.monthdays != ALL_MONTHDAYS {
            return None;
        }
        let mut s = String::new();
        if self.date_start != 0 || self.date_stop != DATE_MAX {
            let _ = write!(
                s,
                "meta time \"{}\"-\"{}\"",
                date(self.date_start, ' '),
                date(self.date_stop, ' ')
            );
        }
        if self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME {
            let _ = write!(
                s,
                " meta hour \"{}\"-\"{}\"",
                hms(self.daytime_start),
                hms(self.daytime_stop)
            );
        }
        if self.weekdays != ALL_WEEKDAYS {
            let days: Vec<String> = (1..=7)
                .filter(|i| self.weekdays & (1 << i) != 0)
                .map(|i| (i % 7).to_string())
                .collect();
            match days.as_slice() {
                [one] => {
                    let _ = write!(s, " meta day {one}");
                }
                many => {
                    let _ = write!(s, " meta day {{ {} }}", many.join(", "));
                }
            }
        }
        Some(s)
    }
}

fn hms(t: u32) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

fn weekdays(out: &mut String, mask: u32) {
    out.push(' ');
    let days: Vec<&str> = (1..=7)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| WEEK_DAYS[i])
        .collect();
    out.push_str(&days.join(","));
}

fn monthdays(out: &mut String, mask: u32, human: bool) {
    out.push(' ');
    let mut first = true;
    for i in 1..=31u32 {
        if mask & (1 << i) == 0 {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{i}");
        if human {
            out.push_str(match i % 10 {
                1 => "st",
                2 => "nd",
                3 => "rd",
                _ => "th",
            });
        }
    }
}

/// `gmtime` of a date as `YYYY-MM-DD hh:mm:ss` (or with `T`).
fn date(t: u32, sep: char) -> String {
    let t = i64::from(t);
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400) as u32;
    format!("{y:04}-{m:02}-{d:02}{sep}{}", hms(s))
}

/// Days since 1970-01-01 of a date, normalizing as `mktime` does (month 0 is December of
/// the year before, day 0 the month's eve, a day past the month's end runs into the next).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = (y + (m - 1).div_euclid(12), (m - 1).rem_euclid(12) + 1);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (d - 1)
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `strtoul(s, &e, 10)`: the number (0 if none) and the rest.
fn strtoul10(s: &str) -> (u64, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (
        s[..n].parse().unwrap_or(if n == 0 { 0 } else { u64::MAX }),
        &s[n..],
    )
}

/// `time_parse_date`: `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`, 1970 to 2038, as seconds since the
/// epoch (UTC).
fn parse_date(p: &Prog, os: &str) -> Res<u32> {
    let bad = || {
        p.param(
            format!("Invalid date \"{os}\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]"),
            Some(os),
        )
    };
    let mut f = [1970u64, 1, 1, 0, 0, 0];
    // Each field: its separator after it, and its maximum.
    let spec: [(char, u64); 6] = [
        ('-', 2038),
        ('-', 12),
        ('T', 31),
        (':', 23),
        (':', 59),
        ('\0', 59),
    ];
    let mut s = os;
    for (i, &(sep, max)) in spec.iter().enumerate() {
        let (n, rest) = strtoul10(s);
        let end_ok = rest.is_empty() || (sep != '\0' && rest.starts_with(sep));
        if !end_ok || n > max || (i == 0 && n < 1970) {
            return Err(bad());
        }
        f[i] = n;
        if rest.is_empty() {
            break;
        }
        s = &rest[1..];
    }
    let days = days_from_civil(f[0] as i64, f[1] as i64, f[2] as i64);
    let t = days * 86_400 + (f[3] * 3600 + f[4] * 60 + f[5]) as i64;
    u32::try_from(t).map_err(|_| bad())
}

/// `time_parse_minutes`: `hh:mm[:ss]`; the message quotes what was left to read.
fn parse_daytime(p: &Prog, v: &str) -> Res<u32> {
    let bad = |s: &str| {
        p.param(
            format!(
                "invalid time \"{s}\" specified, should be hh:mm[:ss] format and within the \
                 boundaries"
            ),
            Some(v),
        )
    };
    let (h, rest) = strtoul10(v);
    if !rest.starts_with(':') || h > 23 {
        return Err(bad(v));
    }
    let s = &rest[1..];
    let (m, rest) = strtoul10(s);
    if !(rest.is_empty() || rest.starts_with(':')) || m > 59 {
        return Err(bad(s));
    }
    let mut sec = 0;
    if let Some(s) = rest.strip_prefix(':') {
        let (n, rest) = strtoul10(s);
        if !rest.is_empty() || n > 59 {
            return Err(bad(s));
        }
        sec = n;
    }
    Ok((h * 3600 + m * 60 + sec) as u32)
}

/// `my_strseg`: the comma-separated pieces, each cut to `max` characters.
fn segments(arg: &str, max: usize) -> Vec<String> {
    if arg.is_empty() {
        return Vec::new();
    }
    let mut parts: Vec<&str> = arg.split(',').collect();
    // A trailing comma leaves nothing after it.
    if parts.last() == Some(&"") {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|s| s.chars().take(max).collect())
        .collect()
}

fn strtoul0_all(s: &str) -> Option<u64> {
    match super::values::strtoul0(s) {
        Some((n, "")) => Some(n),
        None if s.is_empty() => Some(0),
        _ => None,
    }
}

/// `time_parse_monthdays`: numbers up to 31 (two characters each).
fn parse_monthdays(p: &Prog, arg: &str) -> Res<u32> {
    let mut ret = 0u32;
    for day in segments(arg, 2) {
        match strtoul0_all(&day) {
            Some(i) if i <= 31 => ret |= 1 << i,
            _ => {
                return Err(p.param(
                    format!("{day} is not a valid day for --monthdays"),
                    Some(arg),
                ));
            }
        }
    }
    Ok(ret)
}

/// `time_parse_weekdays`: numbers (not 0), or names by their first two letters.
fn parse_weekdays(p: &Prog, arg: &str) -> Res<u32> {
    let mut ret = 0u32;
    for day in segments(arg, 3) {
        if let Some(i) = strtoul0_all(&day) {
            if i == 0 {
                return Err(p.param("No, the week does NOT begin with Sunday.", Some(arg)));
            }
            ret |= 1u32.checked_shl(i as u32).unwrap_or(0);
            continue;
        }
        let head: String = day.chars().take(2).collect();
        let mut valid = false;
        for (i, name) in WEEK_DAYS.iter().enumerate().skip(1) {
            if name.starts_with(&head) && head.len() == 2 {
                ret |= 1 << i;
                valid = true;
            }
        }
        if !valid {
            return Err(p.param(format!("{day} is not a valid day specifier"), Some(arg)));
        }
    }
    Ok(ret)
}

#[cfg(test)]
#[path = "ext_time_tests.rs"]
mod tests;

//! The formatting pieces the Docker CLI and daemon are built from, reproduced byte for byte:
//! Go's `text/tabwriter` as the CLI configures it for tables, `fvbommel/sortorder`'s natural
//! order, `go-units` v0.5.0 `HumanDuration`, `strconv.Quote`, the CLI's `Ellipsis`, Go's
//! RFC 3339 timestamps and `encoding/json` output re-indented by `json.Indent`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use smoltcp::wire::EthernetAddress;

/// A table as the CLI prints it: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` (minimum
/// width 10, padding 3, spaces). Every cell but the last of a row is a column; the last cell
/// is printed as is. All rows must have the same number of cells (true of Docker's tables).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns.saturating_sub(1)];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell) + 3);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if let Some(&w) = widths.get(i) {
                let w = w.max(10);
                out.extend(std::iter::repeat_n(' ', w - width(cell)));
            }
        }
        out.push('\n');
    }
    out
}

/// Display width as `go-runewidth` counts it for the text Docker prints: one per character
/// (`…` is East Asian "ambiguous", one column outside CJK locales).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// `sortorder.NaturalLess` as an ordering: digit runs compare as numbers (fewer leading zeros
/// first on a tie), everything else bytewise, and a digit sorts before a non-digit.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn natural_less(s1: &str, s2: &str) -> bool {
    let (a, b) = (s1.as_bytes(), s2.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (c1, c2) = (a[i], b[j]);
        let (d1, d2) = (c1.is_ascii_digit(), c2.is_ascii_digit());
        if d1 != d2 {
            return d1;
        }
        if !d1 {
            if c1 != c2 {
                return c1 < c2;
            }
            i += 1;
            j += 1;
            continue;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (nz1, nz2) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let (len1, len2) = (i - nz1, j - nz2);
        if len1 != len2 {
            return len1 < len2;
        }
        let (n1, n2) = (&a[nz1..i], &b[nz2..j]);
        if n1 != n2 {
            return n1 < n2;
        }
        if nz1 != nz2 {
            return nz1 < nz2;
        }
    }
    a.len() < b.len()
}

const SECOND: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SECOND;
const HOUR: i128 = 60 * MINUTE;

/// `units.HumanDuration` of `github.com/docker/go-units` v0.5.0 (the version docker/cli and
/// moby vendor): "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
/// "About an hour" (hours round to nearest), "N hours" below 48, then days, weeks, months and
/// years, each truncated.
pub fn human_duration(nanos: i128) -> String {
    let seconds = nanos / SECOND;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = nanos / MINUTE;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // int(d.Hours() + 0.5)
    let hours = (nanos + HOUR / 2) / HOUR;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", nanos / HOUR / 24 / 365)
}

/// The CLI's `formatter.Ellipsis` for ASCII-width text: longer than `max` characters keeps
/// `max - 1` of them and appends `…`.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote`: double quotes, `\"` and `\\`, the usual single-letter escapes, other
/// control characters as `\x..`/`\u....`, printable Unicode kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A MAC as Go's `net.HardwareAddr.String()` prints it: lowercase, colon-separated
/// (smoltcp's `Display` uses dashes).
pub fn mac(m: EthernetAddress) -> String {
    let b = m.0;
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

/// A wall-clock instant with the UTC offset it is shown in, as Docker's daemon keeps network
/// and container times (Go `time.Time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_secs: i64,
    /// 0..1e9.
    pub nanos: u32,
    /// The zone the daemon prints the time in (its host's local time); 0 prints `Z`.
    pub utc_offset_secs: i32,
}

impl Timestamp {
    /// An instant shown in UTC.
    pub const fn utc(unix_secs: i64, nanos: u32) -> Timestamp {
        Timestamp {
            unix_secs,
            nanos,
            utc_offset_secs: 0,
        }
    }

    /// Parses RFC 3339 with an optional fraction of up to 9 digits:
    /// `2026-01-01T00:00:00Z`, `2026-01-26T16:23:32.966499342+08:00`.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            let digits = &s[start..end];
            if digits.is_empty() || digits.len() > 9 {
                return None;
            }
            nanos = format!("{digits:0<9}").parse().ok()?;
            i = end;
        }
        let offset = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                let v = (oh * 3600 + om * 60) as i32;
                if *sign == b'-' { -v } else { v }
            }
            _ => return None,
        };
        let local = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec;
        Some(Timestamp {
            unix_secs: local - i64::from(offset),
            nanos,
            utc_offset_secs: offset,
        })
    }

    /// Go's `time.RFC3339Nano` (what `time.Time` marshals to in JSON): the fraction without
    /// trailing zeros, none at all when zero; `Z` for UTC, else `±hh:mm`.
    pub fn rfc3339_nano(&self) -> String {
        let local = self.unix_secs + i64::from(self.utc_offset_secs);
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.utc_offset_secs == 0 {
            out.push('Z');
        } else {
            let sign = if self.utc_offset_secs < 0 { '-' } else { '+' };
            let off = self.utc_offset_secs.unsigned_abs();
            let _ = write!(out, "{sign}{:02}:{:02}", off / 3600, off / 60 % 60);
        }
        out
    }

    /// This instant plus `d` (e.g. the daemon's start time plus the run's virtual time).
    pub fn after(self, d: crate::time::Duration) -> Timestamp {
        let total = i128::from(self.nanos) + i128::from(d.nanos());
        Timestamp {
            unix_secs: self.unix_secs + (total / SECOND) as i64,
            nanos: (total % SECOND) as u32,
            utc_offset_secs: self.utc_offset_secs,
        }
    }

    /// Nanoseconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn since(self, earlier: Timestamp) -> i128 {
        (i128::from(self.unix_secs) - i128::from(earlier.unix_secs)) * SECOND
            + i128::from(self.nanos)
            - i128::from(earlier.nanos)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A JSON value whose objects keep their field order, printed as the CLI prints the daemon's
/// answer: `encoding/json` (`SetEscapeHTML(false)`) re-indented by `json.Indent(.., "", "    ")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(u64),
    /// A signed number (an exit code).
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// A Go `map[string]string`: keys sorted, as `encoding/json` marshals maps.
    pub fn string_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Json {
        let mut v: Vec<(String, Json)> = entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), Json::str(v)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Json::Obj(v)
    }

    /// The indented text, without a trailing newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => quote_json(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    quote_json(out, k);
                    out.push_str(": ");
                    v.write(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("    ");
    }
}

/// A string as Go's `encoding/json` writes it with HTML escaping off (the daemon's
/// `httputils.WriteJSON`): `\"`, `\\`, `\b \f \n \r \t`, other control characters as
/// `\u00xx`, and U+2028/U+2029 escaped.
fn quote_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_like_go_tabwriter() {
        // The seed host's `docker network ls` (002_d9f8148370a429fb.txt), byte for byte.
        let rows = [
            ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
            ["155ece36f232", "bridge", "bridge", "local"],
            ["d9231d44a1ab", "docker_default", "bridge", "local"],
            ["1b235a4127d5", "host", "host", "local"],
            ["87ee577966f0", "none", "null", "local"],
        ];
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(
            table(&rows),
            "NETWORK ID     NAME             DRIVER    SCOPE\n\
             155ece36f232   bridge           bridge    local\n\
             d9231d44a1ab   docker_default   bridge    local\n\
             1b235a4127d5   host             host      local\n\
             87ee577966f0   none             null      local\n"
        );
    }

    #[test]
    fn the_seed_docker_ps_row_lays_out_the_same() {
        // 002_d9f8148370a429fb.txt: an empty PORTS cell is padded to the column's width.
        let rows: Vec<Vec<String>> = [
            [
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ],
            [
                "272ba0e789b2",
                "docker-python-monitor",
                &go_quote(&ellipsis(
                    "sh -c 'chmod 0644 /etc/cron.d/monitor && cron -f'",
                    20,
                )),
                &format!("{} ago", human_duration(24 * HOUR)),
                &format!("Up {}", human_duration(HOUR + 10 * MINUTE)),
                "",
                "ens_monitor_cron",
            ],
        ]
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
        assert_eq!(
            table(&rows),
            "CONTAINER ID   IMAGE                   COMMAND                  CREATED        STATUS             PORTS     NAMES\n\
             272ba0e789b2   docker-python-monitor   \"sh -c 'chmod 0644 /…\"   24 hours ago   Up About an hour             ens_monitor_cron\n"
        );
    }

    #[test]
    fn natural_order() {
        let mut v = vec![
            "net10",
            "net2",
            "bridge",
            "net02",
            "host",
            "[::]:1",
            "0.0.0.0:1",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "0.0.0.0:1",
                "[::]:1",
                "bridge",
                "host",
                "net2",
                "net02",
                "net10"
            ]
        );
    }

    #[test]
    fn human_durations_match_go_units_v0_5_0() {
        let d = |n: i128| human_duration(n);
        let (day, week, month, year) = (24 * HOUR, 7 * 24 * HOUR, 30 * 24 * HOUR, 365 * 24 * HOUR);
        assert_eq!(d(450_000_000), "Less than a second");
        assert_eq!(d(SECOND), "1 second");
        assert_eq!(d(59 * SECOND), "59 seconds");
        assert_eq!(d(60 * SECOND), "About a minute");
        assert_eq!(d(119 * SECOND), "About a minute");
        assert_eq!(d(35 * MINUTE + 40 * SECOND), "35 minutes");
        assert_eq!(d(HOUR + 29 * MINUTE), "About an hour");
        assert_eq!(d(HOUR + 31 * MINUTE), "2 hours");
        assert_eq!(d(3 * HOUR + 60 * MINUTE), "4 hours");
        assert_eq!(d(day + 12 * HOUR), "36 hours");
        assert_eq!(d(13 * day + 5 * HOUR), "13 days");
        assert_eq!(d(2 * week + 4 * day), "2 weeks");
        assert_eq!(d(month + 2 * week), "6 weeks");
        assert_eq!(d(3 * month + week), "3 months");
        assert_eq!(d(24 * month), "24 months");
        assert_eq!(d(24 * month + 2 * week), "2 years");
        assert_eq!(d(3 * year + 2 * month), "3 years");
        assert_eq!(d(-5 * SECOND), "Less than a second");
    }

    #[test]
    fn timestamps_print_as_go_rfc3339nano() {
        let t = Timestamp::parse("2026-01-26T16:23:32.966499342+08:00").unwrap();
        assert_eq!(t.rfc3339_nano(), "2026-01-26T16:23:32.966499342+08:00");
        assert_eq!(t.unix_secs, 1_769_415_812);
        let z = Timestamp::parse("2026-01-01T00:00:00.000000000Z").unwrap();
        assert_eq!(z.rfc3339_nano(), "2026-01-01T00:00:00Z");
        assert_eq!(z.unix_secs, 1_767_225_600);
        let f = Timestamp::utc(z.unix_secs, 120_000_000);
        assert_eq!(f.rfc3339_nano(), "2026-01-01T00:00:00.12Z");
        let later = f.after(crate::time::Duration::from_millis(1_900));
        assert_eq!(later.rfc3339_nano(), "2026-01-01T00:00:02.02Z");
        assert_eq!(later.since(f), 1_900_000_000);
        let w = Timestamp::parse("2020-02-29T23:59:59-05:30").unwrap();
        assert_eq!(w.rfc3339_nano(), "2020-02-29T23:59:59-05:30");
        assert!(Timestamp::parse("2026-01-01T00:00:00").is_none());
        assert!(Timestamp::parse("2026-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("sh"), "\"sh\"");
        assert_eq!(go_quote("a\"b\\c\n…"), "\"a\\\"b\\\\c\\n…\"");
        assert_eq!(
            ellipsis("abcdefghijklmnopqrstuvwxyz", 20),
            "abcdefghijklmnopqrs…"
        );
        assert_eq!(ellipsis("sh", 20), "sh");
        let j = Json::Obj(vec![
            ("a".into(), Json::str("<&>\u{1}\u{2028}")),
            ("b".into(), Json::Obj(vec![])),
            ("c".into(), Json::Arr(vec![Json::Null, Json::Num(3)])),
        ]);
        assert_eq!(
            j.pretty(),
            "{\n    \"a\": \"<&>\\u0001\\u2028\",\n    \"b\": {},\n    \"c\": [\n        null,\n        3\n    ]\n}"
        );
    }
}

//! Virtual time. Nothing in the library reads the wall clock: the engine owns `now` and passes
//! it in, as smoltcp does. Nanosecond resolution; the run starts at `Instant::ZERO`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in virtual time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// A span of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);
    pub const MAX: Instant = Instant(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        Instant(ns)
    }
    pub const fn nanos(self) -> u64 {
        self.0
    }
    pub const fn since_start(self) -> Duration {
        Duration(self.0)
    }
    /// smoltcp keeps microseconds; round down as the kernel's jiffies would.
    pub fn to_smoltcp(self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_micros((self.0 / 1000) as i64)
    }
    pub fn from_smoltcp(t: smoltcp::time::Instant) -> Self {
        Instant(t.total_micros().max(0) as u64 * 1000)
    }
    pub fn saturating_sub(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);
    pub const MAX: Duration = Duration(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        Duration(ns)
    }
    pub const fn from_micros(us: u64) -> Self {
        Duration(us * 1_000)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms * 1_000_000)
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(s * 1_000_000_000)
    }
    pub fn from_secs_f64(s: f64) -> Self {
        Duration((s.max(0.0) * 1e9).round() as u64)
    }
    pub const fn nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0)
    }
    pub fn to_smoltcp(self) -> smoltcp::time::Duration {
        smoltcp::time::Duration::from_micros(self.0 / 1000)
    }

    /// Parses `250ms`, `2s`, `1.5s`, `10us`, `100ns`, `2m`, `1h`; a bare number is seconds.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("'{text}' is not a duration (try 500ms, 2s, 1.5s)"))?;
        let scale = match unit.trim() {
            "" | "s" | "sec" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            other => {
                return Err(format!(
                    "unknown time unit '{other}' in '{text}' (ns, us, ms, s, m, h)"
                ));
            }
        };
        if !value.is_finite() || value < 0.0 || value * scale > u64::MAX as f64 / 2.0 {
            return Err(format!("'{text}' is out of range"));
        }
        Ok(Duration((value * scale).round() as u64))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
}
impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for Instant {
    /// `12.000345s`: seconds with microseconds, as a run log shows virtual time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.0 / 1_000_000_000,
            (self.0 % 1_000_000_000) / 1000
        )
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            write!(f, "0s")
        } else if ns.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", ns / 1_000_000_000)
        } else if ns.is_multiple_of(1_000_000) {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1000) {
            write!(f, "{}us", ns / 1000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(Duration::parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(Duration::parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(Duration::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(Duration::parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(Duration::parse("3"), Ok(Duration::from_secs(3)));
        assert_eq!(Duration::parse("2m"), Ok(Duration::from_secs(120)));
        assert!(Duration::parse("2 parsecs").is_err());
        assert!(Duration::parse("-1s").is_err());
        assert!(Duration::parse("").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(Duration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Duration::from_secs(300).to_string(), "300s");
        assert_eq!(Instant::from_nanos(2_000_345_000).to_string(), "2.000345s");
    }

    #[test]
    fn smoltcp_round_trip_keeps_micros() {
        let t = Instant::from_nanos(1_234_567_000);
        assert_eq!(Instant::from_smoltcp(t.to_smoltcp()), t);
    }
}

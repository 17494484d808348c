//! `-m time`: errors as iptables 1.8.9 (nf_tables) printed them in a network namespace, and
//! `time_mt` on the virtual wall clock (the epoch at time zero, as the captures' stamps).
//! (Listings: `tests/iptables_listings.rs`, `time-1.8.9.txt`.)

use super::super::testing::{argv, udp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table, Verdict};
use crate::time::Instant;

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.";

#[test]
fn errors_are_iptables_words() {
    let cases = [
        (
            "--timestart 25:00",
            "invalid time \"25:00\" specified, should be hh:mm[:ss] format and within the boundaries",
        ),
        (
            "--timestart 10:61",
            "invalid time \"61\" specified, should be hh:mm[:ss] format and within the boundaries",
        ),
        (
            "--datestart 2024-13-01",
            "Invalid date \"2024-13-01\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]",
        ),
        (
            "--datestop 1969",
            "Invalid date \"1969\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]",
        ),
        ("--weekdays Foo", "Foo is not a valid day specifier"),
        (
            "--weekdays Mo,tu,WEDNESDAY,7",
            "tu is not a valid day specifier",
        ),
        ("--weekdays WEDNESDAY", "WED is not a valid day specifier"),
        (
            "--weekdays Mon,,Tue",
            "No, the week does NOT begin with Sunday.",
        ),
        ("--weekdays 0", "No, the week does NOT begin with Sunday."),
        ("--monthdays 32", "32 is not a valid day for --monthdays"),
        (
            "--timestart 08:00 --timestart 09:00",
            "time: option \"--timestart\" can only be used once.\n",
        ),
        (
            "! --timestart 08:00",
            "time: option \"--timestart\" cannot be inverted.\n",
        ),
        (
            "--timestart 08:00 --timestop 17:00 --contiguous",
            "time: --contiguous only makes sense when stoptime is smaller than starttime",
        ),
        (
            "--utc --kerneltz",
            "time: option \"--utc\" cannot be used together with \"--kerneltz\".\n",
        ),
        (
            "--kerneltz --utc",
            "time: option \"--utc\" cannot be used together with \"--kerneltz\".\n",
        ),
    ];
    for (opts, msg) in cases {
        let line = format!("-A INPUT -m time {opts}");
        let e = Tables::new(IptablesVersion::V1_8_9)
            .apply(&argv(&line))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}"),
            "{line}"
        );
    }
    // `--monthdays 0` is taken (bit 0, no day), and listed with nothing after it.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    t.apply(&argv("-A INPUT -m time --monthdays 0")).unwrap();
    assert_eq!(
        t.apply(&argv("-S INPUT")).unwrap(),
        "-P INPUT ACCEPT\n-A INPUT -m time --monthdays  --datestop 2038-01-19T03:14:07\n"
    );
}

const DAY: u64 = 86_400;

/// Whether the rule accepts a packet at `secs` after the epoch.
fn at(rule: &str, secs: u64) -> bool {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    t.apply(&argv("-P INPUT DROP")).unwrap();
    t.apply(&argv(&format!("-A INPUT -m time {rule} -j ACCEPT")))
        .unwrap();
    let pkt = udp("10.0.0.1", 1, "10.0.0.2", 2);
    let now = Instant::from_nanos(secs * 1_000_000_000);
    t.run(Table::Filter, Hook::Input, &pkt, now, &mut |_| {}) == Verdict::Accept
}

#[test]
fn the_clock_starts_on_thursday_1_january_1970() {
    // Day 0 is a Thursday, day 3 a Sunday, day 4 a Monday.
    assert!(at("--weekdays Thu", 0));
    assert!(!at("--weekdays Fri", 0));
    assert!(at("--weekdays 7", 3 * DAY + 5));
    assert!(at("! --weekdays Sat,Sun", 4 * DAY));
    assert!(at("--monthdays 1", 0));
    assert!(at("--monthdays 31", 30 * DAY));
    assert!(at("--monthdays 1", 31 * DAY), "1 February");
    assert!(!at("! --monthdays 1", 31 * DAY));
    // Daytimes, inclusive at both ends.
    assert!(at("--timestart 00:00 --timestop 00:00:10", 10));
    assert!(!at("--timestart 00:00 --timestop 00:00:10", 11));
    assert!(at("--timestart 08:00 --timestop 17:00", 8 * 3600));
    assert!(!at("--timestart 08:00 --timestop 17:00", 7 * 3600));
    // Across midnight.
    assert!(at("--timestart 22:00 --timestop 06:00", 23 * 3600));
    assert!(at("--timestart 22:00 --timestop 06:00", 5 * 3600));
    assert!(!at("--timestart 22:00 --timestop 06:00", 12 * 3600));
    // `--contiguous`: Friday 01:00 counts as Thursday's night.
    let fri_1am = DAY + 3600;
    assert!(!at(
        "--timestart 22:00 --timestop 06:00 --weekdays Thu",
        fri_1am
    ));
    assert!(at(
        "--timestart 22:00 --timestop 06:00 --weekdays Thu --contiguous",
        fri_1am
    ));
    // Dates.
    assert!(!at("--datestart 1970-01-02", DAY - 1));
    assert!(at("--datestart 1970-01-02", DAY));
    assert!(at("--datestop 1970-01-01T00:01", 60));
    assert!(!at("--datestop 1970-01-01T00:01", 61));
    // The kernel's time zone is UTC.
    assert!(at("--timestart 00:00 --timestop 00:01 --kerneltz", 30));
}

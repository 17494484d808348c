//! `-m hashlimit`: errors as iptables 1.8.9 (nf_tables) printed them in a network namespace,
//! and the buckets as `hashlimit_mt_common` keeps them. (Listings:
//! `tests/iptables_listings.rs`, `hashlimit-1.8.9.txt`.)

use super::super::testing::{argv, udp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::Instant;

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.";

const CASES: &[(&str, &str)] = &[
    (
        "--hashlimit-upto 2/sec",
        "hashlimit: option \"--hashlimit-name\" must be specified\n",
    ),
    ("--hashlimit-name x", "You have to specify --hashlimit"),
    (
        "--hashlimit-upto 0/sec --hashlimit-name k",
        "hashlimit: Bad value for \"--hashlimit-upto\" option: \"0/sec\"",
    ),
    (
        "--hashlimit-upto 5/xyz --hashlimit-name a",
        "hashlimit: Bad value for \"--hashlimit-upto\" option: \"5/xyz\"",
    ),
    (
        "--hashlimit-upto 5/ --hashlimit-name a",
        "hashlimit: Bad value for \"--hashlimit-upto\" option: \"5/\"",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name l --hashlimit-mode foo",
        "hashlimit: Bad value for \"--hashlimit-mode\" option: \"foo\"",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-above 3/sec --hashlimit-name m",
        "hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\".\n",
    ),
    (
        "--hashlimit-upto 1000001/sec --hashlimit-name o",
        "Rate too fast \"1000001/sec\"",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-burst 0",
        "bad value for option \"--hashlimit-burst\", or out of range (1-1000000).",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-burst x",
        "bad value for option \"--hashlimit-burst\", or out of range (1-1000000).",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-srcmask x",
        "hashlimit: bad value for option \"--hashlimit-srcmask\", neither a valid network mask nor valid CIDR (0-32).\n",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-htable-size x",
        "hashlimit: bad value for option \"--hashlimit-htable-size\", or out of range (0-4294967295).\n",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-htable-expire x",
        "hashlimit: bad value for option \"--hashlimit-htable-expire\", or out of range (0-4294967295).\n",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-burst 1 ! --hashlimit-name b",
        "hashlimit: option \"--hashlimit-name\" can only be used once.\n",
    ),
    (
        "--hashlimit-upto 5/sec --hashlimit-name a --hashlimit-mode srcip --hashlimit-mode dstip",
        "hashlimit: option \"--hashlimit-mode\" can only be used once.\n",
    ),
];

#[test]
fn errors_are_iptables_words() {
    for &(opts, msg) in CASES {
        let line = format!("-A FORWARD -m hashlimit {opts}");
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        let want = format!("iptables v1.8.9 (nf_tables): {msg}\n{TRY}");
        match t.apply(&argv(&line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
    let einval = "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in \
                  chain FORWARD";
    for opts in [
        "--hashlimit-srcmask 33",
        "--hashlimit-htable-gcinterval 0",
        "--hashlimit-htable-expire 0",
    ] {
        let line =
            format!("-A FORWARD -m hashlimit --hashlimit-upto 5/sec --hashlimit-name a {opts}");
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        assert_eq!(
            t.apply(&argv(&line)).unwrap_err().to_string(),
            einval,
            "{line}"
        );
    }
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let e = t
        .apply(&argv(
            "-A FORWARD -m hashlimit --hashlimit-upto 100kb/s --hashlimit-name e",
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoplab: hashlimit byte rate '100kb/s' is not modelled"
    );
}

fn accepts(t: &mut Tables, pkt: &PacketView, ms: u64) -> bool {
    let now = Instant::from_nanos(ms * 1_000_000);
    t.run(Table::Filter, Hook::Forward, pkt, now, &mut |_| {}) == Verdict::Accept
}

fn limited(rule: &str) -> Tables {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    t.apply(&argv("-P FORWARD DROP")).unwrap();
    t.apply(&argv(&format!("-A FORWARD -m hashlimit {rule} -j ACCEPT")))
        .unwrap();
    t
}

#[test]
fn one_bucket_per_source_refilled_by_time() {
    let mut t = limited(
        "--hashlimit-upto 1/sec --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name x",
    );
    let a = udp("10.0.0.1", 1000, "10.0.9.9", 53);
    let b = udp("10.0.0.2", 1000, "10.0.9.9", 53);
    // a: the burst, then one a second.
    let got: Vec<bool> = [0, 200, 400, 600, 800, 1000, 1200]
        .iter()
        .map(|&ms| accepts(&mut t, &a, ms))
        .collect();
    assert_eq!(got, [true, true, false, false, false, true, false]);
    // b has its own bucket.
    assert!(accepts(&mut t, &b, 1200));
    assert!(accepts(&mut t, &b, 1300));
    assert!(!accepts(&mut t, &b, 1400));
}

#[test]
fn above_matches_once_over_the_rate() {
    let mut t = limited("--hashlimit-above 1/sec --hashlimit-burst 1 --hashlimit-name x");
    let a = udp("10.0.0.1", 1000, "10.0.9.9", 53);
    assert!(!accepts(&mut t, &a, 0));
    assert!(accepts(&mut t, &a, 500));
    assert!(!accepts(&mut t, &a, 1500));
}

#[test]
fn ports_and_masks_make_the_key() {
    let mut t = limited(
        "--hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-mode srcip,dstport \
         --hashlimit-srcmask 24 --hashlimit-name x",
    );
    let a = udp("10.0.0.1", 1000, "10.0.9.9", 53);
    // Same /24 and destination port: the same bucket.
    let a2 = udp("10.0.0.77", 2000, "10.0.9.8", 53);
    let other_port = udp("10.0.0.1", 1000, "10.0.9.9", 54);
    assert!(accepts(&mut t, &a, 0));
    assert!(!accepts(&mut t, &a2, 1));
    assert!(accepts(&mut t, &other_port, 2));
}

#[test]
fn idle_buckets_expire_at_the_garbage_collection() {
    // 1/hour: the refill alone would take an hour; expiry after 2 s, collected every 1 s.
    let mut t = limited(
        "--hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-name x \
         --hashlimit-htable-expire 2000",
    );
    let a = udp("10.0.0.1", 1000, "10.0.9.9", 53);
    assert!(accepts(&mut t, &a, 0));
    assert!(!accepts(&mut t, &a, 1500));
    // Each packet keeps it 2 s more: the one at 3.6 s still finds it (the collection at 3 s
    // kept it, expiring at 3.5 s); it expires at 5.6 s and the collection at 6 s removes it.
    assert!(!accepts(&mut t, &a, 3600));
    assert!(accepts(&mut t, &a, 6700));
}

#[test]
fn a_full_table_matches_no_new_key() {
    let mut t = limited(
        "--hashlimit-upto 1/sec --hashlimit-mode srcip --hashlimit-name x \
         --hashlimit-htable-max 2",
    );
    let hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    let got: Vec<bool> = hosts
        .iter()
        .map(|h| accepts(&mut t, &udp(h, 1, "10.0.9.9", 53), 0))
        .collect();
    assert_eq!(got, [true, true, false]);
}

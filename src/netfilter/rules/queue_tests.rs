//! `-j NFLOG` and `-j NFQUEUE`: listings and errors as iptables 1.8.9 (nf_tables) printed
//! them in a network namespace, and what they do with no program listening.

use super::super::testing::{argv, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table, Verdict};
use crate::time::Instant;

/// The rules as typed (iptables-restore splits them as a shell would).
const RULES: &[&str] = &[
    r#"-A INPUT -j NFLOG"#,
    r#"-A INPUT -j NFLOG --nflog-group 5 --nflog-prefix hello --nflog-range 100 --nflog-threshold 3"#,
    r#"-A INPUT -j NFLOG --nflog-size 64"#,
    r#"-A INPUT -j NFLOG --nflog-prefix "a b""#,
    r#"-A INPUT -j NFLOG --nflog-group 0 --nflog-size 0"#,
    r#"-A INPUT -j NFLOG --nflog-threshold 1"#,
    r#"-A INPUT -j NFLOG --nflog-threshold 0"#,
    r#"-A INPUT -j NFQUEUE"#,
    r#"-A INPUT -j NFQUEUE --queue-num 3"#,
    r#"-A INPUT -j NFQUEUE --queue-balance 1:4"#,
    r#"-A INPUT -j NFQUEUE --queue-num 2 --queue-bypass"#,
    r#"-A INPUT -j NFQUEUE --queue-balance 0:3 --queue-cpu-fanout --queue-bypass"#,
    r#"-A INPUT -j NFQUEUE --queue-bypass"#,
    r#"-A INPUT -p tcp -j NFQUEUE --queue-num 65535"#,
];

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let mut file = String::from("*filter\n");
    for r in RULES {
        file.push_str(r);
        file.push('\n');
    }
    file.push_str("COMMIT\n");
    t.restore(&file).unwrap();
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        r#"-P INPUT ACCEPT
-A INPUT -j NFLOG
-A INPUT -j NFLOG --nflog-prefix hello --nflog-group 5 --nflog-threshold 3
-A INPUT -j NFLOG --nflog-size 64
-A INPUT -j NFLOG --nflog-prefix "a b"
-A INPUT -j NFLOG --nflog-size 0
-A INPUT -j NFLOG --nflog-threshold 1
-A INPUT -j NFLOG
-A INPUT -j NFQUEUE --queue-num 0
-A INPUT -j NFQUEUE --queue-num 3
-A INPUT -j NFQUEUE --queue-balance 1:4
-A INPUT -j NFQUEUE --queue-num 2 --queue-bypass
-A INPUT -j NFQUEUE --queue-balance 0:3 --queue-bypass --queue-cpu-fanout
-A INPUT -j NFQUEUE --queue-num 0 --queue-bypass
-A INPUT -p tcp -j NFQUEUE --queue-num 65535
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL INPUT"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0           
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-prefix hello nflog-group 5 nflog-threshold 3
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-size 64
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-prefix "a b"
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-size 0
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-threshold 1
    0     0 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0           
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE num 0
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE num 3
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE balance 1:4
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE num 2 bypass
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE balance 0:3 bypass cpu-fanout
    0     0 NFQUEUE    0    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE num 0 bypass
    0     0 NFQUEUE    6    --  *      *       0.0.0.0/0            0.0.0.0/0            NFQUEUE num 65535
"#
    );
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
NFLOG      all  --  anywhere             anywhere            
NFLOG      all  --  anywhere             anywhere             nflog-prefix hello nflog-group 5 nflog-threshold 3
NFLOG      all  --  anywhere             anywhere             nflog-size 64
NFLOG      all  --  anywhere             anywhere             nflog-prefix "a b"
NFLOG      all  --  anywhere             anywhere             nflog-size 0
NFLOG      all  --  anywhere             anywhere             nflog-threshold 1
NFLOG      all  --  anywhere             anywhere            
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE num 0
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE num 3
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE balance 1:4
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE num 2 bypass
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE balance 0:3 bypass cpu-fanout
NFQUEUE    all  --  anywhere             anywhere             NFQUEUE num 0 bypass
NFQUEUE    tcp  --  anywhere             anywhere             NFQUEUE num 65535
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -j NFLOG --nflog-group 65536",
        "iptables v1.8.9 (nf_tables): NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFLOG --nflog-group x",
        "iptables v1.8.9 (nf_tables): NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFLOG --nflog-range 5 --nflog-size 6",
        "iptables v1.8.9 (nf_tables): NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFLOG --nflog-threshold x",
        "iptables v1.8.9 (nf_tables): NFLOG: bad value for option \"--nflog-threshold\", or out of range (0-65535).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFLOG --nflog-size -1",
        "iptables v1.8.9 (nf_tables): NFLOG: bad value for option \"--nflog-size\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFLOG ! --nflog-group 1",
        "iptables v1.8.9 (nf_tables): NFLOG: option \"--nflog-group\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-num 65536",
        "iptables v1.8.9 (nf_tables): NFQUEUE: bad value for option \"--queue-num\", or out of range (0-65535).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-num 1 --queue-balance 2:3",
        "iptables v1.8.9 (nf_tables): NFQUEUE: option \"--queue-num\" cannot be used together with \"--queue-balance\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-balance 3:2",
        "iptables v1.8.9 (nf_tables): 3 should be less than 2\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-balance 2:2",
        "iptables v1.8.9 (nf_tables): 2 should be less than 2\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-balance 3",
        "iptables v1.8.9 (nf_tables): Bad range \"3\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-balance 1:65536",
        "iptables v1.8.9 (nf_tables): NFQUEUE: bad value for option \"--queue-balance\" near \"65536\", or out of range (0-65535).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --queue-cpu-fanout",
        "iptables v1.8.9 (nf_tables): NFQUEUE: option \"--queue-cpu-fanout\" also requires \"--queue-balance\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j NFQUEUE --fail-open",
        "iptables v1.8.9 (nf_tables): unknown option \"--fail-open\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
];

#[test]
fn errors_are_iptables_words() {
    for &(line, want) in ERRORS {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        match t.apply(&argv(line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
    // A prefix keeps 127 bytes, as nftables' log statement does.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        &format!("-A INPUT -j NFLOG --nflog-prefix {}", "c".repeat(128)),
    );
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        format!(
            "-P INPUT ACCEPT\n-A INPUT -j NFLOG --nflog-prefix {}\n",
            "c".repeat(127)
        )
    );
}

#[test]
fn with_no_program_nflog_goes_on_and_nfqueue_drops_unless_bypassed() {
    let pkt = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-A INPUT -j NFLOG --nflog-group 5 --nflog-prefix web",
    );
    ok(
        &mut t,
        "-A INPUT -p tcp --dport 80 -j NFQUEUE --queue-num 3",
    );
    let v = t.run(Table::Filter, Hook::Input, &pkt, Instant::ZERO, &mut |_| {});
    assert_eq!(v, Verdict::Drop);
    assert_eq!(
        t.take_notes(),
        [
            "NFLOG group 5 prefix \"web\": no program listens, nothing logged",
            "NFQUEUE: no program listens on queue 3: dropped",
        ]
    );
    ok(
        &mut t,
        "-R INPUT 2 -p tcp --dport 80 -j NFQUEUE --queue-balance 2:5 --queue-bypass",
    );
    ok(&mut t, "-A INPUT -j DROP");
    let v = t.run(Table::Filter, Hook::Input, &pkt, Instant::ZERO, &mut |_| {});
    assert_eq!(v, Verdict::Accept);
    assert_eq!(
        t.take_notes()[1],
        "NFQUEUE: no program listens on queues 2:5: accepted (--queue-bypass)"
    );
}

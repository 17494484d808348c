//! `-j TPROXY`: listings and errors as iptables 1.8.9 (nf_tables) printed them in a network
//! namespace, and the drop `tproxy_tg4` makes without a transparent socket.

use super::super::testing::{argv, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table, Verdict};
use crate::time::Instant;

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        r#"-t mangle -A PREROUTING -p tcp --dport 80 -j TPROXY --on-port 3128"#,
        r#"-t mangle -A PREROUTING -p udp -j TPROXY --on-port 53 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1"#,
        r#"-t mangle -A PREROUTING -p tcp -j TPROXY --on-port 1 --tproxy-mark 5"#,
        r#"-t mangle -A PREROUTING -p tcp -j TPROXY --on-ip 10.0.0.1 --on-port 0"#,
    ] {
        ok(&mut t, r);
    }
    assert_eq!(
        ok(&mut t, "-t mangle -S PREROUTING"),
        r#"-P PREROUTING ACCEPT
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 3128 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0
-A PREROUTING -p udp -j TPROXY --on-port 53 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1
-A PREROUTING -p tcp -j TPROXY --on-port 1 --on-ip 0.0.0.0 --tproxy-mark 0x5/0xffffffff
-A PREROUTING -p tcp -j TPROXY --on-port 0 --on-ip 10.0.0.1 --tproxy-mark 0x0/0x0
"#
    );
    assert_eq!(
        ok(&mut t, "-t mangle -nvL PREROUTING"),
        r#"Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 TPROXY     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:80 TPROXY redirect 0.0.0.0:3128 mark 0x0/0x0
    0     0 TPROXY     17   --  *      *       0.0.0.0/0            0.0.0.0/0            TPROXY redirect 127.0.0.1:53 mark 0x1/0x1
    0     0 TPROXY     6    --  *      *       0.0.0.0/0            0.0.0.0/0            TPROXY redirect 0.0.0.0:1 mark 0x5/0xffffffff
    0     0 TPROXY     6    --  *      *       0.0.0.0/0            0.0.0.0/0            TPROXY redirect 10.0.0.1:0 mark 0x0/0x0
"#
    );
    assert_eq!(
        ok(&mut t, "-t mangle -L PREROUTING"),
        r#"Chain PREROUTING (policy ACCEPT)
target     prot opt source               destination         
TPROXY     tcp  --  anywhere             anywhere             tcp dpt:http TPROXY redirect 0.0.0.0:3128 mark 0x0/0x0
TPROXY     udp  --  anywhere             anywhere             TPROXY redirect 127.0.0.1:53 mark 0x1/0x1
TPROXY     tcp  --  anywhere             anywhere             TPROXY redirect 0.0.0.0:1 mark 0x5/0xffffffff
TPROXY     tcp  --  anywhere             anywhere             TPROXY redirect 10.0.0.1:0 mark 0x0/0x0
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-t mangle -A PREROUTING -j TPROXY --on-port 1",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain PREROUTING",
    ),
    (
        "-t mangle -A PREROUTING -p tcp -j TPROXY",
        "iptables v1.8.9 (nf_tables): TPROXY: option \"--on-port\" must be specified\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -p tcp -j TPROXY --on-port 1",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-A INPUT -p tcp -j TPROXY --on-port 1",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-t mangle -A PREROUTING -p tcp -j TPROXY --on-port x",
        "iptables v1.8.9 (nf_tables): Port \"x\" does not resolve to anything.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -p tcp -j TPROXY --on-port 1 --tproxy-mark x",
        "iptables v1.8.9 (nf_tables): TPROXY: bad integer value for option \"--tproxy-mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -p icmp -j TPROXY --on-port 1",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain PREROUTING",
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
}

#[test]
fn without_a_transparent_socket_the_packet_is_dropped() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-t mangle -A PREROUTING -p tcp --dport 80 -j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1",
    );
    let pkt = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    let v = t.run(
        Table::Mangle,
        Hook::Prerouting,
        &pkt,
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(v, Verdict::Drop);
    assert_eq!(
        t.take_notes(),
        ["TPROXY: no transparent socket on 10.0.0.2:3128: dropped"]
    );
}

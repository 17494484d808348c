//! `ipset` and `-m set`: listings and messages as ipset 7.17 and iptables 1.8.9 (nf_tables)
//! printed them in a network namespace (the kernel's random `initval` replaced by
//! hoplab's), and `ip_set_test` / `set_match_v4` on packets.

use super::super::testing::{argv, icmp, ok, tcp, udp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::{Duration, Instant};

fn ipset(t: &mut Tables, line: &str) -> Result<String, (i32, String)> {
    t.ipset(&argv(line), Instant::ZERO)
}

fn ipset_ok(t: &mut Tables, line: &str) -> String {
    ipset(t, line).unwrap_or_else(|e| panic!("ipset {line}: {e:?}"))
}

/// The real listing with each `initval 0x...` replaced by the one hoplab derives.
fn with_initvals(real: &str, ours: &str) -> String {
    let pick = |s: &str| -> Vec<String> {
        s.split("initval ")
            .skip(1)
            .map(|r| r[..10].to_string())
            .collect()
    };
    let mut out = real.to_string();
    for (r, o) in pick(real).iter().zip(pick(ours)) {
        out = out.replacen(r.as_str(), &o, 1);
    }
    out
}

fn lab() -> Tables {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for line in [
        "create web hash:ip,port",
        "add web 10.0.2.10,tcp:80",
        "create bad hash:net timeout 600 maxelem 1000",
        "add bad 192.0.2.0/24 timeout 0",
        "create hosts hash:ip hashsize 2048",
        "add hosts 10.0.1.10",
    ] {
        ipset_ok(&mut t, line);
    }
    ok(&mut t, "-A FORWARD -m set --match-set hosts src -j ACCEPT");
    ok(
        &mut t,
        "-A FORWARD -m set --match-set web dst,dst -j ACCEPT",
    );
    t
}

#[test]
fn ipset_listings_are_ipset_7_17() {
    let mut t = lab();
    let list = ipset_ok(&mut t, "list");
    assert_eq!(
        list,
        with_initvals(
            r#"Name: web
Type: hash:ip,port
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x479ba052
Size in memory: 264
References: 1
Number of entries: 1
Members:
10.0.2.10,tcp:80

Name: bad
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 1000 timeout 600 bucketsize 12 initval 0x4e48cef8
Size in memory: 520
References: 0
Number of entries: 1
Members:
192.0.2.0/24 timeout 0

Name: hosts
Type: hash:ip
Revision: 6
Header: family inet hashsize 2048 maxelem 65536 bucketsize 12 initval 0x03463ce3
Size in memory: 280
References: 1
Number of entries: 1
Members:
10.0.1.10
"#,
            &list
        )
    );
    let save = ipset_ok(&mut t, "save");
    assert_eq!(
        save,
        with_initvals(
            r#"create web hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x479ba052
add web 10.0.2.10,tcp:80
create bad hash:net family inet hashsize 1024 maxelem 1000 timeout 600 bucketsize 12 initval 0x4e48cef8
add bad 192.0.2.0/24 timeout 0
create hosts hash:ip family inet hashsize 2048 maxelem 65536 bucketsize 12 initval 0x03463ce3
add hosts 10.0.1.10
"#,
            &save
        )
    );
    let terse = ipset_ok(&mut t, "list -t");
    assert_eq!(
        terse,
        with_initvals(
            r#"Name: web
Type: hash:ip,port
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x479ba052
Size in memory: 264
References: 1
Number of entries: 1

Name: bad
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 1000 timeout 600 bucketsize 12 initval 0x4e48cef8
Size in memory: 520
References: 0
Number of entries: 1

Name: hosts
Type: hash:ip
Revision: 6
Header: family inet hashsize 2048 maxelem 65536 bucketsize 12 initval 0x03463ce3
Size in memory: 280
References: 1
Number of entries: 1
"#,
            &terse
        )
    );
    assert_eq!(
        ipset_ok(&mut t, "list -n"),
        r#"web
bad
hosts
"#
    );
    let hosts = ipset_ok(&mut t, "list hosts");
    assert_eq!(
        hosts,
        with_initvals(
            r#"Name: hosts
Type: hash:ip
Revision: 6
Header: family inet hashsize 2048 maxelem 65536 bucketsize 12 initval 0x03463ce3
Size in memory: 280
References: 1
Number of entries: 1
Members:
10.0.1.10
"#,
            &hosts
        )
    );
}

#[test]
fn set_match_listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for line in [
        "create A hash:ip",
        "create P hash:ip,port",
        "create N hash:net",
    ] {
        ipset_ok(&mut t, line);
    }
    for r in [
        "INPUT -m set --match-set A src",
        "INPUT -m set ! --match-set A dst -j DROP",
        "INPUT -m set --match-set P src,dst",
        "INPUT -m set --match-set P dst,dst --return-nomatch",
        "INPUT -m set --match-set A src ! --update-counters ! --update-subcounters",
        "INPUT -m set --match-set A src ! --packets-eq 3 ! --bytes-eq 4",
        "INPUT -m set --match-set A src --packets-gt 5 --bytes-lt 100",
        "INPUT -m set --match-set N src --return-nomatch",
        "INPUT -p tcp -m set --match-set A srcx,dstfoo -m tcp --dport 22",
    ] {
        ok(&mut t, &format!("-A {r}"));
    }
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        r#"-P INPUT ACCEPT
-A INPUT -m set --match-set A src
-A INPUT -m set ! --match-set A dst -j DROP
-A INPUT -m set --match-set P src,dst
-A INPUT -m set --match-set P dst,dst --return-nomatch
-A INPUT -m set --match-set A src ! --update-counters ! --update-subcounters
-A INPUT -m set --match-set A src ! --packets-eq 3 ! --bytes-eq 4
-A INPUT -m set --match-set A src --packets-gt 5 --bytes-lt 100
-A INPUT -m set --match-set N src --return-nomatch
-A INPUT -p tcp -m set --match-set A src,dst -m tcp --dport 22
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL INPUT"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set A src
    0     0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! match-set A dst
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set P src,dst
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set P dst,dst return-nomatch
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set A src ! update-counters ! update-subcounters
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set A src ! packets-eq 3 ! bytes-eq 4
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set A src packets-gt 5 bytes-lt 100
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set N src return-nomatch
    0     0            6    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set A src,dst tcp dpt:22
"#
    );
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             match-set A src
DROP       all  --  anywhere             anywhere             ! match-set A dst
           all  --  anywhere             anywhere             match-set P src,dst
           all  --  anywhere             anywhere             match-set P dst,dst return-nomatch
           all  --  anywhere             anywhere             match-set A src ! update-counters ! update-subcounters
           all  --  anywhere             anywhere             match-set A src ! packets-eq 3 ! bytes-eq 4
           all  --  anywhere             anywhere             match-set A src packets-gt 5 bytes-lt 100
           all  --  anywhere             anywhere             match-set N src return-nomatch
           tcp  --  anywhere             anywhere             match-set A src,dst tcp dpt:ssh
"#
    );
    let save = t.save_with(false, None);
    let body: String = save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        body,
        r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m set --match-set A src
-A INPUT -m set ! --match-set A dst -j DROP
-A INPUT -m set --match-set P src,dst
-A INPUT -m set --match-set P dst,dst --return-nomatch
-A INPUT -m set --match-set A src ! --update-counters ! --update-subcounters
-A INPUT -m set --match-set A src ! --packets-eq 3 ! --bytes-eq 4
-A INPUT -m set --match-set A src --packets-gt 5 --bytes-lt 100
-A INPUT -m set --match-set N src --return-nomatch
-A INPUT -p tcp -m set --match-set A src,dst -m tcp --dport 22
COMMIT
"#
    );
}

const IPSET_ERRORS: &[(&str, i32, &str)] = &[
    (
        "create A hash:ip",
        1,
        "ipset v7.17: Set cannot be created: set with the same name already exists",
    ),
    (
        "add Z 1.2.3.4",
        1,
        "ipset v7.17: The set with the given name does not exist",
    ),
    (
        "add A 10.0.0.1",
        1,
        "ipset v7.17: Element cannot be added to the set: it's already added",
    ),
    (
        "del A 10.9.9.9",
        1,
        "ipset v7.17: Element cannot be deleted from the set: it's not added",
    ),
    ("test A 10.9.9.9", 1, "10.9.9.9 is NOT in set A."),
    (
        "create B hash:foo",
        1,
        "ipset v7.17: Syntax error: typename 'hash:foo' is unknown",
    ),
    (
        "add E 1.1.1.1",
        1,
        "ipset v7.17: Hash is full, cannot add more elements",
    ),
    (
        "add N 10.0.0.0/33",
        1,
        "ipset v7.17: Syntax error: '33' is out of range 0-32",
    ),
    (
        "add A foo",
        1,
        "ipset v7.17: Syntax error: cannot parse foo: resolving to IPv4 address failed",
    ),
    (
        "add A 10.0.0.300",
        1,
        "ipset v7.17: Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed",
    ),
    (
        "add P 10.0.0.9",
        1,
        "ipset v7.17: Syntax error: Second element is missing from 10.0.0.9.",
    ),
    (
        "add P 10.0.0.9,tcp:99999",
        1,
        "ipset v7.17: Syntax error: '99999' is out of range 0-65535\nSyntax error: 'tcp' is invalid as number\ncannot parse '99999' as a tcp port",
    ),
    (
        "add P 10.0.0.1,tcp:abc",
        1,
        "ipset v7.17: Syntax error: 'abc' is invalid as number\nSyntax error: 'tcp' is invalid as number\ncannot parse 'abc' as a tcp port",
    ),
    (
        "add P 10.0.0.1,udp",
        1,
        "ipset v7.17: Syntax error: 'udp' is invalid as number\nSyntax error: 'tcp' is invalid as number\ncannot parse 'udp' as a tcp port",
    ),
    (
        "add P 10.0.0.1,foo:1",
        1,
        "ipset v7.17: Syntax error: cannot parse 'foo' as a protocol",
    ),
    (
        "add P 10.0.0.1,icmp:foo",
        1,
        "ipset v7.17: Cannot parse foo as an ICMP type/code.",
    ),
    (
        "add A 1.2.3.4 timeout 5",
        1,
        "ipset v7.17: Timeout cannot be used: set was created without timeout support",
    ),
    (
        "create C hash:ip timeout x",
        1,
        "ipset v7.17: Syntax error: 'x' is invalid as number",
    ),
    (
        "create C hash:ip timeout 2147484",
        1,
        "ipset v7.17: Syntax error: '2147484' is out of range 0-2147483",
    ),
    (
        "create C hash:ip maxelem 4294967296",
        1,
        "ipset v7.17: Syntax error: '4294967296' is out of range 0-4294967295",
    ),
    (
        "create C hash:ip foo 1",
        2,
        "ipset v7.17: Unknown argument: `foo'\nTry `ipset help' for more information.",
    ),
    (
        "create C",
        2,
        "ipset v7.17: Missing second mandatory argument to command create\nTry `ipset help' for more information.",
    ),
    (
        "add",
        2,
        "ipset v7.17: Missing mandatory argument to command add\nTry `ipset help' for more information.",
    ),
    (
        "add A 10.0.0.5 timeout",
        2,
        "ipset v7.17: Missing mandatory argument of option `timeout'\nTry `ipset help' for more information.",
    ),
    (
        "add A 10.0.0.1 nomatch",
        2,
        "ipset v7.17: Unknown argument: `nomatch'\nTry `ipset help' for more information.",
    ),
    (
        "list Z",
        1,
        "ipset v7.17: The set with the given name does not exist",
    ),
    (
        "destroy Z",
        1,
        "ipset v7.17: The set with the given name does not exist",
    ),
    (
        "flush Z",
        1,
        "ipset v7.17: The set with the given name does not exist",
    ),
    (
        "add N 10.5.0.0/0",
        1,
        "ipset v7.17: The value of the CIDR parameter of the IP address is invalid",
    ),
    (
        "foo",
        2,
        "ipset v7.17: No command specified: unknown argument foo\nTry `ipset help' for more information.",
    ),
    (
        "-exist create A hash:net",
        1,
        "ipset v7.17: Set cannot be created: set with the same name already exists",
    ),
    (
        "create AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA hash:ip",
        1,
        "ipset v7.17: Syntax error: setname 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' is longer than 31 characters",
    ),
    (
        "destroy A",
        1,
        "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component",
    ),
    (
        "destroy",
        1,
        "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component",
    ),
];

#[test]
fn ipset_errors_are_ipset_words() {
    for &(line, code, want) in IPSET_ERRORS {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        for l in [
            "create A hash:ip",
            "add A 10.0.0.1",
            "create N hash:net",
            "create P hash:ip,port",
            "create E hash:ip maxelem 0",
        ] {
            ipset_ok(&mut t, l);
        }
        ok(&mut t, "-A INPUT -m set --match-set A src");
        assert_eq!(
            ipset(&mut t, line),
            Err((code, want.to_string())),
            "ipset {line}"
        );
    }
}

#[test]
fn ipset_elements_and_tests() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ipset_ok(&mut t, "create A hash:ip");
    ipset_ok(&mut t, "add A 10.0.0.1-10.0.0.3");
    ipset_ok(&mut t, "add A 10.0.0.7 -exist");
    ipset_ok(&mut t, "add A 10.0.0.7 -exist");
    ipset_ok(&mut t, "del A 10.0.0.99 -exist");
    assert_eq!(
        ipset(&mut t, "test A 10.0.0.2"),
        Ok("Warning: 10.0.0.2 is in set A.\n".into())
    );
    assert!(ipset(&mut t, "test A 10.0.0.0/30").is_err());
    ipset_ok(&mut t, "create N hash:net");
    ipset_ok(&mut t, "add N 10.0.0.0-10.0.0.5");
    ipset_ok(&mut t, "add N 10.0.0.0/8 nomatch");
    ipset_ok(&mut t, "add N 10.0.0.0/32");
    ipset_ok(&mut t, "add N 0.0.0.0/1");
    ipset_ok(&mut t, "del N 10.0.0.0/30");
    // As ipset listed them (in the kernel's hash order there).
    let members = ipset_ok(&mut t, "list N");
    let mut got: Vec<&str> = members.lines().skip(8).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["0.0.0.0/1", "10.0.0.0", "10.0.0.0/8 nomatch", "10.0.0.4/31"]
    );
    assert!(members.contains("Size in memory: 648\n"), "{members}");
    assert_eq!(
        ipset(&mut t, "test N 10.1.1.1"),
        Err((1, "10.1.1.1 is NOT in set N.".into()))
    );
    ipset_ok(&mut t, "test N 10.0.0.5");
    ipset_ok(&mut t, "create P hash:ip,port timeout 5");
    ipset_ok(&mut t, "add P 1.2.3.4,udp:5 timeout 7");
    ipset_ok(&mut t, "add P 1.2.3.5,icmp:3/1");
    ipset_ok(&mut t, "add P 1.2.3.6,icmp:77/1");
    ipset_ok(&mut t, "add P 1.2.3.7,icmp:ec");
    ipset_ok(&mut t, "add P 1.2.3.8,gre:0");
    ipset_ok(&mut t, "add P 1.2.3.9,tcp:http");
    let later = Instant::ZERO + Duration::from_millis(1500);
    let list = t.ipset(&argv("list P"), later).unwrap();
    let mut got: Vec<&str> = list.lines().skip(8).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "1.2.3.4,udp:5 timeout 5",
            "1.2.3.5,icmp:host-unreachable timeout 3",
            "1.2.3.6,icmp:77/1 timeout 3",
            "1.2.3.7,icmp:echo-reply timeout 3",
            "1.2.3.8,gre:0 timeout 3",
            "1.2.3.9,tcp:80 timeout 3",
        ]
    );
    assert!(list.contains("Size in memory: 600\n"), "{list}");
    // Gone once their time is up.
    let list = t
        .ipset(&argv("list P"), Instant::ZERO + Duration::from_secs(6))
        .unwrap();
    assert!(
        list.ends_with("Number of entries: 1\nMembers:\n1.2.3.4,udp:5 timeout 1\n"),
        "{list}"
    );
    ipset_ok(&mut t, "flush");
    ipset_ok(&mut t, "destroy");
    assert_eq!(ipset_ok(&mut t, "list"), "");
}

#[test]
fn set_match_errors_are_iptables_words() {
    let cases: &[(&str, &str)] = &[
        (
            "-A INPUT -m set --match-set Z src",
            "iptables v1.8.9 (nf_tables): Set Z doesn't exist.\n\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A",
            "iptables v1.8.9 (nf_tables): --match-set requires two args.\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A foo",
            "iptables v1.8.9 (nf_tables): You must spefify (the comma separated list of) 'src' or 'dst'.\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src,dst,src,dst,src,dst,src",
            "iptables v1.8.9 (nf_tables): Can't be more src/dst options than 6.\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set",
            "iptables v1.8.9 (nf_tables): You must specify `--match-set' with proper arguments\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src --match-set A dst",
            "iptables v1.8.9 (nf_tables): --match-set can be specified only once\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src --packets-eq x",
            "iptables v1.8.9 (nf_tables): Cannot parse x as a counter value\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src --packets-gt -1",
            "iptables v1.8.9 (nf_tables): Cannot parse -1 as a counter value\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src --packets-eq 1 --packets-lt 2",
            "iptables v1.8.9 (nf_tables): only one of the --packets-[eq|lt|gt] is allowed\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src ! --packets-lt 3",
            "iptables v1.8.9 (nf_tables): --packets-lt option cannot be inverted\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --ma A src",
            "iptables v1.8.9 (nf_tables): unknown option \"--ma\"\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set A src --up",
            "iptables v1.8.9 (nf_tables): unknown option \"--up\"\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
        (
            "-A INPUT -m set --match-set AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA src",
            "iptables v1.8.9 (nf_tables): setname `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' too long, max 31 characters.\nTry `iptables -h' or 'iptables --help' for more information.",
        ),
    ];
    for &(line, want) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ipset_ok(&mut t, "create A hash:ip");
        match t.apply(&argv(line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
    // iptables-restore checks the set as it reads the line.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let e = t
        .restore("*filter\n-A INPUT -m set --match-set Z src\nCOMMIT\n")
        .unwrap_err();
    assert!(e.to_string().contains("Set Z doesn't exist."), "{e}");
}

#[test]
fn set_match_evaluates_as_xt_set() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ipset_ok(&mut t, "create A hash:ip");
    ipset_ok(&mut t, "add A 10.0.0.1");
    ipset_ok(&mut t, "create W hash:ip,port");
    ipset_ok(&mut t, "add W 10.0.0.2,tcp:80");
    ipset_ok(&mut t, "add W 10.0.0.2,icmp:echo-request");
    ipset_ok(&mut t, "create N hash:net");
    ipset_ok(&mut t, "add N 10.9.0.0/16");
    ipset_ok(&mut t, "add N 10.9.9.0/24 nomatch");
    let run = |t: &mut Tables, rule: &str, pkt: &PacketView| {
        ok(t, "-F INPUT");
        ok(t, &format!("-A INPUT {rule} -j DROP"));
        t.run(Table::Filter, Hook::Input, pkt, Instant::ZERO, &mut |_| {}) == Verdict::Drop
    };
    let from1 = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    let from3 = tcp("10.0.0.3", 1000, "10.0.0.2", 80);
    assert!(run(&mut t, "-m set --match-set A src", &from1));
    assert!(!run(&mut t, "-m set --match-set A src", &from3));
    assert!(run(&mut t, "-m set ! --match-set A src", &from3));
    assert!(!run(&mut t, "-m set --match-set A dst", &from1));
    assert!(run(&mut t, "-m set --match-set W dst,dst", &from1));
    assert!(!run(&mut t, "-m set --match-set W dst,src", &from1));
    // Fewer dimensions than the set has: never an element.
    assert!(!run(&mut t, "-m set --match-set W dst", &from1));
    assert!(run(&mut t, "-m set ! --match-set W dst", &from1));
    assert!(!run(
        &mut t,
        "-m set --match-set W dst,dst",
        &udp("10.0.0.1", 1000, "10.0.0.2", 80)
    ));
    assert!(run(
        &mut t,
        "-m set --match-set W dst,dst",
        &icmp("10.0.0.1", "10.0.0.2", 8, 0)
    ));
    // The most specific block decides; a nomatch block does not match, unless
    // --return-nomatch turns it around (and a match into none).
    let a = tcp("10.9.1.1", 1, "10.0.0.2", 80);
    let b = tcp("10.9.9.9", 1, "10.0.0.2", 80);
    assert!(run(&mut t, "-m set --match-set N src", &a));
    assert!(!run(&mut t, "-m set --match-set N src", &b));
    assert!(!run(
        &mut t,
        "-m set --match-set N src --return-nomatch",
        &a
    ));
    assert!(run(&mut t, "-m set --match-set N src --return-nomatch", &b));
    // hash:ip has no nomatch: --return-nomatch changes nothing.
    assert!(run(
        &mut t,
        "-m set --match-set A src --return-nomatch",
        &from1
    ));
}

#[test]
fn timeouts_run_in_virtual_time() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ipset_ok(&mut t, "create T hash:ip timeout 10");
    ipset_ok(&mut t, "add T 10.0.0.1");
    ok(&mut t, "-A INPUT -m set --match-set T src -j DROP");
    let pkt = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    let at = |s| Instant::ZERO + Duration::from_secs(s);
    assert_eq!(
        t.run(Table::Filter, Hook::Input, &pkt, at(9), &mut |_| {}),
        Verdict::Drop
    );
    assert_eq!(
        t.run(Table::Filter, Hook::Input, &pkt, at(11), &mut |_| {}),
        Verdict::Accept
    );
}

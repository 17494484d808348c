//! Command-line errors, worded as iptables words them, with their kind, exit code and token.

use super::super::testing::{err, err1, tables};
use super::super::{ErrorKind, IptablesVersion, Tables};

#[test]
fn errors_read_like_iptables() {
    let n = "iptables v1.8.10 (nf_tables): ";
    let cases: &[(&[&str], &str, String)] = &[
        (
            &[],
            "-A INPUT --foo",
            format!("{n}unknown option \"--foo\""),
        ),
        (
            &[],
            "-A INPUT --dport 80",
            format!("{n}unknown option \"--dport\""),
        ),
        (
            &[],
            "-A INPUT --dport 80 -p tcp",
            format!("{n}unknown option \"--dport\""),
        ),
        (&[], "-A INPUT foo", "Bad argument `foo'".into()),
        (
            &[],
            "-A INPUT -j FOO",
            format!("{n}Chain 'FOO' does not exist"),
        ),
        (
            &[],
            "-A INPUT -m foo",
            format!("{n}Couldn't load match `foo':No such file or directory"),
        ),
        (
            &[],
            "-A FOO -j ACCEPT",
            "iptables: No chain/target/match by that name.".into(),
        ),
        (
            &[],
            "-A INPUT -s 1.2.3.4 -s 5.6.7.8",
            format!("{n}multiple -s flags not allowed"),
        ),
        (
            &[],
            "-A INPUT -s 300.1.1.1",
            format!("{n}host/network `300.1.1.1' not found"),
        ),
        (
            &[],
            "-A INPUT -s 1.2.3.4/33",
            format!("{n}invalid mask `33' specified"),
        ),
        (
            &[],
            "-A INPUT -p foo",
            format!("{n}unknown protocol \"foo\" specified"),
        ),
        (
            &[],
            "-A INPUT ! -p all",
            format!("{n}rule would never match protocol"),
        ),
        (
            &[],
            "-A INPUT -p tcp --dport 70000",
            format!("{n}invalid port/service `70000' specified"),
        ),
        (
            &[],
            "-A INPUT -p tcp --dport 90:80",
            format!("{n}invalid portrange (min > max)"),
        ),
        (
            &[],
            "-A INPUT -p tcp --dport 80 --dport 81",
            format!("{n}Only one `--destination-port' allowed"),
        ),
        (
            &[],
            "-A INPUT -p tcp --sport 80 --source-port 81",
            format!("{n}Only one `--source-port' allowed"),
        ),
        (
            &[],
            "-A INPUT -p tcp --syn --tcp-flags SYN SYN",
            format!("{n}Only one of `--syn' or `--tcp-flags'  allowed"),
        ),
        (
            &[],
            "-A INPUT -p udp --dport 80 --dport 81",
            format!("{n}udp: option \"--destination-port\" can only be used once."),
        ),
        (
            &[],
            "-A INPUT -s ! 10.0.0.0/8",
            "Bad argument `10.0.0.0/8'".into(),
        ),
        (&[], "-A INPUT -i ! eth0", "Bad argument `eth0'".into()),
        (
            &[],
            "-t nat -A POSTROUTING -j MASQUERADE --to-ports 100",
            format!("{n}Need TCP, UDP, SCTP or DCCP with port specification"),
        ),
        (
            &[],
            "-t nat -A PREROUTING -j REDIRECT --to-ports 80 -p tcp",
            format!("{n}Need TCP, UDP, SCTP or DCCP with port specification"),
        ),
        (
            &[],
            "-t nat -A PREROUTING -p udplite -j DNAT --to-destination 1.2.3.4:80",
            format!("{n}Need TCP, UDP, SCTP or DCCP with port specification"),
        ),
        (
            &[],
            "-A INPUT -m ipvs --ipvs",
            "hoplab: match 'ipvs' is not modelled".into(),
        ),
        (
            &[],
            "-A INPUT -p dccp --dport 80",
            "hoplab: match 'dccp' is not modelled".into(),
        ),
        (
            &[],
            "-A INPUT -p esp --espspi 5",
            "hoplab: match 'esp' is not modelled".into(),
        ),
        (
            &[],
            "-A INPUT -p sctp --foo 80",
            format!("{n}unknown option \"--foo\""),
        ),
        (
            &[],
            "-A INPUT -j SYNPROXY",
            "hoplab: target 'SYNPROXY' is not modelled".into(),
        ),
        (
            &[],
            "-A INPUT -j nfqueue",
            format!("{n}Chain 'nfqueue' does not exist"),
        ),
        (
            &[],
            "-t nat -A INPUT -j NETMAP",
            format!("{n}NETMAP: option \"--to\" must be specified"),
        ),
        (
            &[],
            "-t nat -A INPUT -j NETMAP --to 10.0.0.1/8 --to 10.0.0.1/8",
            format!("{n}NETMAP: option \"--to\" can only be used once."),
        ),
        (
            &[],
            "-t nat -A INPUT -j NETMAP ! --to 10.0.0.1/8",
            format!("{n}NETMAP: option \"--to\" cannot be inverted."),
        ),
        (
            &[],
            "-t nat -A INPUT -j NETMAP --to 10.0.0.1/08",
            format!(
                "{n}NETMAP: bad value for option \"--to\", neither a valid network mask nor \
                 valid CIDR (0-32)."
            ),
        ),
        (
            &[],
            "-t nat -A INPUT -j NETMAP --to 10.0.0.256/8",
            format!("{n}getaddrinfo: Name or service not known"),
        ),
        (
            &[],
            "-A INPUT -j NETMAP --to 10.0.0.1/8",
            format!("{n} RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        ),
        (
            &[],
            "-t nat -A FORWARD -j NETMAP --to 10.0.0.1/8",
            "iptables: No chain/target/match by that name.".into(),
        ),
        (
            &[],
            "-A NOPE -j NOPE2",
            format!("{n}Chain 'NOPE2' does not exist"),
        ),
        (
            &[],
            "-A INPUT -p icmp --icmp-type bogus",
            format!("{n}Invalid ICMP type `bogus'"),
        ),
        (
            &[],
            "-A INPUT -p icmp --icmp-type echo",
            format!("{n}Ambiguous ICMP type `echo': `echo-reply' or `echo-request'?"),
        ),
        (
            &[],
            "-A INPUT -o eth0",
            format!("{n}Can't use -o with INPUT"),
        ),
        (&[], "-t nat -A POSTROUTING -j DROP", n.into()),
        (
            &[],
            "-L -s 1.2.3.4",
            format!("{n}Illegal option `-s' with this command"),
        ),
        (
            &[],
            "-A INPUT -n",
            format!("{n}Illegal option `-n' with this command"),
        ),
        (
            &[],
            "-A INPUT -D INPUT",
            format!("{n}Cannot use -D with -A"),
        ),
        (&[], "", format!("{n}no command specified")),
        (
            &[],
            "-A INPUT !",
            format!("{n}nothing appropriate following !"),
        ),
        (
            &[],
            "-A INPUT ! ! -s 1.2.3.4",
            format!("{n}multiple consecutive ! not allowed"),
        ),
        (
            &[],
            "-A INPUT ! -j DROP",
            format!("{n}cannot have ! before -j"),
        ),
        (&[], "-A", format!("{n}option \"-A\" requires an argument")),
        (
            &[],
            "-A INPUT -p tcp --dport",
            format!("{n}option \"--dport\" requires an argument"),
        ),
        (
            &[],
            "-t foo -L",
            format!(
                "{n}can't initialize iptables table `foo': Table does not exist (do you need to insmod?)"
            ),
        ),
        (
            &[],
            "-N -foo",
            format!("{n}chain name not allowed to start with `-'"),
        ),
        (
            &[],
            "-N ACCEPT",
            format!("{n}chain name may not clash with target name"),
        ),
        (
            &[],
            "-N ABCDEFGHIJKLMNOPQRSTUVWXYZabc",
            format!(
                "{n}chain name `ABCDEFGHIJKLMNOPQRSTUVWXYZabc' too long (must be under 29 chars)"
            ),
        ),
        (
            &[],
            "-A INPUT -i abcdefghijklmnop",
            format!("{n}interface name `abcdefghijklmnop' must be shorter than IFNAMSIZ (15)"),
        ),
        (
            &[],
            "-A INPUT -m conntrack",
            format!("{n}conntrack: At least one option is required"),
        ),
        (
            &[],
            "-A INPUT -m comment",
            format!("{n}comment: option \"--comment\" must be specified"),
        ),
        (
            &[],
            "-A INPUT -m conntrack --ctstate FOO",
            format!("{n}Bad ctstate \"FOO\""),
        ),
        (
            &[],
            "-A INPUT -m state --state SNAT",
            format!("{n}Bad state \"SNAT\""),
        ),
        (
            &[],
            "-A INPUT -m limit --limit 5/fortnight",
            format!("{n}bad rate \"5/fortnight\"'"),
        ),
        (
            &[],
            "-A INPUT -m statistic --mode nth",
            format!("{n}--every must be specified in nth mode"),
        ),
        (
            &[],
            "-t nat -A PREROUTING -j DNAT",
            format!("{n}You must specify --to-destination"),
        ),
        (
            &[],
            "-A INPUT -j REJECT --reject-with foo",
            format!("{n}unknown reject type \"foo\""),
        ),
        (
            &[],
            "-A INPUT -j LOG --log-prefix 123456789012345678901234567890",
            format!("{n}Maximum prefix length 29 for --log-prefix"),
        ),
        (
            &[],
            "-A INPUT -p udp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
            format!("{n}too many ports specified"),
        ),
        (
            &[],
            "-A INPUT -m multiport --dports 80",
            format!("{n}multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"),
        ),
        (&[], "-R INPUT", format!("{n}-R requires a rule number")),
        (&[], "-D INPUT 0", format!("{n}Invalid rule number `0'")),
        (
            &[],
            "-m tcp -A INPUT ! -m tcp",
            format!("{n}unexpected ! flag before --match"),
        ),
    ];
    for (setup, cmd, want) in cases {
        let mut t = tables(setup);
        assert_eq!(err1(&mut t, cmd), *want, "{cmd}");
    }
}

#[test]
fn error_text_kind_and_token() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let e = err(&mut t, "iptables -A INPUT foo");
    assert_eq!(
        e.to_string(),
        "Bad argument `foo'\nTry `iptables -h' or 'iptables --help' for more information."
    );
    assert_eq!(
        (e.kind(), e.exit_code(), e.token()),
        (ErrorKind::Parameter, 2, Some("foo"))
    );
    let e = err(&mut t, "iptables -A INPUT -j NOPE");
    assert_eq!(
        e.to_string(),
        "iptables v1.8.9 (nf_tables): Chain 'NOPE' does not exist\n\
         Try `iptables -h' or 'iptables --help' for more information."
    );
    assert_eq!(e.token(), Some("NOPE"));
    let e = err(&mut t, "iptables -D NOCHAIN 1");
    assert_eq!(
        (e.kind(), e.exit_code(), e.token()),
        (ErrorKind::Other, 1, Some("NOCHAIN"))
    );
    let e = err(&mut t, "iptables -t nat -P INPUT DROP");
    assert!(
        e.to_string()
            .contains("The \"nat\" table is not intended for filtering")
    );
    assert_eq!(err(&mut t, "iptables -t bogus -S").exit_code(), 3);
}

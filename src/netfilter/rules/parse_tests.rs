//! Command-line parsing: every option, canonicalised through `-S`.

use super::super::testing::{argv, ok, tables};

/// Applies `setup` then `cmd` and returns the `-S` line of the new rule (the last `-A`).
fn canon(setup: &[&str], table: &str, cmd: &str) -> String {
    let mut t = tables(setup);
    ok(&mut t, &format!("iptables -t {table} {cmd}"));
    let s = ok(&mut t, &format!("iptables -t {table} -S"));
    s.lines()
        .rfind(|l| l.starts_with("-A"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn rule_options_are_written_back_in_canonical_order() {
    let cases: &[(&str, &str)] = &[
        (
            "-A INPUT -s 10.1.2.3/8 -j ACCEPT",
            "-A INPUT -s 10.0.0.0/8 -j ACCEPT",
        ),
        (
            "-A INPUT -j DROP ! -s 192.168.1.1 -d 10.0.0.0/255.255.0.0",
            "-A INPUT ! -s 192.168.1.1/32 -d 10.0.0.0/16 -j DROP",
        ),
        (
            "-A INPUT -d 10.0.0.0/255.0.255.0",
            "-A INPUT -d 10.0.0.0/255.0.255.0",
        ),
        (
            "-A FORWARD -p tcp --dport 80 -o docker+ -i eth0 -j ACCEPT",
            "-A FORWARD -i eth0 -o docker+ -p tcp -m tcp --dport 80 -j ACCEPT",
        ),
        (
            "-A INPUT -p tcp --sport 1024: ! --dport http",
            "-A INPUT -p tcp -m tcp --sport 1024:65535 ! --dport 80",
        ),
        (
            "-A INPUT -p tcp --dport :1023",
            "-A INPUT -p tcp -m tcp --dport 0:1023",
        ),
        (
            "-A INPUT -p tcp --syn -j ACCEPT",
            "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
        ),
        (
            "-A INPUT -p tcp ! --tcp-flags SYN,ACK ACK",
            "-A INPUT -p tcp -m tcp ! --tcp-flags SYN,ACK ACK",
        ),
        (
            "-A INPUT -p tcp --tcp-flags ALL NONE",
            "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE",
        ),
        (
            "-A INPUT -p udp --dport domain",
            "-A INPUT -p udp -m udp --dport 53",
        ),
        ("-A INPUT -p tcp -m tcp", "-A INPUT -p tcp -m tcp"),
        (
            "-A INPUT -p icmp --icmp-type echo-request",
            "-A INPUT -p icmp -m icmp --icmp-type 8",
        ),
        (
            "-A INPUT -p icmp --icmp-type port-unr",
            "-A INPUT -p icmp -m icmp --icmp-type 3/3",
        ),
        (
            "-A INPUT -p icmp ! --icmp-type 3/4",
            "-A INPUT -p icmp -m icmp ! --icmp-type 3/4",
        ),
        (
            "-A INPUT -p icmp -m icmp",
            "-A INPUT -p icmp -m icmp --icmp-type any",
        ),
        ("-A INPUT -p ICMP", "-A INPUT -p icmp"),
        ("-A INPUT -p 47", "-A INPUT -p gre"),
        ("-A INPUT -p all -f", "-A INPUT -f"),
        ("-A INPUT ! -f", "-A INPUT ! -f"),
        (
            "-A INPUT -s localhost -d loopback/8",
            "-A INPUT -s 127.0.0.1/32 -d 127.0.0.0/8",
        ),
        (
            "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED,new -j ACCEPT",
            "-A INPUT -m conntrack --ctstate NEW,RELATED,ESTABLISHED -j ACCEPT",
        ),
        (
            "-A INPUT -m conntrack ! --ctstate INVALID --ctorigdst 10.0.0.1 --ctorigdstport 80 \
             ! --ctorigsrc 10.0.0.0/8 --ctorigsrcport 1000:2000 --ctdir REPLY",
            "-A INPUT -m conntrack ! --ctstate INVALID ! --ctorigsrc 10.0.0.0/8 --ctorigdst \
             10.0.0.1 --ctorigsrcport 1000:2000 --ctorigdstport 80 --ctdir REPLY",
        ),
        (
            "-A INPUT -m state --state NEW,ESTABLISHED",
            "-A INPUT -m state --state NEW,ESTABLISHED",
        ),
        (
            "-A INPUT -m addrtype ! --src-type LOCAL --dst-type local,BROADCAST --limit-iface-in",
            "-A INPUT -m addrtype ! --src-type LOCAL --dst-type LOCAL,BROADCAST --limit-iface-in",
        ),
        (
            "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.1.1.1-1.1.1.2",
            "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.1.1.1-1.1.1.2",
        ),
        (
            "-A INPUT -p tcp -m multiport --dports ssh,http,8000:8080",
            "-A INPUT -p tcp -m multiport --dports 22,80,8000:8080",
        ),
        (
            "-A INPUT -p udp -m multiport ! --ports 53",
            "-A INPUT -p udp -m multiport ! --ports 53",
        ),
        ("-A INPUT -m limit", "-A INPUT -m limit --limit 3/hour"),
        (
            "-A INPUT -m limit --limit 10/s --limit-burst 20",
            "-A INPUT -m limit --limit 10/sec --limit-burst 20",
        ),
        (
            "-A INPUT -m limit --limit 2/minute",
            "-A INPUT -m limit --limit 2/min",
        ),
        (
            "-A INPUT -m statistic --mode nth --every 3 --packet 1",
            "-A INPUT -m statistic --mode nth --every 3 --packet 1",
        ),
        (
            "-A INPUT -m statistic --mode random --probability 0.25",
            "-A INPUT -m statistic --mode random --probability 0.25000000000",
        ),
        (
            "-A INPUT -m comment --comment web",
            "-A INPUT -m comment --comment web",
        ),
        (
            "-A INPUT -j REJECT",
            "-A INPUT -j REJECT --reject-with icmp-port-unreachable",
        ),
        (
            "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
            "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
        ),
        (
            "-A INPUT -j REJECT --reject-with host-prohib",
            "-A INPUT -j REJECT --reject-with icmp-host-prohibited",
        ),
        (
            "-A INPUT -j LOG --log-prefix DROP: --log-level info --log-uid",
            "-A INPUT -j LOG --log-prefix \"DROP:\" --log-level 6 --log-uid",
        ),
        ("-A INPUT -j LOG --log-level 4", "-A INPUT -j LOG"),
        ("-A INPUT -j QUEUE", "-A INPUT -j QUEUE"),
        (
            "--append INPUT --src 1.2.3.4 --jump=ACCEPT",
            "-A INPUT -s 1.2.3.4/32 -j ACCEPT",
        ),
        (
            "-AINPUT -pudp --destination-port=53",
            "-A INPUT -p udp -m udp --dport 53",
        ),
        ("-w -A INPUT -w 5 -j ACCEPT", "-A INPUT -j ACCEPT"),
    ];
    for (cmd, want) in cases {
        assert_eq!(canon(&[], "filter", cmd), *want, "{cmd}");
    }
}

#[test]
fn nat_targets_and_goto() {
    let cases: &[(&str, &str)] = &[
        (
            "-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
            "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        ),
        (
            "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -p tcp -j MASQUERADE --to-ports 1024-2048 --random",
            "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -p tcp -j MASQUERADE --to-ports 1024-2048 --random",
        ),
        (
            "-A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:1000-2000 --persistent",
            "-A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:1000-2000 --persistent",
        ),
        (
            "-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 8080",
            "-A OUTPUT -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080",
        ),
        ("-A PREROUTING -g DOCKER", "-A PREROUTING -g DOCKER"),
        (
            "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
            "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(canon(&["-t nat -N DOCKER"], "nat", cmd), *want, "{cmd}");
    }
}

#[test]
fn quoted_comment_and_address_lists() {
    let mut t = tables(&[]);
    let mut cmd = argv("iptables -A INPUT -m comment --comment");
    cmd.push("allow \"web\" traffic".into());
    t.apply(&cmd).unwrap();
    ok(
        &mut t,
        "iptables -A INPUT -s 10.0.0.1,10.0.0.2 -d 1.1.1.1,1.1.1.1/32 -j DROP",
    );
    let s = ok(&mut t, "iptables -S INPUT");
    assert_eq!(
        s,
        "-P INPUT ACCEPT\n\
         -A INPUT -m comment --comment \"allow \\\"web\\\" traffic\"\n\
         -A INPUT -s 10.0.0.1/32 -d 1.1.1.1/32 -j DROP\n\
         -A INPUT -s 10.0.0.2/32 -d 1.1.1.1/32 -j DROP\n"
    );
}

#[test]
fn version_help_and_program_names() {
    let mut t = tables(&[]);
    assert_eq!(ok(&mut t, "iptables -V"), "iptables v1.8.10 (nf_tables)\n");
    assert!(ok(&mut t, "iptables -h").contains("Usage: iptables -[ACD] chain"));
    ok(&mut t, "/usr/sbin/iptables-nft -A INPUT -j ACCEPT");
    ok(&mut t, "-A INPUT -j DROP");
    assert_eq!(ok(&mut t, "iptables --list-rules INPUT").lines().count(), 3);
    assert_eq!(ok(&mut t, "iptables --line -nL INPUT").lines().count(), 4);
}

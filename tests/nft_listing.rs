//! The kernel as the oracle for `nft`: each case runs the same nft commands in a fresh
//! network namespace with the real nft and in `hoplab::nft::Nft`, and compares what each
//! command printed (stdout, stderr, exit status), then `nft list ruleset`, `nft -a list
//! ruleset` and `nft -s list ruleset` byte for byte.

mod kernel;

use kernel::netns::Netns;

use hoplab::nft::Nft;

/// One `nft` invocation: its argv (without `nft`) and what it reads on stdin.
struct Step {
    args: Vec<String>,
    stdin: &'static str,
}

/// `nft 'WHOLE COMMAND'`: the command as one argument.
fn one(cmd: &str) -> Step {
    Step {
        args: vec![cmd.to_string()],
        stdin: "",
    }
}

/// `nft WORD WORD ...`: the command split on spaces, as a shell passes unquoted words.
fn words(cmd: &str) -> Step {
    Step {
        args: cmd.split_whitespace().map(String::from).collect(),
        stdin: "",
    }
}

/// `nft -f -` reading `text`.
fn script(text: &'static str) -> Step {
    Step {
        args: vec!["-f".into(), "-".into()],
        stdin: text,
    }
}

/// Runs the steps in both worlds and compares every output and the final listings.
fn compare(case: &str, steps: &[Step]) {
    if !kernel::privileged(case) {
        return;
    }
    let short: String = case
        .trim_start_matches("kd_nft_list_")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    let ns = Netns::new(&format!("nftsyn-{short}"));
    let mut sim = Nft::new();
    let mut steps: Vec<&Step> = steps.iter().collect();
    let listings: Vec<Step> = [
        "list ruleset",
        "-a list ruleset",
        "-s list ruleset",
        "-n list ruleset",
    ]
    .iter()
    .map(|l| words(l))
    .collect();
    steps.extend(listings.iter());
    for step in steps {
        let argv: Vec<&str> = std::iter::once("nft")
            .chain(step.args.iter().map(String::as_str))
            .collect();
        let (status, stdout, stderr) = ns.run(&argv, step.stdin);
        let ours = sim.command(&step.args, step.stdin, &|_, _| None);
        let (our_status, our_stdout, our_stderr) = match ours {
            Ok(out) => (0, out, String::new()),
            Err((code, err)) => (code, String::new(), err),
        };
        assert_eq!(
            (our_status, our_stderr.as_str(), our_stdout.as_str()),
            (status, stderr.as_str(), stdout.as_str()),
            "{case}: nft {:?} (stdin {:?}) differs from the kernel's (left: hoplab)",
            step.args,
            step.stdin
        );
    }
}

#[test]
fn kd_nft_list_tables_of_each_family() {
    compare(
        "kd_nft_list_tables_of_each_family",
        &[
            words("add table ip t4"),
            words("add table ip6 t6"),
            words("add table inet both"),
            words("add table bridge br"),
            words("add table netdev nd"),
            words("add table arp a"),
            words("add table plain"),
            words("list tables"),
            words("list tables inet"),
            words("delete table ip6 t6"),
            words("create table inet both"),
            words("list table inet both"),
        ],
    );
}

#[test]
fn kd_nft_list_base_chain_priorities() {
    compare(
        "kd_nft_list_base_chain_priorities",
        &[
            words("add table inet f"),
            one("add chain inet f in { type filter hook input priority 0; policy drop; }"),
            one("add chain inet f fw { type filter hook forward priority filter + 7; }"),
            one("add chain inet f out { type filter hook output priority -155; }"),
            one("add chain inet f raw { type filter hook prerouting priority raw; }"),
            one("add chain inet f sec { type filter hook input priority 50; }"),
            one("add chain inet f far { type filter hook input priority 25; }"),
            one("add chain inet f pre { type nat hook prerouting priority dstnat; }"),
            one("add chain inet f post { type nat hook postrouting priority 100; }"),
            one("add chain inet f mid { type nat hook postrouting priority -100; }"),
            one("add chain inet f route { type route hook output priority mangle - 3; }"),
            words("add chain inet f regular"),
            words("add table bridge b"),
            one("add chain bridge b fw { type filter hook forward priority -200; }"),
            one("add chain bridge b pre { type filter hook prerouting priority dstnat; }"),
            one("add chain bridge b out { type filter hook output priority out; }"),
            words("list chains"),
            words("list chain inet f in"),
        ],
    );
}

#[test]
fn kd_nft_list_script_with_sets_and_maps() {
    compare(
        "kd_nft_list_script_with_sets_and_maps",
        &[
            script(
                "flush ruleset\n\
             define wan = \"eth0\"\n\
             define web = { 80, 443 }\n\
             table inet filter {\n\
             \tset blocked { type ipv4_addr; elements = { 10.0.0.9, 10.0.0.1, 1.2.3.4, 192.168.1.1, 8.8.8.8 } }\n\
             \tset nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9, 1.1.1.1 } }\n\
             \tset ports { type inet_service; elements = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 } }\n\
             \tmap svc { type ipv4_addr . inet_service : verdict; elements = { 1.2.3.4 . 22 : accept, 5.6.7.8 . 80 : drop } }\n\
             \tmap to_host { type inet_service : ipv4_addr; elements = { 80 : 1.1.1.1, 22 : 2.2.2.2 } }\n\
             \tchain input {\n\
             \t\ttype filter hook input priority filter; policy drop;\n\
             \t\tct state established,related accept\n\
             \t\tct state invalid drop\n\
             \t\tiifname $wan tcp dport $web accept\n\
             \t\tip saddr @blocked drop # a comment\n\
             \t\tip saddr @nets accept\n\
             \t\tip daddr . tcp dport vmap @svc\n\
             \t\ttcp dport vmap { 22 : accept, 23 : drop }\n\
             \t}\n\
             }\n",
            ),
            words("list sets"),
            words("list maps"),
            words("list set inet filter nets"),
            words("list map inet filter svc"),
            one("add element inet filter ports { 100, 13 }"),
            one("delete element inet filter blocked { 8.8.8.8 }"),
        ],
    );
}

#[test]
fn kd_nft_list_statements_as_nft_normalises_them() {
    compare(
        "kd_nft_list_statements_as_nft_normalises_them",
        &[
            words("add table ip t"),
            one("add chain ip t c { type filter hook input priority 0; }"),
            one("add rule ip t c tcp dport { 22 } accept"),
            one("add rule ip t c ip saddr 10.1.2.3/8 ip daddr 10.0.0.1/32 accept"),
            one("add rule ip t c meta l4proto tcp th dport 22 accept"),
            one("add rule ip t c ip protocol tcp tcp dport 22"),
            one("add rule ip t c tcp dport 22 counter packets 5 bytes 7"),
            one("add rule ip t c ct original saddr 1.2.3.4"),
            one("add rule ip t c iif lo oif lo mark 3 meta pkttype host"),
            one("add rule ip t c fib daddr . iif type local"),
            one("add rule ip t c log level info flags all"),
            one("add rule ip t c log prefix \"a\" group 2"),
            one("add rule ip t c ip protocol icmp icmp type echo-request"),
            one("add rule ip t c tcp flags & (syn|ack) == syn|ack"),
            one("add rule ip t c tcp flags != syn"),
            one("add rule ip t c ct state != established"),
            one("add rule ip t c tcp dport >= 1024 tcp sport < 3"),
            one("add rule ip t c ip saddr != 10.0.0.0/8 tcp dport != 1-100"),
            one("add rule ip t c meta mark & 0xff == 0x1 ct mark set 5 meta mark set 0x10"),
            one("add rule ip t c limit rate 2048 bytes/second burst 100 bytes"),
            one("add rule ip t c limit rate over 5/day burst 5 packets"),
            one("add rule ip t c limit rate 400 kbytes/hour"),
            one("add rule ip t c iifname { \"eth0\", \"lo\" } oifname != \"eth1\" notrack"),
            one(
                "add rule ip t c ip saddr 1.2.3.4 counter log prefix \"hi: \" level debug comment \"c1\"",
            ),
            one("add rule ip t c ct state vmap { established : accept, invalid : drop }"),
            one("add rule ip t c reject with icmp type host-unreachable"),
            one("add rule ip t c ip protocol tcp reject with tcp reset"),
        ],
    );
}

#[test]
fn kd_nft_list_nat_statements() {
    compare(
        "kd_nft_list_nat_statements",
        &[
            words("add table ip nat"),
            one("add chain ip nat post { type nat hook postrouting priority srcnat; }"),
            one("add chain ip nat pre { type nat hook prerouting priority dstnat; }"),
            one("add rule ip nat post oifname \"eth0\" masquerade"),
            one("add rule ip nat post meta l4proto tcp masquerade to :1000-2000 random,persistent"),
            one("add rule ip nat post tcp dport 1 snat to 1.2.3.4-1.2.3.8:22-30 fully-random"),
            one("add rule ip nat post ip saddr 10.0.0.0/24 snat ip to 5.6.7.8"),
            one("add rule ip nat pre tcp dport 8080 redirect to :80"),
            one("add rule ip nat pre tcp dport 1 dnat to 10.0.0.2:22"),
            one(
                "add rule ip nat pre dnat to ip daddr map { 1.1.1.1 : 2.2.2.2, 3.3.3.3 : 4.4.4.4 }",
            ),
            one(
                "add rule ip nat pre dnat to ip saddr . tcp dport map { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }",
            ),
            words("add table inet n6"),
            one("add chain inet n6 post { type nat hook postrouting priority 100; }"),
            one(
                "add rule inet n6 post ip saddr 1.2.3.4 meta l4proto tcp snat ip to 5.6.7.8:1000-2000 comment \"hi\"",
            ),
        ],
    );
}

#[test]
fn kd_nft_list_counters_comments_and_dormant_tables() {
    compare(
        "kd_nft_list_counters_comments_and_dormant_tables",
        &[script(
            "table ip c { comment \"tc\"; flags dormant\n\
             \tset s { type ipv4_addr; comment \"sc\"; flags interval; }\n\
             \tset e { typeof ip saddr; }\n\
             \tchain x { comment \"cc\"; }\n\
             \tchain y { type filter hook input priority 0; comment \"cc2\"; policy drop; counter comment \"rc\"; }\n\
             }\n\
             table ip empty {}\n\
             table inet e2 { chain z { counter packets 10 bytes 900; }; }\n",
        )],
    );
}

#[test]
fn kd_nft_list_deletes_by_handle_and_name() {
    compare(
        "kd_nft_list_deletes_by_handle_and_name",
        &[
            words("add table ip t"),
            words("add chain ip t c"),
            words("add chain ip t d"),
            words("add rule ip t c accept"),
            words("add rule ip t c drop"),
            one("add rule ip t c tcp dport { 1, 2 } accept"),
            words("add rule ip t c jump d"),
            words("delete rule ip t c handle 4"),
            words("delete rule ip t c handle 4"),
            words("delete chain ip t d"),
            words("delete rule ip t c handle 8"),
            words("delete chain ip t d"),
            words("delete chain ip t handle 1"),
            words("delete table ip t"),
            words("add table ip t"),
            words("add chain ip t c"),
        ],
    );
}

#[test]
fn kd_nft_list_insert_and_positions() {
    compare(
        "kd_nft_list_insert_and_positions",
        &[
            words("add table ip t"),
            words("add chain ip t c"),
            words("add rule ip t c counter"),
            words("add rule ip t c accept"),
            words("insert rule ip t c drop"),
            words("add rule ip t c position 3 continue"),
            words("insert rule ip t c handle 2 return"),
            words("add rule ip t c index 0 ip ttl 1"),
            words("insert rule ip t c index 2 ip ttl 2"),
            words("replace rule ip t c handle 3 ip ttl 3"),
            words("add rule ip t c position 99 accept"),
            words("add rule ip t c index 99 accept"),
            words("rename chain ip t c renamed"),
            words("flush chain ip t renamed"),
            words("add rule ip t renamed ip ttl 4"),
        ],
    );
}

#[test]
fn kd_nft_list_errors_as_nft_words_them() {
    compare(
        "kd_nft_list_errors_as_nft_words_them",
        &[
            words("add table ip t"),
            one("add chain ip t c { type filter hook input priority 0; }"),
            one("add rule ip nope c accept"),
            one("add rule ip t nope accept"),
            one("add chain ip nope c"),
            one("delete table ip nope"),
            one("add rule ip t c jump nope"),
            one("add rule ip t c masquerade"),
            one("add rule ip t c ip saddr 1.2.3.4 acept"),
            one("add rule ip t c accept accept"),
            one("add rul ip t c accept"),
            one("add table ip"),
            one("add table ip t {"),
            one("add table foo t"),
            one("add rule ip t c tcp dport 22 }"),
            one("add chain ip t d { type filter hook inpt priority 0; }"),
            one("add chain ip t d { type foo hook input priority 0; }"),
            one("add chain ip t d { policy drop; }"),
            one("add rule ip t c tcp dport 70000"),
            one("add rule ip t c ct state foo"),
            one("add rule ip t c udp dport 53 tcp dport 53"),
            one("add chain ip t z { type filter hook input priority dstnat; }"),
            one("create table ip t"),
            one("delete rule ip t c handle abc"),
            one("add rule ip t c drop comment"),
            one("list table ip nope"),
            one("add chain ip t q { type filter hook input priority 0; policy foo; }"),
        ],
    );
}

#[test]
fn kd_nft_list_set_errors_and_references() {
    compare(
        "kd_nft_list_set_errors_and_references",
        &[
            words("add table ip t"),
            words("add chain ip t c"),
            one("add set ip t s { type inet_service; }"),
            one("add rule ip t c ip saddr @s"),
            one("add rule ip t c ip saddr @nope"),
            one("add element ip t s { 1.2.3.4 }"),
            one("add element ip t s { 1-5 }"),
            one("add element ip t nope { 1 }"),
            one("add rule ip t c tcp dport @s accept"),
            one("delete set ip t s"),
            one("add set ip t x { type foo; }"),
            one("add set ip t x { flags interval; }"),
            one("add element ip t s { 22, 80 }"),
            one("delete element ip t s { 9 }"),
        ],
    );
}

#[test]
fn kd_nft_list_failed_scripts_change_nothing() {
    compare(
        "kd_nft_list_failed_scripts_change_nothing",
        &[
            words("add table ip keep"),
            script("add table ip a\nadd chain ip a c\nadd rule ip a c tcp dport 22 acept\n"),
            script(
                "table ip b {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\tjump nowhere\n\t}\n}\n",
            ),
            script("add table ip c\nadd rule ip c x accept\n"),
            words("add table ip after"),
        ],
    );
}

#[test]
fn kd_nft_list_words_and_one_argument_agree() {
    compare(
        "kd_nft_list_words_and_one_argument_agree",
        &[
            words("add table t"),
            words("add chain t c { type filter hook output priority 0 ; }"),
            words("add rule t c ip daddr 192.168.0.0/16 counter drop"),
            one("add rule t c ip daddr { 10.0.0.1, 10.0.0.3 } accept"),
            words("add rule t c oifname lo accept"),
            words("list chain t c"),
            words("-a list table t"),
            words("flush ruleset"),
            words("list ruleset"),
        ],
    );
}

#[test]
fn kd_nft_list_bridge_family_link_dependencies() {
    compare(
        "kd_nft_list_bridge_family_link_dependencies",
        &[
            words("add table bridge f"),
            one("add chain bridge f c { type filter hook forward priority filter; }"),
            one("add rule bridge f c ether type ip meta l4proto icmp"),
            one("add rule bridge f c ether type ip ip daddr 1.2.3.4"),
            one("add rule bridge f c ether type ip tcp dport 22"),
            one("add rule bridge f c ether type ip counter"),
            one("add rule bridge f c ether type ip ip protocol icmp"),
            one("add rule bridge f c ether type ip icmp type echo-request"),
            one("add rule bridge f c ether type ip th dport 22"),
            one("add rule bridge f c ether type ip meta l4proto tcp tcp dport 22"),
            one("add rule bridge f c ether type arp meta l4proto icmp"),
            one("add rule bridge f c ether saddr 02:00:00:00:00:01 ip saddr 1.1.1.1 drop"),
            one("add rule bridge f c meta protocol ip ip daddr 1.1.1.1"),
            one("add rule bridge f c ether type vlan"),
            one("add rule bridge f c iifname veth0 oifname veth1 accept"),
        ],
    );
}

#[test]
fn kd_nft_list_masks_limits_and_icmp_codes() {
    compare(
        "kd_nft_list_masks_limits_and_icmp_codes",
        &[
            words("add table ip t"),
            one("add chain ip t c { type filter hook input priority 0; }"),
            one("add rule ip t c tcp flags & syn == syn"),
            one("add rule ip t c tcp flags & (syn|ack) == 0"),
            one("add rule ip t c tcp flags & (syn|ack) != 0"),
            one("add rule ip t c tcp flags syn / syn,ack"),
            one("add rule ip t c tcp flags & (fin|syn|rst|ack) != syn"),
            one("add rule ip t c tcp flags & (syn|ack) == syn|ack"),
            one("add rule ip t c ct state & established == established"),
            one("add rule ip t c ct status & dnat == dnat"),
            one("add rule ip t c limit rate 5/second"),
            one("add rule ip t c limit rate 5/second burst 1 packets"),
            one("add rule ip t c limit rate over 1/minute"),
            one("add rule ip t c limit rate 10 mbytes/second"),
            one("add rule ip t c icmp code port-unreachable"),
            one("add rule ip t c icmp type destination-unreachable icmp code 1"),
            one("add rule ip t c meta mark & 0xff == 0x1"),
            one("add rule ip t c ct mark & 0xf0 == 0x10"),
        ],
    );
}

//! ip6tables on a router, without root: neighbour discovery meets the INPUT and OUTPUT
//! chains and is never tracked, LOG's IPv6 line, conntrack's families, and
//! `ip6tables-restore` read back by `ip6tables-save`. (The kernel's side of verdicts,
//! counters, NAT66 and refusals is in tests/kernel_diff_v6_router.rs.)

mod common;

use hoplab::scenario::run::RunReport;

/// a (2001:db8:1::2) and b (2001:db8:2::2) on either side of router r.
const LAB: &str = r#"version: 1
name: router-ip6tables
hosts:
  - name: a
    interfaces: {eth0: {ipv6: "2001:db8:1::2/64", mac: "02:00:00:00:01:02"}}
    gateway6: "2001:db8:1::1"
  - name: b
    interfaces: {eth0: {ipv6: "2001:db8:2::2/64", mac: "02:00:00:00:02:02"}}
    gateway6: "2001:db8:2::1"
routers:
  - name: r
    interfaces:
      eth0: {ipv6: "2001:db8:1::1/64", mac: "02:00:00:00:01:01"}
      eth1: {ipv6: "2001:db8:2::1/64", mac: "02:00:00:00:02:01"}
links:
  - [a:eth0, r:eth0]
  - [r:eth1, b:eth0]
steps:
"#;

fn run(steps: &str) -> RunReport {
    common::run_lab_text(&format!("{LAB}{steps}"), "router-ip6tables.yaml")
}

/// Step `name`'s exit code (0 for a listing) and text.
fn out(r: &RunReport, name: &str) -> (i32, String) {
    common::step_out(r, name)
}

#[test]
fn neighbour_discovery_meets_input_and_output_and_is_never_tracked() {
    let r = run("  - {name: in-drop, on: r, run: ip6tables -P INPUT DROP}
  - {name: starved, on: a, run: ping -6 -c 1 -W 1 2001:db8:2::2}
  - {name: in-nd, on: r, run: ip6tables -A INPUT -p ipv6-icmp -j ACCEPT}
  - {name: out-drop, on: r, run: ip6tables -P OUTPUT DROP}
  - {name: silent, on: a, run: ping -6 -c 1 -W 1 2001:db8:2::2}
  - {name: out-nd, on: r, run: ip6tables -A OUTPUT -p ipv6-icmp -j ACCEPT}
  - {name: invalid, on: r, run: ip6tables -A FORWARD -m conntrack --ctstate INVALID -j DROP}
  - {name: ping, on: a, run: ping -6 -c 2 2001:db8:2::2}
  - {name: forward, on: r, show: ip6tables -nvL FORWARD}
  - {name: flows, on: r, show: conntrack -L -f ipv6}
  - {name: v4, on: r, show: conntrack -L -f ipv4}
");
    // a's solicitation for its gateway dies in r's INPUT; then r's own solicitation for b
    // (and its advertisement to a) die in OUTPUT.
    assert_eq!(out(&r, "starved").0, 1, "{}", out(&r, "starved").1);
    assert_eq!(out(&r, "silent").0, 1, "{}", out(&r, "silent").1);
    let (code, ping) = out(&r, "ping");
    assert_eq!(code, 0, "{ping}");
    assert!(ping.contains("2 packets transmitted, 2 received"), "{ping}");
    // Neighbour discovery is untracked, never INVALID: the rule counted nothing.
    let forward = out(&r, "forward").1;
    assert!(
        forward.contains(
            "    0     0 DROP       all  --  *      *       ::/0                 ::/0                 ctstate INVALID\n"
        ),
        "{forward}"
    );
    // One flow, the echo: no entry for neighbour discovery.
    let flows = out(&r, "flows").1;
    let lines: Vec<&str> = flows.lines().collect();
    assert_eq!(lines.len(), 2, "{flows}");
    assert!(
        lines[0].starts_with("icmpv6   58 ")
            && lines[0].contains(" src=2001:db8:1::2 dst=2001:db8:2::2 type=128 code=0 id=")
            && lines[0].contains(" src=2001:db8:2::2 dst=2001:db8:1::2 type=129 code=0 id=")
            && lines[0].ends_with(" mark=0 use=1"),
        "{flows}"
    );
    assert_eq!(
        lines[1],
        "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown."
    );
    assert_eq!(
        out(&r, "v4").1,
        "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n"
    );
}

#[test]
fn log_writes_the_kernels_ipv6_line() {
    let r = run(
        r#"  - {name: log, on: r, run: 'ip6tables -A FORWARD -p ipv6-icmp -j LOG --log-prefix "fw6 "'}
  - {name: ping, on: a, run: ping -6 -c 1 -s 16 2001:db8:2::2}
  - {name: dmesg, on: r, show: dmesg}
"#,
    );
    assert_eq!(out(&r, "ping").0, 0);
    let dmesg = out(&r, "dmesg").1;
    let lines: Vec<&str> = dmesg.lines().collect();
    assert_eq!(lines.len(), 2, "{dmesg}");
    // Addresses written out in full, the length with the fixed header, the hop limit as
    // FORWARD sees it (already one less).
    let request = lines[0].split_once("] ").unwrap().1;
    assert!(
        request.starts_with(
            "fw6 IN=eth0 OUT=eth1 MAC=02:00:00:00:01:01:02:00:00:00:01:02:86:dd \
             SRC=2001:0db8:0001:0000:0000:0000:0000:0002 DST=2001:0db8:0002:0000:0000:0000:0000:0002 \
             LEN=64 TC=0 HOPLIMIT=63 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID="
        ) && request.ends_with(" SEQ=1 "),
        "{request}"
    );
    let reply = lines[1].split_once("] ").unwrap().1;
    assert!(
        reply.starts_with("fw6 IN=eth1 OUT=eth0 ")
            && reply.contains(" PROTO=ICMPv6 TYPE=129 CODE=0 "),
        "{reply}"
    );
}

#[test]
fn restore_is_read_back_by_save() {
    let rules = "*filter\n\
                 :INPUT ACCEPT [0:0]\n\
                 :FORWARD DROP [0:0]\n\
                 :OUTPUT ACCEPT [0:0]\n\
                 :LAN - [0:0]\n\
                 -A FORWARD -i eth0 -j LAN\n\
                 -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                 -A LAN -s 2001:db8:1::/64 -p tcp -m tcp --dport 22 -j REJECT --reject-with icmp6-adm-prohibited\n\
                 -A LAN -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\n\
                 COMMIT\n\
                 *nat\n\
                 :PREROUTING ACCEPT [0:0]\n\
                 :INPUT ACCEPT [0:0]\n\
                 :OUTPUT ACCEPT [0:0]\n\
                 :POSTROUTING ACCEPT [0:0]\n\
                 -A PREROUTING -d 2001:db8:1::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:2::2]:80\n\
                 -A POSTROUTING -o eth1 -j MASQUERADE\n\
                 COMMIT\n";
    let input = rules.replace('\n', "\\n");
    let r = run(&format!(
        "  - {{name: restore, on: r, run: ip6tables-restore, input: \"{input}\"}}
  - {{name: save, on: r, show: ip6tables-save}}
  - {{name: v4, on: r, show: iptables-save}}
  - {{name: ping, on: a, run: ping -6 -c 1 2001:db8:2::2}}
"
    ));
    assert_eq!(out(&r, "restore"), (0, String::new()));
    let save = out(&r, "save").1;
    let body: String = save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(body, rules);
    assert!(
        save.starts_with("# Generated by ip6tables-nft-save v1.8.10 (nf_tables) on "),
        "{save}"
    );
    // The IPv4 tables are another family's: untouched.
    assert_eq!(out(&r, "v4").1, "");
    assert_eq!(out(&r, "ping").0, 0, "{}", out(&r, "ping").1);
}

//! Evaluation: jumps, goto, RETURN, the jump limit, counters, the limit token bucket in
//! virtual time, statistic, and trace events.

use super::super::matches::IpSpec;
use super::super::model::{Counters, Rule, Target};
use super::super::testing::{ok, tables, tcp};
use super::super::{MAX_JUMP_DEPTH, Tables, TraceEvent};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::{Duration, Instant};

fn verdict(t: &mut Tables, table: Table, hook: Hook, pkt: &PacketView) -> Verdict {
    t.run(table, hook, pkt, Instant::ZERO, &mut |_| {})
}

#[test]
fn jumps_goto_return_and_counters() {
    let syn = tcp("10.0.0.5", 40000, "192.168.1.10", 80);
    let mut t = tables(&[
        "-P INPUT DROP",
        "-N A",
        "-N B",
        "-N C",
        "-A INPUT -j A",
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "-A A -j B",
        "-A A -j DROP",
        "-A B -s 10.0.0.5 -j RETURN",
        "-A B -j DROP",
        "-I A -p tcp --dport 22 -g C",
        "-A C -j LOG",
    ]);
    // INPUT -> A -> B (RETURN) -> back in A: DROP.
    assert_eq!(
        verdict(&mut t, Table::Filter, Hook::Input, &syn),
        Verdict::Drop
    );
    let nl = ok(&mut t, "-nvxL A");
    assert!(nl.contains("       1       60 DROP "), "{nl}");
    assert_eq!(
        t.rule_counters(Table::Filter, "B", 1),
        Some(Counters {
            packets: 1,
            bytes: 60
        })
    );
    assert_eq!(
        t.rule_counters(Table::Filter, "B", 2),
        Some(Counters::default())
    );
    // Port 22: A goes to C without a return point; C falls off, back to INPUT's next rule.
    let ssh = tcp("10.0.0.5", 40000, "192.168.1.10", 22);
    assert_eq!(
        verdict(&mut t, Table::Filter, Hook::Input, &ssh),
        Verdict::Drop
    );
    assert_eq!(
        t.rule_counters(Table::Filter, "INPUT", 2),
        Some(Counters::default())
    );
    assert_eq!(
        t.policy_counters(Table::Filter, "INPUT"),
        Some(Counters {
            packets: 1,
            bytes: 60
        })
    );
    assert_eq!(
        t.rule_counters(Table::Filter, "C", 1),
        Some(Counters {
            packets: 1,
            bytes: 60
        })
    );
    // RETURN in a built-in chain applies the policy.
    let mut t = tables(&[
        "-P OUTPUT DROP",
        "-A OUTPUT -j RETURN",
        "-A OUTPUT -j ACCEPT",
    ]);
    assert_eq!(
        verdict(&mut t, Table::Filter, Hook::Output, &syn),
        Verdict::Drop
    );
    assert_eq!(
        t.policy_counters(Table::Filter, "OUTPUT").unwrap().packets,
        1
    );
}

#[test]
fn a_jump_deeper_than_the_stack_drops() {
    let mut t = Tables::default();
    let ts = t.state_mut(Table::Filter);
    let rule = |target| Rule {
        ip: IpSpec::default(),
        matches: vec![],
        target,
        counters: Counters::default(),
        handle: 0,
    };
    let ids: Vec<usize> = (0..=MAX_JUMP_DEPTH)
        .map(|i| ts.add_chain(&format!("C{i}")))
        .collect();
    for w in ids.windows(2) {
        ts.chain_mut(w[0]).rules.push(rule(Target::Jump(w[1])));
    }
    ts.chain_mut(ids[MAX_JUMP_DEPTH])
        .rules
        .push(rule(Target::Accept));
    let input = ts.builtin(Hook::Input).unwrap();
    ts.chain_mut(input).rules.push(rule(Target::Jump(ids[0])));
    let syn = tcp("10.0.0.5", 1, "10.0.0.6", 2);
    // INPUT -> C0 -> ... -> C16 is 17 nested jumps.
    assert_eq!(
        verdict(&mut t, Table::Filter, Hook::Input, &syn),
        Verdict::Drop
    );
    let ts = t.state_mut(Table::Filter);
    ts.chain_mut(ids[0]).rules[0].target = Target::Jump(ids[2]);
    assert_eq!(
        verdict(&mut t, Table::Filter, Hook::Input, &syn),
        Verdict::Accept
    );
}

#[test]
fn limit_is_a_token_bucket_in_virtual_time() {
    let mut t = tables(&[
        "-P INPUT DROP",
        "-A INPUT -m limit --limit 2/second --limit-burst 3 -j ACCEPT",
    ]);
    let p = tcp("10.0.0.5", 1, "10.0.0.6", 2);
    let at = |ms: u64| Instant::ZERO + Duration::from_millis(ms);
    let mut send = |ms| t.run(Table::Filter, Hook::Input, &p, at(ms), &mut |_| {});
    let got: Vec<bool> = [
        0, 0, 0, 0, 499, 500, 1000, 1000, 10_000, 10_000, 10_000, 10_000,
    ]
    .iter()
    .map(|&ms| send(ms) == Verdict::Accept)
    .collect();
    // Burst of 3, then one token per 500 ms, and never more than the burst.
    assert_eq!(
        got,
        [
            true, true, true, false, false, true, true, false, true, true, true, false
        ]
    );
}

#[test]
fn statistic_nth_counts_matching_packets() {
    let p = tcp("10.0.0.5", 1, "10.0.0.6", 2);
    for (packet, want) in [
        (0, [false, false, true, false, false, true]),
        (2, [true, false, false, true, false, false]),
    ] {
        let rule = format!("-A INPUT -m statistic --mode nth --every 3 --packet {packet} -j DROP");
        let mut t = tables(&[&rule]);
        let got: Vec<bool> = (0..6)
            .map(|_| verdict(&mut t, Table::Filter, Hook::Input, &p) == Verdict::Drop)
            .collect();
        assert_eq!(got, want, "--packet {packet}");
    }
    let mut t = tables(&["-A INPUT -m statistic --mode random --probability 0.5 -j DROP"]);
    let drops = (0..1000)
        .filter(|_| verdict(&mut t, Table::Filter, Hook::Input, &p) == Verdict::Drop)
        .count();
    assert!((400..600).contains(&drops), "{drops}");
}

#[test]
fn trace_events_and_log_lines() {
    let mut t = tables(&[
        "-N X",
        "-A INPUT -p udp -j DROP",
        "-A INPUT -j X",
        "-A X -j LOG --log-prefix in:",
    ]);
    let bytes = syn_bytes();
    let p = PacketView {
        out_iface: None,
        ip: &bytes,
        mac: Some([2, 0, 0, 0, 0, 6, 2, 0, 0, 0, 0, 5, 8, 0]),
        ..tcp("10.0.0.5", 40000, "10.0.0.6", 80)
    };
    let mut seen = Vec::new();
    t.run(Table::Filter, Hook::Input, &p, Instant::ZERO, &mut |e| {
        seen.push(format!("{e:?}"))
    });
    assert_eq!(seen.len(), 1, "only the LOG line without tracing: {seen:?}");
    let mut lines = Vec::new();
    t.run(Table::Filter, Hook::Input, &p, Instant::ZERO, &mut |e| {
        if let TraceEvent::Log(l) = e {
            lines.push(l.to_string());
        }
    });
    assert_eq!(
        lines,
        [
            "in:IN=eth0 OUT= MAC=02:00:00:00:00:06:02:00:00:00:00:05:08:00 SRC=10.0.0.5 \
             DST=10.0.0.6 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 \
             DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 "
        ]
    );
    t.set_trace(true);
    let mut ev = Vec::new();
    t.run(
        Table::Filter,
        Hook::Input,
        &p,
        Instant::ZERO,
        &mut |e| match e {
            TraceEvent::Rule {
                chain,
                rule,
                matched,
                ..
            } => ev.push(format!("{chain}:{rule}:{matched}")),
            TraceEvent::Log(l) => ev.push(format!("log {}:{}", l.chain, l.rule)),
            TraceEvent::Policy { chain, verdict, .. } => {
                ev.push(format!("policy {chain} {verdict:?}"))
            }
            TraceEvent::Verdict { verdict, .. } => ev.push(format!("verdict {verdict:?}")),
            TraceEvent::JumpLimit { .. } => ev.push("limit".into()),
        },
    );
    assert_eq!(
        ev,
        [
            "INPUT:1:false",
            "INPUT:2:true",
            "X:1:true",
            "log X:1",
            "policy INPUT Accept",
            "verdict Accept"
        ]
    );
}

/// A TCP SYN 10.0.0.5:40000 → 10.0.0.6:80, as the LOG line's fields come from its bytes.
fn syn_bytes() -> Vec<u8> {
    use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpPacket};
    let mut b = vec![0u8; 40];
    let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len(40);
    ip.set_ident(0x1234);
    ip.set_dont_frag(true);
    ip.set_hop_limit(64);
    ip.set_next_header(IpProtocol::Tcp);
    ip.set_src_addr("10.0.0.5".parse().unwrap());
    ip.set_dst_addr("10.0.0.6".parse().unwrap());
    ip.fill_checksum();
    let mut tcp = TcpPacket::new_unchecked(&mut b[20..]);
    tcp.set_src_port(40000);
    tcp.set_dst_port(80);
    tcp.set_header_len(20);
    tcp.set_syn(true);
    tcp.set_window_len(64240);
    b
}

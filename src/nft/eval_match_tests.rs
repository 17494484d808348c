use super::*;
use crate::netfilter::{CtState, NoConns};
use crate::nft::eval_testing::{syn, view};
use crate::nft::expr::{CtKey, Field, MetaKey};

fn m(left: Key, mask: Option<u128>, op: CmpOp, right: Rhs) -> Match {
    Match {
        left: Expr::One(left),
        mask,
        op,
        right,
    }
}

fn num(v: u128) -> Rhs {
    Rhs::Value(vec![Value::Num(v)].into())
}

fn hit(m: &Match, pkt: &PacketView<'_>) -> bool {
    matches(m, None, pkt, &NoConns)
}

const FLAGS: Key = Key::Payload(Field::TcpFlags);
const STATE: Key = Key::Ct(CtKey::State);
const DPORT: Key = Key::Payload(Field::TcpDport);

#[test]
fn bit_masks_without_an_operator_match_any_bit() {
    let ip = syn();
    let mut pkt = view(&ip);
    // tcp flags syn: (flags & syn) != 0; a SYN-ACK has it too.
    assert!(hit(&m(FLAGS, None, CmpOp::Implicit, num(0x02)), &pkt));
    // tcp flags == syn: exactly.
    assert!(hit(&m(FLAGS, None, CmpOp::Eq, num(0x02)), &pkt));
    assert!(!hit(&m(FLAGS, None, CmpOp::Eq, num(0x12)), &pkt));
    // ct state established,related on a new connection; then on an established one.
    assert!(!hit(&m(STATE, None, CmpOp::Implicit, num(6)), &pkt));
    pkt.ct.as_mut().unwrap().state = CtState::Related;
    assert!(hit(&m(STATE, None, CmpOp::Implicit, num(6)), &pkt));
    // ct state != established is the exact value, not a bit test.
    assert!(hit(&m(STATE, None, CmpOp::Ne, num(2)), &pkt));
    pkt.ct.as_mut().unwrap().state = CtState::Established;
    assert!(!hit(&m(STATE, None, CmpOp::Ne, num(2)), &pkt));
}

#[test]
fn a_mask_makes_no_operator_an_equality() {
    let mut ip = syn();
    // tcp flags syn / syn,ack: a SYN matches, a SYN-ACK does not.
    let rule = m(FLAGS, Some(0x12), CmpOp::Implicit, num(0x02));
    assert!(hit(&rule, &view(&ip)));
    ip[20 + 13] = 0x12;
    assert!(!hit(&rule, &view(&ip)));
    // meta mark & 0xff == 0x1
    let mut pkt = view(&ip);
    pkt.mark = 0x301;
    let mark = m(Key::Meta(MetaKey::Mark), Some(0xff), CmpOp::Eq, num(1));
    assert!(hit(&mark, &pkt));
}

#[test]
fn ranges_prefixes_and_orderings() {
    let ip = syn();
    let pkt = view(&ip);
    let range = |op, lo, hi| m(DPORT, None, op, Rhs::Range(Value::Num(lo), Value::Num(hi)));
    assert!(hit(&range(CmpOp::Implicit, 1, 1024), &pkt));
    assert!(!hit(&range(CmpOp::Ne, 1, 1024), &pkt));
    assert!(hit(&range(CmpOp::Implicit, 22, 22), &pkt));
    assert!(!hit(&range(CmpOp::Implicit, 23, 1024), &pkt));
    assert!(hit(&m(DPORT, None, CmpOp::Lt, num(1024)), &pkt));
    assert!(!hit(&m(DPORT, None, CmpOp::Gt, num(22)), &pkt));
    assert!(hit(&m(DPORT, None, CmpOp::Ge, num(22)), &pkt));
    assert!(hit(&m(DPORT, None, CmpOp::Le, num(22)), &pkt));
    let saddr = Key::Payload(Field::IpSaddr);
    let prefix = |op, v, len| m(saddr, None, op, Rhs::Prefix(Value::Num(v), len));
    assert!(hit(&prefix(CmpOp::Implicit, 0x0a00_0000, 8), &pkt));
    assert!(hit(&prefix(CmpOp::Implicit, 0x0a00_0000, 30), &pkt));
    assert!(!hit(&prefix(CmpOp::Implicit, 0x0a00_0004, 30), &pkt));
    assert!(!hit(&prefix(CmpOp::Ne, 0x0a00_0000, 8), &pkt));
    assert!(hit(&prefix(CmpOp::Implicit, 0, 0), &pkt));
}

#[test]
fn interface_names_exact_and_wildcard() {
    let ip = syn();
    let pkt = view(&ip);
    let name = |op, n: &str| {
        m(
            Key::Meta(MetaKey::Iifname),
            None,
            op,
            Rhs::Value(vec![Value::Name(n.into())].into()),
        )
    };
    assert!(hit(&name(CmpOp::Implicit, "eth0"), &pkt));
    assert!(hit(&name(CmpOp::Implicit, "eth*"), &pkt));
    assert!(!hit(&name(CmpOp::Implicit, "eth"), &pkt));
    assert!(!hit(&name(CmpOp::Ne, "eth0"), &pkt));
    assert!(hit(&name(CmpOp::Ne, "eth1"), &pkt));
    // No output interface yet: the empty name, which is not "eth0".
    let out = m(
        Key::Meta(MetaKey::Oifname),
        None,
        CmpOp::Ne,
        Rhs::Value(vec![Value::Name("eth0".into())].into()),
    );
    assert!(hit(&out, &pkt));
}

#[test]
fn a_broken_read_never_matches_even_negated() {
    let ip = syn();
    let pkt = view(&ip);
    // udp dport != 53 on a TCP packet: the l4proto dependency fails first.
    let udp = m(Key::Payload(Field::UdpDport), None, CmpOp::Ne, num(53));
    assert!(!hit(&udp, &pkt));
}

#[test]
fn concatenated_values_compare_part_by_part() {
    let ip = syn();
    let pkt = view(&ip);
    let both = Match {
        left: Expr::Concat(vec![Key::Payload(Field::IpSaddr), DPORT].into()),
        mask: None,
        op: CmpOp::Implicit,
        right: Rhs::Value(vec![Value::Num(0x0a00_0002), Value::Num(22)].into()),
    };
    assert!(hit(&both, &pkt));
    let other = Match {
        right: Rhs::Value(vec![Value::Num(0x0a00_0002), Value::Num(80)].into()),
        ..both.clone()
    };
    assert!(!hit(&other, &pkt));
    let short = Match {
        right: Rhs::Value(vec![Value::Num(0x0a00_0002)].into()),
        ..both
    };
    assert!(!hit(&short, &pkt));
}

use super::*;
use crate::nft::eval_packet::name_num;
use crate::nft::expr::DataType;
use crate::nft::model::{Elem, SetFlags};

fn set(key: &[DataType], elems: &[&[(u128, u128)]]) -> Set {
    Set {
        name: "s".into(),
        handle: 1,
        key: key.into(),
        data: None,
        flags: SetFlags {
            interval: true,
            ..SetFlags::default()
        },
        elems: elems
            .iter()
            .map(|ivs| Elem {
                key: ivs
                    .iter()
                    .map(|&(lo, hi)| (Value::Num(lo), Value::Num(hi)))
                    .collect(),
                data: None,
                comment: None,
            })
            .collect(),
        comment: None,
        typeof_key: None,
    }
}

#[test]
fn single_values_and_intervals() {
    let s = set(
        &[DataType::InetService],
        &[&[(80, 80)], &[(22, 22)], &[(1000, 2000)], &[(443, 443)]],
    );
    let ix = SetIndex::build(&s);
    assert_eq!(ix.len(), 4);
    assert_eq!(ix.find(&[22]), Some(1));
    assert_eq!(ix.find(&[80]), Some(0));
    assert_eq!(ix.find(&[1000]), Some(2));
    assert_eq!(ix.find(&[1500]), Some(2));
    assert_eq!(ix.find(&[2000]), Some(2));
    assert_eq!(ix.find(&[2001]), None);
    assert_eq!(ix.find(&[21]), None);
    assert_eq!(ix.find(&[0]), None);
    assert_eq!(ix.find(&[u128::MAX]), None);
    // A key of the wrong shape matches nothing.
    assert_eq!(ix.find(&[22, 22]), None);
    for k in 0..3000 {
        assert_eq!(ix.find(&[k]), find_linear(&s, &[k]), "{k}");
    }
}

#[test]
fn a_wide_interval_before_narrow_ones_is_still_found() {
    // 10.0.0.0/8 starts before 10.1.2.3 and reaches past it: the walk back must not stop at
    // the narrow element that does not hold the key.
    let s = set(
        &[DataType::Ipv4Addr],
        &[&[(0x0a00_0000, 0x0aff_ffff)], &[(0x0a01_0203, 0x0a01_0203)]],
    );
    let ix = SetIndex::build(&s);
    assert_eq!(ix.find(&[0x0a05_0000]), Some(0));
    assert_eq!(ix.find(&[0x0a01_0203]), Some(1));
    assert_eq!(ix.find(&[0x0b00_0000]), None);
}

#[test]
fn concatenations_match_every_part() {
    // ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2-10.0.0.9 . 80-90 }
    let s = set(
        &[DataType::Ipv4Addr, DataType::InetService],
        &[
            &[(0x0a00_0001, 0x0a00_0001), (22, 22)],
            &[(0x0a00_0002, 0x0a00_0009), (80, 90)],
        ],
    );
    let ix = SetIndex::build(&s);
    assert_eq!(ix.find(&[0x0a00_0001, 22]), Some(0));
    assert_eq!(ix.find(&[0x0a00_0001, 80]), None);
    assert_eq!(ix.find(&[0x0a00_0005, 85]), Some(1));
    assert_eq!(ix.find(&[0x0a00_0005, 22]), None);
    assert_eq!(ix.find(&[0x0a00_000a, 85]), None);
    assert_eq!(ix.find(&[0x0a00_0001]), None);
}

#[test]
fn names_and_wildcards() {
    let mut s = set(&[DataType::Ifname], &[]);
    for n in ["eth0", "veth*", "br-1"] {
        let v = Value::Name(n.into());
        s.elems.push(Elem {
            key: vec![(v.clone(), v)].into(),
            data: None,
            comment: None,
        });
    }
    let ix = SetIndex::build(&s);
    assert_eq!(ix.find(&[name_num("eth0")]), Some(0));
    assert_eq!(ix.find(&[name_num("eth1")]), None);
    assert_eq!(ix.find(&[name_num("vethab12")]), Some(1));
    assert_eq!(ix.find(&[name_num("br-1")]), Some(2));
    assert_eq!(ix.find(&[name_num("br-10")]), None);
    assert_eq!(find_linear(&s, &[name_num("vethab12")]), Some(1));
}

#[test]
fn an_empty_set_holds_nothing() {
    let s = set(&[DataType::Ipv4Addr], &[]);
    let ix = SetIndex::build(&s);
    assert!(ix.is_empty());
    assert_eq!(ix.find(&[0]), None);
}

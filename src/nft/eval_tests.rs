//! The walk over hand-built rulesets (the parser's text builds them in the module's
//! other tests).

use super::*;
use crate::netfilter::{NatAction, NoConns, RejectWith};
use crate::nft::eval_testing::{echo_hdr, ipv4, syn, syn6, view};
use crate::nft::expr::{CtKey, Expr, Field, Key, MetaKey, Value};
use crate::nft::model::{
    BaseHook, Chain, ChainTarget, ChainType, CmpOp, Elem, ElemData, Limit, Log, Match, Nat,
    NatKind, NatTo, NftHook, Priority, Reject, Rhs, Rule, Set, SetFlags, SetRef, Stmt, Table,
    Verdict as V,
};

fn table(family: NftFamily, chains: Vec<Chain>) -> Ruleset {
    let mut rs = Ruleset::default();
    rs.tables.push(Table {
        family,
        name: "t".into(),
        handle: 1,
        dormant: false,
        comment: None,
        xt: false,
        chains,
        sets: vec![],
        last_handle: 0,
        xt_shared: None,
    });
    number(&mut rs);
    rs.relink();
    rs
}

/// Handles in order of appearance, as the kernel gives them to a new table's contents.
fn number(rs: &mut Ruleset) {
    let t = &mut rs.tables[0];
    let mut h = 0;
    for c in &mut t.chains {
        h += 1;
        c.handle = h;
        for r in &mut c.rules {
            h += 1;
            r.handle = h;
        }
    }
    t.last_handle = h;
}

fn base(name: &str, drop: bool, rules: Vec<Vec<Stmt>>) -> Chain {
    Chain {
        base: Some(BaseHook {
            kind: ChainType::Filter,
            hook: NftHook::Input,
            priority: Priority {
                value: 0,
                name: Some("filter"),
            },
            drop,
            device: None,
        }),
        ..regular(name, rules)
    }
}

fn regular(name: &str, rules: Vec<Vec<Stmt>>) -> Chain {
    Chain {
        name: name.into(),
        handle: 0,
        base: None,
        comment: None,
        rules: rules
            .into_iter()
            .map(|stmts| Rule {
                handle: 0,
                stmts,
                comment: None,
            })
            .collect(),
    }
}

fn is(key: Key, v: u128) -> Stmt {
    Stmt::Match(Match {
        left: Expr::One(key),
        mask: None,
        op: CmpOp::Implicit,
        right: Rhs::Value(vec![Value::Num(v)].into()),
    })
}

fn counter() -> Stmt {
    Stmt::Counter {
        packets: 0,
        bytes: 0,
    }
}

fn jump(to: &str) -> Stmt {
    Stmt::Verdict(V::Jump(ChainTarget {
        name: to.into(),
        index: 0,
    }))
}

fn goto(to: &str) -> Stmt {
    Stmt::Verdict(V::Goto(ChainTarget {
        name: to.into(),
        index: 0,
    }))
}

const DPORT: Key = Key::Payload(Field::TcpDport);

struct Run {
    out: ChainOutcome,
    notes: crate::netfilter::hooks::NoteLists,
}

impl Run {
    fn decisions(&self) -> Vec<&str> {
        self.notes.decisions.iter().map(|d| &**d).collect()
    }
}

fn run_at(st: &mut EvalState, rs: &mut Ruleset, chain: usize, ip: &[u8], now: Instant) -> Run {
    let pkt = view(ip);
    run_pkt(st, rs, chain, &pkt, now)
}

fn run_pkt(
    st: &mut EvalState,
    rs: &mut Ruleset,
    chain: usize,
    pkt: &PacketView<'_>,
    now: Instant,
) -> Run {
    let mut notes = Notes::default();
    let out = st.run(
        rs,
        ChainRef::new(0, chain),
        Hook::Input,
        pkt,
        now,
        &NoConns,
        &mut notes,
    );
    Run {
        out,
        notes: notes.into_lists(),
    }
}

fn verdict_of(rs: &mut Ruleset, ip: &[u8]) -> Verdict {
    let mut st = EvalState::default();
    st.sync(rs);
    run_at(&mut st, rs, 0, ip, Instant::ZERO).out.verdict
}

fn counters(rs: &Ruleset, chain: usize) -> Vec<u64> {
    rs.tables[0].chains[chain]
        .rules
        .iter()
        .flat_map(|r| r.stmts.iter())
        .filter_map(|s| match s {
            Stmt::Counter { packets, .. } => Some(*packets),
            _ => None,
        })
        .collect()
}

#[test]
fn first_verdict_decides_and_a_failed_match_ends_only_its_rule() {
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            false,
            vec![
                vec![is(DPORT, 80), counter(), Stmt::Verdict(V::Accept)],
                vec![counter(), is(DPORT, 22), counter(), Stmt::Verdict(V::Drop)],
                vec![counter(), Stmt::Verdict(V::Accept)],
            ],
        )],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Drop);
    assert_eq!(counters(&rs, 0), [0, 1, 1, 0]);
}

#[test]
fn policies_and_continue() {
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            true,
            vec![vec![counter(), Stmt::Verdict(V::Continue), counter()]],
        )],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Drop);
    // `continue` goes on with the rule's next statement, as the kernel's immediate does.
    assert_eq!(counters(&rs, 0), [1, 1]);
    let mut open = table(NftFamily::Inet, vec![base("input", false, vec![])]);
    assert_eq!(verdict_of(&mut open, &syn()), Verdict::Accept);
}

#[test]
fn jumps_return_and_gotos() {
    // input: jump a; counter      a: goto b      b: return      (then input's counter)
    let mut rs = table(
        NftFamily::Ip,
        vec![
            base("input", true, vec![vec![jump("a")], vec![counter()]]),
            regular("a", vec![vec![goto("b")], vec![counter()]]),
            regular("b", vec![vec![Stmt::Verdict(V::Return)], vec![counter()]]),
        ],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Drop);
    // b's return went back past a (a goto pushes nothing) to input's next rule.
    assert_eq!(counters(&rs, 0), [1]);
    assert_eq!(counters(&rs, 1), [0]);
    assert_eq!(counters(&rs, 2), [0]);
    // A goto from the base chain ends at the base chain's policy.
    let mut rs = table(
        NftFamily::Ip,
        vec![
            base("input", false, vec![vec![goto("a")], vec![counter()]]),
            regular("a", vec![vec![counter()]]),
        ],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Accept);
    assert_eq!(counters(&rs, 0), [0]);
    assert_eq!(counters(&rs, 1), [1]);
}

#[test]
fn a_return_in_the_base_chain_applies_the_policy() {
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            true,
            vec![
                vec![Stmt::Verdict(V::Return)],
                vec![Stmt::Verdict(V::Accept)],
            ],
        )],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Drop);
}

#[test]
fn seventeen_jumps_deep_drops() {
    // c0 jumps to c1 ... each chain jumps to the next; the last accepts.
    let depth = 18;
    let mut chains = vec![base("input", false, vec![vec![jump("c1")]])];
    for i in 1..depth {
        let next = match i + 1 < depth {
            true => jump(&format!("c{}", i + 1)),
            false => Stmt::Verdict(V::Accept),
        };
        chains.push(regular(&format!("c{i}"), vec![vec![next]]));
    }
    let mut rs = table(NftFamily::Ip, chains.clone());
    // 17 jumps: one more than the stack holds.
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Drop);
    chains.truncate(17);
    chains[16] = regular("c16", vec![vec![Stmt::Verdict(V::Accept)]]);
    let mut rs = table(NftFamily::Ip, chains);
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Accept);
}

fn anon(key: &[crate::nft::expr::DataType], elems: Vec<Elem>) -> SetRef {
    SetRef::Anon(Box::new(Set {
        name: "__set0".into(),
        handle: 0,
        key: key.into(),
        data: None,
        flags: SetFlags {
            anonymous: true,
            constant: true,
            ..SetFlags::default()
        },
        elems,
        comment: None,
        typeof_key: None,
    }))
}

fn elem(v: u128, data: Option<ElemData>) -> Elem {
    Elem {
        key: vec![(Value::Num(v), Value::Num(v))].into(),
        data,
        comment: None,
    }
}

#[test]
fn verdict_maps_decide_or_end_the_rule() {
    use crate::nft::expr::DataType;
    let map = anon(
        &[DataType::InetService],
        vec![
            elem(80, Some(ElemData::Verdict(V::Drop))),
            elem(
                22,
                Some(ElemData::Verdict(V::Jump(ChainTarget {
                    name: "ssh".into(),
                    index: 0,
                }))),
            ),
        ],
    );
    let mut rs = table(
        NftFamily::Inet,
        vec![
            base(
                "input",
                false,
                vec![
                    vec![Stmt::Vmap {
                        key: Expr::One(DPORT),
                        map,
                    }],
                    vec![counter()],
                ],
            ),
            regular("ssh", vec![vec![counter(), Stmt::Reject(Reject::TcpReset)]]),
        ],
    );
    assert_eq!(
        verdict_of(&mut rs, &syn()),
        Verdict::Reject(RejectWith::TcpReset)
    );
    // Port 443 is not in the map: the rule ends, the next one counts.
    let other = ipv4(
        [10, 0, 0, 2],
        [10, 0, 0, 1],
        6,
        &crate::nft::eval_testing::tcp_hdr(40000, 443, 0x02),
    );
    assert_eq!(verdict_of(&mut rs, &other), Verdict::Accept);
    assert_eq!(counters(&rs, 0), [1]);
}

#[test]
fn set_membership_and_its_negation() {
    use crate::nft::expr::DataType;
    let ports = |op| {
        Stmt::Match(Match {
            left: Expr::One(DPORT),
            mask: None,
            op,
            right: Rhs::Set(anon(
                &[DataType::InetService],
                vec![elem(22, None), elem(80, None)],
            )),
        })
    };
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            false,
            vec![
                vec![ports(CmpOp::Ne), Stmt::Verdict(V::Drop)],
                vec![ports(CmpOp::Implicit), counter()],
            ],
        )],
    );
    assert_eq!(verdict_of(&mut rs, &syn()), Verdict::Accept);
    assert_eq!(counters(&rs, 0), [1]);
}

#[test]
fn named_sets_are_found_and_updated() {
    use crate::nft::expr::DataType;
    let saddr = Expr::One(Key::Payload(Field::IpSaddr));
    let named = || SetRef::Named {
        name: "seen".into(),
        index: 0,
    };
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            false,
            vec![
                vec![
                    Stmt::Match(Match {
                        left: saddr.clone(),
                        mask: None,
                        op: CmpOp::Implicit,
                        right: Rhs::Set(named()),
                    }),
                    Stmt::Verdict(V::Drop),
                ],
                vec![Stmt::SetUpdate {
                    update: false,
                    key: saddr,
                    set: named(),
                }],
            ],
        )],
    );
    rs.tables[0].sets.push(Set {
        name: "seen".into(),
        handle: 9,
        key: vec![DataType::Ipv4Addr].into(),
        data: None,
        flags: SetFlags {
            dynamic: true,
            ..SetFlags::default()
        },
        elems: vec![],
        comment: None,
        typeof_key: None,
    });
    rs.relink();
    let mut st = EvalState::default();
    st.sync(&rs);
    let ip = syn();
    assert_eq!(
        run_at(&mut st, &mut rs, 0, &ip, Instant::ZERO).out.verdict,
        Verdict::Accept
    );
    assert_eq!(rs.tables[0].sets[0].elems.len(), 1);
    assert_eq!(
        run_at(&mut st, &mut rs, 0, &ip, Instant::ZERO).out.verdict,
        Verdict::Drop
    );
    assert_eq!(rs.tables[0].sets[0].elems.len(), 1);
}

#[test]
fn limits_keep_their_bucket_across_packets_and_syncs() {
    let lim = Stmt::Limit(Limit {
        rate: 1,
        per: 1,
        bytes: false,
        burst: 2,
        over: false,
    });
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            true,
            vec![vec![lim, Stmt::Verdict(V::Accept)]],
        )],
    );
    let mut st = EvalState::default();
    st.sync(&rs);
    let ip = syn();
    let at = |s: u64| Instant::from_nanos(s * 1_000_000_000);
    let mut seen = vec![];
    for _ in 0..3 {
        seen.push(run_at(&mut st, &mut rs, 0, &ip, at(1)).out.verdict);
    }
    assert_eq!(seen, [Verdict::Accept, Verdict::Accept, Verdict::Drop]);
    // Another command re-reads the ruleset: the bucket stays as it was.
    st.sync(&rs);
    assert_eq!(
        run_at(&mut st, &mut rs, 0, &ip, at(1)).out.verdict,
        Verdict::Drop
    );
    assert_eq!(
        run_at(&mut st, &mut rs, 0, &ip, at(2)).out.verdict,
        Verdict::Accept
    );
}

#[test]
fn nat_reject_marks_and_notrack() {
    let to = NatTo::Range {
        addrs: Some((Value::Num(0x0a00_0063), Value::Num(0x0a00_0063))),
        ports: Some((2222, 2222)),
    };
    let dnat = Stmt::Nat(Nat {
        kind: NatKind::Dnat,
        family: None,
        to,
        flags: 0,
    });
    let mut rs = table(NftFamily::Ip, vec![base("input", false, vec![vec![dnat]])]);
    let a = "10.0.0.99".parse().unwrap();
    assert_eq!(
        verdict_of(&mut rs, &syn()),
        Verdict::Nat(NatAction::Dnat {
            addrs: (a, a),
            ports: Some((2222, 2222)),
        })
    );
    let echo = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &echo_hdr());
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            false,
            vec![vec![Stmt::Reject(Reject::Icmp(13))]],
        )],
    );
    assert_eq!(
        verdict_of(&mut rs, &echo),
        Verdict::Reject(RejectWith::IcmpAdminProhibited)
    );
    // meta mark set 0x5; a later rule sees it; ct mark set 0x7; notrack.
    let mark = Key::Meta(MetaKey::Mark);
    let mut rs = table(
        NftFamily::Ip,
        vec![base(
            "input",
            false,
            vec![
                vec![Stmt::Mangle {
                    key: mark,
                    value: Value::Num(5),
                }],
                vec![
                    is(mark, 5),
                    Stmt::Mangle {
                        key: Key::Ct(CtKey::Mark),
                        value: Value::Num(7),
                    },
                    Stmt::Notrack,
                ],
            ],
        )],
    );
    let mut st = EvalState::default();
    st.sync(&rs);
    let out = run_at(&mut st, &mut rs, 0, &syn(), Instant::ZERO).out;
    assert_eq!(out.verdict, Verdict::Accept);
    assert_eq!(
        out.marks,
        Some(crate::netfilter::packet::Marks { mark: 5, ctmark: 7 })
    );
    assert!(out.untracked);
}

#[test]
fn log_lines_go_to_the_notes() {
    let log = Stmt::Log(Log {
        prefix: Some("in: ".into()),
        ..Log::default()
    });
    let mut rs = table(NftFamily::Ip, vec![base("input", false, vec![vec![log]])]);
    let mut st = EvalState::default();
    st.sync(&rs);
    let run = run_at(&mut st, &mut rs, 0, &syn(), Instant::ZERO);
    assert_eq!(run.notes.logs.len(), 1);
    assert!(run.notes.logs[0].starts_with("in: IN=eth0 OUT= MAC="));
    assert!(run.notes.decisions.is_empty());
}

#[test]
fn each_family_sees_its_own_packets() {
    let drop = || vec![base("input", true, vec![vec![Stmt::Verdict(V::Drop)]])];
    let mut ip6 = table(NftFamily::Ip6, drop());
    assert_eq!(verdict_of(&mut ip6, &syn()), Verdict::Accept);
    assert_eq!(verdict_of(&mut ip6, &syn6()), Verdict::Drop);
    let mut ip = table(NftFamily::Ip, drop());
    assert_eq!(verdict_of(&mut ip, &syn6()), Verdict::Accept);
    let mut inet = table(NftFamily::Inet, drop());
    assert_eq!(verdict_of(&mut inet, &syn()), Verdict::Drop);
    assert_eq!(verdict_of(&mut inet, &syn6()), Verdict::Drop);
    // Registered only on its family's hooks, an ip6 chain is not skipped for IPv4's sake.
    let st = EvalState::default();
    assert!(!st.passes_all(&ip6, ChainRef::new(0, 0)));
}

#[test]
fn passes_all_only_for_an_empty_accepting_chain_untraced() {
    let rs = table(NftFamily::Ip, vec![base("input", false, vec![])]);
    let mut st = EvalState::default();
    assert!(st.passes_all(&rs, ChainRef::new(0, 0)));
    st.tracing = true;
    assert!(!st.passes_all(&rs, ChainRef::new(0, 0)));
    let st = EvalState::default();
    let dropping = table(NftFamily::Ip, vec![base("input", true, vec![])]);
    assert!(!st.passes_all(&dropping, ChainRef::new(0, 0)));
    let ruled = table(
        NftFamily::Ip,
        vec![base("input", false, vec![vec![counter()]])],
    );
    assert!(!st.passes_all(&ruled, ChainRef::new(0, 0)));
}

#[test]
fn detail_names_the_deciding_rule_or_the_policy() {
    let mut rs = table(
        NftFamily::Ip,
        vec![
            base("input", true, vec![vec![jump("a")]]),
            regular(
                "a",
                vec![vec![is(DPORT, 22), counter(), Stmt::Verdict(V::Drop)]],
            ),
        ],
    );
    let mut st = EvalState {
        detail: true,
        ..EvalState::default()
    };
    st.sync(&rs);
    let run = run_at(&mut st, &mut rs, 0, &syn(), Instant::ZERO);
    assert_eq!(
        run.decisions(),
        ["nft ip t a: dropped by handle 4: tcp dport 22 counter packets 1 bytes 40 drop"]
    );
    let other = ipv4(
        [10, 0, 0, 2],
        [10, 0, 0, 1],
        6,
        &crate::nft::eval_testing::tcp_hdr(40000, 80, 0x02),
    );
    let run = run_at(&mut st, &mut rs, 0, &other, Instant::ZERO);
    assert_eq!(run.decisions(), ["nft ip t input: dropped by policy drop"]);
    // A new connection accepted by a rule is worth a note; by the policy it is not.
    let mut rs = table(
        NftFamily::Inet,
        vec![base(
            "input",
            false,
            vec![vec![is(DPORT, 22), Stmt::Verdict(V::Accept)]],
        )],
    );
    st.sync(&rs);
    let run = run_at(&mut st, &mut rs, 0, &syn(), Instant::ZERO);
    assert_eq!(
        run.decisions(),
        ["nft inet t input: new connection accepted by handle 2: tcp dport 22 accept"]
    );
    let run = run_at(&mut st, &mut rs, 0, &other, Instant::ZERO);
    assert!(run.notes.decisions.is_empty());
}

#[test]
fn tracing_tells_the_whole_walk() {
    let mut rs = table(
        NftFamily::Ip,
        vec![
            base(
                "input",
                true,
                vec![vec![is(DPORT, 80)], vec![jump("a")], vec![counter()]],
            ),
            regular("a", vec![vec![is(DPORT, 23)], vec![counter()]]),
        ],
    );
    let mut st = EvalState {
        tracing: true,
        ..EvalState::default()
    };
    st.sync(&rs);
    let run = run_at(&mut st, &mut rs, 0, &syn(), Instant::ZERO);
    assert_eq!(
        run.decisions(),
        [
            "nft ip t input: handle 2 no match, handle 3: jump a (verdict jump a), \
             a handle 6 no match, a handle 7: counter packets 1 bytes 40 (verdict continue), \
             a verdict continue, handle 4: counter packets 1 bytes 40 (verdict continue), \
             policy drop => drop"
        ]
    );
}

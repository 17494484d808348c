//! What nft does to a rule between reading it and listing it: a protocol match that only
//! states what a later header field implies (`meta l4proto tcp tcp dport 22`) is dropped, as
//! nft drops the dependency it would have added itself; `th` becomes `tcp`/`udp` when the
//! protocol is known; and rules that cannot match are refused.

use super::NftFamily;
use super::expr::{Expr, Field, Key, MetaKey, Value};
use super::lex::Fault;
use super::model::{CmpOp, Match, Nat, NatTo, Rhs, Stmt};

/// The transport protocol a header field belongs to, and its name.
fn field_proto(k: &Key) -> Option<(u8, &'static str)> {
    match k {
        Key::Payload(Field::TcpSport | Field::TcpDport | Field::TcpFlags) => Some((6, "tcp")),
        Key::Payload(Field::UdpSport | Field::UdpDport) => Some((17, "udp")),
        Key::Payload(Field::IcmpType | Field::IcmpCode) => Some((1, "icmp")),
        Key::Payload(Field::Icmpv6Type) => Some((58, "icmpv6")),
        _ => None,
    }
}

/// The network family a header field belongs to (2 ipv4, 10 ipv6).
fn field_family(k: &Key) -> Option<u8> {
    match k {
        Key::Payload(
            Field::IpSaddr
            | Field::IpDaddr
            | Field::IpProtocol
            | Field::IpTtl
            | Field::IpLength
            | Field::IpDscp,
        ) => Some(2),
        Key::Payload(
            Field::Ip6Saddr | Field::Ip6Daddr | Field::Ip6Nexthdr | Field::Ip6Hoplimit,
        ) => Some(10),
        _ => None,
    }
}

/// The expressions a statement reads.
pub(super) fn exprs(s: &Stmt) -> Option<&Expr> {
    match s {
        Stmt::Match(m) => Some(&m.left),
        Stmt::Vmap { key, .. } => Some(key),
        Stmt::SetUpdate { key, .. } => Some(key),
        Stmt::Nat(Nat {
            to: NatTo::Map { key, .. },
            ..
        }) => Some(key),
        _ => None,
    }
}

/// `KEY VALUE` with one value and no mask or operator: what a dependency looks like.
fn plain_eq(s: &Stmt) -> Option<(Key, u128)> {
    match s {
        Stmt::Match(Match {
            left: Expr::One(k),
            mask: None,
            op: CmpOp::Implicit | CmpOp::Eq,
            right: Rhs::Value(v),
        }) => match v.as_ref() {
            [Value::Num(n)] => Some((*k, *n)),
            _ => None,
        },
        _ => None,
    }
}

/// Drops redundant dependencies and refuses conflicting protocols (see the module's doc).
pub fn dependencies(
    stmts: &mut Vec<Stmt>,
    spans: &[(usize, usize)],
    family: NftFamily,
) -> Result<(), Fault> {
    let mut proto: Option<&'static str> = None;
    for (s, &span) in stmts.iter().zip(spans) {
        if let Some((Key::Meta(MetaKey::Nfproto), _)) =
            plain_eq(s).or_else(|| exprs(s).and_then(|e| e.keys().first().map(|k| (*k, 0))))
            && family != NftFamily::Inet
        {
            return Err(Fault::new(
                "meta nfproto is only useful in the inet family",
                (span.0, span.0 + "meta nfproto".len()),
            ));
        }
        for k in exprs(s).map_or(&[][..], |e| e.keys()) {
            if let Some((_, name)) = field_proto(k) {
                if let Some(p) = proto.filter(|p| *p != name) {
                    let len = super::print_stmt::key_name(k).len();
                    return Err(Fault::new(
                        format!("conflicting protocols specified: {p} vs. {name}"),
                        (span.0, span.0 + len),
                    ));
                }
                proto = Some(name);
            }
        }
    }
    reset_dependency(stmts, family);
    let mut i = 0;
    while i < stmts.len() {
        let Some((k, v)) = plain_eq(&stmts[i]) else {
            i += 1;
            continue;
        };
        let later = |stmts: &[Stmt], want: &dyn Fn(&Key) -> bool| {
            stmts[i + 1..]
                .iter()
                .any(|s| exprs(s).is_some_and(|e| e.keys().iter().any(want)))
        };
        let redundant = match k {
            Key::Meta(MetaKey::L4proto) | Key::Payload(Field::IpProtocol | Field::Ip6Nexthdr) => {
                let implied = later(stmts, &|k| {
                    field_proto(k).is_some_and(|p| u128::from(p.0) == v)
                });
                if !implied && (v == 6 || v == 17) && later(stmts, &|k| is_th(k)) {
                    retype_th(&mut stmts[i + 1..], v == 6);
                    true
                } else {
                    implied
                }
            }
            Key::Meta(MetaKey::Nfproto) => later(stmts, &|k| field_family(k) == Some(v as u8)),
            _ => false,
        };
        if redundant {
            stmts.remove(i);
        } else {
            i += 1;
        }
    }
    if matches!(family, NftFamily::Bridge | NftFamily::Netdev) {
        link_dependencies(stmts);
    }
    Ok(())
}

/// In the `bridge` and `netdev` families the network protocol is a link-layer match: nft 1.0.6
/// drops a plain `ether type`/`meta protocol` that a later IPv4 or IPv6 field (or ICMP's)
/// implies, and one followed by a `meta l4proto` match whatever its value (an `ether type
/// arp meta l4proto icmp` lists as `meta l4proto icmp`), but keeps it before a TCP or UDP
/// field (`ether type ip tcp dport 22`).
fn link_dependencies(stmts: &mut Vec<Stmt>) {
    let mut i = 0;
    while i < stmts.len() {
        let dep = plain_eq(&stmts[i]).filter(|(k, _)| {
            matches!(
                k,
                Key::Payload(Field::EtherType) | Key::Meta(MetaKey::Protocol)
            )
        });
        let Some((_, v)) = dep else {
            i += 1;
            continue;
        };
        let redundant = stmts[i + 1..].iter().any(|s| {
            exprs(s).is_some_and(|e| {
                e.keys().iter().any(|k| {
                    let family = match k {
                        Key::Payload(Field::IcmpType | Field::IcmpCode) => Some(2),
                        Key::Payload(Field::Icmpv6Type) => Some(10),
                        k => field_family(k),
                    };
                    let ethertype = family.map(|f| if f == 2 { 0x0800 } else { 0x86dd });
                    ethertype == Some(v) || *k == Key::Meta(MetaKey::L4proto)
                })
            })
        });
        if redundant {
            stmts.remove(i);
        } else {
            i += 1;
        }
    }
}

fn is_th(k: &Key) -> bool {
    matches!(k, Key::Payload(Field::ThSport | Field::ThDport))
}

/// `th sport`/`th dport` printed as the protocol's own fields once the protocol is known.
fn retype_th(stmts: &mut [Stmt], tcp: bool) {
    let fix = |k: &mut Key| {
        *k = match (*k, tcp) {
            (Key::Payload(Field::ThSport), true) => Key::Payload(Field::TcpSport),
            (Key::Payload(Field::ThDport), true) => Key::Payload(Field::TcpDport),
            (Key::Payload(Field::ThSport), false) => Key::Payload(Field::UdpSport),
            (Key::Payload(Field::ThDport), false) => Key::Payload(Field::UdpDport),
            (k, _) => k,
        }
    };
    for s in stmts {
        if let Stmt::Match(Match { left, .. }) = s {
            match left {
                Expr::One(k) => fix(k),
                Expr::Concat(ks) => ks.iter_mut().for_each(fix),
            }
        }
    }
}

/// `reject with tcp reset` needs a TCP packet: in an inet table nft adds `meta l4proto tcp`
/// when no TCP match precedes it (and lists it); in ip and ip6 tables a protocol match is
/// its dependency: it stays in the rule (a UDP packet fails it, where without it the
/// reject drops the packet, sending nothing), and the listing leaves it out
/// ([`hidden_reset_dependency`]).
fn reset_dependency(stmts: &mut Vec<Stmt>, family: NftFamily) {
    let Some(r) = stmts
        .iter()
        .position(|s| matches!(s, Stmt::Reject(super::model::Reject::TcpReset)))
    else {
        return;
    };
    let tcp_before = stmts[..r].iter().any(|s| {
        exprs(s).is_some_and(|e| {
            e.keys()
                .iter()
                .any(|k| field_proto(k).is_some_and(|p| p.0 == 6))
        })
    });
    if family == NftFamily::Inet
        && !tcp_before
        && !stmts[..r].iter().any(|s| is_reset_dependency(s, true))
    {
        stmts.insert(
            r,
            Stmt::Match(Match {
                left: Expr::One(Key::Meta(MetaKey::L4proto)),
                mask: None,
                op: CmpOp::Implicit,
                right: Rhs::Value(Box::new([Value::Num(6)])),
            }),
        );
    }
}

/// A match that makes a packet TCP, as `reject with tcp reset` depends on.
fn is_reset_dependency(s: &Stmt, inet: bool) -> bool {
    match plain_eq(s) {
        Some((Key::Meta(MetaKey::L4proto), 6)) => true,
        Some((Key::Payload(Field::IpProtocol | Field::Ip6Nexthdr), 6)) => !inet,
        _ => false,
    }
}

/// The statement a listing of an ip or ip6 table leaves out: the last TCP protocol match
/// before `reject with tcp reset`, which nft takes as the reset's dependency.
pub(super) fn hidden_reset_dependency(stmts: &[Stmt], family: NftFamily) -> Option<usize> {
    if family == NftFamily::Inet {
        return None;
    }
    let r = stmts
        .iter()
        .position(|s| matches!(s, Stmt::Reject(super::model::Reject::TcpReset)))?;
    stmts[..r]
        .iter()
        .rposition(|s| is_reset_dependency(s, false))
}

//! Unit tests: parse errors with exact columns, literal forms, nesting limits.

use super::fields::Field;
use super::lexer::CmpOp;
use super::parse::Node;
use super::values::Literal;
use super::*;

/// The literal a one-comparison filter parses to.
fn lit(text: &str) -> Literal {
    match Filter::parse(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .root
    {
        Some(Node::Cmp { lit, .. }) => lit,
        other => panic!("{text:?} parsed to {other:?}"),
    }
}

fn num(value: u128) -> Literal {
    Literal::Num {
        value,
        mask: u128::MAX,
    }
}

#[test]
fn literal_forms() {
    let cases: &[(&str, Literal)] = &[
        ("ip.ttl == 64", num(64)),
        ("ip.ttl == 0x40", num(64)),
        ("ip.ttl == 0X40", num(64)),
        ("ip.ttl == 0b1000000", num(64)),
        ("ip.ttl == 0100", num(64)),
        ("ip.ttl == 0", num(0)),
        ("ip.ttl == 255", num(255)),
        ("frame.len == 4294967295", num(u32::MAX.into())),
        ("tcp.flags.syn == 7", num(1)),
        ("tcp.flags.syn == 0x0", num(0)),
        ("tcp.flags.syn == True", num(1)),
        ("tcp.flags.syn == FALSE", num(0)),
        ("tcp.flags.syn == 18446744073709551615", num(1)),
        (
            "ip.src == 172.17.0.3",
            Literal::Num {
                value: 0xac11_0003,
                mask: 0xffff_ffff,
            },
        ),
        (
            "ip.src == 172.17.0.3/24",
            Literal::Num {
                value: 0xac11_0000,
                mask: 0xffff_ff00,
            },
        ),
        (
            "ip.src == 172.16.0.0/12",
            Literal::Num {
                value: 0xac10_0000,
                mask: 0xfff0_0000,
            },
        ),
        ("ip.src == 1.2.3.4/0", Literal::Num { value: 0, mask: 0 }),
        (
            "ip.src == 1.2.3.4/32",
            Literal::Num {
                value: 0x0102_0304,
                mask: 0xffff_ffff,
            },
        ),
        (
            "ipv6.src == 2001:db8::/32",
            Literal::Num {
                value: 0x2001_0db8 << 96,
                mask: 0xffff_ffff << 96,
            },
        ),
        ("ipv6.dst == fe80::1", num((0xfe80 << 112) | 1)),
        ("ipv6.addr == ::/0", Literal::Num { value: 0, mask: 0 }),
        ("eth.src == 02:42:AC:11:00:02", num(0x0242_ac11_0002)),
        ("eth.src == 02-42-ac-11-00-02", num(0x0242_ac11_0002)),
        ("eth.src == 02.42.ac.11.00.02", num(0x0242_ac11_0002)),
        ("eth.src == 0242.ac11.0002", num(0x0242_ac11_0002)),
        ("eth.src == 0242ac110002", num(0x0242_ac11_0002)),
        (
            "frame.comment == \"a\\\"b\\\\c\\n\"",
            Literal::Str("a\"b\\c\n".into()),
        ),
        (
            "frame.comment contains \"\\x41\\102\\t\"",
            Literal::Str("AB\t".into()),
        ),
        ("frame.comment contains \"é\"", Literal::Str("é".into())),
    ];
    for (text, want) in cases {
        assert_eq!(&lit(text), want, "{text:?}");
    }
}

#[test]
fn operators_and_precedence() {
    let op = |text: &str| match Filter::parse(text).unwrap().root {
        Some(Node::Cmp { op, .. }) => op,
        other => panic!("{other:?}"),
    };
    let ops = [
        ("==", "eq", CmpOp::Eq),
        ("!=", "ne", CmpOp::Ne),
        ("<", "lt", CmpOp::Lt),
        ("<=", "le", CmpOp::Le),
        (">", "gt", CmpOp::Gt),
        (">=", "ge", CmpOp::Ge),
    ];
    for (sym, word, want) in ops {
        assert_eq!(op(&format!("ip.ttl {sym} 1")), want);
        assert_eq!(op(&format!("ip.ttl {word} 1")), want);
        assert_eq!(op(&format!("ip.ttl{sym}1")), want);
    }
    assert_eq!(op("frame.comment contains \"x\""), CmpOp::Contains);
    use Node::{And, Exists, Not, Or};
    let tree = |t: &str| Filter::parse(t).unwrap().root.unwrap();
    let (arp, tcp, udp) = (Exists(Field::Arp), Exists(Field::Tcp), Exists(Field::Udp));
    let and = |a: &Node, b: &Node| And(vec![a.clone(), b.clone()]);
    assert_eq!(
        tree("arp || tcp && udp"),
        Or(vec![arp.clone(), and(&tcp, &udp)])
    );
    assert_eq!(
        tree("arp and tcp or udp"),
        Or(vec![and(&arp, &tcp), udp.clone()])
    );
    assert_eq!(
        tree("(arp || tcp) && udp"),
        And(vec![Or(vec![arp.clone(), tcp.clone()]), udp.clone()])
    );
    assert_eq!(tree("!arp && tcp"), and(&Not(Box::new(arp.clone())), &tcp));
    assert_eq!(
        tree("not (arp or tcp)"),
        Not(Box::new(Or(vec![arp.clone(), tcp.clone()])))
    );
    assert_eq!(tree("arp || tcp || udp"), Or(vec![arp.clone(), tcp, udp]));
    assert_eq!(tree("!!arp"), Not(Box::new(Not(Box::new(arp)))));
    assert!(Filter::parse("").unwrap().root.is_none());
    assert!(Filter::parse(" \t ").unwrap().root.is_none());
}

#[test]
fn errors_have_columns() {
    let cases: &[(&str, usize, &str)] = &[
        ("ip.srcc == 1.2.3.4", 1, "did you mean `ip.src`"),
        ("tcp.flags.rst", 1, "tcp.flags.reset"),
        ("tcp.seq == 1", 1, "relative sequence numbers"),
        ("ip.ttl = 64", 8, "did you mean `==`"),
        ("ip.ttl === 64", 8, "`===`"),
        ("ip.ttl matches \"x\"", 8, "unknown operator `matches`"),
        ("arp ip", 5, "missing `&&` or `||`"),
        ("ip.ttl == 64 64", 14, "unexpected `64`"),
        ("ip.ttl ==", 10, "expected a value"),
        ("== 64", 1, "expected a field"),
        ("arp &&", 7, "unexpected end"),
        ("(arp", 5, "close the `(` at column 1"),
        ("arp)", 4, "unmatched `)`"),
        ("ip.ttl == 256", 11, "too big"),
        ("ip.ttl == 08", 11, "octal"),
        ("ip.ttl == -1", 11, "negative"),
        ("ip.ttl == \"64\"", 11, "string"),
        ("ip.src == 172.17.0.256", 11, "IPv4"),
        ("ip.src == 172.17.0.0/33", 11, "prefix"),
        ("eth.src == 02:42-ac:11:00:02", 12, "MAC"),
        ("eth.src == 02:42:ac:11:00", 12, "MAC"),
        (
            "ip.src contains 1.2.3.4",
            8,
            "`contains` needs a string field",
        ),
        ("ip == 1", 4, "protocol"),
        ("frame.comment == MASQ", 18, "double-quoted"),
        ("frame.comment contains \"abc", 24, "unterminated"),
        ("frame.comment contains \"a\\qb\"", 26, "not a valid escape"),
        ("ip.ttl == ip.proto", 11, "two fields"),
        ("tcp.flags.syn == true", 18, "not a valid number"),
        ("ip.ttl == 64 # x", 14, "unexpected character `#`"),
        ("ip.ttl == 64 & arp", 14, "`&&`"),
        (
            "ip.TTL == 64",
            1,
            "unsupported field `ip.TTL`; did you mean `ip.ttl`",
        ),
        ("AND", 1, "unknown or unsupported field `AND`"),
        ("64 == ip.ttl", 1, "the field goes on the left"),
        ("é && nope", 1, "unexpected character `é`"),
        ("arp && é", 8, "unexpected character `é`"),
        ("ip.src == \"é\" x", 11, "cannot be compared with a string"),
    ];
    for &(text, column, needle) in cases {
        let e = Filter::parse(text).expect_err(text);
        assert_eq!(e.column, column, "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e} lacks {needle:?}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}arp{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Filter::parse(&deep).unwrap_err().message.contains("nested"));
    let nots = format!("{}arp", "!".repeat(10_000));
    assert!(Filter::parse(&nots).is_err());
    let ok = format!("{}arp{}", "(".repeat(60), ")".repeat(60));
    assert!(Filter::parse(&ok).is_ok());
    // Long flat chains are not nested.
    let chain = vec!["tcp"; 20_000].join(" || ") + " || arp";
    let chain = Filter::parse(&chain).unwrap();
    assert!(!chain.matches(&[], None));
}

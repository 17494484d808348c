//! Keys (`ip saddr`, `meta l4proto`, `ct original ip daddr`, `fib daddr . iif type`),
//! concatenations, the right side of a match, and set elements, each value read as its
//! key's datatype.

use super::expr::{CtDir, CtKey, DataType, Expr, FibFlags, FibResult, Field, Key, MetaKey};
use super::expr::{TupleKey, Value};
use super::lex::{Fault, Span, Tok};
use super::model::{ChainTarget, Elem, ElemData, Verdict};
use super::parse::Cursor;
use super::value;

/// A match's right side as written, before it becomes a [`super::model::Rhs`].
pub enum RhsAst {
    Values(Vec<Value>),
    Prefix(Value, u8),
    Range(Value, Value),
    Anon(Vec<Elem>, (usize, usize)),
    Named(Box<str>, (usize, usize)),
}

impl<'a> Cursor<'a> {
    /// The key the next words name, if they name one.
    pub fn key(&mut self) -> Result<Option<Key>, Fault> {
        let Some(w) = self.word() else {
            return Ok(None);
        };
        let field = |c: &mut Cursor, list: &[(&str, Field)]| -> Result<Option<Key>, Fault> {
            c.pos += 1;
            let t = c.word();
            match list.iter().find(|(n, _)| Some(*n) == t) {
                Some(&(_, f)) => {
                    c.pos += 1;
                    Ok(Some(Key::Payload(f)))
                }
                None => Err(c.unexpected(None)),
            }
        };
        let key = match w {
            "ether" => field(
                self,
                &[
                    ("saddr", Field::EtherSaddr),
                    ("daddr", Field::EtherDaddr),
                    ("type", Field::EtherType),
                ],
            )?,
            "ip" => field(
                self,
                &[
                    ("saddr", Field::IpSaddr),
                    ("daddr", Field::IpDaddr),
                    ("protocol", Field::IpProtocol),
                    ("ttl", Field::IpTtl),
                    ("length", Field::IpLength),
                    ("dscp", Field::IpDscp),
                ],
            )?,
            "ip6" => field(
                self,
                &[
                    ("saddr", Field::Ip6Saddr),
                    ("daddr", Field::Ip6Daddr),
                    ("nexthdr", Field::Ip6Nexthdr),
                    ("hoplimit", Field::Ip6Hoplimit),
                ],
            )?,
            "tcp" => field(
                self,
                &[
                    ("sport", Field::TcpSport),
                    ("dport", Field::TcpDport),
                    ("flags", Field::TcpFlags),
                ],
            )?,
            "udp" => field(
                self,
                &[("sport", Field::UdpSport), ("dport", Field::UdpDport)],
            )?,
            "th" => field(
                self,
                &[("sport", Field::ThSport), ("dport", Field::ThDport)],
            )?,
            "icmp" => field(
                self,
                &[("type", Field::IcmpType), ("code", Field::IcmpCode)],
            )?,
            "icmpv6" => field(self, &[("type", Field::Icmpv6Type)])?,
            "meta" => {
                self.pos += 1;
                match self.word().and_then(meta_key) {
                    Some(m) => {
                        self.pos += 1;
                        Some(Key::Meta(m))
                    }
                    None => return Err(self.unexpected(None)),
                }
            }
            "iifname" | "oifname" | "iif" | "oif" | "mark" | "pkttype" => {
                self.pos += 1;
                meta_key(w).map(Key::Meta)
            }
            "ct" => {
                self.pos += 1;
                Some(self.ct_key()?)
            }
            "fib" => {
                self.pos += 1;
                Some(self.fib_key()?)
            }
            _ => None,
        };
        Ok(key)
    }

    fn ct_key(&mut self) -> Result<Key, Fault> {
        let simple = match self.word() {
            Some("state") => Some(CtKey::State),
            Some("status") => Some(CtKey::Status),
            Some("mark") => Some(CtKey::Mark),
            Some("direction") => Some(CtKey::Direction),
            _ => None,
        };
        if let Some(k) = simple {
            self.pos += 1;
            return Ok(Key::Ct(k));
        }
        let dir = match self.word() {
            Some("original") => CtDir::Original,
            Some("reply") => CtDir::Reply,
            _ => return Err(self.unexpected(None)),
        };
        self.pos += 1;
        let v6 = if self.eat("ip6") {
            true
        } else {
            self.eat("ip");
            false
        };
        let k = match (self.word(), v6) {
            (Some("saddr"), false) => TupleKey::IpSaddr,
            (Some("daddr"), false) => TupleKey::IpDaddr,
            (Some("saddr"), true) => TupleKey::Ip6Saddr,
            (Some("daddr"), true) => TupleKey::Ip6Daddr,
            (Some("proto-src"), _) => TupleKey::ProtoSrc,
            (Some("proto-dst"), _) => TupleKey::ProtoDst,
            _ => return Err(self.unexpected(None)),
        };
        self.pos += 1;
        Ok(Key::CtTuple(dir, k))
    }

    fn fib_key(&mut self) -> Result<Key, Fault> {
        let flag = |w: Option<&str>| match w {
            Some("saddr") => Some(FibFlags::SADDR),
            Some("daddr") => Some(FibFlags::DADDR),
            Some("mark") => Some(FibFlags::MARK),
            Some("iif") => Some(FibFlags::IIF),
            Some("oif") => Some(FibFlags::OIF),
            _ => None,
        };
        let Some(mut flags) = flag(self.word()) else {
            return Err(self.unexpected(None));
        };
        self.pos += 1;
        // More flags follow a dot: `fib daddr . iif type`.
        while self.is(".") {
            let next = self.peek_at(1);
            match flag((next.kind == Tok::Word).then(|| self.text(next))) {
                Some(f) => {
                    flags |= f;
                    self.pos += 2;
                }
                None => break,
            }
        }
        let r = match self.word() {
            Some("type") => FibResult::Type,
            Some("oif") => FibResult::Oif,
            Some("oifname") => FibResult::Oifname,
            _ => return Err(self.unexpected(None)),
        };
        self.pos += 1;
        Ok(Key::Fib(FibFlags(flags), r))
    }

    /// A key or a concatenation `a . b . c`, with its span.
    pub fn expr(&mut self) -> Result<Option<(Expr, Span)>, Fault> {
        let start = self.peek().start;
        let Some(first) = self.key()? else {
            return Ok(None);
        };
        let mut keys = vec![first];
        while self.is(".") {
            self.pos += 1;
            match self.key()? {
                Some(k) => keys.push(k),
                None => return Err(self.unexpected(None)),
            }
        }
        let e = if keys.len() == 1 {
            Expr::One(first)
        } else {
            Expr::Concat(keys.into())
        };
        Ok(Some((e, self.span_from(start))))
    }

    /// One word (or quoted string) read as `dt`, with `a|b` and `a,b` bit lists of mask types.
    pub fn value(&mut self, dt: DataType) -> Result<Value, Fault> {
        let t = self.peek();
        if !matches!(t.kind, Tok::Word | Tok::Quoted) {
            return Err(self.unexpected(None));
        }
        self.pos += 1;
        let mut v = value::parse(dt, self.text(t), (t.start, t.end))?;
        while dt.is_bitmask() && self.is_punct(b'|') {
            self.pos += 1;
            let t = self.peek();
            self.pos += 1;
            let more = value::parse(dt, self.text(t), (t.start, t.end))?;
            v = Value::Num(v.num() | more.num());
        }
        Ok(v)
    }

    /// A part of an element or right side: a value, `lo-hi`, or `addr/len`, as an interval.
    pub fn interval(&mut self, dt: DataType) -> Result<(Value, Value, Shape), Fault> {
        let t = self.peek();
        if t.kind == Tok::Word && !dt.is_bitmask() {
            let text = self.text(t);
            let at = (t.start, t.end);
            if value::parse(dt, text, at).is_err() {
                if let Some((a, len)) = text.split_once('/') {
                    self.pos += 1;
                    let v = value::parse(dt, a, (t.start, t.start + a.len()))?;
                    let bits = dt.bits();
                    let len: u32 = match len.parse() {
                        Ok(l) if l <= bits => l,
                        _ => return Err(Fault::new("Invalid prefix length", at)),
                    };
                    let host = if bits - len >= 128 {
                        u128::MAX
                    } else {
                        (1u128 << (bits - len)) - 1
                    };
                    let lo = v.num() & !host;
                    return Ok((
                        Value::Num(lo),
                        Value::Num(lo | host),
                        Shape::Prefix(len as u8),
                    ));
                }
                if let Some((a, b)) = text.split_once('-') {
                    self.pos += 1;
                    let lo = value::parse(dt, a, (t.start, t.start + a.len()))?;
                    let hi = value::parse(dt, b, (t.start + a.len() + 1, t.end))?;
                    if hi < lo {
                        return Err(Fault::new("Range has zero or negative size", at));
                    }
                    return Ok((lo, hi, Shape::Range));
                }
            }
        }
        let v = self.value(dt)?;
        Ok((v.clone(), v, Shape::Value))
    }

    /// A match's right side for a left side of types `types`.
    pub fn rhs(&mut self, types: &[DataType]) -> Result<RhsAst, Fault> {
        if self.is_punct(b'{') {
            let start = self.bump().start;
            let elems = self.elems(types, None)?;
            return Ok(RhsAst::Anon(elems, self.span_from(start)));
        }
        if self.is_punct(b'@') {
            let start = self.bump().start;
            let n = self.name()?;
            return Ok(RhsAst::Named(n.text, (start, n.at.1)));
        }
        if types.len() == 1 && types[0].is_bitmask() {
            // `established,related`: a list of bits, any of which matches.
            let mut v = self.value(types[0])?.num();
            while self.is_punct(b',') && self.peek_at(1).kind == Tok::Word {
                self.pos += 1;
                v |= self.value(types[0])?.num();
            }
            return Ok(RhsAst::Values(vec![Value::Num(v)]));
        }
        if types.len() == 1 {
            let (lo, hi, shape) = self.interval(types[0])?;
            return Ok(match shape {
                Shape::Value => RhsAst::Values(vec![lo]),
                Shape::Prefix(len) if u32::from(len) == types[0].bits() => RhsAst::Values(vec![lo]),
                Shape::Prefix(len) => RhsAst::Prefix(lo, len),
                Shape::Range => RhsAst::Range(lo, hi),
            });
        }
        let mut vals = Vec::new();
        for (i, &dt) in types.iter().enumerate() {
            if i > 0 {
                self.dot()?;
            }
            vals.push(self.value(dt)?);
        }
        Ok(RhsAst::Values(vals))
    }

    fn dot(&mut self) -> Result<(), Fault> {
        if self.eat(".") {
            Ok(())
        } else {
            Err(self.unexpected(None))
        }
    }

    /// The elements up to `}` (the `{` taken): keys of types `key`, and for a map, `: DATA`
    /// of types `data`.
    pub fn elems(
        &mut self,
        key: &[DataType],
        data: Option<&[DataType]>,
    ) -> Result<Vec<Elem>, Fault> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat_punct(b'}') {
                break;
            }
            if self.is_punct(b'{') {
                // A `$var` holding a set: its elements join this one.
                self.pos += 1;
                out.extend(self.elems(key, data)?);
            } else {
                let start = self.peek().start;
                out.push(self.elem(key, data)?);
                let span = self.span_from(start);
                self.elem_spans.push(span);
            }
            self.skip_newlines();
            if self.eat_punct(b',') {
                continue;
            }
            if self.eat_punct(b'}') {
                break;
            }
            return Err(self.unexpected(Some("comma or '}'")));
        }
        Ok(out)
    }

    fn elem(&mut self, key: &[DataType], data: Option<&[DataType]>) -> Result<Elem, Fault> {
        let mut parts = Vec::with_capacity(key.len());
        for (i, &dt) in key.iter().enumerate() {
            if i > 0 {
                self.dot()?;
            }
            let (lo, hi, _) = self.interval(dt)?;
            parts.push((lo, hi));
        }
        let mut comment = None;
        if self.eat("comment") {
            comment = Some(self.name()?.text);
        }
        let data = match data {
            None => None,
            Some(types) => {
                if !self.eat(":") {
                    return Err(self.unexpected(Some("colon")));
                }
                if types == [DataType::Verdict] {
                    Some(ElemData::Verdict(
                        self.verdict()?.ok_or_else(|| self.unexpected(None))?,
                    ))
                } else {
                    let mut vals = Vec::new();
                    for (i, &dt) in types.iter().enumerate() {
                        if i > 0 {
                            self.dot()?;
                        }
                        vals.push(self.value(dt)?);
                    }
                    Some(ElemData::Values(vals.into()))
                }
            }
        };
        Ok(Elem {
            key: parts.into(),
            data,
            comment,
        })
    }

    /// A verdict, if one is next.
    pub fn verdict(&mut self) -> Result<Option<Verdict>, Fault> {
        let v = match self.word() {
            Some("accept") => Verdict::Accept,
            Some("drop") => Verdict::Drop,
            Some("continue") => Verdict::Continue,
            Some("return") => Verdict::Return,
            Some(w @ ("jump" | "goto")) => {
                self.pos += 1;
                let n = self.name()?;
                let t = ChainTarget {
                    name: n.text,
                    index: u32::MAX,
                };
                return Ok(Some(if w == "jump" {
                    Verdict::Jump(t)
                } else {
                    Verdict::Goto(t)
                }));
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(v))
    }
}

/// How an interval was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Value,
    Prefix(u8),
    Range,
}

/// `meta KEY`'s keys.
pub fn meta_key(w: &str) -> Option<MetaKey> {
    Some(match w {
        "iifname" => MetaKey::Iifname,
        "oifname" => MetaKey::Oifname,
        "iif" => MetaKey::Iif,
        "oif" => MetaKey::Oif,
        "l4proto" => MetaKey::L4proto,
        "nfproto" => MetaKey::Nfproto,
        "protocol" => MetaKey::Protocol,
        "mark" => MetaKey::Mark,
        "pkttype" => MetaKey::Pkttype,
        _ => return None,
    })
}

/// A set declaration's `type` word.
pub fn type_by_name(w: &str) -> Option<DataType> {
    Some(match w {
        "ipv4_addr" => DataType::Ipv4Addr,
        "ipv6_addr" => DataType::Ipv6Addr,
        "ether_addr" => DataType::EtherAddr,
        "ether_type" => DataType::EtherType,
        "inet_proto" => DataType::InetProto,
        "inet_service" => DataType::InetService,
        "ifname" => DataType::Ifname,
        "iface_index" => DataType::Iface,
        "mark" => DataType::Mark,
        "ct_state" => DataType::CtState,
        "ct_status" => DataType::CtStatus,
        "tcp_flag" => DataType::TcpFlags,
        "icmp_type" => DataType::IcmpType,
        "icmpv6_type" => DataType::Icmpv6Type,
        "nf_proto" => DataType::Nfproto,
        "pkt_type" => DataType::Pkttype,
        "verdict" => DataType::Verdict,
        "integer" => DataType::Integer(32),
        _ => return None,
    })
}

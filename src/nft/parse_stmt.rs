//! A rule's statements: matches, verdicts, counters, log, limit, NAT, reject, mangling and
//! maps; what nft checks while reading them; and the references the ruleset must satisfy
//! (chains jumped to, sets used), kept with their spans for the errors of the commit.

use super::NftFamily;
use super::expr::{DataType, Expr, Field, Key, MetaKey, Value};
use super::lex::{Fault, Tok};
use super::model::{
    CmpOp, Elem, Limit, Log, Match, Nat, NatKind, NatTo, Reject, Rhs, Set, SetFlags, SetRef, Stmt,
    Verdict,
};
use super::parse::Cursor;
use super::parse_expr::RhsAst;
use super::value;

/// A rule as read: statements, comment, and what the commit checks against the ruleset.
#[derive(Debug)]
pub struct RuleAst {
    pub stmts: Vec<Stmt>,
    pub comment: Option<Box<str>>,
    /// Where the rule is; errors the kernel returns underline it.
    pub at: (usize, usize),
    pub checks: Vec<Check>,
}

/// A condition only the ruleset can tell.
#[derive(Clone, Debug)]
pub enum Check {
    /// `jump`/`goto` NAME: the chain must exist.
    Chain { name: Box<str>, at: (usize, usize) },
    /// `@NAME` used with a key of these types (`at_key` is the key's span); `map` tells
    /// whether it must be a map (vmap, nat map).
    Set {
        name: Box<str>,
        at: (usize, usize),
        at_key: (usize, usize),
        key: Vec<DataType>,
        map: bool,
    },
    /// A NAT statement of this kind: only in a `type nat` chain at a hook that has it.
    Nat(NatKind),
    /// `reject`: only at input, forward and output.
    Reject,
    /// `queue`: the kernel here has no queue support.
    Queue { at: (usize, usize) },
}

impl<'a> Cursor<'a> {
    /// Statements up to the end of the command or line.
    pub fn rule(&mut self, family: NftFamily) -> Result<RuleAst, Fault> {
        let start = self.peek().start;
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut checks = Vec::new();
        let mut comment = None;
        while !self.at_end() {
            let s0 = self.peek().start;
            if self.eat("comment") {
                if !matches!(self.peek().kind, Tok::Word | Tok::Quoted) {
                    return Err(self.unexpected(Some(
                        "string or quoted string or string with a trailing asterisk",
                    )));
                }
                comment = Some(self.name()?.text);
                if !self.at_end() {
                    return Err(self.unexpected(None));
                }
                break;
            }
            let transport = stmts.iter().any(|s| match s {
                Stmt::Match(m) => m.left.keys().iter().any(is_transport),
                _ => false,
            });
            let stmt = self.stmt(family, &mut checks, &transport)?;
            let span = self.span_from(s0);
            if let Some(last) = stmts.last()
                && terminal(last)
            {
                let mut f = Fault::new("Statement after terminal statement has no effect", span);
                f.also = spans.last().copied();
                return Err(f);
            }
            stmts.push(stmt);
            spans.push(span);
        }
        super::normalize::dependencies(&mut stmts, &spans, family)?;
        Ok(RuleAst {
            stmts,
            comment,
            at: self.span_from(start),
            checks,
        })
    }

    fn stmt(
        &mut self,
        family: NftFamily,
        checks: &mut Vec<Check>,
        transport: &bool,
    ) -> Result<Stmt, Fault> {
        let t = self.peek();
        let w = match t.kind {
            Tok::Word => self.text(t),
            _ => return Err(self.junk()),
        };
        if let Some(v) = self.verdict()? {
            if let Verdict::Jump(c) | Verdict::Goto(c) = &v {
                let at = self.span_from(t.start);
                let at = (at.1 - c.name.len(), at.1);
                checks.push(Check::Chain {
                    name: c.name.clone(),
                    at,
                });
            }
            return Ok(Stmt::Verdict(v));
        }
        match w {
            "counter" => {
                self.pos += 1;
                let (mut packets, mut bytes) = (0, 0);
                if self.eat("packets") {
                    packets = self.number()? as u64;
                    self.expect("bytes")?;
                    bytes = self.number()? as u64;
                }
                Ok(Stmt::Counter { packets, bytes })
            }
            "queue" => {
                self.pos += 1;
                let mut num = 0;
                if self.eat("num") {
                    num = self.number()? as u16;
                }
                while self.eat("bypass") || self.eat("fanout") {}
                checks.push(Check::Queue {
                    at: self.span_from(t.start),
                });
                Ok(Stmt::Verdict(Verdict::Queue { num }))
            }
            "notrack" => {
                self.pos += 1;
                Ok(Stmt::Notrack)
            }
            "log" => {
                self.pos += 1;
                self.log().map(Stmt::Log)
            }
            "limit" => {
                self.pos += 1;
                self.limit().map(Stmt::Limit)
            }
            "reject" => {
                self.pos += 1;
                checks.push(Check::Reject);
                self.reject().map(Stmt::Reject)
            }
            "snat" | "dnat" | "masquerade" | "redirect" => {
                self.pos += 1;
                self.nat_ports_at = None;
                let nat = self.nat(w, family, t.start, checks)?;
                if let (Some(at), false) = (self.nat_ports_at, *transport) {
                    // A port needs a transport header: a match must say which one first.
                    let mut f = Fault::new(
                        "transport protocol mapping is only valid after transport protocol match",
                        at,
                    );
                    f.also = Some((t.start, t.start + w.len()));
                    return Err(f);
                }
                checks.push(Check::Nat(nat.kind));
                Ok(Stmt::Nat(nat))
            }
            "add" | "update" => {
                self.pos += 1;
                let start = self.peek().start;
                self.expect_punct(b'@', "'@'")?;
                let name = self.name()?;
                self.expect_punct(b'{', "'{'")?;
                let Some((key, key_at)) = self.expr()? else {
                    return Err(self.unexpected(None));
                };
                self.expect_punct(b'}', "'}'")?;
                checks.push(Check::Set {
                    name: name.text.clone(),
                    at: (start, name.at.1),
                    at_key: key_at,
                    key: key.keys().iter().map(|k| k.datatype()).collect(),
                    map: false,
                });
                Ok(Stmt::SetUpdate {
                    update: w == "update",
                    key,
                    set: SetRef::Named {
                        name: name.text,
                        index: u32::MAX,
                    },
                })
            }
            _ => self.match_stmt(checks),
        }
    }

    /// An unknown word starts no statement: bison reads on to the end and fails there.
    fn junk(&mut self) -> Fault {
        while !self.at_end() {
            self.pos += 1;
        }
        self.unexpected(None)
    }

    /// A number token.
    pub fn number(&mut self) -> Result<u128, Fault> {
        match self.word().and_then(value::parse_num) {
            Some(n) => {
                self.pos += 1;
                Ok(n)
            }
            None => Err(self.unexpected(Some("number"))),
        }
    }

    fn match_stmt(&mut self, checks: &mut Vec<Check>) -> Result<Stmt, Fault> {
        let Some((left, left_at)) = self.expr()? else {
            return Err(self.junk());
        };
        let types: Vec<DataType> = left.keys().iter().map(|k| k.datatype()).collect();
        if self.eat("vmap") {
            let map = self.map_ref(&types, &[DataType::Verdict], left_at, checks)?;
            return Ok(Stmt::Vmap { key: left, map });
        }
        if self.eat("set") {
            let key = match left {
                Expr::One(k @ (Key::Meta(MetaKey::Mark) | Key::Ct(super::expr::CtKey::Mark))) => k,
                _ => return Err(Fault::new("statement not supported for this key", left_at)),
            };
            let v = self.value(types[0])?;
            return Ok(Stmt::Mangle { key, value: v });
        }
        let mut mask = None;
        if self.eat_punct(b'&') || self.eat("and") {
            let paren = self.eat_punct(b'(');
            mask = Some(self.value(types[0])?.num());
            if paren {
                self.expect_punct(b')', "')'")?;
            }
        }
        let op = match self.peek().kind {
            Tok::Punct(b'E') => CmpOp::Eq,
            Tok::Punct(b'N') => CmpOp::Ne,
            Tok::Punct(b'<') => CmpOp::Lt,
            Tok::Punct(b'>') => CmpOp::Gt,
            Tok::Punct(b'L') => CmpOp::Le,
            Tok::Punct(b'G') => CmpOp::Ge,
            _ => CmpOp::Implicit,
        };
        if op != CmpOp::Implicit {
            self.pos += 1;
        }
        if self.at_end() {
            return Err(self.unexpected(None));
        }
        let right = match self.rhs(&types)? {
            RhsAst::Values(v) => Rhs::Value(v.into()),
            RhsAst::Prefix(v, l) => Rhs::Prefix(v, l),
            RhsAst::Range(a, b) => Rhs::Range(a, b),
            RhsAst::Named(name, at) => {
                checks.push(Check::Set {
                    name: name.clone(),
                    at,
                    at_key: left_at,
                    key: types.clone(),
                    map: false,
                });
                Rhs::Set(SetRef::Named {
                    name,
                    index: u32::MAX,
                })
            }
            RhsAst::Anon(elems, _) => anon_rhs(&types, elems),
        };
        // `tcp flags syn / syn,ack`: a value and the mask it is compared under.
        if self.is("/") && types.len() == 1 {
            self.pos += 1;
            let m = match self.rhs(&types)? {
                RhsAst::Values(v) => v[0].num(),
                _ => return Err(self.unexpected(None)),
            };
            mask = Some(m);
        }
        Ok(Stmt::Match(Match {
            left,
            mask,
            op,
            right,
        }))
    }

    /// `{ k : v, ... }` or `@name` of a map whose data has types `data`.
    pub fn map_ref(
        &mut self,
        key: &[DataType],
        data: &[DataType],
        key_at: (usize, usize),
        checks: &mut Vec<Check>,
    ) -> Result<SetRef, Fault> {
        if self.is_punct(b'@') {
            let start = self.bump().start;
            let n = self.name()?;
            checks.push(Check::Set {
                name: n.text.clone(),
                at: (start, n.at.1),
                at_key: key_at,
                key: key.to_vec(),
                map: true,
            });
            return Ok(SetRef::Named {
                name: n.text,
                index: u32::MAX,
            });
        }
        self.expect_punct(b'{', "'{' or '@'")?;
        let elems = self.elems(key, Some(data))?;
        Ok(SetRef::Anon(Box::new(anon_set(key, Some(data), elems))))
    }

    fn log(&mut self) -> Result<Log, Fault> {
        let mut log = Log::default();
        loop {
            match self.word() {
                Some("prefix") => {
                    self.pos += 1;
                    log.prefix = Some(self.name()?.text);
                }
                Some("level") => {
                    self.pos += 1;
                    let t = self.peek();
                    let n = self.name()?;
                    log.level = Some(match LOG_LEVELS.iter().position(|l| **l == *n.text) {
                        Some(i) => i as u8,
                        None => {
                            return Err(Fault::new(
                                "invalid log level".to_string(),
                                (t.start, t.end),
                            ));
                        }
                    });
                }
                Some("group") => {
                    self.pos += 1;
                    log.group = Some(self.number()? as u16);
                }
                Some("flags") => {
                    self.pos += 1;
                    loop {
                        log.flags |= match self.word() {
                            Some("all") => 31,
                            Some("ip") if self.peek_at(1).kind == Tok::Word => {
                                self.pos += 1;
                                4
                            }
                            Some("tcp") => {
                                self.pos += 1;
                                match self.word() {
                                    Some("sequence") => 1,
                                    Some("options") => 2,
                                    _ => return Err(self.unexpected(None)),
                                }
                            }
                            Some("skuid") => 8,
                            Some("ether") => 16,
                            _ => return Err(self.unexpected(None)),
                        };
                        self.pos += 1;
                        if !self.eat_punct(b',') {
                            break;
                        }
                    }
                }
                _ => return Ok(log),
            }
        }
    }

    fn limit(&mut self) -> Result<Limit, Fault> {
        self.expect("rate")?;
        let over = self.eat("over");
        let t = self.peek();
        let w = self.word().ok_or_else(|| self.unexpected(Some("number")))?;
        self.pos += 1;
        let bad = || Fault::new("syntax error, unexpected string", (t.start, t.end));
        let (rate, bytes, unit) = match w.split_once('/') {
            Some((n, unit)) => (value::parse_num(n).ok_or_else(bad)?, false, unit),
            None => {
                let n = value::parse_num(w).ok_or_else(bad)?;
                let u = self.peek();
                let uw = self.word().ok_or_else(|| self.unexpected(None))?;
                self.pos += 1;
                let (scale, unit) = uw.split_once('/').ok_or_else(|| {
                    Fault::new("syntax error, unexpected string", (u.start, u.end))
                })?;
                let mult = byte_unit(scale)
                    .ok_or_else(|| Fault::new("Wrong rate format", (u.start, u.end)))?;
                (n * u128::from(mult), true, unit)
            }
        };
        let per = match unit {
            "second" => 1,
            "minute" => 60,
            "hour" => 3600,
            "day" => 86400,
            "week" => 604800,
            _ => {
                return Err(Fault::new(
                    "Wrong rate format",
                    (t.start, self.span_from(t.start).1),
                ));
            }
        };
        let mut burst = if bytes { 0 } else { 5 };
        if self.eat("burst") {
            let n = self.number()?;
            let mult = match self.word() {
                Some("packets") if !bytes => 1,
                Some(w) => byte_unit(w).ok_or_else(|| self.unexpected(None))?,
                None => return Err(self.unexpected(None)),
            };
            self.pos += 1;
            burst = (n * u128::from(mult)) as u64;
        }
        Ok(Limit {
            rate: rate as u64,
            per,
            bytes,
            burst,
            over,
        })
    }

    fn reject(&mut self) -> Result<Reject, Fault> {
        if !self.eat("with") {
            return Ok(Reject::Default);
        }
        let (table, make): (CodeTable, fn(u8) -> Reject) = match self.word() {
            Some("tcp") => {
                self.pos += 1;
                self.expect("reset")?;
                return Ok(Reject::TcpReset);
            }
            Some("icmp") => (value::ICMP_CODE, Reject::Icmp),
            Some("icmpv6") => (value::ICMPV6_CODE, Reject::Icmpv6),
            Some("icmpx") => (value::ICMPX_CODE, Reject::Icmpx),
            _ => return Err(self.unexpected(None)),
        };
        self.pos += 1;
        self.eat("type");
        let t = self.peek();
        let n = self.name()?;
        match value::symbol(table, &n.text) {
            Some(c) if c < 256 => Ok(make(c as u8)),
            _ => Err(Fault::new("Could not parse icmp code", (t.start, t.end))),
        }
    }
}

/// ICMP code names and their numbers.
type CodeTable = &'static [(&'static str, u128)];

const LOG_LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit",
];

/// A log level's name.
pub fn log_level(l: u8) -> &'static str {
    LOG_LEVELS.get(usize::from(l)).copied().unwrap_or("warn")
}

fn byte_unit(w: &str) -> Option<u32> {
    Some(match w {
        "bytes" => 1,
        "kbytes" => 1024,
        "mbytes" => 1024 * 1024,
        _ => return None,
    })
}

fn terminal(s: &Stmt) -> bool {
    matches!(s, Stmt::Verdict(_) | Stmt::Reject(_))
}

/// A rule's own set, sorted and without duplicates; `{ 22 }` is just `22`.
pub fn anon_rhs(types: &[DataType], elems: Vec<Elem>) -> Rhs {
    if let [e] = elems.as_slice()
        && e.key.iter().all(|(lo, hi)| lo == hi)
    {
        return Rhs::Value(e.key.iter().map(|(lo, _)| lo.clone()).collect());
    }
    Rhs::Set(SetRef::Anon(Box::new(anon_set(types, None, elems))))
}

/// An anonymous set of these elements (its handle is given when its rule is added).
pub fn anon_set(key: &[DataType], data: Option<&[DataType]>, mut elems: Vec<Elem>) -> Set {
    super::model::sort_elems(&mut elems);
    let interval = elems.iter().any(|e| e.key.iter().any(|(lo, hi)| lo != hi));
    Set {
        name: "".into(),
        handle: 0,
        key: key.into(),
        data: data.map(Into::into),
        flags: SetFlags {
            constant: true,
            interval,
            anonymous: true,
            ..SetFlags::default()
        },
        elems,
        comment: None,
        typeof_key: None,
    }
}

impl<'a> Cursor<'a> {
    /// `snat|dnat [ip|ip6] to ...`, `masquerade [to :P] [flags]`, `redirect [to [:]P]`.
    fn nat(
        &mut self,
        w: &str,
        family: NftFamily,
        start: usize,
        checks: &mut Vec<Check>,
    ) -> Result<Nat, Fault> {
        let kind = match w {
            "snat" => NatKind::Snat,
            "dnat" => NatKind::Dnat,
            "masquerade" => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        let mut nat_family = None;
        if matches!(kind, NatKind::Snat | NatKind::Dnat) {
            if self.eat("ip") {
                nat_family = Some(NftFamily::Ip);
            } else if self.eat("ip6") {
                nat_family = Some(NftFamily::Ip6);
            }
        }
        let mut to = NatTo::None;
        let addr_type = if nat_family == Some(NftFamily::Ip6) || family == NftFamily::Ip6 {
            DataType::Ipv6Addr
        } else {
            DataType::Ipv4Addr
        };
        if self.eat("to") {
            if let Some((key, key_at)) = self.expr()? {
                self.expect("map")?;
                let types: Vec<DataType> = key.keys().iter().map(|k| k.datatype()).collect();
                let data: &[DataType] = if self.concat_data_follows() {
                    &[addr_type, DataType::InetService]
                } else {
                    std::slice::from_ref(&addr_type)
                };
                let map = self.map_ref(&types, data, key_at, checks)?;
                let with_port = match &map {
                    SetRef::Anon(s) => s.data.as_ref().is_some_and(|d| d.len() == 2),
                    SetRef::Named { .. } => false,
                };
                to = NatTo::Map {
                    key,
                    map,
                    with_port,
                };
            } else {
                to = self.nat_range(kind, addr_type)?;
            }
        }
        if family == NftFamily::Inet
            && nat_family.is_none()
            && matches!(to, NatTo::Range { addrs: Some(_), .. } | NatTo::Map { .. })
        {
            return Err(Fault::new(
                "ip or ip6 must be specified with address for inet tables.",
                (start, start + w.len()),
            ));
        }
        let mut flags = 0;
        loop {
            flags |= match self.word() {
                Some("random") => Nat::RANDOM,
                Some("fully-random") => Nat::FULLY_RANDOM,
                Some("persistent") => Nat::PERSISTENT,
                _ => break,
            };
            self.pos += 1;
            if !self.eat_punct(b',') {
                break;
            }
        }
        Ok(Nat {
            kind,
            family: nat_family,
            to,
            flags,
        })
    }

    /// Whether the map after `map {` has `addr . port` data (looks for ` : a . b`).
    fn concat_data_follows(&self) -> bool {
        let mut i = self.pos;
        let mut after_colon = false;
        while let Some(t) = self.toks.get(i) {
            match t.kind {
                Tok::Punct(b'}') | Tok::Punct(b',') | Tok::Eof => return false,
                Tok::Word if self.text(*t) == ":" => after_colon = true,
                Tok::Word if after_colon && self.text(*t) == "." => return true,
                _ => {}
            }
            i += 1;
        }
        false
    }

    /// `ADDR[-ADDR][:PORT[-PORT]]` or `:PORT[-PORT]`; an IPv6 address with a port in
    /// brackets, `[ADDR][-[ADDR]]:PORT[-PORT]`.
    fn nat_range(&mut self, kind: NatKind, dt: DataType) -> Result<NatTo, Fault> {
        if dt == DataType::Ipv6Addr && self.is_punct(b'[') {
            return self.nat_range6();
        }
        let t = self.peek();
        let w = self.word().ok_or_else(|| self.unexpected(None))?;
        self.pos += 1;
        let (addr, port) = match w.rfind(':') {
            Some(i) if dt == DataType::Ipv4Addr || w.starts_with(':') => {
                (&w[..i], Some((&w[i + 1..], t.start + i + 1)))
            }
            _ => (w, None),
        };
        let (addr, port) = if kind == NatKind::Redirect && port.is_none() {
            ("", Some((w, t.start)))
        } else {
            (addr, port)
        };
        let addrs = if addr.is_empty() {
            None
        } else {
            let at = (t.start, t.start + addr.len());
            Some(match addr.split_once('-') {
                Some((a, b)) => (value::parse(dt, a, at)?, value::parse(dt, b, at)?),
                None => {
                    let v = value::parse(dt, addr, at)?;
                    (v.clone(), v)
                }
            })
        };
        let ports = self.nat_ports(port)?;
        Ok(NatTo::Range { addrs, ports })
    }

    /// `[ADDR][-[ADDR]][:PORT[-PORT]]`.
    fn nat_range6(&mut self) -> Result<NatTo, Fault> {
        let dt = DataType::Ipv6Addr;
        let bracketed = |c: &mut Self| -> Result<Value, Fault> {
            // nft's scanner takes `[` here only before an IPv6 address literal.
            let literal = c.peek_at(1).kind == Tok::Word
                && c.text(c.peek_at(1)).parse::<std::net::Ipv6Addr>().is_ok();
            if c.is_punct(b'[') && !literal {
                return Err(c.unexpected(None));
            }
            c.expect_punct(b'[', "'['")?;
            let t = c.peek();
            let w = c.word().ok_or_else(|| c.unexpected(None))?;
            c.pos += 1;
            let v = value::parse(dt, w, (t.start, t.start + w.len()))?;
            c.expect_punct(b']', "']'")?;
            Ok(v)
        };
        let lo = bracketed(self)?;
        let hi = match self.eat("-") {
            true => bracketed(self)?,
            false => lo.clone(),
        };
        let t = self.peek();
        let port = match self.word() {
            Some(w) if w.starts_with(':') => {
                self.pos += 1;
                Some((&w[1..], t.start + 1))
            }
            _ => None,
        };
        let ports = self.nat_ports(port)?;
        Ok(NatTo::Range {
            addrs: Some((lo, hi)),
            ports,
        })
    }

    /// The port range after a NAT address's `:`, and where it starts.
    fn nat_ports(&mut self, port: Option<(&str, usize)>) -> Result<Option<(u16, u16)>, Fault> {
        Ok(match port {
            None => None,
            Some((p, p0)) => {
                let at = (p0, p0 + p.len());
                self.nat_ports_at = Some(at);
                let num = |s: &str| match value::parse(DataType::InetService, s, at)? {
                    Value::Num(n) => Ok(n as u16),
                    Value::Name(_) => Err(Fault::new("Could not parse port", at)),
                };
                Some(match p.split_once('-') {
                    Some((a, b)) => (num(a)?, num(b)?),
                    None => {
                        let n = num(p)?;
                        (n, n)
                    }
                })
            }
        })
    }
}

/// The port-bearing transport fields a NAT port mapping needs before it.
pub fn is_transport(k: &Key) -> bool {
    matches!(
        k,
        Key::Payload(
            Field::TcpSport
                | Field::TcpDport
                | Field::UdpSport
                | Field::UdpDport
                | Field::ThSport
                | Field::ThDport
        ) | Key::Meta(MetaKey::L4proto)
            | Key::Payload(Field::IpProtocol | Field::Ip6Nexthdr)
    )
}

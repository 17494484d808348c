//! Commands (`add rule ...`, `list ruleset`, `delete chain ... handle N`) and the blocks of
//! `nft -f` files (`table ip t { chain c { ... } set s { ... } }`), expanded in the order nft
//! sends them to the kernel: a table, its chains, its sets, then the rules.

use super::NftFamily;
use super::expr::{DataType, Expr};
use super::lex::{Fault, Tok};
use super::model::{BaseHook, ChainType, NftHook, Priority, Set, SetFlags};
use super::parse::{Cursor, Name};
use super::parse_stmt::RuleAst;

/// A table named in a command.
#[derive(Clone, Debug)]
pub struct TableId {
    pub family: NftFamily,
    pub name: Name,
}

/// A chain named in a command.
#[derive(Clone, Debug)]
pub struct ChainId {
    pub table: TableId,
    pub name: Name,
}

/// Where `add`/`insert rule` puts the rule.
#[derive(Clone, Copy, Debug)]
pub enum RulePos {
    End,
    /// `handle N` / `position N`, with the span of the words.
    Handle(u64, (usize, usize)),
    /// `index N`.
    Index(u64, (usize, usize)),
}

/// What `list` lists.
#[derive(Clone, Debug)]
pub enum ListWhat {
    Ruleset(Option<NftFamily>),
    Tables(Option<NftFamily>),
    Chains(Option<NftFamily>),
    Sets(Option<NftFamily>),
    Maps(Option<NftFamily>),
    Table(TableId),
    Chain(ChainId),
    Set(TableId, Name),
}

/// An object `delete` and `flush` name.
#[derive(Clone, Debug)]
pub enum Obj {
    Ruleset(Option<NftFamily>),
    Table(TableId),
    TableHandle(NftFamily, u64, (usize, usize)),
    Chain(ChainId),
    ChainHandle(TableId, u64, (usize, usize)),
    Rule(ChainId, u64, (usize, usize)),
    Set(TableId, Name),
}

/// A chain's declaration: `{ type ... hook ... priority ...; policy ...; comment ...; }`.
#[derive(Clone, Debug, Default)]
pub struct ChainDecl {
    pub base: Option<BaseHook>,
    pub policy: Option<(bool, (usize, usize))>,
    pub comment: Option<Box<str>>,
}

/// One command, with the span errors about it underline.
#[derive(Debug)]
pub enum Cmd {
    AddTable {
        t: TableId,
        create: bool,
        dormant: Option<bool>,
        comment: Option<Box<str>>,
    },
    AddChain {
        c: ChainId,
        create: bool,
        decl: ChainDecl,
    },
    AddRule {
        c: ChainId,
        insert: bool,
        pos: RulePos,
        rule: RuleAst,
        at: (usize, usize),
    },
    ReplaceRule {
        c: ChainId,
        handle: (u64, (usize, usize)),
        rule: RuleAst,
        at: (usize, usize),
    },
    AddSet {
        t: TableId,
        set: Set,
        name_at: (usize, usize),
        create: bool,
        /// The token index of `elements = {`'s brace, read once the set's types are known.
        elems_at: Option<usize>,
    },
    /// `add|create|delete element T S { ... }`: `elems_at` is the `{` token's index.
    Elements {
        t: TableId,
        set: Name,
        delete: bool,
        elems_at: usize,
    },
    Delete(Obj),
    Flush(Obj),
    List(ListWhat),
    Rename {
        c: ChainId,
        to: Name,
    },
}

impl<'a> Cursor<'a> {
    /// Every command of the source, in order.
    pub fn commands(&mut self) -> Result<Vec<Cmd>, Fault> {
        let mut out = Vec::new();
        loop {
            self.skip_separators();
            if self.peek().kind == Tok::Eof {
                return Ok(out);
            }
            self.command(&mut out)?;
            match self.peek().kind {
                Tok::Newline | Tok::Eof | Tok::Punct(b';') => {}
                _ => {
                    return Err(self.unexpected(Some("end of file or newline or semicolon")));
                }
            }
        }
    }

    fn command(&mut self, out: &mut Vec<Cmd>) -> Result<(), Fault> {
        let start = self.peek().start;
        let verb = self.word().unwrap_or("");
        match verb {
            "table" => {
                self.pos += 1;
                return self.table_block(start, false, out);
            }
            "add" | "create" | "insert" | "replace" | "delete" | "destroy" | "list" | "flush"
            | "rename" => self.pos += 1,
            _ => return Err(self.unexpected(None)),
        }
        let create = verb == "create";
        let obj = self.word().unwrap_or("");
        let objects = [
            "table", "chain", "rule", "set", "map", "element", "ruleset", "tables", "chains",
            "sets", "maps",
        ];
        if objects.contains(&obj) {
            self.pos += 1;
        } else if matches!(verb, "add" | "insert" | "replace") {
            // `nft add ip t c accept`: a rule without the word `rule`.
            return self.rule_cmd(verb, start, out);
        } else {
            return Err(self.unexpected(Some("string")));
        }
        match (verb, obj) {
            ("add" | "create", "table") => self.table_block(start, create, out),
            ("add" | "create", "chain") => {
                let c = self.chain_id()?;
                let mut decl = ChainDecl::default();
                let mut rules = Vec::new();
                if self.eat_punct(b'{') {
                    self.chain_body(&c, &mut decl, &mut rules)?;
                }
                out.push(Cmd::AddChain { c, create, decl });
                out.extend(rules);
                Ok(())
            }
            ("add" | "insert" | "replace", "rule") => self.rule_cmd(verb, start, out),
            ("add" | "create", "set" | "map") => {
                let t = self.table_id()?;
                let name = self.name()?;
                self.expect_punct(b'{', "'{'")?;
                let (set, elems_at) = self.set_body(&name, obj == "map", start)?;
                out.push(Cmd::AddSet {
                    t,
                    set,
                    name_at: name.at,
                    create,
                    elems_at,
                });
                Ok(())
            }
            ("add" | "create" | "delete" | "destroy", "element") => {
                let t = self.table_id()?;
                let set = self.name()?;
                let elems_at = self.pos;
                self.expect_punct(b'{', "'{'")?;
                self.skip_braces()?;
                out.push(Cmd::Elements {
                    t,
                    set,
                    delete: matches!(verb, "delete" | "destroy"),
                    elems_at,
                });
                Ok(())
            }
            ("delete" | "destroy", _) => {
                let o = self.object(obj)?;
                out.push(Cmd::Delete(o));
                Ok(())
            }
            ("flush", _) => {
                let o = self.object(obj)?;
                out.push(Cmd::Flush(o));
                Ok(())
            }
            ("list", _) => {
                let what = match obj {
                    "ruleset" => ListWhat::Ruleset(self.family_opt()),
                    "tables" => ListWhat::Tables(self.family_opt()),
                    "chains" => ListWhat::Chains(self.family_opt()),
                    "sets" => ListWhat::Sets(self.family_opt()),
                    "maps" => ListWhat::Maps(self.family_opt()),
                    "table" => ListWhat::Table(self.table_id()?),
                    "chain" => ListWhat::Chain(self.chain_id()?),
                    "set" | "map" => {
                        let t = self.table_id()?;
                        ListWhat::Set(t, self.name()?)
                    }
                    _ => return Err(self.unexpected(None)),
                };
                out.push(Cmd::List(what));
                Ok(())
            }
            ("rename", "chain") => {
                let c = self.chain_id()?;
                let to = self.name()?;
                out.push(Cmd::Rename { c, to });
                Ok(())
            }
            _ => Err(self.unexpected(None)),
        }
    }

    /// A family word if one is next.
    fn family_opt(&mut self) -> Option<NftFamily> {
        let before = self.pos;
        let f = self.family();
        (self.pos != before).then_some(f)
    }

    /// `[FAMILY] NAME`.
    pub fn table_id(&mut self) -> Result<TableId, Fault> {
        let family = self.family();
        // `add table ip`: the family word was the last word, so it was the name.
        let name = self.name()?;
        Ok(TableId { family, name })
    }

    fn chain_id(&mut self) -> Result<ChainId, Fault> {
        let table = self.table_id()?;
        let name = self.name()?;
        Ok(ChainId { table, name })
    }

    fn handle_word(&mut self) -> Result<(u64, (usize, usize)), Fault> {
        let t = self.peek();
        let n = self.number()?;
        Ok((n as u64, (t.start, t.end)))
    }

    fn object(&mut self, obj: &str) -> Result<Obj, Fault> {
        Ok(match obj {
            "ruleset" => Obj::Ruleset(self.family_opt()),
            "table" => {
                let family = self.family();
                if self.eat("handle") {
                    let (h, at) = self.handle_word()?;
                    Obj::TableHandle(family, h, at)
                } else {
                    Obj::Table(TableId {
                        family,
                        name: self.name()?,
                    })
                }
            }
            "chain" => {
                let t = self.table_id()?;
                if self.eat("handle") {
                    let (h, at) = self.handle_word()?;
                    Obj::ChainHandle(t, h, at)
                } else {
                    Obj::Chain(ChainId {
                        table: t,
                        name: self.name()?,
                    })
                }
            }
            "rule" => {
                let c = self.chain_id()?;
                self.expect("handle")?;
                let (h, at) = self.handle_word()?;
                Obj::Rule(c, h, at)
            }
            "set" | "map" => {
                let t = self.table_id()?;
                Obj::Set(t, self.name()?)
            }
            _ => return Err(self.unexpected(None)),
        })
    }

    fn rule_cmd(&mut self, verb: &str, start: usize, out: &mut Vec<Cmd>) -> Result<(), Fault> {
        let c = self.chain_id()?;
        let p0 = self.peek().start;
        let pos = match self.word() {
            Some("handle" | "position") => {
                self.pos += 1;
                let (h, _) = self.handle_word()?;
                RulePos::Handle(h, self.span_from(p0))
            }
            Some("index") => {
                self.pos += 1;
                let (h, _) = self.handle_word()?;
                RulePos::Index(h, self.span_from(p0))
            }
            _ => RulePos::End,
        };
        let rule = self.rule(c.table.family)?;
        let at = self.span_from(start);
        if verb == "replace" {
            let RulePos::Handle(h, hat) = pos else {
                return Err(self.unexpected(Some("handle")));
            };
            out.push(Cmd::ReplaceRule {
                c,
                handle: (h, hat),
                rule,
                at,
            });
        } else {
            out.push(Cmd::AddRule {
                c,
                insert: verb == "insert",
                pos,
                rule,
                at,
            });
        }
        Ok(())
    }

    /// `[FAMILY] NAME [{ ... }]` after `table`: the table, then its chains, sets and rules.
    fn table_block(
        &mut self,
        _start: usize,
        create: bool,
        out: &mut Vec<Cmd>,
    ) -> Result<(), Fault> {
        let t = self.table_id()?;
        let mut dormant = None;
        let mut comment = None;
        let mut chains = Vec::new();
        let mut sets = Vec::new();
        let mut rules = Vec::new();
        if self.eat_punct(b'{') {
            loop {
                self.skip_separators();
                if self.eat_punct(b'}') {
                    break;
                }
                let s0 = self.peek().start;
                match self.word() {
                    Some("flags") => {
                        self.pos += 1;
                        let w = self.name()?;
                        if &*w.text != "dormant" {
                            return Err(Fault::new("unknown table option", w.at));
                        }
                        dormant = Some(true);
                    }
                    Some("comment") => {
                        self.pos += 1;
                        comment = Some(self.name()?.text);
                    }
                    Some("chain") => {
                        self.pos += 1;
                        let c = ChainId {
                            table: t.clone(),
                            name: self.name()?,
                        };
                        let mut decl = ChainDecl::default();
                        self.expect_punct(b'{', "'{'")?;
                        self.chain_body(&c, &mut decl, &mut rules)?;
                        chains.push(Cmd::AddChain {
                            c,
                            create: false,
                            decl,
                        });
                    }
                    Some(kind @ ("set" | "map")) => {
                        self.pos += 1;
                        let name = self.name()?;
                        self.expect_punct(b'{', "'{'")?;
                        let (set, elems_at) = self.set_body(&name, kind == "map", s0)?;
                        sets.push(Cmd::AddSet {
                            t: t.clone(),
                            set,
                            name_at: name.at,
                            create: false,
                            elems_at,
                        });
                    }
                    _ => return Err(self.unexpected(None)),
                }
                if !matches!(self.peek().kind, Tok::Newline | Tok::Punct(b';')) {
                    return Err(self.unexpected(Some("newline or semicolon")));
                }
            }
        }
        out.push(Cmd::AddTable {
            t,
            create,
            dormant,
            comment,
        });
        out.extend(chains);
        out.extend(sets);
        out.extend(rules);
        Ok(())
    }

    /// A chain's block after `{`: its declaration lines and its rules, up to `}`.
    fn chain_body(
        &mut self,
        c: &ChainId,
        decl: &mut ChainDecl,
        rules: &mut Vec<Cmd>,
    ) -> Result<(), Fault> {
        loop {
            self.skip_separators();
            if self.eat_punct(b'}') {
                return Ok(());
            }
            let s0 = self.peek().start;
            match self.word() {
                Some("type") => {
                    self.pos += 1;
                    decl.base = Some(self.base_hook(c.table.family)?);
                }
                Some("policy") => {
                    self.pos += 1;
                    let drop = match self.word() {
                        Some("accept") => false,
                        Some("drop") => true,
                        _ => return Err(self.unexpected(Some("accept or drop or '$'"))),
                    };
                    self.pos += 1;
                    decl.policy = Some((drop, self.span_from(s0)));
                }
                Some("comment") if self.peek_at(2).kind != Tok::Word => {
                    self.pos += 1;
                    decl.comment = Some(self.name()?.text);
                }
                _ => {
                    let rule = self.rule(c.table.family)?;
                    let at = rule.at;
                    rules.push(Cmd::AddRule {
                        c: c.clone(),
                        insert: false,
                        pos: RulePos::End,
                        rule,
                        at,
                    });
                }
            }
            if !matches!(self.peek().kind, Tok::Newline | Tok::Punct(b';')) {
                return Err(self.unexpected(Some("newline or semicolon")));
            }
        }
    }

    /// `type T hook H [device D] priority P` after `type`.
    fn base_hook(&mut self, family: NftFamily) -> Result<BaseHook, Fault> {
        let t = self.name()?;
        let kind = match &*t.text {
            "filter" => ChainType::Filter,
            "nat" => ChainType::Nat,
            "route" => ChainType::Route,
            _ => return Err(Fault::new("unknown chain type", t.at)),
        };
        self.expect("hook")?;
        let h = self.name()?;
        let hook = match &*h.text {
            "prerouting" => NftHook::Prerouting,
            "input" => NftHook::Input,
            "forward" => NftHook::Forward,
            "output" => NftHook::Output,
            "postrouting" => NftHook::Postrouting,
            "ingress" => NftHook::Ingress,
            "egress" => NftHook::Egress,
            _ => return Err(Fault::new("unknown chain hook", h.at)),
        };
        let mut device = None;
        if self.eat("device") {
            device = Some(self.name()?.text);
        }
        let p0 = self.peek().start;
        self.expect("priority")?;
        let v0 = self.peek();
        let (name, mut value) = match self.word() {
            Some(w) if w.starts_with('-') || w.bytes().all(|b| b.is_ascii_digit()) => {
                self.pos += 1;
                match w.parse::<i32>() {
                    Ok(n) => (None, n),
                    Err(_) => {
                        return Err(Fault::new(
                            "syntax error, unexpected string",
                            (v0.start, v0.end),
                        ));
                    }
                }
            }
            Some(w) => {
                self.pos += 1;
                match super::priority::standard(family, hook, w) {
                    Some((name, n)) => (Some(name), n),
                    None => {
                        return Err(Fault::new(
                            "invalid priority expression value in this context.",
                            self.span_from(p0),
                        ));
                    }
                }
            }
            None => return Err(self.unexpected(Some("string"))),
        };
        if name.is_some() && (self.is_punct(b'+') || self.is("-")) {
            let plus = self.is_punct(b'+');
            self.pos += 1;
            let n = self.number()? as i32;
            value += if plus { n } else { -n };
        }
        Ok(BaseHook {
            kind,
            hook,
            priority: Priority { value, name },
            drop: false,
            device,
        })
    }

    /// A set's block after `{`, up to `}`.
    fn set_body(
        &mut self,
        name: &Name,
        map: bool,
        start: usize,
    ) -> Result<(Set, Option<usize>), Fault> {
        let mut set = Set {
            name: name.text.clone(),
            handle: 0,
            key: Box::new([]),
            data: None,
            flags: SetFlags::default(),
            elems: Vec::new(),
            comment: None,
            typeof_key: None,
        };
        let mut elems_at = None;
        loop {
            self.skip_separators();
            if self.eat_punct(b'}') {
                break;
            }
            match self.word() {
                Some("type") => {
                    self.pos += 1;
                    set.key = self.type_list()?.into();
                    if map || self.is(":") {
                        self.expect(":")?;
                        set.data = Some(self.type_list()?.into());
                    }
                }
                Some("typeof") => {
                    self.pos += 1;
                    let Some((e, _)) = self.expr()? else {
                        return Err(self.unexpected(None));
                    };
                    set.key = e.keys().iter().map(|k| k.datatype()).collect();
                    set.typeof_key = Some(e);
                    if map {
                        self.expect(":")?;
                        set.data = Some(self.type_list()?.into());
                    }
                }
                Some("flags") => {
                    self.pos += 1;
                    loop {
                        let f = self.name()?;
                        match &*f.text {
                            "interval" => set.flags.interval = true,
                            "constant" => set.flags.constant = true,
                            "timeout" => set.flags.timeout = true,
                            "dynamic" => set.flags.dynamic = true,
                            _ => return Err(Fault::new("syntax error, unexpected string", f.at)),
                        }
                        if !self.eat_punct(b',') {
                            break;
                        }
                    }
                }
                Some("comment") => {
                    self.pos += 1;
                    set.comment = Some(self.name()?.text);
                }
                Some("elements") => {
                    self.pos += 1;
                    self.expect_punct(b'=', "'='")?;
                    elems_at = Some(self.pos);
                    self.expect_punct(b'{', "'{'")?;
                    self.skip_braces()?;
                }
                _ => return Err(self.unexpected(None)),
            }
            if !matches!(
                self.peek().kind,
                Tok::Newline | Tok::Punct(b';') | Tok::Punct(b'}')
            ) {
                return Err(self.unexpected(Some("newline or semicolon")));
            }
        }
        if set.key.is_empty() {
            return Err(Fault::new(
                "set definition does not specify key",
                (name.at.1 + 1, self.span_from(start).1),
            ));
        }
        Ok((set, elems_at))
    }

    /// `T [. T]*` of a set's `type`.
    fn type_list(&mut self) -> Result<Vec<DataType>, Fault> {
        let mut out = Vec::new();
        loop {
            let t = self.name()?;
            match super::parse_expr::type_by_name(&t.text) {
                Some(dt) => out.push(dt),
                None => return Err(Fault::new(format!("unknown datatype {}", t.text), t.at)),
            }
            if !self.eat(".") {
                return Ok(out);
            }
        }
    }

    /// Skips to the `}` closing a `{` just taken.
    fn skip_braces(&mut self) -> Result<(), Fault> {
        let mut depth = 1;
        while depth > 0 {
            match self.bump().kind {
                Tok::Punct(b'{') => depth += 1,
                Tok::Punct(b'}') => depth -= 1,
                Tok::Eof => return Err(self.unexpected(Some("comma or '}'"))),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether an expression's types are those of a set's key.
pub fn same_types(e: &Expr, key: &[DataType]) -> bool {
    e.keys()
        .iter()
        .map(|k| k.datatype())
        .eq(key.iter().copied())
}

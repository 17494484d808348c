//! Commands carried out on a working copy of the ruleset, with the checks the kernel makes
//! (objects that exist or not, NAT only in NAT chains at their hooks, chains in use, loops)
//! and its errors. The caller keeps the copy only if every command succeeded.

use super::NftFamily;
use super::lex::Fault;
use super::lookup;
use super::model::{
    Chain, ChainType, Elem, ElemData, NatKind, NftHook, Rhs, Rule, Ruleset, SetRef, Stmt, Table,
    Verdict,
};
use super::parse::Cursor;
use super::parse_cmd::{ChainDecl, ChainId, Cmd, ListWhat, Obj, RulePos, TableId};
use super::parse_stmt::{Check, RuleAst};
use super::print::{self, Part};
use super::print_stmt::Style;

const KERNEL: &str = "Could not process rule: ";

/// What carrying out commands needs besides the ruleset.
pub struct Run<'a, 'b> {
    pub cur: &'b mut Cursor<'a>,
    pub style: Style,
    pub xt: &'b dyn Fn(NftFamily, &str) -> Option<String>,
    pub out: String,
    pub changed: bool,
}

fn busy(at: (usize, usize)) -> Fault {
    Fault::new(format!("{KERNEL}Device or resource busy"), at)
}

fn unsupported(at: (usize, usize)) -> Fault {
    Fault::new(format!("{KERNEL}Operation not supported"), at)
}

fn missing(at: (usize, usize)) -> Fault {
    Fault::new(format!("{KERNEL}No such file or directory"), at)
}

/// Refuses changes to a table iptables-nft made (the router keeps its rules).
fn not_xt(t: &Table, at: (usize, usize)) -> Result<(), Fault> {
    if t.xt {
        return Err(unsupported(at));
    }
    Ok(())
}

impl Run<'_, '_> {
    pub fn apply(&mut self, rs: &mut Ruleset, cmd: Cmd) -> Result<(), Fault> {
        if !matches!(cmd, Cmd::List(_)) {
            self.changed = true;
        }
        match cmd {
            Cmd::AddTable {
                t,
                create,
                dormant,
                comment,
            } => add_table(rs, &t, create, dormant, comment),
            Cmd::AddChain { c, create, decl } => add_chain(rs, &c, create, decl),
            Cmd::AddRule {
                c,
                insert,
                pos,
                rule,
                at,
            } => add_rule(rs, &c, insert, pos, rule, at, None),
            Cmd::ReplaceRule {
                c,
                handle,
                rule,
                at,
            } => add_rule(rs, &c, false, RulePos::End, rule, at, Some(handle)),
            Cmd::AddSet {
                t,
                set,
                name_at,
                create,
                elems_at,
            } => {
                let ti = lookup::table_or(rs, &t, "")?;
                let table = &mut rs.tables[ti];
                not_xt(table, t.name.at)?;
                if table.sets.iter().any(|s| s.name == set.name) {
                    if create {
                        return Err(Fault::new(format!("{KERNEL}File exists"), name_at));
                    }
                    return Ok(());
                }
                let mut set = set;
                if let Some(at) = elems_at {
                    self.cur.pos = at + 1;
                    let elems = self.cur.elems(&set.key, set.data.as_deref())?;
                    check_elems(&set, &elems, &self.cur.elem_spans)?;
                    set.elems = elems;
                    super::model::sort_elems(&mut set.elems);
                }
                set.handle = table.next_handle();
                table.sets.push(set);
                Ok(())
            }
            Cmd::Elements {
                t,
                set,
                delete,
                elems_at,
            } => {
                let ti = lookup::table_or(rs, &t, "")?;
                let table = &mut rs.tables[ti];
                let si = lookup::set_or(table, &set, "")?;
                let s = &mut table.sets[si];
                self.cur.pos = elems_at + 1;
                self.cur.elem_spans.clear();
                let elems = self.cur.elems(&s.key, s.data.as_deref())?;
                let spans = std::mem::take(&mut self.cur.elem_spans);
                if delete {
                    for (e, at) in elems.iter().zip(&spans) {
                        match s.elems.iter().position(|x| x.key == e.key) {
                            Some(i) => {
                                s.elems.remove(i);
                            }
                            None => return Err(missing(*at)),
                        }
                    }
                } else {
                    check_elems(s, &elems, &spans)?;
                    s.elems.extend(elems);
                    super::model::sort_elems(&mut s.elems);
                }
                Ok(())
            }
            Cmd::Delete(o) => delete(rs, o),
            Cmd::Flush(o) => flush(rs, o),
            Cmd::List(w) => self.list(rs, w),
            Cmd::Rename { c, to } => {
                let (ti, ci) = lookup::chain_or(rs, &c, KERNEL)?;
                let table = &mut rs.tables[ti];
                if table.chains.iter().any(|x| *x.name == *to.text) {
                    return Err(Fault::new(format!("{KERNEL}File exists"), to.at));
                }
                let old = std::mem::replace(&mut table.chains[ci].name, to.text.clone());
                rename_targets(table, &old, &to.text);
                Ok(())
            }
        }
    }

    fn list(&mut self, rs: &Ruleset, w: ListWhat) -> Result<(), Fault> {
        let (st, xt, out) = (self.style, self.xt, &mut self.out);
        match w {
            ListWhat::Ruleset(f) => print::ruleset(out, rs, f, st, Part::All, xt),
            ListWhat::Tables(f) => print::tables(out, rs, f),
            ListWhat::Chains(f) => print::ruleset(out, rs, f, st, Part::Chains, xt),
            ListWhat::Sets(f) => print::ruleset(out, rs, f, st, Part::Sets { maps: false }, xt),
            ListWhat::Maps(f) => print::ruleset(out, rs, f, st, Part::Sets { maps: true }, xt),
            ListWhat::Table(t) => {
                let ti = lookup::table_or(rs, &t, "")?;
                print::table(out, &rs.tables[ti], st, Part::All, xt);
            }
            ListWhat::Chain(c) => {
                let (ti, ci) = lookup::chain_or(rs, &c, "")?;
                let t = &rs.tables[ti];
                print::one(out, t, &|o| print::chain(o, t, &t.chains[ci], st, true));
            }
            ListWhat::Set(t, name) => {
                let ti = lookup::table_or(rs, &t, "")?;
                let table = &rs.tables[ti];
                let si = lookup::set_or(table, &name, "")?;
                print::one(out, table, &|o| print::set(o, &table.sets[si], st));
            }
        }
        Ok(())
    }
}

/// Elements with ranges need `flags interval`.
fn check_elems(
    s: &super::model::Set,
    elems: &[Elem],
    spans: &[(usize, usize)],
) -> Result<(), Fault> {
    if s.flags.interval {
        return Ok(());
    }
    for (e, at) in elems.iter().zip(spans) {
        if e.key.iter().any(|(lo, hi)| lo != hi) {
            return Err(Fault::new(
                "You must add 'flags interval' to your set declaration if you want to add range elements",
                *at,
            ));
        }
    }
    Ok(())
}

fn add_table(
    rs: &mut Ruleset,
    t: &TableId,
    create: bool,
    dormant: Option<bool>,
    comment: Option<Box<str>>,
) -> Result<(), Fault> {
    if let Some(i) = lookup::table(rs, t) {
        if create {
            return Err(Fault::new(format!("{KERNEL}File exists"), t.name.at));
        }
        let table = &mut rs.tables[i];
        if let Some(d) = dormant {
            not_xt(table, t.name.at)?;
            table.dormant = d;
        }
        return Ok(());
    }
    rs.last_table_handle += 1;
    rs.tables.push(Table {
        family: t.family,
        name: t.name.text.clone(),
        handle: rs.last_table_handle,
        dormant: dormant.unwrap_or(false),
        comment,
        xt: false,
        chains: Vec::new(),
        sets: Vec::new(),
        last_handle: 0,
        xt_shared: None,
    });
    Ok(())
}

/// Whether a chain of this type may sit at this hook.
fn hook_allowed(kind: ChainType, hook: NftHook) -> bool {
    match kind {
        ChainType::Filter => true,
        ChainType::Nat => !matches!(hook, NftHook::Forward | NftHook::Ingress | NftHook::Egress),
        ChainType::Route => hook == NftHook::Output,
    }
}

fn add_chain(rs: &mut Ruleset, c: &ChainId, create: bool, decl: ChainDecl) -> Result<(), Fault> {
    let ti = lookup::table_or(rs, &c.table, "")?;
    let table = &mut rs.tables[ti];
    not_xt(table, c.table.name.at)?;
    if let Some(ci) = table.chains.iter().position(|x| *x.name == *c.name.text) {
        if create {
            return Err(Fault::new(format!("{KERNEL}File exists"), c.name.at));
        }
        let chain = &mut table.chains[ci];
        if let Some((drop, at)) = decl.policy {
            match &mut chain.base {
                Some(b) => b.drop = drop,
                None => return Err(unsupported(at)),
            }
        }
        return Ok(());
    }
    let mut base = decl.base;
    if let Some(b) = &mut base {
        if !hook_allowed(b.kind, b.hook) {
            return Err(unsupported(c.name.at));
        }
        b.drop = decl.policy.is_some_and(|p| p.0);
    } else if let Some((_, at)) = decl.policy {
        return Err(unsupported(at));
    }
    let handle = table.next_handle();
    table.chains.push(Chain {
        name: c.name.text.clone(),
        handle,
        base,
        comment: decl.comment,
        rules: Vec::new(),
    });
    Ok(())
}

/// The hooks a NAT statement may run at.
fn nat_allowed(kind: NatKind, hook: NftHook) -> bool {
    match kind {
        NatKind::Snat => matches!(hook, NftHook::Postrouting | NftHook::Input),
        NatKind::Masquerade => hook == NftHook::Postrouting,
        NatKind::Dnat | NatKind::Redirect => matches!(hook, NftHook::Prerouting | NftHook::Output),
    }
}

fn add_rule(
    rs: &mut Ruleset,
    c: &ChainId,
    insert: bool,
    pos: RulePos,
    rule: RuleAst,
    at: (usize, usize),
    replace: Option<(u64, (usize, usize))>,
) -> Result<(), Fault> {
    let (ti, ci) = lookup::chain_or(rs, c, KERNEL)?;
    let table = &mut rs.tables[ti];
    not_xt(table, c.table.name.at)?;
    let index = match (replace, pos) {
        (Some((h, hat)), _) => {
            let rules = &table.chains[ci].rules;
            let i = rules
                .iter()
                .position(|r| r.handle == h)
                .ok_or(missing(hat))?;
            Some(i)
        }
        (None, RulePos::End) => Some(if insert {
            0
        } else {
            table.chains[ci].rules.len()
        }),
        (None, RulePos::Handle(h, pat)) => {
            let rules = &table.chains[ci].rules;
            let i = rules
                .iter()
                .position(|r| r.handle == h)
                .ok_or(missing(pat))?;
            Some(if insert { i } else { i + 1 })
        }
        (None, RulePos::Index(n, pat)) => {
            let len = table.chains[ci].rules.len() as u64;
            if n >= len {
                return Err(missing(pat));
            }
            Some(if insert { n as usize } else { n as usize + 1 })
        }
    };
    // The kernel gives the handles before it checks the rule: a refused rule uses them up.
    // A replaced rule keeps its handle.
    let mut stmts = rule.stmts;
    for s in &mut stmts {
        for set in anon_sets(s) {
            set.handle = table.next_handle();
        }
    }
    let handle = match replace {
        Some((h, _)) => h,
        None => table.next_handle(),
    };
    for check in &rule.checks {
        check_rule(table, ci, check, at)?;
    }
    let new = Rule {
        handle,
        stmts,
        comment: rule.comment,
    };
    let i = index.unwrap_or(0);
    let rules = &mut table.chains[ci].rules;
    if replace.is_some() {
        rules[i] = new;
    } else {
        rules.insert(i, new);
    }
    if looping(table).is_some() {
        return Err(Fault::new(
            format!("{KERNEL}Too many levels of symbolic links"),
            at,
        ));
    }
    Ok(())
}

/// The anonymous sets a statement holds.
fn anon_sets(s: &mut Stmt) -> Vec<&mut super::model::Set> {
    let r = match s {
        Stmt::Match(m) => match &mut m.right {
            Rhs::Set(r) => Some(r),
            _ => None,
        },
        Stmt::Vmap { map, .. } => Some(map),
        Stmt::Nat(n) => match &mut n.to {
            super::model::NatTo::Map { map, .. } => Some(map),
            _ => None,
        },
        _ => None,
    };
    match r {
        Some(SetRef::Anon(s)) => vec![&mut **s],
        _ => Vec::new(),
    }
}

fn check_rule(table: &Table, ci: usize, check: &Check, at: (usize, usize)) -> Result<(), Fault> {
    let base = table.chains[ci].base.as_ref();
    match check {
        Check::Chain { name, at } => {
            if !table.chains.iter().any(|c| c.name == *name) {
                return Err(missing(*at));
            }
        }
        Check::Set {
            name,
            at,
            at_key,
            key,
            ..
        } => {
            let Some(s) = table.sets.iter().find(|s| s.name == *name) else {
                return Err(Fault::new("No such file or directory", *at));
            };
            if *s.key != key[..] {
                let mut f = Fault::new(
                    format!(
                        "datatype mismatch, expected {}, expression has type {}",
                        lookup::describe(key[0]),
                        lookup::describe(s.key[0])
                    ),
                    *at,
                );
                f.also = Some(*at_key);
                return Err(f);
            }
        }
        Check::Nat(kind) => {
            if let Some(b) = base
                && (b.kind != ChainType::Nat || !nat_allowed(*kind, b.hook))
            {
                return Err(unsupported(at));
            }
        }
        Check::Reject => {
            if let Some(b) = base
                && !matches!(b.hook, NftHook::Input | NftHook::Forward | NftHook::Output)
            {
                return Err(unsupported(at));
            }
        }
        Check::Queue { at } => return Err(missing(*at)),
    }
    Ok(())
}

/// The chains a chain jumps or goes to.
fn targets(c: &Chain) -> Vec<Box<str>> {
    let mut out = Vec::new();
    let mut verdict = |v: &Verdict| {
        if let Verdict::Jump(t) | Verdict::Goto(t) = v {
            out.push(t.name.clone());
        }
    };
    for r in &c.rules {
        for s in &r.stmts {
            match s {
                Stmt::Verdict(v) => verdict(v),
                Stmt::Vmap {
                    map: SetRef::Anon(set),
                    ..
                } => {
                    for e in &set.elems {
                        if let Some(ElemData::Verdict(v)) = &e.data {
                            verdict(v);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A base chain from which a jump loop is reachable, if any.
fn looping(t: &Table) -> Option<usize> {
    let index = |name: &str| t.chains.iter().position(|c| *c.name == *name);
    // Depth-first from each base chain; a chain met again on the current path is a loop.
    fn walk(
        t: &Table,
        i: usize,
        path: &mut Vec<usize>,
        index: &dyn Fn(&str) -> Option<usize>,
    ) -> bool {
        if path.contains(&i) {
            return true;
        }
        path.push(i);
        for n in targets(&t.chains[i]) {
            if let Some(j) = index(&n)
                && walk(t, j, path, index)
            {
                return true;
            }
        }
        path.pop();
        false
    }
    (0..t.chains.len())
        .filter(|&i| t.chains[i].base.is_some())
        .find(|&i| walk(t, i, &mut Vec::new(), &index))
}

/// Whether any rule of the table jumps or goes to `name`.
fn referenced(t: &Table, name: &str) -> bool {
    t.chains
        .iter()
        .any(|c| targets(c).iter().any(|n| **n == *name))
}

fn set_used(t: &Table, name: &str) -> bool {
    t.chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.stmts)
        .any(|s| {
            let r = match s {
                Stmt::Match(m) => match &m.right {
                    Rhs::Set(r) => Some(r),
                    _ => None,
                },
                Stmt::Vmap { map, .. } => Some(map),
                Stmt::SetUpdate { set, .. } => Some(set),
                Stmt::Nat(n) => match &n.to {
                    super::model::NatTo::Map { map, .. } => Some(map),
                    _ => None,
                },
                _ => None,
            };
            matches!(r, Some(SetRef::Named { name: n, .. }) if **n == *name)
        })
}

fn rename_targets(t: &mut Table, old: &str, new: &str) {
    let fix = |v: &mut Verdict| {
        if let Verdict::Jump(x) | Verdict::Goto(x) = v
            && *x.name == *old
        {
            x.name = new.into();
        }
    };
    for c in &mut t.chains {
        for r in &mut c.rules {
            for s in &mut r.stmts {
                match s {
                    Stmt::Verdict(v) => fix(v),
                    Stmt::Vmap {
                        map: SetRef::Anon(set),
                        ..
                    } => {
                        for e in &mut set.elems {
                            if let Some(ElemData::Verdict(v)) = &mut e.data {
                                fix(v);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn delete(rs: &mut Ruleset, o: Obj) -> Result<(), Fault> {
    match o {
        Obj::Ruleset(_) => Ok(()),
        Obj::Table(t) => {
            let ti = lookup::table_or(rs, &t, KERNEL)?;
            not_xt(&rs.tables[ti], t.name.at)?;
            rs.tables.remove(ti);
            Ok(())
        }
        Obj::TableHandle(f, h, at) => {
            let ti = rs
                .tables
                .iter()
                .position(|t| t.family == f && t.handle == h)
                .ok_or(missing(at))?;
            not_xt(&rs.tables[ti], at)?;
            rs.tables.remove(ti);
            Ok(())
        }
        Obj::Chain(c) => {
            let (ti, ci) = lookup::chain_or(rs, &c, KERNEL)?;
            delete_chain(&mut rs.tables[ti], ci, c.name.at)
        }
        Obj::ChainHandle(t, h, at) => {
            let ti = lookup::table_or(rs, &t, KERNEL)?;
            let table = &mut rs.tables[ti];
            let ci = table
                .chains
                .iter()
                .position(|c| c.handle == h)
                .ok_or(missing(at))?;
            delete_chain(table, ci, at)
        }
        Obj::Rule(c, h, at) => {
            let (ti, ci) = lookup::chain_or(rs, &c, KERNEL)?;
            let table = &mut rs.tables[ti];
            not_xt(table, c.table.name.at)?;
            let rules = &mut table.chains[ci].rules;
            let i = rules
                .iter()
                .position(|r| r.handle == h)
                .ok_or(missing(at))?;
            rules.remove(i);
            Ok(())
        }
        Obj::Set(t, name) => {
            let ti = lookup::table_or(rs, &t, KERNEL)?;
            let table = &mut rs.tables[ti];
            let si = lookup::set_or(table, &name, KERNEL)?;
            if set_used(table, &name.text) {
                return Err(busy(name.at));
            }
            table.sets.remove(si);
            Ok(())
        }
    }
}

fn delete_chain(table: &mut Table, ci: usize, at: (usize, usize)) -> Result<(), Fault> {
    not_xt(table, at)?;
    let name = table.chains[ci].name.clone();
    if referenced(table, &name) {
        return Err(busy(at));
    }
    table.chains.remove(ci);
    Ok(())
}

fn flush(rs: &mut Ruleset, o: Obj) -> Result<(), Fault> {
    match o {
        Obj::Ruleset(f) => {
            // iptables-nft's tables stay: the router owns their rules.
            rs.tables
                .retain(|t| t.xt || f.is_some_and(|f| f != t.family));
            Ok(())
        }
        Obj::Table(t) => {
            let ti = lookup::table_or(rs, &t, KERNEL)?;
            not_xt(&rs.tables[ti], t.name.at)?;
            for c in &mut rs.tables[ti].chains {
                c.rules.clear();
            }
            Ok(())
        }
        Obj::Chain(c) => {
            let (ti, ci) = lookup::chain_or(rs, &c, KERNEL)?;
            not_xt(&rs.tables[ti], c.table.name.at)?;
            rs.tables[ti].chains[ci].rules.clear();
            Ok(())
        }
        Obj::Set(t, name) => {
            let ti = lookup::table_or(rs, &t, KERNEL)?;
            let table = &mut rs.tables[ti];
            let si = lookup::set_or(table, &name, KERNEL)?;
            table.sets[si].elems.clear();
            Ok(())
        }
        Obj::TableHandle(_, _, at) | Obj::ChainHandle(_, _, at) | Obj::Rule(_, _, at) => {
            Err(Fault::new("syntax error, unexpected handle", at))
        }
    }
}

//! iptables' tables as `nft list ruleset` shows them: on a Debian host iptables is
//! iptables-nft (1.8.9), which keeps its rules in nf_tables tables `ip filter`, `ip nat`,
//! `ip mangle`, `ip raw`, and nft 1.0.6 lists them among its own.
//!
//! What the listing reproduces (each point checked against the kernel and the real tools):
//! * Only the tables and chains iptables-nft has created, in creation order (handle order),
//!   with the handles it got (`nft_track.rs`): after `iptables -A FORWARD ...` the filter
//!   table holds FORWARD alone.
//! * Each rule is what iptables-nft puts in the kernel, printed back as nft prints it. The
//!   IP header part (`-i -o -p -s -d -f`) and the `tcp`, `udp`, `mark` and `limit` matches are
//!   native expressions; every other match and target is a compat (`xt`) expression, which
//!   nft prints through libxtables' translation (`iptables-translate`'s text, `nft_xlate*.rs`)
//!   or, when the extension has none or declines, as `xt match NAME` / `xt target NAME`.
//! * nft drops `meta l4proto tcp` when a native `tcp ...` expression follows it with only
//!   expressions between (payload dependency elimination); a compat or other statement in
//!   between keeps it: `-p tcp -m conntrack --ctstate NEW --dport 22` lists as
//!   `meta l4proto tcp ct state new tcp dport 22`.
//! * Statements are joined by one space, so a translation that prints nothing (`-m comment`:
//!   libxtables keeps the comment apart and nft never prints it) leaves two spaces, or a
//!   leading one.
//! * iptables-nft puts a counter before the target: `counter packets P bytes B` (`counter`
//!   with `-s`).
//! * For a table holding a compat expression nft writes
//!   `# Warning: table ip filter is managed by iptables-nft, do not touch!` on **stderr**
//!   (not stdout), once per listed table, before the table: [`nft_table_warning`].

use std::fmt::Write as _;

use super::model::{Chain, Policy, Rule, TableState, Tables, Target};
use crate::netfilter::packet::{Hook, Table};

/// `nft` options that change the listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NftListOptions {
    /// `-a`: `# handle N` after tables, chains and rules.
    pub handles: bool,
    /// `-s`: counters without their values.
    pub stateless: bool,
    /// The table's handle in the namespace when nft's own tables share the sequence (the
    /// router knows); `None` takes the creation order among iptables-nft's tables.
    pub table_handle: Option<u64>,
    /// Added to the chains' and rules' handles: where iptables-nft's handles begin in a
    /// table nft made before it (0 in a table of its own).
    pub handle_base: u64,
}

/// One statement of a rule as nft prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stmt {
    /// A comparison expression: `dep` is the protocol of a `meta l4proto P` nft may drop as
    /// a dependency, `l4` the protocol of a native transport-header match that drops one.
    Expr {
        text: String,
        dep: Option<u8>,
        l4: Option<u8>,
    },
    /// Any other statement (limit, counter, verdict, compat): dependencies stop here.
    Other { text: String, xt: bool },
}

impl Stmt {
    pub fn expr(text: impl Into<String>) -> Stmt {
        Stmt::Expr {
            text: text.into(),
            dep: None,
            l4: None,
        }
    }

    pub fn l4(proto: u8, text: impl Into<String>) -> Stmt {
        Stmt::Expr {
            text: text.into(),
            dep: None,
            l4: Some(proto),
        }
    }

    pub fn other(text: impl Into<String>) -> Stmt {
        Stmt::Other {
            text: text.into(),
            xt: false,
        }
    }

    /// A compat match: its translation, or `xt match NAME` when there is none.
    pub fn xt_match(name: &str, xlate: Option<String>) -> Stmt {
        Stmt::Other {
            text: xlate.unwrap_or_else(|| format!("xt match {name}")),
            xt: true,
        }
    }

    pub fn xt_target(name: &str, xlate: Option<String>) -> Stmt {
        Stmt::Other {
            text: xlate.unwrap_or_else(|| format!("xt target {name}")),
            xt: true,
        }
    }

    fn text(&self) -> &str {
        match self {
            Stmt::Expr { text, .. } | Stmt::Other { text, .. } => text,
        }
    }

    fn is_xt(&self) -> bool {
        matches!(self, Stmt::Other { xt: true, .. })
    }
}

impl Tables {
    /// The table's place among the tables iptables-nft has created in the namespace (from 1,
    /// in creation order), or `None` if it has not created it. nft lists tables in handle
    /// order, so this orders them among nft's own.
    pub fn nft_table_order(&self, table: Table) -> Option<u64> {
        self.state(table).nft.map(|t| t.order).filter(|&o| o > 0)
    }
}

/// The table as `nft list table ip NAME` (`ip6 NAME` for ip6tables') and `nft list ruleset`
/// print it, or `None` when iptables-nft would not have created it.
pub fn nft_table_listing(tables: &Tables, table: Table, opts: NftListOptions) -> Option<String> {
    let ts = tables.state(table);
    let order = tables.nft_table_order(table)?;
    let mut out = format!("table {} {} {{", nft_family(tables), table.name());
    if opts.handles {
        let _ = write!(out, " # handle {}", opts.table_handle.unwrap_or(order));
    }
    out.push('\n');
    for (i, id) in nft_chains(ts).into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        chain_block(&mut out, ts, ts.chain(id), opts);
    }
    out.push_str("}\n");
    Some(out)
}

/// nft's stderr line for the table (`None` if it holds no compat expression or does not
/// exist): nft prints it when it lists the table, before the table's text.
pub fn nft_table_warning(tables: &Tables, table: Table) -> Option<String> {
    tables.nft_table_order(table)?;
    let ts = tables.state(table);
    let xt = nft_chains(ts)
        .into_iter()
        .flat_map(|id| &ts.chain(id).rules)
        .any(|r| rule_stmts(ts, r).iter().any(Stmt::is_xt));
    xt.then(|| {
        format!(
            "# Warning: table {} {} is managed by iptables-nft, do not touch!\n",
            nft_family(tables),
            table.name()
        )
    })
}

/// The nft family iptables-nft's tables are in: `ip`, or `ip6` for ip6tables-nft's.
fn nft_family(tables: &Tables) -> &'static str {
    match tables.is_v6() {
        true => "ip6",
        false => "ip",
    }
}

/// The iptables-nft tables in creation order, each listed as `nft list ruleset` lists it
/// when nf_tables holds nothing else.
pub fn nft_ruleset_listing(tables: &Tables, opts: NftListOptions) -> String {
    let mut made: Vec<(u64, Table)> = Table::ALL
        .into_iter()
        .filter_map(|t| tables.nft_table_order(t).map(|o| (o, t)))
        .collect();
    made.sort_unstable();
    made.into_iter()
        .filter_map(|(_, t)| nft_table_listing(tables, t, opts))
        .collect()
}

/// The chains nf_tables has, in handle order.
fn nft_chains(ts: &TableState) -> Vec<usize> {
    let mut ids: Vec<(u64, usize)> = ts
        .chains
        .iter()
        .enumerate()
        .filter_map(|(id, c)| Some((c.as_ref()?.handle?, id)))
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|(_, id)| id).collect()
}

fn chain_block(out: &mut String, ts: &TableState, c: &Chain, opts: NftListOptions) {
    let _ = write!(out, "\tchain {} {{", c.name);
    if opts.handles {
        let _ = write!(
            out,
            " # handle {}",
            c.handle.unwrap_or(0) + opts.handle_base
        );
    }
    out.push('\n');
    if let Some(hook) = c.hook {
        let policy = match c.policy {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        };
        let _ = writeln!(
            out,
            "\t\ttype {} hook {} priority {}; policy {policy};",
            chain_type(ts.table, hook),
            hook_name(hook),
            priority(ts.table, hook)
        );
    }
    for r in &c.rules {
        out.push_str("\t\t");
        out.push_str(&rule_text(ts, r, opts.stateless));
        if opts.handles {
            let _ = write!(out, " # handle {}", r.handle + opts.handle_base);
        }
        out.push('\n');
    }
    out.push_str("\t}\n");
}

/// The chain types iptables-nft registers: mangle's OUTPUT reroutes (`type route`).
fn chain_type(table: Table, hook: Hook) -> &'static str {
    match (table, hook) {
        (Table::Nat, _) => "nat",
        (Table::Mangle, Hook::Output) => "route",
        _ => "filter",
    }
}

fn hook_name(hook: Hook) -> &'static str {
    match hook {
        Hook::Prerouting => "prerouting",
        Hook::Input => "input",
        Hook::Forward => "forward",
        Hook::Output => "output",
        Hook::Postrouting => "postrouting",
    }
}

/// The priority as nft 1.0.6 names it: nat's INPUT (100) and OUTPUT (-100) have no name in
/// the nat chain type's list of standard priorities for those hooks.
fn priority(table: Table, hook: Hook) -> &'static str {
    match (table, hook) {
        (Table::Raw, _) => "raw",
        (Table::Mangle, _) => "mangle",
        (Table::Filter, _) => "filter",
        (Table::Nat, Hook::Prerouting) => "dstnat",
        (Table::Nat, Hook::Postrouting) => "srcnat",
        (Table::Nat, Hook::Input) => "100",
        (Table::Nat, _) => "-100",
    }
}

/// The statements iptables-nft makes of a rule, in its order: interfaces, protocol,
/// addresses, fragment, the matches, the counter, the target.
fn rule_stmts(ts: &TableState, r: &Rule) -> Vec<Stmt> {
    let mut s = super::nft_xlate::ip_stmts(&r.ip);
    for m in &r.matches {
        s.extend(super::nft_xlate::match_stmts(m, &r.ip));
    }
    s.push(Stmt::other(format!(
        "counter packets {} bytes {}",
        r.counters.packets, r.counters.bytes
    )));
    let target = match &r.target {
        Target::Jump(id) | Target::Goto(id) => {
            let name = ts.chains[*id].as_ref().map_or("", |c| c.name.as_str());
            let verb = match r.target {
                Target::Goto(_) => "goto",
                _ => "jump",
            };
            Some(Stmt::other(format!("{verb} {name}")))
        }
        t => super::nft_xlate_target::target_stmt(t),
    };
    s.extend(target);
    s
}

/// nft's text of one rule.
fn rule_text(ts: &TableState, r: &Rule, stateless: bool) -> String {
    let mut stmts = rule_stmts(ts, r);
    eliminate_dependencies(&mut stmts);
    let texts: Vec<&str> = stmts
        .iter()
        .map(|s| match s {
            Stmt::Other { text, .. } if stateless && text.starts_with("counter packets ") => {
                "counter"
            }
            s => s.text(),
        })
        .collect();
    texts.join(" ")
}

/// nft's payload dependency elimination: a `meta l4proto P` followed, through expressions
/// only, by a native match on P's header is implied by it and not printed.
fn eliminate_dependencies(stmts: &mut Vec<Stmt>) {
    let mut pending: Option<(usize, u8)> = None;
    let mut drop = Vec::new();
    for (i, s) in stmts.iter().enumerate() {
        match s {
            Stmt::Expr { dep: Some(p), .. } => pending = Some((i, *p)),
            Stmt::Expr { l4: Some(p), .. } => {
                if let Some((at, dep)) = pending.take()
                    && dep == *p
                {
                    drop.push(at);
                }
            }
            Stmt::Expr { .. } => {}
            Stmt::Other { .. } => pending = None,
        }
    }
    for at in drop.into_iter().rev() {
        stmts.remove(at);
    }
}

#[cfg(test)]
#[path = "nft_view_tests.rs"]
mod tests;

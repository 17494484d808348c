//! `nft list ...` as nft 1.0.6 prints it: tables, their sets and maps, then their chains,
//! one blank line between items; `-a` adds `# handle N`, `-s` drops counter values, `-n`
//! prints numbers. Tables iptables-nft made print as the router gives them (`xt`).

use super::NftFamily;
use super::model::{Chain, Ruleset, Set, Table};
use super::print_stmt::{self, Style};
use std::fmt::Write;

/// What of a table a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Everything (`list ruleset`, `list table`).
    All,
    /// Chain headers only (`list chains`).
    Chains,
    /// Named sets only (`list sets`), or maps only (`list maps`).
    Sets { maps: bool },
}

fn handle(out: &mut String, st: Style, h: u64) {
    if st.handles {
        let _ = write!(out, " # handle {h}");
    }
}

/// `table F N {` with its handle.
fn table_open(out: &mut String, t: &Table, st: Style) {
    let _ = write!(out, "table {} {} {{", t.family.name(), t.name);
    handle(out, st, t.handle);
    out.push('\n');
}

/// A chain's block at one tab.
pub fn chain(out: &mut String, t: &Table, c: &Chain, st: Style, rules: bool) {
    let _ = write!(out, "\tchain {} {{", c.name);
    handle(out, st, c.handle);
    out.push('\n');
    if let Some(cm) = &c.comment {
        let _ = writeln!(out, "\t\tcomment \"{cm}\"");
    }
    if let Some(b) = &c.base {
        let kind = match b.kind {
            super::model::ChainType::Filter => "filter",
            super::model::ChainType::Nat => "nat",
            super::model::ChainType::Route => "route",
        };
        let _ = write!(out, "\t\ttype {kind} hook {}", hook_name(b.hook));
        if let Some(d) = &b.device {
            let _ = write!(out, " device \"{d}\"");
        }
        let prio = if st.numeric {
            b.priority.value.to_string()
        } else {
            super::priority::print(t.family, b.hook, b.priority.value)
        };
        let policy = if b.drop { "drop" } else { "accept" };
        let _ = writeln!(out, " priority {prio}; policy {policy};");
    }
    if rules {
        for r in &c.rules {
            out.push_str("\t\t");
            print_stmt::rule(out, t, r, st);
            out.push('\n');
        }
    }
    out.push_str("\t}\n");
}

/// A hook's name.
pub fn hook_name(h: super::model::NftHook) -> &'static str {
    use super::model::NftHook::*;
    match h {
        Prerouting => "prerouting",
        Input => "input",
        Forward => "forward",
        Output => "output",
        Postrouting => "postrouting",
        Ingress => "ingress",
        Egress => "egress",
    }
}

/// A named set's or map's block at one tab.
pub fn set(out: &mut String, s: &Set, st: Style) {
    let kind = if s.data.is_some() { "map" } else { "set" };
    let _ = write!(out, "\t{kind} {} {{", s.name);
    handle(out, st, s.handle);
    out.push('\n');
    let types =
        |ts: &[super::expr::DataType]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(" . ");
    match &s.typeof_key {
        Some(e) => {
            let names: Vec<String> = e.keys().iter().map(print_stmt::key_name).collect();
            let _ = write!(out, "\t\ttypeof {}", names.join(" . "));
        }
        None => {
            let _ = write!(out, "\t\ttype {}", types(&s.key));
        }
    }
    if let Some(d) = &s.data {
        let _ = write!(out, " : {}", types(d));
    }
    out.push('\n');
    let mut flags = Vec::new();
    for (on, name) in [
        (s.flags.constant, "constant"),
        (s.flags.dynamic, "dynamic"),
        (s.flags.interval, "interval"),
        (s.flags.timeout, "timeout"),
    ] {
        if on {
            flags.push(name);
        }
    }
    if !flags.is_empty() {
        let _ = writeln!(out, "\t\tflags {}", flags.join(","));
    }
    if let Some(c) = &s.comment {
        let _ = writeln!(out, "\t\tcomment \"{c}\"");
    }
    if !s.elems.is_empty() {
        out.push_str("\t\telements = ");
        print_stmt::elems(out, s, st);
        out.push('\n');
    }
    out.push_str("\t}\n");
}

/// A line of a chain that `list chains` keeps: the chain's head, its base hook, its end.
fn chain_outline(line: &str) -> bool {
    line.starts_with("\tchain ") || line == "\t}" || line.starts_with("\t\ttype ")
}

/// A table's block: all of it, or the part `list chains|sets|maps` shows.
pub fn table(
    out: &mut String,
    t: &Table,
    st: Style,
    part: Part,
    xt: &dyn Fn(NftFamily, &str) -> Option<String>,
) {
    if t.xt {
        let family = t.family.name();
        let text =
            xt(t.family, &t.name).unwrap_or_else(|| format!("table {family} {} {{\n}}\n", t.name));
        match part {
            Part::All => out.push_str(&text),
            Part::Chains => {
                for line in text.lines() {
                    if line.starts_with("table ") || line == "}" || chain_outline(line) {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            Part::Sets { .. } => {
                let _ = writeln!(out, "table {} {} {{\n}}", t.family.name(), t.name);
            }
        }
        return;
    }
    // The chains iptables-nft added to this table, as the router lists them (nft's warning
    // about them first).
    let shared = t
        .xt_shared
        .and_then(|_| xt(t.family, &t.name))
        .unwrap_or_default();
    // (`nft list chains` does not warn.)
    let (warning, shared) = match shared.split_once('\n') {
        Some((w, rest)) if w.starts_with("# Warning: ") => (w, rest),
        _ => ("", shared.as_str()),
    };
    if part == Part::All && !warning.is_empty() {
        out.push_str(warning);
        out.push('\n');
    }
    table_open(out, t, st);
    let mut first = true;
    if part == Part::All {
        if t.dormant {
            out.push_str("\tflags dormant\n");
            first = false;
        }
        if let Some(c) = &t.comment {
            let _ = writeln!(out, "\tcomment \"{c}\"");
            first = false;
        }
    }
    let mut sep = |out: &mut String| {
        if !first {
            out.push('\n');
        }
        first = false;
    };
    for s in &t.sets {
        let show = match part {
            Part::All => true,
            Part::Chains => false,
            Part::Sets { maps } => maps == s.data.is_some(),
        };
        if show {
            if part == Part::All {
                sep(out);
            }
            set(out, s, st);
        }
    }
    for c in &t.chains {
        match part {
            Part::All => {
                sep(out);
                chain(out, t, c, st, true);
            }
            Part::Chains => chain(out, t, c, st, false),
            Part::Sets { .. } => {}
        }
    }
    if !shared.is_empty() && matches!(part, Part::All | Part::Chains) {
        let lines: Vec<&str> = shared.lines().collect();
        let body = &lines[1.min(lines.len())..lines.len().saturating_sub(1)];
        let mut in_chain = false;
        for line in body {
            if line.starts_with("\tchain ") {
                in_chain = true;
                if part == Part::All {
                    sep(out);
                }
            }
            if in_chain && (part == Part::All || chain_outline(line)) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str("}\n");
}

/// Every table (of `family` if given).
pub fn ruleset(
    out: &mut String,
    rs: &Ruleset,
    family: Option<NftFamily>,
    st: Style,
    part: Part,
    xt: &dyn Fn(NftFamily, &str) -> Option<String>,
) {
    for t in rs
        .tables
        .iter()
        .filter(|t| family.is_none_or(|f| f == t.family))
    {
        table(out, t, st, part, xt);
    }
}

/// `list tables` (without handles, even with `-a`, as nft 1.0.6 prints it).
pub fn tables(out: &mut String, rs: &Ruleset, family: Option<NftFamily>) {
    for t in rs
        .tables
        .iter()
        .filter(|t| family.is_none_or(|f| f == t.family))
    {
        let _ = writeln!(out, "table {} {}", t.family.name(), t.name);
    }
}

/// `list chain` / `list set`: the table's line, the one item, the closing brace.
pub fn one(out: &mut String, t: &Table, item: &dyn Fn(&mut String)) {
    let _ = writeln!(out, "table {} {} {{", t.family.name(), t.name);
    item(out);
    out.push_str("}\n");
}

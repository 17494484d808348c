//! The notes a chain's walk leaves on the frame: with `detail`, what decided (`nft ip t
//! fwd: dropped by handle 12: ... drop`); with `tracing`, the whole walk, each rule met by
//! its handle, with the verdict `nft monitor trace` gives it (a rule that ran to its end
//! `continue`, a NAT statement `accept`, `reject` `drop`), a regular chain's end and the
//! policy. Built only when asked for: the walk records steps, these functions word them.

use super::eval_rule::RuleEnd;
use super::model::{Rule, Table};
use super::print_stmt::{self, Style};
use crate::netfilter::{NatAction, Verdict};

/// One thing the walk met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A rule, and how it ended.
    Rule(RuleEnd),
    /// A regular chain's end: back to the rule after the jump.
    ChainEnd,
    /// The base chain's policy.
    Policy,
}

/// A step, with the chain (and rule) of the table it happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TraceStep {
    pub chain: usize,
    pub rule: usize,
    pub step: Step,
}

/// A rule as `nft list` prints it (counters as they are now).
fn rule_text(table: &Table, rule: &Rule, style: Style) -> String {
    let mut out = String::new();
    print_stmt::rule(&mut out, table, rule, style);
    out
}

/// The walk's verdict as a note ends with it.
fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "accept",
        Verdict::Drop => "drop",
        Verdict::Reject(_) => "reject",
        Verdict::Nat(NatAction::Snat { .. }) => "snat",
        Verdict::Nat(NatAction::Dnat { .. }) => "dnat",
        Verdict::Nat(NatAction::Masquerade { .. }) => "masquerade",
        Verdict::Nat(NatAction::Redirect { .. }) => "redirect",
        Verdict::Nat(NatAction::Netmap { .. }) => "netmap",
    }
}

fn chain_name(table: &Table, chain: usize) -> &str {
    table.chains.get(chain).map_or("?", |c| &c.name)
}

fn rule_at(table: &Table, chain: usize, rule: usize) -> Option<&Rule> {
    table.chains.get(chain)?.rules.get(rule)
}

fn policy_word(table: &Table, base: usize) -> &'static str {
    let drop = table
        .chains
        .get(base)
        .and_then(|c| c.base.as_ref())
        .is_some_and(|b| b.drop);
    if drop { "drop" } else { "accept" }
}

/// What decided, when it is worth a note: a drop, a reject, a NAT binding, or a rule
/// accepting a new connection. `decided` is the deciding rule (chain and rule index), `None`
/// for the policy.
pub(super) fn decision_note(
    style: Style,
    table: &Table,
    base: usize,
    decided: Option<(usize, usize)>,
    verdict: Verdict,
    new: bool,
) -> Option<String> {
    let what = match verdict {
        Verdict::Drop => "dropped by",
        Verdict::Reject(_) => "rejected by",
        Verdict::Nat(_) => "NAT by",
        Verdict::Accept if new && decided.is_some() => "new connection accepted by",
        Verdict::Accept => return None,
    };
    let family = table.family.name();
    Some(
        match decided.and_then(|(c, r)| Some((c, rule_at(table, c, r)?))) {
            Some((c, rule)) => format!(
                "nft {family} {} {}: {what} handle {}: {}",
                table.name,
                chain_name(table, c),
                rule.handle,
                rule_text(table, rule, style)
            ),
            None => format!(
                "nft {family} {} {}: {what} policy {}",
                table.name,
                chain_name(table, base),
                policy_word(table, base)
            ),
        },
    )
}

/// The whole walk, in one note.
pub(super) fn trace_note(
    style: Style,
    table: &Table,
    base: usize,
    steps: &[TraceStep],
    verdict: Verdict,
) -> String {
    let mut words: Vec<String> = Vec::with_capacity(steps.len());
    for s in steps {
        let within = match s.chain == base {
            true => String::new(),
            false => format!("{} ", chain_name(table, s.chain)),
        };
        let text = match s.step {
            Step::Policy => format!("policy {}", policy_word(table, base)),
            Step::ChainEnd => format!("{within}verdict continue"),
            Step::Rule(end) => {
                let Some(rule) = rule_at(table, s.chain, s.rule) else {
                    continue;
                };
                let handle = rule.handle;
                let said = match end {
                    RuleEnd::Break => {
                        words.push(format!("{within}handle {handle} no match"));
                        continue;
                    }
                    RuleEnd::Done => "continue".to_string(),
                    RuleEnd::Accept | RuleEnd::Nat(_) => "accept".to_string(),
                    RuleEnd::Drop | RuleEnd::Reject(_) => "drop".to_string(),
                    RuleEnd::Return => "return".to_string(),
                    RuleEnd::Jump(to) => format!("jump {}", chain_name(table, to as usize)),
                    RuleEnd::Goto(to) => format!("goto {}", chain_name(table, to as usize)),
                };
                format!(
                    "{within}handle {handle}: {} (verdict {said})",
                    rule_text(table, rule, style)
                )
            }
        };
        words.push(text);
    }
    let walk = match words.is_empty() {
        true => "no rule".to_string(),
        false => words.join(", "),
    };
    format!(
        "nft {} {} {}: {walk} => {}",
        table.family.name(),
        table.name,
        chain_name(table, base),
        verdict_word(verdict)
    )
}

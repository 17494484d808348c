//! What a router records of one packet's walk through its tables when `hoplab explain` asks:
//! each table a hook ran, every rule the packet was tested against with the rule's counters
//! after it, and the table's verdict.

use crate::netfilter::rules::Tables;
use crate::netfilter::{Hook, Table};

/// One table's chain walk at one hook.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableWalk {
    pub table: &'static str,
    pub hook: &'static str,
    /// The rules met, in order, jumps followed.
    pub rules: Vec<RuleStep>,
    /// `ACCEPT`, `DROP`, `REJECT`, or the NAT target that decided.
    pub verdict: &'static str,
}

/// A rule (or a built-in chain's policy) the packet was tested against.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleStep {
    pub chain: String,
    /// As `--line-numbers` counts, from 1; 0 is the built-in chain's policy.
    pub rule: usize,
    pub matched: bool,
    /// `-A CHAIN ...` as `iptables -S` prints it, or `-P CHAIN POLICY`.
    pub text: String,
    /// The rule's (or policy's) counters, this packet included when it matched.
    pub packets: u64,
    pub bytes: u64,
}

/// Builds a walk from the path `Tables::run` traced: `(chain, rule, matched)`, a policy as
/// rule 0 with its verdict's name.
pub(super) fn walk(
    tables: &Tables,
    table: Table,
    hook: Hook,
    path: &[(String, usize, bool)],
    policy: &str,
    verdict: &'static str,
) -> TableWalk {
    let rules = path
        .iter()
        .map(|(chain, rule, matched)| {
            let counters = match rule {
                0 => tables.policy_counters(table, chain),
                n => tables.rule_counters(table, chain, *n),
            }
            .unwrap_or_default();
            let text = match rule {
                0 => format!("-P {chain} {policy}"),
                n => tables.rule_text(table, chain, *n).unwrap_or_default(),
            };
            RuleStep {
                chain: chain.clone(),
                rule: *rule,
                matched: *matched,
                text,
                packets: counters.packets,
                bytes: counters.bytes,
            }
        })
        .collect();
    TableWalk {
        table: table.name(),
        hook: hook.chain_name(),
        rules,
        verdict,
    }
}

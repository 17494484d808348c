//! What evaluation keeps beside the ruleset, made once per ruleset change: the index of
//! every set (named ones per table, a rule's anonymous ones per statement) and the bucket
//! of every `limit` statement. The kernel keeps a limit's tokens in the expression itself,
//! so a rule keeps its bucket while other rules come and go, and a new rule (or a changed
//! statement) starts full.

use std::collections::HashMap;

use super::eval_limit::Bucket;
use super::eval_set::SetIndex;
use super::model::{Match, Nat, NatTo, Rhs, Ruleset, SetRef, Stmt};

/// Evaluation's state for a ruleset, and the switches that make it write notes.
#[derive(Clone, Debug, Default)]
pub struct EvalState {
    /// Write a decision note when a chain drops, rejects, NATs or accepts a new connection.
    pub detail: bool,
    /// Write the whole walk of every chain run, as `nft monitor trace` tells it.
    pub tracing: bool,
    /// How notes print rules (which nft's words).
    pub style: super::Style,
    /// The ruleset generation ([`super::Nft::generation`]) the plan was made for.
    pub(super) synced: Option<u64>,
    pub(super) tables: Vec<TablePlan>,
}

/// A table's indexes and buckets, parallel to its chains, rules and sets.
#[derive(Clone, Debug, Default)]
pub(super) struct TablePlan {
    pub handle: u64,
    /// One per named set, in `Table::sets` order.
    pub sets: Vec<SetIndex>,
    pub chains: Vec<Vec<RulePlan>>,
}

/// A rule's statements' state, in `Rule::stmts` order.
#[derive(Clone, Debug, Default)]
pub(super) struct RulePlan {
    /// The rule it was made for: a rule the plan does not know has none.
    pub handle: u64,
    pub stmts: Vec<StmtPlan>,
}

#[derive(Clone, Debug, Default)]
pub(super) enum StmtPlan {
    #[default]
    Plain,
    /// The statement's anonymous set.
    Set(SetIndex),
    /// The limit's bucket; `None` for a limit the kernel would refuse (rate 0, overflow),
    /// which matches nothing.
    Limit(Option<Bucket>),
}

/// Which limit statement a bucket belongs to: the table's and the rule's handles (never
/// reused) and the statement's place.
type LimitKey = (u64, u64, usize);

/// The anonymous set a statement holds, if any.
fn anon_set(stmt: &Stmt) -> Option<&super::model::Set> {
    let r = match stmt {
        Stmt::Match(Match {
            right: Rhs::Set(r), ..
        }) => r,
        Stmt::Vmap { map, .. } => map,
        Stmt::Nat(Nat {
            to: NatTo::Map { map, .. },
            ..
        }) => map,
        Stmt::SetUpdate { set, .. } => set,
        _ => return None,
    };
    match r {
        SetRef::Anon(s) => Some(s),
        SetRef::Named { .. } => None,
    }
}

impl EvalState {
    /// Re-reads the ruleset after a change (a command, a file): sets are indexed again,
    /// limits keep their buckets where the statement is still there, unchanged.
    pub fn sync(&mut self, rs: &Ruleset) {
        let mut buckets: HashMap<LimitKey, Bucket> = HashMap::new();
        for t in self.tables.drain(..) {
            for rules in t.chains {
                for r in rules {
                    for (i, s) in r.stmts.into_iter().enumerate() {
                        if let StmtPlan::Limit(Some(b)) = s {
                            buckets.insert((t.handle, r.handle, i), b);
                        }
                    }
                }
            }
        }
        for table in &rs.tables {
            let chains = table
                .chains
                .iter()
                .map(|chain| {
                    chain
                        .rules
                        .iter()
                        .map(|rule| RulePlan {
                            handle: rule.handle,
                            stmts: rule
                                .stmts
                                .iter()
                                .enumerate()
                                .map(|(i, stmt)| {
                                    if let Stmt::Limit(l) = stmt {
                                        let kept = buckets
                                            .remove(&(table.handle, rule.handle, i))
                                            .filter(|b| b.limit == *l);
                                        return StmtPlan::Limit(
                                            kept.or_else(|| Bucket::new(l).ok()),
                                        );
                                    }
                                    match anon_set(stmt) {
                                        Some(s) => StmtPlan::Set(SetIndex::build(s)),
                                        None => StmtPlan::Plain,
                                    }
                                })
                                .collect(),
                        })
                        .collect()
                })
                .collect();
            self.tables.push(TablePlan {
                handle: table.handle,
                sets: table.sets.iter().map(SetIndex::build).collect(),
                chains,
            });
        }
    }
}

//! One rule on one packet: its statements left to right (`nft_do_chain`'s inner loop). A
//! match that fails (or a key that cannot be read) ends the rule: `NFT_BREAK`. A verdict
//! ends it and tells the walk what to do; a rule that runs to its end goes on to the next.

use super::eval_limit::Bucket;
use super::eval_match::{SetAt, matches, read_expr};
use super::eval_plan::{RulePlan, StmtPlan};
use super::eval_set::SetIndex;
use super::eval_stmt::{NatStep, log_line, nat_step, reject_with};
use super::expr::{CtKey, Key, MetaKey, Value};
use super::model::{Elem, ElemData, NatTo, Rhs, Rule, Set, SetRef, Stmt, Verdict};
use crate::netfilter::hooks::{ChainOutcome, Notes};
use crate::netfilter::{ConnQuery, CtState, NatAction, PacketView, RejectWith};
use crate::time::Instant;

/// How a rule ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RuleEnd {
    /// A match failed: the next rule.
    Break,
    /// Every statement ran without a verdict (or with `continue`): the next rule.
    Done,
    Accept,
    Drop,
    Reject(RejectWith),
    Nat(NatAction),
    Return,
    /// To the chain at this index of the table.
    Jump(u32),
    Goto(u32),
}

/// A verdict statement's (or a verdict map element's) end; `None` for `continue`.
fn verdict_end(v: &Verdict) -> Option<RuleEnd> {
    Some(match v {
        Verdict::Accept => RuleEnd::Accept,
        // Nothing listens on a queue here: the kernel drops a packet no program takes.
        Verdict::Drop | Verdict::Queue { .. } => RuleEnd::Drop,
        Verdict::Continue => return None,
        Verdict::Return => RuleEnd::Return,
        Verdict::Jump(t) => RuleEnd::Jump(t.index),
        Verdict::Goto(t) => RuleEnd::Goto(t.index),
    })
}

/// What a rule's statements reach besides the rule itself: the table's named sets and
/// their indexes, the packet (whose marks `meta mark set` and `ct mark set` change), and
/// where the marks and `notrack` go.
pub(super) struct RuleCx<'a, 'p> {
    pub sets: &'a mut [Set],
    pub set_index: Option<&'a mut Vec<SetIndex>>,
    pub pkt: &'a mut PacketView<'p>,
    pub now: Instant,
    pub conns: &'a dyn ConnQuery,
    pub notes: &'a mut Notes,
    pub out: &'a mut ChainOutcome,
}

impl RuleCx<'_, '_> {
    /// The set a statement names: its own anonymous one (with the plan's index), or the
    /// table's named one (with the table's index, if it still fits the set).
    fn set_at<'s>(&'s self, r: &'s SetRef, plan: Option<&'s StmtPlan>) -> Option<SetAt<'s>> {
        match r {
            SetRef::Anon(set) => Some(SetAt {
                set,
                index: match plan {
                    Some(StmtPlan::Set(ix)) => Some(ix),
                    _ => None,
                },
            }),
            SetRef::Named { index, .. } => {
                let i = *index as usize;
                let set = self.sets.get(i)?;
                let index = self.set_index.as_ref().and_then(|ixs| ixs.get(i));
                // Elements added since the index was made: walk the set instead.
                let index = index.filter(|ix| ix.len() == set.elems.len());
                Some(SetAt { set, index })
            }
        }
    }

    /// `add @set { KEY }` / `update @set { KEY }` (`nft_dynset`): the packet's key joins a
    /// named set unless it is there already.
    fn set_update(&mut self, r: &SetRef, key: &[u128]) {
        let SetRef::Named { index, .. } = r else {
            return;
        };
        let i = *index as usize;
        if self.set_at(r, None).is_none_or(|s| s.find(key).is_some()) {
            return;
        }
        let Some(set) = self.sets.get_mut(i) else {
            return;
        };
        set.elems.push(Elem {
            key: key
                .iter()
                .map(|&k| (Value::Num(k), Value::Num(k)))
                .collect(),
            data: None,
            comment: None,
        });
        if let Some(ix) = self.set_index.as_mut().and_then(|ixs| ixs.get_mut(i)) {
            *ix = SetIndex::build(set);
        }
    }

    /// `meta mark set V` / `ct mark set V`: later rules see the new mark; a packet without
    /// a connection has no connection mark to set (`nft_ct_set_eval`).
    fn mangle(&mut self, key: Key, value: &Value) {
        let v = u32::try_from(value.num()).unwrap_or(u32::MAX);
        match key {
            Key::Meta(MetaKey::Mark) => self.pkt.mark = v,
            Key::Ct(CtKey::Mark) => match &mut self.pkt.ct {
                Some(ct) if !matches!(ct.state, CtState::Invalid | CtState::Untracked) => {
                    ct.mark = v;
                }
                _ => return,
            },
            _ => return,
        }
        self.out.marks = Some(crate::netfilter::packet::Marks {
            mark: self.pkt.mark,
            ctmark: self.pkt.ct.map_or(0, |c| c.mark),
        });
    }

    /// Runs the rule's statements in order; `plan` is the rule's state, when the plan
    /// knows the rule.
    pub fn run(&mut self, rule: &mut Rule, mut plan: Option<&mut RulePlan>) -> RuleEnd {
        for (i, stmt) in rule.stmts.iter_mut().enumerate() {
            let sp = plan.as_deref_mut().and_then(|p| p.stmts.get_mut(i));
            match stmt {
                Stmt::Match(m) => {
                    let set = match &m.right {
                        Rhs::Set(r) => self.set_at(r, sp.as_deref()),
                        _ => None,
                    };
                    if !matches(m, set, self.pkt, self.conns) {
                        return RuleEnd::Break;
                    }
                }
                Stmt::Counter { packets, bytes } => {
                    *packets += 1;
                    *bytes += u64::from(self.pkt.len);
                }
                Stmt::Verdict(v) => {
                    if let Some(end) = verdict_end(v) {
                        return end;
                    }
                }
                Stmt::Vmap { key, map } => {
                    let Some(k) = read_expr(key, self.pkt, self.conns) else {
                        return RuleEnd::Break;
                    };
                    let Some(s) = self.set_at(map, sp.as_deref()) else {
                        return RuleEnd::Break;
                    };
                    let Some(e) = s.find(k.parts()) else {
                        return RuleEnd::Break;
                    };
                    if let Some(ElemData::Verdict(v)) = &s.set.elems[e].data
                        && let Some(end) = verdict_end(v)
                    {
                        return end;
                    }
                }
                Stmt::Log(l) => {
                    if let Some(line) = log_line(l, self.pkt) {
                        self.notes.log(line.into());
                    }
                }
                Stmt::Limit(_) => {
                    let pass = match sp {
                        Some(StmtPlan::Limit(b)) => b
                            .as_mut()
                            .is_some_and(|b: &mut Bucket| b.matches(self.now, self.pkt.len)),
                        // A rule the plan has not met yet: its bucket would be full.
                        _ => true,
                    };
                    if !pass {
                        return RuleEnd::Break;
                    }
                }
                Stmt::Nat(n) => {
                    let mapped = match &n.to {
                        NatTo::Map { key, map, .. } => {
                            let found = read_expr(key, self.pkt, self.conns).and_then(|k| {
                                let s = self.set_at(map, sp.as_deref())?;
                                let e = s.find(k.parts())?;
                                s.set.elems[e].data.as_ref()
                            });
                            match found {
                                Some(d) => Some(d),
                                None => return RuleEnd::Break,
                            }
                        }
                        _ => None,
                    };
                    match nat_step(n, self.pkt, mapped) {
                        NatStep::Bind(a) => return RuleEnd::Nat(a),
                        NatStep::Skip => {}
                        NatStep::Break => return RuleEnd::Break,
                    }
                }
                Stmt::Reject(r) => match reject_with(*r, self.pkt.is_v6()) {
                    Some(w) => return RuleEnd::Reject(w),
                    None => return RuleEnd::Break,
                },
                Stmt::Mangle { key, value } => self.mangle(*key, value),
                Stmt::Notrack => self.out.untracked = true,
                Stmt::SetUpdate { key, set, .. } => {
                    let Some(k) = read_expr(key, self.pkt, self.conns) else {
                        return RuleEnd::Break;
                    };
                    self.set_update(set, k.parts());
                }
            }
        }
        RuleEnd::Done
    }
}

//! A base chain's walk for one packet (`nft_do_chain`): rules in order, a jump pushing the
//! rule after it on a stack of 16 (`NFT_JUMP_STACK_SIZE`; deeper the packet is dropped, which
//! the kernel's load-time checks make unreachable), `goto` not; `return` or a regular chain's
//! end pops, and the base chain's end applies its policy. Statements that end the walk:
//! `accept`, `drop`, `queue` (nothing listens: dropped), `reject`, and the NAT statements
//! (the flow's binding, then accept).
//!
//! Per packet the walk allocates nothing unless a `log` statement fires, a dynamic set
//! gains an element, or notes are asked for (`detail`, `tracing`).

use super::eval_note::{Step, TraceStep, decision_note, trace_note};
use super::eval_plan::EvalState;
use super::eval_rule::{RuleCx, RuleEnd};
use super::model::Ruleset;
use super::{ChainRef, Nft, NftFamily};
use crate::netfilter::hooks::{ChainOutcome, Notes};
use crate::netfilter::{ConnQuery, CtState, Hook, PacketView, Verdict};
use crate::time::Instant;

/// `NFT_JUMP_STACK_SIZE`.
pub const JUMP_STACK: usize = 16;

/// What decided a walk: a rule (chain and rule index in the table), or the policy.
pub(super) type Decider = Option<(usize, usize)>;

/// Whether a table of this family sees the packet: `ip` IPv4 packets, `ip6` IPv6 ones,
/// `inet` both, `bridge` the IP frames a bridge forwards; `arp` and `netdev` none of what
/// netfilter hands the engine.
fn sees(family: NftFamily, pkt: &PacketView<'_>) -> bool {
    match family {
        NftFamily::Ip => !pkt.is_v6(),
        NftFamily::Ip6 => pkt.is_v6(),
        NftFamily::Inet | NftFamily::Bridge => true,
        _ => false,
    }
}

impl Nft {
    /// Runs base chain `chain` for the packet at `hook` (see the module's doc): the
    /// verdict, and the marks and `notrack` the walk left. LOG lines go to `notes`; with
    /// [`Nft::set_detail`] what decided (a drop, reject, NAT, or a rule accepting a new
    /// connection) is noted, and with [`Nft::set_tracing`] the whole walk. The first run
    /// after the ruleset changed re-reads it (sets indexed, limits' buckets carried over).
    pub fn run(
        &mut self,
        chain: ChainRef,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome {
        let generation = self.generation();
        if self.eval.synced != Some(generation) {
            self.eval.sync(&self.ruleset);
            self.eval.synced = Some(generation);
        }
        let Nft { ruleset, eval, .. } = self;
        eval.run(ruleset, chain, hook, pkt, now, conns, notes)
    }

    /// The chain could only accept with nothing to count, log or trace (no rules, accept
    /// policy, not tracing): netfilter then skips it. `false` is always correct.
    pub fn passes_all(&self, chain: ChainRef) -> bool {
        self.eval.passes_all(&self.ruleset, chain)
    }

    /// Note what decided each chain run that dropped, rejected, NATed or accepted a new
    /// connection.
    pub fn set_detail(&mut self, on: bool) {
        self.eval.detail = on;
    }

    /// Note each chain run's whole walk.
    pub fn set_tracing(&mut self, on: bool) {
        self.eval.tracing = on;
    }

    pub fn detail(&self) -> bool {
        self.eval.detail
    }

    pub fn tracing(&self) -> bool {
        self.eval.tracing
    }
}

impl EvalState {
    /// The chain could only accept with nothing to count, log or trace (no rules, accept
    /// policy, not tracing), or its table sees no IP packet: netfilter may skip it. `false`
    /// is always correct.
    pub fn passes_all(&self, rs: &Ruleset, chain: ChainRef) -> bool {
        if self.tracing {
            return false;
        }
        let Some(table) = rs.tables.get(chain.table()) else {
            return true;
        };
        if !matches!(
            table.family,
            NftFamily::Ip | NftFamily::Ip6 | NftFamily::Inet | NftFamily::Bridge
        ) {
            return true;
        }
        table
            .chains
            .get(chain.chain())
            .is_some_and(|c| c.rules.is_empty() && c.base.as_ref().is_none_or(|b| !b.drop))
    }

    /// Runs the chain for the packet at `hook` (see the module's doc). LOG lines go to
    /// `notes`, and with `detail` what decided, with `tracing` the whole walk.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        rs: &mut Ruleset,
        chain: ChainRef,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome {
        // Every key and statement hoplab models reads the same at every hook; the kernel
        // refuses at load time what a hook does not allow (masquerade in prerouting).
        let _ = hook;
        let mut out = ChainOutcome::verdict(Verdict::Accept);
        let Some(table) = rs.tables.get_mut(chain.table()) else {
            return out;
        };
        if !sees(table.family, pkt) {
            return out;
        }
        let mut trace: Option<Vec<TraceStep>> = self.tracing.then(Vec::new);
        let plan = self
            .tables
            .get_mut(chain.table())
            .filter(|p| p.handle == table.handle);
        let (mut rule_plans, set_index) = match plan {
            Some(p) => (Some(&mut p.chains), Some(&mut p.sets)),
            None => (None, None),
        };
        let base = chain.chain();
        let policy_drop = table
            .chains
            .get(base)
            .and_then(|c| c.base.as_ref())
            .is_some_and(|b| b.drop);
        // A copy whose marks `meta mark set` and `ct mark set` change for later rules.
        let mut view = *pkt;
        let mut cx = RuleCx {
            sets: &mut table.sets,
            set_index,
            pkt: &mut view,
            now,
            conns,
            notes: &mut *notes,
            out: &mut out,
        };
        let mut stack = [(0usize, 0usize); JUMP_STACK];
        let mut sp = 0;
        let (mut c, mut r) = (base, 0);
        let mut decided: Decider = None;
        let verdict = loop {
            let Some(ch) = table.chains.get_mut(c) else {
                break Verdict::Drop;
            };
            let Some(rule) = ch.rules.get_mut(r) else {
                if sp > 0 {
                    if let Some(t) = &mut trace {
                        t.push(TraceStep {
                            chain: c,
                            rule: r,
                            step: Step::ChainEnd,
                        });
                    }
                    sp -= 1;
                    (c, r) = stack[sp];
                    continue;
                }
                if let Some(t) = &mut trace {
                    t.push(TraceStep {
                        chain: base,
                        rule: 0,
                        step: Step::Policy,
                    });
                }
                break if policy_drop {
                    Verdict::Drop
                } else {
                    Verdict::Accept
                };
            };
            let handle = rule.handle;
            let plan = rule_plans
                .as_deref_mut()
                .and_then(|chains| chains.get_mut(c))
                .and_then(|rules| rules.get_mut(r))
                .filter(|p| p.handle == handle);
            let end = cx.run(rule, plan);
            if let Some(t) = &mut trace {
                t.push(TraceStep {
                    chain: c,
                    rule: r,
                    step: Step::Rule(end),
                });
            }
            let terminal = match end {
                RuleEnd::Accept => Some(Verdict::Accept),
                RuleEnd::Drop => Some(Verdict::Drop),
                RuleEnd::Reject(w) => Some(Verdict::Reject(w)),
                RuleEnd::Nat(a) => Some(Verdict::Nat(a)),
                // Deeper than the stack: the kernel's `WARN_ON_ONCE` drop.
                RuleEnd::Jump(_) if sp == JUMP_STACK => Some(Verdict::Drop),
                _ => None,
            };
            if let Some(v) = terminal {
                decided = Some((c, r));
                break v;
            }
            match end {
                RuleEnd::Break | RuleEnd::Done => r += 1,
                RuleEnd::Return => {
                    if sp == 0 {
                        if let Some(t) = &mut trace {
                            t.push(TraceStep {
                                chain: base,
                                rule: 0,
                                step: Step::Policy,
                            });
                        }
                        break if policy_drop {
                            Verdict::Drop
                        } else {
                            Verdict::Accept
                        };
                    }
                    sp -= 1;
                    (c, r) = stack[sp];
                }
                RuleEnd::Jump(to) => {
                    stack[sp] = (c, r + 1);
                    sp += 1;
                    (c, r) = (to as usize, 0);
                }
                RuleEnd::Goto(to) => (c, r) = (to as usize, 0),
                RuleEnd::Accept | RuleEnd::Drop | RuleEnd::Reject(_) | RuleEnd::Nat(_) => {}
            }
        };
        out.verdict = verdict;
        let table = &rs.tables[chain.table()];
        if let Some(t) = trace {
            notes.decision(trace_note(self.style, table, base, &t, verdict).into());
        } else if self.detail {
            let new = pkt.ct.is_some_and(|c| c.state == CtState::New);
            if let Some(text) = decision_note(self.style, table, base, decided, verdict, new) {
                notes.decision(text.into());
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "eval_text_tests.rs"]
mod text_tests;

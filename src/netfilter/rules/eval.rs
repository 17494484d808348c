//! Evaluating a hook's chain for one packet (`nft_do_chain` / `ipt_do_table`), with counters,
//! a bounded jump stack and trace events that borrow instead of allocating.

use super::MAX_JUMP_DEPTH;
use super::match_eval::conn;
use super::matches::Match;
use super::model::{Policy, Tables, Target, index};
use crate::netfilter::packet::{Hook, Marks, PacketView, Table, Verdict};
use crate::time::Instant;

/// What [`Tables::run`] reports. Everything is borrowed: building an event costs nothing.
#[derive(Clone, Copy, Debug)]
pub enum TraceEvent<'a> {
    /// A rule was evaluated (only with [`Tables::set_trace`]).
    Rule {
        table: Table,
        chain: &'a str,
        /// 1-based, as `--line-numbers` counts.
        rule: usize,
        matched: bool,
    },
    /// A LOG target fired (always reported): format it with `Display`.
    Log(LogLine<'a>),
    /// A built-in chain's policy applied (only with tracing).
    Policy {
        table: Table,
        chain: &'a str,
        verdict: Verdict,
    },
    /// The jump stack overflowed: the packet is dropped (only with tracing).
    JumpLimit { table: Table, chain: &'a str },
    /// The table's verdict (only with tracing).
    Verdict {
        table: Table,
        hook: Hook,
        verdict: Verdict,
    },
}

/// A LOG target's kernel log line; `Display` (in `log.rs`) writes it as the kernel's
/// `nf_log_ip_packet` does.
#[derive(Clone, Copy, Debug)]
pub struct LogLine<'a> {
    pub table: Table,
    pub chain: &'a str,
    pub rule: usize,
    pub prefix: &'a str,
    /// syslog level (4 is warning).
    pub level: u8,
    pub packet: &'a PacketView<'a>,
}

fn policy_verdict(p: Policy) -> Verdict {
    match p {
        Policy::Accept => Verdict::Accept,
        Policy::Drop => Verdict::Drop,
    }
}

impl Tables {
    /// True when walking `table`'s chain for `hook` could only accept with nothing to count,
    /// log or trace: no rules, an ACCEPT policy whose counters do not count (never set), no
    /// tracing. A table without the hook accepts too.
    /// Whether a rule of `table` reads the packet's address classes (`-m addrtype`): a hook
    /// need not class the addresses for a table that does not.
    pub fn reads_addr_types(&self, table: Table) -> bool {
        self.state(table)
            .chains
            .iter()
            .flatten()
            .flat_map(|c| &c.rules)
            .any(|r| r.matches.iter().any(|m| matches!(m, Match::AddrType(_))))
    }

    /// Whether the rules need connection tracking (`nf_ct_netns_get`, which the kernel calls
    /// for the family when such a rule or a nat table appears): a nat table in use, or a
    /// rule that reads or sets a connection's state or mark.
    pub fn needs_conntrack(&self) -> bool {
        self.state(Table::Nat).nft.is_some()
            || Table::ALL.into_iter().any(|t| {
                self.state(t)
                    .chains
                    .iter()
                    .flatten()
                    .flat_map(|c| &c.rules)
                    .any(|r| {
                        matches!(r.target, Target::ConnMark(_) | Target::Nat(_))
                            || r.matches
                                .iter()
                                .any(|m| matches!(m, Match::Conntrack(_) | Match::ConnMark(_)))
                    })
            })
    }

    pub fn passes_all(&self, table: Table, hook: Hook) -> bool {
        if self.trace {
            return false;
        }
        let ts = self.state(table);
        ts.builtin(hook).is_none_or(|base| {
            ts.chains[base]
                .as_ref()
                .is_some_and(|c| c.rules.is_empty() && c.policy == Policy::Accept && !c.policy_set)
        })
    }

    /// Walks `table`'s built-in chain for `hook`: the first matching rule with a terminating
    /// target decides; jumps push a return point (at most [`MAX_JUMP_DEPTH`], beyond which
    /// the packet is dropped), `-g` does not; RETURN or the end of a user chain pops; the end
    /// of the built-in chain applies its policy. Every matching rule counts the packet, and
    /// the policy counts when it applies. A table without that hook accepts.
    ///
    /// `MARK` and `CONNMARK` change the packet's and its connection's marks as the walk
    /// goes on (later rules see them); what they left is kept for the hooks
    /// (`Tables::marks`).
    ///
    /// Allocation-free: events borrow from the tables and the packet, and only LOG events
    /// are produced unless [`Tables::set_trace`] is on.
    pub fn run(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView,
        now: Instant,
        trace: &mut dyn FnMut(TraceEvent),
    ) -> Verdict {
        let none = crate::netfilter::packet::NoConns;
        self.run_conns(table, hook, pkt, now, &none, trace)
    }

    /// [`Tables::run`] with conntrack to ask (`-m connlimit`).
    pub fn run_conns(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView,
        now: Instant,
        conns: &dyn crate::netfilter::packet::ConnQuery,
        trace: &mut dyn FnMut(TraceEvent),
    ) -> Verdict {
        let want = self.trace;
        self.decided = None;
        let decided = &mut self.decided;
        let tcpmss = &mut self.tcpmss;
        self.marks = None;
        let marks = &mut self.marks;
        self.hdr = None;
        let hdr = &mut self.hdr;
        let shared = &mut self.ext;
        let ts = &mut self.tables[index(table)];
        // A copy whose marks the mark targets change.
        let mut view = *pkt;
        let pkt = &mut view;
        let Some(base) = ts.builtin(hook) else {
            return Verdict::Accept;
        };
        let mut stack = [(0usize, 0usize); MAX_JUMP_DEPTH];
        let mut sp = 0;
        let (mut chain, mut idx) = (base, 0);
        let verdict = loop {
            let Some(c) = ts.chains[chain].as_mut() else {
                break Verdict::Drop;
            };
            if idx >= c.rules.len() {
                if sp > 0 {
                    sp -= 1;
                    (chain, idx) = stack[sp];
                    continue;
                }
                break policy(ts, base, table, want, pkt.len, trace);
            }
            let rule = &mut c.rules[idx];
            // Header matches read what the chain's header targets wrote so far; state and
            // set matches read the namespace's shared state.
            let cur = *hdr;
            let matched = rule.ip.matches(pkt)
                && rule.matches.iter_mut().all(|m| match m {
                    super::matches::Match::Hdr(_) => m.matches_at(pkt, now, cur),
                    _ => super::ext_state::eval(m, pkt, now, shared, conns),
                });
            if want {
                trace(TraceEvent::Rule {
                    table,
                    chain: &c.name,
                    rule: idx + 1,
                    matched,
                });
            }
            if !matched {
                idx += 1;
                continue;
            }
            let rule = &mut c.rules[idx];
            rule.counters.count(pkt.len);
            match &rule.target {
                Target::None => idx += 1,
                Target::Log(l) => {
                    trace(TraceEvent::Log(LogLine {
                        table,
                        chain: &c.name,
                        rule: idx + 1,
                        prefix: &l.prefix,
                        level: l.level,
                        packet: pkt,
                    }));
                    idx += 1;
                }
                Target::TcpMss(t) => {
                    tcpmss.add(*t);
                    idx += 1;
                }
                Target::Mark(m) => {
                    pkt.mark = m.apply(pkt.mark);
                    *marks = Some(current_marks(pkt));
                    idx += 1;
                }
                Target::ConnMark(t) => {
                    // `connmark_tg`: nothing without a connection.
                    if let Some(c) = conn(pkt.ct) {
                        let (mark, ctmark) = t.apply(pkt.mark, c.mark);
                        pkt.mark = mark;
                        if let Some(ct) = &mut pkt.ct {
                            ct.mark = ctmark;
                        }
                        *marks = Some(current_marks(pkt));
                    }
                    idx += 1;
                }
                Target::Hdr(h) => {
                    let now = (*hdr).or_else(|| super::ext_hdr::tos_ttl(pkt));
                    *hdr = now.map(|cur| h.apply(cur));
                    idx += 1;
                }
                Target::State(t) => match super::ext_state::run_target(t, pkt, now, shared) {
                    None => idx += 1,
                    Some(v) => {
                        *decided = Some((chain, idx));
                        break v;
                    }
                },
                Target::Accept => {
                    *decided = Some((chain, idx));
                    break Verdict::Accept;
                }
                Target::Drop | Target::Queue => {
                    *decided = Some((chain, idx));
                    break Verdict::Drop;
                }
                Target::Reject(with) => {
                    *decided = Some((chain, idx));
                    break Verdict::Reject(*with);
                }
                Target::Nat(n) => {
                    *decided = Some((chain, idx));
                    break Verdict::Nat(n.action);
                }
                Target::Return => {
                    if sp == 0 {
                        break policy(ts, base, table, want, pkt.len, trace);
                    }
                    sp -= 1;
                    (chain, idx) = stack[sp];
                }
                &Target::Jump(to) => {
                    if sp == MAX_JUMP_DEPTH {
                        if want {
                            trace(TraceEvent::JumpLimit {
                                table,
                                chain: &c.name,
                            });
                        }
                        break Verdict::Drop;
                    }
                    stack[sp] = (chain, idx + 1);
                    sp += 1;
                    (chain, idx) = (to, 0);
                }
                &Target::Goto(to) => (chain, idx) = (to, 0),
            }
        };
        if want {
            trace(TraceEvent::Verdict {
                table,
                hook,
                verdict,
            });
        }
        verdict
    }
}

impl Tables {
    /// [`Tables::run_conns`] with what the walk left besides its verdict (marks, header
    /// values, TCPMSS clamps, `CT --notrack`), taken from the tables.
    pub fn run_outcome(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView,
        now: Instant,
        conns: &dyn crate::netfilter::packet::ConnQuery,
        trace: &mut dyn FnMut(TraceEvent),
    ) -> crate::netfilter::hooks::ChainOutcome {
        let verdict = self.run_conns(table, hook, pkt, now, conns, trace);
        crate::netfilter::hooks::ChainOutcome {
            verdict,
            marks: self.marks.take(),
            hdr: self.hdr.take(),
            tcpmss: std::mem::take(&mut self.tcpmss),
            untracked: self.take_untracked(),
        }
    }
}

impl Tables {
    /// Whether `run` reports every rule it evaluates.
    pub fn tracing(&self) -> bool {
        self.trace
    }

    /// Rule `number` (1-based) of `chain` in `table` as `-A CHAIN ...` writes it.
    pub fn rule_text(&self, table: Table, chain: &str, number: usize) -> Option<String> {
        let ts = &self.tables[index(table)];
        let c = ts.chain(ts.find(chain)?);
        let rule = c.rules.get(number.checked_sub(1)?)?;
        let mut spec = String::new();
        super::save::rule_spec(&mut spec, ts, rule, false);
        Some(format!("-A {}{spec}", c.name))
    }

    /// What decided the last `run` of `table`, as a note reads it: `rule 3 of DOCKER: -A
    /// DOCKER ... -j DROP`, or the built-in chain's `policy DROP`.
    pub fn decision(&self, table: Table, hook: Hook) -> String {
        let ts = &self.tables[index(table)];
        match self.decided {
            Some((chain, rule)) => {
                let c = ts.chain(chain);
                let mut spec = String::new();
                super::save::rule_spec(&mut spec, ts, &c.rules[rule], false);
                format!("rule {} of {}: -A {}{spec}", rule + 1, c.name, c.name)
            }
            None => {
                let policy = ts
                    .builtin(hook)
                    .map_or(Policy::Accept, |b| ts.chain(b).policy);
                let name = match policy {
                    Policy::Accept => "ACCEPT",
                    Policy::Drop => "DROP",
                };
                format!("policy {name}")
            }
        }
    }
}

fn current_marks(pkt: &PacketView) -> Marks {
    Marks {
        mark: pkt.mark,
        ctmark: pkt.ct.map_or(0, |c| c.mark),
    }
}

fn policy(
    ts: &mut super::model::TableState,
    base: usize,
    table: Table,
    want: bool,
    len: u32,
    trace: &mut dyn FnMut(TraceEvent),
) -> Verdict {
    let c = ts.chain_mut(base);
    if c.policy_set {
        c.policy_counters.count(len);
    }
    let verdict = policy_verdict(c.policy);
    if want {
        trace(TraceEvent::Policy {
            table,
            chain: &c.name,
            verdict,
        });
    }
    verdict
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;

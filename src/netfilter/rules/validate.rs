//! The kernel's checks of a changed table: each rule's `checkentry` (a NAT target outside the
//! nat table, a protocol match without its `-p`, REJECT's tcp-reset without `-p tcp`), then
//! the whole table (loops, jump nesting, targets reachable from hooks they don't allow).

use super::matches::Match;
use super::model::{Rule, TableState, Target};
use super::parse::Res;
use super::{MAX_JUMP_DEPTH, Prog};
use crate::netfilter::packet::{Hook, NatAction, RejectWith, Table};
use crate::netfilter::tcpmss::TcpMss;

/// Per-rule checks of the kernel's `checkentry`s (table, protocol, REJECT's tcp-reset).
pub(super) fn check_rule(ts: &TableState, p: &Prog, r: &Rule, op: &str, chain: &str) -> Res<()> {
    let einval = || {
        p.batch(
            op,
            "Invalid argument",
            &format!("rule in chain {chain}"),
            Some(chain),
        )
    };
    let proto_is = |n: u8| r.ip.proto == n && !r.ip.proto_inv;
    for m in &r.matches {
        let ok = match m {
            Match::Tcp(_) => proto_is(6),
            Match::Udp(_) => proto_is(17),
            Match::Icmp(_) => proto_is(1),
            Match::Hdr(h) if let Some(errno) = h.refused() => {
                return Err(p.batch(op, errno, &format!("rule in chain {chain}"), Some(chain)));
            }
            Match::Hdr(h) => h.proto().is_none_or(proto_is),
            Match::State(s) => {
                let hook = ts.find(chain).and_then(|id| ts.chain(id).hook);
                s.check_entry(ts.table)
                    && s.hooks()
                        .is_none_or(|ok| hook.is_none_or(|h| ok & hook_bit(h) != 0))
            }
            _ => true,
        };
        if !ok {
            return Err(einval());
        }
    }
    match &r.target {
        Target::Nat(_) if ts.table != Table::Nat => Err(einval()),
        Target::Reject(RejectWith::TcpReset) if !proto_is(6) => Err(einval()),
        // xt_TCPMSS registers for TCP only.
        Target::TcpMss(_) if !proto_is(6) => Err(einval()),
        // `xt_HL`, `xt_DSCP`, `xt_CHECKSUM`: the mangle table only.
        Target::Hdr(_) if ts.table != Table::Mangle => Err(einval()),
        Target::State(t) if t.check_entry(ts.table, &r.ip).is_err() => {
            let errno = t
                .check_entry(ts.table, &r.ip)
                .err()
                .unwrap_or("Invalid argument");
            Err(p.batch(op, errno, &format!("rule in chain {chain}"), Some(chain)))
        }
        Target::Jump(id) | Target::Goto(id) if ts.chain(*id).hook.is_some() => Err(p.batch(
            op,
            "Operation not supported",
            &format!("rule in chain {chain}"),
            Some(chain),
        )),
        _ => Ok(()),
    }
}

pub(super) fn hook_bit(h: Hook) -> u8 {
    1 << (h as u8)
}

/// The hooks a target may be reached from.
pub(super) fn allowed_hooks(t: &Target) -> Option<u8> {
    use Hook::*;
    match t {
        Target::Reject(_) => Some(hook_bit(Input) | hook_bit(Forward) | hook_bit(Output)),
        Target::Nat(n) => Some(match n.action {
            NatAction::Dnat { .. } | NatAction::Redirect { .. } => {
                hook_bit(Prerouting) | hook_bit(Output)
            }
            NatAction::Snat { .. } => hook_bit(Postrouting) | hook_bit(Input),
            NatAction::Masquerade { .. } => hook_bit(Postrouting),
            NatAction::Netmap { .. } => {
                hook_bit(Prerouting) | hook_bit(Output) | hook_bit(Postrouting) | hook_bit(Input)
            }
        }),
        // `tcpmss_tg4_check`: the path MTU is known only once the packet is routed.
        Target::TcpMss(TcpMss::ClampToPmtu) => {
            Some(hook_bit(Forward) | hook_bit(Output) | hook_bit(Postrouting))
        }
        Target::State(t) => t.hooks(),
        _ => None,
    }
}

/// The hooks a rule may be reached from: its target's and its matches' restrictions.
pub(super) fn rule_hooks(r: &Rule) -> Option<u8> {
    match (allowed_hooks(&r.target), super::ext_hdr::rule_hooks(r)) {
        (Some(a), Some(b)) => Some(a & b),
        (a, b) => a.or(b),
    }
}

/// Whole-table checks after a change: no loops, nesting below the jump stack, and every
/// hook-restricted target reachable only from hooks it allows.
pub(super) fn check_graph(ts: &TableState, p: &Prog, op: &str, chain: &str) -> Res<()> {
    let what = format!("rule in chain {chain}");
    let n = ts.chains.len();
    let edges = |id: usize| -> Vec<usize> {
        ts.chains[id]
            .iter()
            .flat_map(|c| &c.rules)
            .filter_map(|r| match r.target {
                Target::Jump(t) | Target::Goto(t) => Some(t),
                _ => None,
            })
            .collect()
    };
    // Longest chain of jumps below each chain; `None` while on the DFS stack (a loop).
    let mut height: Vec<Option<Option<usize>>> = vec![None; n];
    fn visit(
        id: usize,
        edges: &dyn Fn(usize) -> Vec<usize>,
        height: &mut Vec<Option<Option<usize>>>,
    ) -> Option<usize> {
        match height[id] {
            Some(Some(h)) => return Some(h),
            Some(None) => return None,
            None => {}
        }
        height[id] = Some(None);
        let mut h = 0;
        for t in edges(id) {
            h = h.max(visit(t, edges, height)? + 1);
        }
        height[id] = Some(Some(h));
        Some(h)
    }
    for id in 0..n {
        if ts.chains[id].is_some() && visit(id, &edges, &mut height).is_none() {
            return Err(p.batch(op, "Too many levels of symbolic links", &what, Some(chain)));
        }
    }
    let mut reach = vec![0u8; n];
    for &hook in ts.table.builtin_chains() {
        let base = ts.builtin(hook).unwrap_or(0);
        if height[base].flatten().unwrap_or(0) >= MAX_JUMP_DEPTH {
            return Err(p.batch(op, "Too many links", &what, Some(chain)));
        }
        let mut stack = vec![base];
        while let Some(id) = stack.pop() {
            if reach[id] & hook_bit(hook) == 0 {
                reach[id] |= hook_bit(hook);
                stack.extend(edges(id));
            }
        }
    }
    for (id, c) in ts.chains.iter().enumerate() {
        for r in c.iter().flat_map(|c| &c.rules) {
            if let Some(allowed) = rule_hooks(r)
                && reach[id] & !allowed != 0
            {
                return Err(p.batch(op, "Invalid argument", &what, Some(chain)));
            }
        }
    }
    Ok(())
}

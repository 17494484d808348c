//! The base chains netfilter runs at each hook, in priority order, as the kernel keeps its
//! `nf_hook_entries` per family and hook: the iptables tables register their built-in chains
//! at their standard priorities, conntrack and NAT are steps at theirs, and a front-end to
//! come (nftables, ip6tables) registers its own chains at any priority, interleaving with
//! them as base chains do in the kernel.
//!
//! NAT is one step per hook at its fixed priority, as `nf_nat_register_fn` makes it: the
//! hook's chains of type nat (the iptables nat table's, nft's `type nat` chains) are kept
//! apart, in their own priority order, and the step runs them for a flow's first packet
//! until one binds (`nf_nat_inet_fn`).

use super::packet::{Hook, Table};

/// A protocol family's hooks: each family has its own base chains on each hook (iptables'
/// tables on IPv4's, ip6tables' on IPv6's), as the kernel keeps `nf_hook_entries` per family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `NFPROTO_IPV4`.
    Ipv4,
    /// `NFPROTO_IPV6`.
    Ipv6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    fn index(self) -> usize {
        match self {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        }
    }

    /// The family of an IP packet, from its version; `None` for neither.
    pub fn of_packet(ip: &[u8]) -> Option<Family> {
        match ip.first()? >> 4 {
            4 => Some(Family::Ipv4),
            6 => Some(Family::Ipv6),
            _ => None,
        }
    }
}

/// `enum nf_ip_hook_priorities` of `include/uapi/linux/netfilter_ipv4.h` (IPv6's
/// `nf_ip6_hook_priorities` has the same values).
pub mod priority {
    /// `NF_IP_PRI_RAW`.
    pub const RAW: i32 = -300;
    /// `NF_IP_PRI_CONNTRACK`.
    pub const CONNTRACK: i32 = -200;
    /// `NF_IP_PRI_MANGLE`.
    pub const MANGLE: i32 = -150;
    /// `NF_IP_PRI_NAT_DST`.
    pub const NAT_DST: i32 = -100;
    /// `NF_IP_PRI_FILTER`.
    pub const FILTER: i32 = 0;
    /// `NF_IP_PRI_SECURITY` (the security table is not modelled: nothing registers here).
    pub const SECURITY: i32 = 50;
    /// `NF_IP_PRI_NAT_SRC`.
    pub const NAT_SRC: i32 = 100;
    /// `NF_IP_PRI_CONNTRACK_CONFIRM` (`INT_MAX`).
    pub const CONFIRM: i32 = i32::MAX;
}

/// What a base chain does when the hook reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An iptables table's built-in chain for the hook.
    Table(Table),
    /// An nft base chain of type filter or route (the rule engine's chain number).
    Nft(u32),
    /// Conntrack: the packet's flow looked up or made (`nf_conntrack_in`), unless the raw
    /// table left it untracked.
    Conntrack,
    /// NAT (`nf_nat_inet_fn`): on a flow's first packet in its original direction the nat
    /// table's chain decides the binding; then the packet is rewritten from the flow's
    /// tuples (destination in PREROUTING and OUTPUT, source in INPUT and POSTROUTING).
    Nat,
    /// A new flow enters the table (`nf_confirm`), once every other chain accepted.
    Confirm,
}

/// One base chain: what runs, where, and when among the hook's others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseChain {
    pub family: Family,
    pub hook: Hook,
    pub priority: i32,
    pub step: Step,
}

/// A chain of type nat, run by the hook's NAT step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatChain {
    pub priority: i32,
    pub rules: NatRules,
}

/// Whose nat chain it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatRules {
    /// The iptables nat table's built-in chain for the hook.
    Table,
    /// An nft base chain of type nat (the rule engine's chain number).
    Nft(u32),
}

/// An nft base chain to register: where, at what priority, whether of type nat, and its
/// number in the rule engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NftHook {
    pub family: Family,
    pub hook: Hook,
    pub priority: i32,
    pub nat: bool,
    pub chain: u32,
}

const HOOKS: usize = 5;

fn hook_index(hook: Hook) -> usize {
    match hook {
        Hook::Prerouting => 0,
        Hook::Input => 1,
        Hook::Forward => 2,
        Hook::Output => 3,
        Hook::Postrouting => 4,
    }
}

/// The base chains of every (family, hook), each list in priority order, with whether its
/// rule chains could only accept (kept by [`Chains::set_accepts_all`] when rules change).
#[derive(Clone, Debug, Default)]
pub struct Chains {
    lists: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    family: Family,
    hook: Hook,
    chains: Vec<BaseChain>,
    /// The chains of type nat the NAT step runs, in priority order.
    nat: Vec<NatChain>,
    accepts_all: bool,
}

impl Chains {
    /// No base chain anywhere.
    pub fn new() -> Chains {
        let mut lists = Vec::with_capacity(Family::ALL.len() * HOOKS);
        for family in Family::ALL {
            for hook in [
                Hook::Prerouting,
                Hook::Input,
                Hook::Forward,
                Hook::Output,
                Hook::Postrouting,
            ] {
                lists.push(Entry {
                    family,
                    hook,
                    chains: Vec::new(),
                    nat: Vec::new(),
                    accepts_all: false,
                });
            }
        }
        Chains { lists }
    }

    /// Linux's IPv4 and IPv6 hooks with conntrack, NAT and the iptables (ip6tables) tables
    /// registered: raw, conntrack, mangle and nat (DNAT) in PREROUTING and OUTPUT, OUTPUT's
    /// filter after; mangle and filter in FORWARD; mangle, filter, nat (SNAT) and
    /// confirmation in INPUT; mangle, nat and confirmation in POSTROUTING.
    pub fn iptables() -> Chains {
        let mut c = Chains::new();
        for f in Family::ALL {
            c.register_iptables(f);
        }
        c
    }

    fn register_iptables(&mut self, f: Family) {
        use priority::*;
        let c = self;
        let table = |hook, priority, t| BaseChain {
            family: f,
            hook,
            priority,
            step: Step::Table(t),
        };
        let step = |hook, priority, step| BaseChain {
            family: f,
            hook,
            priority,
            step,
        };
        for hook in [Hook::Prerouting, Hook::Output] {
            c.register(table(hook, RAW, Table::Raw));
            c.register(step(hook, CONNTRACK, Step::Conntrack));
        }
        for hook in [
            Hook::Prerouting,
            Hook::Input,
            Hook::Forward,
            Hook::Output,
            Hook::Postrouting,
        ] {
            c.register(table(hook, MANGLE, Table::Mangle));
        }
        for hook in [Hook::Input, Hook::Forward, Hook::Output] {
            c.register(table(hook, FILTER, Table::Filter));
        }
        for (hook, priority) in [
            (Hook::Prerouting, NAT_DST),
            (Hook::Output, NAT_DST),
            (Hook::Input, NAT_SRC),
            (Hook::Postrouting, NAT_SRC),
        ] {
            c.register(step(hook, priority, Step::Nat));
            c.register_nat(
                f,
                hook,
                NatChain {
                    priority,
                    rules: NatRules::Table,
                },
            );
        }
        for hook in [Hook::Input, Hook::Postrouting] {
            c.register(step(hook, CONFIRM, Step::Confirm));
        }
    }

    /// Adds a chain of type nat to the hook's NAT step, after those of lower or equal
    /// priority.
    pub fn register_nat(&mut self, family: Family, hook: Hook, chain: NatChain) {
        let e = self.entry_mut(family, hook);
        let at = e.nat.partition_point(|c| c.priority <= chain.priority);
        e.nat.insert(at, chain);
    }

    /// The `i`th chain of type nat of the hook's NAT step, if any.
    pub fn nat_get(&self, family: Family, hook: Hook, i: usize) -> Option<NatChain> {
        self.entry(family, hook).nat.get(i).copied()
    }

    /// Replaces every nft base chain by `chains` (the nft ruleset changed): each is
    /// registered at its priority, after the chains already there of equal priority.
    pub fn set_nft(&mut self, chains: &[NftHook]) {
        for e in &mut self.lists {
            e.chains.retain(|c| !matches!(c.step, Step::Nft(_)));
            e.nat.retain(|c| !matches!(c.rules, NatRules::Nft(_)));
            e.accepts_all = false;
        }
        for c in chains {
            if c.nat {
                let nat = NatChain {
                    priority: c.priority,
                    rules: NatRules::Nft(c.chain),
                };
                self.register_nat(c.family, c.hook, nat);
            } else {
                self.register(BaseChain {
                    family: c.family,
                    hook: c.hook,
                    priority: c.priority,
                    step: Step::Nft(c.chain),
                });
            }
        }
    }

    fn entry(&self, family: Family, hook: Hook) -> &Entry {
        &self.lists[family.index() * HOOKS + hook_index(hook)]
    }

    fn entry_mut(&mut self, family: Family, hook: Hook) -> &mut Entry {
        &mut self.lists[family.index() * HOOKS + hook_index(hook)]
    }

    /// Adds a base chain after those of lower or equal priority, as `nf_register_net_hook`
    /// places a new hook entry.
    pub fn register(&mut self, chain: BaseChain) {
        let e = self.entry_mut(chain.family, chain.hook);
        let at = e.chains.partition_point(|c| c.priority <= chain.priority);
        e.chains.insert(at, chain);
        e.accepts_all = false;
    }

    /// The hook's base chains, lowest priority first.
    pub fn at(&self, family: Family, hook: Hook) -> &[BaseChain] {
        &self.entry(family, hook).chains
    }

    /// The `i`th base chain of the hook, if any (for a walk that changes other state).
    pub fn get(&self, family: Family, hook: Hook, i: usize) -> Option<BaseChain> {
        self.entry(family, hook).chains.get(i).copied()
    }

    /// Every rule chain of the hook (the nat table's aside, which only a flow's first packet
    /// meets) accepts everything, with nothing to count, log or trace: the hook runs only
    /// its conntrack, NAT and confirmation steps.
    pub fn accepts_all(&self, family: Family, hook: Hook) -> bool {
        self.entry(family, hook).accepts_all
    }

    /// Sets each hook's flag from `passes(step, hook)`, which says whether that table's or
    /// nft chain's rules could only accept: called whenever the rules change.
    pub fn set_accepts_all(&mut self, passes: &dyn Fn(Family, Step, Hook) -> bool) {
        for e in &mut self.lists {
            e.accepts_all = e.chains.iter().all(|c| match c.step {
                Step::Table(_) | Step::Nft(_) => passes(e.family, c.step, e.hook),
                // The nat chain runs only for a flow's first packet; the NAT step asks then.
                Step::Nat | Step::Conntrack | Step::Confirm => true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(c: &Chains, hook: Hook) -> Vec<(i32, Step)> {
        c.at(Family::Ipv4, hook)
            .iter()
            .map(|b| (b.priority, b.step))
            .collect()
    }

    #[test]
    fn iptables_chains_run_in_the_kernels_priority_order() {
        let c = Chains::iptables();
        use Step::*;
        assert_eq!(
            steps(&c, Hook::Prerouting),
            vec![
                (-300, Table(super::Table::Raw)),
                (-200, Conntrack),
                (-150, Table(super::Table::Mangle)),
                (-100, Nat),
            ]
        );
        assert_eq!(
            steps(&c, Hook::Output),
            vec![
                (-300, Table(super::Table::Raw)),
                (-200, Conntrack),
                (-150, Table(super::Table::Mangle)),
                (-100, Nat),
                (0, Table(super::Table::Filter)),
            ]
        );
        assert_eq!(
            steps(&c, Hook::Input),
            vec![
                (-150, Table(super::Table::Mangle)),
                (0, Table(super::Table::Filter)),
                (100, Nat),
                (i32::MAX, Confirm),
            ]
        );
        assert_eq!(
            steps(&c, Hook::Forward),
            vec![
                (-150, Table(super::Table::Mangle)),
                (0, Table(super::Table::Filter)),
            ]
        );
        assert_eq!(
            steps(&c, Hook::Postrouting),
            vec![
                (-150, Table(super::Table::Mangle)),
                (100, Nat),
                (i32::MAX, Confirm),
            ]
        );
    }

    #[test]
    fn a_chain_registered_later_goes_after_those_of_equal_priority() {
        let mut c = Chains::iptables();
        let chain = |priority| BaseChain {
            family: Family::Ipv4,
            hook: Hook::Forward,
            priority,
            step: Step::Table(Table::Raw),
        };
        c.register(chain(0));
        c.register(chain(-400));
        c.register(chain(1));
        let p: Vec<i32> = c
            .at(Family::Ipv4, Hook::Forward)
            .iter()
            .map(|b| b.priority)
            .collect();
        assert_eq!(p, vec![-400, -150, 0, 0, 1]);
        // The one registered at 0 comes after filter's.
        assert_eq!(
            c.get(Family::Ipv4, Hook::Forward, 3).map(|b| b.step),
            Some(Step::Table(Table::Raw))
        );
    }

    #[test]
    fn the_flag_holds_only_while_every_rule_chain_of_the_hook_passes() {
        let mut c = Chains::iptables();
        assert!(!c.accepts_all(Family::Ipv4, Hook::Forward));
        c.set_accepts_all(&|_, _, _| true);
        assert!(c.accepts_all(Family::Ipv4, Hook::Forward));
        assert!(c.accepts_all(Family::Ipv4, Hook::Postrouting));
        c.set_accepts_all(&|_, t, h| !(t == Step::Table(Table::Filter) && h == Hook::Forward));
        assert!(!c.accepts_all(Family::Ipv4, Hook::Forward));
        assert!(c.accepts_all(Family::Ipv4, Hook::Prerouting));
        // A nat rule leaves the flag: established flows never meet the nat chain.
        c.set_accepts_all(&|_, t, h| !(t == Step::Table(Table::Nat) && h == Hook::Postrouting));
        assert!(c.accepts_all(Family::Ipv4, Hook::Postrouting));
        // A mangle rule in POSTROUTING clears POSTROUTING's flag, not PREROUTING's.
        c.set_accepts_all(&|_, t, h| !(t == Step::Table(Table::Mangle) && h == Hook::Postrouting));
        assert!(!c.accepts_all(Family::Ipv4, Hook::Postrouting));
        assert!(c.accepts_all(Family::Ipv4, Hook::Prerouting));
        // Registering a chain clears the flag until the next update.
        c.register(BaseChain {
            family: Family::Ipv4,
            hook: Hook::Prerouting,
            priority: 10,
            step: Step::Table(Table::Filter),
        });
        assert!(!c.accepts_all(Family::Ipv4, Hook::Prerouting));
    }
}

//! Tables, chains, rules and their counters.

use std::collections::BTreeMap;

use super::IptablesVersion;
use super::matches::{IpSpec, Match};
use crate::netfilter::packet::{Hook, NatAction, RejectWith, Table};

/// Packet and byte counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

impl Counters {
    pub(crate) fn count(&mut self, len: u32) {
        self.packets += 1;
        self.bytes += u64::from(len);
    }
}

/// A built-in chain's policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    #[default]
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// `-j LOG` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogSpec {
    pub level: u8,
    pub prefix: String,
    /// `IPT_LOG_*` flags: 1 tcp-sequence, 2 tcp-options, 4 ip-options, 8 uid, 0x20 macdecode.
    pub flags: u8,
}

/// A NAT target and its `--random`/`--random-fully`/`--persistent` flags (listed; the
/// port choice does not depend on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NatSpec {
    pub action: NatAction,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
}

/// `-j MARK` (revision 2): the packet's mark becomes `(mark & !mask) ^ xor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MarkTarget {
    pub xor: u32,
    pub mask: u32,
}

impl MarkTarget {
    pub fn apply(self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.xor
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnMarkMode {
    /// `--set-xmark` and its spellings: the connection's mark.
    Set,
    /// `--save-mark`: the packet's mark into the connection's.
    Save,
    /// `--restore-mark`: the connection's mark into the packet's.
    Restore,
}

/// `-j CONNMARK` (revision 2, `xt_connmark_tginfo2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnMarkTarget {
    pub mode: ConnMarkMode,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    pub shift_right: bool,
    pub shift_bits: u8,
}

impl ConnMarkTarget {
    fn shift(self, v: u32) -> u32 {
        let n = u32::from(self.shift_bits);
        if self.shift_right {
            v.checked_shr(n).unwrap_or(0)
        } else {
            v.checked_shl(n).unwrap_or(0)
        }
    }

    /// `connmark_tg_shift`: the packet's and the connection's marks after the target.
    pub fn apply(self, mark: u32, ctmark: u32) -> (u32, u32) {
        match self.mode {
            ConnMarkMode::Set => (mark, self.shift((ctmark & !self.ctmask) ^ self.ctmark)),
            ConnMarkMode::Save => (
                mark,
                (ctmark & !self.ctmask) ^ self.shift(mark & self.nfmask),
            ),
            ConnMarkMode::Restore => (
                (mark & !self.nfmask) ^ self.shift(ctmark & self.ctmask),
                ctmark,
            ),
        }
    }
}

/// What a matching rule does. Chains are slots of the table (`TableState::chains`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// No `-j`: the rule only counts.
    None,
    Accept,
    Drop,
    Return,
    /// Dropped, as no queue handler listens in the lab.
    Queue,
    Jump(usize),
    Goto(usize),
    Reject(RejectWith),
    Log(LogSpec),
    Nat(NatSpec),
    /// Lowers a TCP segment's MSS option and goes on (non-terminating, as LOG).
    TcpMss(crate::netfilter::tcpmss::TcpMss),
    /// Sets the packet's mark and goes on.
    Mark(MarkTarget),
    /// Sets or copies the connection's mark and goes on.
    ConnMark(ConnMarkTarget),
    /// Rewrites the IP header (TTL, DSCP, TOS) or does nothing (CHECKSUM), and goes on.
    Hdr(super::ext_hdr::HdrTarget),
    State(super::ext_state::StateTarget),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub ip: IpSpec,
    pub matches: Vec<Match>,
    pub target: Target,
    pub counters: Counters,
    /// The nf_tables handle iptables-nft's rule got (0 until the command that adds it
    /// succeeds: see `nft_track.rs`).
    pub handle: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    pub name: String,
    pub hook: Option<Hook>,
    pub policy: Policy,
    pub policy_counters: Counters,
    /// The policy was set (`-P`, or a restore's `:CHAIN POLICY` line). iptables-nft creates
    /// a built-in chain on its first `-A` without a policy counter, so until then the policy
    /// counts nothing (the kernel testbed shows `0 packets, 0 bytes` in that case).
    pub policy_set: bool,
    pub rules: Vec<Rule>,
    /// The nf_tables chain's handle, once iptables-nft has created the chain (a user chain
    /// at `-N`, a built-in one lazily: see `nft_track.rs`).
    pub handle: Option<u64>,
}

/// One table: chains in slots (built-ins first, in `iptables -L` order), names sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableState {
    pub table: Table,
    pub chains: Vec<Option<Chain>>,
    pub names: BTreeMap<String, usize>,
    /// The nf_tables table iptables-nft made for it, if any (`nft_track.rs`).
    pub nft: Option<super::nft_track::NftTable>,
}

impl TableState {
    pub fn new(table: Table) -> TableState {
        let mut t = TableState {
            table,
            chains: Vec::new(),
            names: BTreeMap::new(),
            nft: None,
        };
        for &hook in table.builtin_chains() {
            let id = t.add_chain(hook.chain_name());
            t.chain_mut(id).hook = Some(hook);
        }
        t
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    pub fn chain(&self, id: usize) -> &Chain {
        self.chains[id].as_ref().expect("live chain slot")
    }

    pub fn chain_mut(&mut self, id: usize) -> &mut Chain {
        self.chains[id].as_mut().expect("live chain slot")
    }

    pub fn builtin(&self, hook: Hook) -> Option<usize> {
        self.table.builtin_index(hook)
    }

    /// Built-in chains in hook order, then user chains by name (`strcmp` order).
    pub fn listing_order(&self) -> Vec<usize> {
        let n = self.table.builtin_chains().len();
        let mut ids: Vec<usize> = (0..n).collect();
        ids.extend(self.names.values().copied().filter(|&id| id >= n));
        ids
    }

    pub fn add_chain(&mut self, name: &str) -> usize {
        let chain = Chain {
            name: name.to_string(),
            hook: None,
            policy: Policy::Accept,
            policy_counters: Counters::default(),
            policy_set: false,
            rules: Vec::new(),
            handle: None,
        };
        let n = self.table.builtin_chains().len();
        let id = match self.chains.iter().skip(n).position(Option::is_none) {
            Some(free) => {
                self.chains[n + free] = Some(chain);
                n + free
            }
            None => {
                self.chains.push(Some(chain));
                self.chains.len() - 1
            }
        };
        self.names.insert(name.to_string(), id);
        id
    }

    pub fn remove_chain(&mut self, id: usize) {
        if let Some(c) = self.chains[id].take() {
            self.names.remove(&c.name);
        }
    }

    pub fn rename_chain(&mut self, id: usize, new: &str) {
        let old = std::mem::replace(&mut self.chain_mut(id).name, new.to_string());
        self.names.remove(&old);
        self.names.insert(new.to_string(), id);
    }

    /// Rules that jump or go to chain `id`.
    pub fn references(&self, id: usize) -> usize {
        self.chains
            .iter()
            .flatten()
            .flat_map(|c| &c.rules)
            .filter(|r| matches!(r.target, Target::Jump(t) | Target::Goto(t) if t == id))
            .count()
    }

    /// Drops every rule and user chain and resets the policies (a restore without
    /// `--noflush` deletes the nf_tables table).
    pub fn reset(&mut self) {
        *self = TableState::new(self.table);
    }
}

/// The four tables of one network namespace, with the iptables release they imitate.
#[derive(Clone, Debug)]
pub struct Tables {
    pub(crate) version: IptablesVersion,
    pub(crate) trace: bool,
    pub(crate) tables: [TableState; 4],
    /// The rule (chain slot, rule index) whose target decided the last `run`; None when a
    /// policy did (or the table has no such hook).
    pub(crate) decided: Option<(usize, usize)>,
    /// The TCPMSS rules that matched in the last `run`s, until the hooks take them.
    pub(crate) tcpmss: crate::netfilter::tcpmss::Pending,
    /// The marks the last `run` changed (`MARK`, `CONNMARK`), until the hooks take them.
    pub(crate) marks: Option<crate::netfilter::packet::Marks>,
    /// The (TOS, TTL) the header targets left in the last `run`, until the hooks take them.
    pub(crate) hdr: Option<(u8, u8)>,
    /// What the state and set matches keep for the namespace (`ext_state.rs`).
    pub(crate) ext: super::ext_state::Shared,
    /// How many nf_tables tables iptables-nft has created in the namespace (`nft_track.rs`).
    pub(crate) nft_seq: u64,
    /// ip6tables' tables (IPv6 rules, for IPv6 packets) rather than iptables'.
    pub(crate) v6: bool,
}

impl Default for Tables {
    fn default() -> Self {
        Tables::new(IptablesVersion::default())
    }
}

pub(crate) fn index(table: Table) -> usize {
    match table {
        Table::Raw => 0,
        Table::Mangle => 1,
        Table::Nat => 2,
        Table::Filter => 3,
    }
}

impl Tables {
    /// Empty tables: built-in chains with policy ACCEPT.
    pub fn new(version: IptablesVersion) -> Tables {
        Tables {
            version,
            trace: false,
            tables: Table::ALL.map(TableState::new),
            decided: None,
            tcpmss: Default::default(),
            marks: None,
            hdr: None,
            ext: Default::default(),
            nft_seq: 0,
            v6: false,
        }
    }

    /// ip6tables' empty tables.
    pub fn new_v6(version: IptablesVersion) -> Tables {
        Tables {
            v6: true,
            ..Tables::new(version)
        }
    }

    /// ip6tables' tables rather than iptables'.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// The program that speaks for these tables (`tool`: "", "save" or "restore").
    pub(crate) fn prog(&self, tool: &str) -> super::Prog {
        super::Prog::of(self.v6, tool, self.version)
    }

    pub fn version(&self) -> IptablesVersion {
        self.version
    }

    pub fn set_version(&mut self, version: IptablesVersion) {
        self.version = version;
    }

    /// Report every rule traversed, policies and verdicts to `run`'s callback (LOG lines
    /// are always reported).
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    pub(crate) fn state(&self, table: Table) -> &TableState {
        &self.tables[index(table)]
    }

    pub(crate) fn state_mut(&mut self, table: Table) -> &mut TableState {
        &mut self.tables[index(table)]
    }

    /// Whether a command has created the table (it then appears in `iptables-save`).
    pub fn table_exists(&self, table: Table) -> bool {
        self.state(table).nft.is_some()
    }

    /// A built-in chain's policy, or `None` if the table has no such chain.
    pub fn policy(&self, table: Table, hook: Hook) -> Option<Policy> {
        let t = self.state(table);
        t.builtin(hook).map(|id| t.chain(id).policy)
    }

    /// The policy counters of a built-in chain.
    pub fn policy_counters(&self, table: Table, chain: &str) -> Option<Counters> {
        let t = self.state(table);
        let c = t.chain(t.find(chain)?);
        c.hook.map(|_| c.policy_counters)
    }

    /// Counters of rule `num` (1-based) of a chain.
    pub fn rule_counters(&self, table: Table, chain: &str, num: usize) -> Option<Counters> {
        let t = self.state(table);
        let c = t.chain(t.find(chain)?);
        c.rules.get(num.checked_sub(1)?).map(|r| r.counters)
    }

    /// Sets a rule's counters (as `iptables -R ... -c P B` would); false if there's no rule.
    pub fn set_rule_counters(
        &mut self,
        table: Table,
        chain: &str,
        num: usize,
        c: Counters,
    ) -> bool {
        let t = self.state_mut(table);
        let Some(id) = t.find(chain) else {
            return false;
        };
        match num
            .checked_sub(1)
            .and_then(|i| t.chain_mut(id).rules.get_mut(i))
        {
            Some(r) => {
                r.counters = c;
                true
            }
            None => false,
        }
    }

    /// Sets a built-in chain's policy counters; false if there's no such built-in chain.
    pub fn set_policy_counters(&mut self, table: Table, chain: &str, c: Counters) -> bool {
        let t = self.state_mut(table);
        match t.find(chain) {
            Some(id) if t.chain(id).hook.is_some() => {
                t.chain_mut(id).policy_counters = c;
                true
            }
            _ => false,
        }
    }

    /// Number of rules in a chain.
    pub fn rule_count(&self, table: Table, chain: &str) -> Option<usize> {
        let t = self.state(table);
        t.find(chain).map(|id| t.chain(id).rules.len())
    }

    /// Chain names in `iptables -L` order.
    pub fn chain_names(&self, table: Table) -> Vec<&str> {
        let t = self.state(table);
        t.listing_order()
            .into_iter()
            .map(|id| t.chain(id).name.as_str())
            .collect()
    }
}

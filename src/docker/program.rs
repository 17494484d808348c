//! The command list Docker's iptables calls build up, with Docker's idempotence: a rule is
//! appended or inserted only if it is not there yet (`iptables.Rule.Append/Insert` check
//! `Exists` first), and a chain is created only once. In removing mode the same calls take
//! the rules away (`-D`), as Docker's per-port and per-endpoint functions do when called to
//! undo what they did.

use std::collections::HashSet;

/// The tables Docker writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Table {
    Filter,
    Nat,
    Raw,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
            Table::Raw => "raw",
        }
    }
}

/// A rule specification: the arguments after the chain name.
pub(super) type Spec = Vec<String>;

/// Builds a [`Spec`] from its words.
pub(super) fn spec<const N: usize>(words: [&str; N]) -> Spec {
    words.iter().map(|w| w.to_string()).collect()
}

#[derive(Debug, Default)]
pub(super) struct Program {
    /// `ip6tables` instead of `iptables`.
    v6: bool,
    commands: Vec<Vec<String>>,
    rules: HashSet<(Table, String, Spec)>,
    chains: HashSet<(Table, String)>,
    removing: bool,
}

impl Program {
    /// An empty program for ip6tables.
    pub(super) fn v6() -> Program {
        Program {
            v6: true,
            ..Program::default()
        }
    }

    /// The commands issued since the last call.
    pub(super) fn take_commands(&mut self) -> Vec<Vec<String>> {
        std::mem::take(&mut self.commands)
    }

    /// From now on `append` and `insert` delete their rule (if present) instead.
    pub(super) fn set_removing(&mut self, removing: bool) {
        self.removing = removing;
    }

    fn emit(&mut self, table: Table, op: &[&str], rule: &[String]) {
        let tool = if self.v6 { "ip6tables" } else { "iptables" };
        let head = [tool, "-t", table.name()];
        let words = head.iter().chain(op).map(|w| w.to_string());
        self.commands
            .push(words.chain(rule.iter().cloned()).collect());
    }

    /// `-P CHAIN POLICY` on a built-in chain.
    pub(super) fn policy(&mut self, table: Table, chain: &str, policy: &str) {
        self.emit(table, &["-P", chain, policy], &[]);
    }

    /// `-N CHAIN`, unless Docker already made it.
    pub(super) fn new_chain(&mut self, table: Table, chain: &str) {
        if self.chains.insert((table, chain.to_string())) {
            self.emit(table, &["-N", chain], &[]);
        }
    }

    fn add(&mut self, table: Table, chain: &str, rule: Spec) -> bool {
        self.rules.insert((table, chain.to_string(), rule))
    }

    /// In removing mode: `-D CHAIN rule` if the rule exists. True when the call was that.
    fn remove(&mut self, table: Table, chain: &str, rule: &Spec) -> bool {
        if !self.removing {
            return false;
        }
        if self.rules.remove(&(table, chain.to_string(), rule.clone())) {
            self.emit(table, &["-D", chain], rule);
        }
        true
    }

    /// `-A CHAIN rule`, unless the rule exists.
    pub(super) fn append(&mut self, table: Table, chain: &str, rule: Spec) {
        if self.remove(table, chain, &rule) {
            return;
        }
        if self.add(table, chain, rule.clone()) {
            self.emit(table, &["-A", chain], &rule);
        }
    }

    /// `-I CHAIN 1 rule` (Docker's `-I CHAIN`: the top), unless the rule exists.
    pub(super) fn insert(&mut self, table: Table, chain: &str, rule: Spec) {
        if self.remove(table, chain, &rule) {
            return;
        }
        if self.add(table, chain, rule.clone()) {
            self.emit(table, &["-I", chain, "1"], &rule);
        }
    }

    /// `EnsureJumpRule`: moves (or puts) `-j TARGET` to the top of `chain`, deleting the
    /// old copy first, so the jump stays first whatever was inserted since.
    pub(super) fn ensure_jump(&mut self, table: Table, chain: &str, target: &str) {
        let rule = spec(["-j", target]);
        if !self.add(table, chain, rule.clone()) {
            self.emit(table, &["-D", chain], &rule);
        }
        self.emit(table, &["-I", chain, "1"], &rule);
    }
}

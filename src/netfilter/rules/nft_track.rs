//! Which nf_tables objects iptables-nft (1.8.9) has made for the iptables model, so that
//! `nft list ruleset` can be printed from it (`nft_view.rs`).
//!
//! iptables-nft creates tables and built-in chains lazily, in the batch of the command that
//! first needs them (checked against the kernel):
//! * `-A`, `-I` (and `-R`, which needs a rule) create the table and the rule's chain;
//!   `-P CHAIN` and `-F CHAIN` create the table and that built-in chain; `-N` creates the
//!   table and the user chain only (no built-in chain).
//! * `-L`, `-S`, `-Z`, `-C`, `-X`, `-E`, and `-F` without a chain create nothing: after
//!   `iptables -t nat -L` there is no `ip nat` table.
//! * `iptables-restore` deletes the table (without `--noflush`) and then creates what the
//!   file names: each `:CHAIN` line's chain in order, then rules. `*raw` and `COMMIT` alone
//!   leave no `raw` table.
//!
//! Handles: each table counts its chains and rules in one sequence from 1 (the kernel's
//! `table->hgenerator`); `-R` keeps the replaced rule's handle, `-E` the chain's. Tables
//! take handles in the namespace's sequence (`nft_net->table_handle`), counted here as the
//! creation order; a table deleted by a restore is created again with a new one. nft lists
//! tables and chains in that creation order.

use super::model::{TableState, Tables};

/// An nf_tables table iptables-nft made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NftTable {
    /// Creation order among the namespace's iptables-nft tables, from 1; 0 while the command
    /// that creates it has not yet succeeded.
    pub order: u64,
    /// The handle the table's next chain or rule gets.
    pub next_handle: u64,
}

impl TableState {
    fn nft_handle(&mut self) -> u64 {
        let t = self.nft.get_or_insert(NftTable {
            order: 0,
            next_handle: 1,
        });
        let h = t.next_handle;
        t.next_handle += 1;
        h
    }

    /// Creates chain `id` in nf_tables (and the table before it) unless it exists.
    pub(crate) fn nft_chain(&mut self, id: usize) {
        if self.chain(id).handle.is_none() {
            let h = self.nft_handle();
            self.chain_mut(id).handle = Some(h);
        }
    }

    /// Creates chain `id` if need be and gives its new rules (handle 0) their handles, in
    /// the chain's order (the rules of one command are consecutive).
    pub(crate) fn nft_rules(&mut self, id: usize) {
        self.nft_chain(id);
        let fresh = self
            .chain(id)
            .rules
            .iter()
            .filter(|r| r.handle == 0)
            .count();
        let mut handles: Vec<u64> = (0..fresh).map(|_| self.nft_handle()).collect();
        handles.reverse();
        for r in self
            .chain_mut(id)
            .rules
            .iter_mut()
            .filter(|r| r.handle == 0)
        {
            r.handle = handles.pop().unwrap_or(0);
        }
    }
}

impl Tables {
    /// Numbers the tables a command has just created, in the namespace's sequence.
    pub(crate) fn nft_number(&mut self) {
        for t in self.tables.iter_mut() {
            if let Some(n) = t.nft.as_mut().filter(|n| n.order == 0) {
                self.nft_seq += 1;
                n.order = self.nft_seq;
            }
        }
    }
}

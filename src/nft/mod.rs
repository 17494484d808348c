//! nftables: the `nft` front-end of one network namespace. Tables of a family (`ip`, `ip6`,
//! `inet`, `bridge`, `netdev`) hold chains, sets and maps; a base chain (`type filter|nat|route
//! hook H priority P`) registers with netfilter's hooks at its priority, among iptables'
//! tables ([`crate::netfilter::base`]), and netfilter runs it through [`Nft::run`].
//!
//! The module owns nft's language and listings: commands and files (`nft add rule ...`,
//! `nft -f FILE`), the ruleset they build, `nft list ...` printed as nft 1.0.6 prints it, and
//! a chain's evaluation on one packet. Tables iptables-nft made (`ip filter`, `ip nat`...) are
//! placeholders here: the router prints them from its iptables rules ([`Nft::list_ruleset`]'s
//! `xt` argument), in handle order among nft's own.

use crate::netfilter::Hook;

mod apply;
mod command;
pub mod expr;
pub mod lex;
mod lookup;
pub mod model;
mod normalize;
pub mod parse;
pub mod parse_cmd;
mod parse_expr;
pub mod parse_stmt;
pub mod print;
pub mod print_stmt;
mod priority;
mod value;

pub use command::Nft;
pub use print_stmt::{NftVersion, Style};

/// nft's address families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NftFamily {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl NftFamily {
    /// The family as nft spells it.
    pub fn name(self) -> &'static str {
        match self {
            NftFamily::Ip => "ip",
            NftFamily::Ip6 => "ip6",
            NftFamily::Inet => "inet",
            NftFamily::Arp => "arp",
            NftFamily::Bridge => "bridge",
            NftFamily::Netdev => "netdev",
        }
    }
}

/// A base chain, as netfilter registers it: which chain [`Nft::run`] runs when the hook
/// reaches its priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NftBase {
    pub family: NftFamily,
    /// Only the IP hooks (prerouting, input, forward, output, postrouting) are listed here;
    /// `ingress`/`egress` chains of the netdev family are not registered with the IP hooks.
    pub hook: Hook,
    pub priority: i32,
    /// `type nat`: the chain runs inside the NAT step, among the hook's other NAT chains,
    /// only for a flow's first packet.
    pub nat: bool,
    pub chain: ChainRef,
}

/// A chain of the ruleset, valid until the ruleset next changes (the router re-registers
/// [`Nft::base_chains`] after every `nft` command).
/// The table's index in the ruleset is the high 16 bits, the chain's index in the table the
/// low 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainRef(pub u32);

impl ChainRef {
    /// The chain at `chain` in the table at `table`.
    pub fn new(table: usize, chain: usize) -> ChainRef {
        ChainRef(((table as u32) << 16) | (chain as u32 & 0xFFFF))
    }

    /// The table's index in [`model::Ruleset::tables`].
    pub fn table(self) -> usize {
        (self.0 >> 16) as usize
    }

    /// The chain's index in its table's [`model::Table::chains`].
    pub fn chain(self) -> usize {
        (self.0 & 0xFFFF) as usize
    }
}

pub mod eval;
pub mod eval_limit;
pub mod eval_match;
mod eval_note;
pub mod eval_packet;
pub mod eval_plan;
mod eval_rule;
pub mod eval_set;
pub mod eval_stmt;

pub use eval_plan::EvalState;
#[cfg(test)]
mod eval_testing;

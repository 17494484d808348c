//! Netfilter for IPv4: tables and chains in iptables syntax (`rules`), connection tracking
//! (`conntrack`) and NAT (`nat`), hooked into the router's paths in Linux's order:
//!
//! ```text
//!  in ──► PREROUTING ──► routing ──► FORWARD ──► POSTROUTING ──► out
//!         raw, [ct],       │         mangle,      mangle,
//!         mangle, nat      │         filter       nat, [confirm]
//!         (DNAT)           ▼                          ▲
//!                        INPUT                     OUTPUT ◄── routing ◄── local process
//!                        mangle, filter,           raw, [ct], mangle,
//!                        nat (SNAT), [confirm]     nat (DNAT), filter
//!                          │
//!                          ▼ local process
//! ```
//! `[ct]` is where conntrack looks a packet up (or creates its entry) and un-NATs replies;
//! `[confirm]` is where a new entry enters the table, once the packet is accepted. Each of
//! these is a base chain at its priority (`base`), which the hooks walk in order.

pub mod base;
pub mod conntrack;
pub mod hooks;
pub mod nat;
pub mod packet;
pub mod rules;
pub mod tcpmss;

pub use packet::{
    AddrType, ConnQuery, CtDetail, CtState, CtView, Hook, NatAction, NoConns, PacketView,
    RejectWith, Table, Verdict,
};

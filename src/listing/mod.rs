//! Listings in the real tools' formats (`ip`, `bridge`, `brctl`), as the nodes print them.
//!
//! Below the nodes, so a bridge, host or router can answer `ip addr` or `bridge fdb show`
//! without reaching up to the run reports: nodes gather the facts, this module formats them.

pub mod brctl;
pub mod iproute;

//! A Docker host as data, and the firewall rules Docker Engine installs for it: iptables
//! rules, or with engine 29's nftables backend its own nftables tables.
//!
//! * [`model`]: the daemon, its bridge networks and containers, as plain values (the scenario
//!   loader maps its YAML onto them).
//! * [`ipam`]: how Docker picks subnets, addresses, MACs, veth names and IDs, as pure
//!   functions of what is already in use and of a caller's random source.
//! * [`ports`]: host port allocation and the resolved port bindings of every container.
//! * [`nftables`]: [`nft_ruleset`], the `nft -f` script of the tables engine 29 installs with
//!   `--firewall-backend=nftables` (then there is no iptables rule at all), and
//!   [`nftables::nft_update`], Docker's incremental update between two states.
//! * [`plan`]: a host over the life of a lab (containers started, stopped, connected), each
//!   `docker` step planned as its output and the generic changes it makes to the lab.
//! * [`dns`]: each container's `/etc/hosts` and what the embedded DNS server answers it.
//! * [`rules`]: [`iptables_commands`], the `iptables` command lines the daemon issues, in its
//!   order, for engines 27 (legacy layout, `legacy.rs`), 28 and 29; `specs.rs` spells each
//!   rule, `program.rs` keeps Docker's add-if-absent bookkeeping.
//!
//! The rules follow Docker's CI-generated listings (moby `integration/network/bridge/
//! iptablesdoc/generated/*.md` at v28.5.2 and docker-v29.7.2, copied under
//! `tests/fixtures/docker/`) and the reference notes `docker-netfilter.md` §1 and §2;
//! `tests/docker_rules.rs` applies the commands to [`crate::netfilter::rules::Tables`] and
//! compares the listings with those pages byte for byte.

pub mod cli;
pub mod dns;
pub mod ipam;
mod legacy;
pub mod model;
pub mod nftables;
pub mod plan;
pub mod ports;
mod program;
pub mod rules;
mod specs;

pub use model::{
    Container, Daemon, Endpoint, Engine, Family, FirewallBackend, ForwardPolicy, GatewayMode,
    Network, PortMap, Proto, Subnet6,
};
pub use nftables::nft_ruleset;
pub use ports::{Binding, PortAllocator, bind, port_bindings};
pub use rules::{RuleBook, iptables_commands};

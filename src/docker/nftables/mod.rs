//! Docker Engine 29's nftables firewall backend (`dockerd --firewall-backend=nftables`):
//! the tables Docker installs for a host, as an `nft -f` script.
//!
//! # What Docker installs
//!
//! Two tables, `ip docker-bridges` and `ip6 docker-bridges`, re-created each time the daemon
//! starts. Each holds four verdict maps keyed by bridge name (`filter-forward-in-jumps`,
//! `filter-forward-out-jumps`, `nat-postrouting-in-jumps`, `nat-postrouting-out-jumps`) and
//! the base chains `filter-FORWARD` (filter/forward/filter), `nat-OUTPUT` (nat/output/-100),
//! `nat-POSTROUTING` (nat/postrouting/srcnat), `nat-PREROUTING` (nat/prerouting/dstnat) and
//! `raw-PREROUTING` (filter/prerouting/raw), with the regular chain
//! `nat-prerouting-and-output` both nat base chains jump to for local destinations. Each
//! bridge network adds `filter-forward-in__BR`, `filter-forward-out__BR`,
//! `nat-postrouting-in__BR` and `nat-postrouting-out__BR`, reached through one element in
//! each map, so a packet that neither enters nor leaves a Docker bridge runs two vmap
//! look-ups and nothing else. `build.rs` spells every rule; the layout follows Docker's
//! CI-generated pages (moby `integration/network/bridge/nftablesdoc/generated/*.md`, copied
//! under `tests/fixtures/docker/nftables-v29/`), which `tests/docker_nftables.rs` loads into
//! the kernel and lists byte for byte. The pages show only the `ip` table; the `ip6` table
//! has the same base chains (its `nat-OUTPUT` skips `ip6 daddr != ::1`), and each network
//! with IPv6 gets there what it gets in `ip`, with IPv6 addresses, as moby's `TestNftabler`
//! goldens show: a DNAT skips link-local sources (`ip6 saddr != fe80::/10`) and writes its
//! target `[ADDR]:PORT`, and there is no remote-loopback drop (IPv6 has no
//! `route_localnet`: the kernel drops `::1` from outside itself).
//!
//! # iptables, forwarding and DOCKER-USER
//!
//! In this mode Docker creates none of its iptables chains and issues no iptables rule
//! ([`super::iptables_commands`] and [`super::RuleBook`] give nothing), and it adds no jump
//! to `DOCKER-USER`. Its replacement is a table of the user's own with a base chain on the
//! same hook at a priority before Docker's, e.g. `type filter hook forward priority -1`:
//! nftables runs every base chain on a hook in priority order, and an `accept` ends only its
//! own base chain, so a user's `drop` anywhere still drops, while overriding one of Docker's
//! drops takes a packet mark set before Docker's chain runs and `--bridge-accept-fwmark`
//! (Docker's docs, "Docker with nftables"). An iptables FORWARD policy DROP left on the host
//! still drops what Docker's tables accept. Docker never turns IP forwarding on itself with
//! this backend (it refuses to create a network that needs it instead), so it never sets a
//! drop policy either: `filter-FORWARD` is always `policy accept` and
//! [`super::Daemon::forward_policy`] does not apply. `--iptables=false` turns this backend
//! off too: no table at all.
//!
//! # How Docker changes the tables as the host changes
//!
//! Docker keeps the tables in memory and applies each change as one `nft -f` file
//! (its `incremental_update.nft.gotmpl`): for each chain it changed it flushes the chain and
//! writes all of the chain's rules again, in rule-group order; it adds and deletes map
//! elements with `add element` / `delete element`; a removed network's chains are flushed,
//! then deleted after their elements. A network created adds its four chains and elements;
//! a container started adds its endpoints' `DROP DIRECT ACCESS` rules to `raw-PREROUTING`,
//! then its ports' rules (accept in `filter-forward-in__BR`, DNAT in
//! `nat-prerouting-and-output`, hairpin masquerade in `nat-postrouting-in__BR`, loopback drop
//! in `raw-PREROUTING`); a container stopped removes exactly those. [`nft_update`] writes
//! that file for any two states, each a pure function of the model ([`docker_tables`]).

mod build;

use std::fmt::Write;

pub use build::{docker_tables, docker_tables_bound};

use super::model::{Container, Daemon, Network};

/// The name of both of Docker's tables.
pub const TABLE: &str = "docker-bridges";

/// An nftables address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ip,
    Ip6,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        }
    }

    /// The model's name for the family.
    pub fn model(self) -> super::model::Family {
        match self {
            Family::Ip => super::model::Family::V4,
            Family::Ip6 => super::model::Family::V6,
        }
    }
}

/// A base chain's registration: its type, hook, priority and policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseChain {
    /// `filter` or `nat`.
    pub kind: &'static str,
    /// `forward`, `output`, `postrouting` or `prerouting`.
    pub hook: &'static str,
    /// As a number: nft prints the standard names (filter 0, dstnat -100, srcnat 100, raw
    /// -300) where they apply, and nft 1.0.6 refuses `dstnat` on the nat output hook.
    pub priority: i32,
    /// `accept` or `drop`.
    pub policy: &'static str,
}

/// A chain: its name, its registration if it is a base chain, its rules in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub base: Option<BaseChain>,
    /// Each as `nft add rule` takes it after the chain name.
    pub rules: Vec<String>,
}

/// A verdict map keyed by interface name: (bridge, verdict) in the order Docker added them
/// (nft lists them in its own order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictMap {
    pub name: String,
    pub elements: Vec<(String, String)>,
}

/// One of Docker's tables: maps, then chains in the order Docker created them (the order
/// `nft list` shows them in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub family: Family,
    pub maps: Vec<VerdictMap>,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn map(&self, name: &str) -> Option<&VerdictMap> {
        self.maps.iter().find(|m| m.name == name)
    }
}

/// The `nft -f` script that builds, from nothing, the tables Docker 29 with the nftables
/// backend has installed for this host (daemon started, every network created, every
/// container started, in order). Empty with `--iptables=false`. Loading it and listing
/// `table ip docker-bridges` with `nft -s` prints what Docker's own commands leave.
pub fn nft_ruleset(daemon: &Daemon, networks: &[Network], containers: &[Container]) -> String {
    let mut out = String::new();
    for t in docker_tables(daemon, networks, containers) {
        write_table(&mut out, &t);
    }
    out
}

/// The script that turns the tables `before` into `after` as Docker does (see the module
/// doc): tables new in `after` written whole, tables gone deleted, and for the rest map
/// elements deleted, changed chains flushed, removed chains deleted, new chains added,
/// changed chains refilled, new elements added. Empty when nothing changed.
pub fn nft_update(before: &[Table], after: &[Table]) -> String {
    let mut out = String::new();
    for b in before {
        if !after.iter().any(|a| a.family == b.family) {
            let _ = writeln!(out, "delete table {} {TABLE}", b.family.as_str());
        }
    }
    for a in after {
        match before.iter().find(|b| b.family == a.family) {
            None => write_table(&mut out, a),
            Some(b) => write_changes(&mut out, b, a),
        }
    }
    out
}

/// A whole table: the maps empty, the chains with their rules (vmap rules need the maps, map
/// elements need the chains they jump to), then the elements.
fn write_table(out: &mut String, t: &Table) {
    let fam = t.family.as_str();
    let _ = writeln!(out, "table {fam} {TABLE} {{");
    for m in &t.maps {
        write_map_decl(out, &m.name);
    }
    for c in &t.chains {
        write_chain(out, c, &c.rules);
    }
    out.push_str("}\n");
    for m in &t.maps {
        let all: Vec<&(String, String)> = m.elements.iter().collect();
        write_elements(out, "add", fam, &m.name, &all);
    }
}

fn write_map_decl(out: &mut String, name: &str) {
    let _ = writeln!(out, "\tmap {name} {{\n\t\ttype ifname : verdict\n\t}}");
}

fn write_chain(out: &mut String, c: &Chain, rules: &[String]) {
    let _ = writeln!(out, "\tchain {} {{", c.name);
    if let Some(b) = &c.base {
        let _ = writeln!(
            out,
            "\t\ttype {} hook {} priority {}; policy {};",
            b.kind, b.hook, b.priority, b.policy
        );
    }
    for r in rules {
        let _ = writeln!(out, "\t\t{r}");
    }
    out.push_str("\t}\n");
}

fn write_elements(out: &mut String, verb: &str, fam: &str, map: &str, els: &[&(String, String)]) {
    if els.is_empty() {
        return;
    }
    let list: Vec<String> = els
        .iter()
        .map(|(k, v)| match verb {
            "delete" => format!("\"{k}\""),
            _ => format!("\"{k}\" : {v}"),
        })
        .collect();
    let _ = writeln!(
        out,
        "{verb} element {fam} {TABLE} {map} {{ {} }}",
        list.join(", ")
    );
}

/// Docker's incremental file for one table (see [`nft_update`]).
fn write_changes(out: &mut String, b: &Table, a: &Table) {
    let fam = a.family.as_str();
    let elements = |t: &Table, m: &str| -> Vec<(String, String)> {
        t.map(m).map(|m| m.elements.clone()).unwrap_or_default()
    };
    // Elements first out: a chain cannot go while a map still jumps to it.
    for m in &b.maps {
        let now = elements(a, &m.name);
        // A key whose verdict changed goes and comes back.
        let gone: Vec<&(String, String)> = m.elements.iter().filter(|e| !now.contains(e)).collect();
        write_elements(out, "delete", fam, &m.name, &gone);
    }
    let changed = |c: &Chain| a.chain(&c.name).is_none_or(|n| n.rules != c.rules);
    for c in b
        .chains
        .iter()
        .filter(|c| changed(c) && !c.rules.is_empty())
    {
        let _ = writeln!(out, "flush chain {fam} {TABLE} {}", c.name);
    }
    for c in b.chains.iter().filter(|c| a.chain(&c.name).is_none()) {
        let _ = writeln!(out, "delete chain {fam} {TABLE} {}", c.name);
    }
    let refill: Vec<&Chain> = a
        .chains
        .iter()
        .filter(|c| b.chain(&c.name).is_none_or(|o| o.rules != c.rules))
        .collect();
    if !refill.is_empty() {
        let _ = writeln!(out, "table {fam} {TABLE} {{");
        for c in refill {
            write_chain(out, c, &c.rules);
        }
        out.push_str("}\n");
    }
    for m in &a.maps {
        let before = elements(b, &m.name);
        let new: Vec<&(String, String)> =
            m.elements.iter().filter(|e| !before.contains(e)).collect();
        write_elements(out, "add", fam, &m.name, &new);
    }
}

#[cfg(test)]
mod tests;

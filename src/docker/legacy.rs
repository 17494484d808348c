//! The ≤ 27.x layout (`docker-netfilter.md` §1.7, which derives it from moby v27.5.1
//! `setup_ip_tables_linux.go`, `iptables.go` and `firewall_linux.go`): per-bridge rules
//! directly in filter FORWARD, newest network first; isolation chains ending in `-j RETURN`;
//! per-port rules all appended; no default DROP in DOCKER, so the FORWARD policy is what
//! blocks unpublished ports; no raw rules. Routed gateway mode (27.0+) takes the conditions
//! moby 28.0.0 still shares with 27 (skip-DNAT RETURN, isolation RETURN/conntrack rules, no
//! MASQUERADE or DNAT); there is no ICMP rule, which came with 28's default DROP.
//! nat-unprotected did not exist: it acts as nat. No 27 listing checks these variants.

use super::model::Family;
use super::ports::Binding;
use super::program::{Program, Spec, Table, spec};
use super::rules::{DOCKER, ISOLATION_1, ISOLATION_2, Op, isolation, nat_jumps, network_nat};
use super::specs::{
    FamilyNet, dnat, established_accept, internal_egress_drop, internal_ingress_drop, intra_bridge,
    published_accept, self_masquerade, to_docker_chain,
};

/// `setupIPChains` (27): the chains, their RETURN tails (`addReturnRule`), the nat jumps and
/// the FORWARD jump to the isolation chain.
pub(super) fn daemon_start(p: &mut Program, hairpin: bool, family: Family) {
    p.new_chain(Table::Nat, DOCKER);
    for chain in [DOCKER, ISOLATION_1, ISOLATION_2] {
        p.new_chain(Table::Filter, chain);
    }
    p.append(Table::Filter, ISOLATION_1, spec(["-j", "RETURN"]));
    p.append(Table::Filter, ISOLATION_2, spec(["-j", "RETURN"]));
    nat_jumps(p, hairpin, family);
    p.ensure_jump(Table::Filter, "FORWARD", ISOLATION_1);
}

/// A network's rules (27). The caller then moves the FORWARD jumps to the isolation chain
/// and to DOCKER-USER back above the rules inserted here.
pub(super) fn network(p: &mut Program, net: &FamilyNet, hairpin: bool) {
    if net.internal {
        p.insert(Table::Filter, ISOLATION_1, internal_egress_drop(net));
        p.insert(Table::Filter, ISOLATION_1, internal_ingress_drop(net));
        icc(p, net);
        return;
    }
    network_nat(p, net, hairpin, true);
    icc(p, net);
    // Leaving the bridge, always inserted in 27 (one rule whatever the ICC setting).
    p.insert(Table::Filter, "FORWARD", outgoing_to_elsewhere(net));
    // `ProgramChain`: the jump to DOCKER, then the conntrack rule above it.
    p.insert(Table::Filter, "FORWARD", to_docker_chain(net));
    p.insert(Table::Filter, "FORWARD", established_accept(net));
    isolation(p, net, Op::Insert);
}

/// `setIcc` (27): ACCEPT inserted at the top of FORWARD, or DROP appended at its end.
fn icc(p: &mut Program, net: &FamilyNet) {
    if net.enable_icc {
        p.insert(Table::Filter, "FORWARD", intra_bridge(net, "ACCEPT"));
    } else {
        p.append(Table::Filter, "FORWARD", intra_bridge(net, "DROP"));
    }
}

/// `-i br ! -o br -j ACCEPT`: 27 always uses the non-ICC form, ICC being its own rule.
fn outgoing_to_elsewhere(net: &FamilyNet) -> Spec {
    spec(["-i", &net.bridge, "!", "-o", &net.bridge, "-j", "ACCEPT"])
}

/// `ChainInfo.Forward` (27): DNAT, the filter ACCEPT and the self-MASQUERADE, all appended;
/// the self-MASQUERADE whatever the proxy setting (§1.6, before moby bf251c33d0).
pub(super) fn published_port(p: &mut Program, net: &FamilyNet, b: &Binding, hairpin: bool) {
    if b.host_port != 0 {
        p.append(Table::Nat, DOCKER, dnat(net, b, hairpin));
    }
    p.append(Table::Filter, DOCKER, published_accept(net, b));
    if b.host_port != 0 {
        p.append(Table::Nat, "POSTROUTING", self_masquerade(b));
    }
}

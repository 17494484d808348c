//! The rules Docker installs, one function per rule: the arguments after the chain name,
//! in the order `iptables -S` prints them. Where each goes, and whether it is appended or
//! inserted, is `rules.rs`'s and `legacy.rs`'s business.

use std::ops::Deref;

use smoltcp::wire::IpAddress;

use super::model::{Family, GatewayMode, Network};
use super::ports::Binding;
use super::program::{Spec, spec};
use super::rules::DOCKER;

/// A network as one family's rules see it: its subnet, gateway mode and NAT address of
/// that family. The rest (bridge, ICC, internal) is the network's own, through `Deref`.
#[derive(Clone, Copy)]
pub(super) struct FamilyNet<'a> {
    pub net: &'a Network,
    pub family: Family,
}

impl Deref for FamilyNet<'_> {
    type Target = Network;
    fn deref(&self) -> &Network {
        self.net
    }
}

impl FamilyNet<'_> {
    /// This family's subnet, as rules write it.
    pub(super) fn subnet(&self) -> String {
        match (self.family, self.net.ipv6) {
            (Family::V6, Some(v6)) => v6.subnet.to_string(),
            _ => self.net.subnet.network().to_string(),
        }
    }

    pub(super) fn mode(&self) -> GatewayMode {
        self.net.gateway_mode(self.family)
    }

    /// Whether this family's outgoing traffic is NATed.
    pub(super) fn is_nat(&self) -> bool {
        self.mode() != GatewayMode::Routed
    }

    /// Whether this family's traffic from outside is accepted without a published port.
    pub(super) fn is_unprotected(&self) -> bool {
        self.mode() == GatewayMode::NatUnprotected
    }

    /// The ICMP of this family, as Docker names it after `-p`.
    fn icmp(&self) -> &'static str {
        match self.family {
            Family::V4 => "icmp",
            Family::V6 => "icmpv6",
        }
    }

    /// `com.docker.network.host_ipv4`: SNAT instead of MASQUERADE (IPv4 only here).
    pub(super) fn snat_to(&self) -> Option<String> {
        match self.family {
            Family::V4 => self.net.host_ipv4.map(|ip| ip.to_string()),
            Family::V6 => None,
        }
    }
}

/// One address as a rule's host prefix: `/32` or `/128`.
fn host(ip: IpAddress) -> String {
    match ip {
        IpAddress::Ipv4(ip) => format!("{ip}/32"),
        IpAddress::Ipv6(ip) => format!("{ip}/128"),
    }
}

/// `-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` after the given matches.
pub(super) fn established<const N: usize>(matches: [&str; N]) -> Spec {
    let mut s = spec(matches);
    s.extend(spec([
        "-m",
        "conntrack",
        "--ctstate",
        "RELATED,ESTABLISHED",
        "-j",
        "ACCEPT",
    ]));
    s
}

/// The source NAT a target: MASQUERADE, or SNAT to `com.docker.network.host_ipv4`.
fn snat_target(net: &FamilyNet) -> Spec {
    match net.snat_to() {
        Some(ip) => spec(["-j", "SNAT", "--to-source", &ip]),
        None => spec(["-j", "MASQUERADE"]),
    }
}

/// nat POSTROUTING: the network's traffic leaving by another interface takes the host's
/// address.
pub(super) fn masquerade(net: &FamilyNet) -> Spec {
    let mut s = spec(["-s", &net.subnet(), "!", "-o", &net.bridge]);
    s.extend(snat_target(net));
    s
}

/// nat POSTROUTING (hairpin mode): the host's own connections DNATed into the bridge take
/// the bridge's address, so the container can answer.
pub(super) fn hairpin_masquerade(net: &FamilyNet) -> Spec {
    let mut s = spec(["-o", &net.bridge, "-m", "addrtype", "--src-type", "LOCAL"]);
    s.extend(snat_target(net));
    s
}

/// nat DOCKER: the network's own traffic skips DNAT.
pub(super) fn skip_dnat(net: &FamilyNet) -> Spec {
    spec(["-i", &net.bridge, "-j", "RETURN"])
}

/// Container to container on the same bridge (ICC).
pub(super) fn intra_bridge(net: &FamilyNet, target: &str) -> Spec {
    spec(["-i", &net.bridge, "-o", &net.bridge, "-j", target])
}

/// Traffic leaving the network: anywhere with ICC, else anywhere but the bridge itself.
pub(super) fn outgoing_accept(net: &FamilyNet) -> Spec {
    if net.enable_icc {
        spec(["-i", &net.bridge, "-j", "ACCEPT"])
    } else {
        spec(["-i", &net.bridge, "!", "-o", &net.bridge, "-j", "ACCEPT"])
    }
}

/// filter DOCKER: whatever no published-port rule accepted is dropped (accepted when
/// nat-unprotected).
pub(super) fn default_forward(net: &FamilyNet) -> Spec {
    let verdict = if net.is_unprotected() {
        "ACCEPT"
    } else {
        "DROP"
    };
    spec(["!", "-i", &net.bridge, "-o", &net.bridge, "-j", verdict])
}

/// Replies and related traffic into the network.
pub(super) fn established_accept(net: &FamilyNet) -> Spec {
    established(["-o", &net.bridge])
}

/// Traffic into the network goes through the per-port rules of the DOCKER chain.
pub(super) fn to_docker_chain(net: &FamilyNet) -> Spec {
    spec(["-o", &net.bridge, "-j", DOCKER])
}

/// filter DOCKER (routed): ICMP into the network is allowed.
pub(super) fn routed_icmp_accept(net: &FamilyNet) -> Spec {
    spec(["-o", &net.bridge, "-p", net.icmp(), "-j", "ACCEPT"])
}

/// Internal network: nothing from outside its subnet gets in.
pub(super) fn internal_ingress_drop(net: &FamilyNet) -> Spec {
    spec(["!", "-s", &net.subnet(), "-o", &net.bridge, "-j", "DROP"])
}

/// Internal network: nothing leaves for outside its subnet.
pub(super) fn internal_egress_drop(net: &FamilyNet) -> Spec {
    spec(["!", "-d", &net.subnet(), "-i", &net.bridge, "-j", "DROP"])
}

/// raw PREROUTING: packets for the container that did not come from its bridge.
pub(super) fn direct_access_drop(net: &FamilyNet, ip: IpAddress) -> Spec {
    spec(["-d", &host(ip), "!", "-i", &net.bridge, "-j", "DROP"])
}

/// raw PREROUTING: a port published on 127.0.0.1 is not reachable from other hosts
/// (`filterPortMappedOnLoopback`, usernet-portmap-lo).
pub(super) fn loopback_port_drop(b: &Binding) -> Spec {
    let (proto, port) = (b.proto.as_str(), b.host_port.to_string());
    let mut s = spec(["-d", &host(b.host_ip), "!", "-i", "lo"]);
    s.extend(spec([
        "-p", proto, "-m", proto, "--dport", &port, "-j", "DROP",
    ]));
    s
}

/// nat DOCKER: the host port to the container. `-d` only for a specific host address;
/// `! -i br` only with the userland proxy, which serves the network's own containers.
pub(super) fn dnat(net: &FamilyNet, b: &Binding, hairpin: bool) -> Spec {
    let mut s = Spec::new();
    if !b.host_ip.is_unspecified() {
        s.extend(spec(["-d", &host(b.host_ip)]));
    }
    if !hairpin {
        s.extend(spec(["!", "-i", &net.bridge]));
    }
    let (proto, port) = (b.proto.as_str(), b.host_port.to_string());
    let to = match b.ctr_ip {
        IpAddress::Ipv4(ip) => format!("{ip}:{}", b.ctr_port),
        IpAddress::Ipv6(ip) => format!("[{ip}]:{}", b.ctr_port),
    };
    s.extend(spec(["-p", proto, "-m", proto, "--dport", &port]));
    s.extend(spec(["-j", "DNAT", "--to-destination", &to]));
    s
}

/// nat POSTROUTING: a container reaching its own published port through DNAT.
pub(super) fn self_masquerade(b: &Binding) -> Spec {
    let (ip, proto, port) = (host(b.ctr_ip), b.proto.as_str(), b.ctr_port.to_string());
    let mut s = spec([
        "-s", &ip, "-d", &ip, "-p", proto, "-m", proto, "--dport", &port,
    ]);
    s.extend(spec(["-j", "MASQUERADE"]));
    s
}

/// filter DOCKER: the published container port is open from outside the bridge (it
/// matches the container port: filtering happens after DNAT).
pub(super) fn published_accept(net: &FamilyNet, b: &Binding) -> Spec {
    let (ip, proto, port) = (host(b.ctr_ip), b.proto.as_str(), b.ctr_port.to_string());
    let mut s = spec(["-d", &ip, "!", "-i", &net.bridge, "-o", &net.bridge]);
    s.extend(spec([
        "-p", proto, "-m", proto, "--dport", &port, "-j", "ACCEPT",
    ]));
    s
}

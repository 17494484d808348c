//! A Docker host described as plain values: the daemon's options, its bridge networks and its
//! containers. Nothing here reads YAML or talks to a daemon; the scenario loader builds these,
//! [`super::rules::iptables_commands`] turns them into iptables command lines and
//! [`super::nft_ruleset`] into Docker's nftables tables.

use smoltcp::wire::{EthernetAddress, IpAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

use super::ipam;

/// The Docker Engine release whose iptables layout is reproduced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// ≤ 27.x: per-bridge rules directly in filter FORWARD, isolation chains with RETURN tails,
    /// no default DROP, no raw rules, MACs derived from the IPv4 address
    /// (`docker-netfilter.md` §1.7, §2.2).
    V27,
    /// 28.2.2 – 28.5.x: DOCKER-FORWARD / DOCKER-CT / DOCKER-BRIDGE, isolation chains, nat
    /// `-j RETURN` rules, raw direct-access DROP rules (moby v28.5.2 iptablesdoc).
    V28,
    /// 29.x: DOCKER-INTERNAL replaces the isolation chains; no nat RETURN rules (moby
    /// docker-v29.7.2 iptablesdoc).
    #[default]
    V29,
}

/// The filter FORWARD policy. Docker sets DROP when it turned `net.ipv4.ip_forward` on
/// itself, the usual case on a fresh host (`docker-netfilter.md` §1.2); the CI listings were
/// taken on a host that already forwarded, so they show ACCEPT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ForwardPolicy {
    #[default]
    Drop,
    Accept,
}

/// Which firewall Docker programs (`dockerd --firewall-backend`, daemon.json
/// `"firewall-backend"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FirewallBackend {
    /// iptables rules in the filter, nat and raw tables ([`super::iptables_commands`]).
    #[default]
    Iptables,
    /// Engine 29 only (experimental there): Docker's own nftables tables
    /// `ip docker-bridges` and `ip6 docker-bridges` ([`super::nft_ruleset`]), and no
    /// iptables rule at all.
    Nftables,
}

impl FirewallBackend {
    /// The name daemon.json and `--firewall-backend` take.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallBackend::Iptables => "iptables",
            FirewallBackend::Nftables => "nftables",
        }
    }
}

/// Daemon-wide options (`dockerd` flags / `daemon.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Daemon {
    pub engine: Engine,
    /// Ignored with the nftables backend: dockerd then never turns forwarding on itself,
    /// so it never sets a DROP policy either.
    pub forward_policy: ForwardPolicy,
    /// `--firewall-backend`: iptables (default) or, with engine 29, nftables.
    pub firewall_backend: FirewallBackend,
    /// `--iptables`: false means Docker installs no rule at all, with either backend.
    pub iptables: bool,
    /// `--ip6tables` (on by default since 27.0): the same chains in ip6tables, and the
    /// rules of each network with IPv6. Off, Docker writes no ip6tables rule.
    pub ip6tables: bool,
    /// `--userland-proxy`: false is "hairpin mode" (extra MASQUERADE rules, no `! -i br` on
    /// DNAT, no loopback exception in nat OUTPUT; `docker-netfilter.md` §1.6).
    pub userland_proxy: bool,
    /// A `docker-proxy` runs per published port. dockerd starts one whenever
    /// `userland_proxy` is on; false with it on is a host whose proxy died or is missing:
    /// the rules made for the proxy, and nothing listening.
    pub proxy_process: bool,
    /// `--ip`: the default host address of published ports (0.0.0.0: every address).
    pub ip: Ipv4Address,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            engine: Engine::default(),
            forward_policy: ForwardPolicy::default(),
            firewall_backend: FirewallBackend::default(),
            iptables: true,
            ip6tables: true,
            userland_proxy: true,
            proxy_process: true,
            ip: Ipv4Address::UNSPECIFIED,
        }
    }
}

/// `com.docker.network.bridge.gateway_mode_ipv4`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GatewayMode {
    /// Masquerade outgoing traffic, DNAT published ports, drop everything else coming in.
    #[default]
    Nat,
    /// As `Nat`, but anything routed to the network is accepted (28+).
    NatUnprotected,
    /// No NAT: published container ports are reachable at the container's own address.
    Routed,
}

/// One bridge network (`docker network create -d bridge`, or the default `bridge`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    /// The Linux bridge: `docker0` for the default network, else `br-` + the first 12 hex
    /// digits of the ID, unless `com.docker.network.bridge.name` overrides it.
    pub bridge: String,
    pub subnet: Ipv4Cidr,
    pub gateway: Ipv4Address,
    pub internal: bool,
    /// `com.docker.network.bridge.enable_icc`.
    pub enable_icc: bool,
    /// `com.docker.network.bridge.enable_ip_masquerade`.
    pub enable_ip_masquerade: bool,
    /// `com.docker.network.bridge.host_binding_ipv4`: the default host address of the
    /// network's published ports, instead of the daemon's `--ip`.
    pub host_binding_ipv4: Option<Ipv4Address>,
    /// `com.docker.network.host_ipv4`: SNAT to this address instead of MASQUERADE
    /// (`docker-netfilter.md` §1.6).
    pub host_ipv4: Option<Ipv4Address>,
    pub gateway_mode_ipv4: GatewayMode,
    /// `--ipv6`: the network's IPv6 subnet and gateway (None: `"EnableIPv6": false`).
    pub ipv6: Option<Subnet6>,
    /// `com.docker.network.bridge.gateway_mode_ipv6`.
    pub gateway_mode_ipv6: GatewayMode,
    /// `com.docker.network.driver.mtu`.
    pub mtu: u16,
}

/// A network's IPv6 side (`--ipv6 --subnet fd00::/64 [--gateway ...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet6 {
    /// Its network address (host bits zero).
    pub subnet: Ipv6Cidr,
    pub gateway: Ipv6Address,
}

/// An IP family, as Docker programs each apart (iptables and ip6tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Network {
    /// The default `bridge` network the daemon creates at start: `docker0`, 172.17.0.0/16,
    /// gateway 172.17.0.1 (`docker-netfilter.md` §2.1).
    pub fn default_bridge(id: impl Into<String>) -> Network {
        let subnet = Ipv4Cidr::new(Ipv4Address::new(172, 17, 0, 0), 16);
        Network {
            bridge: "docker0".to_string(),
            ..Network::user("bridge", id, subnet)
        }
    }

    /// A user-defined network with Docker's defaults: bridge `br-<12 hex of id>`, the
    /// subnet's first host as gateway, ICC and masquerading on, NAT gateway mode, MTU 1500.
    pub fn user(name: impl Into<String>, id: impl Into<String>, subnet: Ipv4Cidr) -> Network {
        let id = id.into();
        let subnet = subnet.network();
        Network {
            name: name.into(),
            bridge: ipam::bridge_name(&id),
            id,
            gateway: ipam::first_host(subnet).unwrap_or(subnet.address()),
            subnet,
            internal: false,
            enable_icc: true,
            enable_ip_masquerade: true,
            host_binding_ipv4: None,
            host_ipv4: None,
            gateway_mode_ipv4: GatewayMode::Nat,
            ipv6: None,
            gateway_mode_ipv6: GatewayMode::Nat,
            mtu: 1500,
        }
    }

    /// Whether outgoing IPv4 traffic is NATed (any gateway mode but routed).
    pub fn is_nat(&self) -> bool {
        self.gateway_mode_ipv4 != GatewayMode::Routed
    }

    /// Whether IPv4 traffic routed to the network from outside is accepted without a
    /// published port (nat-unprotected).
    pub fn is_unprotected(&self) -> bool {
        self.gateway_mode_ipv4 == GatewayMode::NatUnprotected
    }

    /// The gateway mode of one family.
    pub fn gateway_mode(&self, family: Family) -> GatewayMode {
        match family {
            Family::V4 => self.gateway_mode_ipv4,
            Family::V6 => self.gateway_mode_ipv6,
        }
    }

    /// Whether the network has this family (IPv4 always; IPv6 with `--ipv6`).
    pub fn has(&self, family: Family) -> bool {
        family == Family::V4 || self.ipv6.is_some()
    }
}

/// A transport protocol of a published port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
}

impl Proto {
    /// The name iptables takes after `-p` and `-m`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `-p [host_ip:][host_port:]ctr_port[/proto]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortMap {
    /// None: the network's `host_binding_ipv4`, else the daemon's `--ip`. An IPv6 address
    /// (`[::]:8080:80`) maps the port for IPv6 alone.
    pub host_ip: Option<IpAddress>,
    /// 0: an ephemeral port from 32768–60999 (see [`super::ports::PortAllocator`]).
    pub host_port: u16,
    pub ctr_port: u16,
    pub proto: Proto,
}

/// A container's attachment to one network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Index into the host's network list.
    pub network: usize,
    pub ip: Ipv4Address,
    /// Its IPv6 address, on a network with IPv6.
    pub ip6: Option<Ipv6Address>,
    pub mac: EthernetAddress,
}

/// A running container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    /// In connection order; the first non-internal one is the gateway endpoint, which
    /// carries the published ports.
    pub endpoints: Vec<Endpoint>,
    pub publish: Vec<PortMap>,
}

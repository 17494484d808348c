//! Published ports: host port allocation, and each container's `-p` resolved to the
//! bindings Docker programs (host address and port, container address and port).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

use super::model::{Container, Daemon, Family, Network, PortMap, Proto};

/// `/proc/sys/net/ipv4/ip_local_port_range` by default: where `-p 80` (no host port) takes its
/// host port from (`docker-netfilter.md` §2.1).
pub const EPHEMERAL_PORTS: RangeInclusive<u16> = 32768..=60999;

/// Docker's `portallocator`: host ports in use per address and protocol, and the ephemeral
/// cursor. Ephemeral ports are handed out sequentially, each search starting after the last
/// ephemeral port given for that address and protocol (the first is the range start).
#[derive(Clone, Debug, Default)]
pub struct PortAllocator {
    used: BTreeSet<(Proto, u16, IpAddress)>,
    last: BTreeMap<(IpAddress, Proto), u16>,
}

impl PortAllocator {
    pub fn new() -> Self {
        PortAllocator::default()
    }

    /// Whether `port` is taken for `ip`. A wildcard binding (0.0.0.0, ::) and a specific
    /// address of its family conflict both ways, as the sockets docker-proxy binds would
    /// (its IPv6 sockets are IPv6-only, so 0.0.0.0 and :: do not).
    pub fn in_use(&self, ip: IpAddress, proto: Proto, port: u16) -> bool {
        let lo = IpAddress::Ipv4(Ipv4Address::UNSPECIFIED);
        let hi = IpAddress::Ipv6(Ipv6Address::from_bits(u128::MAX));
        self.used
            .range((proto, port, lo)..=(proto, port, hi))
            .any(|&(_, _, i)| {
                i.version() == ip.version()
                    && (i == ip || i.is_unspecified() || ip.is_unspecified())
            })
    }

    /// Reserves `port` (0: the next free ephemeral port). None if the port is taken or the
    /// ephemeral range is exhausted, where Docker refuses to start the container.
    pub fn request(&mut self, ip: IpAddress, proto: Proto, port: u16) -> Option<u16> {
        let port = if port == 0 {
            self.next_ephemeral(ip, proto)?
        } else if self.in_use(ip, proto, port) {
            return None;
        } else {
            port
        };
        self.used.insert((proto, port, ip));
        Some(port)
    }

    /// Gives a port back (the container stopped). The ephemeral cursor stays where it is,
    /// so the container's next `-p 80` gets the next port, not this one.
    pub fn release(&mut self, ip: IpAddress, proto: Proto, port: u16) {
        self.used.remove(&(proto, port, ip));
    }

    fn next_ephemeral(&mut self, ip: IpAddress, proto: Proto) -> Option<u16> {
        let (lo, hi) = (*EPHEMERAL_PORTS.start(), *EPHEMERAL_PORTS.end());
        let start = match self.last.get(&(ip, proto)) {
            Some(&last) if last < hi => last + 1,
            _ => lo,
        };
        let port = (start..=hi)
            .chain(lo..start)
            .find(|&p| !self.in_use(ip, proto, p))?;
        self.last.insert((ip, proto), port);
        Some(port)
    }
}

/// One published port as Docker programs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Index of the container.
    pub container: usize,
    /// Index of the network of the endpoint that carries the port.
    pub network: usize,
    /// 0.0.0.0 (or :: for IPv6): every host address.
    pub host_ip: IpAddress,
    /// 0: not mapped on the host (routed gateway mode); the container port is reached at
    /// the container's address.
    pub host_port: u16,
    /// Of the host address's family.
    pub ctr_ip: IpAddress,
    pub ctr_port: u16,
    pub proto: Proto,
}

impl Binding {
    /// iptables or ip6tables: the host address's family.
    pub fn family(&self) -> Family {
        match self.host_ip {
            IpAddress::Ipv4(_) => Family::V4,
            IpAddress::Ipv6(_) => Family::V6,
        }
    }

    /// `[::]` served by docker-proxy alone toward a container without IPv6: no rule at
    /// all, the proxy connects to the container's IPv4 address.
    pub fn proxy_only(&self) -> bool {
        self.host_ip.version() != self.ctr_ip.version()
    }
}

/// The port bindings of every container, in container and `-p` order. Ports go to the
/// container's gateway endpoint, here its first endpoint on a non-internal network (an
/// internal-only container publishes nothing). The host address is the mapping's own, else
/// the network's `host_binding_ipv4`, else the daemon's `--ip`. Routed networks map no host
/// port (moby `port.go`: "PBs in routed mode don't map ports on the host"). A mapping whose
/// host port is taken is left out: Docker would refuse to start the container.
///
/// A wildcard IPv4 mapping is also bound on `[::]`, the same host port: to the container's
/// IPv6 address with NAT66 rules on a network with IPv6, else (with the userland proxy)
/// served by docker-proxy alone toward its IPv4 address (`docker-netfilter.md` §1.6,
/// moby `port_mapping_linux.go`).
pub fn port_bindings(
    daemon: &Daemon,
    networks: &[Network],
    containers: &[Container],
) -> Vec<Binding> {
    let mut ports = PortAllocator::new();
    let mut out = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        out.extend(bind(&mut ports, daemon, networks, ci, c));
    }
    out
}

/// The bindings of container `ci` as it starts, taking host ports from `ports` (see
/// [`port_bindings`]).
pub fn bind(
    ports: &mut PortAllocator,
    daemon: &Daemon,
    networks: &[Network],
    ci: usize,
    c: &Container,
) -> Vec<Binding> {
    let gateway = c.endpoints.iter().find_map(|ep| {
        let net = networks.get(ep.network)?;
        (!net.internal).then_some((ep, net))
    });
    let Some((ep, net)) = gateway else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pm in &c.publish {
        let host_ip = pm
            .host_ip
            .unwrap_or(IpAddress::Ipv4(net.host_binding_ipv4.unwrap_or(daemon.ip)));
        // The address's own family; an IPv4 wildcard also maps IPv6's wildcard where the
        // network has IPv6, on the same host port (moby `port_mapping_linux.go`).
        let v4 = match host_ip {
            IpAddress::Ipv4(ip) => Some(ip),
            IpAddress::Ipv6(_) => None,
        };
        let mut host_port = None;
        if let Some(ip) = v4 {
            let port = match net.is_nat() {
                true => match ports.request(IpAddress::Ipv4(ip), pm.proto, pm.host_port) {
                    Some(p) => p,
                    None => continue,
                },
                false => 0,
            };
            host_port = Some(port).filter(|p| *p != 0);
            out.push(Binding {
                container: ci,
                network: ep.network,
                host_ip: IpAddress::Ipv4(ip),
                host_port: port,
                ctr_ip: IpAddress::Ipv4(ep.ip),
                ctr_port: pm.ctr_port,
                proto: pm.proto,
            });
        }
        let ip6 = match (host_ip, v4) {
            (IpAddress::Ipv6(ip), _) => ip,
            (_, Some(ip)) if ip.is_unspecified() => Ipv6Address::UNSPECIFIED,
            _ => continue,
        };
        let Some(ctr6) = ep.ip6 else {
            // No IPv6 in the container: docker-proxy alone serves `[::]`, on the port the
            // IPv4 side took.
            let wildcard4 = v4.is_some_and(|ip| ip.is_unspecified());
            if let (Some(p), true, true) = (host_port, wildcard4, daemon.userland_proxy)
                && ports.request(IpAddress::Ipv6(ip6), pm.proto, p).is_some()
            {
                out.push(Binding {
                    container: ci,
                    network: ep.network,
                    host_ip: IpAddress::Ipv6(ip6),
                    host_port: p,
                    ctr_ip: IpAddress::Ipv4(ep.ip),
                    ctr_port: pm.ctr_port,
                    proto: pm.proto,
                });
            }
            continue;
        };
        let routed = net.gateway_mode(Family::V6) == super::GatewayMode::Routed;
        let port = match (routed, host_port) {
            (true, _) => 0,
            (false, Some(p)) => match ports.request(IpAddress::Ipv6(ip6), pm.proto, p) {
                Some(p) => p,
                None => continue,
            },
            (false, None) => match ports.request(IpAddress::Ipv6(ip6), pm.proto, pm.host_port) {
                Some(p) => p,
                None => continue,
            },
        };
        out.push(Binding {
            container: ci,
            network: ep.network,
            host_ip: IpAddress::Ipv6(ip6),
            host_port: port,
            ctr_ip: IpAddress::Ipv6(ctr6),
            ctr_port: pm.ctr_port,
            proto: pm.proto,
        });
    }
    out
}

/// `[IP:]HOST:CTR[/tcp|udp]` or `CTR[/tcp|udp]`, as `docker run -p` reads it.
pub fn parse_publish(text: &str) -> Result<PortMap, String> {
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, "tcp")) => (s, Proto::Tcp),
        Some((s, "udp")) => (s, Proto::Udp),
        Some((_, p)) => return Err(format!("invalid proto: {p}")),
        None => (text, Proto::Tcp),
    };
    let port = |p: &str| -> Result<u16, String> {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid containerPort: {p}"))
    };
    // `[IPv6]:HOST:CTR`: the brackets hold the colons of the address.
    let (bracketed, spec) = match spec.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        Some((ip, rest)) => {
            let ip = ip
                .parse::<Ipv6Address>()
                .map_err(|_| format!("invalid IP address: {ip}"))?;
            (Some(IpAddress::Ipv6(ip)), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, host_port, ctr) = match (bracketed, parts.as_slice()) {
        (None, [ctr]) => (None, 0, *ctr),
        (None, [host, ctr]) => (None, host_port(host)?, *ctr),
        (Some(ip), [host, ctr]) => (Some(ip), host_port(host)?, *ctr),
        (None, [ip, host, ctr]) => {
            let ip = ip
                .parse::<Ipv4Address>()
                .map_err(|_| format!("invalid IP address: {ip}"))?;
            (Some(IpAddress::Ipv4(ip)), host_port(host)?, *ctr)
        }
        _ => return Err(format!("invalid port mapping: {text}")),
    };
    Ok(PortMap {
        host_ip,
        host_port,
        ctr_port: port(ctr)?,
        proto,
    })
}

fn host_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Ok(0);
    }
    p.parse::<u16>()
        .map_err(|_| format!("invalid hostPort: {p}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: IpAddress = IpAddress::Ipv4(Ipv4Address::UNSPECIFIED);

    #[test]
    fn ephemeral_ports_are_sequential_and_skip_taken_ones() {
        let mut a = PortAllocator::new();
        assert_eq!(a.request(ANY, Proto::Tcp, 0), Some(32768));
        assert_eq!(a.request(ANY, Proto::Tcp, 32770), Some(32770));
        assert_eq!(a.request(ANY, Proto::Tcp, 0), Some(32769));
        assert_eq!(a.request(ANY, Proto::Tcp, 0), Some(32771));
        // Another protocol has its own ports and cursor.
        assert_eq!(a.request(ANY, Proto::Udp, 0), Some(32768));
    }

    #[test]
    fn wildcard_and_specific_addresses_conflict() {
        let lo = IpAddress::v4(127, 0, 0, 1);
        let mut a = PortAllocator::new();
        assert_eq!(a.request(lo, Proto::Tcp, 8080), Some(8080));
        assert_eq!(a.request(ANY, Proto::Tcp, 8080), None);
        assert_eq!(
            a.request(IpAddress::v4(10, 0, 0, 1), Proto::Tcp, 8080),
            Some(8080)
        );
        // IPv6's wildcard is a socket of its own family.
        let any6 = IpAddress::Ipv6(Ipv6Address::UNSPECIFIED);
        assert_eq!(a.request(any6, Proto::Tcp, 8080), Some(8080));
        assert_eq!(a.request(any6, Proto::Tcp, 8080), None);
    }

    #[test]
    fn the_range_wraps_and_runs_out() {
        let mut a = PortAllocator::new();
        a.last.insert((ANY, Proto::Tcp), *EPHEMERAL_PORTS.end());
        assert_eq!(a.request(ANY, Proto::Tcp, 0), Some(32768));
        for _ in EPHEMERAL_PORTS.skip(1) {
            assert!(a.request(ANY, Proto::Tcp, 0).is_some());
        }
        assert_eq!(a.request(ANY, Proto::Tcp, 0), None);
    }
}

#[cfg(test)]
mod publish_tests {
    use super::*;

    #[test]
    fn publish_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.ctr_port, p.proto),
            (None, 8080, 80, Proto::Tcp)
        );
        let p = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.ctr_port, p.proto),
            (Some(IpAddress::v4(127, 0, 0, 1)), 8080, 80, Proto::Udp)
        );
        let p = parse_publish("[::]::80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.ctr_port),
            (Some(IpAddress::Ipv6(Ipv6Address::UNSPECIFIED)), 0, 80)
        );
        let p = parse_publish("[2001:db8::10]:8080:80").unwrap();
        assert_eq!(
            p.host_ip.map(|i| i.to_string()).as_deref(),
            Some("2001:db8::10")
        );
        assert!(parse_publish("[nope]:80:80").is_err());
        assert_eq!(parse_publish("80").unwrap().host_port, 0);
        assert_eq!(parse_publish("127.0.0.1::80").unwrap().host_port, 0);
        assert!(parse_publish("80/sctp").is_err());
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("8080:0").is_err());
    }
}

#[cfg(test)]
mod family_tests {
    use smoltcp::wire::{EthernetAddress, Ipv4Cidr, Ipv6Cidr};

    use super::*;
    use crate::docker::model::{Endpoint, GatewayMode, Subnet6};

    fn web(ip6: Option<Ipv6Address>, publish: PortMap) -> Container {
        Container {
            name: "web".into(),
            id: "a".repeat(64),
            endpoints: vec![Endpoint {
                network: 0,
                ip: Ipv4Address::new(172, 18, 0, 2),
                ip6,
                mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            }],
            publish: vec![publish],
        }
    }

    fn net(v6: bool) -> Network {
        let mut n = Network::user(
            "n",
            "b".repeat(64),
            Ipv4Cidr::new(Ipv4Address::new(172, 18, 0, 0), 16),
        );
        if v6 {
            let a = |s: &str| s.parse::<Ipv6Address>().unwrap();
            n.ipv6 = Some(Subnet6 {
                subnet: Ipv6Cidr::new(a("fd00::"), 64),
                gateway: a("fd00::1"),
            });
        }
        n
    }

    fn pm(host_ip: Option<IpAddress>, host_port: u16) -> PortMap {
        PortMap {
            host_ip,
            host_port,
            ctr_port: 80,
            proto: Proto::Tcp,
        }
    }

    /// (host, host port, container) of each binding, and whether it is the proxy's alone.
    fn shape(daemon: &Daemon, net: Network, c: Container) -> Vec<(String, u16, String, bool)> {
        port_bindings(daemon, &[net], &[c])
            .iter()
            .map(|b| {
                (
                    b.host_ip.to_string(),
                    b.host_port,
                    b.ctr_ip.to_string(),
                    b.proxy_only(),
                )
            })
            .collect()
    }

    #[test]
    fn a_wildcard_mapping_is_bound_on_both_families() {
        let d = Daemon::default();
        let ctr6 = "fd00::2".parse().ok();
        // With IPv6: NAT66 to the container's IPv6 address, on the same host port.
        assert_eq!(
            shape(&d, net(true), web(ctr6, pm(None, 0))),
            vec![
                ("0.0.0.0".into(), 32768, "172.18.0.2".into(), false),
                ("::".into(), 32768, "fd00::2".into(), false),
            ]
        );
        // Without: docker-proxy alone serves [::], toward the IPv4 address.
        assert_eq!(
            shape(&d, net(false), web(None, pm(None, 8080))),
            vec![
                ("0.0.0.0".into(), 8080, "172.18.0.2".into(), false),
                ("::".into(), 8080, "172.18.0.2".into(), true),
            ]
        );
        // Nothing serves it without the proxy; a specific address is its family alone.
        let no_proxy = Daemon {
            userland_proxy: false,
            ..Daemon::default()
        };
        assert_eq!(
            shape(&no_proxy, net(false), web(None, pm(None, 8080))).len(),
            1
        );
        let lo = Some(IpAddress::v4(127, 0, 0, 1));
        assert_eq!(shape(&d, net(false), web(None, pm(lo, 8080))).len(), 1);
        // `[::]::80`: IPv6 alone.
        let any6 = Some(IpAddress::Ipv6(Ipv6Address::UNSPECIFIED));
        assert_eq!(
            shape(&d, net(true), web(ctr6, pm(any6, 0))),
            vec![("::".into(), 32768, "fd00::2".into(), false)]
        );
        // Routed IPv6 maps no host port; routed IPv4 none either, and no proxy then.
        let mut routed = net(true);
        routed.gateway_mode_ipv6 = GatewayMode::Routed;
        assert_eq!(
            shape(&d, routed, web(ctr6, pm(None, 8080))),
            vec![
                ("0.0.0.0".into(), 8080, "172.18.0.2".into(), false),
                ("::".into(), 0, "fd00::2".into(), false),
            ]
        );
        let mut routed4 = net(false);
        routed4.gateway_mode_ipv4 = GatewayMode::Routed;
        assert_eq!(shape(&d, routed4, web(None, pm(None, 8080))).len(), 1);
    }
}

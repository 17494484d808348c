//! Published ports: host port allocation, and each container's `-p` resolved to the
//! bindings Docker programs (host address and port, container address and port).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use smoltcp::wire::Ipv4Address;

use super::model::{Container, Daemon, Network, PortMap, Proto};

/// `/proc/sys/net/ipv4/ip_local_port_range` by default: where `-p 80` (no host port) takes its
/// host port from (`docker-netfilter.md` §2.1).
pub const EPHEMERAL_PORTS: RangeInclusive<u16> = 32768..=60999;

/// Docker's `portallocator`: host ports in use per address and protocol, and the ephemeral
/// cursor. Ephemeral ports are handed out sequentially, each search starting after the last
/// ephemeral port given for that address and protocol (the first is the range start).
#[derive(Clone, Debug, Default)]
pub struct PortAllocator {
    used: BTreeSet<(Proto, u16, Ipv4Address)>,
    last: BTreeMap<(Ipv4Address, Proto), u16>,
}

impl PortAllocator {
    pub fn new() -> Self {
        PortAllocator::default()
    }

    /// Whether `port` is taken for `ip`. A wildcard binding (0.0.0.0) and a specific
    /// address conflict both ways, as the sockets docker-proxy binds would.
    pub fn in_use(&self, ip: Ipv4Address, proto: Proto, port: u16) -> bool {
        let all = (proto, port, Ipv4Address::UNSPECIFIED)..=(proto, port, Ipv4Address::BROADCAST);
        self.used
            .range(all)
            .any(|&(_, _, i)| i == ip || i.is_unspecified() || ip.is_unspecified())
    }

    /// Reserves `port` (0: the next free ephemeral port). None if the port is taken or the
    /// ephemeral range is exhausted, where Docker refuses to start the container.
    pub fn request(&mut self, ip: Ipv4Address, proto: Proto, port: u16) -> Option<u16> {
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
    pub fn release(&mut self, ip: Ipv4Address, proto: Proto, port: u16) {
        self.used.remove(&(proto, port, ip));
    }

    fn next_ephemeral(&mut self, ip: Ipv4Address, proto: Proto) -> Option<u16> {
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
    /// 0.0.0.0: every host address.
    pub host_ip: Ipv4Address,
    /// 0: not mapped on the host (routed gateway mode); the container port is reached at
    /// the container's address.
    pub host_port: u16,
    pub ctr_ip: Ipv4Address,
    pub ctr_port: u16,
    pub proto: Proto,
}

/// The port bindings of every container, in container and `-p` order. Ports go to the
/// container's gateway endpoint, here its first endpoint on a non-internal network (an
/// internal-only container publishes nothing). The host address is the mapping's own, else
/// the network's `host_binding_ipv4`, else the daemon's `--ip`. Routed networks map no host
/// port (moby `port.go`: "PBs in routed mode don't map ports on the host"). A mapping whose
/// host port is taken is left out: Docker would refuse to start the container.
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
        let host_ip = pm.host_ip.or(net.host_binding_ipv4).unwrap_or(daemon.ip);
        let host_port = if net.is_nat() {
            match ports.request(host_ip, pm.proto, pm.host_port) {
                Some(p) => p,
                None => continue,
            }
        } else {
            0
        };
        out.push(Binding {
            container: ci,
            network: ep.network,
            host_ip,
            host_port,
            ctr_ip: ep.ip,
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
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, host_port, ctr) = match parts.as_slice() {
        [ctr] => (None, 0, *ctr),
        [host, ctr] => (None, host_port(host)?, *ctr),
        [ip, host, ctr] => {
            let ip = ip
                .parse::<Ipv4Address>()
                .map_err(|_| format!("invalid IP address: {ip}"))?;
            (Some(ip), host_port(host)?, *ctr)
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

    const ANY: Ipv4Address = Ipv4Address::UNSPECIFIED;

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
        let lo = Ipv4Address::new(127, 0, 0, 1);
        let mut a = PortAllocator::new();
        assert_eq!(a.request(lo, Proto::Tcp, 8080), Some(8080));
        assert_eq!(a.request(ANY, Proto::Tcp, 8080), None);
        assert_eq!(
            a.request(Ipv4Address::new(10, 0, 0, 1), Proto::Tcp, 8080),
            Some(8080)
        );
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
            (Some(Ipv4Address::new(127, 0, 0, 1)), 8080, 80, Proto::Udp)
        );
        assert_eq!(parse_publish("80").unwrap().host_port, 0);
        assert_eq!(parse_publish("127.0.0.1::80").unwrap().host_port, 0);
        assert!(parse_publish("80/sctp").is_err());
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("8080:0").is_err());
    }
}

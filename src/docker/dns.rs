//! Docker's names for containers: each container's `/etc/hosts` and what its embedded DNS
//! server (127.0.0.11) answers, as pure functions of the model.
//!
//! * On a user-defined network a container resolves, through the embedded server, every
//!   container sharing that network by its name, its network aliases and its short ID (the
//!   `DNSNames` of `docker inspect`), each also as `NAME.NETWORK`; PTR answers give
//!   `NAME.NETWORK`. A name found on an earlier network of the asking container hides the
//!   same name on a later one (the sandbox asks its networks in order).
//! * On the default bridge there is no embedded server: `resolv.conf` copies the Docker
//!   host's resolvers and container names do not resolve (legacy `--link` is not modelled).
//! * `/etc/hosts` holds `localhost`, the `extra_hosts` entries, then the container's own
//!   address and hostname (its short ID), in that order, as dockerd writes it (the own line
//!   is appended once the endpoint has joined). IPv6 lines are left out: lab containers have
//!   IPv6 off.
//! * `host-gateway` is the daemon's default `host-gateway-ip`: the default bridge's address
//!   (172.17.0.1), whichever network the container is on.

use smoltcp::wire::Ipv4Address;

use super::model::{Container, Network};
use crate::host::resolve::{EMBEDDED_DNS, Names};

/// The address of an `extra_hosts` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostTarget {
    Ip(Ipv4Address),
    /// `host-gateway`: the Docker host, at its default bridge address.
    HostGateway,
}

/// `NAME:IP` or `NAME=IP` (`--add-host`, compose `extra_hosts`); IP may be `host-gateway`.
pub fn parse_extra_host(text: &str) -> Result<(String, HostTarget), String> {
    let (name, ip) = text
        .split_once('=')
        .or_else(|| text.split_once(':'))
        .ok_or_else(|| format!("bad format for add-host: \"{text}\""))?;
    if name.is_empty() {
        return Err(format!("bad format for add-host: \"{text}\""));
    }
    let target = match ip {
        "host-gateway" => HostTarget::HostGateway,
        ip => HostTarget::Ip(ip.parse().map_err(|_| {
            format!("invalid IP address in add-host: \"{ip}\" (a lab is IPv4 only)")
        })?),
    };
    Ok((name.to_string(), target))
}

/// The first 12 hex digits of an ID: a container's hostname, and one of its DNS names.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The default bridge, where Docker runs no embedded DNS.
fn is_default_bridge(n: &Network) -> bool {
    n.name == "bridge"
}

/// Each container's names, in `containers` order. `aliases[c][e]` are the network aliases of
/// container `c` on its endpoint `e`, and `extra_hosts[c]` its `extra_hosts`; missing entries
/// mean none. Aliases on the default bridge are ignored (Docker refuses them: "network-scoped
/// alias is supported only for containers in user defined networks").
pub fn names_for(
    networks: &[Network],
    containers: &[Container],
    aliases: &[Vec<Vec<String>>],
    extra_hosts: &[Vec<(String, HostTarget)>],
) -> Vec<Names> {
    let default_gateway = networks
        .iter()
        .find(|n| is_default_bridge(n))
        .map(|n| n.gateway);
    containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let first_gateway = c
                .endpoints
                .first()
                .and_then(|e| networks.get(e.network))
                .map(|n| n.gateway);
            let extras = extra_hosts.get(i).map_or(&[][..], Vec::as_slice);
            let mut hosts_file = vec![(Ipv4Address::new(127, 0, 0, 1), vec!["localhost".into()])];
            for (name, target) in extras {
                let ip = match target {
                    HostTarget::Ip(ip) => Some(*ip),
                    HostTarget::HostGateway => default_gateway.or(first_gateway),
                };
                if let Some(ip) = ip {
                    hosts_file.push((ip, vec![name.clone()]));
                }
            }
            if let Some(e) = c.endpoints.first() {
                hosts_file.push((e.ip, vec![short_id(&c.id).to_string()]));
            }
            let mut names = Names {
                hosts_file,
                ..Names::default()
            };
            let user_networks: Vec<usize> = c
                .endpoints
                .iter()
                .map(|e| e.network)
                .filter(|&n| networks.get(n).is_some_and(|n| !is_default_bridge(n)))
                .collect();
            if !user_networks.is_empty() {
                names.dns = Some(EMBEDDED_DNS);
                for n in user_networks {
                    serve_network(&mut names, n, &networks[n], containers, aliases);
                }
            }
            names
        })
        .collect()
}

/// Adds what the embedded server knows of network `n`: names not already answered by an
/// earlier network, and PTR records for addresses not already named.
fn serve_network(
    names: &mut Names,
    n: usize,
    network: &Network,
    containers: &[Container],
    aliases: &[Vec<Vec<String>>],
) {
    let mut records: Vec<(String, Vec<Ipv4Address>)> = Vec::new();
    let mut add = |name: String, ip: Ipv4Address| match records
        .iter_mut()
        .find(|(r, _)| r.eq_ignore_ascii_case(&name))
    {
        Some((_, addrs)) if addrs.contains(&ip) => {}
        Some((_, addrs)) => addrs.push(ip),
        None => records.push((name, vec![ip])),
    };
    for (j, c) in containers.iter().enumerate() {
        for (k, e) in c.endpoints.iter().enumerate() {
            if e.network != n {
                continue;
            }
            let own = aliases
                .get(j)
                .and_then(|a| a.get(k))
                .map_or(&[][..], Vec::as_slice);
            let dns_names = std::iter::once(c.name.as_str())
                .chain(own.iter().map(String::as_str))
                .chain(std::iter::once(short_id(&c.id)));
            for name in dns_names {
                add(name.to_string(), e.ip);
                add(format!("{name}.{}", network.name), e.ip);
            }
            if !names.pointers.iter().any(|(ip, _)| *ip == e.ip) {
                names
                    .pointers
                    .push((e.ip, format!("{}.{}", c.name, network.name)));
            }
        }
    }
    for (name, addrs) in records {
        if !names
            .records
            .iter()
            .any(|(r, _)| r.eq_ignore_ascii_case(&name))
        {
            names.records.push((name, addrs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::Endpoint;
    use smoltcp::wire::{EthernetAddress, Ipv4Cidr};

    fn id(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn nets() -> Vec<Network> {
        let user = |name: &str, c: char, third: u8| {
            Network::user(
                name,
                id(c),
                Ipv4Cidr::new(Ipv4Address::new(172, third, 0, 0), 16),
            )
        };
        vec![
            Network::default_bridge(id('0')),
            user("backend", '1', 18),
            user("front", '2', 19),
        ]
    }

    fn ctr(name: &str, c: char, eps: &[(usize, [u8; 4])]) -> Container {
        Container {
            name: name.into(),
            id: id(c),
            endpoints: eps
                .iter()
                .map(|&(network, ip)| Endpoint {
                    network,
                    ip: Ipv4Address::from_octets(ip),
                    ip6: None,
                    mac: EthernetAddress([2, 0, 0, 0, 0, ip[3]]),
                })
                .collect(),
            publish: Vec::new(),
        }
    }

    fn lab() -> Vec<Names> {
        let containers = vec![
            ctr("old", 'a', &[(0, [172, 17, 0, 2])]),
            ctr("web", 'b', &[(1, [172, 18, 0, 2]), (2, [172, 19, 0, 2])]),
            ctr("app", 'c', &[(1, [172, 18, 0, 3])]),
            ctr("api", 'd', &[(2, [172, 19, 0, 3])]),
        ];
        let aliases = vec![
            vec![],
            vec![vec!["search".into()], vec![]],
            vec![vec!["search".into()]],
        ];
        let extra = vec![vec![(
            "host.docker.internal".to_string(),
            HostTarget::HostGateway,
        )]];
        names_for(&nets(), &containers, &aliases, &extra)
    }

    fn a(names: &Names, q: &str) -> Option<Vec<String>> {
        let answer = names.resolve(q).ok()?;
        Some(answer.addrs.iter().map(|ip| ip.to_string()).collect())
    }

    #[test]
    fn user_networks_resolve_names_aliases_and_ids() {
        let n = lab();
        let app = &n[2];
        assert_eq!(app.dns, Some(EMBEDDED_DNS));
        assert_eq!(a(app, "web").unwrap(), ["172.18.0.2"]);
        assert_eq!(a(app, "WEB.backend").unwrap(), ["172.18.0.2"]);
        assert_eq!(a(app, "bbbbbbbbbbbb").unwrap(), ["172.18.0.2"]);
        assert_eq!(a(app, "search").unwrap(), ["172.18.0.2", "172.18.0.3"]);
        // api shares no network with app; old is on the default bridge.
        assert_eq!(a(app, "api"), None);
        assert_eq!(a(app, "old"), None);
        assert_eq!(
            app.reverse(Ipv4Address::new(172, 18, 0, 2)).unwrap(),
            "web.backend"
        );
        // web's own hostname resolves through /etc/hosts; the first network answers first.
        let web = &n[1];
        assert_eq!(a(web, "bbbbbbbbbbbb").unwrap(), ["172.18.0.2"]);
        assert_eq!(a(web, "api.front").unwrap(), ["172.19.0.3"]);
        assert_eq!(a(web, "web").unwrap(), ["172.18.0.2"]);
        assert_eq!(
            web.reverse(Ipv4Address::new(172, 19, 0, 3)).unwrap(),
            "api.front"
        );
    }

    #[test]
    fn default_bridge_has_only_its_hosts_file() {
        let n = lab();
        let old = &n[0];
        assert_eq!(old.dns, None);
        assert!(old.records.is_empty());
        assert_eq!(
            old.hosts_file,
            vec![
                (
                    Ipv4Address::new(127, 0, 0, 1),
                    vec!["localhost".to_string()]
                ),
                (
                    Ipv4Address::new(172, 17, 0, 1),
                    vec!["host.docker.internal".to_string()]
                ),
                (
                    Ipv4Address::new(172, 17, 0, 2),
                    vec!["aaaaaaaaaaaa".to_string()]
                ),
            ]
        );
        assert_eq!(a(old, "web"), None);
        assert_eq!(a(old, "host.docker.internal").unwrap(), ["172.17.0.1"]);
    }

    #[test]
    fn host_gateway_is_the_default_bridge_address_everywhere() {
        let containers = vec![ctr("app", 'c', &[(1, [172, 18, 0, 3])])];
        let extra = vec![vec![
            parse_extra_host("host.docker.internal:host-gateway").unwrap(),
        ]];
        let n = names_for(&nets(), &containers, &[], &extra);
        assert_eq!(a(&n[0], "host.docker.internal").unwrap(), ["172.17.0.1"]);
    }

    #[test]
    fn extra_hosts_parse() {
        assert_eq!(
            parse_extra_host("db=10.0.0.5"),
            Ok(("db".into(), HostTarget::Ip(Ipv4Address::new(10, 0, 0, 5))))
        );
        assert_eq!(
            parse_extra_host("h:host-gateway"),
            Ok(("h".into(), HostTarget::HostGateway))
        );
        assert!(parse_extra_host("db").is_err());
        assert!(parse_extra_host(":1.2.3.4").is_err());
        assert!(parse_extra_host("db:10.0.0").is_err());
    }
}

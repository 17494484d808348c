//! Listings in iproute2's formats (`ip addr`, `ip link`, `ip -s link`, `ip route`,
//! `ip neigh`, `bridge fdb show`, `bridge link`), as Debian 12's iproute2 6.1 prints them,
//! trailing spaces included. Nodes gather the facts; this module only formats them.

use std::fmt::Write;

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

use crate::sim::PortStats;
use crate::wire::Mac;

/// One interface as `ip link` / `ip addr` show it.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// `eth0@if5`: the peer's ifindex for a veth.
    pub peer_ifindex: Option<u32>,
    pub loopback: bool,
    /// Carrier present (the link is up).
    pub carrier: bool,
    pub mtu: u32,
    pub master: Option<String>,
    pub mac: EthernetAddress,
    /// `link-netnsid N` for a veth whose peer is in another namespace.
    pub link_netnsid: Option<u32>,
    pub addrs: Vec<Ipv4Cidr>,
    pub stats: PortStats,
    /// A bridge device: without a port up it is `state DOWN`, not `LOWERLAYERDOWN`.
    pub bridge: bool,
    /// Set up (`IFF_UP`); a link made by `ip link add` starts down.
    pub admin_up: bool,
    /// Has been up once: its qdisc is `noqueue`, not `noop`.
    pub activated: bool,
    /// A veth whose peer is in the same namespace: `veth1@veth0`, not `@ifN`.
    pub peer_name: Option<String>,
    /// That peer is down (`M-DOWN`).
    pub m_down: bool,
    /// `link-netns NAME`: the peer's namespace has a name (`ip netns add`).
    pub link_netns: Option<String>,
    /// Operstate UNKNOWN (a bridge without ports, a dummy).
    pub unknown: bool,
    /// `NOARP` (a dummy).
    pub noarp: bool,
    /// Without carrier, the kernel says LOWERLAYERDOWN only when the peer's ifindex names a
    /// link of this namespace (it looks the number up here); else DOWN.
    pub lower_missing: bool,
    /// Addresses added without a broadcast (`ip addr add A/N dev D`, no `brd +`).
    pub no_brd: Vec<Ipv4Address>,
    /// The device a VLAN device sits on: `eth0.10@eth0`.
    pub lower: Option<String>,
    /// IPv6 addresses in the kernel's order (global ones, then link-local; `::1` on `lo`).
    pub addrs6: Vec<Ipv6Cidr>,
}

impl LinkInfo {
    /// A veth end of a node whose peer is in another node: what the engine knows of the port
    /// (`view`) plus the interface's own settings.
    pub fn veth(
        ifindex: u32,
        name: &str,
        view: &crate::sim::PortView,
        (mac, mtu): (EthernetAddress, u32),
        addrs: Vec<Ipv4Cidr>,
    ) -> LinkInfo {
        LinkInfo {
            peer_ifindex: view.peer_ifindex,
            carrier: view.up,
            link_netnsid: view.peer_node.as_ref().map(|_| 0),
            addrs,
            stats: view.stats,
            ..LinkInfo::device(ifindex, name, mac, mtu)
        }
    }

    /// A device that is up, without carrier, peer, master or address: what the other
    /// constructors start from.
    pub fn device(ifindex: u32, name: &str, mac: EthernetAddress, mtu: u32) -> LinkInfo {
        LinkInfo {
            ifindex,
            name: name.to_string(),
            peer_ifindex: None,
            loopback: false,
            carrier: false,
            mtu,
            master: None,
            mac,
            link_netnsid: None,
            addrs: Vec::new(),
            stats: PortStats::default(),
            bridge: false,
            admin_up: true,
            activated: true,
            peer_name: None,
            m_down: false,
            link_netns: None,
            unknown: false,
            noarp: false,
            no_brd: Vec::new(),
            lower_missing: false,
            lower: None,
            addrs6: Vec::new(),
        }
    }

    pub fn loopback() -> LinkInfo {
        LinkInfo {
            loopback: true,
            carrier: true,
            addrs: vec![Ipv4Cidr::new(Ipv4Address::new(127, 0, 0, 1), 8)],
            ..LinkInfo::device(1, "lo", EthernetAddress([0; 6]), 65536)
        }
    }

    /// The header `ip -6 addr` prints: no qdisc and no group, as iproute2 leaves them out
    /// of an address listing filtered by family, and no `@ifN` for a veth whose peer is in
    /// another namespace (that dump carries no peer namespace to name it by).
    /// The header `ip -6 addr` prints. Its links come from IPv6's own dump
    /// (`inet6_fill_ifinfo`), which gives a veth's peer index without its namespace, so
    /// iproute2 names the peer by whatever interface holds that index here (`eth1@eth0`),
    /// and leaves it out when the index is the interface's own. `local` names the
    /// namespace's interfaces by index.
    fn header6(&self, local: &dyn Fn(u32) -> Option<String>) -> String {
        let mut h = self.header(false);
        if let (Some(i), None, None) = (self.peer_ifindex, &self.peer_name, &self.lower) {
            let peer = match (i == self.ifindex, local(i)) {
                (true, _) => String::new(),
                (false, Some(name)) => format!("@{name}"),
                (false, None) => format!("@if{i}"),
            };
            h = h.replacen(
                &format!("{}@if{i}: ", self.name),
                &format!("{}{peer}: ", self.name),
                1,
            );
        }
        let qdisc = [" qdisc noqueue", " qdisc noop"];
        let h = qdisc.iter().fold(h, |h, q| h.replacen(q, "", 1));
        h.replacen(" group default", "", 1)
    }

    fn header(&self, mode: bool) -> String {
        let name = match (
            self.lower.as_ref().or(self.peer_name.as_ref()),
            self.peer_ifindex,
        ) {
            (Some(p), _) => format!("{}@{p}", self.name),
            (None, Some(i)) => format!("{}@if{i}", self.name),
            (None, None) => self.name.clone(),
        };
        let bcast = if self.noarp {
            "BROADCAST,NOARP"
        } else {
            "BROADCAST,MULTICAST"
        };
        let (flags, state) = if self.loopback {
            match self.admin_up {
                true => ("LOOPBACK,UP,LOWER_UP".to_string(), "UNKNOWN"),
                false => ("LOOPBACK".to_string(), "DOWN"),
            }
        } else if !self.admin_up {
            let m = if self.m_down { ",M-DOWN" } else { "" };
            (format!("{bcast}{m}"), "DOWN")
        } else if self.carrier {
            let state = if self.unknown { "UNKNOWN" } else { "UP" };
            (format!("{bcast},UP,LOWER_UP"), state)
        } else if self.unknown {
            (format!("{bcast},UP"), "UNKNOWN")
        } else if self.bridge || self.lower_missing {
            (format!("NO-CARRIER,{bcast},UP"), "DOWN")
        } else {
            (format!("NO-CARRIER,{bcast},UP"), "LOWERLAYERDOWN")
        };
        let master = self
            .master
            .as_ref()
            .map(|m| format!(" master {m}"))
            .unwrap_or_default();
        let mode = if mode { " mode DEFAULT" } else { "" };
        let qdisc = if self.admin_up || self.activated {
            "noqueue"
        } else {
            "noop"
        };
        format!(
            "{}: {name}: <{flags}> mtu {} qdisc {qdisc}{master} state {state}{mode} group default qlen 1000\n",
            self.ifindex, self.mtu
        )
    }

    fn link_line(&self) -> String {
        if self.loopback {
            return "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n".into();
        }
        let netns = match (&self.link_netns, self.link_netnsid) {
            (Some(name), _) => format!(" link-netns {name}"),
            (None, Some(n)) => format!(" link-netnsid {n}"),
            (None, None) => String::new(),
        };
        format!(
            "    link/ether {} brd ff:ff:ff:ff:ff:ff{netns}\n",
            Mac(self.mac)
        )
    }
}

/// `ip addr`, `ip link` or `ip -s link` (short forms and `show` included) of what `links`
/// gives; None for any other command.
pub fn link_listing(words: &[&str], links: impl FnOnce() -> Vec<LinkInfo>) -> Option<String> {
    match words {
        ["ip", "addr" | "a" | "address"] | ["ip", "addr" | "a" | "address", "show"] => {
            Some(ip_addr(&links()))
        }
        ["ip", "-6", "addr" | "a" | "address"] | ["ip", "-6", "addr" | "a" | "address", "show"] => {
            Some(ip_addr6(&links()))
        }
        ["ip", "link" | "l"] | ["ip", "link" | "l", "show"] => Some(ip_link(&links(), false)),
        ["ip", "-s", "link" | "l"] | ["ip", "-s", "link" | "l", "show"] => {
            Some(ip_link(&links(), true))
        }
        _ => None,
    }
}

/// `ip addr`.
pub fn ip_addr(links: &[LinkInfo]) -> String {
    let mut out = String::new();
    for l in links {
        out.push_str(&l.header(false));
        out.push_str(&l.link_line());
        for a in &l.addrs {
            if l.loopback {
                let _ = writeln!(out, "    inet {a} scope host {}", l.name);
            } else {
                let brd = a
                    .broadcast()
                    .filter(|_| !l.no_brd.contains(&a.address()))
                    .map(|b| format!(" brd {b}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "    inet {a}{brd} scope global {}", l.name);
            }
            out.push_str("       valid_lft forever preferred_lft forever\n");
        }
        inet6_lines(&mut out, l);
    }
    out
}

/// `ip -6 addr`: the links that have an IPv6 address, and those addresses.
pub fn ip_addr6(links: &[LinkInfo]) -> String {
    let mut out = String::new();
    let local = |i: u32| {
        links
            .iter()
            .find(|l| l.ifindex == i)
            .map(|l| l.name.clone())
    };
    for l in links.iter().filter(|l| !l.addrs6.is_empty()) {
        out.push_str(&l.header6(&local));
        inet6_lines(&mut out, l);
    }
    out
}

/// `    inet6 2001:db8::10/64 scope global ` (a trailing space, no device name) and its
/// lifetimes, for each IPv6 address of `l`.
fn inet6_lines(out: &mut String, l: &LinkInfo) {
    for a in &l.addrs6 {
        let scope = if a.address().is_loopback() {
            "host"
        } else if a.address().is_unicast_link_local() {
            "link"
        } else {
            "global"
        };
        let _ = writeln!(
            out,
            "    inet6 {}/{} scope {scope} ",
            a.address(),
            a.prefix_len()
        );
        out.push_str("       valid_lft forever preferred_lft forever\n");
    }
}

/// `ip link`, or `ip -s link` with `stats`.
pub fn ip_link(links: &[LinkInfo], stats: bool) -> String {
    let mut out = String::new();
    for l in links {
        out.push_str(&l.header(true));
        out.push_str(&l.link_line());
        if stats {
            let s = &l.stats;
            out.push_str("    RX:  bytes packets errors dropped  missed   mcast           \n");
            let _ = writeln!(
                out,
                "    {:>10} {:>7} {:>6} {:>7} {:>7} {:>7} ",
                s.rx_bytes, s.rx_packets, s.rx_errors, 0, 0, s.rx_multicast
            );
            out.push_str("    TX:  bytes packets errors dropped carrier collsns           \n");
            let _ = writeln!(
                out,
                "    {:>10} {:>7} {:>6} {:>7} {:>7} {:>7} ",
                s.tx_bytes, s.tx_packets, 0, s.tx_dropped, 0, 0
            );
        }
    }
    out
}

/// One route as `ip route` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// `None` is the default route.
    pub dst: Option<Ipv4Cidr>,
    pub via: Option<Ipv4Address>,
    pub dev: String,
    /// A connected route the kernel added with the address (`proto kernel scope link`).
    pub kernel: bool,
    pub src: Option<Ipv4Address>,
    pub metric: Option<u32>,
    /// `proto P` of a route added with one (`ip route add ... proto static`).
    pub proto: Option<String>,
    /// `scope S` of a route added with one.
    pub scope: Option<String>,
}

/// `ip route`.
pub fn ip_route(routes: &[RouteInfo]) -> String {
    ip_route_with(routes, &|_| false)
}

/// `ip route`, marking `linkdown` the routes whose device has no carrier.
pub fn ip_route_with(routes: &[RouteInfo], linkdown: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    for r in routes {
        match r.dst {
            None => out.push_str("default"),
            // A host route prints without its /32, as iproute2 prints it.
            Some(c) if c.prefix_len() == 32 => {
                let _ = write!(out, "{}", c.address());
            }
            Some(c) => {
                let _ = write!(out, "{c}");
            }
        }
        if let Some(v) = r.via {
            let _ = write!(out, " via {v}");
        }
        let _ = write!(out, " dev {}", r.dev);
        if r.kernel {
            out.push_str(" proto kernel scope link");
        } else {
            if let Some(p) = &r.proto {
                let _ = write!(out, " proto {p}");
            }
            if let Some(s) = &r.scope {
                let _ = write!(out, " scope {s}");
            }
        }
        if let Some(s) = r.src {
            let _ = write!(out, " src {s}");
        }
        if let Some(m) = r.metric {
            let _ = write!(out, " metric {m}");
        }
        if linkdown(&r.dev) {
            out.push_str(" linkdown");
        }
        out.push_str(" \n");
    }
    out
}

/// A route lookup's answer as `ip route get` prints it; `pmtu` is a route exception's
/// (seconds left, MTU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteGet {
    pub dst: Ipv4Address,
    pub via: Option<Ipv4Address>,
    pub dev: String,
    pub src: Ipv4Address,
    pub local: bool,
    pub pmtu: Option<(u64, u32)>,
}

/// `ip route get DST`.
pub fn ip_route_get(r: &RouteGet) -> String {
    let mut out = String::new();
    if r.local {
        let _ = write!(
            out,
            "local {} dev lo table local src {} uid 0 \n    cache <local> \n",
            r.dst, r.src
        );
        return out;
    }
    let _ = write!(out, "{}", r.dst);
    if let Some(v) = r.via {
        let _ = write!(out, " via {v}");
    }
    let _ = write!(out, " dev {} src {} uid 0 \n    cache ", r.dev, r.src);
    if let Some((secs, mtu)) = r.pmtu {
        let _ = write!(out, "expires {secs}sec mtu {mtu} ");
    }
    out.push('\n');
    out
}

/// `ip route show cache`: the route exceptions (those with a path MTU).
pub fn ip_route_cache(routes: &[RouteGet]) -> String {
    let mut out = String::new();
    for r in routes {
        let Some((secs, mtu)) = r.pmtu else { continue };
        let _ = write!(out, "{}", r.dst);
        if let Some(v) = r.via {
            let _ = write!(out, " via {v}");
        }
        let _ = write!(
            out,
            " dev {} \n    cache expires {secs}sec mtu {mtu} \n",
            r.dev
        );
    }
    out
}

/// One neighbour entry as `ip neigh` shows it (an IPv4 one unless said otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighInfo<A = Ipv4Address> {
    pub ip: A,
    pub dev: String,
    pub lladdr: Option<EthernetAddress>,
    /// `REACHABLE`, `STALE`, `DELAY`, `PROBE`, `INCOMPLETE`, `FAILED`, `PERMANENT`.
    pub state: &'static str,
}

/// `ip neigh` (for either family).
pub fn ip_neigh<A: std::fmt::Display>(entries: &[NeighInfo<A>]) -> String {
    let mut out = String::new();
    for n in entries {
        let _ = write!(out, "{} dev {}", n.ip, n.dev);
        if let Some(m) = n.lladdr {
            let _ = write!(out, " lladdr {}", Mac(m));
        }
        let _ = writeln!(out, " {} ", n.state);
    }
    out
}

/// One IPv6 route as `ip -6 route` shows it: a connected prefix (`proto kernel metric
/// 256`) or the default route (`metric 1024`, as `ip -6 route add default via` and a
/// router advertisement's both give).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route6Info {
    /// None for the default route.
    pub dst: Option<Ipv6Cidr>,
    pub via: Option<Ipv6Address>,
    pub dev: String,
}

/// `ip -6 route`.
pub fn ip_route6(routes: &[Route6Info]) -> String {
    let mut out = String::new();
    for r in routes {
        match (r.dst, r.via) {
            (Some(d), _) => {
                let len = d.prefix_len();
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                let net = Ipv6Address::from_bits(d.address().to_bits() & mask);
                let _ = writeln!(
                    out,
                    "{net}/{len} dev {} proto kernel metric 256 pref medium",
                    r.dev
                );
            }
            (None, Some(gw)) => {
                let _ = writeln!(
                    out,
                    "default via {gw} dev {} metric 1024 pref medium",
                    r.dev
                );
            }
            (None, None) => {
                let _ = writeln!(out, "default dev {} metric 1024 pref medium", r.dev);
            }
        }
    }
    out
}

/// One line of `bridge fdb show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbLine {
    pub mac: EthernetAddress,
    pub dev: String,
    /// `vlan N` of an entry in a VLAN (with VLAN filtering, or a port's local entries).
    pub vlan: Option<u16>,
    /// `master BR` for the bridge's own table, absent for a device's own (`self`) entries.
    pub master: Option<String>,
    pub permanent: bool,
}

/// `bridge fdb show`.
pub fn bridge_fdb(lines: &[FdbLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let _ = write!(out, "{} dev {}", Mac(l.mac), l.dev);
        if let Some(v) = l.vlan {
            let _ = write!(out, " vlan {v}");
        }
        match &l.master {
            Some(m) => {
                let _ = write!(out, " master {m}");
            }
            None => out.push_str(" self"),
        }
        out.push_str(if l.permanent { " permanent\n" } else { " \n" });
    }
    out
}

/// Splits a command line the way a shell would for simple words and quotes.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            // Inside double quotes a backslash escapes only what the shell says it does.
            (Some('"'), '\\') => match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in: {line}"));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_lines_match_iproute2() {
        let routes = [
            RouteInfo {
                dst: None,
                via: Some(Ipv4Address::new(172, 17, 0, 1)),
                dev: "eth0".into(),
                kernel: false,
                src: None,
                metric: None,
                proto: None,
                scope: None,
            },
            RouteInfo {
                dst: Some(Ipv4Cidr::new(Ipv4Address::new(172, 17, 0, 0), 16)),
                via: None,
                dev: "eth0".into(),
                kernel: true,
                src: Some(Ipv4Address::new(172, 17, 0, 2)),
                metric: None,
                proto: None,
                scope: None,
            },
        ];
        // As in kernel-listings/l2_views.txt (ip route, c1).
        assert_eq!(
            ip_route(&routes),
            "default via 172.17.0.1 dev eth0 \n172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n"
        );
    }

    #[test]
    fn neigh_and_fdb_lines_match_iproute2() {
        let n = NeighInfo {
            ip: Ipv4Address::new(172, 17, 0, 3),
            dev: "eth0".into(),
            lladdr: Some(EthernetAddress([2, 0x42, 0xac, 0x11, 0, 3])),
            state: "REACHABLE",
        };
        assert_eq!(
            ip_neigh(&[n]),
            "172.17.0.3 dev eth0 lladdr 02:42:ac:11:00:03 REACHABLE \n"
        );
        let f = [
            FdbLine {
                mac: EthernetAddress([2, 0x42, 0xac, 0x11, 0, 2]),
                dev: "vethc1x".into(),
                vlan: None,
                master: Some("docker0".into()),
                permanent: false,
            },
            FdbLine {
                mac: EthernetAddress([1, 0, 0x5e, 0, 0, 1]),
                dev: "vethc1x".into(),
                vlan: None,
                master: None,
                permanent: true,
            },
        ];
        assert_eq!(
            bridge_fdb(&f),
            "02:42:ac:11:00:02 dev vethc1x master docker0 \n01:00:5e:00:00:01 dev vethc1x self permanent\n"
        );
        // bridge/fdb.c: `vlan N` after the device, before the flags and master.
        let tagged = FdbLine {
            vlan: Some(10),
            ..f[0].clone()
        };
        assert_eq!(
            bridge_fdb(&[tagged]),
            "02:42:ac:11:00:02 dev vethc1x vlan 10 master docker0 \n"
        );
    }

    #[test]
    fn addr_listing_shape() {
        let mut eth = LinkInfo::loopback();
        eth.ifindex = 2;
        eth.name = "eth0".into();
        eth.loopback = false;
        eth.mtu = 1500;
        eth.peer_ifindex = Some(5);
        eth.link_netnsid = Some(0);
        eth.mac = EthernetAddress([2, 0x42, 0xac, 0x11, 0, 2]);
        eth.addrs = vec![Ipv4Cidr::new(Ipv4Address::new(172, 17, 0, 2), 16)];
        let text = ip_addr(&[LinkInfo::loopback(), eth]);
        assert!(text.contains("2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\n"), "{text}");
        assert!(text.starts_with("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"));
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#"curl -s "http://a b/" 'x y' z\ w -w "%{http_code}\n\"""#).unwrap(),
            [
                "curl",
                "-s",
                "http://a b/",
                "x y",
                "z w",
                "-w",
                "%{http_code}\\n\""
            ]
        );
        assert!(split_words("echo 'open").is_err());
    }
}

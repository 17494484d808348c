//! The routing table of a Linux-like router: connected routes added with each address
//! (`proto kernel scope link`), static routes from `ip route add`, longest prefix first, then
//! lowest metric, then the route added first. `ip route` lists them as iproute2 does: the
//! default route first, then by prefix.

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

// The command's parser sits with the host, below the router: a host applies the same
// `ip route` commands to its own routes.
use crate::host::route_cmd::network;
pub use crate::host::route_cmd::{RouteCmd, RouteOp, parse_route_cmd};
use crate::listing::iproute::RouteInfo;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Cidr,
    pub via: Option<Ipv4Address>,
    /// Local interface index.
    pub dev: usize,
    pub metric: u32,
    /// Added by the kernel with an address.
    pub kernel: bool,
    pub src: Option<Ipv4Address>,
    /// `proto P` and `scope S` as the route was added with them (listed back as given).
    pub proto: Option<String>,
    pub scope: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub fn entries(&self) -> &[Route] {
        &self.routes
    }

    /// The route a packet to `dst` takes.
    pub fn lookup(&self, dst: Ipv4Address) -> Option<&Route> {
        let mut best: Option<&Route> = None;
        for r in &self.routes {
            if !r.dst.contains_addr(&dst) {
                continue;
            }
            best = match best {
                Some(b)
                    if (b.dst.prefix_len(), std::cmp::Reverse(b.metric))
                        >= (r.dst.prefix_len(), std::cmp::Reverse(r.metric)) =>
                {
                    Some(b)
                }
                _ => Some(r),
            };
        }
        best
    }

    /// Removes every route through `dev` (the device went down or away, as `fib_disable_ip`
    /// flushes them).
    pub fn remove_dev(&mut self, dev: usize) {
        self.routes.retain(|r| r.dev != dev);
    }

    /// Removes the connected route an address added (`ip addr del`).
    pub fn remove_connected(&mut self, cidr: Ipv4Cidr, dev: usize) {
        self.routes.retain(|r| {
            !(r.kernel && r.dev == dev && r.dst == network(cidr) && r.src == Some(cidr.address()))
        });
    }

    pub fn add_connected(&mut self, cidr: Ipv4Cidr, dev: usize) {
        self.routes.push(Route {
            dst: network(cidr),
            via: None,
            dev,
            metric: 0,
            kernel: true,
            src: Some(cidr.address()),
            proto: None,
            scope: None,
        });
    }

    /// Applies an `ip route` command; `dev_of` resolves interface names, `connected` finds the
    /// interface whose subnet holds a gateway.
    pub fn apply(
        &mut self,
        cmd: &RouteCmd,
        dev_of: impl Fn(&str) -> Option<usize>,
        connected: impl Fn(Ipv4Address) -> Option<usize>,
    ) -> Result<(), String> {
        let same = |r: &Route| r.dst == cmd.dst && r.metric == cmd.metric && !r.kernel;
        match cmd.op {
            RouteOp::Del => {
                let before = self.routes.len();
                let dev = cmd.dev.as_deref().and_then(&dev_of);
                self.routes.retain(|r| {
                    !(r.dst == cmd.dst
                        && (cmd.via.is_none() || r.via == cmd.via)
                        && (dev.is_none() || Some(r.dev) == dev))
                });
                if self.routes.len() == before {
                    return Err("RTNETLINK answers: No such process".into());
                }
                Ok(())
            }
            RouteOp::Add | RouteOp::Replace => {
                let dev = match (&cmd.dev, cmd.via) {
                    (Some(d), _) => {
                        dev_of(d).ok_or_else(|| format!("Cannot find device \"{d}\""))?
                    }
                    (None, Some(gw)) => {
                        connected(gw).ok_or("Error: Nexthop has invalid gateway.")?
                    }
                    (None, None) => {
                        return Err("Error: a route needs \"via GW\" or \"dev IF\"".into());
                    }
                };
                if let Some(gw) = cmd.via
                    && connected(gw) != Some(dev)
                {
                    return Err("Error: Nexthop has invalid gateway.".into());
                }
                let route = Route {
                    dst: cmd.dst,
                    via: cmd.via,
                    dev,
                    metric: cmd.metric,
                    kernel: false,
                    src: cmd.src,
                    proto: cmd.proto.clone(),
                    scope: cmd.scope.clone(),
                };
                match self.routes.iter().position(same) {
                    Some(_) if cmd.op == RouteOp::Add => {
                        Err("RTNETLINK answers: File exists".into())
                    }
                    Some(i) => {
                        self.routes[i] = route;
                        Ok(())
                    }
                    None => {
                        self.routes.push(route);
                        Ok(())
                    }
                }
            }
        }
    }

    /// As `ip route` prints them: default routes first, then by address and prefix length.
    pub fn listing(&self, dev_name: impl Fn(usize) -> String) -> Vec<RouteInfo> {
        let mut v: Vec<&Route> = self.routes.iter().collect();
        v.sort_by_key(|r| {
            (
                r.dst.prefix_len() != 0,
                r.dst.address().to_bits(),
                r.dst.prefix_len(),
                r.metric,
            )
        });
        v.into_iter()
            .map(|r| RouteInfo {
                dst: (r.dst.prefix_len() != 0).then_some(r.dst),
                via: r.via,
                dev: dev_name(r.dev),
                kernel: r.kernel,
                src: r.src,
                metric: (r.metric != 0).then_some(r.metric),
                proto: r.proto.clone(),
                scope: r.scope.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> Ipv4Address {
        s.parse().unwrap()
    }

    fn table() -> RouteTable {
        let mut t = RouteTable::default();
        t.add_connected(cidr("10.0.1.1/24"), 0);
        t.add_connected(cidr("10.0.12.1/30"), 1);
        t.add_connected(cidr("10.0.13.1/30"), 2);
        let dev = |_: &str| None;
        let conn = |gw: Ipv4Address| {
            [("10.0.12.0/30", 1), ("10.0.13.0/30", 2)]
                .iter()
                .find(|(c, _)| cidr(c).contains_addr(&gw))
                .map(|(_, d)| *d)
        };
        for cmd in [
            "ip route add 10.0.0.0/16 via 10.0.12.2",
            "ip route add 10.0.3.0/24 via 10.0.13.2",
            "ip route add default via 10.0.12.2 metric 100",
            "ip route add default via 10.0.13.2 metric 50",
        ] {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            t.apply(&parse_route_cmd(&words).unwrap(), dev, conn)
                .unwrap();
        }
        t
    }

    #[test]
    fn proto_scope_and_src_are_listed_as_given() {
        let mut t = RouteTable::default();
        t.add_connected(cidr("10.104.68.181/25"), 0);
        let conn = |gw: Ipv4Address| cidr("10.104.68.128/25").contains_addr(&gw).then_some(0);
        for cmd in [
            "ip route add default via 10.104.68.129 dev eth0 proto dhcp src 10.104.68.181 metric 100",
            "ip route add 169.254.169.254/32 via 10.104.68.150 dev eth0 proto dhcp src 10.104.68.181 metric 100",
            "ip route add 10.9.0.0/16 dev eth0 scope link",
        ] {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            t.apply(&parse_route_cmd(&words).unwrap(), |_| Some(0), conn)
                .unwrap();
        }
        let text = crate::listing::iproute::ip_route(&t.listing(|_| "eth0".into()));
        assert_eq!(
            text,
            "default via 10.104.68.129 dev eth0 proto dhcp src 10.104.68.181 metric 100 \n\
             10.9.0.0/16 dev eth0 scope link \n\
             10.104.68.128/25 dev eth0 proto kernel scope link src 10.104.68.181 \n\
             169.254.169.254 via 10.104.68.150 dev eth0 proto dhcp src 10.104.68.181 metric 100 \n"
        );
        let words: Vec<&str> = "ip route add 10.9.0.0/16 dev eth0 scope galaxy"
            .split_whitespace()
            .collect();
        assert_eq!(
            parse_route_cmd(&words).unwrap_err(),
            "Error: invalid \"scope\" value: galaxy"
        );
    }

    #[test]
    fn longest_prefix_then_lowest_metric() {
        let t = table();
        assert_eq!(t.lookup(ip("10.0.3.7")).unwrap().via, Some(ip("10.0.13.2")));
        assert_eq!(t.lookup(ip("10.0.9.1")).unwrap().via, Some(ip("10.0.12.2")));
        assert_eq!(t.lookup(ip("10.0.1.9")).unwrap().via, None);
        let d = t.lookup(ip("192.0.2.1")).unwrap();
        assert_eq!((d.via, d.metric), (Some(ip("10.0.13.2")), 50));
    }

    #[test]
    fn listing_is_in_iproute2_order() {
        let names = ["eth0", "eth1", "eth2"];
        let text = crate::listing::iproute::ip_route(&table().listing(|d| names[d].to_string()));
        assert_eq!(
            text,
            "default via 10.0.13.2 dev eth2 metric 50 \n\
             default via 10.0.12.2 dev eth1 metric 100 \n\
             10.0.0.0/16 via 10.0.12.2 dev eth1 \n\
             10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1 \n\
             10.0.3.0/24 via 10.0.13.2 dev eth2 \n\
             10.0.12.0/30 dev eth1 proto kernel scope link src 10.0.12.1 \n\
             10.0.13.0/30 dev eth2 proto kernel scope link src 10.0.13.1 \n"
        );
    }

    #[test]
    fn commands_fail_like_iproute2() {
        let p = |s: &str| parse_route_cmd(&s.split_whitespace().collect::<Vec<_>>());
        assert!(
            p("ip route add 10.0.0.1/16 via 10.0.0.1")
                .unwrap_err()
                .contains("Invalid prefix")
        );
        assert!(p("ip route add 10.0.0.0/16").is_err());
        assert!(p("ip route add bogus via 1.2.3.4").is_err());
        assert_eq!(p("10.9.0.0/16 via 10.0.12.2").unwrap().op, RouteOp::Add);
        let mut t = table();
        let dup = p("ip route add 10.0.3.0/24 via 10.0.12.2").unwrap();
        let conn = |_: Ipv4Address| Some(1);
        assert_eq!(
            t.apply(&dup, |_| None, conn),
            Err("RTNETLINK answers: File exists".into())
        );
        let unreachable_gw = p("ip route add 10.7.0.0/16 via 192.0.2.1").unwrap();
        assert!(t.apply(&unreachable_gw, |_| None, |_| None).is_err());
        let del = p("ip route del 10.0.3.0/24").unwrap();
        t.apply(&del, |_| None, conn).unwrap();
        assert_eq!(
            t.apply(&del, |_| None, conn),
            Err("RTNETLINK answers: No such process".into())
        );
    }
}

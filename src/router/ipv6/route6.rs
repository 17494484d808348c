//! The router's IPv6 routing table (`ip -6 route`): connected prefixes added with each
//! address (`proto kernel metric 256`, and `fe80::/64` on every IPv6 interface), static
//! routes from `ip -6 route add` (metric 1024 unless given), longest prefix first, then the
//! lowest metric. The kernel keeps IPv6 routes in a radix tree (`fib6`) and dumps it depth
//! first, a prefix's more specific prefixes before it, so `default` comes last.

use std::cmp::Ordering;

use smoltcp::wire::{Ipv6Address, Ipv6Cidr};

/// `ip -6 route add` without `metric` (`IP6_RT_PRIO_USER`).
pub const USER_METRIC: u32 = 1024;
/// A connected prefix's metric (`IP6_RT_PRIO_ADDRCONF`).
pub const KERNEL_METRIC: u32 = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route6 {
    /// The prefix, its host bits cleared.
    pub dst: Ipv6Cidr,
    pub via: Option<Ipv6Address>,
    pub dev: usize,
    pub metric: u32,
    /// Added with an address (`proto kernel`).
    pub kernel: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Route6Table {
    routes: Vec<Route6>,
}

/// `ip -6 route add|del|replace PREFIX|default [via ADDR] [dev DEV] [metric N]`, parsed;
/// the device still a name (the namespace resolves it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route6Cmd {
    pub op: Route6Op,
    pub dst: Ipv6Cidr,
    pub via: Option<Ipv6Address>,
    pub dev: Option<String>,
    pub metric: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route6Op {
    Add,
    Del,
    Replace,
}

/// Clears the host bits of a prefix, as the kernel stores it.
pub fn network(c: Ipv6Cidr) -> Ipv6Cidr {
    let len = c.prefix_len();
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    Ipv6Cidr::new(Ipv6Address::from_bits(c.address().to_bits() & mask), len)
}

/// Whether `c` holds `a`.
pub fn contains(c: Ipv6Cidr, a: Ipv6Address) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(c.prefix_len()))
        .unwrap_or(0);
    c.address().to_bits() & mask == a.to_bits() & mask
}

/// The order of the kernel's dump: depth first through the prefix tree, a prefix's more
/// specific prefixes before it; the same prefix by metric.
fn tree_order(a: &Route6, b: &Route6) -> Ordering {
    let (pa, pb) = (a.dst.prefix_len(), b.dst.prefix_len());
    let common = pa.min(pb);
    let mask = u128::MAX.checked_shl(128 - u32::from(common)).unwrap_or(0);
    let (xa, xb) = (
        a.dst.address().to_bits() & mask,
        b.dst.address().to_bits() & mask,
    );
    xa.cmp(&xb)
        .then_with(|| match (pa == pb, pa > pb) {
            (true, _) => Ordering::Equal,
            // Within the shorter prefix, the longer goes first.
            (false, true) => Ordering::Less,
            (false, false) => Ordering::Greater,
        })
        .then_with(|| a.dst.address().to_bits().cmp(&b.dst.address().to_bits()))
        .then(a.metric.cmp(&b.metric))
}

impl Route6Table {
    pub fn entries(&self) -> &[Route6] {
        &self.routes
    }

    /// The route a packet to `dst` takes: the longest prefix, then the lowest metric, then
    /// the route added first. A link-local destination takes the `fe80::/64` of the
    /// interface it names (`scope`), or of the one it came in on.
    pub fn lookup(&self, dst: Ipv6Address, scope: Option<usize>) -> Option<&Route6> {
        let mut best: Option<&Route6> = None;
        for r in &self.routes {
            if !contains(r.dst, dst) {
                continue;
            }
            if dst.is_unicast_link_local() && scope.is_some_and(|d| d != r.dev) {
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

    /// A connected prefix for an address on `dev` (once per prefix and device).
    pub fn add_connected(&mut self, cidr: Ipv6Cidr, dev: usize) {
        let dst = network(cidr);
        if self
            .routes
            .iter()
            .any(|r| r.kernel && r.dst == dst && r.dev == dev)
        {
            return;
        }
        self.routes.push(Route6 {
            dst,
            via: None,
            dev,
            metric: KERNEL_METRIC,
            kernel: true,
        });
    }

    /// The connected route of prefix `net` on `dev` goes (its last address did).
    pub fn remove_connected(&mut self, net: Ipv6Cidr, dev: usize) {
        self.routes
            .retain(|r| !(r.kernel && r.dev == dev && r.dst == net));
    }

    /// Every route through `dev` goes (the device went down or away).
    pub fn remove_dev(&mut self, dev: usize) {
        self.routes.retain(|r| r.dev != dev);
    }

    /// Carries out `ip -6 route add|del|replace`, the device resolved by the caller
    /// (`dev`), `on_link` telling whether a gateway is reachable through a device. The
    /// error is the exit code and iproute2's message.
    pub fn apply(
        &mut self,
        cmd: &Route6Cmd,
        dev: Option<usize>,
        on_link: impl Fn(Ipv6Address) -> Option<usize>,
    ) -> Result<(), (i32, String)> {
        let dst = network(cmd.dst);
        let metric = cmd.metric.unwrap_or(USER_METRIC);
        let rtnl = |m: &str| (2, format!("RTNETLINK answers: {m}"));
        if cmd.op == Route6Op::Del {
            let pos = self.routes.iter().position(|r| {
                r.dst == dst
                    && cmd.metric.is_none_or(|m| m == r.metric)
                    && cmd.via.is_none_or(|v| Some(v) == r.via)
                    && dev.is_none_or(|d| d == r.dev)
            });
            return match pos {
                Some(i) => {
                    self.routes.remove(i);
                    Ok(())
                }
                None => Err(rtnl("No such process")),
            };
        }
        let dev = match (cmd.via, dev) {
            (Some(v), _) if v.is_unicast_link_local() && dev.is_none() => {
                return Err((2, "Error: Egress device not specified.".into()));
            }
            (Some(v), Some(d)) if v.is_unicast_link_local() => d,
            (Some(v), d) => match on_link(v) {
                Some(found) if d.is_none_or(|d| d == found) => found,
                _ => return Err(rtnl("No route to host")),
            },
            (None, Some(d)) => d,
            (None, None) => return Err(rtnl("No such device")),
        };
        let route = Route6 {
            dst,
            via: cmd.via,
            dev,
            metric,
            kernel: false,
        };
        let same = self
            .routes
            .iter()
            .position(|r| r.dst == dst && r.metric == metric);
        match (cmd.op, same) {
            (Route6Op::Add, Some(_)) => Err(rtnl("File exists")),
            (Route6Op::Replace, Some(i)) => {
                self.routes[i] = route;
                Ok(())
            }
            _ => {
                self.routes.push(route);
                Ok(())
            }
        }
    }

    /// `ip -6 route`, in the kernel's order.
    pub fn listing(&self, dev_name: impl Fn(usize) -> String) -> String {
        use std::fmt::Write;
        let mut sorted: Vec<(usize, &Route6)> = self.routes.iter().enumerate().collect();
        // The same prefix on several devices keeps the order the routes were made in.
        sorted.sort_by(|(i, a), (j, b)| tree_order(a, b).then(i.cmp(j)));
        let mut out = String::new();
        for (_, r) in sorted {
            // A host route reads as its address alone.
            match r.dst.prefix_len() {
                0 => out.push_str("default"),
                128 => {
                    let _ = write!(out, "{}", r.dst.address());
                }
                _ => {
                    let _ = write!(out, "{}", r.dst);
                }
            }
            if let Some(v) = r.via {
                let _ = write!(out, " via {v}");
            }
            let _ = write!(out, " dev {}", dev_name(r.dev));
            if r.kernel {
                out.push_str(" proto kernel");
            }
            let _ = writeln!(out, " metric {} pref medium", r.metric);
        }
        out
    }
}

/// Parses the words after `ip -6 route` (or after `ip route` when its prefix is IPv6):
/// `add|del|delete|replace PREFIX|default [via ADDR] [dev DEV] [metric|priority N]`.
/// The error is iproute2's message, before anything is asked of the kernel.
pub fn parse(words: &[&str]) -> Result<Route6Cmd, String> {
    let (op, rest) = match words.split_first() {
        Some((&("add" | "append"), r)) => (Route6Op::Add, r),
        Some((&("del" | "delete"), r)) => (Route6Op::Del, r),
        Some((&("replace" | "change"), r)) => (Route6Op::Replace, r),
        _ => {
            return Err(format!(
                "hoplab: `ip -6 route {}` is not modelled: a router takes `ip -6 route \
                 add|del|replace PREFIX [via ADDR] [dev DEV] [metric N]` and lists with \
                 `ip -6 route`",
                words.join(" ")
            ));
        }
    };
    let prefix = |t: &str| -> Result<Ipv6Cidr, String> {
        let bad = || format!("Error: inet6 prefix is expected rather than \"{t}\".");
        if t == "default" {
            return Ok(Ipv6Cidr::new(Ipv6Address::UNSPECIFIED, 0));
        }
        let (a, len) = match t.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
            None => (t, 128),
        };
        let a: Ipv6Address = a.parse().map_err(|_| bad())?;
        if len > 128 {
            return Err(bad());
        }
        Ok(Ipv6Cidr::new(a, len))
    };
    let mut cmd = Route6Cmd {
        op,
        dst: Ipv6Cidr::new(Ipv6Address::UNSPECIFIED, 0),
        via: None,
        dev: None,
        metric: None,
    };
    let mut dst = None;
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        let mut value = || {
            it.next()
                .copied()
                .ok_or_else(|| "Command line is not complete. Try option \"help\"".to_string())
        };
        match *w {
            "via" => {
                let v = value()?;
                let v = v.strip_prefix("inet6 ").unwrap_or(v);
                cmd.via = Some(v.parse().map_err(|_| {
                    format!("Error: inet6 address is expected rather than \"{v}\".")
                })?);
            }
            "dev" | "oif" => cmd.dev = Some(value()?.to_string()),
            "metric" | "priority" | "preference" => {
                let v = value()?;
                cmd.metric = Some(v.parse().map_err(|_| {
                    format!("Error: argument \"{v}\" is wrong: \"metric\" value is invalid")
                })?);
            }
            "to" => dst = Some(prefix(value()?)?),
            other if dst.is_none() => dst = Some(prefix(other)?),
            other => {
                return Err(format!(
                    "hoplab: `{other}` in `ip -6 route` is not modelled (a route takes via, \
                     dev and metric)"
                ));
            }
        }
    }
    cmd.dst = dst.ok_or_else(|| "Command line is not complete. Try option \"help\"".to_string())?;
    Ok(cmd)
}

/// Whether a route's words (`[ip] [-6] [route] [add|...] PREFIX [via GW] ...`) are an
/// IPv6 route: `-6`, or an IPv6 destination or gateway (iproute2 takes the family from
/// the addresses).
pub fn is_ipv6_line(words: &[&str]) -> bool {
    let v6 = |w: &str| {
        w.split('/')
            .next()
            .is_some_and(|a| a.parse::<Ipv6Address>().is_ok())
    };
    let mut rest = words.iter().skip_while(|w| {
        matches!(
            **w,
            "ip" | "route"
                | "r"
                | "add"
                | "append"
                | "del"
                | "delete"
                | "replace"
                | "change"
                | "to"
        )
    });
    words.contains(&"-6")
        || rest.next().is_some_and(|w| v6(w))
        || words.windows(2).any(|p| p[0] == "via" && v6(p[1]))
}

/// A `routes:` line (`[ip] [-6] [route] [add|del|replace] PREFIX ...`), parsed as
/// [`parse`] does, `add` when no operation is given.
pub fn parse_line(words: &[&str]) -> Result<Route6Cmd, String> {
    let mut w = words;
    for skip in ["ip", "-6", "route"] {
        if w.first() == Some(&skip) || (skip == "route" && w.first() == Some(&"r")) {
            w = &w[1..];
        }
    }
    match w.first() {
        Some(&("add" | "append" | "del" | "delete" | "replace" | "change")) => parse(w),
        _ => parse(&[&["add"], w].concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Address {
        s.parse().unwrap()
    }
    fn c(s: &str) -> Ipv6Cidr {
        let (x, l) = s.split_once('/').unwrap();
        Ipv6Cidr::new(a(x), l.parse().unwrap())
    }

    /// The order `ip -6 route` printed for these routes in a kernel namespace.
    #[test]
    fn lists_in_the_kernels_order() {
        let mut t = Route6Table::default();
        t.add_connected(c("2001:db8:1::1/64"), 0);
        t.add_connected(c("2001:db8:3::1/64"), 1);
        let on_link = |g: Ipv6Address| contains(c("2001:db8:1::/64"), g).then_some(0);
        for line in [
            "add 2001:db8:2::/64 via 2001:db8:1::2",
            "add 2001:db8::/32 via 2001:db8:1::3",
            "add default via 2001:db8:1::9",
            "add 2001:db8:4::/64 via 2001:db8:1::2 dev eth0 metric 5",
        ] {
            let words: Vec<&str> = line.split_whitespace().collect();
            let cmd = parse(&words).unwrap();
            let dev = cmd.dev.as_ref().map(|_| 0);
            t.apply(&cmd, dev, on_link).unwrap();
        }
        t.add_connected(c("fe80::1/64"), 0);
        t.add_connected(c("fe80::2/64"), 1);
        let names = ["eth0", "eth1"];
        assert_eq!(
            t.listing(|d| names[d].to_string()),
            "2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium\n\
             2001:db8:2::/64 via 2001:db8:1::2 dev eth0 metric 1024 pref medium\n\
             2001:db8:3::/64 dev eth1 proto kernel metric 256 pref medium\n\
             2001:db8:4::/64 via 2001:db8:1::2 dev eth0 metric 5 pref medium\n\
             2001:db8::/32 via 2001:db8:1::3 dev eth0 metric 1024 pref medium\n\
             fe80::/64 dev eth0 proto kernel metric 256 pref medium\n\
             fe80::/64 dev eth1 proto kernel metric 256 pref medium\n\
             default via 2001:db8:1::9 dev eth0 metric 1024 pref medium\n"
        );
        assert_eq!(
            t.lookup(a("2001:db8:2::5"), None).unwrap().via,
            Some(a("2001:db8:1::2"))
        );
        assert_eq!(
            t.lookup(a("2001:db8:9::5"), None).unwrap().via,
            Some(a("2001:db8:1::3"))
        );
        assert_eq!(
            t.lookup(a("2001:db9::5"), None).unwrap().via,
            Some(a("2001:db8:1::9"))
        );
        assert_eq!(t.lookup(a("fe80::7"), Some(1)).unwrap().dev, 1);
    }

    #[test]
    fn the_family_comes_from_the_addresses() {
        for (line, v6) in [
            ("default via fe80::1 dev eth0", true),
            ("ip route add 2001:db8::/32 via 2001:db8:1::1", true),
            ("-6 route add default dev eth0", true),
            ("ip route add default via 10.0.0.1", false),
            // A colon elsewhere says nothing of the family.
            ("10.0.0.0/24 dev eth0 proto :kernel", false),
        ] {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(is_ipv6_line(&words), v6, "{line}");
        }
    }

    #[test]
    fn refusals_read_as_iproute2s() {
        let mut t = Route6Table::default();
        t.add_connected(c("2001:db8:1::1/64"), 0);
        let on_link = |g: Ipv6Address| contains(c("2001:db8:1::/64"), g).then_some(0);
        let run = |t: &mut Route6Table, line: &str| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let cmd = parse(&words)?;
            let dev = cmd.dev.as_ref().map(|_| 0);
            t.apply(&cmd, dev, on_link).map_err(|(_, e)| e)
        };
        assert_eq!(
            run(&mut t, "add 2001:db8:9::/64 via 2001:db8:5::1").unwrap_err(),
            "RTNETLINK answers: No route to host"
        );
        assert_eq!(
            run(&mut t, "add 2001:db8:8::/64 via fe80::1").unwrap_err(),
            "Error: Egress device not specified."
        );
        assert_eq!(
            run(&mut t, "add 2001:zz::/64 dev eth0").unwrap_err(),
            "Error: inet6 prefix is expected rather than \"2001:zz::/64\"."
        );
        assert_eq!(
            run(&mut t, "add 2001:db8:2::/64 via 10.0.0.5").unwrap_err(),
            "Error: inet6 address is expected rather than \"10.0.0.5\"."
        );
        run(&mut t, "add 2001:db8:2::/64 via 2001:db8:1::2").unwrap();
        assert_eq!(
            run(&mut t, "add 2001:db8:2::/64 via 2001:db8:1::2").unwrap_err(),
            "RTNETLINK answers: File exists"
        );
        assert_eq!(
            run(&mut t, "del 2001:db8:7::/64").unwrap_err(),
            "RTNETLINK answers: No such process"
        );
        run(&mut t, "del 2001:db8:2::/64").unwrap();
        assert_eq!(t.entries().len(), 1);
    }
}

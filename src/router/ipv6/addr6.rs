//! `ip -6 addr add|del|flush` on a router (also `ip addr add|del` with an IPv6 address),
//! with iproute2's and the kernel's refusals. An interface with IPv6 off takes it on with
//! its first address, and its link-local address with it.

use smoltcp::wire::{Ipv6Address, Ipv6Cidr};

use super::super::Router;
use super::route6;

/// `ip -6 addr ...`, parsed: add, delete or flush, the address (none for a flush), the
/// device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr6Cmd {
    pub op: Addr6Op,
    pub cidr: Option<Ipv6Cidr>,
    pub dev: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr6Op {
    Add,
    Del,
    Flush,
}

/// Parses the words after `ip -6 addr` as iproute2 does before asking the kernel.
pub fn parse(words: &[&str]) -> Result<Addr6Cmd, String> {
    let incomplete = || "Command line is not complete. Try option \"help\"".to_string();
    let (op, rest) = words
        .split_first()
        .ok_or("Not enough information: \"dev\" argument is required.")?;
    let op = match *op {
        "add" | "replace" | "change" => Addr6Op::Add,
        "del" | "delete" => Addr6Op::Del,
        "flush" => Addr6Op::Flush,
        other => {
            return Err(format!(
                "hoplab: `ip -6 addr {other}` is not modelled on a router"
            ));
        }
    };
    let (mut cidr, mut dev) = (None, None);
    let mut it = rest.iter().copied();
    while let Some(w) = it.next() {
        match w {
            "dev" => dev = Some(it.next().ok_or_else(incomplete)?),
            "local" | "to" => cidr = Some(prefix(it.next().unwrap_or(""))?),
            a if cidr.is_none() && op != Addr6Op::Flush => cidr = Some(prefix(a)?),
            other => {
                return Err(format!(
                    "hoplab: `ip -6 addr` option `{other}` is not modelled; ADDR/PREFIX dev DEV is"
                ));
            }
        }
    }
    let dev = match (op, dev) {
        (_, Some(d)) => d.to_string(),
        (Addr6Op::Flush, None) => return Err("Flush requires arguments.".into()),
        (_, None) => return Err("Not enough information: \"dev\" argument is required.".into()),
    };
    if op != Addr6Op::Flush && cidr.is_none() {
        return Err("RTNETLINK answers: Invalid argument".into());
    }
    Ok(Addr6Cmd { op, cidr, dev })
}

/// `get_prefix` for IPv6: `ADDR[/N]`, a host address without a prefix (`/128`).
fn prefix(s: &str) -> Result<Ipv6Cidr, String> {
    let bad = || format!("Error: inet6 prefix is expected rather than \"{s}\".");
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().ok().filter(|l| *l <= 128).ok_or_else(bad)?,
        ),
        None => (s, 128),
    };
    let addr: Ipv6Address = a.parse().map_err(|_| bad())?;
    Ok(Ipv6Cidr::new(addr, len))
}

impl Router {
    /// Carries out `ip -6 addr add|del|flush`; the error is the exit code and the message.
    pub(in crate::router) fn ip_addr6_cmd(
        &mut self,
        now: crate::time::Instant,
        cmd: &Addr6Cmd,
    ) -> Result<(), (i32, String)> {
        self.addr6_change(cmd)?;
        // The router's own stack speaks from every address it has.
        for dev in 0..self.ns.ifaces.len() {
            let (name, mtu) = (self.ns.ifaces[dev].name.clone(), self.ns.ifaces[dev].mtu);
            let addrs = self.addrs6(dev).to_vec();
            if let Some(stack) = self.stack.as_mut() {
                for c in addrs {
                    stack.net.add_routed_addr6(&name, c, mtu, now);
                }
            }
        }
        self.refresh_sources();
        Ok(())
    }

    fn addr6_change(&mut self, cmd: &Addr6Cmd) -> Result<(), (i32, String)> {
        let dev = self
            .live_link(&cmd.dev)
            .ok_or_else(|| (1, format!("Cannot find device \"{}\"", cmd.dev)))?;
        match (cmd.op, cmd.cidr) {
            (Addr6Op::Flush, _) => {
                self.flush6(dev);
                Ok(())
            }
            (Addr6Op::Add, Some(cidr)) => {
                let mac = self.ns.ifaces[dev].mac;
                let was_off = self.ns.ifaces[dev].ipv6.is_none();
                let addrs = self.ns.ifaces[dev]
                    .ipv6
                    .get_or_insert_with(|| super::iface_addrs(&[], mac));
                if addrs.iter().any(|c| c.address() == cidr.address()) {
                    return Err((2, "Error: ipv6: address already assigned.".into()));
                }
                // The newest address of its scope goes first.
                let at = match cidr.address().is_unicast_link_local() {
                    true => addrs
                        .iter()
                        .position(|c| c.address().is_unicast_link_local())
                        .unwrap_or(addrs.len()),
                    false => 0,
                };
                addrs.insert(at, cidr);
                if self.link_usable(dev) {
                    if was_off {
                        self.connect6(dev);
                    }
                    self.ns.v6.routes.add_connected(cidr, dev);
                }
                Ok(())
            }
            (Addr6Op::Del, Some(cidr)) => {
                let Some(addrs) = self.ns.ifaces[dev].ipv6.as_mut() else {
                    return Err((2, "Error: ipv6: address not found.".into()));
                };
                let Some(i) = addrs.iter().position(|c| c.address() == cidr.address()) else {
                    return Err((2, "Error: ipv6: address not found.".into()));
                };
                let gone = addrs.remove(i);
                // The prefix's route goes with the last address on it.
                let net = route6::network(gone);
                if !addrs.iter().any(|c| route6::network(*c) == net) {
                    self.ns.v6.routes.remove_connected(net, dev);
                }
                Ok(())
            }
            _ => Err((2, "RTNETLINK answers: Invalid argument".into())),
        }
    }

    /// Every IPv6 address of `dev` goes, its link-local one too, and their routes
    /// (`ip -6 addr flush`, `ip addr flush`).
    pub(in crate::router) fn flush6(&mut self, dev: usize) {
        if let Some(addrs) = self.ns.ifaces[dev].ipv6.as_mut() {
            for c in std::mem::take(addrs) {
                self.ns.v6.routes.remove_connected(route6::network(c), dev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_iproute2() {
        let c = parse(&["add", "2001:db8:1::2", "dev", "eth0"]).unwrap();
        assert_eq!(c.cidr.unwrap().prefix_len(), 128);
        assert_eq!(
            parse(&["add", "10.0.0.1/24", "dev", "eth0"]).unwrap_err(),
            "Error: inet6 prefix is expected rather than \"10.0.0.1/24\"."
        );
        assert_eq!(parse(&["flush"]).unwrap_err(), "Flush requires arguments.");
        assert_eq!(parse(&["flush", "dev", "eth0"]).unwrap().op, Addr6Op::Flush);
    }
}

//! `ip neigh add|replace|change|del|flush` on a router (`ip -6 neigh`, or an IPv6
//! address, for the neighbour discovery table), with iproute2's messages and exit codes,
//! and `ip neigh show dev DEV`.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv6Address};

use super::Router;
use super::neigh::Nud;
use crate::listing::iproute;
use crate::sim::Ctx;
use crate::time::Instant;

impl Router {
    /// Runs the words after `ip neigh` (`v6`: after `ip -6 neigh`); an error carries
    /// iproute2's exit code.
    pub(super) fn ip_neigh_cmd(
        &mut self,
        now: Instant,
        (words, v6): (&[&str], bool),
        ctx: &mut Ctx<'_>,
    ) -> Result<String, (i32, String)> {
        let Some((&op, rest)) = words.split_first() else {
            return Ok(iproute::ip_neigh(&self.neighbours()));
        };
        let dev_of = |name: &str| self.ns.ifaces.iter().position(|f| f.name == name);
        let mut ip: Option<&str> = None;
        let (mut mac, mut dev, mut nud) = (None, None, None);
        let mut it = rest.iter();
        while let Some(&w) = it.next() {
            let mut value = || {
                it.next().copied().ok_or((
                    255,
                    "Command line is not complete. Try option \"help\"".to_string(),
                ))
            };
            match w {
                "lladdr" => {
                    let v = value()?;
                    let m = EthernetAddress::from_bytes(
                        &parse_mac(v).ok_or((1, format!("\"{v}\" is invalid lladdr.")))?,
                    );
                    mac = Some(m);
                }
                "dev" => {
                    let v = value()?;
                    dev = Some(dev_of(v).ok_or((1, format!("Cannot find device \"{v}\"")))?);
                }
                "nud" => {
                    let v = value()?;
                    nud = Some(match v {
                        "permanent" => Nud::Permanent,
                        "noarp" => Nud::Noarp,
                        "reachable" => Nud::Reachable,
                        "stale" => Nud::Stale,
                        other => {
                            return Err((
                                255,
                                format!("Error: argument \"{other}\" is wrong: nud state is bad"),
                            ));
                        }
                    });
                }
                "to" => ip = Some(value()?),
                "all" if op == "flush" => {}
                other if ip.is_none() && op != "flush" => ip = Some(other),
                other => {
                    return Err((
                        255,
                        format!("Error: either \"to\" is duplicate, or \"{other}\" is a garbage."),
                    ));
                }
            }
        }
        if op == "flush" {
            // Without a family, both tables.
            if !v6 {
                self.ns.neigh.flush(dev);
            }
            self.ns.v6.neigh.flush(dev);
            return Ok(String::new());
        }
        let (Some(ip), Some(dev)) = (ip, dev) else {
            return Err((
                255,
                "Device and destination are required arguments.".to_string(),
            ));
        };
        if v6 || ip.contains(':') {
            let ip: Ipv6Address = ip.parse().map_err(|_| {
                (
                    1,
                    format!("Error: inet6 address is expected rather than \"{ip}\"."),
                )
            })?;
            return self.neigh6_cmd(now, op, (ip, dev, mac), nud, ctx);
        }
        let ip: Ipv4Address = ip.parse().map_err(|_| {
            (
                1,
                format!("Error: an inet address is expected rather than \"{ip}\"."),
            )
        })?;
        match op {
            "add" | "replace" | "change" => {
                let mac = mac.ok_or((2, "Error: No link layer address given.".to_string()))?;
                let state = nud.unwrap_or(Nud::Permanent);
                let waiting = self
                    .ns
                    .neigh
                    .set(now, op, (ip, dev, mac), state)
                    .map_err(|e| (2, e.to_string()))?;
                for queued in waiting {
                    self.send_frame(dev, mac, queued, ctx);
                }
                Ok(String::new())
            }
            "del" | "delete" => match self.ns.neigh.remove(ip, dev) {
                true => Ok(String::new()),
                false => Err((2, "RTNETLINK answers: No such file or directory".into())),
            },
            other => Err((
                255,
                format!("Command \"{other}\" is unknown, try \"ip neigh help\"."),
            )),
        }
    }

    /// `ip -6 neigh add|replace|change|del` on the neighbour discovery table.
    fn neigh6_cmd(
        &mut self,
        now: Instant,
        op: &str,
        (ip, dev, mac): (Ipv6Address, usize, Option<EthernetAddress>),
        nud: Option<Nud>,
        ctx: &mut Ctx<'_>,
    ) -> Result<String, (i32, String)> {
        match op {
            "add" | "replace" | "change" => {
                let mac = mac.ok_or((2, "Error: No link layer address given.".to_string()))?;
                let state = nud.unwrap_or(Nud::Permanent);
                let waiting = self
                    .ns
                    .v6
                    .neigh
                    .set(now, op, (ip, dev, mac), state)
                    .map_err(|e| (2, e.to_string()))?;
                self.release6(dev, mac, waiting, ctx);
                Ok(String::new())
            }
            "del" | "delete" => match self.ns.v6.neigh.remove(ip, dev) {
                true => Ok(String::new()),
                false => Err((2, "RTNETLINK answers: No such file or directory".into())),
            },
            other => Err((
                255,
                format!("Command \"{other}\" is unknown, try \"ip neigh help\"."),
            )),
        }
    }

    /// `ip neigh show dev DEV`: that interface's entries, without `dev DEV`.
    pub(super) fn ip_neigh_dev(&self, dev: &str) -> Result<String, String> {
        if !self.ns.ifaces.iter().any(|f| f.name == dev) {
            return Err(format!("Cannot find device \"{dev}\""));
        }
        let all = self.neighbours();
        let mine: Vec<_> = all.into_iter().filter(|n| n.dev == dev).collect();
        let mine6: Vec<_> = self
            .neighbours6()
            .into_iter()
            .filter(|n| n.dev == dev)
            .collect();
        let text = iproute::ip_neigh(&mine) + &iproute::ip_neigh(&mine6);
        Ok(text.replace(&format!(" dev {dev}"), ""))
    }
}

/// `aa:bb:cc:dd:ee:ff`.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

//! The router's policy-routing commands and listings: `ip rule`, `ip route show table
//! N|main|local|all` and `ip route get DST [from S] [iif IF] [mark M]`, as iproute2 6.1 prints
//! them over a Linux 6 kernel.

use std::fmt::Write;

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use super::policy::{self, FlowKey};
use super::{Router, local};
use crate::listing::iproute;

/// `mark` as `ip route get` prints it: decimal below 16, else hex.
fn mark_text(mark: u32) -> String {
    match mark {
        0..=15 => mark.to_string(),
        m => format!("{m:#x}"),
    }
}

impl Router {
    /// `ip rule [show|list]`.
    pub(super) fn ip_rule_listing(&self) -> String {
        let exists = |d: &str| d == local::LO || self.ns.ifaces.iter().any(|f| f.name == d);
        self.ns.rules.listing(&exists)
    }

    /// `ip rule add|del ...`, `ip rule flush`.
    pub(super) fn ip_rule(&mut self, words: &[&str]) -> Result<String, String> {
        if words == ["flush"] {
            self.ns.rules.flush();
            return Ok(String::new());
        }
        let cmd = policy::parse_rule_cmd(words).map_err(|e| e.trim_end().to_string())?;
        self.ns
            .rules
            .apply(&cmd)
            .map(|_| String::new())
            .map_err(|e| e.trim_end().to_string())
    }

    /// The routes of one table as `ip route show table T` lists them; `tag` adds `table T`
    /// after the device, as `table all` does.
    fn table_lines(&self, id: u32, tag: bool, down: &dyn Fn(&str) -> bool) -> String {
        let names: Vec<String> = self.ns.ifaces.iter().map(|f| f.name.clone()).collect();
        if id == policy::LOCAL {
            return self.local_table(tag);
        }
        let table = match id {
            policy::MAIN => Some(&self.ns.routes),
            t => self.ns.tables.get(&t),
        };
        let Some(table) = table else {
            return String::new();
        };
        let text = iproute::ip_route_with(&table.listing(|d| names[d].clone()), down);
        if !tag || id == policy::MAIN {
            return text;
        }
        let label = format!(" table {}", policy::table_name(id));
        text.lines()
            .map(|l| {
                let mut line = l.to_string();
                if let Some(at) = line.find(" dev ") {
                    let end = line[at + 5..].find(' ').map_or(line.len(), |e| at + 5 + e);
                    line.insert_str(end, &label);
                }
                line + "\n"
            })
            .collect()
    }

    /// Table `local`: each address (`local`) and its subnet's broadcast, and `lo`'s, in the
    /// kernel's dump order (by address, then prefix length).
    fn local_table(&self, tag: bool) -> String {
        let table = if tag { " table local" } else { "" };
        let mut entries: Vec<(u32, u8, String)> = Vec::new();
        let lo = local::LOOPBACK;
        let lo_net = Ipv4Cidr::new(Ipv4Address::new(127, 0, 0, 0), 8);
        let mut add = |kind: &str, dst: Ipv4Cidr, dev: &str, src: Ipv4Address, host: bool| {
            let dst_text = match dst.prefix_len() {
                32 => dst.address().to_string(),
                _ => dst.to_string(),
            };
            let scope = if host { "host" } else { "link" };
            entries.push((
                dst.address().to_bits(),
                dst.prefix_len(),
                format!(
                    "{kind} {dst_text} dev {dev}{table} proto kernel scope {scope} src {src} \n"
                ),
            ));
        };
        for f in &self.ns.ifaces {
            for a in &f.addrs {
                let ip = a.address();
                add("local", Ipv4Cidr::new(ip, 32), &f.name, ip, true);
                if a.prefix_len() < 31 {
                    let bcast = a.broadcast().unwrap_or(ip);
                    add("broadcast", Ipv4Cidr::new(bcast, 32), &f.name, ip, false);
                }
            }
        }
        add("local", lo_net, local::LO, lo, true);
        add("local", Ipv4Cidr::new(lo, 32), local::LO, lo, true);
        let lo_bcast = Ipv4Address::new(127, 255, 255, 255);
        add(
            "broadcast",
            Ipv4Cidr::new(lo_bcast, 32),
            local::LO,
            lo,
            false,
        );
        entries.sort_by_key(|e| (e.0, e.1));
        entries.into_iter().map(|e| e.2).collect()
    }

    /// `ip route show table T` (`main`, `local`, `all` or a number).
    pub(super) fn ip_route_table(
        &self,
        which: &str,
        down: &dyn Fn(&str) -> bool,
    ) -> Result<String, String> {
        if which == "all" {
            let mut ids: Vec<u32> = self.ns.tables.keys().copied().collect();
            ids.extend([policy::MAIN, policy::LOCAL]);
            // The kernel walks its table hash (256 buckets) in bucket order.
            ids.sort_by_key(|&id| (id % 256, id));
            return Ok(ids
                .iter()
                .map(|&id| self.table_lines(id, true, down))
                .collect());
        }
        let id = policy::parse_table(which).map_err(|e| e.trim_end().to_string())?;
        if id != policy::MAIN && id != policy::LOCAL && !self.ns.tables.contains_key(&id) {
            return Err("Error: ipv4: FIB table does not exist.\nDump terminated".into());
        }
        Ok(self.table_lines(id, false, down))
    }

    /// `ip route get DST [from SRC] [iif IF] [mark M]`.
    pub(super) fn ip_route_get(&self, args: &[&str]) -> Result<String, String> {
        let mut it = args.iter();
        let dst_word = it
            .next()
            .ok_or("Command line is not complete. Try option \"help\"")?;
        let dst: Ipv4Address = dst_word
            .split('/')
            .next()
            .unwrap_or(dst_word)
            .parse()
            .map_err(|_| format!("Error: inet prefix is expected rather than \"{dst_word}\"."))?;
        let (mut from, mut iif, mut mark) = (None, None, 0u32);
        while let Some(&k) = it.next() {
            let v = it
                .next()
                .copied()
                .ok_or("Command line is not complete. Try option \"help\"")?;
            match k {
                "from" => {
                    from = Some(v.parse::<Ipv4Address>().map_err(|_| {
                        format!("Error: inet prefix is expected rather than \"{v}\".")
                    })?)
                }
                "iif" => {
                    if !self.ns.ifaces.iter().any(|f| f.name == v) {
                        return Err(format!("Cannot find device \"{v}\""));
                    }
                    iif = Some(v)
                }
                "mark" | "fwmark" => {
                    let n = match v.strip_prefix("0x") {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => v.parse().ok(),
                    };
                    mark = n.ok_or_else(|| format!("Error: argument \"{v}\" is wrong: mark"))?;
                }
                other => {
                    return Err(format!(
                        "Error: either \"to\" is duplicate, or \"{other}\" is a garbage."
                    ));
                }
            }
        }
        let from_text = from.map(|f| format!(" from {f}")).unwrap_or_default();
        let cache_iif = iif.map(|i| format!(" iif {i}")).unwrap_or_default();
        let mark_part = match mark {
            0 => String::new(),
            m => format!(" mark {}", mark_text(m)),
        };
        if self.loops_back(dst) {
            let mut out = format!("local {dst}{from_text} dev lo table local");
            if from.is_none() {
                let _ = write!(out, " src {dst}");
            }
            out.push_str(&mark_part);
            if iif.is_none() {
                out.push_str(" uid 0");
            }
            let _ = write!(out, " \n    cache <local>{cache_iif} \n");
            return Ok(out);
        }
        if iif.is_some() && !self.ns.sysctl.forwarding {
            return Err("RTNETLINK answers: No route to host".into());
        }
        let key = FlowKey {
            src: from,
            dst,
            mark,
            iif: Some(iif.unwrap_or(local::LO)),
            oif: None,
        };
        let (route, table, _) = self
            .ns
            .route_for(&key)
            .ok_or("RTNETLINK answers: Network is unreachable")?;
        let dev = &self.ns.ifaces[route.dev].name;
        let mut out = format!("{dst}{from_text}");
        if let Some(v) = route.via {
            let _ = write!(out, " via {v}");
        }
        let _ = write!(out, " dev {dev}");
        if table != policy::MAIN {
            let _ = write!(out, " table {}", policy::table_name(table));
        }
        if from.is_none()
            && let Some(src) = self.ns.source_on(route.dev, route.via.unwrap_or(dst))
        {
            let _ = write!(out, " src {src}");
        }
        out.push_str(&mark_part);
        if iif.is_none() {
            out.push_str(" uid 0");
        }
        let redirect = match iif {
            Some(i) if i == dev => " <redirect>",
            _ => "",
        };
        let _ = write!(out, " \n    cache{redirect}{cache_iif} \n");
        Ok(out)
    }
}

//! `brctl show` on a router: the bridges whose device is one of its interfaces (a Docker
//! host's `docker0` and `br-*`), with the ports that exist now.

use super::Router;
use crate::listing::brctl::{self, BrctlBridge};
use crate::sim::PortView;

impl Router {
    /// Marks interface `dev`'s bridge as running spanning tree (`stp: true`).
    pub fn set_bridge_stp(&mut self, dev: &str) {
        if let Some(i) = self.ns.ifaces.iter().position(|f| f.name == dev)
            && !self.stp_bridges.contains(&i)
        {
            self.stp_bridges.push(i);
        }
    }

    /// `brctl show [BR...]`.
    pub(super) fn brctl_show(&self, names: &[&str], views: &[PortView]) -> Result<String, String> {
        let (own, listed) = views.split_at(self.ns.ifaces.len().min(views.len()));
        let mut bridges = Vec::new();
        for (i, (f, v)) in self.ns.ifaces.iter().zip(own).enumerate() {
            if self.ns.links[i].gone {
                continue;
            }
            if !(self.members.iter().any(|m| m.master == i) || self.is_bridge_device(i, v)) {
                continue;
            }
            let interfaces = self
                .members
                .iter()
                .zip(listed)
                .filter(|(m, pv)| m.master == i && pv.present)
                .map(|(m, _)| m.name.clone())
                .collect();
            bridges.push(BrctlBridge {
                name: f.name.clone(),
                mac: f.mac,
                stp: self.stp_bridges.contains(&i),
                interfaces,
            });
        }
        if let Some(n) = names
            .iter()
            .find(|n| !bridges.iter().any(|b| b.name == **n))
        {
            return Err(format!("bridge {n} does not exist!"));
        }
        if !names.is_empty() {
            bridges.retain(|b| names.contains(&b.name.as_str()));
        }
        Ok(brctl::show(&bridges))
    }
}

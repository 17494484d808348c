//! Applying a planned [`Change`] to the running simulation: veths plugged and unplugged,
//! routers' rules and conntrack, programs started and stopped, hosts reconfigured.

use std::collections::BTreeMap;

use super::build::port_of;
use super::model::{Change, Endpoint, StampField};
use super::run::Runner;
use crate::bridge::Bridge;
use crate::docker::cli::{DockerHostView, RunState};
use crate::host::{Host, IfaceConfig};
use crate::link::LinkParams;
use crate::router::Router;
use crate::sim::{CmdId, CmdResult};

impl Runner<'_> {
    /// Starts a program that is not a step, known by `key`.
    pub(super) fn start_daemon(&mut self, key: &str, node: &str, argv: &[String]) {
        let Some(n) = self.sim.find_node(node) else {
            return;
        };
        let id = CmdId(self.next_daemon);
        self.next_daemon += 1;
        if self.sim.start_command(n, id, argv, "").is_ok() {
            self.daemons.push((key.to_string(), n, id));
        }
    }

    /// Applies one change. `background` are the steps' background commands (a container
    /// that stops ends those running in it); results of what ends go to `done`.
    pub(super) fn apply(
        &mut self,
        change: &Change,
        background: &[super::run::Background],
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) {
        match change {
            Change::Plug {
                iface,
                port,
                config,
            } => self.plug(iface, port, config.clone()),
            Change::Unplug { iface, port } => self.unplug(iface, port),
            Change::Gateway {
                host,
                gateway,
                gateway6,
            } => {
                self.with_host(host, |h, _| {
                    h.set_gateway(*gateway);
                    h.set_gateway6(*gateway6);
                });
            }
            Change::Announce { host, count, iface } => {
                let now = self.sim.now();
                self.with_host(host, |h, _| h.announce_from(now, *count, *iface));
            }
            Change::Names { host, names } => {
                self.with_host(host, |h, _| h.set_names(names.clone()));
            }
            Change::Iptables { router, argv } => {
                if let Some(n) = self.sim.find_node(router) {
                    self.sim.update::<Router, _>(n, |r| {
                        let _ = r.iptables(argv, "");
                    });
                }
            }
            Change::Nft { router, script } => {
                if let Some(n) = self.sim.find_node(router) {
                    self.sim.update::<Router, _>(n, |r| {
                        let _ = r.nft_load(script);
                    });
                }
            }
            Change::ConntrackForget {
                router,
                ips,
                udp_ports,
            } => {
                if let Some(n) = self.sim.find_node(router) {
                    self.sim
                        .update::<Router, _>(n, |r| r.conntrack_forget(ips, udp_ports));
                }
            }
            Change::Start { key, node, argv } => self.start_daemon(key, node, argv),
            Change::Stop { key } => {
                if let Some(i) = self.daemons.iter().position(|(k, _, _)| k == key) {
                    let (_, node, id) = self.daemons.remove(i);
                    self.sim.stop_command(node, id);
                    for (cmd, result) in self.sim.take_finished() {
                        // A daemon's result is not reported; a step's is kept.
                        if cmd != id {
                            done.insert(cmd, result);
                        }
                    }
                }
            }
            Change::StopCommands { node } => {
                let Some(n) = self.sim.find_node(node) else {
                    return;
                };
                for &super::run::Background { index, id, .. } in background {
                    let on = self.lab.steps[index].on.as_deref();
                    if on.map(|o| self.lab.node_of(o)) == Some(node.as_str())
                        && !done.contains_key(&id)
                    {
                        self.sim.stop_command(n, id);
                        done.extend(self.sim.take_finished());
                    }
                }
            }
            Change::Refuse { node, error } => match error {
                Some(e) => {
                    self.refused.insert(node.clone(), e.clone());
                }
                None => {
                    self.refused.remove(node);
                }
            },
            Change::DockerView {
                router,
                view,
                stamps,
            } => {
                let mut view: DockerHostView = (**view).clone();
                for s in stamps {
                    let Some(at) = self.step_at.get(s.step).copied().flatten() else {
                        continue;
                    };
                    let t = view.created.after(at.since_start());
                    match (s.field, view.states.get_mut(s.container)) {
                        (StampField::Created, _) => {
                            if let Some(c) = view.container_created.get_mut(s.container) {
                                *c = t;
                            }
                        }
                        (StampField::Started, Some(RunState::Running { started }))
                        | (StampField::Started, Some(RunState::Exited { started, .. })) => {
                            *started = t;
                        }
                        (StampField::Finished, Some(RunState::Exited { finished, .. })) => {
                            *finished = t;
                        }
                        _ => {}
                    }
                }
                if let Some(n) = self.sim.find_node(router) {
                    self.sim
                        .update::<Router, _>(n, |r| r.replace_cli("docker", Box::new(view)));
                }
            }
        }
    }

    fn with_host(&mut self, host: &str, f: impl FnOnce(&mut Host, crate::time::Instant)) {
        let now = self.sim.now();
        if let Some(n) = self.sim.find_node(host) {
            self.sim.update::<Host, _>(n, |h| f(h, now));
        }
    }

    fn bridge_port(&mut self, port: &Endpoint, present: bool) {
        let (Ok(p), Some(n)) = (port_of(&self.sim, port), self.sim.find_node(&port.node)) else {
            return;
        };
        self.sim.set_present(p, present);
        let local = self.sim.local_of(p);
        self.sim
            .update::<Bridge, _>(n, |b| b.set_port_present(local, present));
    }

    fn plug(&mut self, iface: &Endpoint, port: &Endpoint, config: IfaceConfig) {
        let (Ok(a), Ok(b)) = (port_of(&self.sim, iface), port_of(&self.sim, port)) else {
            return;
        };
        self.sim.disconnect(a);
        self.sim.set_present(a, true);
        self.bridge_port(port, true);
        let _ = self.sim.connect(a, b, LinkParams::default());
        let slot = slot_of(&iface.iface);
        self.with_host(&iface.node, |h, now| h.set_iface(now, slot, config));
    }

    fn unplug(&mut self, iface: &Endpoint, port: &Endpoint) {
        let Ok(a) = port_of(&self.sim, iface) else {
            return;
        };
        self.sim.disconnect(a);
        self.sim.set_present(a, false);
        self.bridge_port(port, false);
        let slot = slot_of(&iface.iface);
        self.with_host(&iface.node, |h, now| {
            let mut config = h.iface_config(slot).clone();
            config.cidr = None;
            h.set_iface(now, slot, config);
        });
    }
}

/// `eth3` → 3.
fn slot_of(iface: &str) -> usize {
    iface
        .strip_prefix("eth")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

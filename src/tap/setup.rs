//! The kernel side of a lab's TAPs: checked, announced, made, and undone.
//!
//! Safe by default: hoplab creates only `hl-` TAPs (which the kernel removes with the
//! descriptor), touches no device that is not a TAP, refuses routes that overlap the
//! kernel's own unless asked, and says what it will change before it changes anything.
//! Whatever fails half-way leaves nothing behind: what was made is unmade in reverse.

use std::net::Ipv4Addr;

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use super::device::TapDevice;
use super::netlink::{RouteV4, Rtnl};
use super::netns::NetNs;
use super::spec::{KernelSpec, TapSpec};

#[derive(Clone, Copy, Debug, Default)]
pub struct SetupOptions {
    /// Kernel-side routes may overlap the kernel's existing routes (`--allow-host-routes`).
    pub allow_host_routes: bool,
}

/// What went wrong, and whether it is the machine's privileges (for the CLI's message).
#[derive(Debug)]
pub struct SetupError {
    pub message: String,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn err(message: impl Into<String>) -> SetupError {
    SetupError {
        message: message.into(),
    }
}

/// The message for a process without CAP_NET_ADMIN.
pub fn privilege_message() -> String {
    "this lab plugs TAP devices into the kernel, which needs CAP_NET_ADMIN, and this process \
     lacks it. Run it with sudo (`sudo hoplab run ...`), or give the binary the capability \
     once: `sudo setcap cap_net_admin+ep $(command -v hoplab)`"
        .into()
}

/// Whether this process may create TAPs and configure the kernel side.
pub fn has_net_admin() -> bool {
    if std::env::var_os("HOPLAB_NO_NET_ADMIN").is_some_and(|v| v == "1") {
        return false;
    }
    super::cap_eff_has_net_admin(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

fn v4(a: Ipv4Address) -> Ipv4Addr {
    Ipv4Addr::from(a.octets())
}

/// The lines `apply` announces, in the order it acts.
pub fn plan(spec: &KernelSpec) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(ns) = &spec.netns {
        lines.push(format!(
            "create network namespace {ns} (removed at the end; enter it with `ip netns exec {ns} ...`)"
        ));
    }
    let within = spec
        .netns
        .as_ref()
        .map(|n| format!(" in {n}"))
        .unwrap_or_default();
    for t in &spec.taps {
        match t.existing {
            true => lines.push(format!(
                "attach to the existing TAP {}{within}, plugged into {}",
                t.name, t.plug
            )),
            false => lines.push(format!(
                "create TAP {}{within} (gone when hoplab exits), plugged into {}",
                t.name, t.plug
            )),
        }
        if !t.existing {
            lines.push(format!("disable IPv6 on {} (the lab is IPv4)", t.name));
        }
        lines.push(format!(
            "set {} mtu {} address {} up",
            t.name,
            t.mtu,
            crate::wire::Mac(t.mac)
        ));
        if let Some(ip) = t.ip {
            lines.push(format!("add address {ip} to {}", t.name));
        }
        for r in &t.routes {
            lines.push(format!("add route {r} dev {}", t.name));
        }
    }
    lines
}

/// Something made on an existing TAP, unmade when the lab ends.
enum Undo {
    Address(u32, Ipv4Addr, u8),
    Route(RouteV4),
    Link {
        index: u32,
        up: bool,
        mtu: u32,
        mac: Option<[u8; 6]>,
    },
}

/// The kernel side while the lab runs; dropping it undoes everything.
pub struct KernelSide {
    /// The TAPs, in the lab's order (the `kernel` node's port order).
    pub devices: Vec<TapDevice>,
    netns: Option<NetNs>,
    undo: Vec<Undo>,
}

impl KernelSide {
    pub fn netns(&self) -> Option<&NetNs> {
        self.netns.as_ref()
    }

    /// Runs `f` in the lab's namespace, or here.
    fn within<R: Send>(netns: Option<&NetNs>, f: impl FnOnce() -> R + Send) -> Result<R, String> {
        match netns {
            Some(ns) => ns
                .run(f)
                .map_err(|e| format!("cannot enter namespace {}: {e}", ns.name())),
            None => Ok(f()),
        }
    }
}

impl Drop for KernelSide {
    fn drop(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        if !undo.is_empty() {
            let _ = KernelSide::within(self.netns.as_ref(), move || {
                let Ok(mut rtnl) = Rtnl::open() else { return };
                for u in undo.into_iter().rev() {
                    let _ = match u {
                        Undo::Address(index, a, p) => rtnl.del_address(index, a, p),
                        Undo::Route(r) => rtnl.del_route(&r),
                        Undo::Link {
                            index,
                            up,
                            mtu,
                            mac,
                        } => rtnl.set_link(index, Some(up), Some(mtu), mac),
                    };
                }
            });
        }
        // Closing a created TAP's descriptor removes it (and its addresses and routes).
        self.devices.clear();
        if let Some(mut ns) = self.netns.take() {
            let _ = ns.remove();
        }
    }
}

/// Whether two prefixes share addresses.
fn overlaps(a: Ipv4Cidr, b: Ipv4Cidr) -> bool {
    let p = a.prefix_len().min(b.prefix_len());
    Ipv4Cidr::new(a.address(), p).network() == Ipv4Cidr::new(b.address(), p).network()
}

/// The routes a TAP adds to the kernel: its connected prefix, then its `routes:`.
fn new_routes(t: &TapSpec) -> Vec<Ipv4Cidr> {
    t.ip.map(|c| c.network())
        .into_iter()
        .chain(t.routes.iter().map(|r| r.dst))
        .collect()
}

/// Makes the kernel side: the namespace, the TAPs, their settings, addresses and routes.
pub fn apply(spec: &KernelSpec, opts: SetupOptions) -> Result<KernelSide, SetupError> {
    if !has_net_admin() {
        return Err(err(privilege_message()));
    }
    let netns = match &spec.netns {
        Some(name) => Some(NetNs::create(name).map_err(|e| {
            err(match e.kind() {
                std::io::ErrorKind::AlreadyExists => format!(
                    "network namespace {name} already exists: is this lab running already? If not, remove the stale one with `ip netns del {name}`"
                ),
                _ => format!("cannot create network namespace {name}: {e}"),
            })
        })?),
        None => None,
    };
    let mut side = KernelSide {
        devices: Vec::new(),
        netns,
        undo: Vec::new(),
    };
    let made = KernelSide::within(side.netns.as_ref(), || make(spec, opts)).map_err(err)?;
    match made {
        Ok((devices, undo)) => {
            side.devices = devices;
            side.undo = undo;
            Ok(side)
        }
        Err((e, devices, undo)) => {
            side.devices = devices;
            side.undo = undo;
            drop(side);
            Err(err(e))
        }
    }
}

type Made = (Vec<TapDevice>, Vec<Undo>);

/// The work of `apply` in the TAPs' namespace. On failure, what was made so far comes back
/// with the error so it can be unmade.
#[allow(clippy::type_complexity)]
fn make(
    spec: &KernelSpec,
    opts: SetupOptions,
) -> Result<Made, (String, Vec<TapDevice>, Vec<Undo>)> {
    let mut devices = Vec::new();
    let mut undo = Vec::new();
    let fail = |e: String, d: Vec<TapDevice>, u: Vec<Undo>| Err((e, d, u));
    let mut rtnl = match Rtnl::open() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot open rtnetlink: {e}"), devices, undo),
    };
    // Check everything before changing anything.
    let existing_routes = match rtnl.routes_v4() {
        Ok(r) => r,
        Err(e) => {
            return fail(
                format!("cannot list the kernel's routes: {e}"),
                devices,
                undo,
            );
        }
    };
    for t in &spec.taps {
        match rtnl.link_by_name(&t.name) {
            Ok(Some(link)) if link.kind.as_deref() != Some("tun") => {
                return fail(
                    format!(
                        "{} exists and is a {} device, not a TAP: hoplab does not touch it",
                        t.name,
                        link.kind.as_deref().unwrap_or("physical or loopback")
                    ),
                    devices,
                    undo,
                );
            }
            Ok(Some(_)) if !t.existing => {
                return fail(
                    format!(
                        "a device named {} already exists (another hoplab, or a TAP someone made): choose another name, or set `existing: true` to attach to it",
                        t.name
                    ),
                    devices,
                    undo,
                );
            }
            Ok(None) if t.existing => {
                return fail(
                    format!(
                        "there is no TAP named {} to attach to (`existing: true`): make one with `sudo ip tuntap add {} mode tap user $USER`",
                        t.name, t.name
                    ),
                    devices,
                    undo,
                );
            }
            Err(e) => return fail(format!("cannot look up {}: {e}", t.name), devices, undo),
            _ => {}
        }
        if opts.allow_host_routes {
            continue;
        }
        for new in new_routes(t) {
            let clash = existing_routes.iter().find(|r| {
                let old = Ipv4Cidr::new(Ipv4Address::from(r.dst.octets()), r.prefix);
                // Every route overlaps a default route; only a default one clashes with it.
                (r.prefix > 0 || new.prefix_len() == 0) && overlaps(old, new)
            });
            if let Some(r) = clash {
                return fail(
                    format!(
                        "the route {new} for {} overlaps the kernel's route {}/{}: traffic of this machine could go into the lab. Change the lab's addresses, run it in its own namespace (`kernel: {{netns: NAME}}`), or pass --allow-host-routes",
                        t.name, r.dst, r.prefix
                    ),
                    devices,
                    undo,
                );
            }
        }
    }
    for t in &spec.taps {
        let device = match TapDevice::open(&t.name) {
            Ok(d) => d,
            Err(e) => return fail(e, devices, undo),
        };
        devices.push(device);
        let link = match rtnl.link_by_name(&t.name) {
            Ok(Some(l)) => l,
            Ok(None) => return fail(format!("{} vanished", t.name), devices, undo),
            Err(e) => return fail(format!("cannot look up {}: {e}", t.name), devices, undo),
        };
        if t.existing {
            undo.push(Undo::Link {
                index: link.index,
                up: link.up,
                mtu: link.mtu,
                mac: link.mac,
            });
        }
        if !t.existing {
            // The lab is IPv4: keep the kernel's IPv6 chatter (router solicitations, MLD)
            // off the lab's wires. Written from this thread, the sysctl is this namespace's.
            let path = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", t.name);
            let _ = std::fs::write(path, "1");
        }
        if let Err(e) = rtnl.set_link(link.index, Some(true), Some(t.mtu), Some(t.mac.0)) {
            return fail(format!("cannot set up {}: {e}", t.name), devices, undo);
        }
        if let Some(ip) = t.ip {
            let (a, p) = (v4(ip.address()), ip.prefix_len());
            if let Err(e) = rtnl.add_address(link.index, a, p) {
                return fail(format!("cannot add {ip} to {}: {e}", t.name), devices, undo);
            }
            if t.existing {
                undo.push(Undo::Address(link.index, a, p));
            }
        }
        for r in &t.routes {
            let route = RouteV4 {
                dst: v4(r.dst.address()),
                prefix: r.dst.prefix_len(),
                gateway: Some(v4(r.via)),
                oif: Some(link.index),
                table: 254,
            };
            if let Err(e) = rtnl.add_route(&route) {
                let why = match e.raw_os_error() {
                    // As `ip route add` would: the table already has this very route.
                    Some(libc::EEXIST) => format!(
                        "the host already has a route to {} in its main table \
                         (hoplab adds routes, it never replaces them)",
                        r.dst
                    ),
                    _ => e.to_string(),
                };
                return fail(
                    format!("cannot add route {r} dev {}: {why}", t.name),
                    devices,
                    undo,
                );
            }
            if t.existing {
                undo.push(Undo::Route(route));
            }
        }
    }
    Ok((devices, undo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn overlap_is_sharing_addresses() {
        assert!(overlaps(cidr("10.0.0.0/8"), cidr("10.1.0.0/16")));
        assert!(overlaps(cidr("10.1.0.0/16"), cidr("10.0.0.0/8")));
        assert!(!overlaps(cidr("10.0.0.0/16"), cidr("10.1.0.0/16")));
        assert!(overlaps(cidr("0.0.0.0/0"), cidr("192.0.2.0/24")));
    }
}

//! `taps:` and `kernel:` in a lab: TAP devices that plug a bridge port or a router's
//! interface into the host kernel.
//!
//! A TAP compiles into the generic topology: the `kernel` node gets a port named after the
//! TAP, linked to what the TAP plugs into. Everything about the real device (creating it,
//! its kernel-side address and routes, the namespace) is the edge's (`crate::tap`); here it
//! is only checked and resolved into the edge's `KernelSpec`, and a run is plugged into the
//! edge (`attach`).

use schemars::JsonSchema;
use serde::Deserialize;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::error::Errors;
use super::raw::{RawLink, S};
use super::schema::forms;
pub use crate::tap::spec::{KernelRoute, KernelSpec, TapSpec};

/// A TAP device: a real interface of the host kernel whose other end is a port of the lab.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Tap")]
pub struct RawTap {
    /// The device's name in the kernel, at most 15 characters. A TAP hoplab creates starts
    /// with `hl-`; the kernel removes it when hoplab exits.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// What it plugs into: a router's or host's interface no link uses (`dockerhost:eth0`),
    /// or a bridge port (`docker0:hl-tap0`, made if the bridge does not list it).
    #[schemars(with = "String")]
    pub plug: S<String>,
    /// The TAP's MTU, and its link's (default 1500; 68-65535).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// The kernel side's MAC (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<S<String>>,
    /// The kernel side's IPv4 address with prefix, e.g. 192.0.2.1/24.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ip: Option<S<String>>,
    /// Kernel-side routes into the lab through this TAP: `172.17.0.0/16 via 192.0.2.10`,
    /// `default via 192.0.2.10`. Refused where they overlap the kernel's own routes, unless
    /// `--allow-host-routes`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub routes: Vec<S<String>>,
    /// Attach to an existing persistent TAP (`ip tuntap add NAME mode tap user ME`) instead
    /// of creating one: it stays when hoplab exits; what hoplab set on it is undone.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub existing: Option<S<bool>>,
}

/// The kernel side of the lab's TAPs.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Kernel")]
pub struct RawKernel {
    /// A network namespace hoplab creates for the TAPs (as `ip netns add NAME` does) and
    /// deletes when the lab ends; `on: kernel` steps run in it, and `ip netns exec NAME ...`
    /// enters it from a shell. Without it the TAPs are in hoplab's own namespace.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub netns: Option<S<String>>,
    /// How late a frame from the kernel may enter the lab before the run summary warns
    /// (default 50ms). Informational only: it never fails a lab.
    #[serde(default)]
    #[schemars(with = "Option<forms::Duration>")]
    pub lag_warn: Option<S<String>>,
}

/// The interface names Linux accepts (`dev_valid_name`): 1-15 bytes, no `/`, `:` or space.
fn valid_ifname(name: &str) -> bool {
    (1..16).contains(&name.len())
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.chars().any(char::is_whitespace)
}

fn parse_route(text: &str) -> Result<KernelRoute, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [dst, "via", via] = words.as_slice() else {
        return Err(format!(
            "'{text}' is not a route: write DEST via GATEWAY (172.17.0.0/16 via 192.0.2.10, or default via 192.0.2.10)"
        ));
    };
    let dst = match *dst {
        "default" => Ipv4Cidr::new(Ipv4Address::UNSPECIFIED, 0),
        d => d
            .parse::<Ipv4Cidr>()
            .map_err(|_| format!("'{d}' is not a prefix such as 172.17.0.0/16"))?,
    };
    if dst.network() != dst {
        return Err(format!(
            "'{}' has host bits set: the prefix is {}",
            words[0],
            dst.network()
        ));
    }
    let via = via
        .parse::<Ipv4Address>()
        .map_err(|_| format!("'{via}' is not an IPv4 gateway"))?;
    Ok(KernelRoute { dst, via })
}

/// Checks `taps:` and `kernel:`, and gives the links that join each TAP's `kernel` port to
/// what it plugs into (resolved with the lab's other links). `seed` draws MACs not given.
pub fn resolve(
    taps: &[RawTap],
    kernel: Option<&RawKernel>,
    errs: &mut Errors,
    mac_for: impl Fn(&str) -> EthernetAddress,
) -> (KernelSpec, Vec<RawLink>) {
    let mut spec = KernelSpec::default();
    let mut links = Vec::new();
    if let Some(k) = kernel {
        if let Some(ns) = &k.netns {
            if !valid_ifname(&ns.value) || ns.value.starts_with('.') {
                errs.at(
                    ns.referenced,
                    "netns",
                    format!("'{}' is not a usable namespace name", ns.value),
                );
            }
            spec.netns = Some(ns.value.clone());
        }
        if let Some(d) = &k.lag_warn {
            match crate::time::Duration::parse(&d.value) {
                Ok(x) => spec.lag_warn = Some(x),
                Err(e) => errs.at(d.referenced, "lag_warn", e),
            }
        }
        if taps.is_empty() {
            let loc = k.netns.as_ref().map(|n| n.referenced);
            if let Some(loc) = loc {
                errs.at(
                    loc,
                    "kernel",
                    "`kernel:` needs at least one TAP under `taps:`",
                );
            }
        }
    }
    for t in taps {
        let name = &t.name.value;
        let existing = t.existing.as_ref().is_some_and(|e| e.value);
        if !valid_ifname(name) {
            errs.at(
                t.name.referenced,
                "name",
                format!(
                    "'{name}' is not an interface name (1-15 characters, no '/', ':' or spaces)"
                ),
            );
        } else if !existing && !name.starts_with("hl-") {
            errs.at(
                t.name.referenced,
                "name",
                format!(
                    "a TAP hoplab creates is named hl-...: '{name}' could be another program's device (use hl-{}, or `existing: true` to attach to a persistent TAP you made)",
                    name.trim_start_matches("hl-")
                ),
            );
        }
        if spec.taps.iter().any(|s: &TapSpec| s.name == *name) {
            errs.at(t.name.referenced, "name", format!("duplicate TAP '{name}'"));
            continue;
        }
        let mtu = t
            .mtu
            .as_ref()
            .map_or(1500, |m| super::model::checked_mtu(m, errs));
        let mac = match &t.mac {
            Some(m) => match m.value.parse::<EthernetAddress>() {
                Ok(mac) if mac.is_unicast() => mac,
                _ => {
                    errs.at(
                        m.referenced,
                        "mac",
                        format!("'{}' is not a unicast MAC address", m.value),
                    );
                    EthernetAddress([2, 0, 0, 0, 0, 1])
                }
            },
            None => mac_for(&format!("kernel:{name}")),
        };
        let ip =
            t.ip.as_ref()
                .and_then(|ip| match ip.value.parse::<Ipv4Cidr>() {
                    Ok(c) => Some(c),
                    Err(_) => {
                        errs.at(
                            ip.referenced,
                            "ip",
                            format!(
                                "'{}' is not an IPv4 address with prefix, e.g. 192.0.2.1/24",
                                ip.value
                            ),
                        );
                        None
                    }
                });
        let mut routes = Vec::new();
        for r in &t.routes {
            match parse_route(&r.value) {
                Ok(route) => {
                    let on_link = ip.is_some_and(|c| c.contains_addr(&route.via));
                    if !on_link {
                        errs.at(
                            r.referenced,
                            "routes",
                            format!(
                                "gateway {} is not on the TAP's subnet{}",
                                route.via,
                                ip.map(|c| format!(" ({})", c.network()))
                                    .unwrap_or_else(|| {
                                        " (give the TAP an `ip:` on the gateway's subnet)".into()
                                    })
                            ),
                        );
                    }
                    routes.push(route);
                }
                Err(e) => errs.at(r.referenced, "routes", e),
            }
        }
        let plug = match super::model::parse_endpoint(&t.plug.value) {
            Some(ep) => ep,
            None => {
                errs.at(
                    t.plug.referenced,
                    "plug",
                    format!("'{}' is not node:interface or bridge:port", t.plug.value),
                );
                continue;
            }
        };
        links.push(RawLink {
            a: Some(S {
                value: format!("{}:{name}", crate::tap::kernel::NAME),
                referenced: t.name.referenced,
                defined: t.name.defined,
            }),
            b: Some(S {
                value: t.plug.value.clone(),
                referenced: t.plug.referenced,
                defined: t.plug.defined,
            }),
            // An MTU out of range is reported once, at the TAP's own `mtu:`.
            mtu: super::model::MTU_RANGE.contains(&mtu).then_some(S {
                value: mtu,
                referenced: t.name.referenced,
                defined: t.name.defined,
            }),
            ..RawLink::default()
        });
        spec.taps.push(TapSpec {
            name: name.clone(),
            plug,
            mtu,
            mac,
            ip,
            routes,
            existing,
        });
    }
    (spec, links)
}

// ---------------------------------------------------------------------------------------
// Plugging a run into the edge: here, above both the runner and `crate::tap`, so that the
// edge knows nothing of labs or runners.

/// Whether `lab`'s TAPs can be attached here at all (the platform, CAP_NET_ADMIN), asked
/// before anything is made so a refused run leaves no files behind either.
pub fn preflight(lab: &super::model::Lab) -> Result<(), String> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    return match crate::tap::setup::has_net_admin() {
        true => Ok(()),
        false => Err(crate::tap::setup::privilege_message()),
    };
    #[cfg(not(target_os = "linux"))]
    Err("TAP devices are Linux-only: this lab runs on Linux".into())
}

/// Makes the kernel side of `lab`'s TAPs and has `runner` run the lab through them in real
/// time. `announce` gets each change before it is made. Without CAP_NET_ADMIN, or when
/// anything is refused, nothing is left behind and the error says why.
#[cfg(target_os = "linux")]
pub fn attach<'l>(
    runner: &mut super::run::Runner<'l>,
    lab: &super::model::Lab,
    opts: crate::tap::SetupOptions,
    announce: &mut dyn FnMut(&str),
) -> Result<(), String> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    preflight(lab)?;
    for line in crate::tap::setup::plan(&lab.kernel) {
        announce(&line);
    }
    let side = crate::tap::setup::apply(&lab.kernel, opts).map_err(|e| e.message)?;
    let plugs = lab.kernel.taps.iter().map(|t| t.plug.to_string()).collect();
    let edge = crate::tap::driver::Edge::new(side, plugs, &runner.sim)
        .map_err(|e| format!("cannot wait on the TAPs: {e}"))?;
    runner.set_realtime(Box::new(edge));
    Ok(())
}

/// TAP devices are Linux's: elsewhere a lab with TAPs does not run.
#[cfg(not(target_os = "linux"))]
pub fn attach<'l>(
    _runner: &mut super::run::Runner<'l>,
    lab: &super::model::Lab,
    _opts: crate::tap::SetupOptions,
    _announce: &mut dyn FnMut(&str),
) -> Result<(), String> {
    preflight(lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_as_ip_route_writes_them() {
        let r = parse_route("172.17.0.0/16 via 192.0.2.10").unwrap();
        assert_eq!(r.to_string(), "172.17.0.0/16 via 192.0.2.10");
        let d = parse_route("default via 192.0.2.10").unwrap();
        assert_eq!(d.to_string(), "default via 192.0.2.10");
        assert!(parse_route("172.17.0.1/16 via 192.0.2.10").is_err());
        assert!(parse_route("172.17.0.0/16 dev hl-x").is_err());
        assert!(parse_route("172.17.0.0/16 via nowhere").is_err());
    }

    #[test]
    fn a_bad_tap_mtu_is_one_error_at_its_own_field() {
        let text = "version: 1\nname: x\nduration: 2s\nbridges:\n  - name: br0\ntaps:\n  - name: hl-x\n    plug: br0:p1\n    mtu: 20\n";
        let errs = crate::scenario::parse(text, "lab.yaml").unwrap_err().0;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].line, errs[0].field.as_str()), (9, "mtu"));
        assert_eq!(errs[0].message, "MTU 20 is out of range (68-65535)");
    }

    #[test]
    fn interface_names_follow_the_kernel() {
        assert!(valid_ifname("hl-lan0"));
        assert!(!valid_ifname("hl-a-very-long-name"));
        assert!(!valid_ifname("hl/x"));
        assert!(!valid_ifname(""));
    }
}

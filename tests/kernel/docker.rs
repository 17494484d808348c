//! Docker labs with the kernel as the oracle: hoplab builds the lab (`docker:` and any
//! low-level hosts, bridges and links), and the namespace testbed is built from hoplab's own
//! model of it: one namespace per router (the Docker host), host (a container, `remote`) and
//! free-standing bridge; each bridge whose device is a router's interface (`docker0`,
//! `br-<id>`) a Linux bridge in that router's namespace, with the same MAC; each link a veth
//! pair, a bridge's end enslaved to it; the same addresses, MACs, MTUs, routes and sysctls.
//! The rules are what `iptables-save` and `ip6tables-save` print on each router in hoplab
//! at the start of the run, loaded with `iptables-restore -w` and `ip6tables-restore -w`.
//! IPv6 addresses are added without duplicate address detection (`nodad`): hoplab's are
//! usable at once.
//!
//! A bridge's `vlan_filtering` and ports' VLANs become `bridge vlan` commands, a router's
//! VLAN devices `ip link add link PARENT ... type vlan`; a lab with VLANs runs with IPv6 off,
//! so the kernel's bridges learn only what hoplab's do.
//!
//! What the testbed does not have: Docker's daemons (no `docker-proxy`, no embedded DNS).
//! `bridge-nf-call-iptables` is off in every namespace, then on where hoplab's router turns
//! it on, as a Docker host does with ICC off or without the proxy.

use std::collections::BTreeSet;
use std::process::Command;

use hoplab::scenario::model::{BridgeSpec, Endpoint, Lab};

use super::{Out, Step, Testbed, must, run_lab, run_steps, step_outs, steps_yaml};

/// What one Docker probe gave in both worlds, and the rules both ran with.
pub struct DockerRun {
    pub kernel: Vec<Out>,
    pub hoplab: Vec<Out>,
    /// `iptables-save` on each router in hoplab at the start, as loaded into the kernel.
    pub rules: Vec<(String, String)>,
    /// `ip6tables-save` on each router, likewise.
    pub rules6: Vec<(String, String)>,
}

/// Runs a Docker lab (`lab`: a lab file without `steps:`) with these steps in hoplab, then in
/// a namespace testbed built from the same lab and loaded with hoplab's rules. `case` names
/// the namespaces (unique per case and process); they are deleted even when a case fails.
pub fn docker_steps(case: &str, lab: &str, steps: &[Step]) -> DockerRun {
    let model = parse(&format!("{lab}steps: []\n"));
    // A container without a stack of its own (`network_mode: host`, `container:NAME`) runs
    // its steps in the namespace of the node whose stack it shares.
    let node_of = |on: &'static str| -> &'static str {
        let node = model.node_of(on);
        assert!(
            model.hosts.iter().any(|h| h.name == node)
                || model.routers.iter().any(|r| r.name == node)
                || model
                    .bridges
                    .iter()
                    .any(|b| b.name == node && b.host.is_none()),
            "{case}: a step on {on}: the kernel testbed runs steps on hosts, containers, \
             routers and free-standing bridges only"
        );
        if node == on {
            on
        } else {
            Box::leak(node.to_string().into_boxed_str())
        }
    };
    let kernel_steps: Vec<Step> = steps
        .iter()
        .map(|s| match *s {
            Step::Http(on, port) => Step::Http(node_of(on), port),
            Step::Http6(on, port) => Step::Http6(node_of(on), port),
            Step::Bg(on, cmd, port) => Step::Bg(node_of(on), cmd, port),
            Step::Run(on, cmd, input) => Step::Run(node_of(on), cmd, input),
            Step::Client(on, cmd) => Step::Client(node_of(on), cmd),
            Step::Show(on, cmd) => Step::Show(node_of(on), cmd),
            Step::Pause => Step::Pause,
        })
        .collect();
    let first_host = model
        .hosts
        .first()
        .map_or("dockerhost", |h| h.name.as_str());
    let mut y = format!("{lab}steps:\n");
    for r in &model.routers {
        y += &format!("  - {{on: {}, show: iptables-save}}\n", r.name);
    }
    for r in &model.routers {
        y += &format!("  - {{on: {}, show: ip6tables-save}}\n", r.name);
    }
    y += &steps_yaml(steps, first_host);
    let report = run_lab(&y);
    let n = model.routers.len();
    let saved = |skip: usize| -> Vec<(String, String)> {
        model
            .routers
            .iter()
            .map(|r| r.name.clone())
            .zip(step_outs(&report, skip, n, &y).into_iter().map(|o| o.text))
            .collect()
    };
    let (rules, rules6) = (saved(0), saved(n));
    let hoplab = step_outs(&report, 2 * n, steps.len(), &y);
    let tb = docker_testbed(case, &model, &rules, &rules6);
    let kernel = run_steps(&tb, &kernel_steps);
    DockerRun {
        kernel,
        hoplab,
        rules,
        rules6,
    }
}

/// Both hosts' rules as they were loaded: each router's `iptables-save`, then its
/// `ip6tables-save`.
fn saved(r: &DockerRun) -> String {
    r.rules
        .iter()
        .chain(&r.rules6)
        .map(|(node, save)| format!("{node}:\n{save}"))
        .collect()
}

/// Runs the steps in both worlds; None when skipped. `KD_SHOW=1` prints both worlds' outputs.
pub fn both(case: &str, lab: &str, steps: &[Step]) -> Option<DockerRun> {
    if !super::privileged(case) {
        return None;
    }
    let r = docker_steps(case, lab, steps);
    if std::env::var_os("KD_SHOW").is_some() {
        eprintln!(
            "{case}\n--- kernel:\n{}\n--- hoplab:\n{}",
            super::dump(steps, &r.kernel),
            super::dump(steps, &r.hoplab)
        );
    }
    Some(r)
}

/// Runs the steps in both worlds, reads both with `read` and asserts they agree; returns
/// the kernel's reading (None when skipped).
pub fn probe<T: PartialEq + std::fmt::Debug>(
    case: &str,
    lab: &str,
    steps: &[Step],
    read: impl Fn(&[Out]) -> T,
) -> Option<T> {
    let r = both(case, lab, steps)?;
    let (k, h) = (read(&r.kernel), read(&r.hoplab));
    assert_eq!(
        k,
        h,
        "{case}: kernel and hoplab disagree\n--- kernel:\n{}\n--- hoplab:\n{}\n--- rules:\n{}",
        super::dump(steps, &r.kernel),
        super::dump(steps, &r.hoplab),
        saved(&r)
    );
    Some(k)
}

/// `iptables -nvL` (or `ip6tables -nvL`) rules' packet counts and targets (byte counts
/// differ between the two stacks: SYN options).
pub fn listing_packets(o: &Out) -> Vec<String> {
    o.text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                [pkts, _bytes, rest @ ..] if pkts.chars().all(|c| c.is_ascii_digit()) => {
                    Some(format!("{pkts} {}", rest.join(" ")))
                }
                _ => None,
            }
        })
        .collect()
}

fn parse(y: &str) -> Lab {
    hoplab::scenario::parse(y, "kd-docker.yaml").unwrap_or_else(|e| panic!("{e}\n{y}"))
}

/// FNV-1a: a short, stable tag of a case's whole name for its namespaces' names.
fn tag(case: &str) -> u32 {
    case.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A MAC as iproute2 writes it.
fn mac(b: [u8; 6]) -> String {
    b.map(|x| format!("{x:02x}")).join(":")
}

/// The interface that is a bridge's device: on its router, the interface of the bridge's
/// name, or else the one that shares the bridge's MAC (`docker0` for the default network's
/// bridge); a free-standing bridge's is its name.
fn device(lab: &Lab, b: &BridgeSpec) -> String {
    let Some(r) = b
        .host
        .as_ref()
        .and_then(|h| lab.routers.iter().find(|r| r.name == *h))
    else {
        return b.name.clone();
    };
    r.ifaces
        .iter()
        .find(|i| i.name == b.name)
        .or_else(|| r.ifaces.iter().find(|i| i.mac == b.mac))
        .map_or_else(|| b.name.clone(), |i| i.name.clone())
}

/// Where a link's end lives in the testbed: namespace node, interface, its MAC and the
/// bridge device it is a port of.
struct End {
    node: String,
    iface: String,
    mac: Option<String>,
    master: Option<String>,
    hairpin: bool,
}

fn end(lab: &Lab, ep: &Endpoint) -> End {
    if let Some(b) = lab.bridges.iter().find(|b| b.name == ep.node) {
        return End {
            node: b.host.clone().unwrap_or_else(|| b.name.clone()),
            iface: ep.iface.clone(),
            mac: b
                .ports
                .iter()
                .find(|(p, _)| *p == ep.iface)
                .map(|(_, m)| mac(m.0)),
            master: Some(device(lab, b)),
            hairpin: b.hairpin.contains(&ep.iface),
        };
    }
    let ifaces = lab
        .hosts
        .iter()
        .find(|h| h.name == ep.node)
        .map(|h| &h.ifaces)
        .or_else(|| {
            lab.routers
                .iter()
                .find(|r| r.name == ep.node)
                .map(|r| &r.ifaces)
        })
        .unwrap_or_else(|| panic!("{ep}: no such node"));
    End {
        node: ep.node.clone(),
        iface: ep.iface.clone(),
        mac: ifaces
            .iter()
            .find(|i| i.name == ep.iface)
            .map(|i| mac(i.mac.0)),
        master: None,
        hairpin: false,
    }
}

/// Builds the lab in network namespaces; see the module's documentation.
pub fn docker_testbed(
    case: &str,
    lab: &Lab,
    rules: &[(String, String)],
    rules6: &[(String, String)],
) -> Testbed {
    let mut tb = Testbed {
        prefix: format!("hd{:08x}{}", tag(case), std::process::id() % 100_000),
        nodes: Vec::new(),
    };
    let ip = |tb: &Testbed, node: &str, args: &str| {
        let ns = tb.ns(node);
        let mut argv = vec!["ip", "-n", &ns];
        argv.extend(args.split_whitespace());
        must(&argv);
    };
    let sysctl = |tb: &Testbed, node: &str, kv: &str| {
        must(&["ip", "netns", "exec", &tb.ns(node), "sysctl", "-qw", kv]);
    };
    // Namespaces: routers forward as their `forwarding` says; hosts and bridges do not.
    let mut spaces: Vec<(String, bool)> = Vec::new();
    spaces.extend(lab.routers.iter().map(|r| (r.name.clone(), r.forwarding)));
    spaces.extend(lab.hosts.iter().map(|h| (h.name.clone(), false)));
    spaces.extend(
        lab.bridges
            .iter()
            .filter(|b| b.host.is_none())
            .map(|b| (b.name.clone(), false)),
    );
    // A lab with VLANs compares FDBs: IPv6 is off, so the kernel's hosts send nothing
    // hoplab's (IPv4 only) do not, and its bridges learn what hoplab's learn.
    let vlans = lab
        .bridges
        .iter()
        .any(|b| b.vlan_filtering || !b.vlans.is_empty())
        || lab.routers.iter().any(|r| !r.vlans.is_empty());
    for (node, fwd) in &spaces {
        let ns = tb.ns(node);
        must(&["ip", "netns", "add", &ns]);
        tb.nodes.push(ns);
        if vlans {
            sysctl(&tb, node, "net.ipv6.conf.all.disable_ipv6=1");
            sysctl(&tb, node, "net.ipv6.conf.default.disable_ipv6=1");
        } else {
            // Link-local addresses usable at once, as hoplab's are (no DAD wait).
            sysctl(&tb, node, "net.ipv6.conf.all.accept_dad=0");
            sysctl(&tb, node, "net.ipv6.conf.default.accept_dad=0");
        }
        ip(&tb, node, "link set lo up");
        sysctl(
            &tb,
            node,
            &format!("net.ipv4.ip_forward={}", u8::from(*fwd)),
        );
    }
    // Bridges: a router's bridge device (docker0, br-<id>) in its namespace, a free-standing
    // bridge in its own.
    for b in &lab.bridges {
        let node = b.host.clone().unwrap_or_else(|| b.name.clone());
        let ageing = (b.ageing.as_secs_f64() * 100.0).round() as u64;
        // `vlan_filtering` only when on: a kernel built without VLAN filtering refuses
        // the option even as 0.
        let filtering = if b.vlan_filtering {
            " vlan_filtering 1"
        } else {
            ""
        };
        ip(
            &tb,
            &node,
            &format!(
                "link add {} address {} type bridge ageing_time {ageing}{filtering}",
                device(lab, b),
                mac(b.mac.0)
            ),
        );
        if b.host.is_none() {
            ip(&tb, &node, &format!("link set {} up", b.name));
        }
    }
    // Links: veth pairs; a bridge's end is enslaved to its device.
    for l in &lab.links {
        let (a, b) = (end(lab, &l.a), end(lab, &l.b));
        let (na, nb) = (tb.ns(&a.node), tb.ns(&b.node));
        must(&[
            "ip", "link", "add", &a.iface, "netns", &na, "type", "veth", "peer", "name", &b.iface,
            "netns", &nb,
        ]);
        for e in [&a, &b] {
            if let Some(mac) = &e.mac {
                ip(&tb, &e.node, &format!("link set {} address {mac}", e.iface));
            }
            ip(
                &tb,
                &e.node,
                &format!("link set {} mtu {}", e.iface, l.params.mtu),
            );
            if let Some(dev) = &e.master {
                ip(&tb, &e.node, &format!("link set {} master {dev}", e.iface));
                if e.hairpin {
                    ip(
                        &tb,
                        &e.node,
                        &format!("link set {} type bridge_slave hairpin on", e.iface),
                    );
                }
            }
            ip(&tb, &e.node, &format!("link set {} up", e.iface));
        }
    }
    // Ports' VLANs: each listed port (or the bridge device, `self`) leaves VLAN 1 and takes
    // its entries in the lab's order, as `bridge vlan` commands would give them.
    for b in &lab.bridges {
        let node = b.host.clone().unwrap_or_else(|| b.name.clone());
        for (port, table) in &b.vlans {
            let own = if *port == b.name { " self" } else { "" };
            let dev = if *port == b.name {
                device(lab, b)
            } else {
                port.clone()
            };
            let vlan = |args: &str| {
                must(&[
                    "ip",
                    "netns",
                    "exec",
                    &tb.ns(&node),
                    "sh",
                    "-c",
                    &format!("bridge vlan {args}"),
                ]);
            };
            vlan(&format!("del dev {dev} vid 1{own}"));
            for e in table.entries() {
                let pvid = if table.pvid() == Some(e.vid) {
                    " pvid"
                } else {
                    ""
                };
                let untagged = if e.untagged { " untagged" } else { "" };
                vlan(&format!("add dev {dev} vid {}{pvid}{untagged}{own}", e.vid));
            }
        }
    }
    // Addresses; a router's interface that is neither a link's end nor a bridge is a dummy.
    let ends: BTreeSet<(String, String)> = lab
        .links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .map(|e| (e.node.clone(), e.iface.clone()))
        .collect();
    let devices: BTreeSet<(String, String)> = lab
        .bridges
        .iter()
        .filter_map(|b| Some((b.host.clone()?, device(lab, b))))
        .collect();
    let nodes = lab
        .routers
        .iter()
        .map(|r| (&r.name, &r.ifaces))
        .chain(lab.hosts.iter().map(|h| (&h.name, &h.ifaces)));
    for (node, ifaces) in nodes {
        for i in ifaces {
            let key = (node.clone(), i.name.clone());
            if !ends.contains(&key) && !devices.contains(&key) {
                ip(
                    &tb,
                    node,
                    &format!("link add {} address {} type dummy", i.name, mac(i.mac.0)),
                );
            }
            if devices.contains(&key) {
                ip(&tb, node, &format!("link set {} mtu {}", i.name, i.mtu));
            }
            if let Some(c) = i.cidr {
                ip(&tb, node, &format!("addr add {c} dev {}", i.name));
            }
            for c in i.ipv6.iter().flatten() {
                ip(&tb, node, &format!("-6 addr add {c} dev {} nodad", i.name));
            }
            ip(&tb, node, &format!("link set {} up", i.name));
        }
    }
    // Routers' VLAN devices, on their parents, up.
    for r in &lab.routers {
        for v in &r.vlans {
            ip(
                &tb,
                &r.name,
                &format!(
                    "link add link {} name {} address {} mtu {} type vlan id {}",
                    v.parent,
                    v.name,
                    mac(v.mac.0),
                    v.mtu,
                    v.vid
                ),
            );
            if let Some(c) = v.cidr {
                ip(&tb, &r.name, &format!("addr add {c} dev {}", v.name));
            }
            ip(&tb, &r.name, &format!("link set {} up", v.name));
        }
    }
    // Routes.
    for h in &lab.hosts {
        if let Some(gw) = h.gateway {
            ip(&tb, &h.name, &format!("route add default via {gw}"));
        }
        if let Some(gw) = h.gateway6 {
            ip(&tb, &h.name, &format!("-6 route add default via {gw}"));
        }
    }
    let mut sysctls: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for r in &lab.routers {
        for rt in &r.routes {
            let op = match rt.op {
                hoplab::router::route::RouteOp::Add => "add",
                hoplab::router::route::RouteOp::Del => "del",
                hoplab::router::route::RouteOp::Replace => "replace",
            };
            let mut cmd = format!("route {op} {}", rt.dst);
            if let Some(via) = rt.via {
                cmd += &format!(" via {via}");
            }
            if let Some(dev) = &rt.dev {
                cmd += &format!(" dev {dev}");
            }
            if rt.metric != 0 {
                cmd += &format!(" metric {}", rt.metric);
            }
            ip(&tb, &r.name, &cmd);
        }
        for rt in &r.routes6 {
            let mut cmd = format!("-6 route add {}", rt.dst);
            if let Some(via) = rt.via {
                cmd += &format!(" via {via}");
            }
            if let Some(dev) = &rt.dev {
                cmd += &format!(" dev {dev}");
            }
            ip(&tb, &r.name, &cmd);
        }
        sysctls.push((r.name.clone(), r.sysctls.clone()));
    }
    // br_netfilter, where the module is loaded, calls iptables for bridged frames: off
    // everywhere, then on where hoplab's router turns it on (a Docker host with ICC off or
    // without the proxy), by the router's sysctls below.
    for (node, _) in &spaces {
        for key in ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"] {
            let path = format!("/proc/sys/net/bridge/{key}");
            let on = Command::new("ip")
                .args(["netns", "exec", &tb.ns(node), "cat", &path])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1");
            if on {
                sysctl(&tb, node, &format!("net.bridge.{key}=0"));
            }
        }
    }
    for (node, list) in &sysctls {
        for (k, v) in list {
            sysctl(&tb, node, &format!("{k}={v}"));
        }
    }
    // A bridge has carrier, and so its link-local address, only once linkwatch reports its
    // first port up (up to a second later); until then its neighbour solicitations are not
    // sent, and a first probe's packets wait a retransmission. Wait for every bridge device.
    if !vlans {
        for (node, dev) in &devices {
            let ns = tb.ns(node);
            for _ in 0..150 {
                let out = Command::new("ip")
                    .args(["-n", &ns, "-6", "addr", "show", "dev", dev, "scope", "link"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if out.contains("inet6 fe80") && !out.contains("tentative") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
    // The rules, as hoplab has them.
    let restores = rules
        .iter()
        .map(|(r, save)| ("iptables-restore -w", r, save))
        .chain(
            rules6
                .iter()
                .map(|(r, save)| ("ip6tables-restore -w", r, save)),
        );
    for (tool, r, save) in restores {
        let out = tb.shell(r, tool, save);
        assert_eq!(out.code, 0, "{r}: {tool}: {}\n--- input:\n{save}", out.text);
    }
    tb
}

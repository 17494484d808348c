//! VLAN subinterfaces of a router (`ip link add link eth0 name eth0.10 type vlan id 10`),
//! as the kernel's 8021q module makes them: a device of its own, with its addresses,
//! routes and neighbours, that sends through its parent with the VLAN's tag and receives
//! the frames tagged with it.
//!
//! The router's interfaces are indexed by device number, and a real interface's number is
//! its port in the simulation. A VLAN device takes a number after them; it has no port of
//! its own. This file is the one place that maps between the two: a frame received on a
//! port goes to the parent (untagged) or to the VLAN device of its tag (`receive_tagged`),
//! and a frame a device sends leaves by its port, tagged if it is a VLAN device
//! (`transmit`). A tag with no device for it is not for this host (the kernel marks it
//! `PACKET_OTHERHOST`): dropped.

use smoltcp::wire::EthernetAddress;

use super::{Router, RouterIface};
use crate::report::iproute::{self, LinkInfo};
use crate::sim::{Ctx, DropReason, Note, PacketTag, PortView};
use crate::wire::vlan::{Tci, VID_MAX, insert_tag, retag, tag};

/// A VLAN device as a lab declares it: the interface, its parent's name and the VLAN id.
#[derive(Clone, Debug)]
pub struct VlanConfig {
    pub iface: RouterIface,
    pub parent: String,
    pub vid: u16,
}

/// One VLAN device.
#[derive(Clone, Debug)]
pub(super) struct VlanDev {
    /// Its number among the router's interfaces.
    pub dev: usize,
    /// Its parent's number, which is the parent's port.
    pub parent: usize,
    pub vid: u16,
    /// Creation order: ifindexes are handed out in order and never reused.
    seq: u32,
    /// Administratively up (`ip link set DEV up`).
    pub up: bool,
    /// It was up once (a device never up shows `qdisc noop`).
    was_up: bool,
}

/// The router's VLAN devices and the count of its real interfaces.
#[derive(Clone, Debug, Default)]
pub(super) struct Vlans {
    /// Interfaces with a port of their own: numbers below this.
    pub ports: usize,
    devs: Vec<VlanDev>,
    next_seq: u32,
    /// Numbers of deleted VLAN devices, to be used again.
    free: Vec<usize>,
}

impl Vlans {
    pub fn new(ports: usize) -> Vlans {
        Vlans {
            ports,
            ..Vlans::default()
        }
    }

    /// The VLAN device numbered `dev`, if it is one.
    #[inline]
    pub fn get(&self, dev: usize) -> Option<&VlanDev> {
        if dev < self.ports {
            return None;
        }
        self.devs.iter().find(|v| v.dev == dev)
    }

    /// The device of VLAN `vid` on port `parent`.
    pub fn find(&self, parent: usize, vid: u16) -> Option<&VlanDev> {
        self.devs
            .iter()
            .find(|v| v.parent == parent && v.vid == vid)
    }
}

/// `ip link add|del|set ...` on a router, parsed (the words after `ip link`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkCmd {
    /// `add [link PARENT] [name] NAME type vlan [id N] ...`.
    AddVlan {
        link: Option<String>,
        name: Option<String>,
        /// `None`: no `id`; `args`: any VLAN option was given.
        id: Option<u16>,
        args: bool,
        mac: Option<EthernetAddress>,
        mtu: Option<u32>,
        up: bool,
    },
    /// `del|delete [dev] NAME`.
    Del(String),
    /// `set [dev] NAME up|down`.
    Set(String, bool),
}

/// iproute2's `invarg`: exit 255.
fn invarg(arg: &str, msg: &str) -> String {
    format!("Error: argument \"{arg}\" is wrong: {msg}")
}

/// `check_ifname`: 1-15 bytes, no `/`, `:` or white space.
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// `get_u16(..., 0)`, `get_u32(..., 0)`: decimal, `0x` hex or `0` octal, the whole word.
fn parse_num(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Parses `ip link add|del|delete|set ...` (the words after `ip link`) as iproute2 does
/// before it asks the kernel: its refusals, and what hoplab does not model, are errors of
/// the command line; what the router's state decides comes when it runs.
pub fn parse_link_cmd(words: &[&str]) -> Result<LinkCmd, String> {
    let no_dev = || "Not enough information: \"dev\" argument is required.".to_string();
    let (op, rest) = words.split_first().ok_or_else(no_dev)?;
    match *op {
        "add" => parse_add(rest),
        "del" | "delete" => {
            let rest: Vec<&str> = rest.iter().copied().filter(|w| *w != "dev").collect();
            match rest.as_slice() {
                [name] | [name, "type", _] => Ok(LinkCmd::Del(name.to_string())),
                [] => Err(no_dev()),
                _ => Err(format!(
                    "hoplab: `ip link {}` is not modelled; `ip link del DEV` is",
                    words.join(" ")
                )),
            }
        }
        "set" => {
            let rest: Vec<&str> = rest.iter().copied().filter(|w| *w != "dev").collect();
            match rest.as_slice() {
                [name, "up"] => Ok(LinkCmd::Set(name.to_string(), true)),
                [name, "down"] => Ok(LinkCmd::Set(name.to_string(), false)),
                [] => Err(no_dev()),
                _ => Err(format!(
                    "hoplab: `ip link {}` is not modelled on a router; `ip link set DEV up|down` \
                     of a VLAN device is",
                    words.join(" ")
                )),
            }
        }
        _ => Err(format!(
            "hoplab: `ip link {}` is not modelled on a router",
            words.join(" ")
        )),
    }
}

fn parse_add(words: &[&str]) -> Result<LinkCmd, String> {
    let (mut link, mut name, mut kind, mut mac, mut mtu, mut up) =
        (None, None, None, None, None, false);
    let incomplete = || "Command line is not complete. Try option \"help\"".to_string();
    let mut it = words.iter().copied();
    while let Some(w) = it.next() {
        match w {
            "link" => link = Some(it.next().ok_or_else(incomplete)?.to_string()),
            "name" | "dev" => {
                let n = it.next().ok_or_else(incomplete)?;
                if !valid_ifname(n) {
                    return Err(invarg(n, &format!("\"{w}\" not a valid ifname")));
                }
                name = Some(n.to_string());
            }
            "address" => {
                let m = it.next().ok_or_else(incomplete)?;
                mac = Some(
                    m.parse::<EthernetAddress>()
                        .map_err(|_| format!("\"{m}\" is invalid lladdr."))?,
                );
            }
            "mtu" => {
                let m = it.next().ok_or_else(incomplete)?;
                let v = parse_num(m)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| invarg(m, "Invalid \"mtu\" value"))?;
                mtu = Some(v);
            }
            "up" => up = true,
            "type" => {
                kind = Some(it.next().ok_or_else(incomplete)?.to_string());
                break;
            }
            n if name.is_none() => {
                if !valid_ifname(n) {
                    return Err(invarg(n, "\"dev\" not a valid ifname"));
                }
                name = Some(n.to_string());
            }
            other => {
                return Err(format!(
                    "hoplab: `ip link add` option `{other}` is not modelled"
                ));
            }
        }
    }
    match kind.as_deref() {
        None => return Err("Not enough information: \"type\" argument is required".into()),
        Some("vlan") => {}
        Some(other) => {
            return Err(format!(
                "hoplab: `ip link add ... type {other}` is not modelled on a router; type vlan is"
            ));
        }
    }
    let opts: Vec<&str> = it.collect();
    let mut id = None;
    let mut o = opts.iter().copied();
    while let Some(w) = o.next() {
        match w {
            "id" => {
                let v = o.next().ok_or_else(incomplete)?;
                id = Some(
                    parse_num(v)
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| invarg(v, "id is invalid"))?,
                );
            }
            "protocol" | "proto" => match o.next().ok_or_else(incomplete)? {
                "802.1Q" | "802.1q" => {}
                p => {
                    return Err(format!(
                        "hoplab: VLAN protocol `{p}` is not modelled; 802.1Q is"
                    ));
                }
            },
            other => {
                return Err(format!(
                    "hoplab: VLAN option `{other}` is not modelled; id and protocol 802.1Q are"
                ));
            }
        }
    }
    Ok(LinkCmd::AddVlan {
        link,
        name,
        id,
        args: !opts.is_empty(),
        mac,
        mtu,
        up,
    })
}

/// A failed command: exit status and message.
type Failure = (i32, String);

impl Router {
    /// Adds a VLAN device (a lab's, up; or `ip link add`'s, down until `ip link set up`).
    pub(super) fn add_vlan(&mut self, cfg: VlanConfig, up: bool) -> Result<usize, String> {
        let parent = self.ifaces[..self.vlans.ports]
            .iter()
            .position(|f| f.name == cfg.parent)
            .ok_or_else(|| format!("Cannot find device \"{}\"", cfg.parent))?;
        let dev = match self.vlans.free.pop() {
            Some(d) => {
                self.ifaces[d] = cfg.iface;
                d
            }
            None => {
                self.ifaces.push(cfg.iface);
                self.ifaces.len() - 1
            }
        };
        self.localnet.resize(self.ifaces.len(), false);
        self.localnet[dev] = false;
        // A new device takes `conf.default`'s rp_filter.
        self.rp_filter.resize(self.ifaces.len(), 0);
        self.rp_filter[dev] = self.rp_filter_default;
        let seq = self.vlans.next_seq;
        self.vlans.next_seq += 1;
        self.vlans.devs.push(VlanDev {
            dev,
            parent,
            vid: cfg.vid,
            seq,
            up: false,
            was_up: false,
        });
        if up {
            self.set_vlan_up(dev, true);
        }
        Ok(dev)
    }

    /// Brings a VLAN device up (its addresses' routes appear) or down (every route through
    /// it and its neighbours go, as `fib_disable_ip` and `neigh_ifdown` do).
    fn set_vlan_up(&mut self, dev: usize, up: bool) {
        let Some(v) = self.vlans.devs.iter_mut().find(|v| v.dev == dev) else {
            return;
        };
        if v.up == up {
            return;
        }
        v.up = up;
        v.was_up |= up;
        if up {
            for a in self.ifaces[dev].addrs.clone() {
                self.routes.add_connected(a, dev);
            }
        } else {
            self.forget_dev(dev);
        }
    }

    /// Routes (every table) and neighbours through `dev`.
    fn forget_dev(&mut self, dev: usize) {
        self.routes.remove_dev(dev);
        for t in self.tables.values_mut() {
            t.remove_dev(dev);
        }
        self.neigh.flush_dev(dev);
    }

    /// Whether interface `dev` is up (a real interface always is; its link may not be).
    pub(super) fn dev_up(&self, dev: usize) -> bool {
        self.vlans.get(dev).is_none_or(|v| v.up)
    }

    /// A frame with an 802.1Q tag on `port`: the VLAN device of its tag and the frame
    /// untagged (a priority tag, VLAN 0, is the parent's); None when it is dropped.
    pub(super) fn vlan_ingress(
        &self,
        port: u16,
        frame: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Option<(usize, Vec<u8>)> {
        let tci = tag(frame)?;
        let dev = match tci.vid {
            0 => usize::from(port),
            vid => match self.vlans.find(usize::from(port), vid) {
                Some(v) if v.up => v.dev,
                Some(v) => {
                    if ctx.detail() {
                        let name = &self.ifaces[v.dev].name;
                        ctx.note(Note::Decision(format!("{name} is down").into()));
                    }
                    ctx.note(Note::Dropped(DropReason::UnknownVlan { vid }));
                    return None;
                }
                None => {
                    ctx.note(Note::Dropped(DropReason::UnknownVlan { vid }));
                    return None;
                }
            },
        };
        let mut untagged = ctx.buffer();
        retag(frame, None, &mut untagged);
        Some((dev, untagged))
    }

    /// Sends a frame built for interface `dev` (its MACs written) as the packet `tag`: out
    /// of `dev`'s port, with the VLAN's tag if `dev` is a VLAN device.
    pub(super) fn transmit(
        &self,
        dev: usize,
        mut frame: Vec<u8>,
        tag: PacketTag,
        ctx: &mut Ctx<'_>,
    ) {
        match self.vlans.get(dev) {
            None => ctx.send_tagged(dev as u16, frame, tag),
            Some(v) if v.up => {
                insert_tag(&mut frame, Tci::vid(v.vid));
                ctx.send_tagged(v.parent as u16, frame, tag);
            }
            // A device that is down sends nothing (nothing routes through it).
            Some(_) => {}
        }
    }

    /// The note for a packet routed out of `dev`: a VLAN device is named, having no port.
    pub(super) fn routed_note(&self, dev: usize, via: Option<smoltcp::wire::Ipv4Address>) -> Note {
        let name = self
            .vlans
            .get(dev)
            .map(|_| self.ifaces[dev].name.clone().into_boxed_str());
        Note::Routed {
            port: self.vlans.get(dev).map_or(dev, |v| v.parent) as u16,
            via,
            dev: name,
        }
    }

    fn vlan_ifindex(&self, v: &VlanDev) -> u32 {
        (self.vlans.ports + 2 + self.members.len()) as u32 + v.seq
    }

    /// The VLAN devices as `ip link` lists them, after the other interfaces; `own` are the
    /// real interfaces' views (a VLAN device has carrier while its parent does).
    pub(super) fn vlan_links(&self, own: &[PortView]) -> Vec<LinkInfo> {
        let mut out = Vec::new();
        let mut devs: Vec<&VlanDev> = self.vlans.devs.iter().collect();
        devs.sort_by_key(|v| v.seq);
        for v in devs {
            let f = &self.ifaces[v.dev];
            let carrier = own.get(v.parent).is_some_and(|p| p.up);
            let mut link = LinkInfo::loopback();
            link.ifindex = self.vlan_ifindex(v);
            link.name = f.name.clone();
            link.loopback = false;
            link.carrier = carrier;
            link.mtu = f.mtu;
            link.mac = f.mac;
            link.addrs = f.addrs.clone();
            link.lower = Some(self.ifaces[v.parent].name.clone());
            link.down = match (v.up, v.was_up) {
                (true, _) => None,
                (false, true) => Some("noqueue"),
                (false, false) => Some("noop"),
            };
            out.push(link);
        }
        out
    }

    /// `ip link add|del|set ...` (the words after `ip link`): output, or iproute2's or the
    /// kernel's refusal with its exit status.
    pub(super) fn ip_link_cmd(&mut self, words: &[&str]) -> Result<String, Failure> {
        let cmd = parse_link_cmd(words).map_err(|e| (255, format!("{e}\n")))?;
        let dev_of = |r: &Router, name: &str| {
            r.ifaces
                .iter()
                .position(|f| f.name == name && !name.is_empty())
        };
        let nodev = |name: &str| (1, format!("Cannot find device \"{name}\"\n"));
        match cmd {
            LinkCmd::AddVlan {
                link,
                name,
                id,
                args,
                mac,
                mtu,
                up,
            } => {
                let kernel = |msg: &str| (2, format!("Error: 8021q: {msg}.\n"));
                let parent = match &link {
                    Some(l) => Some(dev_of(self, l).ok_or_else(|| nodev(l))?),
                    None => None,
                };
                if !args {
                    return Err(kernel("VLAN properties not specified"));
                }
                let Some(vid) = id else {
                    return Err(kernel("VLAN id not specified"));
                };
                if vid > VID_MAX {
                    return Err(kernel("Invalid VLAN id"));
                }
                let Some(parent) = parent else {
                    return Err(kernel("link not specified"));
                };
                let name = name.unwrap_or_else(|| {
                    (0..)
                        .map(|n| format!("vlan{n}"))
                        .find(|n| dev_of(self, n).is_none())
                        .unwrap_or_default()
                });
                if dev_of(self, &name).is_some() {
                    return Err((2, "RTNETLINK answers: File exists\n".into()));
                }
                if parent >= self.vlans.ports {
                    return Err((
                        2,
                        "hoplab: a VLAN device on a VLAN device (stacked tags) is not modelled\n"
                            .into(),
                    ));
                }
                if self.vlans.find(parent, vid).is_some() {
                    return Err(kernel("VLAN device already exists"));
                }
                let lower = &self.ifaces[parent];
                if mtu.is_some_and(|m| m > lower.mtu) {
                    return Err((2, "RTNETLINK answers: Invalid argument\n".into()));
                }
                let cfg = VlanConfig {
                    iface: RouterIface {
                        name,
                        mac: mac.unwrap_or(lower.mac),
                        addrs: Vec::new(),
                        mtu: mtu.unwrap_or(lower.mtu),
                    },
                    parent: lower.name.clone(),
                    vid,
                };
                self.add_vlan(cfg, up).map_err(|e| (2, format!("{e}\n")))?;
                Ok(String::new())
            }
            LinkCmd::Del(name) => {
                let dev = dev_of(self, &name).ok_or_else(|| nodev(&name))?;
                if self.vlans.get(dev).is_none() {
                    return Err((
                        2,
                        format!(
                            "hoplab: deleting {name} is not modelled: only VLAN devices come and \
                             go on a router\n"
                        ),
                    ));
                }
                self.forget_dev(dev);
                self.vlans.devs.retain(|v| v.dev != dev);
                self.vlans.free.push(dev);
                // The number stays taken until a new device reuses it: nothing names it.
                let f = &mut self.ifaces[dev];
                f.name.clear();
                f.addrs.clear();
                Ok(String::new())
            }
            LinkCmd::Set(name, up) => {
                let dev = dev_of(self, &name).ok_or_else(|| nodev(&name))?;
                if self.vlans.get(dev).is_none() {
                    return Err((
                        2,
                        format!(
                            "hoplab: `ip link set {name} up|down` is modelled for VLAN devices; \
                             take a port's link down with a `link:` step\n"
                        ),
                    ));
                }
                self.set_vlan_up(dev, up);
                Ok(String::new())
            }
        }
    }

    /// `ip link show DEV`, `ip addr show DEV`, `ip -d link show DEV` (`dev` optional): one
    /// interface; None for any other words.
    pub(super) fn one_link(
        &self,
        words: &[&str],
        ports: &[PortView],
    ) -> Option<Result<String, String>> {
        let (detail, rest) = match words {
            ["ip", "-d" | "-details", rest @ ..] => (true, rest),
            ["ip", rest @ ..] => (false, rest),
            _ => return None,
        };
        let (what, rest) = rest.split_first()?;
        let addr = match *what {
            "link" | "l" => false,
            "addr" | "a" | "address" if !detail => true,
            _ => return None,
        };
        let name = match rest {
            ["show" | "list" | "ls", "dev", n] | ["show" | "list" | "ls", n] => *n,
            _ => return None,
        };
        let links = self.links(ports);
        let Some(link) = links.iter().find(|l| l.name == name) else {
            return Some(Err(format!("Device \"{name}\" does not exist.")));
        };
        if addr {
            return Some(Ok(iproute::ip_addr(std::slice::from_ref(link))));
        }
        let mut out = iproute::ip_link(std::slice::from_ref(link), false);
        if detail {
            let Some(v) = self
                .ifaces
                .iter()
                .position(|f| f.name == name)
                .and_then(|d| self.vlans.get(d))
            else {
                return Some(Err(format!(
                    "hoplab: `ip -d link` shows VLAN devices' details; {name} is none"
                )));
            };
            // The link line goes on with the details, then the device's kind and options
            // (iplink_vlan.c), then the generic ones; the sizes are what a VLAN device takes
            // from a veth.
            out.truncate(out.trim_end_matches('\n').len());
            out.push_str(" promiscuity 0  allmulti 0 minmtu 0 maxmtu 65535 \n");
            out.push_str(&format!(
                "    vlan protocol 802.1Q id {} <REORDER_HDR> addrgenmode eui64 numtxqueues 1 \
                 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 \
                 tso_max_segs 65535 gro_max_size 65536 \n",
                v.vid
            ));
        }
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<LinkCmd, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        parse_link_cmd(&words)
    }

    #[test]
    fn parses_as_iproute2() {
        assert_eq!(
            parse("add link eth0 name eth0.10 type vlan id 10"),
            Ok(LinkCmd::AddVlan {
                link: Some("eth0".into()),
                name: Some("eth0.10".into()),
                id: Some(10),
                args: true,
                mac: None,
                mtu: None,
                up: false,
            })
        );
        let Ok(LinkCmd::AddVlan { name, id, .. }) = parse("add link eth0 v20 type vlan id 0x14")
        else {
            panic!()
        };
        assert_eq!((name.as_deref(), id), (Some("v20"), Some(20)));
        assert_eq!(
            parse("delete dev eth0.10"),
            Ok(LinkCmd::Del("eth0.10".into()))
        );
        assert_eq!(
            parse("set eth0.10 up"),
            Ok(LinkCmd::Set("eth0.10".into(), true))
        );
        assert_eq!(
            parse("add link eth0 name eth0.10 type vlan id ten").unwrap_err(),
            "Error: argument \"ten\" is wrong: id is invalid"
        );
        assert_eq!(
            parse("add link eth0 name eth0.10000000000 type vlan id 1").unwrap_err(),
            "Error: argument \"eth0.10000000000\" is wrong: \"name\" not a valid ifname"
        );
        assert_eq!(
            parse("add link eth0 name x").unwrap_err(),
            "Not enough information: \"type\" argument is required"
        );
        assert!(parse("add link eth0 name x type vlan id 5 protocol 802.1ad").is_err());
        assert!(parse("add name b0 type bridge").is_err());
        assert!(parse("set eth0.10 mtu 1400").is_err());
        assert_eq!(
            parse("del").unwrap_err(),
            "Not enough information: \"dev\" argument is required."
        );
    }
}

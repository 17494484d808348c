//! VLAN subinterfaces of a router (`ip link add link eth0 name eth0.10 type vlan id 10`),
//! as the kernel's 8021q module makes them: a device of its own, with its addresses,
//! routes and neighbours, that sends through its parent with the VLAN's tag and receives
//! the frames tagged with it.
//!
//! The router's interfaces are indexed by device number, which is a port in the simulation.
//! A VLAN device has a port too (the lab's runner gives it one before the router makes the
//! device), but one that is absent, unlinked and not captured: frames never use it. This
//! file maps between the two: a frame received on a port goes to the parent (untagged) or
//! to the VLAN device of its tag (`vlan_ingress`), and a frame a device sends leaves by its
//! parent's port, tagged (`transmit`). A tag with no device for it is not for this host (the
//! kernel marks it `PACKET_OTHERHOST`): dropped.

use smoltcp::wire::EthernetAddress;

use super::links::LinkKind;
use super::{Router, RouterIface};
use crate::listing::iproute::{self, LinkInfo};
use crate::sim::{Ctx, DropReason, Note, PacketTag, PortView};
use crate::wire::vlan::{Tci, VID_MAX, insert_tag, retag, tag};

/// A VLAN device as a lab declares it: the interface, its parent's name and the VLAN id.
#[derive(Clone, Debug)]
pub struct VlanConfig {
    pub iface: RouterIface,
    pub parent: String,
    pub vid: u16,
}

/// One VLAN device (its state, up or down, is its `LinkState`'s).
#[derive(Clone, Debug)]
pub(super) struct VlanDev {
    /// Its number among the router's interfaces.
    pub dev: usize,
    /// Its parent's number, which is the parent's port.
    pub parent: usize,
    pub vid: u16,
}

/// The router's VLAN devices.
#[derive(Clone, Debug, Default)]
pub(super) struct Vlans {
    devs: Vec<VlanDev>,
}

impl Vlans {
    /// The VLAN device numbered `dev`, if it is one.
    #[inline]
    pub fn get(&self, dev: usize) -> Option<&VlanDev> {
        if self.devs.is_empty() {
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

/// `ip link add ... type vlan ...` on a router, parsed (the words after `ip link`).
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

/// Parses `ip link add ... type vlan ...` (the words after `ip link`) as iproute2 does
/// before it asks the kernel: its refusals, and what hoplab does not model, are errors of
/// the command line; what the router's state decides comes when it runs. (`ip link set`
/// and `del` are the runner's, as for any interface: `scenario/netns.rs`.)
pub fn parse_link_cmd(words: &[&str]) -> Result<LinkCmd, String> {
    let no_dev = || "Not enough information: \"dev\" argument is required.".to_string();
    let (op, rest) = words.split_first().ok_or_else(no_dev)?;
    match *op {
        "add" => parse_add(rest),
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

/// The name the kernel gives a device `ip link add` does not name: its kind and the first
/// free number (`vlan0`, `vlan1`, ...).
fn vlan_name(r: &Router) -> String {
    (0..)
        .map(|n| format!("vlan{n}"))
        .find(|n| r.live_link(n).is_none())
        .unwrap_or_default()
}

impl Router {
    /// Adds a VLAN device at device number `dev` (the port the lab gave it: the next one, or
    /// a gone device's of the same name): a lab's, up; or `ip link add`'s, down until
    /// `ip link set up`.
    pub fn add_vlan(&mut self, cfg: VlanConfig, up: bool, dev: usize) -> Result<usize, String> {
        let parent = self
            .live_link(&cfg.parent)
            .filter(|p| self.ns.vlans.get(*p).is_none())
            .ok_or_else(|| format!("Cannot find device \"{}\"", cfg.parent))?;
        let mac = cfg.iface.mac;
        let name = cfg.iface.name.clone();
        self.add_link(dev, (&name, mac), LinkKind::Vlan, None)?;
        self.ns.ifaces[dev].mtu = cfg.iface.mtu;
        self.ns.vlans.devs.push(VlanDev {
            dev,
            parent,
            vid: cfg.vid,
        });
        for a in cfg.iface.addrs {
            self.ns.ifaces[dev].addrs.push(a);
        }
        if let Some(statics) = &cfg.iface.ipv6 {
            self.ns.ifaces[dev].ipv6 = Some(super::ipv6::iface_addrs(statics, mac));
        }
        if up {
            self.set_link_up(dev, true);
        }
        Ok(dev)
    }

    /// Deletes a VLAN device (`ip link del`): its routes and neighbours go with it.
    pub fn delete_vlan(&mut self, dev: usize) {
        self.remove_link(dev);
        self.ns.vlans.devs.retain(|v| v.dev != dev);
    }

    /// The VLAN devices on interface `parent`.
    pub(super) fn vlan_children(&self, parent: usize) -> Vec<usize> {
        self.ns
            .vlans
            .devs
            .iter()
            .filter(|v| v.parent == parent)
            .map(|v| v.dev)
            .collect()
    }

    /// Whether `dev` is a VLAN device.
    pub fn is_vlan(&self, dev: usize) -> bool {
        self.ns.vlans.get(dev).is_some()
    }

    /// Numbers a lab's VLAN devices after every other interface, their bridges' ports
    /// included, in the order the lab gives them, as the kernel numbers devices made last.
    pub fn number_vlans(&mut self) {
        let next = self
            .ns
            .links
            .iter()
            .enumerate()
            .filter(|(i, _)| self.ns.vlans.get(*i).is_none())
            .map(|(_, l)| l.ifindex)
            .chain(self.members.iter().map(|m| m.ifindex))
            .max()
            .unwrap_or(1)
            + 1;
        let mut devs: Vec<usize> = self.ns.vlans.devs.iter().map(|v| v.dev).collect();
        devs.sort_unstable();
        for (k, d) in devs.into_iter().enumerate() {
            self.ns.links[d].ifindex = next + k as u32;
        }
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
            vid => match self.ns.vlans.find(usize::from(port), vid) {
                Some(v) if self.ns.links[v.dev].up => v.dev,
                Some(v) => {
                    if ctx.detail() {
                        let name = &self.ns.ifaces[v.dev].name;
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
    /// of `dev`'s port, or its parent's with the VLAN's tag if `dev` is a VLAN device.
    pub(super) fn transmit(
        &self,
        dev: usize,
        mut frame: Vec<u8>,
        tag: PacketTag,
        ctx: &mut Ctx<'_>,
    ) {
        match self.ns.vlans.get(dev) {
            None => ctx.send_tagged(dev as u16, frame, tag),
            Some(v) if self.ns.links[dev].up => {
                insert_tag(&mut frame, Tci::vid(v.vid));
                ctx.send_tagged(v.parent as u16, frame, tag);
            }
            // A device that is down sends nothing (nothing routes through it).
            Some(_) => {}
        }
    }

    /// The note for a packet routed out of `dev`: a VLAN device is named, its frames
    /// leaving by its parent's port.
    pub(super) fn routed_note(&self, dev: usize, via: Option<smoltcp::wire::IpAddress>) -> Note {
        let name = self
            .ns
            .vlans
            .get(dev)
            .map(|_| self.ns.ifaces[dev].name.clone().into_boxed_str());
        Note::Routed {
            port: self.ns.vlans.get(dev).map_or(dev, |v| v.parent) as u16,
            via,
            dev: name,
        }
    }

    /// A VLAN device as `ip link` lists it: `eth0.10@eth0`, with carrier while its parent
    /// has it (`own`: the ports' views).
    pub(super) fn vlan_link(&self, dev: usize, own: &[PortView]) -> Option<LinkInfo> {
        let v = self.ns.vlans.get(dev)?;
        let f = &self.ns.ifaces[dev];
        let state = &self.ns.links[dev];
        let mut link = LinkInfo::device(state.ifindex, &f.name, f.mac, f.mtu);
        link.carrier = own.get(v.parent).is_some_and(|p| p.up) && self.ns.links[v.parent].up;
        link.addrs = f.addrs.clone();
        link.lower = Some(self.ns.ifaces[v.parent].name.clone());
        link.admin_up = state.up;
        link.activated = state.activated;
        link.no_brd = self.ns.no_brd.clone();
        Some(link)
    }

    /// `ip link add ... type vlan ...` (the words after `ip link`) as device number `dev`:
    /// output, or iproute2's or the kernel's refusal with its exit status.
    pub fn ip_link_vlan_add(&mut self, words: &[&str], dev: usize) -> Result<String, Failure> {
        let cmd = parse_link_cmd(words).map_err(|e| (255, format!("{e}\n")))?;
        let nodev = |name: &str| (1, format!("Cannot find device \"{name}\"\n"));
        let LinkCmd::AddVlan {
            link,
            name,
            id,
            args,
            mac,
            mtu,
            up,
        } = cmd;
        let kernel = |msg: &str| (2, format!("Error: 8021q: {msg}.\n"));
        let parent = match &link {
            Some(l) => Some(self.live_link(l).ok_or_else(|| nodev(l))?),
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
        let name = name.unwrap_or_else(|| vlan_name(self));
        if self.live_link(&name).is_some() || self.enslaved_link(&name).is_some() {
            return Err((2, "RTNETLINK answers: File exists\n".into()));
        }
        if self.ns.vlans.get(parent).is_some() {
            return Err((
                2,
                "hoplab: a VLAN device on a VLAN device (stacked tags) is not modelled\n".into(),
            ));
        }
        if self.ns.vlans.find(parent, vid).is_some() {
            return Err(kernel("VLAN device already exists"));
        }
        let lower = &self.ns.ifaces[parent];
        if mtu.is_some_and(|m| m > lower.mtu) {
            return Err((2, "RTNETLINK answers: Invalid argument\n".into()));
        }
        let cfg = VlanConfig {
            iface: RouterIface {
                name,
                mac: mac.unwrap_or(lower.mac),
                addrs: Vec::new(),
                mtu: mtu.unwrap_or(lower.mtu),
                ipv6: None,
            },
            parent: lower.name.clone(),
            vid,
        };
        self.add_vlan(cfg, up, dev)
            .map_err(|e| (2, format!("{e}\n")))?;
        Ok(String::new())
    }

    /// The name `ip link add` gives a VLAN device it is not told to name (`vlanN`).
    pub fn vlan_default_name(&self, words: &[&str]) -> Option<String> {
        match parse_link_cmd(words).ok()? {
            LinkCmd::AddVlan {
                name: None,
                id: Some(_),
                ..
            } => Some(vlan_name(self)),
            LinkCmd::AddVlan { name: Some(n), .. } => Some(n),
            _ => None,
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
                .ns
                .ifaces
                .iter()
                .position(|f| f.name == name)
                .and_then(|d| self.ns.vlans.get(d))
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
        assert!(
            parse("set eth0.10 up").is_err(),
            "ip link set is the runner's"
        );
        assert_eq!(
            parse("").unwrap_err(),
            "Not enough information: \"dev\" argument is required."
        );
    }
}

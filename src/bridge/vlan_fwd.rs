//! The bridge with VLAN filtering on: the forwarding path (`br_handle_frame_finish` with
//! `br_allowed_ingress`, `br_allowed_egress` and `br_handle_vlan`), the `bridge vlan` and
//! `ip link set BR type bridge vlan_filtering N` commands, and `bridge vlan show`.
//!
//! A frame is classified once, on ingress, into a VLAN; inside the bridge it is the frame
//! without its tag plus that VLAN (and the tag's priority bits), as the kernel keeps the tag
//! in the skb's metadata. Each egress port then gets it tagged or untagged: a port whose
//! frame leaves exactly as it came gets the frame itself, any other a rewritten copy.

use smoltcp::wire::EthernetAddress;

use super::BridgeNote;
use super::fdb::Learn;
use super::vlan::{self, PortVlans};
use super::{Bridge, stp};
use crate::sim::{Ctx, DropReason, Note};
use crate::time::Instant;
use crate::wire::vlan::{Tci, retag, tag};

/// Whether a bridge runs this command line (as a lab step checks it): `bridge vlan add|del`
/// and `ip link set BR type bridge vlan_filtering N`; its listings are `show:` steps.
/// Syntax errors iproute2 finds before asking the kernel are the lab's; what depends on
/// the bridge (a device it lacks) is the run's.
pub fn check_command(argv: &[String]) -> Result<(), String> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["bridge", "vlan", op, rest @ ..] if is_modify(op) => {
            let mut w = vec![*op];
            w.extend_from_slice(rest);
            vlan::parse_cmd(&w)
                .map(|_| ())
                .map_err(|(_, e)| e.trim_end().to_string())
        }
        ["ip", "link", "set", rest @ ..] => parse_link_set(rest)
            .map(|_| ())
            .map_err(|(_, e)| e.trim_end().to_string()),
        ["bridge" | "brctl" | "ip", ..] => Err(format!(
            "{}: a bridge's listings are `show:` steps",
            argv.join(" ")
        )),
        _ => Err(format!(
            "{}: a bridge runs `bridge vlan add|del ...` and `ip link set BR type bridge \
             vlan_filtering 0|1`, and shows listings",
            argv.join(" ")
        )),
    }
}

/// `add`, `del`, `delete` and what iproute2's `matches` takes for them.
fn is_modify(op: &str) -> bool {
    !op.is_empty() && ("add".starts_with(op) || "delete".starts_with(op))
}

/// `show`, `list`, `lst` as iproute2's `matches` takes them.
fn is_show(op: &str) -> bool {
    !op.is_empty() && ["show", "list", "lst"].iter().any(|w| w.starts_with(op))
}

/// `ip link set [dev] NAME type bridge vlan_filtering N`, parsed: the device and the
/// setting. Other bridge options are not modelled.
fn parse_link_set(words: &[&str]) -> Result<(String, bool), vlan::CmdError> {
    let mut it = words.iter().copied().peekable();
    if it.peek() == Some(&"dev") {
        it.next();
    }
    let dev = it.next().ok_or_else(|| {
        (
            255,
            "Not enough information: \"dev\" argument is required.\n".to_string(),
        )
    })?;
    let rest: Vec<&str> = it.collect();
    let ["type", "bridge", opts @ ..] = rest.as_slice() else {
        return Err((
            255,
            format!(
                "hoplab: `ip link set {dev} {}` is not modelled on a bridge; `ip link set {dev} \
                 type bridge vlan_filtering 0|1` is\n",
                rest.join(" ")
            ),
        ));
    };
    let mut filtering = None;
    let mut it = opts.iter();
    while let Some(w) = it.next() {
        match *w {
            "vlan_filtering" => {
                let v = it.next().ok_or_else(|| {
                    (
                        255,
                        "Command line is not complete. Try option \"help\"\n".to_string(),
                    )
                })?;
                let n = parse_u8(v).ok_or_else(|| {
                    (
                        255,
                        format!("Error: argument \"{v}\" is wrong: invalid vlan_filtering\n"),
                    )
                })?;
                filtering = Some(n != 0);
            }
            other => {
                return Err((
                    255,
                    format!("hoplab: bridge option `{other}` is not modelled; vlan_filtering is\n"),
                ));
            }
        }
    }
    let on = filtering.ok_or_else(|| {
        (
            255,
            "hoplab: say `vlan_filtering 0` or `vlan_filtering 1`\n".to_string(),
        )
    })?;
    Ok((dev.to_string(), on))
}

/// `get_u8(..., 0)`: decimal, `0x` hex or `0` octal, the whole word, at most 255.
fn parse_u8(s: &str) -> Option<u8> {
    let n = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    u8::try_from(n).ok()
}

impl Bridge {
    /// A frame with VLAN filtering on (see the module's documentation).
    pub(super) fn vlan_frame(
        &mut self,
        now: Instant,
        port: u16,
        frame: &[u8],
        (src, dst): (EthernetAddress, EthernetAddress),
        ctx: &mut Ctx<'_>,
    ) {
        let Some(vlans) = self.vlans.as_deref() else {
            return;
        };
        let tci = tag(frame);
        let vid = match vlans.port(port).ingress(tci) {
            Ok(vid) => vid,
            Err(reason) => {
                ctx.note(Note::Dropped(reason));
                return;
            }
        };
        // The tag a frame leaves with keeps the priority bits it came with.
        let out_tag = Tci {
            vid,
            ..tci.unwrap_or_default()
        };
        if ctx.detail() {
            let how = match tci {
                Some(t) if t.vid != 0 => "tagged",
                _ => "untagged: the port's PVID",
            };
            ctx.note(Note::Decision(format!("VLAN {vid} ({how})").into()));
        }
        self.learn_vid(now, src, vid, port, ctx);
        if super::is_link_local_group(dst) && dst.0 != stp::GROUP_ADDRESS {
            return;
        }
        if dst.is_unicast() {
            if self.is_local_mac(dst) {
                self.counters.local += 1;
                if let Some(own) = self.own_port.filter(|&o| o != port) {
                    self.vlan_send(own, frame, out_tag, None, true, ctx);
                }
                return;
            }
            if let Some(out) = self.fdb.lookup_in(dst, vid) {
                if out == port && !self.ports[usize::from(port)].hairpin {
                    self.counters.dropped_same_port += 1;
                    ctx.note(Note::Dropped(DropReason::SamePort));
                    return;
                }
                if !self.forwards(out) {
                    ctx.note(Note::Dropped(DropReason::PortState));
                    return;
                }
                let Some(filtered) = self.vlan_filter(now, port, out, frame, ctx) else {
                    return;
                };
                if self.vlan_send(out, frame, out_tag, filtered.as_deref(), true, ctx) {
                    self.counters.forwarded += 1;
                }
                return;
            }
        }
        self.counters.flooded += 1;
        let mut sent = 0;
        for p in 0..self.ports.len() as u16 {
            let member = self
                .vlans
                .as_deref()
                .is_some_and(|v| v.port(p).get(vid).is_some());
            if p == port || !member || !self.forwards(p) || !self.is_present(usize::from(p)) {
                continue;
            }
            let Some(filtered) = self.vlan_filter(now, port, p, frame, ctx) else {
                continue;
            };
            if self.vlan_send(p, frame, out_tag, filtered.as_deref(), false, ctx) {
                sent += 1;
            }
        }
        ctx.note_own(BridgeNote::Flooded {
            ports: sent,
            unknown_unicast: dst.is_unicast(),
        });
    }

    /// br_netfilter on a frame going from `from` to `to` (neither the bridge device): the
    /// filter sees it untagged, as the kernel's hooks see the packet with its tag in the
    /// skb. `None`: dropped; `Some(None)`: no filter, the frame as it came.
    fn vlan_filter(
        &mut self,
        now: Instant,
        from: u16,
        to: u16,
        frame: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Option<Option<Vec<u8>>> {
        let own = self.own_port;
        if own == Some(from) || own == Some(to) {
            return Some(None);
        }
        let names = (
            self.ports[usize::from(from)].name.as_str(),
            self.ports[usize::from(to)].name.as_str(),
        );
        let Some((master, dev)) = self.filtering_master(ctx) else {
            return Some(None);
        };
        let mut copy = ctx.buffer();
        retag(frame, None, &mut copy);
        if ctx.bridge_forward(now, master, dev, &mut copy, names) {
            Some(Some(copy))
        } else {
            ctx.note(Note::Dropped(DropReason::Filtered));
            None
        }
    }

    /// Sends the frame of VLAN `out_tag.vid` out of `port` as the port's entry says (the
    /// filtered copy instead of the frame, if there is one), noting it unless it is one copy
    /// of a flood; false when the VLAN is not the port's.
    fn vlan_send(
        &self,
        port: u16,
        frame: &[u8],
        out_tag: Tci,
        filtered: Option<&[u8]>,
        note: bool,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(tagged) = self
            .vlans
            .as_deref()
            .and_then(|v| v.port(port).egress(out_tag.vid))
        else {
            ctx.note(Note::Dropped(DropReason::VlanNotMember {
                vid: out_tag.vid,
            }));
            return false;
        };
        let want = tagged.then_some(out_tag);
        if note {
            ctx.note_own(BridgeNote::Forwarded { port });
        }
        match filtered {
            None if tag(frame) == want => ctx.forward(port),
            base => {
                let mut buf = ctx.buffer();
                retag(base.unwrap_or(frame), want, &mut buf);
                ctx.send_same(port, buf);
            }
        }
        true
    }

    fn learn_vid(
        &mut self,
        now: Instant,
        src: EthernetAddress,
        vid: u16,
        port: u16,
        ctx: &mut Ctx<'_>,
    ) {
        match self.fdb.learn_in(src, vid, port, now) {
            Learn::New => ctx.note_own(BridgeNote::Learned { mac: src, port }),
            Learn::Moved { from } => ctx.note_own(BridgeNote::Moved {
                mac: src,
                from,
                to: port,
            }),
            Learn::Full => ctx.note_own(BridgeNote::FdbFull { mac: src }),
            Learn::Refreshed | Learn::Disabled => {}
        }
    }

    /// Runs a command typed on the bridge: exit status and output, or `None` for a command
    /// that is not one (a listing, which the runner shows instead).
    pub fn run_vlan_command(&mut self, words: &[&str]) -> Option<(i32, String)> {
        match words {
            ["bridge", "vlan", op, rest @ ..] if is_modify(op) => {
                let mut w = vec![*op];
                w.extend_from_slice(rest);
                Some(match self.bridge_vlan(&w) {
                    Ok(()) => (0, String::new()),
                    Err(e) => e,
                })
            }
            ["ip", "link", "set", rest @ ..] => Some(match parse_link_set(rest) {
                Ok((dev, on)) if dev == self.config.name => {
                    self.set_vlan_filtering(on);
                    (0, String::new())
                }
                Ok((dev, _)) => (1, format!("Cannot find device \"{dev}\"\n")),
                Err(e) => e,
            }),
            _ => None,
        }
    }

    /// `bridge vlan add|del ...` (words from `add`).
    fn bridge_vlan(&mut self, words: &[&str]) -> Result<(), vlan::CmdError> {
        let cmd = vlan::parse_cmd(words)?;
        let unsupported = || (255, "RTNETLINK answers: Operation not supported\n".into());
        let is_bridge = cmd.dev == self.config.name;
        let port = self
            .ports
            .iter()
            .enumerate()
            .position(|(i, p)| !p.own && p.name == cmd.dev && self.is_present(i));
        if !is_bridge && port.is_none() {
            return Err((255, format!("Cannot find bridge device \"{}\"\n", cmd.dev)));
        }
        // The bridge device has no master: only `self` reaches its table; a port (a veth)
        // has no table of its own, only `master` (the default) reaches its entries.
        if is_bridge != cmd.own {
            return Err(unsupported());
        }
        let mut table = match port {
            Some(p) => self.vlans_mut().port(p as u16).clone(),
            None => self.vlans_mut().bridge().clone(),
        };
        vlan::apply(&cmd, &mut table)?;
        match port {
            Some(p) => {
                let key = p as u16;
                let gone: Vec<u16> = self
                    .fdb
                    .entries()
                    .iter()
                    .filter(|(_, e)| e.port == key && table.get(e.vid).is_none() && e.vid != 0)
                    .map(|(_, e)| e.vid)
                    .collect();
                if !gone.is_empty() {
                    // A port leaving a VLAN forgets what it learned there (`nbp_vlan_delete`
                    // flushes the port's entries of that VLAN).
                    self.fdb.flush_port_vlans(key, &gone);
                }
                self.set_port_vlans(key, table);
            }
            None => self.set_bridge_vlans(table),
        }
        Ok(())
    }

    /// `bridge vlan [show] [dev DEV] [vid VID]`: the bridge device and its ports, in
    /// interface order, each with its VLANs.
    pub(super) fn vlan_listing(&self, words: &[&str]) -> Result<String, String> {
        let rest = match words {
            ["bridge", "vlan"] => &[][..],
            ["bridge", "vlan", op, rest @ ..] if is_show(op) => rest,
            _ => return Err(format!("{}: not a bridge vlan listing", words.join(" "))),
        };
        let (mut dev, mut vid) = (None, None);
        let mut it = rest.iter();
        while let Some(w) = it.next() {
            match *w {
                "dev" => dev = it.next().copied(),
                "vid" => vid = it.next().map(|v| vlan::atoi_short(v) as u16),
                _ => {}
            }
        }
        let default = PortVlans::default_pvid();
        let table = |p: u16| self.vlans.as_deref().map_or(&default, |v| v.port(p));
        // (ifindex, name, table)
        let mut rows: Vec<(u32, &str, &PortVlans)> = Vec::new();
        let bridge_index = self
            .own_port
            .map_or(2, |o| crate::sim::Node::ifindex(self, o));
        let bridge_table = self.vlans.as_deref().map_or(&default, |v| v.bridge());
        rows.push((bridge_index, &self.config.name, bridge_table));
        for (i, p) in self.ports.iter().enumerate() {
            if p.own || !self.is_present(i) {
                continue;
            }
            rows.push((
                crate::sim::Node::ifindex(self, i as u16),
                &p.name,
                table(i as u16),
            ));
        }
        if let Some(d) = dev {
            rows.retain(|r| r.1 == d);
            if rows.is_empty() {
                return Err(format!("Cannot find device \"{d}\""));
            }
        }
        rows.sort_by_key(|r| r.0);
        let mut out = String::from(vlan::SHOW_HEADER);
        for (_, name, t) in rows {
            vlan::show_lines(&mut out, name, t, vid.filter(|v| *v != 0));
        }
        Ok(out)
    }
}

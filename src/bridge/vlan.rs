//! 802.1Q VLAN filtering, as a Linux bridge does it (`br_vlan.c`): each port's VLANs, one of
//! them its PVID, each tagged or untagged on egress; `bridge vlan add|del` and
//! `bridge vlan show` in iproute2 6.1's words and format.
//!
//! A port joins a bridge with VLAN 1 as its PVID, untagged (`default_pvid`), and so does the
//! bridge device itself (its `self` entries, the own port's here). The table is kept whether
//! filtering is on or not, as the kernel keeps it; only with `vlan_filtering 1` does it
//! decide anything:
//! - ingress (`br_allowed_ingress`): an untagged (or priority-tagged) frame takes the port's
//!   PVID, and is dropped if the port has none; a tagged frame is dropped unless its VLAN
//!   is one of the port's;
//! - egress (`br_allowed_egress`, `br_handle_vlan`): a frame leaves only by ports of its
//!   VLAN, untagged where the port's entry says `untagged`, tagged elsewhere.

use std::fmt::Write;

use crate::wire::vlan::{Tci, VID_MAX};

/// One VLAN of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanEntry {
    pub vid: u16,
    /// Leaves the port without a tag (`Egress Untagged`).
    pub untagged: bool,
}

/// A port's VLANs (or the bridge device's own).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortVlans {
    /// In the order they were added: the FDB lists their local entries newest first.
    entries: Vec<VlanEntry>,
    pvid: Option<u16>,
}

impl PortVlans {
    /// What a port has when it joins: VLAN 1, PVID, untagged.
    pub fn default_pvid() -> PortVlans {
        PortVlans {
            entries: vec![VlanEntry {
                vid: 1,
                untagged: true,
            }],
            pvid: Some(1),
        }
    }

    pub fn pvid(&self) -> Option<u16> {
        self.pvid
    }

    pub fn get(&self, vid: u16) -> Option<VlanEntry> {
        self.entries.iter().find(|e| e.vid == vid).copied()
    }

    /// `bridge vlan add ... vid VID [pvid] [untagged]`: the flags are set or cleared as
    /// given, on a new entry or an existing one (`__vlan_add_flags`), so adding a VLAN again
    /// without `pvid` takes the PVID away from it.
    pub fn add(&mut self, vid: u16, pvid: bool, untagged: bool) {
        match self.entries.iter_mut().find(|e| e.vid == vid) {
            Some(e) => e.untagged = untagged,
            None => self.entries.push(VlanEntry { vid, untagged }),
        }
        if pvid {
            self.pvid = Some(vid);
        } else if self.pvid == Some(vid) {
            self.pvid = None;
        }
    }

    /// `bridge vlan del ... vid VID`: nothing to delete is no error (`br_vlan_info`
    /// ignores it).
    pub fn del(&mut self, vid: u16) {
        self.entries.retain(|e| e.vid != vid);
        if self.pvid == Some(vid) {
            self.pvid = None;
        }
    }

    /// The entries in the order they were added.
    pub fn entries(&self) -> &[VlanEntry] {
        &self.entries
    }

    /// The entries by VLAN id, as `bridge vlan show` lists them.
    pub fn sorted(&self) -> Vec<VlanEntry> {
        let mut v = self.entries.clone();
        v.sort_by_key(|e| e.vid);
        v
    }

    /// VLAN ids newest first, as the FDB lists the port's local entries.
    pub fn newest_first(&self) -> impl Iterator<Item = u16> + '_ {
        self.entries.iter().rev().map(|e| e.vid)
    }

    /// The VLAN a frame that came in with `tag` belongs to here, or why it is dropped.
    #[inline]
    pub fn ingress(&self, tag: Option<Tci>) -> Result<u16, crate::sim::DropReason> {
        match tag {
            // A priority tag (VLAN 0) is untagged for membership (`br_allowed_ingress`).
            Some(t) if t.vid != 0 => match self.get(t.vid) {
                Some(_) => Ok(t.vid),
                None => Err(crate::sim::DropReason::VlanNotMember { vid: t.vid }),
            },
            _ => self.pvid.ok_or(crate::sim::DropReason::NoPvid),
        }
    }

    /// How a frame of VLAN `vid` leaves the port: `None` if it may not, else whether it
    /// leaves tagged.
    #[inline]
    pub fn egress(&self, vid: u16) -> Option<bool> {
        self.get(vid).map(|e| !e.untagged)
    }
}

/// The VLAN table of a bridge: its ports' entries and its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vlans {
    /// `vlan_filtering 1`.
    pub filtering: bool,
    /// By port number; the own port (the bridge device) uses `bridge` instead.
    ports: Vec<PortVlans>,
    /// The bridge device's own entries (`bridge vlan ... self`).
    bridge: PortVlans,
    own: Option<u16>,
}

impl Vlans {
    /// Every port and the bridge with the default VLAN, filtering as given.
    pub fn new(ports: usize, own: Option<u16>, filtering: bool) -> Vlans {
        Vlans {
            filtering,
            ports: vec![PortVlans::default_pvid(); ports],
            bridge: PortVlans::default_pvid(),
            own,
        }
    }

    /// Port `port`'s entries (the bridge's own for the own port).
    #[inline]
    pub fn port(&self, port: u16) -> &PortVlans {
        if self.own == Some(port) {
            return &self.bridge;
        }
        self.ports.get(usize::from(port)).unwrap_or(&self.bridge)
    }

    pub fn port_mut(&mut self, port: u16) -> Option<&mut PortVlans> {
        if self.own == Some(port) {
            return Some(&mut self.bridge);
        }
        self.ports.get_mut(usize::from(port))
    }

    /// A port added to the bridge (`master BR` at run time) gets the default VLAN, as the
    /// kernel gives a new port VLAN 1 pvid untagged.
    pub fn push_port(&mut self) {
        self.ports.push(PortVlans::default_pvid());
    }

    /// The bridge device's own entries.
    pub fn bridge(&self) -> &PortVlans {
        &self.bridge
    }

    pub fn bridge_mut(&mut self) -> &mut PortVlans {
        &mut self.bridge
    }
}

/// A `bridge vlan add|del` command, parsed as iproute2 6.1 parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VlanCmd {
    pub add: bool,
    pub dev: String,
    /// First and last VLAN id (the same for one VLAN).
    pub vids: (u16, u16),
    pub pvid: bool,
    pub untagged: bool,
    /// `self`: the device's own table (the bridge device's, for the bridge).
    pub own: bool,
    /// `master` (the default when neither is given).
    pub master: bool,
}

/// What a failed command prints, with its exit status.
pub type CmdError = (i32, String);

/// Parses the words after `bridge vlan`: `add|del|delete dev DEV vid VID[-VID] [pvid]
/// [untagged] [self] [master]`. Errors are iproute2's, with its exit status (255): the
/// ones it finds before asking the kernel.
pub fn parse_cmd(words: &[&str]) -> Result<VlanCmd, CmdError> {
    let usage = || {
        (
            255,
            "Device and VLAN ID are required arguments.\n".to_string(),
        )
    };
    let add = match words.first() {
        Some(w) if "add".starts_with(w) && !w.is_empty() => true,
        Some(w) if "delete".starts_with(w) && !w.is_empty() => false,
        _ => return Err(usage()),
    };
    let (mut dev, mut vid, mut vid_end) = (None, None, None);
    let mut cmd = VlanCmd {
        add,
        dev: String::new(),
        vids: (0, 0),
        pvid: false,
        untagged: false,
        own: false,
        master: false,
    };
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        match *w {
            "dev" => dev = Some(it.next().ok_or_else(missing)?.to_string()),
            "vid" => {
                let v = it.next().ok_or_else(missing)?;
                match v.split_once('-') {
                    Some((a, b)) => {
                        vid = Some(atoi_short(a));
                        vid_end = Some(atoi_short(b));
                    }
                    None => vid = Some(atoi_short(v)),
                }
            }
            "self" => cmd.own = true,
            "master" => cmd.master = true,
            "pvid" => cmd.pvid = true,
            "untagged" => cmd.untagged = true,
            "tunnel_info" => {
                return Err((
                    255,
                    "hoplab: bridge vlan tunnel_info is not modelled\n".into(),
                ));
            }
            // iproute2 passes over words it does not know.
            _ => {}
        }
    }
    let (Some(d), Some(v)) = (dev, vid) else {
        return Err(usage());
    };
    // A `short` that stayed -1 is a missing id; other negative ones reach the kernel.
    if v == -1 {
        return Err(usage());
    }
    if v >= 4096 {
        return Err((255, format!("Invalid VLAN ID \"{}\"\n", v as u16)));
    }
    let end = match vid_end {
        Some(e) => {
            if e == -1 || e >= 4096 || v >= e {
                return Err((
                    255,
                    format!("Invalid VLAN range \"{}-{}\"\n", v as u16, e as u16),
                ));
            }
            if cmd.pvid {
                return Err((
                    255,
                    "pvid cannot be configured for a vlan range\n".to_string(),
                ));
            }
            e
        }
        None => v,
    };
    cmd.dev = d;
    cmd.vids = (v as u16, end as u16);
    Ok(cmd)
}

/// iproute2's `NEXT_ARG` with no word left (`incomplete_command`).
fn missing() -> CmdError {
    (
        255,
        "Command line is not complete. Try option \"help\"\n".into(),
    )
}

/// `atoi` into a C `short`, as iproute2 reads a VLAN id: leading digits, 0 for none, wrapped.
pub(crate) fn atoi_short(s: &str) -> i32 {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut n: i64 = 0;
    for c in digits.chars().take_while(char::is_ascii_digit) {
        n = (n * 10 + i64::from(c as u8 - b'0')) % (1 << 32);
    }
    let n = if neg { -n } else { n };
    i32::from(n as i16)
}

/// Applies a parsed command to one table (a port's, or the bridge device's). A VLAN id
/// outside 1..=4094 is the kernel's refusal (`br_vlan_valid_id`).
pub fn apply(cmd: &VlanCmd, table: &mut PortVlans) -> Result<(), CmdError> {
    let (first, last) = cmd.vids;
    if first == 0 || first > VID_MAX || last > VID_MAX {
        return Err((255, "Error: bridge: Vlan id is invalid.\n".into()));
    }
    for vid in first..=last {
        match cmd.add {
            true => table.add(vid, cmd.pvid, cmd.untagged),
            false => table.del(vid),
        }
    }
    Ok(())
}

/// A port's VLANs as a lab writes them: entries `VID [pvid] [untagged]` (or `VID-VID`)
/// separated by commas, e.g. `10 pvid untagged` (an access port) or `10, 20` (a trunk).
/// The port has exactly these: the default VLAN 1 only if listed.
pub fn parse_spec(text: &str) -> Result<PortVlans, String> {
    let mut table = PortVlans::default();
    for entry in text.split(',') {
        let mut words = entry.split_whitespace();
        let Some(ids) = words.next() else {
            return Err(format!(
                "'{text}': an empty entry; write VLANs as \"10 pvid untagged\" or \"10, 20\""
            ));
        };
        let id = |w: &str| {
            w.parse::<u16>()
                .ok()
                .filter(|v| (1..=VID_MAX).contains(v))
                .ok_or_else(|| format!("'{w}' is not a VLAN id (1-{VID_MAX})"))
        };
        let (first, last) = match ids.split_once('-') {
            Some((a, b)) => (id(a)?, id(b)?),
            None => (id(ids)?, id(ids)?),
        };
        if first > last {
            return Err(format!("'{ids}': a range goes up (VID-VID)"));
        }
        let (mut pvid, mut untagged) = (false, false);
        for w in words {
            match w {
                "pvid" => pvid = true,
                "untagged" => untagged = true,
                other => {
                    return Err(format!(
                        "'{other}' is not a VLAN flag (pvid, untagged) in '{}'",
                        entry.trim()
                    ));
                }
            }
        }
        if pvid && first != last {
            return Err(format!("'{}': a range cannot be the PVID", entry.trim()));
        }
        for vid in first..=last {
            if table.get(vid).is_some() {
                return Err(format!("VLAN {vid} is listed twice in '{text}'"));
            }
            if pvid && table.pvid.is_some() {
                return Err(format!("'{text}': one PVID per port"));
            }
            table.add(vid, pvid, untagged);
        }
    }
    Ok(table)
}

/// One device's lines of `bridge vlan show` (none when it has no VLAN `vid` asks for).
pub fn show_lines(out: &mut String, name: &str, table: &PortVlans, vid: Option<u16>) {
    let mut first = true;
    for e in table.sorted() {
        if vid.is_some_and(|v| v != e.vid) {
            continue;
        }
        let label = if first { name } else { "" };
        first = false;
        let _ = write!(out, "{label:<16}  {}", e.vid);
        if table.pvid == Some(e.vid) {
            out.push_str(" PVID");
        }
        if e.untagged {
            out.push_str(" Egress Untagged");
        }
        out.push('\n');
    }
}

/// The header of `bridge vlan show`.
pub const SHOW_HEADER: &str = "port              vlan-id  \n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::DropReason;

    fn cmd(line: &str) -> Result<VlanCmd, CmdError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        parse_cmd(&words)
    }

    #[test]
    fn parses_as_iproute2() {
        let c = cmd("add dev p1 vid 10 pvid untagged").unwrap();
        assert_eq!(
            (c.add, c.dev.as_str(), c.vids, c.pvid, c.untagged),
            (true, "p1", (10, 10), true, true)
        );
        let c = cmd("del vid 20-30 dev trunk").unwrap();
        assert_eq!((c.add, c.vids), (false, (20, 30)));
        assert!(cmd("a dev br0 vid 5 self").unwrap().own);
        let err = |line: &str| cmd(line).unwrap_err();
        assert_eq!(
            err("add dev p1"),
            (255, "Device and VLAN ID are required arguments.\n".into())
        );
        assert_eq!(
            err("add vid 3"),
            (255, "Device and VLAN ID are required arguments.\n".into())
        );
        assert_eq!(
            err("add dev p1 vid 5000"),
            (255, "Invalid VLAN ID \"5000\"\n".into())
        );
        assert_eq!(
            err("add dev p1 vid 30-20"),
            (255, "Invalid VLAN range \"30-20\"\n".into())
        );
        assert_eq!(
            err("add dev p1 vid 20-30 pvid"),
            (255, "pvid cannot be configured for a vlan range\n".into())
        );
        assert_eq!(
            err("add dev p1 vid"),
            (
                255,
                "Command line is not complete. Try option \"help\"\n".into()
            )
        );
        // atoi: "abc" is VLAN 0, which the kernel refuses.
        let c = cmd("add dev p1 vid abc").unwrap();
        let mut t = PortVlans::default_pvid();
        assert_eq!(
            apply(&c, &mut t),
            Err((255, "Error: bridge: Vlan id is invalid.\n".into()))
        );
        assert_eq!(t, PortVlans::default_pvid());
        assert_eq!(atoi_short("12x"), 12);
        assert_eq!(atoi_short("70000"), 4464);
    }

    #[test]
    fn pvid_moves_and_goes_as_the_kernel_does() {
        let mut t = PortVlans::default_pvid();
        t.add(10, true, true);
        assert_eq!(t.pvid(), Some(10));
        assert_eq!(
            t.get(1),
            Some(VlanEntry {
                vid: 1,
                untagged: true
            })
        );
        // Adding VLAN 10 again without pvid takes the PVID away; untagged goes too.
        t.add(10, false, false);
        assert_eq!(t.pvid(), None);
        assert_eq!(t.egress(10), Some(true));
        t.add(10, true, true);
        t.del(10);
        assert_eq!(t.pvid(), None);
        assert_eq!(t.egress(10), None);
        t.del(99);
        assert_eq!(t.newest_first().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn ingress_classifies_and_refuses() {
        let mut access = PortVlans::default();
        access.add(10, true, true);
        assert_eq!(access.ingress(None), Ok(10));
        assert_eq!(access.ingress(Some(Tci::vid(0))), Ok(10));
        assert_eq!(access.ingress(Some(Tci::vid(10))), Ok(10));
        assert_eq!(
            access.ingress(Some(Tci::vid(20))),
            Err(DropReason::VlanNotMember { vid: 20 })
        );
        let mut trunk = PortVlans::default();
        trunk.add(10, false, false);
        assert_eq!(trunk.ingress(None), Err(DropReason::NoPvid));
        assert_eq!(trunk.egress(10), Some(true));
        assert_eq!(access.egress(10), Some(false));
    }

    #[test]
    fn lab_specs() {
        let t = parse_spec("10 pvid untagged").unwrap();
        assert_eq!((t.pvid(), t.egress(10)), (Some(10), Some(false)));
        assert_eq!(t.get(1), None);
        let t = parse_spec("1 pvid untagged, 10, 20-22").unwrap();
        assert_eq!(t.sorted().len(), 5);
        assert_eq!(t.egress(21), Some(true));
        for bad in [
            "",
            "0",
            "4095",
            "10 tagged",
            "10-5",
            "10-12 pvid",
            "10, 10",
            "1 pvid, 2 pvid",
            "x",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn show_lines_as_iproute2_prints_them() {
        let mut t = PortVlans::default_pvid();
        t.add(20, false, false);
        t.add(10, false, false);
        let mut out = String::from(SHOW_HEADER);
        show_lines(&mut out, "trunk", &t, None);
        show_lines(&mut out, "p2", &PortVlans::default(), None);
        show_lines(&mut out, "p3", &t, Some(20));
        assert_eq!(
            out,
            "port              vlan-id  \n\
             trunk             1 PVID Egress Untagged\n\
             \x20                 10\n\
             \x20                 20\n\
             p3                20\n"
        );
    }
}

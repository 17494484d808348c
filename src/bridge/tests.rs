//! The bridge driven through the engine by probe nodes: what leaves which port.

use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};

use super::fdb::{DEFAULT_AGEING, DEFAULT_FDB_MAX};
use super::{Bridge, BridgeConfig, BridgePort};
use crate::id::NodeId;
use crate::link::LinkParams;
use crate::sim::Sim;
use crate::sim::probe::Probe;
use crate::time::{Duration, Instant};

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, 0, n])
}
const BCAST: EthernetAddress = EthernetAddress([0xff; 6]);

fn frame(src: EthernetAddress, dst: EthernetAddress) -> Vec<u8> {
    let mut buf = vec![0u8; 60];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    f.set_src_addr(src);
    f.set_dst_addr(dst);
    f.set_ethertype(EthernetProtocol::Ipv4);
    buf
}

struct Lab {
    sim: Sim,
    br: NodeId,
    probes: Vec<NodeId>,
}

fn lab(ports: usize, ageing: Duration, fdb_max: usize) -> Lab {
    let mut sim = Sim::new(1);
    let names: Vec<String> = (0..ports).map(|i| format!("p{i}")).collect();
    let bports = names
        .iter()
        .enumerate()
        .map(|(i, n)| BridgePort {
            name: n.clone(),
            mac: EthernetAddress([0x0a, 0, 0, 0, 0, i as u8]),
            own: false,
            hairpin: false,
        })
        .collect();
    let config = BridgeConfig {
        name: "br0".into(),
        mac: EthernetAddress([0x0a, 0, 0, 0, 1, 0]),
        ageing,
        fdb_max,
        stp: false,
    };
    let br = sim.add_node(Box::new(Bridge::new(config, bports)), &names);
    let mut probes = Vec::new();
    for i in 0..ports {
        let p = sim.add_node(
            Box::new(Probe::new(&format!("h{i}"), true)),
            &["eth0".into()],
        );
        sim.connect(
            sim.port(p, 0),
            sim.port(br, i as u16),
            LinkParams::default(),
        )
        .unwrap();
        probes.push(p);
    }
    Lab { sim, br, probes }
}

impl Lab {
    fn send(&mut self, from: usize, at: Instant, f: Vec<u8>) {
        let id = self.probes[from];
        self.sim.update::<Probe, _>(id, |p| p.send_at(at, 0, f));
        // Not to the end of time: the FDB's ageing timer would fire.
        let until = self.sim.now().max(at) + Duration::from_millis(1);
        self.sim.run_until(until);
    }
    fn counts(&mut self) -> Vec<u64> {
        self.probes
            .clone()
            .into_iter()
            .map(|p| self.sim.node_as::<Probe>(p).unwrap().count)
            .collect()
    }
    fn bridge(&mut self) -> &mut Bridge {
        let br = self.br;
        self.sim.node_as::<Bridge>(br).unwrap()
    }
}

#[test]
fn floods_unknown_then_forwards_learned() {
    let mut l = lab(3, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(0, Instant::ZERO, frame(mac(1), mac(2)));
    assert_eq!(
        l.counts(),
        [0, 1, 1],
        "unknown unicast floods, never back out"
    );
    l.send(1, Instant::ZERO, frame(mac(2), mac(1)));
    assert_eq!(l.counts(), [1, 1, 1], "learned destination: one port only");
    l.send(0, Instant::ZERO, frame(mac(1), mac(2)));
    assert_eq!(l.counts(), [1, 2, 1]);
    assert_eq!(l.bridge().fdb.lookup(mac(1)), Some(0));
    assert_eq!(l.bridge().fdb.lookup(mac(2)), Some(1));
}

#[test]
fn broadcast_floods_to_all_but_ingress() {
    let mut l = lab(4, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(2, Instant::ZERO, frame(mac(3), BCAST));
    assert_eq!(l.counts(), [1, 1, 0, 1]);
}

#[test]
fn destination_on_ingress_port_is_dropped() {
    let mut l = lab(2, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(0, Instant::ZERO, frame(mac(1), BCAST));
    l.send(0, Instant::ZERO, frame(mac(5), mac(1)));
    assert_eq!(l.counts(), [0, 1]);
    assert_eq!(l.bridge().counters.dropped_same_port, 1);
}

#[test]
fn entries_age_out_in_virtual_time() {
    let mut l = lab(3, Duration::from_secs(300), DEFAULT_FDB_MAX);
    l.send(1, Instant::ZERO, frame(mac(2), BCAST));
    assert_eq!(l.bridge().fdb.lookup(mac(2)), Some(1));
    // 299 s later it is still known: unicast goes to port 1 only.
    l.send(
        0,
        Instant::ZERO + Duration::from_secs(299),
        frame(mac(1), mac(2)),
    );
    assert_eq!(l.counts(), [1, 1, 1]);
    // At 300 s the entry expires (the bridge's timer fired): the frame floods again.
    l.send(
        0,
        Instant::ZERO + Duration::from_secs(300),
        frame(mac(1), mac(2)),
    );
    assert_eq!(l.bridge().fdb.lookup(mac(2)), None);
    assert_eq!(l.counts(), [1, 2, 2]);
}

#[test]
fn zero_ageing_is_a_hub() {
    let mut l = lab(3, Duration::ZERO, DEFAULT_FDB_MAX);
    l.send(1, Instant::ZERO, frame(mac(2), BCAST));
    assert_eq!(l.counts(), [1, 0, 1]);
    l.send(0, Instant::ZERO, frame(mac(1), mac(2)));
    assert_eq!(l.counts(), [1, 1, 2], "never learned: unicast floods");
    assert!(l.bridge().fdb.is_empty());
}

#[test]
fn full_fdb_does_not_learn_and_counts() {
    let mut l = lab(3, DEFAULT_AGEING, 1);
    l.send(0, Instant::ZERO, frame(mac(1), BCAST));
    l.send(1, Instant::ZERO, frame(mac(2), BCAST));
    assert_eq!(l.bridge().fdb.lookup(mac(2)), None);
    assert_eq!(l.bridge().fdb.not_learned, 1);
    assert_eq!(l.counts(), [1, 1, 2]);
    // Frames to the unlearned address keep flooding.
    l.send(0, Instant::ZERO, frame(mac(1), mac(2)));
    assert_eq!(l.counts(), [1, 2, 3]);
}

#[test]
fn invalid_source_is_dropped() {
    let mut l = lab(2, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(0, Instant::ZERO, frame(BCAST, mac(9)));
    l.send(0, Instant::ZERO, frame(EthernetAddress([0; 6]), mac(9)));
    assert_eq!(l.counts(), [0, 0]);
    assert_eq!(l.bridge().counters.dropped_bad_source, 2);
}

#[test]
fn station_move_relearns() {
    let mut l = lab(3, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(0, Instant::ZERO, frame(mac(1), BCAST));
    l.send(2, Instant::ZERO, frame(mac(1), BCAST));
    assert_eq!(l.bridge().fdb.lookup(mac(1)), Some(2));
    assert_eq!(l.bridge().fdb.moves, 1);
}

#[test]
fn fdb_listing_matches_iproute2() {
    let mut l = lab(2, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(0, Instant::ZERO, frame(mac(1), BCAST));
    let br = l.br;
    let text = l
        .sim
        .show(br, &["bridge".into(), "fdb".into(), "show".into()])
        .unwrap();
    assert_eq!(
        text,
        "01:00:5e:00:00:01 dev br0 self permanent\n\
         0a:00:00:00:01:00 dev br0 master br0 permanent\n\
         02:00:00:00:00:01 dev p0 master br0 \n\
         0a:00:00:00:00:00 dev p0 master br0 permanent\n\
         01:00:5e:00:00:01 dev p0 self permanent\n\
         0a:00:00:00:00:01 dev p1 master br0 permanent\n\
         01:00:5e:00:00:01 dev p1 self permanent\n"
    );
    let dynamic = l
        .sim
        .show(
            br,
            &[
                "bridge".into(),
                "fdb".into(),
                "show".into(),
                "dynamic".into(),
            ],
        )
        .unwrap();
    assert_eq!(dynamic, "02:00:00:00:00:01 dev p0 master br0 \n");
}

#[test]
fn a_deleted_port_takes_no_flood_and_its_entries_go_with_it() {
    let mut l = lab(3, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    l.send(2, Instant::ZERO, frame(mac(3), BCAST));
    assert_eq!(l.bridge().fdb.lookup(mac(3)), Some(2));
    // The veth of port 2 is deleted: unlinked, absent, forgotten.
    let port = l.sim.port(l.br, 2);
    l.sim.disconnect(port);
    l.sim.set_present(port, false);
    l.bridge().set_port_present(2, false);
    assert_eq!(l.bridge().fdb.lookup(mac(3)), None);
    let dropped = l.sim.stats.frames_dropped;
    l.send(0, Instant::ZERO, frame(mac(1), mac(3)));
    assert_eq!(l.counts(), [1, 2, 0], "floods to port 1 only");
    assert_eq!(
        l.sim.stats.frames_dropped, dropped,
        "no drop on a port that is gone"
    );
    let listing = l
        .sim
        .show(l.br, &["bridge".into(), "fdb".into(), "show".into()]);
    assert!(!listing.unwrap().contains("p2"));
    // A new veth on it: present again, it takes floods.
    let h2 = l.probes[2];
    l.sim
        .connect(l.sim.port(h2, 0), port, LinkParams::default())
        .unwrap();
    l.sim.set_present(port, true);
    l.bridge().set_port_present(2, true);
    l.send(0, Instant::ZERO, frame(mac(1), mac(3)));
    assert_eq!(l.counts(), [1, 3, 1]);
}

mod vlans {
    use super::*;
    use crate::bridge::vlan::parse_spec;
    use crate::wire::vlan::{Tci, retag, tag};

    fn tagged(f: Vec<u8>, vid: u16) -> Vec<u8> {
        let mut out = Vec::new();
        retag(&f, Some(Tci::vid(vid)), &mut out);
        out
    }

    /// p0, p3: access ports of VLAN 10; p1: access port of VLAN 20; p2: a trunk of both;
    /// p4: in VLAN 10 tagged only, without a PVID.
    fn vlan_lab() -> Lab {
        let mut l = lab(5, DEFAULT_AGEING, DEFAULT_FDB_MAX);
        let b = l.bridge();
        b.set_vlan_filtering(true);
        for (p, spec) in [
            (0, "10 pvid untagged"),
            (1, "20 pvid untagged"),
            (2, "10, 20"),
            (3, "10 pvid untagged"),
            (4, "10"),
        ] {
            b.set_port_vlans(p, parse_spec(spec).unwrap());
        }
        for p in l.probes.clone() {
            l.sim.update::<Probe, _>(p, |p| *p = Probe::new("h", true));
        }
        l
    }

    /// The VLAN tag each probe's last frame arrived with (None: untagged), if any arrived.
    fn last_tags(l: &mut Lab) -> Vec<Option<Option<u16>>> {
        l.probes
            .clone()
            .into_iter()
            .map(|p| {
                let probe = l.sim.node_as::<Probe>(p).unwrap();
                probe.received.last().map(|(_, _, f)| tag(f).map(|t| t.vid))
            })
            .collect()
    }

    #[test]
    fn a_broadcast_stays_in_its_vlan_tagged_on_the_trunk() {
        let mut l = vlan_lab();
        l.send(0, Instant::ZERO, frame(mac(1), BCAST));
        assert_eq!(l.counts(), [0, 0, 1, 1, 1]);
        assert_eq!(
            last_tags(&mut l),
            [None, None, Some(Some(10)), Some(None), Some(Some(10))]
        );
        // A frame tagged 20 on the trunk reaches VLAN 20's access port, untagged.
        l.send(2, Instant::ZERO, tagged(frame(mac(2), BCAST), 20));
        assert_eq!(l.counts(), [0, 1, 1, 1, 1]);
        assert_eq!(last_tags(&mut l)[1], Some(None));
    }

    #[test]
    fn learning_and_lookup_are_per_vlan() {
        let mut l = vlan_lab();
        // mac(9) speaks in VLAN 20 from the trunk; a frame to it in VLAN 10 is unknown there.
        l.send(2, Instant::ZERO, tagged(frame(mac(9), BCAST), 20));
        assert_eq!(l.bridge().fdb.lookup_in(mac(9), 20), Some(2));
        assert_eq!(l.bridge().fdb.lookup_in(mac(9), 10), None);
        l.send(0, Instant::ZERO, frame(mac(1), mac(9)));
        assert_eq!(l.counts(), [0, 1, 1, 1, 1], "flooded in VLAN 10");
        // In VLAN 20 it is known: one copy, out of the trunk, tagged.
        l.send(1, Instant::ZERO, frame(mac(3), mac(9)));
        assert_eq!(l.counts(), [0, 1, 2, 1, 1]);
        assert_eq!(last_tags(&mut l)[2], Some(Some(20)));
    }

    #[test]
    fn frames_outside_the_ports_vlans_are_dropped() {
        let mut l = vlan_lab();
        // Untagged on a port without a PVID; tagged 20 on an access port of 10; tagged 30 on
        // the trunk.
        l.send(4, Instant::ZERO, frame(mac(4), BCAST));
        l.send(0, Instant::ZERO, tagged(frame(mac(1), BCAST), 20));
        l.send(2, Instant::ZERO, tagged(frame(mac(2), BCAST), 30));
        assert_eq!(l.counts(), [0, 0, 0, 0, 0]);
        assert!(
            l.bridge().fdb.is_empty(),
            "nothing learned from dropped frames"
        );
        // Tagged 10 on the port without a PVID is fine.
        l.send(4, Instant::ZERO, tagged(frame(mac(4), BCAST), 10));
        assert_eq!(l.counts(), [1, 0, 1, 1, 0]);
    }

    #[test]
    fn without_filtering_a_tag_is_payload() {
        let mut l = lab(3, DEFAULT_AGEING, DEFAULT_FDB_MAX);
        for p in l.probes.clone() {
            l.sim.update::<Probe, _>(p, |p| *p = Probe::new("h", true));
        }
        l.send(0, Instant::ZERO, tagged(frame(mac(1), BCAST), 30));
        assert_eq!(l.counts(), [0, 1, 1]);
        assert_eq!(last_tags(&mut l)[1], Some(Some(30)));
        assert_eq!(l.bridge().fdb.lookup(mac(1)), Some(0));
    }

    #[test]
    fn listings_show_the_vlans() {
        let mut l = vlan_lab();
        l.send(2, Instant::ZERO, tagged(frame(mac(9), BCAST), 20));
        let now = l.sim.now();
        let show = |l: &mut Lab, cmd: &str| {
            let argv: Vec<String> = cmd.split(' ').map(String::from).collect();
            crate::sim::Node::show(l.bridge(), now, &argv, &[])
        };
        let vlans = show(&mut l, "bridge vlan show").unwrap();
        assert_eq!(
            vlans,
            "port              vlan-id  \n\
             br0               1 PVID Egress Untagged\n\
             p0                10 PVID Egress Untagged\n\
             p1                20 PVID Egress Untagged\n\
             p2                10\n\
             \x20                 20\n\
             p3                10 PVID Egress Untagged\n\
             p4                10\n"
        );
        let one = show(&mut l, "bridge vlan show dev p2 vid 20").unwrap();
        assert_eq!(one, "port              vlan-id  \np2                20\n");
        assert_eq!(
            show(&mut l, "bridge vlan show dev nope").unwrap_err(),
            "Cannot find device \"nope\""
        );
        let fdb = show(&mut l, "bridge fdb show dev p2").unwrap();
        assert_eq!(
            fdb,
            "02:00:00:00:00:09 dev p2 vlan 20 master br0 \n\
             0a:00:00:00:00:02 dev p2 vlan 20 master br0 permanent\n\
             0a:00:00:00:00:02 dev p2 vlan 10 master br0 permanent\n\
             0a:00:00:00:00:02 dev p2 master br0 permanent\n\
             01:00:5e:00:00:01 dev p2 self permanent\n"
        );
    }

    #[test]
    fn commands_change_the_table_as_iproute2_reports() {
        let mut l = vlan_lab();
        let run = |l: &mut Lab, cmd: &str| {
            let words: Vec<&str> = cmd.split(' ').collect();
            l.bridge().run_vlan_command(&words)
        };
        assert_eq!(
            run(&mut l, "bridge vlan add dev p4 vid 10 pvid untagged"),
            Some((0, String::new()))
        );
        assert_eq!(l.bridge().vlans().unwrap().port(4).pvid(), Some(10));
        assert_eq!(
            run(&mut l, "bridge vlan add dev p9 vid 10"),
            Some((255, "Cannot find bridge device \"p9\"\n".into()))
        );
        assert_eq!(
            run(&mut l, "bridge vlan add dev br0 vid 10"),
            Some((255, "RTNETLINK answers: Operation not supported\n".into()))
        );
        assert_eq!(
            run(&mut l, "bridge vlan add dev br0 vid 10 self"),
            Some((0, String::new()))
        );
        assert!(l.bridge().vlans().unwrap().bridge().get(10).is_some());
        assert_eq!(
            run(&mut l, "bridge vlan del dev p0 vid 10"),
            Some((0, String::new()))
        );
        assert_eq!(l.bridge().vlans().unwrap().port(0).pvid(), None);
        assert_eq!(
            run(&mut l, "ip link set br0 type bridge vlan_filtering 0"),
            Some((0, String::new()))
        );
        assert!(!l.bridge().vlan_filtering());
        assert_eq!(
            run(&mut l, "ip link set br9 type bridge vlan_filtering 1"),
            Some((1, "Cannot find device \"br9\"\n".into()))
        );
        assert_eq!(
            run(&mut l, "bridge vlan show"),
            None,
            "a listing, not a command"
        );
        assert!(crate::bridge::check_command(&["ping".to_string()]).is_err());
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(crate::bridge::check_command(&argv("bridge vlan add dev p1")).is_err());
        assert!(crate::bridge::check_command(&argv("bridge vlan add dev p1 vid 3")).is_ok());
        assert!(crate::bridge::check_command(&argv("bridge fdb show")).is_err());
    }
}

/// The namespace a bridge's device belongs to, as a test sees it: it drops what goes to
/// port `p2`, marks the rest (its last byte), and counts its calls.
#[derive(Default)]
struct Master {
    calls: u32,
    on: bool,
}

impl crate::sim::Node for Master {
    fn name(&self) -> &str {
        "ns"
    }
    fn kind(&self) -> &'static str {
        "router"
    }
    fn handle_frame(&mut self, _: Instant, _: u16, _: &[u8], _: &mut crate::sim::Ctx<'_>) {}
    fn handle_timeout(&mut self, _: Instant, _: &mut crate::sim::Ctx<'_>) {}
    fn poll_timeout(&mut self, _: Instant) -> Option<Instant> {
        None
    }
    fn show(
        &mut self,
        _: Instant,
        _: &[String],
        _: &[crate::sim::PortView],
    ) -> Result<String, String> {
        Ok(String::new())
    }
    fn bridge_filtering(&self, dev: &str) -> bool {
        self.on && dev == "br0"
    }
    fn bridge_forward(&mut self, _: Instant, _: &str, f: &mut [u8], ports: (&str, &str)) -> bool {
        self.calls += 1;
        if let Some(last) = f.last_mut() {
            *last = 0xee;
        }
        ports.1 != "p2"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[test]
fn forwarded_frames_go_through_the_namespace_holding_the_device() {
    let mut l = lab(3, DEFAULT_AGEING, DEFAULT_FDB_MAX);
    let ns = l.sim.add_node(Box::new(Master::default()), &[]);
    l.sim.update::<Bridge, _>(l.br, |b| b.set_master(ns, "br0"));
    // Learn every host's MAC first (floods are not filtered).
    for i in 0..3 {
        l.send(i, l.sim.now(), frame(mac(i as u8), BCAST));
    }
    l.send(0, l.sim.now(), frame(mac(0), mac(1)));
    l.send(0, l.sim.now(), frame(mac(0), mac(2)));
    // br_netfilter off: nothing asked.
    assert_eq!(l.sim.node_as::<Master>(ns).unwrap().calls, 0);
    l.sim.update::<Master, _>(ns, |m| m.on = true);
    let before = l.counts();
    l.send(0, l.sim.now(), frame(mac(0), mac(1)));
    l.send(0, l.sim.now(), frame(mac(0), mac(2)));
    let after = l.counts();
    assert_eq!(l.sim.node_as::<Master>(ns).unwrap().calls, 2);
    assert_eq!(after[1] - before[1], 1, "p1 gets the frame");
    assert_eq!(
        after[2] - before[2],
        0,
        "the namespace dropped what went to p2"
    );
    let got = l.sim.node_as::<Probe>(l.probes[1]).unwrap();
    assert_eq!(
        got.received.last().unwrap().2.last(),
        Some(&0xee),
        "rewritten"
    );
}

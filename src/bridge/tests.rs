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

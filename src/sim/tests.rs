//! Engine behaviour: ordering, link drops, determinism.

use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};

use crate::link::LinkParams;
use crate::sim::Sim;
use crate::sim::probe::Probe;
use crate::time::{Duration, Instant};

fn frame(n: u8, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    f.set_src_addr(EthernetAddress([2, 0, 0, 0, 0, n]));
    f.set_dst_addr(EthernetAddress([2, 0, 0, 0, 0, 99]));
    f.set_ethertype(EthernetProtocol::Ipv4);
    buf
}

fn pair(params: LinkParams, seed: u64) -> Sim {
    let mut sim = Sim::new(seed);
    let a = sim.add_node(Box::new(Probe::new("a", true)), &["eth0".into()]);
    let b = sim.add_node(Box::new(Probe::new("b", true)), &["eth0".into()]);
    sim.connect(sim.port(a, 0), sim.port(b, 0), params).unwrap();
    sim
}

fn received(sim: &mut Sim) -> Vec<(Instant, u8)> {
    let b = sim.find_node("b").unwrap();
    sim.node_as::<Probe>(b)
        .unwrap()
        .received
        .iter()
        .map(|(t, _, f)| (*t, f[11]))
        .collect()
}

#[test]
fn frames_keep_their_send_order_and_delay() {
    let mut sim = pair(LinkParams::default(), 1);
    let a = sim.find_node("a").unwrap();
    sim.update::<Probe, _>(a, |p| {
        for n in 0..5 {
            p.send_at(Instant::ZERO, 0, frame(n, 60));
        }
    });
    sim.run_until(Instant::MAX);
    let d = LinkParams::default().delay;
    let got = received(&mut sim);
    assert_eq!(
        got,
        (0..5).map(|n| (Instant::ZERO + d, n)).collect::<Vec<_>>()
    );
}

#[test]
fn mtu_drops_are_counted_on_the_sender() {
    let mut sim = pair(LinkParams::default(), 1);
    let a = sim.find_node("a").unwrap();
    sim.update::<Probe, _>(a, |p| {
        p.send_at(Instant::ZERO, 0, frame(1, 1515));
        p.send_at(Instant::ZERO, 0, frame(2, 1514));
    });
    sim.run_until(Instant::MAX);
    assert_eq!(received(&mut sim).len(), 1);
    assert_eq!(sim.port_stats(sim.port(a, 0)).tx_dropped, 1);
    assert_eq!(sim.stats.frames_dropped, 1);
}

#[test]
fn link_down_drops_and_up_restores() {
    let mut sim = pair(LinkParams::default(), 1);
    let a = sim.find_node("a").unwrap();
    let link = sim.link_of(sim.port(a, 0)).unwrap();
    sim.set_link_up(link, false);
    sim.update::<Probe, _>(a, |p| p.send_at(Instant::ZERO, 0, frame(1, 60)));
    sim.run_until(Instant::MAX);
    assert!(received(&mut sim).is_empty());
    sim.set_link_up(link, true);
    let t = sim.now() + Duration::from_secs(1);
    sim.update::<Probe, _>(a, |p| p.send_at(t, 0, frame(2, 60)));
    sim.run_until(Instant::MAX);
    assert_eq!(received(&mut sim).len(), 1);
}

#[test]
fn lossy_jittery_links_are_reproducible() {
    let params = LinkParams {
        loss: 0.3,
        jitter: Duration::from_micros(50),
        rate_bps: Some(100_000_000),
        ..LinkParams::default()
    };
    let run = |seed| {
        let mut sim = pair(params.clone(), seed);
        let a = sim.find_node("a").unwrap();
        sim.update::<Probe, _>(a, |p| {
            for n in 0..100u8 {
                p.send_at(
                    Instant::ZERO + Duration::from_micros(u64::from(n)),
                    0,
                    frame(n, 200),
                );
            }
        });
        sim.run_until(Instant::MAX);
        received(&mut sim)
    };
    let first = run(7);
    assert_eq!(first, run(7), "same seed, same fate for every frame");
    assert_ne!(first, run(8), "another seed, other losses");
    assert!(first.len() > 40 && first.len() < 95, "{}", first.len());
    // Jitter reorders: arrival times are sorted, frame numbers need not be.
    assert!(first.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn timers_are_stale_safe() {
    // A probe scheduled twice for the same instant sends both frames once each.
    let mut sim = pair(LinkParams::default(), 1);
    let a = sim.find_node("a").unwrap();
    let t = Instant::ZERO + Duration::from_secs(2);
    sim.update::<Probe, _>(a, |p| p.send_at(t, 0, frame(1, 60)));
    sim.run_until(Instant::ZERO + Duration::from_secs(1));
    sim.update::<Probe, _>(a, |p| p.send_at(t, 0, frame(2, 60)));
    sim.run_until(Instant::MAX);
    assert_eq!(received(&mut sim).len(), 2);
}

#[test]
fn a_frame_on_the_wire_of_a_deleted_link_is_lost() {
    let mut sim = pair(LinkParams::default(), 1);
    let a = sim.find_node("a").unwrap();
    sim.update::<Probe, _>(a, |p| p.send_at(Instant::ZERO, 0, frame(1, 60)));
    // The frame left (its delay is still running) when the link goes.
    sim.run_until(Instant::ZERO);
    sim.disconnect(sim.port(a, 0));
    sim.run_until(Instant::MAX);
    assert!(received(&mut sim).is_empty());
    assert_eq!(sim.stats.frames_dropped, 1);
    // Both ends are free again.
    let b = sim.find_node("b").unwrap();
    assert!(
        sim.connect(sim.port(a, 0), sim.port(b, 0), LinkParams::default())
            .is_ok()
    );
}

#[test]
fn names_are_found_in_small_and_large_nodes() {
    let mut sim = Sim::new(1);
    let many: Vec<String> = (0..100).map(|i| format!("veth{i}")).collect();
    let big = sim.add_node(Box::new(Probe::new("big", false)), &many);
    let small = sim.add_node(Box::new(Probe::new("small", false)), &["eth0".into()]);
    // A second node of the same name is never the one found.
    sim.add_node(Box::new(Probe::new("small", false)), &["eth1".into()]);
    assert_eq!(sim.find_node("big"), Some(big));
    assert_eq!(sim.find_node("small"), Some(small));
    assert_eq!(sim.find_node("none"), None);
    assert_eq!(sim.find_port(big, "veth57"), Some(sim.port(big, 57)));
    assert_eq!(sim.find_port(big, "veth100"), None);
    assert_eq!(sim.find_port(small, "eth0"), Some(sim.port(small, 0)));
    assert_eq!(sim.find_port(small, "eth1"), None);
}

/// A flood to hosts that ignore it (ARP for another address) changes nothing they do: the
/// one it is for still answers, and every host still sees the request in the capture.
#[test]
fn a_flood_reaches_hosts_that_ignore_it() {
    let p = crate::bench::ping_all(20, None);
    assert_eq!(p.replies, 20);
}

/// A port added after the node (`ip link add` at run time) carries frames like the others.
#[test]
fn ports_added_later_carry_frames() {
    let mut sim = Sim::new(1);
    let a = sim.add_node(Box::new(Probe::new("a", true)), &["p0".into()]);
    let b = sim.add_node(Box::new(Probe::new("b", true)), &["p0".into()]);
    let late = sim.add_port(a, "p1");
    assert_eq!(sim.local_of(late), 1);
    assert_eq!(sim.port_count(a), 2);
    assert_eq!(sim.find_port(a, "p1"), Some(late));
    let other = sim.add_port(b, "p1");
    sim.connect(late, other, LinkParams::default()).unwrap();
    assert_eq!(sim.peer_of(late), Some(other));
    assert_eq!(sim.port(a, 1), late);
}

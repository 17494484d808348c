//! Bridge forwarding through the engine allocates nothing per frame once warm.

mod counting_alloc;

use hoplab::bridge::Bridge;
use hoplab::link::LinkParams;
use hoplab::sim::Sim;
use hoplab::sim::probe::Probe;
use hoplab::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};

fn frame(src: u8, dst: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    f.set_src_addr(EthernetAddress([2, 0, 0, 0, 0, src]));
    f.set_dst_addr(EthernetAddress([2, 0, 0, 0, 0, dst]));
    f.set_ethertype(EthernetProtocol::Ipv4);
    buf
}

#[test]
fn bridge_forwarding_does_not_allocate_per_frame() {
    let mut sim = Sim::new(1);
    let (bridge, names) = Bridge::numbered("br0", "p", 2);
    let br = sim.add_node(Box::new(bridge), &names);
    let a = sim.add_node(Box::new(Probe::new("a", false)), &["eth0".into()]);
    let b = sim.add_node(Box::new(Probe::new("b", false)), &["eth0".into()]);
    // Zero delay, as in `bridge_mpps`: each burst of 64 is delivered before the source's next
    // wake-up, so a bounded number of frames is in flight and the pool can recycle them.
    let zero = LinkParams {
        delay: Duration::ZERO,
        ..LinkParams::default()
    };
    sim.connect(sim.port(a, 0), sim.port(br, 0), zero.clone())
        .unwrap();
    sim.connect(sim.port(b, 0), sim.port(br, 1), zero).unwrap();
    sim.update::<Probe, _>(b, |p| p.send_at(Instant::ZERO, 0, frame(2, 1)));
    sim.update::<Probe, _>(a, |p| p.send_at(Instant::ZERO, 0, frame(1, 2)));
    sim.run_until(Instant::ZERO + Duration::from_millis(1));

    // Warm up: queues and pools reach their steady size.
    let one = frame(1, 2);
    let run = |sim: &mut Sim, n: u64| {
        sim.update::<Probe, _>(a, |p| p.blast(one.clone(), n, 64));
        let until = sim.now() + Duration::from_millis(1);
        sim.run_until(until);
    };
    run(&mut sim, 10_000);
    let before_frames = sim.node_as::<Probe>(b).unwrap().count;
    let before = counting_alloc::allocations();
    // The blast's own frame copy is made before counting starts.
    sim.update::<Probe, _>(a, |p| p.blast(one.clone(), 100_000, 64));
    let counted_from = counting_alloc::allocations();
    let until = sim.now() + Duration::from_millis(1);
    sim.run_until(until);
    let after = counting_alloc::allocations();
    let forwarded = sim.node_as::<Probe>(b).unwrap().count - before_frames;
    assert_eq!(forwarded, 100_000);
    assert!(
        counted_from - before <= 2,
        "setting up the blast allocated {}",
        counted_from - before
    );
    assert_eq!(
        after - counted_from,
        0,
        "allocations while forwarding 100,000 frames"
    );
}

//! IPv6 routing through the engine allocates nothing per frame once warm. (A binary of
//! its own: the allocation count is global, and another test running beside it would
//! count too.)

mod counting_alloc;

use hoplab::link::LinkParams;
use hoplab::sim::Sim;
use hoplab::sim::probe::Probe;
use hoplab::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};

/// A 64-byte IPv6 UDP frame from 2001:db8:1::10 to 2001:db8:2::20, to the router's MAC.
fn frame6() -> Vec<u8> {
    use smoltcp::wire::{IpProtocol, Ipv6Address, Ipv6Packet};
    let mut buf = vec![0u8; 64];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    f.set_src_addr(EthernetAddress([2, 0, 0, 0, 1, 1]));
    f.set_dst_addr(EthernetAddress([2, 0, 0, 0, 0, 0x10]));
    f.set_ethertype(EthernetProtocol::Ipv6);
    let mut ip = Ipv6Packet::new_unchecked(f.payload_mut());
    ip.set_version(6);
    ip.set_payload_len(10);
    ip.set_next_header(IpProtocol::Udp);
    ip.set_hop_limit(64);
    ip.set_src_addr(Ipv6Address::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10));
    ip.set_dst_addr(Ipv6Address::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x20));
    buf
}

#[test]
fn ipv6_forwarding_does_not_allocate_per_frame() {
    use hoplab::netfilter::rules::IptablesVersion;
    use hoplab::router::ipv6::icmp6::neighbor_solicit;
    use hoplab::router::{Router, RouterConfig, RouterIface};
    use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
    let iface = |name: &str, mac: u8, net: u16| RouterIface {
        name: name.into(),
        mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
        addrs: Vec::new(),
        mtu: 1500,
        ipv6: Some(vec![Ipv6Cidr::new(
            Ipv6Address::new(0x2001, 0xdb8, net, 0, 0, 0, 0, 1),
            64,
        )]),
    };
    let router = Router::new(
        RouterConfig {
            name: "r".into(),
            ifaces: vec![iface("eth0", 0x10, 1), iface("eth1", 0x11, 2)],
            forwarding: true,
            routes: Vec::new(),
            iptables_version: IptablesVersion::V1_8_10,
            iptables: Vec::new(),
        },
        1,
    )
    .unwrap();
    let mut sim = Sim::new(1);
    let r = sim.add_node(Box::new(router), &["eth0".into(), "eth1".into()]);
    let a = sim.add_node(Box::new(Probe::new("a", false)), &["eth0".into()]);
    let b = sim.add_node(Box::new(Probe::new("b", false)), &["eth0".into()]);
    let zero = LinkParams {
        delay: Duration::ZERO,
        ..LinkParams::default()
    };
    sim.connect(sim.port(a, 0), sim.port(r, 0), zero.clone())
        .unwrap();
    sim.connect(sim.port(b, 0), sim.port(r, 1), zero).unwrap();
    // b solicits the router's address: the router learns b.
    let b_ip = Ipv6Address::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x20);
    let router_ip = Ipv6Address::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);
    let ns = neighbor_solicit(
        Vec::new(),
        (EthernetAddress([2, 0, 0, 0, 2, 1]), b_ip),
        router_ip,
        None,
    );
    sim.update::<Probe, _>(b, |p| p.send_at(Instant::ZERO, 0, ns));
    sim.run_until(Instant::ZERO);

    let one = frame6();
    let run = |sim: &mut Sim, n: u64| {
        sim.update::<Probe, _>(a, |p| p.blast(one.clone(), n, 64));
        let until = sim.now();
        sim.run_until(until);
    };
    run(&mut sim, 10_000);
    let before_frames = sim.node_as::<Probe>(b).unwrap().count;
    let before = counting_alloc::allocations();
    sim.update::<Probe, _>(a, |p| p.blast(one.clone(), 100_000, 64));
    let counted_from = counting_alloc::allocations();
    let until = sim.now();
    sim.run_until(until);
    let after = counting_alloc::allocations();
    let forwarded = sim.node_as::<Probe>(b).unwrap().count - before_frames;
    assert_eq!(forwarded, 100_000);
    assert!(counted_from - before <= 2);
    assert_eq!(
        after - counted_from,
        0,
        "allocations while routing 100,000 IPv6 frames"
    );
}

//! Garbage on the wire never panics a node: random bytes and every truncation of real frames
//! are fed to a bridge and to smoltcp hosts.

use hoplab::bridge::Bridge;
use hoplab::host::{Host, HostConfig, IfaceConfig};
use hoplab::link::LinkParams;
use hoplab::rand::Rng;
use hoplab::sim::Sim;
use hoplab::sim::probe::Probe;
use hoplab::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

fn host(name: &str, last: u8) -> Host {
    Host::new(
        HostConfig {
            name: name.into(),
            ifaces: vec![IfaceConfig {
                name: "eth0".into(),
                mac: EthernetAddress([2, 0, 0, 0, 0, last]),
                cidr: Some(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, last), 24)),
                mtu: 1500,
                ipv6: None,
            }],
            gateway: None,
            announce: 0,
        },
        1,
    )
}

#[test]
fn random_and_truncated_frames_are_dropped_without_panic() {
    let mut sim = Sim::new(3);
    let (bridge, names) = Bridge::numbered("br0", "p", 3);
    let br = sim.add_node(Box::new(bridge), &names);
    let fuzz = sim.add_node(Box::new(Probe::new("fuzz", false)), &["eth0".into()]);
    let a = sim.add_node(Box::new(host("a", 1)), &["eth0".into()]);
    let b = sim.add_node(Box::new(host("b", 2)), &["eth0".into()]);
    for (i, n) in [fuzz, a, b].into_iter().enumerate() {
        sim.connect(
            sim.port(n, 0),
            sim.port(br, i as u16),
            LinkParams::default(),
        )
        .unwrap();
    }
    // Real traffic first, so the hosts have sockets and neighbours to confuse.
    let _ = sim.start_command(
        b,
        hoplab::sim::CmdId(0),
        &["http-server".into(), "80".into()],
        "",
    );
    let _ = sim.start_command(
        a,
        hoplab::sim::CmdId(1),
        &["curl".into(), "-s".into(), "http://10.0.0.2/".into()],
        "",
    );
    sim.run_until(Instant::ZERO + Duration::from_millis(10));
    let finished = sim.take_finished();
    assert_eq!(finished.len(), 1, "curl finished");

    // Valid-looking headers aimed at the hosts, then cut at every length, plus random bytes.
    let mut rng = Rng::new(7);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for dst in [[2, 0, 0, 0, 0, 1], [0xff; 6]] {
        for ethertype in [[0x08, 0x00], [0x08, 0x06]] {
            let mut f = Vec::new();
            f.extend_from_slice(&dst);
            f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
            f.extend_from_slice(&ethertype);
            // An IPv4 header to 10.0.0.1 claiming TCP, with random rest.
            f.extend_from_slice(&[
                0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 9, 10, 0, 0, 1,
            ]);
            for _ in 0..60 {
                f.push(rng.next_u64() as u8);
            }
            for cut in 0..=f.len() {
                frames.push(f[..cut].to_vec());
            }
        }
    }
    for _ in 0..2000 {
        let len = rng.below(200) as usize;
        frames.push((0..len).map(|_| rng.next_u64() as u8).collect());
    }
    let start = sim.now();
    let count = frames.len();
    sim.update::<Probe, _>(fuzz, |p| {
        for (i, f) in frames.into_iter().enumerate() {
            p.send_at(start + Duration::from_micros(i as u64), 0, f);
        }
    });
    sim.run_until(start + Duration::from_secs(1));
    assert!(sim.stats.frames_sent as usize >= count);

    // The hosts still work.
    let _ = sim.start_command(
        a,
        hoplab::sim::CmdId(2),
        &["curl".into(), "-s".into(), "http://10.0.0.2/".into()],
        "",
    );
    let until = sim.now() + Duration::from_secs(1);
    sim.run_until(until);
    let done = sim.take_finished();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.status, Some(200), "{:?}", done[0].1);
}

//! Benchmarks of the router's NAT path: a router with one MASQUERADE rule between a frame
//! source and a sink (zero-delay links, so a burst is delivered before the next one), and an
//! end-to-end TCP transfer from a container through a bridge and NAT.

use std::time::Instant as Wall;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, IpAddress, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv4Repr, UdpPacket,
    UdpRepr,
};

use crate::id::NodeId;
use crate::link::LinkParams;
use crate::netfilter::rules::IptablesVersion;
use crate::rand::Rng;
use crate::router::{Router, RouterConfig, RouterIface};
use crate::sim::probe::Probe;
use crate::sim::{CmdId, Sim};
use crate::time::{Duration, Instant};

const INSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x10]);
const OUTSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x11]);
const SRC_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 1]);
const SINK_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 2, 1]);
const PUBLIC: Ipv4Address = Ipv4Address::new(192, 0, 2, 10);
const REMOTE: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);

/// A 64-byte Ethernet frame carrying UDP (22 bytes of payload).
pub fn udp_frame(
    (src_mac, dst_mac): (EthernetAddress, EthernetAddress),
    (src, sport): (Ipv4Address, u16),
    (dst, dport): (Ipv4Address, u16),
) -> Vec<u8> {
    let payload = [0x5au8; 64 - 14 - 20 - 8];
    let udp = UdpRepr {
        src_port: sport,
        dst_port: dport,
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        hop_limit: 64,
    };
    let mut buf = vec![0u8; 64];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let caps = ChecksumCapabilities::default();
    let mut ipp = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut ipp, &caps);
    let mut u = UdpPacket::new_unchecked(ipp.payload_mut());
    udp.emit(
        &mut u,
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        payload.len(),
        |b| b.copy_from_slice(&payload),
        &caps,
    );
    buf
}

fn arp_request(mac: EthernetAddress, ip: Ipv4Address, target: Ipv4Address) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut buf = vec![0u8; 14 + repr.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.set_src_addr(mac);
    eth.set_dst_addr(EthernetAddress::BROADCAST);
    eth.set_ethertype(EthernetProtocol::Arp);
    repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    buf
}

/// A router between a frame source (its `eth0`) and a sink (its `eth1`).
pub(super) struct NatBench {
    sim: Sim,
    pub(super) src: NodeId,
    pub(super) sink: NodeId,
}

/// src — router (MASQUERADE out of eth1) — sink, the router's neighbours already known.
fn nat_bench() -> NatBench {
    nat_bench_with(
        &["iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -o eth1 -j MASQUERADE"],
        "",
    )
}

/// The same router, its rules given as iptables commands and an nft ruleset.
fn nat_bench_with(iptables: &[&str], nft: &str) -> NatBench {
    let iface = |name: &str, mac, cidr: &str| RouterIface {
        name: name.into(),
        mac,
        addrs: vec![
            cidr.parse::<Ipv4Cidr>()
                .unwrap_or(Ipv4Cidr::new(PUBLIC, 24)),
        ],
        mtu: 1500,
        ipv6: None,
    };
    let config = RouterConfig {
        name: "router".into(),
        ifaces: vec![
            iface("eth0", INSIDE_MAC, "172.17.0.1/16"),
            iface("eth1", OUTSIDE_MAC, "192.0.2.10/24"),
        ],
        forwarding: true,
        routes: Vec::new(),
        iptables_version: IptablesVersion::V1_8_10,
        iptables: iptables
            .iter()
            .map(|c| c.split_whitespace().map(String::from).collect())
            .collect(),
    };
    let mut router = Router::new(config, 1).expect("router");
    if !nft.is_empty() {
        router.nft_load(nft).expect("the benchmark's ruleset");
    }
    let mut b = NatBench::around(router);
    // The sink asks for the router's address: the router learns it, as the kernel does.
    b.send(b.sink, vec![arp_request(SINK_MAC, REMOTE, PUBLIC)]);
    b
}

impl NatBench {
    /// `router` wired to the source and the sink by zero-delay links.
    pub(super) fn around(router: Router) -> NatBench {
        let mut sim = Sim::new(1);
        let r = sim.add_node(Box::new(router), &["eth0".into(), "eth1".into()]);
        let src = sim.add_node(Box::new(Probe::new("src", false)), &["eth0".into()]);
        let sink = sim.add_node(Box::new(Probe::new("sink", false)), &["eth0".into()]);
        let zero = LinkParams {
            delay: Duration::ZERO,
            ..LinkParams::default()
        };
        let _ = sim.connect(sim.port(src, 0), sim.port(r, 0), zero.clone());
        let _ = sim.connect(sim.port(sink, 0), sim.port(r, 1), zero);
        sim.run_until(Instant::ZERO);
        NatBench { sim, src, sink }
    }

    pub(super) fn send(&mut self, from: NodeId, frames: Vec<Vec<u8>>) {
        let now = self.sim.now();
        self.sim.update::<Probe, _>(from, |p| {
            for f in frames {
                p.send_at(now, 0, f);
            }
        });
        self.sim.run_until(now);
    }

    /// Sends `total` frames cycling through `frames`; returns frames delivered per wall second.
    pub(super) fn blast(&mut self, frames: Vec<Vec<u8>>, total: u64) -> f64 {
        let (got, secs) = self.blast_timed(frames, total);
        got as f64 / secs
    }

    /// As `blast`: the frames delivered and the wall seconds it took.
    pub(super) fn blast_timed(&mut self, frames: Vec<Vec<u8>>, total: u64) -> (u64, f64) {
        let before = self.sim.node_as::<Probe>(self.sink).map_or(0, |p| p.count);
        self.sim
            .update::<Probe, _>(self.src, |p| p.blast_cycle(frames, total, 64));
        let t = Wall::now();
        let now = self.sim.now();
        self.sim.run_until(now);
        let secs = t.elapsed().as_secs_f64();
        let got = self.sim.node_as::<Probe>(self.sink).map_or(0, |p| p.count) - before;
        (got, secs)
    }
}

fn outbound(src: Ipv4Address, sport: u16, dport: u16) -> Vec<u8> {
    udp_frame((SRC_MAC, INSIDE_MAC), (src, sport), (REMOTE, dport))
}

/// 64-byte UDP frames of one established flow through MASQUERADE, in millions per second.
pub fn nat_mpps(frames: u64) -> f64 {
    let mut b = nat_bench();
    let inside = Ipv4Address::new(172, 17, 0, 2);
    b.send(b.src, vec![outbound(inside, 40000, 5000)]);
    // The remote answers once: the flow is ESTABLISHED.
    let reply = udp_frame((SINK_MAC, OUTSIDE_MAC), (REMOTE, 5000), (PUBLIC, 40000));
    b.send(b.sink, vec![reply]);
    b.blast(vec![outbound(inside, 40000, 5000)], frames) / 1e6
}

/// The ruleset of `nft_nat_mpps`: a stateful forward chain with a set of ports, and
/// masquerade, as an nftables host firewall writes them.
const NFT_NAT: &str = "table inet fw {
    set ports { type inet_service; elements = { 53, 443, 5000, 8080 } }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname \"eth0\" udp dport @ports ct state new accept
    }
}
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname \"eth1\" ip saddr 172.17.0.0/16 masquerade
    }
}
";

/// As [`nat_mpps`], the router's rules in nftables: a stateful forward chain with a set of
/// ports, and masquerade.
pub fn nft_nat_mpps(frames: u64) -> f64 {
    let mut b = nat_bench_with(&[], NFT_NAT);
    let inside = Ipv4Address::new(172, 17, 0, 2);
    b.send(b.src, vec![outbound(inside, 40000, 5000)]);
    let reply = udp_frame((SINK_MAC, OUTSIDE_MAC), (REMOTE, 5000), (PUBLIC, 40000));
    b.send(b.sink, vec![reply]);
    b.blast(vec![outbound(inside, 40000, 5000)], frames) / 1e6
}

/// `flows` distinct flows, each (source, port) unique so MASQUERADE keeps every port.
fn flows(flows: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = (0..flows)
        .map(|i| {
            let src = Ipv4Address::new(172, 17, (i / 250) as u8, (i % 250) as u8 + 2);
            let sport = 1024 + (i % 60_000) as u16;
            outbound(src, sport, 5000 + (i / 60_000) as u16)
        })
        .collect();
    // A seeded shuffle: lookups visit the table in no particular order.
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

/// The batches `conntrack_slowdown` alternates between its two routers, each way.
pub const CONNTRACK_BATCHES: u64 = 10;

/// Extra per-packet cost of NAT forwarding with 100,000 live flows against 10, as a fraction.
/// Two routers live in one process, one with each table, and take `packets` each in
/// alternating batches, so a slow spell of a shared machine weighs on both alike.
pub fn conntrack_slowdown(packets: u64) -> f64 {
    let setup = |n: usize| {
        let mut b = nat_bench();
        let frames = flows(n, &mut Rng::new(7));
        // First pass: every flow gets its entry.
        b.blast(frames.clone(), n as u64);
        (b, frames)
    };
    let mut small = setup(10);
    let mut large = setup(100_000);
    let batch = (packets / CONNTRACK_BATCHES).max(1);
    let (mut small_t, mut large_t) = ((0, 0.0), (0, 0.0));
    for _ in 0..CONNTRACK_BATCHES {
        for ((b, frames), total) in [(&mut small, &mut small_t), (&mut large, &mut large_t)] {
            let (got, secs) = b.blast_timed(frames.clone(), batch);
            total.0 += got;
            total.1 += secs;
        }
    }
    let rate = |(got, secs): (u64, f64)| got as f64 / secs;
    rate(small_t) / rate(large_t) - 1.0
}

/// The Docker host of lab 03 in miniature: c1 on docker0, MASQUERADE out of eth0 to remote.
fn nat_lab() -> Option<(Sim, NodeId, NodeId)> {
    lab_nodes(NAT_LAB)
}

/// The lab's simulation and its `c1` and `remote` nodes.
fn lab_nodes(text: &str) -> Option<(Sim, NodeId, NodeId)> {
    let lab = crate::scenario::parse(text, "bench").ok()?;
    let sim = crate::scenario::build::build(&lab, 1).ok()?;
    let (c1, remote) = (sim.find_node("c1")?, sim.find_node("remote")?);
    Some((sim, c1, remote))
}

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// 64-byte UDP payloads from a container's socket to a remote host's, through the bridge and
/// MASQUERADE: millions of datagrams received per wall second.
pub fn udp_nat_mpps(datagrams: u64) -> f64 {
    let Some((mut sim, c1, remote)) = nat_lab() else {
        return 0.0;
    };
    // Resolve ARP along the path first: datagrams sent while a neighbour is unresolved wait
    // in a bounded queue (`unres_qlen`), and the measure is of the steady state.
    let _ = sim.start_command(c1, CmdId(9), &argv("ping -c 1 192.0.2.1"), "");
    super::wait_for(&mut sim, CmdId(9));
    let t = Wall::now();
    let _ = sim.start_command(
        remote,
        CmdId(0),
        &argv(&format!("udp-recv 5000 {datagrams}")),
        "",
    );
    let cmd = format!("udp-send -s 64 192.0.2.1 5000 {datagrams}");
    let _ = sim.start_command(c1, CmdId(1), &argv(&cmd), "");
    let got = super::wait_for(&mut sim, CmdId(0))
        .and_then(|r| r.received)
        .unwrap_or(0);
    got as f64 / t.elapsed().as_secs_f64() / 1e6
}

const NAT_LAB: &str = "version: 1
name: bench
captures: none
bridges:
  - {name: docker0, host: dockerhost}
routers:
  - name: dockerhost
    interfaces: {eth0: 192.0.2.10/24, docker0: 172.17.0.1/16}
    iptables:
      - iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
hosts:
  - {name: c1, interfaces: {eth0: 172.17.0.2/16}, gateway: 172.17.0.1}
  - {name: remote, interfaces: {eth0: 192.0.2.1/24}}
links:
  - [c1:eth0, docker0:veth1]
  - [remote:eth0, dockerhost:eth0]
";

/// TCP bulk from a container through a bridge and MASQUERADE to a remote host: simulated
/// payload Gbit/s per wall second. Without captures, or capturing into `capture` as a run
/// does by default (`all.pcapng`).
pub fn tcp_nat_gbps(bytes: u64, capture: Option<&std::path::PathBuf>) -> f64 {
    let Some((mut sim, c1, remote)) = nat_lab() else {
        return 0.0;
    };
    let t = Wall::now();
    if let Some(dir) = capture {
        match crate::capture::Capture::create(crate::capture::CaptureMode::default(), dir) {
            Ok(c) => sim.attach_capture(c),
            Err(e) => log::warn!("bench capture: {e}"),
        }
    }
    let _ = sim.start_command(remote, CmdId(0), &argv("bulk-recv 40000"), "");
    let cmd = format!("bulk-send 192.0.2.1 40000 {bytes}");
    let _ = sim.start_command(c1, CmdId(1), &argv(&cmd), "");
    let ok = super::wait_for(&mut sim, CmdId(1)).is_some_and(|r| r.exit_code == 0);
    if let Some(mut c) = sim.take_capture() {
        let _ = c.finish();
    }
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        return 0.0;
    }
    bytes as f64 * 8.0 / secs / 1e9
}

/// A Docker host as `docker:` makes it: `c1` on a network with IPv6 (a ULA subnet, so NAT66)
/// and `remote` on the LAN. Docker's own ip6tables rules decide each packet.
const DOCKER_NAT6_LAB: &str = "version: 1
name: bench
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24, ipv6: '2001:db8::10/64'}
  networks:
    - {name: v6net, subnet: 172.18.0.0/16, subnet6: 'fd00:18::/64'}
  containers:
    - {name: c1, networks: [v6net]}
hosts:
  - {name: remote, interfaces: {eth0: {ip: 192.0.2.1/24, ipv6: '2001:db8::1/64'}}}
links:
  - [dockerhost:eth0, remote:eth0]
";

/// TCP bulk over IPv6 from a container on a Docker network with IPv6 through the Docker
/// host's bridge, its FORWARD chains and NAT66 MASQUERADE to a remote host: simulated
/// payload Gbit/s per wall second, no capture.
pub fn tcp_nat6_gbps(bytes: u64) -> f64 {
    let Some((mut sim, c1, remote)) = lab_nodes(DOCKER_NAT6_LAB) else {
        return 0.0;
    };
    let t = Wall::now();
    let _ = sim.start_command(remote, CmdId(0), &argv("bulk-recv 40000"), "");
    let cmd = format!("bulk-send 2001:db8::1 40000 {bytes}");
    let _ = sim.start_command(c1, CmdId(1), &argv(&cmd), "");
    let ok = super::wait_for(&mut sim, CmdId(1)).is_some_and(|r| r.exit_code == 0);
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        return 0.0;
    }
    bytes as f64 * 8.0 / secs / 1e9
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nat_benchmarks_move_traffic() {
        assert!(super::nat_mpps(1000) > 0.0);
        // Every frame of the nft router's flow crosses it.
        let mut b = super::nat_bench_with(&[], super::NFT_NAT);
        let inside = super::Ipv4Address::new(172, 17, 0, 2);
        let (got, _) = b.blast_timed(vec![super::outbound(inside, 40000, 5000)], 1000);
        assert_eq!(got, 1000);
        let (got, _) = b.blast_timed(vec![super::outbound(inside, 40000, 9)], 10);
        assert_eq!(got, 0, "port 9 is not in the set");
        assert!(super::tcp_nat_gbps(1_000_000, None) > 0.0);
        let dir = tempfile::tempdir().unwrap();
        assert!(super::tcp_nat_gbps(1_000_000, Some(&dir.path().to_path_buf())) > 0.0);
        assert!(dir.path().join("all.pcapng").is_file());
        assert!(super::udp_nat_mpps(1_000) > 0.0);
        assert!(super::tcp_nat6_gbps(1_000_000) > 0.0);
    }
}

//! Lab 21 through the CLI: path-MTU discovery, a black hole, and MSS clamping, read back
//! from the captures.

mod common;

use std::path::Path;

use pcap_file::pcap::PcapReader;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket,
};

use common::{run, text};

const LAB: &str = "scenarios/21-path-mtu.yaml";
const SERVER: Ipv4Address = Ipv4Address::new(10, 0, 2, 10);
const CLIENT: Ipv4Address = Ipv4Address::new(10, 0, 1, 10);

/// (seconds since the lab began, the IPv4 packet) of every IPv4 frame.
fn packets(path: &Path) -> Vec<(f64, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap record");
        let eth = EthernetFrame::new_checked(&pkt.data[..]).unwrap();
        if eth.ethertype() == EthernetProtocol::Ipv4 {
            out.push((pkt.timestamp.as_secs_f64(), eth.payload().to_vec()));
        }
    }
    out
}

fn ip(p: &[u8]) -> Ipv4Packet<&[u8]> {
    Ipv4Packet::new_checked(p).unwrap()
}

/// A TCP segment's SYN flag and MSS option, its checksum checked.
fn syn_mss(p: &[u8]) -> Option<u16> {
    let ip = ip(p);
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
    let (src, dst) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    assert!(tcp.verify_checksum(&src, &dst), "bad TCP checksum");
    if !tcp.syn() {
        return None;
    }
    let repr = smoltcp::wire::TcpRepr::parse(&tcp, &src, &dst, &Default::default()).unwrap();
    repr.max_seg_size
}

fn from_server(p: &[u8]) -> bool {
    let ip = ip(p);
    ip.src_addr() == SERVER && ip.next_header() == IpProtocol::Tcp
}

#[test]
fn lab21_discovers_the_path_mtu_then_falls_into_a_black_hole_then_clamps() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--capture",
        "both",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("PASS: 14/14 expectations held"), "{stdout}");

    let server = packets(&dir.path().join("server-eth0.pcap"));
    // Act 1 (before the exception expires at 600 s).
    let act1: Vec<_> = server.iter().filter(|(t, _)| *t < 600.0).collect();
    let first_icmp = act1
        .iter()
        .position(|(_, p)| ip(p).next_header() == IpProtocol::Icmp)
        .expect("a frag-needed reaches the server");
    let icmp = ip(&act1[first_icmp].1);
    let msg = icmp.payload();
    assert_eq!(
        (msg[0], msg[1]),
        (3, 4),
        "destination unreachable, fragmentation needed"
    );
    assert_eq!(u16::from_be_bytes([msg[6], msg[7]]), 1400, "next-hop MTU");
    let quoted = Ipv4Packet::new_unchecked(&msg[8..]);
    assert_eq!((quoted.src_addr(), quoted.total_len()), (SERVER, 1500));
    assert!(quoted.dont_frag());
    let before = act1[..first_icmp].iter().filter(|(_, p)| from_server(p));
    assert!(
        before.clone().any(|(_, p)| p.len() == 1500),
        "full-size segments first"
    );
    let after: Vec<usize> = act1[first_icmp..]
        .iter()
        .filter(|(_, p)| from_server(p))
        .map(|(_, p)| p.len())
        .collect();
    assert!(after.contains(&1400), "{after:?}");
    assert!(after.iter().all(|&l| l <= 1400), "{after:?}");

    // Act 2 (601 s to 611 s): no ICMP gets through; the same 1500-byte packets go again.
    let act2: Vec<_> = server
        .iter()
        .filter(|(t, _)| (600.0..650.0).contains(t))
        .collect();
    assert!(
        !act2
            .iter()
            .any(|(_, p)| ip(p).next_header() == IpProtocol::Icmp)
    );
    let big = act2
        .iter()
        .filter(|(_, p)| from_server(p) && p.len() == 1500)
        .count();
    assert!(big >= 2, "retransmitted full-size segments: {big}");

    // Act 3 (700 s on): r1 rewrote both SYNs' MSS to 1360, with correct checksums, and
    // nothing larger than 1400 left the server.
    let act3: Vec<_> = server.iter().filter(|(t, _)| *t >= 699.0).collect();
    let syn_in = act3
        .iter()
        .find(|(_, p)| ip(p).src_addr() == CLIENT && syn_mss(p).is_some())
        .expect("the client's SYN");
    assert_eq!(
        syn_mss(&syn_in.1),
        Some(1360),
        "clamped on its way to the server"
    );
    let syn_out = act3
        .iter()
        .find(|(_, p)| from_server(p) && syn_mss(p).is_some())
        .expect("the server's SYN-ACK");
    assert_eq!(syn_mss(&syn_out.1), Some(1460), "as the server sent it");
    assert!(
        act3.iter()
            .filter(|(_, p)| from_server(p))
            .all(|(_, p)| p.len() <= 1400)
    );
    let client = packets(&dir.path().join("client-eth0.pcap"));
    let synack = client
        .iter()
        .filter(|(t, _)| *t >= 699.0)
        .find(|(_, p)| from_server(p) && syn_mss(p).is_some())
        .expect("the SYN-ACK at the client");
    assert_eq!(
        syn_mss(&synack.1),
        Some(1360),
        "clamped on its way to the client"
    );
}

#[test]
fn check_warns_of_a_link_narrower_than_its_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let lab = std::fs::read_to_string(common::repo().join(LAB))
        .unwrap()
        .replace("eth0: {ip: 10.0.12.2/30, mtu: 1400}", "eth0: 10.0.12.2/30");
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, lab).unwrap();
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "warning: link r1:eth1 - r2:eth0 has mtu 1400, but r2:eth0 has mtu 1500: frames \
             larger than 1400 bytes are dropped on the link without an ICMP error"
        ),
        "{err}"
    );
    let shipped = run(&["check", LAB]);
    assert!(
        !text(&shipped.stderr).contains("warning"),
        "{}",
        text(&shipped.stderr)
    );
}

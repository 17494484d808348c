//! Cross-checks `hoplab::filter::Filter` against tshark: a pcapng holding a
//! varied set of frames is written to a temporary file, and for every filter
//! string the frames `Filter::matches` selects must be the ones `tshark -Y`
//! selects; a list of invalid filters must be rejected by both.
//!
//! Without tshark the test is skipped (with a reason on stderr), unless
//! `HOPLAB_REQUIRE_PRIVILEGED=1` is set, in which case it fails.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hoplab::filter::Filter;
use pcap_file::DataLink;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr,
    Icmpv4TimeExceeded, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

const MAC_H1: EthernetAddress = EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
const MAC_H2: EthernetAddress = EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x03]);
const MAC_GW: EthernetAddress = EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x01]);
const IP_H1: Ipv4Address = Ipv4Address::new(172, 17, 0, 2);
const IP_H2: Ipv4Address = Ipv4Address::new(172, 17, 0, 3);
const IP_GW: Ipv4Address = Ipv4Address::new(172, 17, 0, 1);
const IP_FAR: Ipv4Address = Ipv4Address::new(10, 0, 0, 5);
const IP_LAN: Ipv4Address = Ipv4Address::new(192, 168, 1, 10);

type Frame = (Vec<u8>, Option<&'static str>);

/// Counts heap allocations per thread, to check that matching allocates nothing.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn eth(src: EthernetAddress, dst: EthernetAddress, ty: EthernetProtocol, body: &[u8]) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype: ty,
    };
    let mut buf = vec![0u8; repr.buffer_len() + body.len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    repr.emit(&mut frame);
    frame.payload_mut().copy_from_slice(body);
    buf
}

fn ip_eth(src: EthernetAddress, dst: EthernetAddress, ip: &[u8]) -> Vec<u8> {
    eth(src, dst, EthernetProtocol::Ipv4, ip)
}

fn arp(
    op: ArpOperation,
    sha: EthernetAddress,
    spa: Ipv4Address,
    tha: EthernetAddress,
    tpa: Ipv4Address,
) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    buf
}

/// An IPv4 header to emit: addresses, TTL, identification, don't-fragment.
#[derive(Clone, Copy)]
struct V4 {
    src: Ipv4Address,
    dst: Ipv4Address,
    ttl: u8,
    id: u16,
    df: bool,
}

const fn v4(src: Ipv4Address, dst: Ipv4Address, ttl: u8, id: u16, df: bool) -> V4 {
    V4 {
        src,
        dst,
        ttl,
        id,
        df,
    }
}

impl V4 {
    /// The IPv4 packet around `payload` (smoltcp emits id 0 and DF: patched).
    fn packet(self, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            next_header: proto,
            payload_len: payload.len(),
            hop_limit: self.ttl,
        };
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let mut pkt = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut pkt, &ChecksumCapabilities::default());
        pkt.set_ident(self.id);
        pkt.set_dont_frag(self.df);
        pkt.payload_mut().copy_from_slice(payload);
        pkt.fill_checksum();
        buf
    }

    fn icmp(self, icmp: &[u8]) -> Vec<u8> {
        self.packet(IpProtocol::Icmp, icmp)
    }

    fn udp(self, (sport, dport): (u16, u16), payload: &[u8]) -> Vec<u8> {
        let repr = UdpRepr {
            src_port: sport,
            dst_port: dport,
        };
        let mut buf = vec![0u8; repr.header_len() + payload.len()];
        let (src, dst) = (IpAddress::Ipv4(self.src), IpAddress::Ipv4(self.dst));
        let mut pkt = UdpPacket::new_unchecked(&mut buf[..]);
        let caps = ChecksumCapabilities::default();
        repr.emit(
            &mut pkt,
            &src,
            &dst,
            payload.len(),
            |p| p.copy_from_slice(payload),
            &caps,
        );
        self.packet(IpProtocol::Udp, &buf)
    }

    /// A TCP segment; SYNs carry an MSS option.
    fn tcp(
        self,
        ports: (u16, u16),
        control: TcpControl,
        seq_ack: (u32, Option<u32>),
        payload: &[u8],
    ) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: ports.0,
            dst_port: ports.1,
            control,
            seq_number: TcpSeqNumber(seq_ack.0 as i32),
            ack_number: seq_ack.1.map(|a| TcpSeqNumber(a as i32)),
            window_len: 64240,
            window_scale: None,
            max_seg_size: (control == TcpControl::Syn).then_some(1460),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        let (src, dst) = (IpAddress::Ipv4(self.src), IpAddress::Ipv4(self.dst));
        let mut pkt = TcpPacket::new_unchecked(&mut buf[..]);
        repr.emit(&mut pkt, &src, &dst, &ChecksumCapabilities::default());
        self.packet(IpProtocol::Tcp, &buf)
    }
}

fn echo(request: bool, ident: u16, seq_no: u16, data: &[u8]) -> Vec<u8> {
    let repr = if request {
        Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }
    } else {
        Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        }
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// An ICMP error (destination unreachable, or time exceeded when `reason` is
/// `None`) built from smoltcp's Repr, quoting the IPv4 header and the first 8
/// payload bytes of `orig` (a whole IPv4 packet), as routers do.
fn icmp_error(orig: &[u8], reason: Option<Icmpv4DstUnreachable>) -> Vec<u8> {
    let inner = Ipv4Packet::new_checked(orig).expect("valid original packet");
    let header = Ipv4Repr::parse(&inner, &ChecksumCapabilities::ignored()).expect("valid header");
    let data = &inner.payload()[..8];
    let repr = match reason {
        Some(reason) => Icmpv4Repr::DstUnreachable {
            reason,
            header,
            data,
        },
        None => Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            header,
            data,
        },
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    // Quote the original header verbatim (the Repr re-emits id 0 and DF).
    let mut pkt = Icmpv4Packet::new_unchecked(&mut buf[..]);
    let header_len = usize::from(inner.header_len());
    pkt.data_mut()[..header_len].copy_from_slice(&orig[..header_len]);
    pkt.fill_checksum();
    buf
}

/// An ICMP message of any type whose body (after the 8-byte header) holds
/// the first `quote` bytes of `orig`: smoltcp and Linux quote up to 576 bytes.
fn icmp_quote(ty: Icmpv4Message, code: u8, orig: &[u8], quote: usize) -> Vec<u8> {
    let quote = quote.min(orig.len());
    let mut buf = vec![0u8; 8 + quote];
    let mut pkt = Icmpv4Packet::new_unchecked(&mut buf[..]);
    pkt.set_msg_type(ty);
    pkt.set_msg_code(code);
    pkt.data_mut().copy_from_slice(&orig[..quote]);
    pkt.fill_checksum();
    buf
}

/// An ICMP query of type `ty` with identifier/sequence words and a zeroed body.
fn icmp_query(ty: u8, ident: u16, seq_no: u16, body_len: usize) -> Vec<u8> {
    let mut buf = icmp_quote(Icmpv4Message::from(ty), 0, &[0u8; 64], body_len);
    let mut pkt = Icmpv4Packet::new_unchecked(&mut buf[..]);
    pkt.set_echo_ident(ident);
    pkt.set_echo_seq_no(seq_no);
    pkt.fill_checksum();
    buf
}

/// The frames of the test capture (numbered from 1 as tshark does), each with
/// an optional pcapng comment.
fn frames() -> Vec<Frame> {
    use Icmpv4Message::{DstUnreachable, ParamProblem, Redirect, TimeExceeded};
    let mut out: Vec<Frame> = Vec::new();
    let mut add = |frame: Vec<u8>| out.push((frame, None));
    let bcast = EthernetAddress::BROADCAST;
    // 1-2: ARP request (broadcast) and reply.
    let req = arp(
        ArpOperation::Request,
        MAC_H1,
        IP_H1,
        EthernetAddress([0; 6]),
        IP_H2,
    );
    add(eth(MAC_H1, bcast, EthernetProtocol::Arp, &req));
    let reply = arp(ArpOperation::Reply, MAC_H2, IP_H2, MAC_H1, IP_H1);
    add(eth(MAC_H2, MAC_H1, EthernetProtocol::Arp, &reply));
    // 3-4: ICMP echo request / reply h1 <-> h2.
    let ping = v4(IP_H1, IP_H2, 64, 0x0101, true).icmp(&echo(true, 0x1234, 1, b"hoplab-echo"));
    add(ip_eth(MAC_H1, MAC_H2, &ping));
    let pong = v4(IP_H2, IP_H1, 64, 0x0202, false).icmp(&echo(false, 0x1234, 1, b"hoplab-echo"));
    add(ip_eth(MAC_H2, MAC_H1, &pong));
    // 5-6: echo request with TTL 1 to a far host; time exceeded quoting it.
    let far_ping = v4(IP_H1, IP_FAR, 1, 0x0303, false).icmp(&echo(true, 0x0777, 9, b"trace"));
    add(ip_eth(MAC_H1, MAC_GW, &far_ping));
    let te = icmp_error(&far_ping, None);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x0404, false).icmp(&te),
    ));
    // 7-8: UDP probe with TTL 1; time exceeded quoting it.
    let probe = v4(IP_H1, IP_FAR, 1, 0x0505, false).udp((40000, 40020), b"probe-payload");
    add(ip_eth(MAC_H1, MAC_GW, &probe));
    let te = icmp_error(&probe, None);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 255, 0x0606, false).icmp(&te),
    ));
    // 9-10: UDP to a closed port on h2; port unreachable quoting it.
    let knock = v4(IP_H1, IP_H2, 64, 0x0707, true).udp((40002, 40003), b"knock");
    add(ip_eth(MAC_H1, MAC_H2, &knock));
    let pu = icmp_error(&knock, Some(Icmpv4DstUnreachable::PortUnreachable));
    add(ip_eth(
        MAC_H2,
        MAC_H1,
        &v4(IP_H2, IP_H1, 64, 0x0808, false).icmp(&pu),
    ));
    // 11-12: TCP SYN to a far host; host unreachable quoting it.
    let far_syn =
        v4(IP_H1, IP_FAR, 64, 0x0909, true).tcp((40011, 40001), TcpControl::Syn, (1000, None), b"");
    add(ip_eth(MAC_H1, MAC_GW, &far_syn));
    let hu = icmp_error(&far_syn, Some(Icmpv4DstUnreachable::HostUnreachable));
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x0a0a, false).icmp(&hu),
    ));
    // 13-18: a TCP connection h1:40010 -> h2:40001: SYN, SYN-ACK, ACK,
    // PSH-ACK with payload, FIN-ACK, RST.
    let seg = |from_h1: bool, control, seq_ack: (u32, Option<u32>), payload: &[u8]| {
        let (h, ports) = if from_h1 {
            (v4(IP_H1, IP_H2, 64, seq_ack.0 as u16, true), (40010, 40001))
        } else {
            (v4(IP_H2, IP_H1, 64, seq_ack.0 as u16, true), (40001, 40010))
        };
        let (src, dst) = if from_h1 {
            (MAC_H1, MAC_H2)
        } else {
            (MAC_H2, MAC_H1)
        };
        ip_eth(src, dst, &h.tcp(ports, control, seq_ack, payload))
    };
    add(seg(true, TcpControl::Syn, (100, None), b""));
    add(seg(false, TcpControl::Syn, (5000, Some(101)), b""));
    add(seg(true, TcpControl::None, (101, Some(5001)), b""));
    add(seg(
        true,
        TcpControl::Psh,
        (101, Some(5001)),
        b"hello hoplab\n",
    ));
    add(seg(false, TcpControl::Fin, (5001, Some(114)), b""));
    add(seg(true, TcpControl::Rst, (114, None), b""));
    // 19-20: UDP datagrams h1 <-> h2.
    let dgram = v4(IP_H1, IP_H2, 64, 0x1111, true).udp((40000, 40002), b"ping");
    add(ip_eth(MAC_H1, MAC_H2, &dgram));
    add(ip_eth(
        MAC_H2,
        MAC_H1,
        &v4(IP_H2, IP_H1, 63, 0x2222, true).udp((40002, 40000), b"pong pong"),
    ));
    // 21: a masqueraded UDP datagram coming back through the gateway (commented).
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_LAN, IP_H1, 62, 0x3333, false).udp((40005, 40000), b"nat"),
    ));
    // 22: an IPv4 packet of an undissected protocol (253, experimentation).
    let opaque = v4(IP_H2, IP_LAN, 128, 0xffff, false).packet(IpProtocol::Unknown(253), b"opaque");
    add(ip_eth(MAC_H2, MAC_GW, &opaque));
    // 23: a non-IP EtherType (0x88b5, local experimental; commented).
    add(eth(
        MAC_H1,
        MAC_H2,
        EthernetProtocol::Unknown(0x88b5),
        b"experimental ethertype payload",
    ));
    // 24: port unreachable quoting the whole datagram of frame 19 (smoltcp style).
    let pu = icmp_quote(DstUnreachable, 3, &dgram, 576);
    add(ip_eth(
        MAC_H2,
        MAC_H1,
        &v4(IP_H2, IP_H1, 64, 0x4444, false).icmp(&pu),
    ));
    // 25: port unreachable quoting a whole TCP SYN with its MSS option.
    let syn =
        v4(IP_H1, IP_LAN, 64, 0x5555, true).tcp((40012, 40001), TcpControl::Syn, (7, None), b"");
    let pu = icmp_quote(DstUnreachable, 3, &syn, 576);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x5556, false).icmp(&pu),
    ));
    // 26: time exceeded quoting a PSH-ACK up to 8 bytes of its payload.
    let psh = v4(IP_H1, IP_FAR, 1, 0x6666, true).tcp(
        (40013, 40001),
        TcpControl::Psh,
        (9, Some(77)),
        b"0123456789abcdef",
    );
    let te = icmp_quote(TimeExceeded, 0, &psh, 48);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x6667, false).icmp(&te),
    ));
    // 27: time exceeded quoting exactly a 20-byte TCP header (FIN-ACK).
    let fin = v4(IP_H1, IP_FAR, 1, 0x7777, true).tcp(
        (40014, 40001),
        TcpControl::Fin,
        (10, Some(78)),
        b"",
    );
    let te = icmp_quote(TimeExceeded, 0, &fin, 40);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x7778, false).icmp(&te),
    ));
    // 28: redirect quoting the UDP probe of frame 7 (8 bytes).
    let redirect = icmp_quote(Redirect, 1, &probe, 28);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x8888, false).icmp(&redirect),
    ));
    // 29: parameter problem quoting the whole datagram of frame 9.
    let pp = icmp_quote(ParamProblem, 0, &knock, 576);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x9999, false).icmp(&pp),
    ));
    // 30: ICMP timestamp request (identifier and sequence like echo).
    add(ip_eth(
        MAC_H1,
        MAC_H2,
        &v4(IP_H1, IP_H2, 64, 0xaaaa, false).icmp(&icmp_query(13, 0x4242, 3, 12)),
    ));
    // (Quotes shorter than an IPv4 header + 8 bytes are left out: tshark shows
    // the fields that fit, the filter treats such a header as absent.)
    // 31: a frame padded to the 60-byte minimum carrying a short UDP datagram.
    let mut padded = ip_eth(
        MAC_H2,
        MAC_H1,
        &v4(IP_H2, IP_H1, 64, 0xdddd, true).udp((40002, 40000), b"p"),
    );
    padded.resize(60, 0);
    add(padded);
    // 32: a first IPv4 fragment (MF set) of a UDP datagram: no udp fields.
    let mut frag = v4(IP_H1, IP_H2, 64, 0xeeee, false).udp((40000, 40002), b"fragmented payload");
    let mut frag_pkt = Ipv4Packet::new_unchecked(&mut frag[..]);
    frag_pkt.set_more_frags(true);
    frag_pkt.fill_checksum();
    add(ip_eth(MAC_H1, MAC_H2, &frag));
    // 33: source quench quoting the UDP probe of frame 7.
    let quench = icmp_quote(Icmpv4Message::from(4), 0, &probe, 28);
    add(ip_eth(
        MAC_GW,
        MAC_H1,
        &v4(IP_GW, IP_H1, 64, 0x0f0f, false).icmp(&quench),
    ));
    // 34-35: address mask request (identifier/sequence) and router
    // solicitation (neither, although the words are set).
    add(ip_eth(
        MAC_H1,
        MAC_GW,
        &v4(IP_H1, IP_GW, 64, 0x1010, false).icmp(&icmp_query(17, 0x0505, 5, 4)),
    ));
    add(ip_eth(
        MAC_H1,
        MAC_GW,
        &v4(IP_H1, IP_GW, 1, 0x1111, false).icmp(&icmp_query(10, 0x0606, 6, 0)),
    ));
    // 36: an IEEE 802.3 frame (length instead of EtherType, an STP BPDU): no eth.type.
    let mut bpdu = vec![0u8; 46];
    bpdu[..3].copy_from_slice(&[0x42, 0x42, 0x03]);
    add(eth(MAC_H2, bcast, EthernetProtocol::Unknown(46), &bpdu));
    // 37-40: 802.1Q. The echo request of frame 3 tagged VLAN 10 with priority 5 (the tag
    // between the MACs and the EtherType); the ARP request tagged VLAN 20 with DEI; a
    // time exceeded tagged VLAN 10; the echo reply tagged twice (VLAN 100 outside, 10 in).
    let tagged = |f: &[u8], pcp: u8, dei: bool, vid: u16| {
        let mut out = Vec::new();
        let tci = hoplab::wire::vlan::Tci { pcp, dei, vid };
        hoplab::wire::vlan::retag(f, Some(tci), &mut out);
        out
    };
    add(tagged(&ip_eth(MAC_H1, MAC_H2, &ping), 5, false, 10));
    add(tagged(
        &eth(MAC_H1, bcast, EthernetProtocol::Arp, &req),
        0,
        true,
        20,
    ));
    add(tagged(
        &ip_eth(
            MAC_GW,
            MAC_H1,
            &v4(IP_GW, IP_H1, 64, 0x0404, false).icmp(&te),
        ),
        0,
        false,
        10,
    ));
    let inner = tagged(&ip_eth(MAC_H2, MAC_H1, &pong), 0, false, 10);
    let mut qinq = inner[..12].to_vec();
    qinq.extend_from_slice(&[0x81, 0x00, 0x00, 100]);
    qinq.extend_from_slice(&inner[12..]);
    add(qinq);
    // 41-49: IPv6.
    v6_frames(&mut add);
    // pcapng comments, as hoplab writes them.
    out[1].1 = Some("id=42 learned 02:42:ac:11:00:02 on veth1");
    out[20].1 = Some("MASQUERADE 172.17.0.2:40000 -> 192.168.1.10:40005");
    out[22].1 = Some("raw frame");
    out
}

const LL_H1: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x11, 0, 2,
];
const LL_H2: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x11, 0, 3,
];
const G_H1: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
const G_H2: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20,
];
const G_GW: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];
const G_FAR: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
];

/// The solicited-node multicast address of `a` (ff02::1:ffXX:XXXX).
fn solicited(a: [u8; 16]) -> [u8; 16] {
    let mut m = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    m[13..].copy_from_slice(&a[13..]);
    m
}

/// An IPv6 packet; the ICMPv6, TCP or UDP checksum (upper-layer header at `l4`) is filled
/// over the pseudo-header.
fn v6(src: [u8; 16], dst: [u8; 16], nh: u8, hlim: u8, payload: &[u8], l4: (usize, u8)) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[nh, hlim]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    let (start, proto) = l4;
    let at = match proto {
        58 => 2,
        6 => 16,
        _ => 6,
    };
    p[40 + start + at..40 + start + at + 2].fill(0);
    let upper = &p[40 + start..];
    let mut sum: u32 = 0;
    let mut words = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    words(&src);
    words(&dst);
    words(&(upper.len() as u32).to_be_bytes());
    words(&[0, 0, 0, proto]);
    words(upper);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    let ck = if ck == 0 && proto == 17 { 0xffff } else { ck };
    p[40 + start + at..40 + start + at + 2].copy_from_slice(&ck.to_be_bytes());
    p
}

fn v6_eth(src: EthernetAddress, dst: EthernetAddress, ip: &[u8]) -> Vec<u8> {
    eth(src, dst, EthernetProtocol::Ipv6, ip)
}

/// A neighbor solicitation (135) or advertisement (136) for `target`, with the link-layer
/// address option when `lladdr` is given.
fn nd(ty: u8, flags: u8, target: [u8; 16], lladdr: Option<EthernetAddress>) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, flags, 0, 0, 0];
    m.extend_from_slice(&target);
    if let Some(mac) = lladdr {
        m.extend_from_slice(&[if ty == 135 { 1 } else { 2 }, 1]);
        m.extend_from_slice(mac.as_bytes());
    }
    m
}

fn v6_frames(add: &mut impl FnMut(Vec<u8>)) {
    let mcast = |a: [u8; 16]| EthernetAddress([0x33, 0x33, a[12], a[13], a[14], a[15]]);
    let icmp6 = (0, 58);
    // 41-42: h1 asks for h2's link-local address; h2 answers (solicited, override).
    let ns = nd(135, 0, LL_H2, Some(MAC_H1));
    let dst = solicited(LL_H2);
    add(v6_eth(
        MAC_H1,
        mcast(dst),
        &v6(LL_H1, dst, 58, 255, &ns, icmp6),
    ));
    let na = nd(136, 0x60, LL_H2, Some(MAC_H2));
    add(v6_eth(
        MAC_H2,
        MAC_H1,
        &v6(LL_H2, LL_H1, 58, 255, &na, icmp6),
    ));
    // 43-44: echo request and reply between global addresses.
    let mut req = vec![128, 0, 0, 0, 0x12, 0x35, 0, 1];
    req.extend_from_slice(b"hoplab-echo6");
    add(v6_eth(MAC_H1, MAC_H2, &v6(G_H1, G_H2, 58, 64, &req, icmp6)));
    let mut rep = req.clone();
    rep[0] = 129;
    add(v6_eth(MAC_H2, MAC_H1, &v6(G_H2, G_H1, 58, 64, &rep, icmp6)));
    // 45: a TCP SYN to port 80.
    let syn = V4 {
        src: IP_H1,
        dst: IP_H2,
        ttl: 64,
        id: 0,
        df: true,
    }
    .tcp((40100, 80), TcpControl::Syn, (7, None), b"");
    add(v6_eth(
        MAC_H1,
        MAC_H2,
        &v6(G_H1, G_H2, 6, 64, &syn[20..], (0, 6)),
    ));
    // 46-47: a UDP datagram with hop limit 1; the gateway's time exceeded quoting it.
    let mut udp = vec![0x9c, 0xd8, 0, 53, 0, 0, 0, 0];
    udp.extend_from_slice(b"dns?");
    let len = udp.len() as u16;
    udp[4..6].copy_from_slice(&len.to_be_bytes());
    let probe = v6(G_H1, G_FAR, 17, 1, &udp, (0, 17));
    add(v6_eth(MAC_H1, MAC_GW, &probe));
    let mut te = vec![3, 0, 0, 0, 0, 0, 0, 0];
    te.extend_from_slice(&probe);
    add(v6_eth(MAC_GW, MAC_H1, &v6(G_GW, G_H1, 58, 64, &te, icmp6)));
    // 48: an MLDv2 report under hop-by-hop options (router alert), hop limit 1.
    let mut hbh = vec![58, 0, 5, 2, 0, 0, 1, 0];
    hbh.extend_from_slice(&[143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0]);
    hbh.extend_from_slice(&solicited(G_H1));
    let all_mld = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16];
    add(v6_eth(
        MAC_H1,
        mcast(all_mld),
        &v6(LL_H1, all_mld, 0, 1, &hbh, (8, 58)),
    ));
    // 49: duplicate address detection: from ::, no link-layer option.
    let dad = nd(135, 0, G_H1, None);
    let dst = solicited(G_H1);
    add(v6_eth(
        MAC_H1,
        mcast(dst),
        &v6([0; 16], dst, 58, 255, &dad, icmp6),
    ));
    // 50: the gateway's packet too big (MTU 1400) quoting h1's echo request.
    let mut big = vec![2, 0, 0, 0, 0, 0, 0x05, 0x78];
    big.extend_from_slice(&v6(G_H1, G_FAR, 58, 63, &req, icmp6));
    add(v6_eth(MAC_GW, MAC_H1, &v6(G_GW, G_H1, 58, 64, &big, icmp6)));
}

fn write_pcapng(path: &Path, frames: &[(Vec<u8>, Option<&'static str>)]) {
    let file = std::fs::File::create(path).expect("create pcapng");
    let mut writer = PcapNgWriter::new(file).expect("pcapng header");
    let idb = InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0xffff,
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    };
    writer.write_pcapng_block(idb).expect("write IDB");
    for (i, (data, comment)) in frames.iter().enumerate() {
        let options = comment
            .map(|c| vec![EnhancedPacketOption::Comment(Cow::Borrowed(c))])
            .unwrap_or_default();
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_millis(1_700_000_000_000 + i as u64 * 10),
            original_len: data.len() as u32,
            data: Cow::Borrowed(data),
            options,
        };
        writer.write_pcapng_block(epb).expect("write EPB");
    }
}

/// Reads the capture back: (frame bytes, comment) per Enhanced Packet Block.
fn read_pcapng(path: &Path) -> Vec<(Vec<u8>, Option<String>)> {
    let file = std::fs::File::open(path).expect("open pcapng");
    let mut reader = PcapNgReader::new(file).expect("pcapng header");
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(epb) = block.expect("pcapng block") {
            let comment = epb.options.iter().find_map(|o| match o {
                EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                _ => None,
            });
            out.push((epb.data.to_vec(), comment));
        }
    }
    out
}

/// Filters that must select exactly the frames tshark selects.
const FILTERS: &[&str] = &[
    "",
    "frame",
    "eth",
    "arp",
    "ip",
    "icmp",
    "tcp",
    "udp",
    "eth.src == 02:42:ac:11:00:02",
    "eth.dst == ff:ff:ff:ff:ff:ff",
    "eth.addr == 02-42-ac-11-00-01",
    "eth.addr != 02:42:ac:11:00:02",
    "eth.src > 02:42:ac:11:00:02",
    "eth.type == 0x0806",
    "eth.type != 0x0800",
    "eth.type",
    "arp.opcode == 1",
    "arp.src.hw_mac == 02:42:ac:11:00:03",
    "arp.dst.hw_mac == 00:00:00:00:00:00",
    "arp.src.proto_ipv4 == 172.17.0.2",
    "arp.dst.proto_ipv4 == 172.17.0.0/16",
    "ip.src == 172.17.0.2",
    "ip.src != 172.17.0.2",
    "ip.dst == 10.0.0.5",
    "ip.addr == 172.17.0.3",
    "ip.addr != 172.17.0.3",
    "ip.addr != 172.17.0.0/16",
    "ip.src == 172.16.0.0/12",
    "ip.src > 172.17.0.0/24",
    "ip.dst <= 172.17.0.2",
    "ip.ttl == 1",
    "ip.ttl != 64",
    "ip.ttl == 0100",
    "ip.ttl gt 100",
    "ip.ttl < 2 or ip.ttl >= 255",
    "ip.proto == 17",
    "ip.proto == 6 && !tcp",
    "ip.proto == 17 && !udp",
    "ip.len >= 56",
    "ip.id == 0x0505",
    "ip.flags.df",
    "ip.flags.df == 0",
    "ip.flags.df == True",
    "icmp.type == 8",
    "icmp.type == 8 && ip.dst == 172.17.0.3",
    "icmp.type != 8",
    "icmp.type == 11 && udp",
    "icmp.code == 3",
    "icmp.ident == 0x1234",
    "icmp.ident",
    "icmp.seq == 9",
    "icmp.seq != 9",
    "tcp.srcport == 40010",
    "tcp.dstport eq 40001",
    "tcp.port == 40011",
    "tcp.port != 40001",
    "tcp.port != 80",
    "!(tcp.port == 80)",
    "tcp.flags.syn",
    "tcp.flags.syn == 1",
    "tcp.flags.syn == 2",
    "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    "tcp.flags.ack == FALSE",
    "tcp.flags.reset == 1",
    "tcp.flags.fin ne 0",
    "tcp.flags.push == 1",
    "tcp.len > 0",
    "tcp.len == 0",
    "tcp.len",
    "udp.srcport == 40000",
    "udp.dstport == 40002",
    "udp.port == 40000",
    "udp.port != 40000",
    "udp.length lt 12",
    "udp.length ge 21",
    "frame.len == 42",
    "frame.len le 54",
    "frame.comment",
    "frame.comment contains \"MASQUERADE\"",
    "frame.comment contains \"02:42:ac:11:00:02\"",
    "frame.comment == \"raw frame\"",
    "frame.comment != \"raw frame\"",
    "frame.comment contains \"\"",
    "frame.comment contains \"\\x4dASQ\"",
    "frame.comment > \"m\"",
    "arp || tcp && ip.ttl == 1",
    "(arp || tcp) && ip.ttl == 1",
    "not arp and not ip",
    "!arp && !ip || tcp.flags.reset == 1",
    "udp && ip.ttl==1 || arp && eth.src == 02:42:ac:11:00:02",
    "ip.src==172.17.0.1 || ip.dst == 10.0.0.5 && udp",
    "ip.ttl == 1 and ip.proto == 1",
    "vlan",
    "!vlan",
    "vlan.id == 10",
    "vlan.id != 10",
    "vlan.id == 100 && vlan.id == 10",
    "vlan.id >= 20",
    "vlan.priority == 5",
    "vlan.priority == 0",
    "vlan.dei",
    "vlan.dei == 1",
    "vlan.etype == 0x0806",
    "vlan.etype == 0x8100",
    "eth.type == 0x8100",
    "vlan && arp",
    "vlan.id == 10 && icmp.type == 8",
    "vlan.id == 10 && ip.src == 172.17.0.2",
    "vlan && ip.src == 10.0.0.5",
    "vlan.id == 10 && icmp.type == 0",
    "ipv6",
    "icmpv6",
    "ip || ipv6",
    "!ip && !arp && !vlan",
    "ipv6 && udp",
    "ipv6 && tcp",
    "eth.type == 0x86dd",
    "eth.dst == 33:33:ff:11:00:03",
    "ipv6.src == fe80::42:acff:fe11:2",
    "ipv6.dst == ff02::1:ff11:3",
    "ipv6.addr == 2001:db8:1::20",
    "ipv6.addr != 2001:db8:1::10",
    "ipv6.addr == 2001:db8::/32",
    "ipv6.addr == 2001:db8:2::/48",
    "ipv6.src == fe80::/10",
    "ipv6.dst == ff00::/8",
    "ipv6.src == ::",
    "ipv6.src > 2001:db8:1::10",
    "ipv6.dst <= fe80::/64",
    "ipv6.hlim == 255",
    "ipv6.hlim == 1",
    "ipv6.hlim != 64",
    "ipv6.nxt == 58",
    "ipv6.nxt == 0",
    "ipv6.nxt == 17",
    "ipv6.plen == 32",
    "ipv6.plen > 40",
    "icmpv6.type == 135",
    "icmpv6.type == 136",
    "icmpv6.type == 128 || icmpv6.type == 129",
    "icmpv6.type == 3 && udp",
    "icmpv6.type == 143",
    "icmpv6.code == 0",
    "icmpv6.type != 135",
    "icmpv6.nd.ns.target_address == fe80::42:acff:fe11:3",
    "icmpv6.nd.ns.target_address == 2001:db8::/32",
    "icmpv6.nd.ns.target_address",
    "icmpv6.nd.na.target_address",
    "icmpv6.nd.na.target_address == fe80::42:acff:fe11:3",
    "icmpv6.mtu == 1400",
    "icmpv6.mtu",
    "icmpv6.type == 2 && icmpv6.mtu > 1280",
    "icmpv6.type == 128 && ipv6.hlim == 63",
    "tcp.port == 80 && ipv6",
    "tcp.flags.syn == 1 && ipv6.src == 2001:db8:1::10",
    "tcp.len == 0 && ipv6",
    "udp.dstport == 53",
    "udp.length == 12",
    "ipv6.dst == 2001:db8:2::5 && icmpv6",
];

/// Filters both tshark and `Filter::parse` must reject.
const INVALID: &[&str] = &[
    "ip.srcc == 1.2.3.4",
    "tcp.flags.rst",
    "ip.ttl = 64",
    "ip.ttl == 64 64",
    "arp ip",
    "ip.ttl ==",
    "(arp",
    "arp)",
    "ip.ttl == 256",
    "ip.ttl == 08",
    "ip.src == 172.17.0.256",
    "ip.src == 172.17.0.0/33",
    "eth.src == 02:42:ac:11:00",
    "ip.src contains 1.2.3.4",
    "tcp.flags.syn == true",
    "ip.ttl == \"64\"",
    "frame.comment contains \"\\q\"",
    "AND",
    "ipv6.src == 2001:db8::/129",
    "ipv6.src == 2001:db8:::1",
    "ipv6.src == 2001:db8::1::2",
    "icmpv6.type == 256",
];

enum Tshark {
    Matched(Vec<usize>),
    Rejected(String),
}

fn tshark(pcap: &Path, config_dir: &Path, filter: &str) -> Tshark {
    let out = Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", config_dir)
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    if !out.status.success() {
        return Tshark::Rejected(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Tshark::Matched(
        stdout
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect(),
    )
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn filter_counts_match_tshark() {
    if !tshark_available() {
        let required = std::env::var("HOPLAB_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "tshark is required (HOPLAB_REQUIRE_PRIVILEGED=1) but was not found in PATH"
        );
        eprintln!("skipping filter_counts_match_tshark: tshark not found in PATH");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("filters.pcapng");
    let config_dir = dir.path().join("wireshark-config");
    std::fs::create_dir(&config_dir).expect("config dir");
    write_pcapng(&pcap, &frames());
    let frames = read_pcapng(&pcap);
    assert_eq!(frames.len(), 50);

    // Two workers: tshark takes ~0.5 s to start.
    let jobs: Vec<&str> = FILTERS.iter().chain(INVALID).copied().collect();
    let results: Vec<(&str, Tshark)> = std::thread::scope(|s| {
        let halves: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(2))
            .map(|chunk| {
                let (pcap, config_dir) = (&pcap, &config_dir);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&f| (f, tshark(pcap, config_dir, f)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("tshark worker"))
            .collect()
    });

    let mut problems = Vec::new();
    for (filter, theirs) in results {
        let ours = Filter::parse(filter);
        let must_parse = FILTERS.contains(&filter);
        match (ours, theirs) {
            (Ok(f), Tshark::Matched(theirs)) if must_parse => {
                let ours: Vec<usize> = frames
                    .iter()
                    .enumerate()
                    .filter(|(_, (data, comment))| f.matches(data, comment.as_deref()))
                    .map(|(i, _)| i + 1)
                    .collect();
                if ours != theirs {
                    problems.push(format!(
                        "{filter:?}: hoplab counts {} {ours:?}, tshark counts {} {theirs:?}",
                        ours.len(),
                        theirs.len()
                    ));
                }
            }
            (Err(e), Tshark::Rejected(_)) if !must_parse => {
                assert!(e.column >= 1, "{filter:?}: column {}", e.column);
            }
            (ours, Tshark::Rejected(why)) => problems.push(format!(
                "{filter:?}: tshark rejects it ({why}), hoplab: {ours:?}"
            )),
            (ours, Tshark::Matched(m)) => problems.push(format!(
                "{filter:?}: tshark accepts it ({} frames), hoplab: {ours:?}",
                m.len()
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} filters disagree with tshark:\n{}",
        problems.len(),
        jobs.len(),
        problems.join("\n")
    );
}

#[test]
fn matching_does_not_allocate() {
    let filters: Vec<Filter> = FILTERS.iter().map(|f| Filter::parse(f).expect(f)).collect();
    let frames = frames();
    let before = ALLOCATIONS.with(Cell::get);
    let mut matched = 0usize;
    for filter in &filters {
        for (data, comment) in &frames {
            matched += usize::from(filter.matches(data, *comment));
        }
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert!(matched > 0);
    assert_eq!(after - before, 0, "Filter::matches allocated");
}

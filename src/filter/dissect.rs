//! Frame dissection into a small stack struct, with `smoltcp::wire`.
//!
//! Layers that cannot be read are `None`, so their fields are absent; nothing
//! here may panic on any input. Index 0 of the per-layer arrays is the frame's
//! own header, index 1 the header quoted inside an ICMP or ICMPv6 error message.

use smoltcp::wire::{
    ArpPacket, EthernetAddress, EthernetFrame, Icmpv4Packet, IpProtocol, Ipv4Address, Ipv4Packet,
    TcpPacket, UdpPacket,
};

/// Up to this EtherType value the field is an IEEE 802.3 length (no `eth.type`).
const IEEE_802_3_MAX_LEN: u16 = 1500;
/// ARP hardware types Wireshark shows as MAC addresses: Ethernet, IEEE 802.
const ARP_HW_ETHER: [u16; 2] = [1, 6];
/// ICMP types whose header carries identifier and sequence number: echo
/// reply/request, timestamp, information and address mask request/reply.
const ICMP_WITH_IDENT: [u8; 8] = [0, 8, 13, 14, 15, 16, 17, 18];
/// ICMP types that quote the offending datagram: destination unreachable,
/// source quench, redirect, time exceeded, parameter problem.
const ICMP_QUOTING: [u8; 5] = [3, 4, 5, 11, 12];
/// The part of a quoted datagram's payload every ICMP error carries (RFC 792:
/// 64 bits): enough for TCP/UDP ports, the UDP length and an ICMP header.
const QUOTED_L4_LEN: usize = 8;
const IPV4_MIN_HEADER: usize = smoltcp::wire::IPV4_HEADER_LEN;
const IPV6_HEADER: usize = 40;
/// ICMPv6 types that quote the offending packet: destination unreachable, packet too
/// big, time exceeded, parameter problem.
const ICMPV6_QUOTING: [u8; 4] = [1, 2, 3, 4];
/// Neighbor solicitation and advertisement, whose target address follows the header.
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
const TCP_MIN_HEADER: usize = smoltcp::wire::TCP_HEADER_LEN;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Eth {
    pub src: u64,
    pub dst: u64,
    pub ethertype: Option<u16>,
}

/// An 802.1Q tag (`vlan`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Vlan {
    pub id: u16,
    pub priority: u8,
    pub dei: bool,
    /// The EtherType it carries (absent for an 802.3 length).
    pub etype: Option<u16>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Arp {
    pub opcode: u16,
    pub src_mac: Option<u64>,
    pub dst_mac: Option<u64>,
    pub src_ip: Option<u32>,
    pub dst_ip: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ip {
    pub src: u32,
    pub dst: u32,
    pub ttl: u8,
    pub proto: u8,
    pub len: u16,
    pub id: u16,
    pub df: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ip6 {
    pub src: u128,
    pub dst: u128,
    pub hlim: u8,
    /// The fixed header's next header (an extension header's number if one follows).
    pub nxt: u8,
    pub plen: u16,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Icmp6 {
    pub ty: u8,
    pub code: u8,
    /// The four bytes after the checksum (a packet too big's MTU).
    pub param: u32,
    /// The target of a neighbor solicitation (type 135) or advertisement (136).
    pub target: Option<u128>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Icmp {
    pub ty: u8,
    pub code: u8,
    /// Identifier and sequence number, for the types that have them.
    pub ident_seq: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub rst: bool,
    pub fin: bool,
    pub psh: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tcp {
    pub src: u16,
    pub dst: u16,
    /// Absent when fewer than 20 header bytes are present.
    pub flags: Option<TcpFlags>,
    /// Payload length; absent inside ICMP errors (as in Wireshark).
    pub len: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Udp {
    pub src: u16,
    pub dst: u16,
    pub length: u16,
}

/// Everything the filter can ask about one frame.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Packet<'a> {
    pub len: u32,
    pub comment: Option<&'a str>,
    pub eth: Option<Eth>,
    /// The outer tag, then a second (QinQ with 0x8100 twice).
    pub vlan: [Option<Vlan>; 2],
    pub arp: Option<Arp>,
    pub ip: [Option<Ip>; 2],
    pub icmp: [Option<Icmp>; 2],
    pub ipv6: [Option<Ip6>; 2],
    pub icmpv6: [Option<Icmp6>; 2],
    pub tcp: [Option<Tcp>; 2],
    pub udp: [Option<Udp>; 2],
}

fn mac(addr: EthernetAddress) -> u64 {
    mac_bytes(addr.as_bytes())
}

fn mac_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

fn ipv4_bytes(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u32::from(b))
}

fn ipv4(addr: Ipv4Address) -> u32 {
    addr.to_bits()
}

impl<'a> Packet<'a> {
    /// Dissects an Ethernet II frame.
    pub(crate) fn dissect(frame: &[u8], comment: Option<&'a str>) -> Packet<'a> {
        let mut pkt = Packet {
            len: u32::try_from(frame.len()).unwrap_or(u32::MAX),
            comment,
            ..Packet::default()
        };
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return pkt;
        };
        let ethertype = u16::from(eth.ethertype());
        pkt.eth = Some(Eth {
            src: mac(eth.src_addr()),
            dst: mac(eth.dst_addr()),
            ethertype: (ethertype > IEEE_802_3_MAX_LEN).then_some(ethertype),
        });
        let (mut ethertype, mut payload) = (ethertype, eth.payload());
        // What a tag carries is dissected as if the tag were not there, as Wireshark does.
        for slot in 0..pkt.vlan.len() {
            if ethertype != crate::wire::vlan::TPID_8021Q {
                break;
            }
            let Some(tag) = payload.get(..crate::wire::vlan::VLAN_HLEN) else {
                return pkt;
            };
            let tci = crate::wire::vlan::Tci::from_bits(u16::from_be_bytes([tag[0], tag[1]]));
            ethertype = u16::from_be_bytes([tag[2], tag[3]]);
            payload = &payload[crate::wire::vlan::VLAN_HLEN..];
            pkt.vlan[slot] = Some(Vlan {
                id: tci.vid,
                priority: tci.pcp,
                dei: tci.dei,
                etype: (ethertype > IEEE_802_3_MAX_LEN).then_some(ethertype),
            });
        }
        match ethertype {
            0x0806 => pkt.arp = dissect_arp(payload),
            0x0800 => pkt.dissect_ipv4(payload, 0),
            0x86dd => pkt.dissect_ipv6(payload, 0),
            _ => {}
        }
        pkt
    }

    /// Dissects an IPv4 header (and what it carries) into slot `at`.
    /// Lenient like Wireshark: the buffer may be shorter than the total length
    /// (truncated capture, or a datagram quoted inside an ICMP error).
    fn dissect_ipv4(&mut self, buf: &[u8], at: usize) {
        if buf.len() < IPV4_MIN_HEADER {
            return;
        }
        let ip = Ipv4Packet::new_unchecked(buf);
        let header_len = usize::from(ip.header_len());
        let total_len = usize::from(ip.total_len());
        if ip.version() != 4
            || header_len < IPV4_MIN_HEADER
            || header_len > buf.len()
            || total_len < header_len
        {
            return;
        }
        let proto = ip.next_header();
        self.ip[at] = Some(Ip {
            src: ipv4(ip.src_addr()),
            dst: ipv4(ip.dst_addr()),
            ttl: ip.hop_limit(),
            proto: u8::from(proto),
            len: ip.total_len(),
            id: ip.ident(),
            df: ip.dont_frag(),
        });
        if ip.more_frags() || ip.frag_offset() != 0 {
            return; // a fragment: Wireshark does not dissect its payload either
        }
        let payload = &buf[header_len..total_len.min(buf.len())];
        let reported_len = total_len - header_len;
        match proto {
            IpProtocol::Icmp => self.dissect_icmp(payload, at),
            IpProtocol::Tcp => self.tcp[at] = dissect_tcp(payload, reported_len, at == 0),
            IpProtocol::Udp => self.udp[at] = dissect_udp(payload),
            _ => {}
        }
    }

    fn dissect_icmp(&mut self, buf: &[u8], at: usize) {
        let Ok(icmp) = Icmpv4Packet::new_checked(buf) else {
            return;
        };
        let ty = u8::from(icmp.msg_type());
        self.icmp[at] = Some(Icmp {
            ty,
            code: icmp.msg_code(),
            ident_seq: ICMP_WITH_IDENT
                .contains(&ty)
                .then(|| (icmp.echo_ident(), icmp.echo_seq_no())),
        });
        if at == 0 && ICMP_QUOTING.contains(&ty) {
            self.dissect_ipv4(icmp.data(), 1);
        }
    }
}

impl Packet<'_> {
    /// Dissects an IPv6 header, its hop-by-hop, routing and destination options headers,
    /// and what they carry, into slot `at` (lenient as for IPv4: the buffer may be shorter
    /// than the payload length). Nothing past a fragment header is dissected.
    fn dissect_ipv6(&mut self, buf: &[u8], at: usize) {
        let Some(header) = buf.get(..IPV6_HEADER) else {
            return;
        };
        if header[0] >> 4 != 6 {
            return;
        }
        let addr = |b: &[u8]| u128::from_be_bytes(b.try_into().unwrap_or([0; 16]));
        let plen = u16::from_be_bytes([header[4], header[5]]);
        let nxt = header[6];
        self.ipv6[at] = Some(Ip6 {
            src: addr(&header[8..24]),
            dst: addr(&header[24..40]),
            hlim: header[7],
            nxt,
            plen,
        });
        let end = (IPV6_HEADER + usize::from(plen)).min(buf.len());
        let (mut proto, mut off, mut reported) = (nxt, IPV6_HEADER, usize::from(plen));
        // Hop-by-hop, routing and destination options: next header, then length in
        // 8-byte units beyond the first 8.
        while matches!(proto, 0 | 43 | 60) {
            let Some(ext) = buf.get(off..off + 2) else {
                return;
            };
            let len = (usize::from(ext[1]) + 1) * 8;
            proto = ext[0];
            off += len;
            reported = match reported.checked_sub(len) {
                Some(r) => r,
                None => return,
            };
        }
        if off > end {
            return;
        }
        let payload = &buf[off..end];
        match proto {
            58 => self.dissect_icmpv6(payload, at),
            6 => self.tcp[at] = dissect_tcp(payload, reported, at == 0),
            17 => self.udp[at] = dissect_udp(payload),
            _ => {}
        }
    }

    fn dissect_icmpv6(&mut self, buf: &[u8], at: usize) {
        let Some(&[ty, code, ..]) = buf.get(..4) else {
            return;
        };
        let target = match ty {
            ICMPV6_NS | ICMPV6_NA => buf
                .get(8..24)
                .map(|t| u128::from_be_bytes(t.try_into().unwrap_or([0; 16]))),
            _ => None,
        };
        let param = buf
            .get(4..8)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or([0; 4])));
        self.icmpv6[at] = Some(Icmp6 {
            ty,
            code,
            param,
            target,
        });
        if at == 0 && ICMPV6_QUOTING.contains(&ty) {
            self.dissect_ipv6(buf.get(8..).unwrap_or_default(), 1);
        }
    }
}

fn dissect_arp(buf: &[u8]) -> Option<Arp> {
    let arp = ArpPacket::new_checked(buf).ok()?;
    let is_mac = ARP_HW_ETHER.contains(&u16::from(arp.hardware_type())) && arp.hardware_len() == 6;
    let is_ipv4 = u16::from(arp.protocol_type()) == 0x0800 && arp.protocol_len() == 4;
    Some(Arp {
        opcode: u16::from(arp.operation()),
        src_mac: is_mac.then(|| mac_bytes(arp.source_hardware_addr())),
        dst_mac: is_mac.then(|| mac_bytes(arp.target_hardware_addr())),
        src_ip: is_ipv4.then(|| ipv4_bytes(arp.source_protocol_addr())),
        dst_ip: is_ipv4.then(|| ipv4_bytes(arp.target_protocol_addr())),
    })
}

/// `own` is false inside an ICMP error, where Wireshark gives no `tcp.len`.
fn dissect_tcp(buf: &[u8], reported_len: usize, own: bool) -> Option<Tcp> {
    if buf.len() < QUOTED_L4_LEN {
        return None;
    }
    let tcp = TcpPacket::new_unchecked(buf);
    let flags = (buf.len() >= TCP_MIN_HEADER).then(|| TcpFlags {
        syn: tcp.syn(),
        ack: tcp.ack(),
        rst: tcp.rst(),
        fin: tcp.fin(),
        psh: tcp.psh(),
    });
    let len = if own && TcpPacket::new_checked(buf).is_ok() {
        reported_len
            .checked_sub(usize::from(tcp.header_len()))
            .and_then(|l| u32::try_from(l).ok())
    } else {
        None
    };
    Some(Tcp {
        src: tcp.src_port(),
        dst: tcp.dst_port(),
        flags,
        len,
    })
}

fn dissect_udp(buf: &[u8]) -> Option<Udp> {
    if buf.len() < QUOTED_L4_LEN {
        return None;
    }
    let udp = UdpPacket::new_unchecked(buf);
    Some(Udp {
        src: udp.src_port(),
        dst: udp.dst_port(),
        length: udp.len(),
    })
}

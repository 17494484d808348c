//! One-line, tcpdump-like summaries of frames, for traces and logs.

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet,
    IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};

/// `172.17.0.2 > 172.17.0.3: ICMP echo request, id 1, seq 1, length 64` and the like.
pub fn summarize(frame: &[u8]) -> String {
    if let Some(tci) = super::vlan::tag(frame) {
        // tcpdump -e's words for the tag, then what it carries.
        let mut inner = Vec::with_capacity(frame.len());
        super::vlan::retag(frame, None, &mut inner);
        return format!("vlan {}, p {}, {}", tci.vid, tci.pcp, untagged(&inner));
    }
    untagged(frame)
}

/// A frame's summary without looking for a tag (a second tag is shown as an EtherType).
fn untagged(frame: &[u8]) -> String {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return format!("truncated frame, length {}", frame.len());
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => arp(eth.payload()),
        EthernetProtocol::Ipv4 => ipv4(eth.payload()),
        other => format!(
            "{} > {}, ethertype {other}, length {}",
            super::Mac(eth.src_addr()),
            super::Mac(eth.dst_addr()),
            frame.len()
        ),
    }
}

fn arp(data: &[u8]) -> String {
    let parsed = ArpPacket::new_checked(data).and_then(|p| ArpRepr::parse(&p));
    match parsed {
        Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) => match operation {
            ArpOperation::Request => {
                format!("ARP, Request who-has {target_protocol_addr} tell {source_protocol_addr}")
            }
            ArpOperation::Reply => {
                format!(
                    "ARP, Reply {source_protocol_addr} is-at {}",
                    super::Mac(source_hardware_addr)
                )
            }
            ArpOperation::Unknown(op) => format!("ARP, unknown operation {op}"),
        },
        _ => "ARP, malformed".into(),
    }
}

fn ipv4(data: &[u8]) -> String {
    let Ok(ip) = Ipv4Packet::new_checked(data) else {
        return "IP, malformed".into();
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let payload = ip.payload();
    match ip.next_header() {
        IpProtocol::Icmp => match Icmpv4Packet::new_checked(payload) {
            Ok(icmp) => {
                let what = match icmp.msg_type() {
                    Icmpv4Message::EchoRequest => format!(
                        "ICMP echo request, id {}, seq {}",
                        icmp.echo_ident(),
                        icmp.echo_seq_no()
                    ),
                    Icmpv4Message::EchoReply => format!(
                        "ICMP echo reply, id {}, seq {}",
                        icmp.echo_ident(),
                        icmp.echo_seq_no()
                    ),
                    Icmpv4Message::TimeExceeded => "ICMP time exceeded in-transit".into(),
                    Icmpv4Message::DstUnreachable => {
                        format!("ICMP unreachable, code {}", icmp.msg_code())
                    }
                    other => format!("ICMP {other}"),
                };
                format!("{src} > {dst}: {what}, length {}", payload.len())
            }
            Err(_) => format!("{src} > {dst}: ICMP, malformed"),
        },
        IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
            Ok(tcp) => {
                let mut flags = String::new();
                for (on, c) in [
                    (tcp.syn(), 'S'),
                    (tcp.fin(), 'F'),
                    (tcp.rst(), 'R'),
                    (tcp.psh(), 'P'),
                ] {
                    if on {
                        flags.push(c);
                    }
                }
                if tcp.ack() {
                    flags.push('.');
                }
                let len = payload.len().saturating_sub(usize::from(tcp.header_len()));
                format!(
                    "{src}.{} > {dst}.{}: Flags [{flags}], length {len}",
                    tcp.src_port(),
                    tcp.dst_port()
                )
            }
            Err(_) => format!("{src} > {dst}: TCP, malformed"),
        },
        IpProtocol::Udp => match UdpPacket::new_checked(payload) {
            Ok(udp) => format!(
                "{src}.{} > {dst}.{}: UDP, length {}",
                udp.src_port(),
                udp.dst_port(),
                udp.payload().len()
            ),
            Err(_) => format!("{src} > {dst}: UDP, malformed"),
        },
        other => format!("{src} > {dst}: {other}, length {}", payload.len()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tagged_frame_names_its_vlan_then_what_it_carries() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x20, 0x0a, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 10, 2]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 10, 1]);
        assert_eq!(
            super::summarize(&f),
            "vlan 10, p 1, ARP, Request who-has 10.0.10.1 tell 10.0.10.2"
        );
    }
}

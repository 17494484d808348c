//! The LOG target's line, as the kernel's `nf_log_ip_packet` (`nf_log_syslog.c`) writes it
//! after the syslog level: the prefix, `IN=`/`OUT=`, `MAC=` for a received packet, then the
//! IPv4 header (`SRC= DST= LEN= TOS= PREC= TTL= ID=` and the fragment flags) and the
//! transport header (ports, TCP window and flags, UDP length, ICMP type and code, echo id and
//! sequence, an ICMP error's quoted packet in brackets), each field followed by a space.
//! The options a LOG rule can add (`--log-tcp-sequence`, `--log-tcp-options`,
//! `--log-ip-options`, `--log-uid`) are not modelled. A marked packet ends with `MARK=0x..`.

use std::fmt;

use smoltcp::wire::{Icmpv4Packet, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket};

use super::eval::LogLine;

impl fmt::Display for LogLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        PacketLog {
            prefix: self.prefix,
            packet: self.packet,
        }
        .fmt(f)
    }
}

/// The line `nf_log_ip_packet` writes for a packet, after a rule's prefix: what iptables'
/// LOG and nft's `log` statement both print.
#[derive(Clone, Copy, Debug)]
pub struct PacketLog<'a> {
    pub prefix: &'a str,
    pub packet: &'a crate::netfilter::PacketView<'a>,
}

impl fmt::Display for PacketLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.packet;
        write!(
            f,
            "{}IN={} OUT={} ",
            self.prefix,
            p.in_iface.unwrap_or(""),
            p.out_iface.unwrap_or("")
        )?;
        // The MAC header of a packet that came in on an interface: destination, source,
        // ethertype, as bytes.
        if p.in_iface.is_some()
            && let Some(mac) = p.mac
        {
            f.write_str("MAC=")?;
            for (i, b) in mac.iter().enumerate() {
                if i > 0 {
                    f.write_str(":")?;
                }
                write!(f, "{b:02x}")?;
            }
            f.write_str(" ")?;
        }
        match p.ip.first().map(|b| b >> 4) {
            Some(6) => ipv6(f, p.ip, false)?,
            _ => ipv4(f, p.ip, false)?,
        }
        // `dump_ipv4_packet` (and `dump_ipv6_packet`) ends with the packet's mark, when it has one.
        if p.mark != 0 {
            write!(f, "MARK=0x{:x} ", p.mark)?;
        }
        Ok(())
    }
}

/// `SRC=... DST=...` onwards; `quoted` for the packet inside an ICMP error (recursed once).
fn ipv4(f: &mut fmt::Formatter<'_>, bytes: &[u8], quoted: bool) -> fmt::Result {
    let ip = Ipv4Packet::new_unchecked(bytes);
    if bytes.len() < 20 {
        return write!(f, "TRUNCATED ");
    }
    let tos = ip.dscp() << 2 | ip.ecn();
    write!(
        f,
        "SRC={} DST={} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        ip.src_addr(),
        ip.dst_addr(),
        ip.total_len(),
        tos & 0x1e,
        tos & 0xe0,
        ip.hop_limit(),
        ip.ident()
    )?;
    // Flags: the reserved bit is the kernel's "CE".
    let flags = u16::from_be_bytes([bytes[6], bytes[7]]);
    if flags & 0x8000 != 0 {
        f.write_str("CE ")?;
    }
    if ip.dont_frag() {
        f.write_str("DF ")?;
    }
    if ip.more_frags() {
        f.write_str("MF ")?;
    }
    let offset = ip.frag_offset();
    if offset != 0 {
        write!(f, "FRAG:{} ", offset / 8)?;
    }
    let hl = usize::from(ip.header_len()).min(bytes.len());
    let l4 = &bytes[hl..bytes.len().min(usize::from(ip.total_len()).max(hl))];
    match ip.next_header() {
        IpProtocol::Tcp | IpProtocol::Udp => tcp_udp(f, ip.next_header(), l4, offset != 0),
        IpProtocol::Icmp => {
            f.write_str("PROTO=ICMP ")?;
            if offset != 0 {
                return Ok(());
            }
            if l4.len() < 4 {
                return write!(f, "INCOMPLETE [{} bytes] ", l4.len());
            }
            let (kind, code) = (l4[0], l4[1]);
            write!(f, "TYPE={kind} CODE={code} ")?;
            if l4.len() < 8 {
                return write!(f, "INCOMPLETE [{} bytes] ", l4.len());
            }
            let icmp = Icmpv4Packet::new_unchecked(l4);
            match kind {
                0 | 8 => write!(f, "ID={} SEQ={} ", icmp.echo_ident(), icmp.echo_seq_no()),
                12 => write!(f, "PARAMETER={} ", l4[4]),
                3 | 4 | 5 | 11 => {
                    if kind == 5 {
                        write!(f, "GATEWAY={}.{}.{}.{} ", l4[4], l4[5], l4[6], l4[7])?;
                    }
                    if !quoted {
                        f.write_str("[")?;
                        ipv4(f, &l4[8..], true)?;
                        f.write_str("] ")?;
                    }
                    if kind == 3 && code == 4 {
                        write!(f, "MTU={} ", u16::from_be_bytes([l4[6], l4[7]]))?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        other => write!(f, "PROTO={} ", u8::from(other)),
    }
}

/// The TCP or UDP header's fields (`nf_log_dump_tcp_header`, `nf_log_dump_udp_header`),
/// after `PROTO=`; a later fragment has none.
fn tcp_udp(
    f: &mut fmt::Formatter<'_>,
    proto: IpProtocol,
    l4: &[u8],
    fragment: bool,
) -> fmt::Result {
    match proto {
        IpProtocol::Tcp => {
            f.write_str("PROTO=TCP ")?;
            if fragment {
                return Ok(());
            }
            if l4.len() < 20 {
                return write!(f, "INCOMPLETE [{} bytes] ", l4.len());
            }
            let t = TcpPacket::new_unchecked(l4);
            write!(
                f,
                "SPT={} DPT={} WINDOW={} RES=0x{:02x} ",
                t.src_port(),
                t.dst_port(),
                t.window_len(),
                (l4[12] & 0x0e) >> 1
            )?;
            let names = [
                (t.cwr(), "CWR"),
                (t.ece(), "ECE"),
                (t.urg(), "URG"),
                (t.ack(), "ACK"),
                (t.psh(), "PSH"),
                (t.rst(), "RST"),
                (t.syn(), "SYN"),
                (t.fin(), "FIN"),
            ];
            for (on, name) in names {
                if on {
                    write!(f, "{name} ")?;
                }
            }
            write!(f, "URGP={} ", t.urgent_at())
        }
        IpProtocol::Udp => {
            f.write_str("PROTO=UDP ")?;
            if fragment {
                return Ok(());
            }
            if l4.len() < 8 {
                return write!(f, "INCOMPLETE [{} bytes] ", l4.len());
            }
            let u = UdpPacket::new_unchecked(l4);
            write!(
                f,
                "SPT={} DPT={} LEN={} ",
                u.src_port(),
                u.dst_port(),
                u.len()
            )
        }
        _ => Ok(()),
    }
}

/// `dump_ipv6_packet`: `SRC=... DST=...` written out in full (`%pI6`), the length with the
/// fixed header, traffic class, hop limit and flow label, the fragment header, then the
/// upper-layer header as for IPv4 (ICMPv6's echo fields, an error's quoted packet, a too
/// big's MTU); `quoted` for the packet inside an ICMPv6 error.
fn ipv6(f: &mut fmt::Formatter<'_>, bytes: &[u8], quoted: bool) -> fmt::Result {
    if bytes.len() < 40 {
        return write!(f, "TRUNCATED ");
    }
    let ip = Ipv6Packet::new_unchecked(bytes);
    let full = |a: smoltcp::wire::Ipv6Address| {
        let o = a.octets();
        let mut s = String::with_capacity(39);
        for (i, pair) in o.chunks(2).enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(&format!("{:02x}{:02x}", pair[0], pair[1]));
        }
        s
    };
    let word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    write!(
        f,
        "SRC={} DST={} LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
        full(ip.src_addr()),
        full(ip.dst_addr()),
        usize::from(ip.payload_len()) + 40,
        (word & 0x0ff0_0000) >> 20,
        ip.hop_limit(),
        word & 0x000f_ffff
    )?;
    let end = (40 + usize::from(ip.payload_len())).min(bytes.len());
    let mut next = bytes[6];
    let mut at = 40;
    let mut fragment = false;
    loop {
        match next {
            0 | 43 | 60 => {
                if fragment || at + 2 > end {
                    return Ok(());
                }
                next = bytes[at];
                at += (usize::from(bytes[at + 1]) + 1) * 8;
            }
            44 => {
                if at + 8 > end {
                    return write!(f, "INCOMPLETE ");
                }
                let h = &bytes[at..at + 8];
                let off = u16::from_be_bytes([h[2], h[3]]);
                write!(f, "FRAG:{} ", off & 0xfff8)?;
                if off & 1 != 0 {
                    f.write_str("INCOMPLETE ")?;
                }
                write!(
                    f,
                    "ID:{:08x} ",
                    u32::from_be_bytes([h[4], h[5], h[6], h[7]])
                )?;
                fragment = off & 0xfff8 != 0;
                next = h[0];
                at += 8;
            }
            _ => break,
        }
    }
    let l4 = bytes.get(at..end.max(at)).unwrap_or(&[]);
    match IpProtocol::from(next) {
        p @ (IpProtocol::Tcp | IpProtocol::Udp) => tcp_udp(f, p, l4, fragment),
        IpProtocol::Icmpv6 => {
            f.write_str("PROTO=ICMPv6 ")?;
            if fragment {
                return Ok(());
            }
            if l4.len() < 8 {
                return write!(f, "INCOMPLETE [{} bytes] ", l4.len());
            }
            let (kind, code) = (l4[0], l4[1]);
            write!(f, "TYPE={kind} CODE={code} ")?;
            match kind {
                128 | 129 => write!(
                    f,
                    "ID={} SEQ={} ",
                    u16::from_be_bytes([l4[4], l4[5]]),
                    u16::from_be_bytes([l4[6], l4[7]])
                ),
                1..=4 => {
                    if kind == 4 {
                        write!(
                            f,
                            "POINTER={:08x} ",
                            u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]])
                        )?;
                    }
                    if !quoted {
                        f.write_str("[")?;
                        ipv6(f, &l4[8..], true)?;
                        f.write_str("] ")?;
                    }
                    if kind == 2 {
                        write!(
                            f,
                            "MTU={} ",
                            u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]])
                        )?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        other => write!(f, "PROTO={} ", u8::from(other)),
    }
}

//! The packet `hoplab explain --packet` describes, and the frame it becomes:
//! `PROTO SRC[:PORT] -> DST[:PORT] in IFACE [state NEW|ESTABLISHED] [mark M] [flags F,..]
//! [ttl N] [len N] [type T[/C]]`. Square brackets around the options are optional.

use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv4Packet, IpAddress, IpProtocol,
    Ipv4Address, Ipv4Packet, TcpPacket, TcpSeqNumber, UdpPacket,
};

use crate::link::ETH_HEADER_LEN;
use crate::netfilter::conntrack::Tuple;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
}

/// The conntrack state the packet should meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateWanted {
    /// Whatever the table says: a new flow unless one holds the packet's tuple.
    New,
    /// A flow that has seen both directions holds the tuple (entered for it if none does).
    Established,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSpec {
    pub proto: Proto,
    pub src: Ipv4Address,
    pub sport: u16,
    pub dst: Ipv4Address,
    pub dport: u16,
    pub in_iface: String,
    pub state: StateWanted,
    pub mark: u32,
    /// TCP flags (default: SYN for a new flow, ACK for an established one).
    pub flags: Option<u8>,
    pub ttl: u8,
    /// Payload bytes after the transport header.
    pub len: u16,
    /// ICMP type and code (default: echo request).
    pub icmp: (u8, u8),
}

const USAGE: &str = "PROTO SRC[:PORT] -> DST[:PORT] in IFACE [state NEW|ESTABLISHED] [mark M] [flags SYN,ACK,...] [ttl N] [len N] [type T[/C]]";

fn err(what: impl std::fmt::Display) -> String {
    format!("--packet: {what} (the form is \"{USAGE}\")")
}

fn number<T: TryFrom<u64>>(word: &str, what: &str) -> Result<T, String> {
    let n = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => word.parse::<u64>().ok(),
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| err(format!("'{word}' is not a valid {what}")))
}

fn endpoint(word: &str, proto: Proto) -> Result<(Ipv4Address, u16), String> {
    // An IPv6 address, bare or in brackets: explaining IPv6 (its packet spec, ip6tables'
    // walk) is not built yet (`hoplab trace` follows an IPv6 packet's hops).
    let bare = word.trim_start_matches('[').split(']').next().unwrap_or("");
    if bare.parse::<smoltcp::wire::Ipv6Address>().is_ok() || word.matches(':').count() > 1 {
        return Err(err(format!(
            "'{word}': IPv6 packets are not explained yet (`hoplab trace` shows an IPv6 \
             packet's journey)"
        )));
    }
    let (addr, port) = match word.rsplit_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (word, None),
    };
    let ip: Ipv4Address = addr
        .parse()
        .map_err(|_| err(format!("'{addr}' is not an IPv4 address")))?;
    let port = match (port, proto) {
        (Some(p), Proto::Icmp) => {
            return Err(err(format!("'{word}': ICMP has no ports (drop ':{p}')")));
        }
        (Some(p), _) => number::<u16>(p, "port")?,
        (None, Proto::Icmp) => 0,
        (None, _) => return Err(err(format!("'{word}' needs a port (ADDR:PORT)"))),
    };
    Ok((ip, port))
}

const FLAGS: &[(&str, u8)] = &[
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
];

fn icmp_type(word: &str) -> Result<(u8, u8), String> {
    let named = match word {
        "echo-request" => Some((8, 0)),
        "echo-reply" => Some((0, 0)),
        "timestamp-request" => Some((13, 0)),
        _ => None,
    };
    if let Some(t) = named {
        return Ok(t);
    }
    let (t, c) = word.split_once('/').unwrap_or((word, "0"));
    Ok((number(t, "ICMP type")?, number(c, "ICMP code")?))
}

impl PacketSpec {
    pub fn parse(text: &str) -> Result<PacketSpec, String> {
        let cleaned = text.replace(['[', ']'], " ");
        let words: Vec<&str> = cleaned.split_whitespace().collect();
        let [proto, src, arrow, dst, rest @ ..] = words.as_slice() else {
            return Err(err(format!("'{}' is too short", text.trim())));
        };
        let proto = match proto.to_ascii_lowercase().as_str() {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" => Proto::Icmp,
            other => return Err(err(format!("'{other}': expected tcp, udp or icmp"))),
        };
        if !matches!(*arrow, "->" | ">") {
            return Err(err(format!(
                "'{arrow}': expected '->' between the addresses"
            )));
        }
        let (src, sport) = endpoint(src, proto)?;
        let (dst, dport) = endpoint(dst, proto)?;
        let mut spec = PacketSpec {
            proto,
            src,
            sport,
            dst,
            dport,
            in_iface: String::new(),
            state: StateWanted::New,
            mark: 0,
            flags: None,
            ttl: 64,
            len: if proto == Proto::Icmp { 56 } else { 0 },
            icmp: (8, 0),
        };
        let mut it = rest.iter();
        while let Some(&key) = it.next() {
            fn value<'w>(
                it: &mut std::slice::Iter<'_, &'w str>,
                key: &str,
            ) -> Result<&'w str, String> {
                it.next()
                    .copied()
                    .ok_or_else(|| err(format!("'{key}' needs a value")))
            }
            match key {
                "in" => spec.in_iface = value(&mut it, key)?.to_string(),
                "state" => {
                    spec.state = match value(&mut it, key)?.to_ascii_uppercase().as_str() {
                        "NEW" => StateWanted::New,
                        "ESTABLISHED" => StateWanted::Established,
                        other => {
                            return Err(err(format!(
                                "state '{other}': explain sends a NEW or an ESTABLISHED packet (RELATED and INVALID come from what a packet is, not from a wish)"
                            )));
                        }
                    }
                }
                "mark" => spec.mark = number(value(&mut it, key)?, "mark")?,
                "ttl" => spec.ttl = number(value(&mut it, key)?, "TTL (0-255)")?,
                "len" => spec.len = number(value(&mut it, key)?, "payload length")?,
                "flags" if proto == Proto::Tcp => {
                    let mut bits = 0;
                    for f in value(&mut it, key)?.split(',') {
                        let up = f.to_ascii_uppercase();
                        let bit = FLAGS
                            .iter()
                            .find(|(n, _)| *n == up)
                            .ok_or_else(|| err(format!("'{f}' is not a TCP flag")))?;
                        bits |= bit.1;
                    }
                    spec.flags = Some(bits);
                }
                "type" if proto == Proto::Icmp => spec.icmp = icmp_type(value(&mut it, key)?)?,
                other => return Err(err(format!("unexpected '{other}'"))),
            }
        }
        if spec.in_iface.is_empty() {
            return Err(err("say which interface it arrives on: in IFACE"));
        }
        if usize::from(spec.len) > 1400 {
            return Err(err(format!("len {} is over 1400 bytes", spec.len)));
        }
        Ok(spec)
    }

    /// The flow's original-direction tuple, as conntrack keys it.
    pub fn tuple(&self) -> Tuple {
        let (proto, sport, dport) = match self.proto {
            Proto::Tcp => (6, self.sport, self.dport),
            Proto::Udp => (17, self.sport, self.dport),
            // An ICMP query's identifier stands for its source port.
            Proto::Icmp => (1, ICMP_IDENT, 0),
        };
        Tuple {
            src: self.src.into(),
            dst: self.dst.into(),
            proto,
            sport,
            dport,
        }
    }

    fn tcp_flags(&self) -> u8 {
        self.flags.unwrap_or(match self.state {
            StateWanted::New => 0x02,
            StateWanted::Established => 0x10,
        })
    }

    /// The Ethernet frame, checksums filled.
    pub fn frame(&self, src_mac: EthernetAddress, dst_mac: EthernetAddress) -> Vec<u8> {
        let syn = self.proto == Proto::Tcp && self.tcp_flags() & 0x02 != 0;
        let l4_header = match self.proto {
            // A SYN carries its MSS, as every stack sends it (TCPMSS rules look for it).
            Proto::Tcp if syn => 24,
            Proto::Tcp => 20,
            Proto::Udp | Proto::Icmp => 8,
        };
        let l4_len = l4_header + usize::from(self.len);
        let ip_len = 20 + l4_len;
        let mut buf = vec![0u8; ETH_HEADER_LEN + ip_len];
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(dst_mac);
        eth.set_src_addr(src_mac);
        eth.set_ethertype(EthernetProtocol::Ipv4);
        let mut ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..]);
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_total_len(ip_len as u16);
        ip.set_dont_frag(true);
        ip.set_hop_limit(self.ttl);
        ip.set_next_header(match self.proto {
            Proto::Tcp => IpProtocol::Tcp,
            Proto::Udp => IpProtocol::Udp,
            Proto::Icmp => IpProtocol::Icmp,
        });
        ip.set_src_addr(self.src);
        ip.set_dst_addr(self.dst);
        ip.fill_checksum();
        let (s, d) = (IpAddress::Ipv4(self.src), IpAddress::Ipv4(self.dst));
        let l4 = ip.payload_mut();
        match self.proto {
            Proto::Tcp => {
                let flags = self.tcp_flags();
                let mut t = TcpPacket::new_unchecked(l4);
                t.set_src_port(self.sport);
                t.set_dst_port(self.dport);
                t.set_seq_number(TcpSeqNumber(1_000_000));
                t.set_ack_number(TcpSeqNumber(if flags & 0x10 != 0 { 2_000_000 } else { 0 }));
                t.set_header_len(l4_header as u8);
                t.set_fin(flags & 0x01 != 0);
                t.set_syn(flags & 0x02 != 0);
                t.set_rst(flags & 0x04 != 0);
                t.set_psh(flags & 0x08 != 0);
                t.set_ack(flags & 0x10 != 0);
                t.set_urg(flags & 0x20 != 0);
                t.set_window_len(64240);
                if syn {
                    t.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4]);
                }
                t.fill_checksum(&s, &d);
            }
            Proto::Udp => {
                let mut u = UdpPacket::new_unchecked(l4);
                u.set_src_port(self.sport);
                u.set_dst_port(self.dport);
                u.set_len(l4_len as u16);
                u.fill_checksum(&s, &d);
            }
            Proto::Icmp => {
                let mut i = Icmpv4Packet::new_unchecked(l4);
                i.set_msg_type(self.icmp.0.into());
                i.set_msg_code(self.icmp.1);
                i.set_echo_ident(ICMP_IDENT);
                i.set_echo_seq_no(1);
                i.fill_checksum();
            }
        }
        buf
    }
}

/// The identifier of the echo request explain sends.
const ICMP_IDENT: u16 = 0x4858;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_form_with_brackets() {
        let s = PacketSpec::parse(
            "tcp 203.0.113.5:40000 -> 192.168.1.10:8080 in eth0 [state NEW] [mark 0x1]",
        )
        .unwrap();
        assert_eq!(s.proto, Proto::Tcp);
        assert_eq!((s.sport, s.dport), (40000, 8080));
        assert_eq!(s.in_iface, "eth0");
        assert_eq!(s.mark, 1);
        assert_eq!(s.state, StateWanted::New);
    }

    #[test]
    fn names_the_bad_token() {
        let e = PacketSpec::parse("tcp 10.0.0.1:1 -> 10.0.0.300:2 in eth0").unwrap_err();
        assert!(e.contains("'10.0.0.300' is not an IPv4 address"), "{e}");
        let e = PacketSpec::parse("tcp 10.0.0.1:1 -> 10.0.0.3:2").unwrap_err();
        assert!(e.contains("in IFACE"), "{e}");
        let e = PacketSpec::parse("sctp 10.0.0.1:1 -> 10.0.0.3:2 in eth0").unwrap_err();
        assert!(e.contains("'sctp'"), "{e}");
        let e = PacketSpec::parse("icmp 10.0.0.1 -> 10.0.0.3 in eth0 state RELATED").unwrap_err();
        assert!(e.contains("RELATED"), "{e}");
        let e =
            PacketSpec::parse("tcp 10.0.0.1:1 -> 10.0.0.3:2 in eth0 flags SYN,BOGUS").unwrap_err();
        assert!(e.contains("'BOGUS'"), "{e}");
        for v6 in [
            "icmp 2001:db8:1::10 -> 2001:db8:2::50 in eth0",
            "udp 2001:db8:1::10:5000 -> 2001:db8:2::50:53 in eth0",
        ] {
            let e = PacketSpec::parse(v6).unwrap_err();
            assert!(e.contains("IPv6 packets are not explained yet"), "{e}");
        }
    }

    #[test]
    fn frames_carry_valid_checksums() {
        for text in [
            "tcp 10.0.0.1:40000 -> 10.0.0.2:80 in eth0",
            "tcp 10.0.0.1:40000 -> 10.0.0.2:80 in eth0 state ESTABLISHED len 100",
            "udp 10.0.0.1:5353 -> 10.0.0.2:53 in eth0 len 20",
            "icmp 10.0.0.1 -> 10.0.0.2 in eth0",
        ] {
            let s = PacketSpec::parse(text).unwrap();
            let f = s.frame(
                EthernetAddress([2, 0, 0, 0, 0, 1]),
                EthernetAddress([2, 0, 0, 0, 0, 2]),
            );
            let ip = Ipv4Packet::new_checked(&f[ETH_HEADER_LEN..]).unwrap();
            assert!(ip.verify_checksum(), "{text}");
            let (a, b) = (IpAddress::Ipv4(s.src), IpAddress::Ipv4(s.dst));
            let ok = match s.proto {
                Proto::Tcp => TcpPacket::new_checked(ip.payload())
                    .unwrap()
                    .verify_checksum(&a, &b),
                Proto::Udp => UdpPacket::new_checked(ip.payload())
                    .unwrap()
                    .verify_checksum(&a, &b),
                Proto::Icmp => Icmpv4Packet::new_checked(ip.payload())
                    .unwrap()
                    .verify_checksum(),
            };
            assert!(ok, "{text}");
        }
    }
}

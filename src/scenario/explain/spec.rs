//! The packet `hoplab explain --packet` describes, and the frame it becomes:
//! `PROTO SRC[:PORT] -> DST[:PORT] in IFACE [state NEW|ESTABLISHED] [mark M] [flags F,..]
//! [ttl N] [len N] [type T[/C]]`. Square brackets around the options are optional; an IPv6
//! address with a port is written `[ADDR]:PORT`, as a URL writes it, and one without (ICMPv6)
//! bare.

use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv4Packet, Icmpv6Packet, IpAddress,
    IpProtocol, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet, TcpPacket, TcpSeqNumber,
    UdpPacket,
};

use crate::link::ETH_HEADER_LEN;
use crate::netfilter::conntrack::Tuple;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP, or ICMPv6 between IPv6 addresses.
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
    /// IPv4 or IPv6, both of one family.
    pub src: IpAddress,
    pub sport: u16,
    pub dst: IpAddress,
    pub dport: u16,
    pub in_iface: String,
    pub state: StateWanted,
    pub mark: u32,
    /// TCP flags (default: SYN for a new flow, ACK for an established one).
    pub flags: Option<u8>,
    /// TTL, or IPv6's hop limit.
    pub ttl: u8,
    /// Payload bytes after the transport header.
    pub len: u16,
    /// ICMP type and code (default: echo request); ICMPv6's for IPv6.
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

fn endpoint(word: &str, proto: Proto) -> Result<(IpAddress, u16), String> {
    // IPv6: `[ADDR]:PORT`, `[ADDR]` or a bare ADDR (its colons are not a port's).
    let (addr, port) = match word.strip_prefix('[').and_then(|w| w.split_once(']')) {
        Some((a, "")) => (a, None),
        Some((a, rest)) => match rest.strip_prefix(':') {
            Some(p) => (a, Some(p)),
            None => return Err(err(format!("'{word}': expected [ADDR]:PORT"))),
        },
        None if word.matches(':').count() > 1 => (word, None),
        None => match word.rsplit_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (word, None),
        },
    };
    let ip: IpAddress = match addr.contains(':') {
        true => addr
            .parse::<Ipv6Address>()
            .map(IpAddress::Ipv6)
            .map_err(|_| err(format!("'{addr}' is not an IPv6 address")))?,
        false => addr
            .parse::<Ipv4Address>()
            .map(IpAddress::Ipv4)
            .map_err(|_| err(format!("'{addr}' is not an IPv4 address")))?,
    };
    let v6 = matches!(ip, IpAddress::Ipv6(_));
    let port = match (port, proto) {
        (Some(p), Proto::Icmp) => {
            return Err(err(format!("'{word}': ICMP has no ports (drop ':{p}')")));
        }
        (Some(p), _) => number::<u16>(p, "port")?,
        (None, Proto::Icmp) => 0,
        (None, _) if v6 => return Err(err(format!("'{word}' needs a port ([ADDR]:PORT)"))),
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

fn icmp_type(word: &str, v6: bool) -> Result<(u8, u8), String> {
    let named = match (word, v6) {
        ("echo-request", false) => Some((8, 0)),
        ("echo-reply", false) => Some((0, 0)),
        ("timestamp-request", false) => Some((13, 0)),
        ("echo-request", true) => Some((128, 0)),
        ("echo-reply", true) => Some((129, 0)),
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
        // Brackets around options go; an IPv6 address's (`[ADDR]:PORT`) stay.
        let cleaned: Vec<String> = text
            .split_whitespace()
            .map(|w| {
                match w.starts_with('[')
                    && w[1..].split(']').next().is_some_and(|a| a.contains(':'))
                {
                    true => w.to_string(),
                    false => w.replace(['[', ']'], " "),
                }
            })
            .collect();
        let cleaned = cleaned.join(" ");
        let words: Vec<&str> = cleaned.split_whitespace().collect();
        let [proto, src, arrow, dst, rest @ ..] = words.as_slice() else {
            return Err(err(format!("'{}' is too short", text.trim())));
        };
        let proto = match proto.to_ascii_lowercase().as_str() {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" | "icmpv6" | "icmp6" | "ipv6-icmp" => Proto::Icmp,
            other => return Err(err(format!("'{other}': expected tcp, udp, icmp or icmpv6"))),
        };
        if !matches!(*arrow, "->" | ">") {
            return Err(err(format!(
                "'{arrow}': expected '->' between the addresses"
            )));
        }
        let (src, sport) = endpoint(src, proto)?;
        let (dst, dport) = endpoint(dst, proto)?;
        if src.version() != dst.version() {
            return Err(err(format!(
                "{src} and {dst}: both addresses IPv4, or both IPv6"
            )));
        }
        let v6 = matches!(src, IpAddress::Ipv6(_));
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
            icmp: if v6 { (128, 0) } else { (8, 0) },
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
                "type" if proto == Proto::Icmp => spec.icmp = icmp_type(value(&mut it, key)?, v6)?,
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
            Proto::Icmp if self.is_v6() => (58, ICMP_IDENT, 0),
            Proto::Icmp => (1, ICMP_IDENT, 0),
        };
        Tuple {
            src: self.src,
            dst: self.dst,
            proto,
            sport,
            dport,
        }
    }

    fn is_v6(&self) -> bool {
        matches!(self.src, IpAddress::Ipv6(_))
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
        let ip_header = if self.is_v6() { 40 } else { 20 };
        let mut buf = vec![0u8; ETH_HEADER_LEN + ip_header + l4_len];
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(dst_mac);
        eth.set_src_addr(src_mac);
        let next_header = match self.proto {
            Proto::Tcp => IpProtocol::Tcp,
            Proto::Udp => IpProtocol::Udp,
            Proto::Icmp if self.is_v6() => IpProtocol::Icmpv6,
            Proto::Icmp => IpProtocol::Icmp,
        };
        let (s, d) = (self.src, self.dst);
        let l4 = match (s, d) {
            (IpAddress::Ipv6(src), IpAddress::Ipv6(dst)) => {
                eth.set_ethertype(EthernetProtocol::Ipv6);
                let mut ip = Ipv6Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..]);
                ip.set_version(6);
                ip.set_payload_len(l4_len as u16);
                ip.set_next_header(next_header);
                ip.set_hop_limit(self.ttl);
                ip.set_src_addr(src);
                ip.set_dst_addr(dst);
                &mut buf[ETH_HEADER_LEN + 40..]
            }
            (IpAddress::Ipv4(src), IpAddress::Ipv4(dst)) => {
                eth.set_ethertype(EthernetProtocol::Ipv4);
                let mut ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..]);
                ip.set_version(4);
                ip.set_header_len(20);
                ip.set_total_len((20 + l4_len) as u16);
                ip.set_dont_frag(true);
                ip.set_hop_limit(self.ttl);
                ip.set_next_header(next_header);
                ip.set_src_addr(src);
                ip.set_dst_addr(dst);
                ip.fill_checksum();
                &mut buf[ETH_HEADER_LEN + 20..]
            }
            // `parse` gives both addresses one family.
            _ => return buf,
        };
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
            Proto::Icmp if self.is_v6() => {
                let mut i = Icmpv6Packet::new_unchecked(l4);
                i.set_msg_type(self.icmp.0.into());
                i.set_msg_code(self.icmp.1);
                i.set_echo_ident(ICMP_IDENT);
                i.set_echo_seq_no(1);
                if let (IpAddress::Ipv6(s6), IpAddress::Ipv6(d6)) = (s, d) {
                    i.fill_checksum(&s6, &d6);
                }
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
        for (bad, says) in [
            // An IPv6 port goes after the brackets: these colons are the address's.
            (
                "udp 2001:db8:1::10:5000 -> [2001:db8:2::50]:53 in eth0",
                "needs a port ([ADDR]:PORT)",
            ),
            (
                "tcp [2001:db8::zz]:1 -> [2001:db8::1]:2 in eth0",
                "'2001:db8::zz' is not an IPv6 address",
            ),
            (
                "tcp [2001:db8::1]:1 -> 10.0.0.1:2 in eth0",
                "both addresses IPv4, or both IPv6",
            ),
            (
                "tcp [2001:db8::1]x -> [2001:db8::2]:2 in eth0",
                "expected [ADDR]:PORT",
            ),
        ] {
            let e = PacketSpec::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn ipv6_packets_parse_in_url_form() {
        let s = PacketSpec::parse(
            "tcp [2001:db8:1::10]:40000 -> [2001:db8:2::50]:80 in eth0 [state ESTABLISHED]",
        )
        .unwrap();
        assert_eq!(s.src.to_string(), "2001:db8:1::10");
        assert_eq!(
            (s.sport, s.dport, s.state),
            (40000, 80, StateWanted::Established)
        );
        let s = PacketSpec::parse("icmpv6 2001:db8:1::10 -> 2001:db8:2::50 in eth0").unwrap();
        assert_eq!((s.proto, s.icmp), (Proto::Icmp, (128, 0)));
        assert_eq!(s.tuple().proto, 58);
        let s =
            PacketSpec::parse("icmp 2001:db8::1 -> 2001:db8::2 in eth0 type echo-reply").unwrap();
        assert_eq!(s.icmp, (129, 0));
    }

    #[test]
    fn frames_carry_valid_checksums() {
        use smoltcp::wire::{Icmpv6Packet, Ipv6Packet};
        for text in [
            "tcp 10.0.0.1:40000 -> 10.0.0.2:80 in eth0",
            "tcp 10.0.0.1:40000 -> 10.0.0.2:80 in eth0 state ESTABLISHED len 100",
            "udp 10.0.0.1:5353 -> 10.0.0.2:53 in eth0 len 20",
            "icmp 10.0.0.1 -> 10.0.0.2 in eth0",
            "tcp [2001:db8::1]:40000 -> [2001:db8::2]:80 in eth0",
            "udp [2001:db8::1]:5353 -> [2001:db8::2]:53 in eth0 len 20 ttl 1",
            "icmpv6 2001:db8::1 -> 2001:db8::2 in eth0",
        ] {
            let s = PacketSpec::parse(text).unwrap();
            let f = s.frame(
                EthernetAddress([2, 0, 0, 0, 0, 1]),
                EthernetAddress([2, 0, 0, 0, 0, 2]),
            );
            let ip = &f[ETH_HEADER_LEN..];
            // The IP header checks out (IPv4's checksum, IPv6's payload length); then the
            // transport's checksum over it.
            let payload = match (s.src, s.dst) {
                (IpAddress::Ipv6(src), IpAddress::Ipv6(dst)) => {
                    let ip = Ipv6Packet::new_checked(ip).unwrap();
                    assert_eq!(usize::from(ip.payload_len()), f.len() - ETH_HEADER_LEN - 40);
                    if s.proto == Proto::Icmp {
                        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
                        assert!(icmp.verify_checksum(&src, &dst), "{text}");
                        continue;
                    }
                    ip.payload()
                }
                _ => {
                    let ip = Ipv4Packet::new_checked(ip).unwrap();
                    assert!(ip.verify_checksum(), "{text}");
                    ip.payload()
                }
            };
            let (a, b) = (s.src, s.dst);
            let ok = match s.proto {
                Proto::Tcp => TcpPacket::new_checked(payload)
                    .unwrap()
                    .verify_checksum(&a, &b),
                Proto::Udp => UdpPacket::new_checked(payload)
                    .unwrap()
                    .verify_checksum(&a, &b),
                Proto::Icmp => Icmpv4Packet::new_checked(payload)
                    .unwrap()
                    .verify_checksum(),
            };
            assert!(ok, "{text}");
        }
    }
}

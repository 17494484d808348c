//! Evaluation of a parsed filter on a dissected frame, without allocating.
//!
//! Semantics, as measured on tshark 4.0:
//! - a field can occur more than once (`ip.addr`, `tcp.port`, and every IP,
//!   ICMP, TCP and UDP field of a datagram quoted inside an ICMP error);
//! - `==`, `<`, `<=`, `>`, `>=` and `contains` are true when ANY occurrence
//!   satisfies them, so they are false on a frame without the field;
//! - `!=` is true when the field occurs and ALL occurrences differ, so it is
//!   false on a frame without the field (`!(a == b)` is true there).

use super::dissect::Packet;
use super::fields::Field;
use super::lexer::CmpOp;
use super::parse::Node;
use super::values::Literal;

/// The occurrences of a numeric field in one frame (at most four:
/// source and destination of the frame's header and of a quoted header).
struct Values {
    buf: [u128; 4],
    len: usize,
}

impl Values {
    fn push(&mut self, v: impl Into<u128>) {
        if self.len < self.buf.len() {
            self.buf[self.len] = v.into();
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u128] {
        &self.buf[..self.len]
    }
}

pub(crate) fn eval(node: &Node, pkt: &Packet) -> bool {
    match node {
        Node::Or(items) => items.iter().any(|n| eval(n, pkt)),
        Node::And(items) => items.iter().all(|n| eval(n, pkt)),
        Node::Not(inner) => !eval(inner, pkt),
        Node::Exists(field) => exists(*field, pkt),
        Node::Cmp { field, op, lit } => match lit {
            Literal::Num { value, mask } => {
                let values = numbers(*field, pkt);
                compare(values.as_slice().iter().map(|v| v & mask), *op, *value)
            }
            // frame.comment is the only string field, and occurs at most once.
            Literal::Str(s) => pkt.comment.is_some_and(|c| match op {
                CmpOp::Contains => !s.is_empty() && c.contains(s.as_str()),
                _ => compare(std::iter::once(c), *op, s.as_str()),
            }),
        },
    }
}

/// Applies `op` across the occurrences with tshark's any/all rule.
fn compare<T: PartialOrd + Copy>(mut values: impl Iterator<Item = T>, op: CmpOp, lit: T) -> bool {
    match op {
        CmpOp::Ne => {
            let mut seen = false;
            for v in values {
                if v == lit {
                    return false;
                }
                seen = true;
            }
            seen
        }
        CmpOp::Eq => values.any(|v| v == lit),
        CmpOp::Lt => values.any(|v| v < lit),
        CmpOp::Le => values.any(|v| v <= lit),
        CmpOp::Gt => values.any(|v| v > lit),
        CmpOp::Ge => values.any(|v| v >= lit),
        CmpOp::Contains => false, // only on strings, checked at parse time
    }
}

fn some<T>(layers: &[Option<T>]) -> bool {
    layers.iter().any(Option::is_some)
}

fn exists(field: Field, pkt: &Packet) -> bool {
    match field {
        Field::Frame => true,
        Field::FrameComment => pkt.comment.is_some(),
        Field::Eth => pkt.eth.is_some(),
        Field::Vlan => some(&pkt.vlan),
        Field::Arp => pkt.arp.is_some(),
        Field::Ip => some(&pkt.ip),
        Field::Icmp => some(&pkt.icmp),
        Field::Ipv6 => some(&pkt.ipv6),
        Field::Icmpv6 => some(&pkt.icmpv6),
        Field::Tcp => some(&pkt.tcp),
        Field::Udp => some(&pkt.udp),
        other => numbers(other, pkt).len > 0,
    }
}

/// Collects every occurrence of a numeric field.
fn numbers(field: Field, pkt: &Packet) -> Values {
    let mut out = Values {
        buf: [0; 4],
        len: 0,
    };
    let o = &mut out;
    use Field as F;
    match field {
        F::FrameLen => o.push(pkt.len),
        F::EthSrc | F::EthDst | F::EthAddr | F::EthType => {
            if let Some(e) = pkt.eth {
                match field {
                    F::EthSrc => o.push(e.src),
                    F::EthDst => o.push(e.dst),
                    F::EthAddr => {
                        o.push(e.dst);
                        o.push(e.src);
                    }
                    _ => e.ethertype.into_iter().for_each(|t| o.push(t)),
                }
            }
        }
        F::VlanId | F::VlanPriority | F::VlanDei | F::VlanEtype => {
            for v in pkt.vlan.iter().flatten() {
                match field {
                    F::VlanId => o.push(v.id),
                    F::VlanPriority => o.push(v.priority),
                    F::VlanDei => o.push(v.dei),
                    _ => v.etype.into_iter().for_each(|t| o.push(t)),
                }
            }
        }
        F::ArpOpcode
        | F::ArpSrcHwMac
        | F::ArpDstHwMac
        | F::ArpSrcProtoIpv4
        | F::ArpDstProtoIpv4 => {
            if let Some(a) = pkt.arp {
                let v = match field {
                    F::ArpOpcode => Some(u64::from(a.opcode)),
                    F::ArpSrcHwMac => a.src_mac,
                    F::ArpDstHwMac => a.dst_mac,
                    F::ArpSrcProtoIpv4 => a.src_ip.map(u64::from),
                    _ => a.dst_ip.map(u64::from),
                };
                v.into_iter().for_each(|v| o.push(v));
            }
        }
        _ => {}
    }
    for ip in pkt.ip.iter().flatten() {
        match field {
            F::IpSrc => o.push(ip.src),
            F::IpDst => o.push(ip.dst),
            F::IpAddr => {
                o.push(ip.src);
                o.push(ip.dst);
            }
            F::IpTtl => o.push(ip.ttl),
            F::IpProto => o.push(ip.proto),
            F::IpLen => o.push(ip.len),
            F::IpId => o.push(ip.id),
            F::IpFlagsDf => o.push(ip.df),
            _ => {}
        }
    }
    for ip in pkt.ipv6.iter().flatten() {
        match field {
            F::Ipv6Src => o.push(ip.src),
            F::Ipv6Dst => o.push(ip.dst),
            F::Ipv6Addr => {
                o.push(ip.src);
                o.push(ip.dst);
            }
            F::Ipv6Hlim => o.push(ip.hlim),
            F::Ipv6Nxt => o.push(ip.nxt),
            F::Ipv6Plen => o.push(ip.plen),
            _ => {}
        }
    }
    for icmp in pkt.icmpv6.iter().flatten() {
        match (field, icmp.ty, icmp.target) {
            (F::Icmpv6Type, ..) => o.push(icmp.ty),
            (F::Icmpv6Code, ..) => o.push(icmp.code),
            (F::Icmpv6Mtu, 2, _) => o.push(icmp.param),
            (F::Icmpv6NsTarget, 135, Some(t)) | (F::Icmpv6NaTarget, 136, Some(t)) => o.push(t),
            _ => {}
        }
    }
    for icmp in pkt.icmp.iter().flatten() {
        match (field, icmp.ident_seq) {
            (F::IcmpType, _) => o.push(icmp.ty),
            (F::IcmpCode, _) => o.push(icmp.code),
            (F::IcmpIdent, Some((ident, _))) => o.push(ident),
            (F::IcmpSeq, Some((_, seq))) => o.push(seq),
            _ => {}
        }
    }
    for tcp in pkt.tcp.iter().flatten() {
        match (field, tcp.flags) {
            (F::TcpSrcport, _) => o.push(tcp.src),
            (F::TcpDstport, _) => o.push(tcp.dst),
            (F::TcpPort, _) => {
                o.push(tcp.src);
                o.push(tcp.dst);
            }
            (F::TcpLen, _) => tcp.len.into_iter().for_each(|l| o.push(l)),
            (F::TcpFlagsSyn, Some(f)) => o.push(f.syn),
            (F::TcpFlagsAck, Some(f)) => o.push(f.ack),
            (F::TcpFlagsReset, Some(f)) => o.push(f.rst),
            (F::TcpFlagsFin, Some(f)) => o.push(f.fin),
            (F::TcpFlagsPush, Some(f)) => o.push(f.psh),
            _ => {}
        }
    }
    for udp in pkt.udp.iter().flatten() {
        match field {
            F::UdpSrcport => o.push(udp.src),
            F::UdpDstport => o.push(udp.dst),
            F::UdpPort => {
                o.push(udp.src);
                o.push(udp.dst);
            }
            F::UdpLength => o.push(udp.length),
            _ => {}
        }
    }
    out
}

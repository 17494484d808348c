//! The TCPMSS target (`xt_TCPMSS`): lowers the MSS option of the TCP segments it sees
//! (the SYNs a `--tcp-flags SYN,RST SYN` match picks), so both ends send segments that fit
//! a path whose MTU is smaller than theirs, even when no "fragmentation needed" reaches them.

use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet};

/// What a TCPMSS rule asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpMss {
    /// `--clamp-mss-to-pmtu`: the MTU of the route out, and of the route back to the
    /// sender, less 40.
    ClampToPmtu,
    /// `--set-mss N`.
    Set(u16),
}

/// The TCPMSS rules that matched a packet in one hook: the smallest value set, and whether
/// one clamps to the path MTU. Each only ever lowers the MSS, so applying them together is
/// applying them one by one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub set: Option<u16>,
    pub clamp: bool,
}

impl Pending {
    pub fn add(&mut self, t: TcpMss) {
        match t {
            TcpMss::ClampToPmtu => self.clamp = true,
            TcpMss::Set(n) => self.set = Some(self.set.map_or(n, |s| s.min(n))),
        }
    }

    pub fn merge(&mut self, other: Pending) {
        self.clamp |= other.clamp;
        if let Some(n) = other.set {
            self.add(TcpMss::Set(n));
        }
    }
}

/// IPv4 and TCP headers without options: what an MSS leaves out of the MTU.
const HEADERS: u32 = 40;

/// What became of the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Left as it was (no MSS option, or one already small enough, or a fragment).
    Unchanged,
    /// The MSS option was lowered from the first value to the second.
    Lowered(u16, u16),
    /// The kernel drops it: a bad TCP header, or no usable path MTU to clamp to.
    Drop,
}

/// Rewrites the MSS option of the TCP segment in `ip` as `tcpmss_mangle_packet` does, with
/// an incremental checksum update. `route_mtu` gives the MTU of the route to an address.
pub fn mangle(ip: &mut [u8], p: Pending, route_mtu: &dyn Fn(IpAddress) -> Option<u32>) -> Outcome {
    if ip.first().map(|b| b >> 4) == Some(6) {
        // ip6tables has no TCPMSS rule here: nothing asks an IPv6 segment to change.
        return Outcome::Unchanged;
    }
    let Ok(pkt) = Ipv4Packet::new_checked(&*ip) else {
        return Outcome::Drop;
    };
    if pkt.next_header() != IpProtocol::Tcp || pkt.frag_offset() != 0 {
        return Outcome::Unchanged;
    }
    let (src, dst) = (pkt.src_addr(), pkt.dst_addr());
    let hl = usize::from(pkt.header_len());
    let end = usize::from(pkt.total_len()).min(ip.len());
    let tcp = &mut ip[hl..end];
    let Some(&off) = tcp.get(12) else {
        return Outcome::Drop;
    };
    let doff = usize::from(off >> 4) * 4;
    if doff < 20 || tcp.len() < doff {
        return Outcome::Drop;
    }
    let mut new = p.set.map_or(u32::MAX, u32::from);
    if p.clamp {
        // The route out, and the route back to the sender (`tcpmss_reverse_mtu`). A packet
        // with no route out (bridged) is left alone.
        let Some(out) = route_mtu(IpAddress::Ipv4(dst)) else {
            return Outcome::Unchanged;
        };
        let back = route_mtu(IpAddress::Ipv4(src)).unwrap_or(u32::MAX);
        let mtu = out.min(back);
        if mtu <= HEADERS {
            return Outcome::Drop;
        }
        new = new.min(mtu - HEADERS);
    }
    let new = new.min(u32::from(u16::MAX)) as u16;
    let mut i = 20;
    while i + 4 <= doff {
        match tcp[i] {
            0 | 1 => i += 1,
            2 if tcp[i + 1] == 4 => {
                let old = u16::from_be_bytes([tcp[i + 2], tcp[i + 3]]);
                if old <= new {
                    return Outcome::Unchanged;
                }
                tcp[i + 2..i + 4].copy_from_slice(&new.to_be_bytes());
                // The option starts at an even offset or not: the word it changes differs.
                let csum = u16::from_be_bytes([tcp[16], tcp[17]]);
                let csum = if i % 2 == 0 {
                    replace16(csum, old, new)
                } else {
                    let word = |w: u16| w.rotate_left(8);
                    replace16(csum, word(old), word(new))
                };
                tcp[16..18].copy_from_slice(&csum.to_be_bytes());
                return Outcome::Lowered(old, new);
            }
            _ => i += usize::from(tcp[i + 1]).max(1),
        }
    }
    Outcome::Unchanged
}

/// RFC 1624's incremental update: HC' = ~(~HC + ~m + m').
fn replace16(csum: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!csum) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        IpAddress, Ipv4Address, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    const A: Ipv4Address = Ipv4Address::new(10, 0, 1, 10);
    const B: Ipv4Address = Ipv4Address::new(10, 0, 2, 10);

    fn syn(mss: Option<u16>, sack: bool) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            window_len: 64240,
            window_scale: Some(7),
            max_seg_size: mss,
            sack_permitted: sack,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: A,
            dst_addr: B,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0; ip.buffer_len() + tcp.buffer_len()];
        let caps = ChecksumCapabilities::default();
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut p, &caps);
        tcp.emit(
            &mut TcpPacket::new_unchecked(p.payload_mut()),
            &IpAddress::Ipv4(A),
            &IpAddress::Ipv4(B),
            &caps,
        );
        buf
    }

    fn mss_and_valid(ip: &[u8]) -> (Option<u16>, bool) {
        let p = Ipv4Packet::new_checked(ip).unwrap();
        let t = TcpPacket::new_checked(p.payload()).unwrap();
        let ok = t.verify_checksum(&IpAddress::Ipv4(A), &IpAddress::Ipv4(B));
        let repr = TcpRepr::parse(
            &t,
            &IpAddress::Ipv4(A),
            &IpAddress::Ipv4(B),
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        (repr.max_seg_size, ok)
    }

    fn mtus(a: u32, b: u32) -> impl Fn(IpAddress) -> Option<u32> {
        move |x| Some(if x == IpAddress::Ipv4(A) { a } else { b })
    }

    #[test]
    fn clamp_takes_the_smaller_of_the_route_out_and_back() {
        for sack in [false, true] {
            let mut ip = syn(Some(1460), sack);
            let p = Pending {
                set: None,
                clamp: true,
            };
            assert_eq!(
                mangle(&mut ip, p, &mtus(1500, 1400)),
                Outcome::Lowered(1460, 1360)
            );
            assert_eq!(mss_and_valid(&ip), (Some(1360), true));
            let mut ip = syn(Some(1460), sack);
            assert_eq!(
                mangle(&mut ip, p, &mtus(1400, 1500)),
                Outcome::Lowered(1460, 1360)
            );
            assert_eq!(mss_and_valid(&ip), (Some(1360), true));
        }
    }

    #[test]
    fn set_only_lowers() {
        let mut p = Pending::default();
        p.add(TcpMss::Set(1400));
        p.add(TcpMss::Set(1300));
        let mut ip = syn(Some(1460), false);
        assert_eq!(mangle(&mut ip, p, &|_| None), Outcome::Lowered(1460, 1300));
        assert_eq!(mss_and_valid(&ip), (Some(1300), true));
        let mut small = syn(Some(536), false);
        let before = small.clone();
        assert_eq!(mangle(&mut small, p, &|_| None), Outcome::Unchanged);
        assert_eq!(small, before);
    }

    #[test]
    fn no_option_no_route_and_garbage() {
        let mut ip = syn(None, false);
        let clamp = Pending {
            set: None,
            clamp: true,
        };
        assert_eq!(
            mangle(&mut ip, clamp, &mtus(1400, 1400)),
            Outcome::Unchanged
        );
        let mut ip = syn(Some(1460), false);
        assert_eq!(mangle(&mut ip, clamp, &|_| None), Outcome::Unchanged);
        assert_eq!(mangle(&mut ip, clamp, &mtus(40, 40)), Outcome::Drop);
        assert_eq!(mangle(&mut [0x45, 0], clamp, &|_| None), Outcome::Drop);
    }
}

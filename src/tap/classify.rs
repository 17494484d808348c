//! What a frame written into a TAP by the kernel must be to enter the lab.
//!
//! A TAP is the one place bytes reach the lab from outside: a kernel bug, a raw socket or a
//! test can write anything. The checks are the ones a NIC and the IPv4 input path make
//! before anything acts on a frame (`ip_rcv_core`: length, version, IHL, total length,
//! checksum), so a bridge or router never sees a frame it could not have received on a wire.

use smoltcp::wire::{EthernetFrame, EthernetProtocol, Ipv4Packet};

use crate::sim::DropReason;

/// The Ethernet header a frame must at least hold.
pub const ETH_HEADER: usize = 14;

/// The classes of refused frames, in the order counters list them.
pub const CLASSES: [DropReason; 4] = [
    DropReason::Runt,
    DropReason::Oversize,
    DropReason::BadIpHeader,
    DropReason::BadIpChecksum,
];

/// An ARP message for IPv4 over Ethernet.
const ARP_LEN: usize = 28;
/// An IPv4 header without options.
const IPV4_HEADER: usize = 20;

/// Why `frame`, written by the kernel into a TAP of MTU `mtu`, may not enter the lab, or
/// None when it may. A runt is too short for its own headers: under an Ethernet header, or
/// an ARP or IPv4 frame without room for the ARP message or a minimal IPv4 header. (A TAP
/// does not pad frames to Ethernet's 60 bytes: the kernel's 42-byte ARP frames are fine.)
pub fn refuse_reason(frame: &[u8], mtu: u32) -> Option<DropReason> {
    if frame.len() < ETH_HEADER {
        return Some(DropReason::Runt);
    }
    if frame.len() > ETH_HEADER + mtu as usize {
        return Some(DropReason::Oversize);
    }
    let eth = EthernetFrame::new_unchecked(frame);
    let payload = frame.len() - ETH_HEADER;
    match eth.ethertype() {
        EthernetProtocol::Arp if payload < ARP_LEN => return Some(DropReason::Runt),
        EthernetProtocol::Ipv4 if payload < IPV4_HEADER => return Some(DropReason::Runt),
        EthernetProtocol::Ipv4 => {}
        _ => return None,
    }
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        // A header length under 20 bytes, or a header or total length beyond the frame.
        return Some(DropReason::BadIpHeader);
    };
    if ip.version() != 4 || usize::from(ip.total_len()) < usize::from(ip.header_len()) {
        return Some(DropReason::BadIpHeader);
    }
    if !ip.verify_checksum() {
        return Some(DropReason::BadIpChecksum);
    }
    None
}

/// Refused frames per class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RefusedCounts {
    /// Too short for its headers: under 14 bytes, or an ARP or IPv4 frame without room for
    /// the ARP message or a 20-byte IPv4 header.
    pub runt: u64,
    /// Longer than the TAP's MTU plus the Ethernet header.
    pub oversize: u64,
    /// An IPv4 header the kernel's input path rejects: truncated, version not 4, header
    /// length under 20 bytes, or a total length outside the frame.
    pub bad_ip_header: u64,
    /// An IPv4 header whose checksum is wrong.
    pub bad_ip_checksum: u64,
}

impl RefusedCounts {
    pub fn count(&mut self, reason: DropReason) {
        match reason {
            DropReason::Runt => self.runt += 1,
            DropReason::Oversize => self.oversize += 1,
            DropReason::BadIpChecksum => self.bad_ip_checksum += 1,
            _ => self.bad_ip_header += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.runt + self.oversize + self.bad_ip_header + self.bad_ip_checksum
    }

    pub fn add(&mut self, other: &RefusedCounts) {
        self.runt += other.runt;
        self.oversize += other.oversize;
        self.bad_ip_header += other.bad_ip_header;
        self.bad_ip_checksum += other.bad_ip_checksum;
    }

    /// `3 runt, 1 bad_ip_checksum`, classes with none left out.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("runt", self.runt),
            ("oversize", self.oversize),
            ("bad_ip_header", self.bad_ip_header),
            ("bad_ip_checksum", self.bad_ip_checksum),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{EthernetAddress, Ipv4Address};

    fn udp_frame() -> Vec<u8> {
        crate::bench::nat::udp_frame(
            (
                EthernetAddress([2, 0, 0, 0, 0, 1]),
                EthernetAddress([2, 0, 0, 0, 0, 2]),
            ),
            (Ipv4Address::new(10, 0, 0, 1), 1000),
            (Ipv4Address::new(10, 0, 0, 2), 2000),
        )
    }

    #[test]
    fn a_good_frame_enters() {
        assert_eq!(refuse_reason(&udp_frame(), 1500), None);
        // ARP and other ethertypes are not looked into.
        let mut arp = udp_frame();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(refuse_reason(&arp, 1500), None);
    }

    #[test]
    fn each_class_is_told_apart() {
        assert_eq!(refuse_reason(&[0u8; 13], 1500), Some(DropReason::Runt));
        assert_eq!(refuse_reason(&[], 1500), Some(DropReason::Runt));
        let big = vec![0u8; 1515];
        assert_eq!(refuse_reason(&big, 1500), Some(DropReason::Oversize));
        assert_eq!(refuse_reason(&big[..1514], 1500), None);
        let mut f = udp_frame();
        f[14] = 0x65; // version 6 in an IPv4 frame
        assert_eq!(refuse_reason(&f, 1500), Some(DropReason::BadIpHeader));
        let mut f = udp_frame();
        f[14] = 0x44; // header length 16 bytes
        assert_eq!(refuse_reason(&f, 1500), Some(DropReason::BadIpHeader));
        let f = udp_frame();
        assert_eq!(refuse_reason(&f[..30], 1500), Some(DropReason::Runt));
        let mut arp = udp_frame();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(refuse_reason(&arp[..41], 1500), Some(DropReason::Runt));
        assert_eq!(refuse_reason(&arp[..42], 1500), None);
        let mut f = udp_frame();
        f[16..18].copy_from_slice(&[0xff, 0xff]); // total length beyond the frame
        assert_eq!(refuse_reason(&f, 1500), Some(DropReason::BadIpHeader));
        let mut f = udp_frame();
        f[24] ^= 0x55; // the header checksum
        assert_eq!(refuse_reason(&f, 1500), Some(DropReason::BadIpChecksum));
    }

    #[test]
    fn counts_describe_only_what_happened() {
        let mut c = RefusedCounts::default();
        for r in CLASSES {
            c.count(r);
        }
        c.count(DropReason::Runt);
        assert_eq!(c.total(), 5);
        assert_eq!(
            c.describe(),
            "2 runt, 1 oversize, 1 bad_ip_header, 1 bad_ip_checksum"
        );
    }
}

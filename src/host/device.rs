//! The smoltcp `Device` of one host interface for one poll: at most one received frame,
//! borrowed from the engine, and transmissions that go straight into the engine's outbox in
//! pooled buffers. Nothing is copied on receive and nothing is allocated per frame.
//!
//! A routed stack (the router's own sockets) speaks IP, not Ethernet: its transmissions are
//! IPv4 packets that its owner routes, so they are kept in pooled buffers with room left in
//! front for the Ethernet header the router fills once it knows the next hop.

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant as SmolInstant;

use crate::host::pmtu::{self, Out, PathMtu};
use crate::link::ETH_HEADER_LEN;
use crate::sim::Ctx;
use crate::time::Instant;

pub struct SimDevice<'a, 'c> {
    pub rx: Option<&'a [u8]>,
    pub ctx: &'a mut Ctx<'c>,
    pub port: u16,
    pub mtu: usize,
    /// Some for a routed stack: where its IPv4 packets go (see the module note).
    pub routed: Option<&'a mut Vec<Vec<u8>>>,
    /// ARP requests smoltcp sent in this poll (it then keeps silent a second).
    pub arp_requests: u32,
    /// The host's learned path MTUs, when it has any (a TCP segment over one is split).
    pub pmtu: Option<(&'a PathMtu, Instant)>,
}

pub struct RxToken<'a>(&'a [u8]);

pub struct TxToken<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    port: u16,
    routed: Option<&'a mut Vec<Vec<u8>>>,
    arp_requests: &'a mut u32,
    pmtu: Option<(&'a PathMtu, Instant)>,
    mtu: usize,
}

/// Segments of a frame split to fit a path MTU go to the outbox as new packets.
struct Outbox<'a, 'c>(&'a mut Ctx<'c>, u16);

impl Out for Outbox<'_, '_> {
    fn buffer(&mut self) -> Vec<u8> {
        self.0.buffer()
    }
    fn send(&mut self, frame: Vec<u8>) {
        self.0.send(self.1, frame);
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = self.ctx.buffer();
        match self.routed {
            None => {
                buf.resize(len, 0);
                let r = f(&mut buf);
                if is_arp_request(&buf) {
                    *self.arp_requests += 1;
                }
                override_solicited_na(&mut buf);
                let lowered = self
                    .pmtu
                    .and_then(|(p, now)| p.lowered(pmtu::tcp_dst(&buf)?, self.mtu as u32, now));
                match lowered {
                    Some(m) => pmtu::segment(buf, m as usize, &mut Outbox(self.ctx, self.port)),
                    None => self.ctx.send(self.port, buf),
                }
                r
            }
            Some(out) => {
                buf.resize(ETH_HEADER_LEN + len, 0);
                let r = f(&mut buf[ETH_HEADER_LEN..]);
                out.push(buf);
                r
            }
        }
    }
}

/// smoltcp answers a solicitation with the Solicited flag alone; Linux (`ndisc_recv_ns`)
/// also sets Override for its own unicast address, so that the asker replaces what it had.
/// The flag is set here, and the ICMPv6 checksum made again.
fn override_solicited_na(frame: &mut [u8]) {
    use smoltcp::wire::{Icmpv6Packet, Ipv6Packet};
    const NA: u8 = 136;
    const SOLICITED: u8 = 0x40;
    const OVERRIDE: u8 = 0x20;
    let at = ETH_HEADER_LEN + 40;
    let is_na = frame.get(12..14) == Some(&[0x86, 0xdd])
        && frame.get(ETH_HEADER_LEN + 6) == Some(&58)
        && frame.get(at) == Some(&NA)
        && frame
            .get(at + 4)
            .is_some_and(|f| f & (SOLICITED | OVERRIDE) == SOLICITED);
    if !is_na || frame.len() < at + 24 {
        return;
    }
    let ip = Ipv6Packet::new_unchecked(&frame[ETH_HEADER_LEN..]);
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let end = at + usize::from(ip.payload_len());
    let Some(message) = frame.get_mut(at..end) else {
        return;
    };
    message[4] |= OVERRIDE;
    let mut icmp = Icmpv6Packet::new_unchecked(message);
    icmp.fill_checksum(&src, &dst);
}

fn is_arp_request(frame: &[u8]) -> bool {
    use smoltcp::wire::{ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol};
    EthernetFrame::new_checked(frame).is_ok_and(|eth| {
        eth.ethertype() == EthernetProtocol::Arp
            && ArpPacket::new_checked(eth.payload())
                .is_ok_and(|a| a.operation() == ArpOperation::Request)
    })
}

/// Checksums are computed on transmit (captures must carry valid ones) and not verified on
/// receive: frames inside the lab are built by smoltcp or rewritten with incremental
/// checksums, and frames from outside (a TAP) are validated at the edge.
pub fn capabilities(mtu: usize, medium: Medium) -> DeviceCapabilities {
    let mut checksum = ChecksumCapabilities::default();
    checksum.ipv4 = Checksum::Tx;
    checksum.udp = Checksum::Tx;
    checksum.tcp = Checksum::Tx;
    checksum.icmpv4 = Checksum::Tx;
    let mut caps = DeviceCapabilities::default();
    caps.medium = medium;
    caps.max_transmission_unit = match medium {
        Medium::Ethernet => mtu + ETH_HEADER_LEN,
        _ => mtu,
    };
    caps.checksum = checksum;
    caps
}

impl<'c> phy::Device for SimDevice<'_, 'c> {
    type RxToken<'b>
        = RxToken<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TxToken<'b, 'c>
    where
        Self: 'b;

    fn receive(
        &mut self,
        _timestamp: SmolInstant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.rx.take()?;
        Some((
            RxToken(frame),
            TxToken {
                ctx: self.ctx,
                port: self.port,
                routed: self.routed.as_deref_mut(),
                arp_requests: &mut self.arp_requests,
                pmtu: self.pmtu,
                mtu: self.mtu,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: SmolInstant) -> Option<Self::TxToken<'_>> {
        Some(TxToken {
            ctx: self.ctx,
            port: self.port,
            routed: self.routed.as_deref_mut(),
            arp_requests: &mut self.arp_requests,
            pmtu: self.pmtu,
            mtu: self.mtu,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let medium = match self.routed {
            Some(_) => Medium::Ip,
            None => Medium::Ethernet,
        };
        capabilities(self.mtu, medium)
    }
}

/// A device that only states capabilities: `Interface::new` reads them at creation.
pub struct CapsOnly(pub usize, pub Medium);

pub struct DiscardTx;

impl phy::TxToken for DiscardTx {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        f(&mut vec![0; len])
    }
}

impl phy::Device for CapsOnly {
    type RxToken<'b> = RxToken<'b>;
    type TxToken<'b> = DiscardTx;

    fn receive(
        &mut self,
        _timestamp: SmolInstant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        None
    }

    fn transmit(&mut self, _timestamp: SmolInstant) -> Option<Self::TxToken<'_>> {
        None
    }

    fn capabilities(&self) -> DeviceCapabilities {
        capabilities(self.0, self.1)
    }
}

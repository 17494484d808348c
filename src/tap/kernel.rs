//! The host kernel as a node of the lab: one port per TAP device.
//!
//! Sans-IO like every node: frames the lab sends it wait in a bounded queue until the
//! driver writes them into the TAP; frames the driver read from the TAP are handed in with
//! [`Kernel::from_kernel`] and leave on the next wake-up, at the instant they arrived, as new
//! packets, or are refused ([`classify`](super::classify)) and counted per class. The port is
//! the kernel's TAP device, so its capture point is `kernel:<tap>`, frames the kernel sent
//! being `out` and frames it received `in`, as `tcpdump -i <tap>` on the host shows them.

use std::any::Any;
use std::collections::VecDeque;

use super::classify::{RefusedCounts, refuse_reason};
use crate::listing::iproute::{self, LinkInfo};
use crate::sim::{Ctx, Node, PortView};
use crate::time::Instant;

/// The node's name, reserved in labs with TAPs.
pub const NAME: &str = "kernel";

/// Frames that may wait for the driver per TAP, each way; more are dropped and counted, as
/// a TAP's queue (`txqueuelen` 1000) overflows.
pub const QUEUE_LIMIT: usize = 4096;

/// One TAP as the lab sees it.
#[derive(Clone, Debug)]
pub struct TapPort {
    pub name: String,
    pub mtu: u32,
    /// The kernel side's MAC.
    pub mac: smoltcp::wire::EthernetAddress,
    to_kernel: VecDeque<Vec<u8>>,
    from_kernel: VecDeque<Vec<u8>>,
    /// Buffers the driver gave back, reused for the next frames.
    spare: Vec<Vec<u8>>,
    pub refused: RefusedCounts,
    /// Frames for the kernel dropped because the queue was full.
    pub to_kernel_dropped: u64,
    /// Frames from the kernel dropped because the queue was full.
    pub from_kernel_dropped: u64,
    pub to_kernel_frames: u64,
    pub from_kernel_frames: u64,
}

pub struct Kernel {
    pub taps: Vec<TapPort>,
    /// Some TAP has frames from the kernel waiting to enter.
    pending: bool,
}

impl Kernel {
    /// A kernel with one port per `(name, mtu, mac)`, in port order.
    pub fn new(taps: &[(String, u32, smoltcp::wire::EthernetAddress)]) -> Kernel {
        Kernel {
            taps: taps
                .iter()
                .map(|(name, mtu, mac)| TapPort {
                    name: name.clone(),
                    mtu: *mtu,
                    mac: *mac,
                    to_kernel: VecDeque::new(),
                    from_kernel: VecDeque::new(),
                    spare: Vec::new(),
                    refused: RefusedCounts::default(),
                    to_kernel_dropped: 0,
                    from_kernel_dropped: 0,
                    to_kernel_frames: 0,
                    from_kernel_frames: 0,
                })
                .collect(),
            pending: false,
        }
    }

    /// A frame the kernel wrote into TAP `port`; it enters the lab at the next wake-up.
    pub fn from_kernel(&mut self, port: u16, frame: &[u8]) {
        let Some(tap) = self.taps.get_mut(usize::from(port)) else {
            return;
        };
        if tap.from_kernel.len() >= QUEUE_LIMIT {
            tap.from_kernel_dropped += 1;
            return;
        }
        let mut buf = tap.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        tap.from_kernel.push_back(buf);
        self.pending = true;
    }

    /// The next frame for the kernel on TAP `port`; hand the buffer back with `give_back`.
    pub fn to_kernel(&mut self, port: u16) -> Option<Vec<u8>> {
        self.taps.get_mut(usize::from(port))?.to_kernel.pop_front()
    }

    /// A frame the kernel would not take now: first in line again.
    pub fn requeue(&mut self, port: u16, frame: Vec<u8>) {
        if let Some(tap) = self.taps.get_mut(usize::from(port)) {
            tap.to_kernel.push_front(frame);
        }
    }

    pub fn give_back(&mut self, port: u16, buf: Vec<u8>) {
        if let Some(tap) = self.taps.get_mut(usize::from(port))
            && tap.spare.len() < 64
        {
            tap.spare.push(buf);
        }
    }

    /// Refused frames of every TAP.
    pub fn refused(&self) -> RefusedCounts {
        let mut all = RefusedCounts::default();
        for t in &self.taps {
            all.add(&t.refused);
        }
        all
    }

    /// The TAPs as `ip link` shows them: ifindex 2 up, in plug order.
    fn links(&self, ports: &[PortView]) -> Vec<LinkInfo> {
        ports
            .iter()
            .zip(&self.taps)
            .enumerate()
            .map(|(i, (view, tap))| {
                let mut info = LinkInfo::veth(
                    i as u32 + 2,
                    &tap.name,
                    view,
                    (tap.mac, tap.mtu),
                    Vec::new(),
                );
                // A TAP has no peer interface: the other end is hoplab's file descriptor.
                info.peer_ifindex = None;
                info.link_netnsid = None;
                info
            })
            .collect()
    }
}

impl Node for Kernel {
    fn name(&self) -> &str {
        NAME
    }

    fn kind(&self) -> &'static str {
        "kernel"
    }

    fn handle_frame(&mut self, _now: Instant, port: u16, frame: &[u8], _ctx: &mut Ctx<'_>) {
        let Some(tap) = self.taps.get_mut(usize::from(port)) else {
            return;
        };
        if tap.to_kernel.len() >= QUEUE_LIMIT {
            tap.to_kernel_dropped += 1;
            return;
        }
        let mut buf = tap.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        tap.to_kernel.push_back(buf);
        tap.to_kernel_frames += 1;
    }

    fn handle_timeout(&mut self, _now: Instant, ctx: &mut Ctx<'_>) {
        self.pending = false;
        for (port, tap) in self.taps.iter_mut().enumerate() {
            while let Some(frame) = tap.from_kernel.pop_front() {
                match refuse_reason(&frame, tap.mtu) {
                    None => {
                        tap.from_kernel_frames += 1;
                        ctx.send_new(port as u16, frame);
                    }
                    Some(reason) => {
                        tap.refused.count(reason);
                        ctx.refuse(port as u16, frame, reason);
                    }
                }
            }
        }
    }

    fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        self.pending.then_some(now)
    }

    fn show(
        &mut self,
        _now: Instant,
        argv: &[String],
        ports: &[PortView],
    ) -> Result<String, String> {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        // Addresses are the kernel's own to list: hoplab knows only the TAPs' link side.
        let addresses = matches!(words.get(1), Some(&("addr" | "a" | "address")));
        match iproute::link_listing(&words, || self.links(ports)) {
            Some(out) if !addresses => Ok(out),
            _ => Err(format!(
                "the kernel's own listings come from the kernel (`on: kernel` steps); \
                 hoplab shows its TAPs only: ip [-s] link, not '{}'",
                argv.join(" ")
            )),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Bridge;
    use crate::capture::{Capture, CaptureMode};
    use crate::link::LinkParams;
    use crate::sim::Sim;
    use crate::sim::probe::Probe;
    use crate::time::Duration;
    use smoltcp::wire::{EthernetAddress, Ipv4Address};

    fn frame(last: u8) -> Vec<u8> {
        crate::bench::nat::udp_frame(
            (
                EthernetAddress([2, 0, 0, 0, 0, last]),
                EthernetAddress::BROADCAST,
            ),
            (Ipv4Address::new(10, 0, 0, last), 1000),
            (Ipv4Address::new(10, 0, 0, 255), 2000),
        )
    }

    /// kernel:hl-t0 -- br0:p0, br0:p1 -- sink.
    fn lab() -> (Sim, crate::id::NodeId, crate::id::NodeId) {
        let mut sim = Sim::new(1);
        let (bridge, names) = Bridge::numbered("br0", "p", 2);
        let br = sim.add_node(Box::new(bridge), &names);
        let k = sim.add_node(
            Box::new(Kernel::new(&[(
                "hl-t0".into(),
                1500,
                EthernetAddress([2, 0, 0, 0, 0, 0x77]),
            )])),
            &["hl-t0".into()],
        );
        let sink = sim.add_node(Box::new(Probe::new("sink", true)), &["eth0".into()]);
        let p = LinkParams::default();
        sim.connect(sim.port(k, 0), sim.port(br, 0), p.clone())
            .unwrap();
        sim.connect(sim.port(sink, 0), sim.port(br, 1), p).unwrap();
        (sim, k, sink)
    }

    #[test]
    fn frames_cross_both_ways_and_bad_ones_are_refused_and_counted() {
        let (mut sim, k, sink) = lab();
        let dir = tempfile::tempdir().unwrap();
        sim.attach_capture(Capture::create(CaptureMode::Merged, dir.path()).unwrap());
        sim.update::<Kernel, _>(k, |n| {
            n.from_kernel(0, &frame(1));
            n.from_kernel(0, &[0u8; 10]);
            let mut bad = frame(1);
            bad[24] ^= 1;
            n.from_kernel(0, &bad);
        });
        sim.run_until(Instant::ZERO + Duration::from_millis(10));
        assert_eq!(sim.node_as::<Probe>(sink).unwrap().count, 1);
        let kernel = sim.node_as::<Kernel>(k).unwrap();
        assert_eq!(kernel.refused().runt, 1);
        assert_eq!(kernel.refused().bad_ip_checksum, 1);
        // The bridge port the TAP plugs into counts them as receive errors.
        let br_port = sim.port(sim.find_node("br0").unwrap(), 0);
        assert_eq!(sim.port_stats(br_port).rx_errors, 2);
        // A frame from the lab waits for the driver.
        sim.update::<Probe, _>(sink, |p| {
            p.send_at(sim_now_plus_ms(11), 0, frame(9));
        });
        sim.run_until(Instant::ZERO + Duration::from_millis(20));
        let kernel = sim.node_as::<Kernel>(k).unwrap();
        let out = kernel.to_kernel(0).expect("a frame for the kernel");
        assert_eq!(out, frame(9));
        assert!(kernel.to_kernel(0).is_none());
        let (c, failure) = sim.take_capture().unwrap().finish();
        assert!(failure.is_none(), "{failure:?}");
        assert!(!c.is_empty());
    }

    #[test]
    fn ip_link_lists_the_taps_with_their_errors_and_ip_addr_is_the_kernels() {
        let (mut sim, k, _) = lab();
        sim.update::<Kernel, _>(k, |n| n.from_kernel(0, &[0u8; 10]));
        sim.run_until(Instant::ZERO + Duration::from_millis(1));
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let out = sim.show(k, &argv("ip l")).unwrap();
        assert!(
            out.starts_with("2: hl-t0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"),
            "{out}"
        );
        assert!(out.contains("link/ether 02:00:00:00:00:77"), "{out}");
        // A TAP's far end is a file descriptor, not a peer interface.
        assert!(!out.contains('@'), "{out}");
        let out = sim.show(k, &argv("ip -s link show")).unwrap();
        assert!(out.contains("RX:  bytes packets errors"), "{out}");
        let e = sim.show(k, &argv("ip addr")).unwrap_err();
        assert!(e.contains("on: kernel"), "{e}");
    }

    fn sim_now_plus_ms(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn queues_are_bounded() {
        let mut k = Kernel::new(&[("hl-t0".into(), 1500, EthernetAddress([2, 0, 0, 0, 0, 0x77]))]);
        for _ in 0..QUEUE_LIMIT + 10 {
            k.from_kernel(0, &frame(1));
        }
        assert_eq!(k.taps[0].from_kernel_dropped, 10);
        // A port that does not exist takes nothing and does not panic.
        k.from_kernel(7, &frame(1));
        assert!(k.to_kernel(7).is_none());
    }
}

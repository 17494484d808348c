//! The router's own stack: the programs a user runs on the router itself (`ping`, `curl`,
//! `http-server`, ...), whose packets take the kernel's local paths.
//!
//! Sending: a packet the stack sends is routed (a local destination goes to `lo`), passes
//! OUTPUT (whose DNAT re-routes it) and POSTROUTING, then leaves by its interface or loops
//! back. Receiving: a packet for a local address that passed INPUT goes to the socket that
//! takes it; what no socket takes (an echo request, a segment for a closed port) the router
//! answers itself as the kernel does. Loopback traffic also passes PREROUTING and INPUT with
//! `lo` as its interface, as on Linux.
//!
//! The stack is built when the first program starts, so an idle router holds no sockets.

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv6Address, Ipv6Cidr};

use super::Router;
use crate::host::Stack;
use crate::host::net::Net;
use crate::link::ETH_HEADER_LEN;
use crate::rand::Rng;
use crate::sim::{CmdId, Ctx};
use crate::time::Instant;

/// The loopback interface's name, as netfilter's `-i lo` / `-o lo` see it.
pub const LO: &str = "lo";
pub const LOOPBACK: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);
/// Linux's loopback MTU.
const LO_MTU: u32 = 65536;
/// The first pid of the programs a user starts on a router: a booted system's own
/// processes come first.
const FIRST_PID: u32 = 1000;

impl Router {
    /// Whether `dst` is delivered through `lo`: one of the router's addresses or 127/8.
    pub(super) fn loops_back(&self, dst: Ipv4Address) -> bool {
        dst.is_loopback() || self.ns.is_local(dst)
    }

    /// Starts a program on the router's own stack, building the stack first if need be.
    pub(super) fn start_program(
        &mut self,
        now: Instant,
        cmd: CmdId,
        argv: &[String],
        input: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        if self.stack.is_none()
            && let Ok(crate::host::cmd::Command::Ss(args)) = crate::host::cmd::parse(argv)
        {
            // No program has run here: no socket to list, and no stack to build for that.
            let output = crate::host::ss::listing(&args, &[]);
            ctx.finish(
                cmd,
                crate::sim::CmdResult {
                    output,
                    ..Default::default()
                },
            );
            return Ok(());
        }
        if self.stack.is_none() {
            let mut addrs: Vec<(String, Ipv4Cidr, u32)> = self
                .ns
                .ifaces
                .iter()
                .flat_map(|f| f.addrs.iter().map(|a| (f.name.clone(), *a, f.mtu)))
                .collect();
            addrs.push((LO.into(), Ipv4Cidr::new(LOOPBACK, 8), LO_MTU));
            let rng = Rng::stream(self.seed, &format!("stack:{}", self.name));
            let mut net = Net::routed(addrs, rng, now);
            for dev in 0..self.ns.ifaces.len() {
                let (name, mtu) = (self.ns.ifaces[dev].name.clone(), self.ns.ifaces[dev].mtu);
                for c in self.addrs6(dev) {
                    net.add_routed_addr6(&name, *c, mtu, now);
                }
            }
            let lo6 = Ipv6Cidr::new(Ipv6Address::LOCALHOST, 128);
            net.add_routed_addr6(LO, lo6, LO_MTU, now);
            self.stack = Some(Stack::new(net).with_first_pid(FIRST_PID));
        }
        self.refresh_sources();
        let name = self.name.clone();
        let result = match self.stack.as_mut() {
            Some(stack) => stack.start(now, cmd, (&name, argv, input), ctx),
            None => Ok(()),
        };
        self.flush_stack(now, ctx);
        result
    }

    /// `ss ARGS` as a listing: the stack's sockets, or none before any program ran.
    pub(super) fn ss_listing(&self, now: Instant, args: &[String]) -> Result<String, String> {
        let args = crate::host::ss::parse(args)?;
        Ok(match &self.stack {
            Some(stack) => stack.ss(now, &args),
            None => crate::host::ss::listing(&args, &[]),
        })
    }

    pub(super) fn stop_program(&mut self, now: Instant, cmd: CmdId, ctx: &mut Ctx<'_>) {
        if let Some(stack) = self.stack.as_mut() {
            stack.stop(now, cmd, ctx);
            self.flush_stack(now, ctx);
        }
    }

    /// The stack's timers (retransmissions, a program's next step), if any are due.
    pub(super) fn stack_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        let Some(stack) = self.stack.as_mut() else {
            return;
        };
        if stack.deadline(now).is_some_and(|d| d <= now) {
            stack.timeout(now, ctx);
            self.flush_stack(now, ctx);
        }
    }

    pub(super) fn stack_deadline(&mut self, now: Instant) -> Option<Instant> {
        self.stack.as_mut()?.deadline(now)
    }

    /// Gives a packet for one of the router's addresses to the socket that takes it; false
    /// when none does (the router then answers as the kernel would).
    pub(super) fn deliver_to_stack(&mut self, now: Instant, pkt: &[u8], ctx: &mut Ctx<'_>) -> bool {
        let Some(stack) = self.stack.as_mut() else {
            return false;
        };
        let dst = Ipv4Packet::new_unchecked(pkt).dst_addr();
        let Some(iface) = stack.net.iface_of(dst) else {
            return false;
        };
        if !stack.net.takes(iface, pkt) {
            return false;
        }
        stack.receive(now, iface, pkt, ctx);
        self.flush_stack(now, ctx);
        true
    }

    /// Sends what the stack queued, until it queues nothing more (a loopback delivery may
    /// make it answer at once).
    /// A flush already under way (this one was reached through a loopback delivery) leaves
    /// the packets to it, so an exchange over `lo` is a loop, not a recursion.
    pub(super) fn flush_stack(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.flushing {
            return;
        }
        self.flushing = true;
        while let Some(stack) = self.stack.as_mut() {
            let out = stack.net.take_routed();
            if out.is_empty() {
                break;
            }
            for frame in out {
                match frame.get(ETH_HEADER_LEN).map(|b| b >> 4) {
                    Some(6) => self.send_local6(now, frame, ctx),
                    _ => self.send_local(now, Some(frame), ctx),
                }
            }
        }
        self.flushing = false;
    }

    /// The source address for each route, as the kernel chooses it (the route's `src`, else
    /// the egress interface's address facing the next hop); local addresses speak from
    /// themselves.
    pub(super) fn refresh_sources(&mut self) {
        let mut sources: Vec<(Ipv4Cidr, u32, Ipv4Address)> = self
            .ns
            .routes
            .entries()
            .iter()
            .filter_map(|r| {
                let src = r
                    .src
                    .or_else(|| self.ns.source_on(r.dev, r.via.unwrap_or(r.dst.address())))?;
                Some((r.dst, r.metric, src))
            })
            .collect();
        for f in &self.ns.ifaces {
            for a in &f.addrs {
                sources.push((Ipv4Cidr::new(a.address(), 32), 0, a.address()));
            }
        }
        sources.push((Ipv4Cidr::new(LOOPBACK, 8), 0, LOOPBACK));
        let (sources6, link_local6) = self.sources6();
        if let Some(r) = self.stack.as_mut().and_then(|s| s.net.routed.as_mut()) {
            r.sources = sources;
            r.sources6 = sources6;
            r.link_local6 = link_local6;
        }
    }

    /// A packet that looped back: PREROUTING and INPUT on `lo`, then local delivery.
    pub(super) fn receive_loopback(&mut self, now: Instant, mut frame: Vec<u8>, ctx: &mut Ctx<'_>) {
        let (out, mut tr) = self.netfilter(now, |nf, cx, _| {
            nf.prerouting(
                cx,
                &mut frame[ETH_HEADER_LEN..],
                LO,
                Some(IpAddress::Ipv4(LOOPBACK)),
            )
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        let dst = Ipv4Packet::new_unchecked(&frame[ETH_HEADER_LEN..]).dst_addr();
        if !self.loops_back(dst) {
            return;
        }
        let out = self.netfilter(now, |nf, cx, _| {
            nf.input(
                cx,
                &mut frame[ETH_HEADER_LEN..],
                &mut tr,
                LO,
                Some(IpAddress::Ipv4(LOOPBACK)),
            )
        });
        if self.pass(now, out, &frame, ctx) {
            self.local(now, &frame[ETH_HEADER_LEN..], false, ctx);
        }
    }
}

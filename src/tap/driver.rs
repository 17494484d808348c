//! The real-time driver: a lab with TAPs runs on the wall clock.
//!
//! One thread, one wait: mio sleeps until a TAP is readable, a kernel-side program ends, or
//! the simulation's next deadline comes, whichever is first. Virtual time is the wall time
//! since the start and never runs ahead of it: events run once their instant has passed,
//! frames from the kernel enter at the instant they were read. How late events ran is the
//! lag (`lag_max_ms`). The nodes, links and captures are the same code as in virtual time.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::command::Commands;
use super::kernel::Kernel;
use super::setup::KernelSide;
use super::timer::Deadline;
use super::{RealTime, TapReport, TapSummary};
use crate::id::NodeId;
use crate::sim::{CmdId, CmdResult, Sim, Stop};
use crate::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX);
const DEADLINE: Token = Token(usize::MAX - 1);
/// The longest single wait, so a signal's flag is seen soon.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
/// How long `stop` waits at a time for a program once the lab is over (its end wakes it).
const WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(20);
/// Frames read from one TAP before the lab runs again: the kernel cannot starve the lab.
const READ_BURST: usize = 64;
/// Room for the largest frame a TAP can carry (and more, so oversize ones are seen whole).
const READ_BUF: usize = 65536 + 64;

pub struct Edge {
    side: KernelSide,
    /// The plug of each TAP, for the report.
    plugs: Vec<String>,
    kernel: NodeId,
    poll: Poll,
    events: Events,
    /// Wakes the poll at the next simulation deadline, to the microsecond.
    deadline: Deadline,
    commands: Commands,
    /// The wall clock at virtual time zero.
    start: std::time::Instant,
    /// TAPs that may have frames left to read (mio readiness is edge-triggered).
    readable: Vec<bool>,
    buf: Vec<u8>,
    lag_max: Duration,
    finished: Vec<(CmdId, CmdResult)>,
}

impl Edge {
    /// Joins the TAPs of `side` to the lab's `kernel` node. The clock starts now.
    pub fn new(side: KernelSide, plugs: Vec<String>, sim: &Sim) -> io::Result<Edge> {
        let kernel = sim
            .find_node(super::kernel::NAME)
            .ok_or_else(|| io::Error::other("the lab has no kernel node"))?;
        let poll = Poll::new()?;
        for (i, d) in side.devices.iter().enumerate() {
            poll.registry().register(
                &mut SourceFd(&d.as_raw_fd()),
                Token(i),
                Interest::READABLE,
            )?;
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let deadline = Deadline::new()?;
        poll.registry().register(
            &mut SourceFd(&deadline.as_raw_fd()),
            DEADLINE,
            Interest::READABLE,
        )?;
        let n = side.devices.len();
        Ok(Edge {
            side,
            plugs,
            kernel,
            poll,
            events: Events::with_capacity(64),
            deadline,
            commands: Commands::new(waker),
            start: std::time::Instant::now(),
            // Frames may have come before registration.
            readable: vec![true; n],
            buf: vec![0; READ_BUF],
            lag_max: Duration::ZERO,
            finished: Vec::new(),
        })
    }

    /// Virtual time now: the wall time since the start.
    fn wall(&self) -> Instant {
        let e = self.start.elapsed();
        Instant::ZERO + Duration::from_nanos(e.as_nanos().min(u128::from(u64::MAX)) as u64)
    }

    /// Writes what the lab sent to the kernel into the TAPs.
    fn flush(&mut self, sim: &mut Sim) {
        let Some(kernel) = sim.node_as::<Kernel>(self.kernel) else {
            return;
        };
        for (port, dev) in self.side.devices.iter().enumerate() {
            let port = port as u16;
            while let Some(frame) = kernel.to_kernel(port) {
                match dev.send(&frame) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        kernel.requeue(port, frame);
                        break;
                    }
                    // Anything else (the kernel side is down: EIO) loses the frame, as a
                    // cable with nobody at the far end does.
                    _ => kernel.give_back(port, frame),
                }
            }
        }
    }

    /// Reads waiting frames from the TAPs into the lab, at the instant they were read.
    fn read(&mut self, sim: &mut Sim) {
        for i in 0..self.readable.len() {
            if !self.readable[i] {
                continue;
            }
            for _ in 0..READ_BURST {
                match self.side.devices[i].recv(&mut self.buf) {
                    Ok(n) => {
                        // Events due before the frame came run first; a command that
                        // ended stops that short, and the frame enters a little early.
                        let now = self.wall();
                        if matches!(sim.run_until(now), Stop::Limit | Stop::Idle) {
                            sim.advance_to(now);
                        }
                        let frame = &self.buf[..n];
                        sim.update::<Kernel, _>(self.kernel, |k| k.from_kernel(i as u16, frame));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // WouldBlock: drained. Other errors: nothing more to read now.
                        self.readable[i] = false;
                        break;
                    }
                }
            }
        }
    }

    /// Runs the events whose instant has passed, measuring how late they run.
    fn run_due(&mut self, sim: &mut Sim, t: Instant) -> Stop {
        let now = self.wall().min(t);
        if let Some(next) = sim.next_event_at()
            && next <= now
        {
            self.lag_max = self.lag_max.max(now - next);
        }
        let stop = sim.run_until(now);
        if matches!(stop, Stop::Idle) {
            sim.advance_to(now);
        }
        stop
    }
}

impl RealTime for Edge {
    fn run_until(&mut self, sim: &mut Sim, t: Instant) -> Stop {
        loop {
            if sim.interrupted() {
                self.flush(sim);
                self.finished.extend(self.commands.take_finished());
                return Stop::Interrupted;
            }
            self.read(sim);
            let stop = self.run_due(sim, t);
            self.flush(sim);
            self.finished.extend(self.commands.take_finished());
            match stop {
                Stop::CommandDone | Stop::Interrupted => return stop,
                _ if !self.finished.is_empty() => return Stop::CommandDone,
                _ => {}
            }
            // `run_due` went as far as the wall clock, capped at `t`.
            if sim.now() >= t {
                return Stop::Limit;
            }
            let now = self.wall();
            let wait = if self.readable.iter().any(|&r| r) {
                std::time::Duration::ZERO
            } else {
                let next = sim.next_event_at().map_or(t, |n| n.min(t));
                let d = if next > now {
                    next - now
                } else {
                    Duration::ZERO
                };
                let d = std::time::Duration::from_nanos(d.nanos());
                match !d.is_zero() && d < MAX_WAIT && self.deadline.arm(d).is_ok() {
                    // The timerfd wakes the poll on time; the timeout is a backstop.
                    true => MAX_WAIT,
                    false => d.min(MAX_WAIT),
                }
            };
            match self.poll.poll(&mut self.events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => std::thread::sleep(wait),
            }
            for ev in self.events.iter() {
                if ev.token() == DEADLINE {
                    self.deadline.clear();
                } else if ev.token() != WAKER
                    && let Some(r) = self.readable.get_mut(ev.token().0)
                {
                    *r = true;
                }
            }
        }
    }

    fn start(&mut self, cmd: CmdId, argv: &[String], input: &str) -> Result<(), String> {
        self.commands.start(self.side.netns(), cmd, argv, input)
    }

    fn stop(&mut self, sim: &mut Sim, cmd: CmdId) {
        if !self.commands.is_running(cmd) {
            return;
        }
        self.commands.signal(cmd, false);
        // A second to finish (ping prints its summary), then SIGKILL; the lab runs meanwhile.
        for kill in [false, true] {
            let until = self.wall() + Duration::from_secs(1);
            while self.commands.is_running(cmd) {
                let now = self.wall();
                if now >= until {
                    break;
                }
                if sim.interrupted() {
                    // The lab is over: nothing to simulate, only the program to wait for.
                    let _ = self.poll.poll(&mut self.events, Some(WAIT_SLICE));
                    self.finished.extend(self.commands.take_finished());
                    continue;
                }
                let t = sim.now().max(now) + Duration::from_millis(20);
                self.run_until(sim, t.min(until));
            }
            if !self.commands.is_running(cmd) {
                break;
            }
            if !kill {
                self.commands.signal(cmd, true);
            }
        }
    }

    fn take_finished(&mut self) -> Vec<(CmdId, CmdResult)> {
        self.finished.extend(self.commands.take_finished());
        std::mem::take(&mut self.finished)
    }

    fn summary(&mut self, sim: &mut Sim) -> TapSummary {
        let mut summary = TapSummary {
            lag_max_ms: self.lag_max.nanos() as f64 / 1e6,
            wall_seconds: self.start.elapsed().as_secs_f64(),
            ..TapSummary::default()
        };
        if let Some(k) = sim.node_as::<Kernel>(self.kernel) {
            summary.refused = k.refused();
            for (tap, plug) in k.taps.iter().zip(&self.plugs) {
                summary.taps.push(TapReport {
                    name: tap.name.clone(),
                    plug: plug.clone(),
                    from_kernel: tap.from_kernel_frames,
                    to_kernel: tap.to_kernel_frames,
                    queue_dropped: tap.to_kernel_dropped + tap.from_kernel_dropped,
                    refused: tap.refused,
                });
            }
        }
        summary
    }
}

//! A network stack and the programs running on it: what a container is, and what a router
//! runs its own `ping`, `curl` and servers on.
//!
//! After any activity the programs are polled, finished ones reported, and every interface
//! polled so what they queued is sent. The deadline is cached until the stack or a program
//! runs again, so frames the stack never saw cost nothing.

use crate::host::apps::{self, App};
use crate::host::cmd;
use crate::host::net::Net;
use crate::sim::{CmdId, CmdResult, Ctx};
use crate::time::{Duration, Instant};

/// A stack's memory in deterministic quantities (capacities and counts, not RSS), for tests
/// that bound it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Open sockets, listeners and orphans included.
    pub sockets: usize,
    /// Their receive and send buffers, by capacity.
    pub buffer_bytes: usize,
    /// The running programs' own tables (`App::state_bytes`), output text not counted.
    pub program_bytes: usize,
}

pub struct Stack {
    pub net: Net,
    apps: Vec<(CmdId, Box<dyn App>)>,
    /// The instant of the last poll, so a stack that asks to be polled "now" again is woken
    /// one microsecond (smoltcp's resolution) later rather than in a loop.
    last_poll: Instant,
    /// The deadline computed after the stack or a program last ran.
    deadline: Option<Option<Instant>>,
}

impl Stack {
    pub fn new(net: Net) -> Stack {
        Stack {
            net,
            apps: Vec::new(),
            last_poll: Instant::ZERO,
            deadline: None,
        }
    }

    pub fn running(&self) -> usize {
        self.apps.len()
    }

    /// What the stack holds: its sockets and their buffers, and its programs' state.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            sockets: self.net.sockets(),
            buffer_bytes: self.net.buffer_bytes(),
            program_bytes: self.apps.iter().map(|(_, a)| a.state_bytes()).sum(),
        }
    }

    /// Hands a received frame (or, in a routed stack, an IPv4 packet) to an interface.
    pub fn receive(&mut self, now: Instant, iface: usize, data: &[u8], ctx: &mut Ctx<'_>) {
        self.last_poll = now;
        self.deadline = None;
        self.net.poll(iface, now, Some(data), ctx);
        self.run_apps(now, ctx);
    }

    /// Programs run before the stack's own timers: a program giving up at the instant a
    /// retransmission is due gives up first, as a kernel timer fires a little late.
    pub fn timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        self.last_poll = now;
        self.deadline = None;
        self.run_apps(now, ctx);
        self.poll_all(now, ctx);
    }

    pub fn deadline(&mut self, now: Instant) -> Option<Instant> {
        if let Some(d) = self.deadline {
            return d;
        }
        let d = self.compute_deadline(now);
        self.deadline = Some(d);
        d
    }

    /// Starts a command; a command that cannot start finishes at once with its error.
    pub fn start(
        &mut self,
        now: Instant,
        cmd: CmdId,
        (host, argv, input): (&str, &[String], &str),
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        let parsed = cmd::parse(argv)?;
        match apps::spawn(parsed, host, input, now, &mut self.net) {
            Ok(app) => self.apps.push((cmd, app)),
            Err(e) => ctx.finish(
                cmd,
                CmdResult {
                    exit_code: 2,
                    output: format!("{e}\n"),
                    ..CmdResult::default()
                },
            ),
        }
        self.last_poll = now;
        self.run_apps(now, ctx);
        Ok(())
    }

    /// Interface `i` got an address: the programs that listen on every address hear of it.
    pub fn iface_up(&mut self, i: usize) {
        for (_, app) in &mut self.apps {
            app.iface_up(&mut self.net, i);
        }
        self.deadline = None;
    }

    pub fn stop(&mut self, now: Instant, cmd: CmdId, ctx: &mut Ctx<'_>) {
        if let Some(i) = self.apps.iter().position(|(id, _)| *id == cmd) {
            let (id, mut app) = self.apps.remove(i);
            self.deadline = None;
            let result = app.stop(now, &mut self.net);
            ctx.finish(id, result);
            self.poll_all(now, ctx);
        }
    }

    fn poll_all(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        for f in 0..self.net.ifaces.len() {
            // `lo` without a socket has nothing to send: polling it would cost every frame.
            if self.net.is_loopback(f) && self.net.ifaces[f].sockets.iter().next().is_none() {
                continue;
            }
            self.net.poll(f, now, None, ctx);
        }
    }

    /// Polls every program, reports the finished ones, then sends what they queued; what
    /// went over `lo` is delivered at once and the programs run again, until it is quiet.
    fn run_apps(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        self.deadline = None;
        if self.apps.is_empty() && !self.net.has_orphans() {
            return;
        }
        loop {
            let mut i = 0;
            while i < self.apps.len() {
                match self.apps[i].1.poll(now, &mut self.net) {
                    Some(result) => {
                        let (id, _) = self.apps.remove(i);
                        ctx.finish(id, result);
                    }
                    None => i += 1,
                }
            }
            self.poll_all(now, ctx);
            if !self.net.loop_back(now, ctx) {
                break;
            }
        }
        self.net.reap();
    }

    fn compute_deadline(&mut self, now: Instant) -> Option<Instant> {
        let apps = self.apps.iter().filter_map(|(_, a)| a.poll_at()).min();
        let stack = self.net.poll_at(now);
        let next = match (apps, stack) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(next.max(self.last_poll + Duration::from_micros(1)))
    }
}

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

/// A running program: its command, the pid and name `ss -p` shows, and its state.
struct Running {
    id: CmdId,
    pid: u32,
    comm: String,
    app: Box<dyn App>,
}

/// The first pid a host's programs get: a container's first process is its PID 1.
pub const FIRST_PID: u32 = 1;

pub struct Stack {
    pub net: Net,
    apps: Vec<Running>,
    /// The pid the next program gets: programs are numbered in the order they start, as in
    /// a fresh PID namespace.
    next_pid: u32,
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
            next_pid: FIRST_PID,
            last_poll: Instant::ZERO,
            deadline: None,
        }
    }

    /// The same stack with its programs numbered from `pid` (a router's, whose own pids
    /// follow its system's).
    pub fn with_first_pid(mut self, pid: u32) -> Stack {
        self.next_pid = pid;
        self
    }

    pub fn running(&self) -> usize {
        self.apps.len()
    }

    /// The stack's sockets as `ss` lists them (`args` already parsed), at `now`.
    pub fn ss(&self, now: Instant, args: &crate::host::ss::SsArgs) -> String {
        let mut held = Vec::new();
        let mut owners = Vec::new();
        for r in &self.apps {
            let before = held.len();
            r.app.held(&mut held);
            owners.extend(std::iter::repeat_n(
                (r.comm.as_str(), r.pid),
                held.len() - before,
            ));
        }
        let held: Vec<_> = held.into_iter().zip(owners).collect();
        crate::host::ss::listing(args, &crate::host::ss::sockets(&self.net, &held, now))
    }

    /// What the stack holds: its sockets and their buffers, and its programs' state.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            sockets: self.net.sockets(),
            buffer_bytes: self.net.buffer_bytes(),
            program_bytes: self.apps.iter().map(|r| r.app.state_bytes()).sum(),
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
        let pid = self.next_pid;
        self.next_pid += 1;
        if let cmd::Command::Ss(args) = &parsed {
            // A listing of the stack as it is now: it needs the programs' sockets.
            let output = self.ss(now, args);
            ctx.finish(
                cmd,
                CmdResult {
                    output,
                    ..CmdResult::default()
                },
            );
            return Ok(());
        }
        match apps::spawn(parsed, host, input, now, &mut self.net) {
            Ok(app) => self.apps.push(Running {
                id: cmd,
                pid,
                comm: comm(argv),
                app,
            }),
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
        for r in &mut self.apps {
            r.app.iface_up(&mut self.net, i);
        }
        self.deadline = None;
    }

    pub fn stop(&mut self, now: Instant, cmd: CmdId, ctx: &mut Ctx<'_>) {
        if let Some(i) = self.apps.iter().position(|r| r.id == cmd) {
            let mut r = self.apps.remove(i);
            self.deadline = None;
            let result = r.app.stop(now, &mut self.net);
            ctx.finish(r.id, result);
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
                match self.apps[i].app.poll(now, &mut self.net) {
                    Some(result) => {
                        let r = self.apps.remove(i);
                        ctx.finish(r.id, result);
                    }
                    None => i += 1,
                }
            }
            self.poll_all(now, ctx);
            if !self.net.loop_back(now, ctx) {
                break;
            }
        }
        self.net.reap(now);
    }

    fn compute_deadline(&mut self, now: Instant) -> Option<Instant> {
        let apps = self.apps.iter().filter_map(|r| r.app.poll_at()).min();
        let stack = self.net.poll_at(now);
        let next = match (apps, stack) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(next.max(self.last_poll + Duration::from_micros(1)))
    }
}

/// A program's name as the kernel keeps it (`comm`): its file name, at most 15 bytes.
fn comm(argv: &[String]) -> String {
    let name = argv
        .first()
        .map_or("", |a| a.rsplit('/').next().unwrap_or(a));
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

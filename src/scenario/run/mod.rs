//! Runs a lab: steps in order on virtual time, then quiet for `settle`, then the checks.
//!
//! A step starts at its `at` (virtual time since the start) or, without one, when the step
//! before it has finished. A foreground command is waited for up to its timeout (30 s by
//! default), then stopped; a background one runs until the lab ends. The run ends when every
//! step is done and no frame has moved for `settle`, or at `duration`.

mod finish;
mod report;
mod steps;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::build::{build, port_of};
use super::model::{Lab, MAX_DURATION, Window};
use crate::capture::{Capture, CaptureMode, Watches};
use crate::sim::{CmdId, CmdResult, Sim, Stop};
pub use crate::tap::RealTime;
use crate::time::Instant;

pub use report::{Check, KernelLogLine, RunReport, StepReport};
pub(super) use steps::Background;

pub struct RunOptions {
    pub out_dir: Option<PathBuf>,
    pub seed: Option<u64>,
    pub capture: Option<CaptureMode>,
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Where the merged pcapng goes instead of `all.pcapng` in `out_dir` (`-`: standard
    /// output, as frames happen).
    pub merged_to: Option<PathBuf>,
    /// The most bytes the capture files may hold (0: no limit); past it the run stops.
    pub max_capture_bytes: u64,
    /// Bytes of each frame the capture files keep (`--snap`), instead of the lab's
    /// `snaplen`; 0: whole frames.
    pub snaplen: Option<u32>,
}

impl RunOptions {
    /// A run that writes no capture, with the lab's seed: what tests and the tools that
    /// replay a lab (`explain`, `trace`) start from.
    pub fn without_captures() -> RunOptions {
        RunOptions {
            out_dir: None,
            seed: None,
            capture: Some(CaptureMode::None),
            interrupt: None,
            merged_to: None,
            max_capture_bytes: 0,
            snaplen: None,
        }
    }
}

/// `--max-capture-bytes` when not given: 2 GiB.
pub const DEFAULT_MAX_CAPTURE_BYTES: u64 = 2 << 30;

/// The first command id of programs that are not steps (`Lab::daemons`, `Change::Start`).
const DAEMON_IDS: u32 = 1 << 31;

pub struct Runner<'l> {
    pub(super) lab: &'l Lab,
    pub sim: Sim,
    seed: u64,
    watches: Vec<usize>,
    interrupted: bool,
    /// Programs that are not steps, by key: (key, node, command id).
    pub(super) daemons: Vec<(String, crate::id::NodeId, CmdId)>,
    pub(super) next_daemon: u32,
    /// Nodes steps cannot run on now, with the error they get.
    pub(super) refused: BTreeMap<String, String>,
    /// When each step started.
    pub(super) step_at: Vec<Option<Instant>>,
    /// When each step ended (a background step: when the lab did).
    step_end: Vec<Option<Instant>>,
    /// The student's commands per exercise id (`hoplab test --answers`).
    answers: BTreeMap<String, Vec<super::grade::Answer>>,
    /// Where the run stops, earlier than the lab's end (`hoplab show --at`): the network is
    /// left as it is then, its programs still running.
    stop_at: Option<Instant>,
    /// Called after each step with the simulation and the step's reports, and after each
    /// frame (with no report) while stepping frames (`hoplab run --step`).
    pause: Option<Pause<'l>>,
    /// Pausing after every frame.
    framing: bool,
    /// A pause stopped the run.
    stopped: bool,
    /// Called with each virtual instant before the events due then run: it waits until the
    /// wall clock catches up (`--pace`). The runner itself reads no clock.
    pacer: Option<Box<dyn FnMut(Instant) + 'l>>,
    /// With TAPs: the edge that runs the lab in real time and the kernel's steps.
    realtime: Option<Box<dyn RealTime + 'l>>,
    /// A real-time run ends as a virtual one does, once its steps are done and the network
    /// is quiet, rather than at its `duration` (benchmarks).
    end_after_steps: bool,
    /// Namespaces and bridges made by steps (`ip netns add`, `ip link add`).
    pub(super) netns: super::netns::Namespaces,
}

/// What `Runner::set_pause` takes.
pub type Pause<'l> = Box<dyn FnMut(&mut Sim, &[StepReport]) -> Resume + 'l>;

/// How a paused run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// To the end of the next step.
    Step,
    /// To the next frame.
    Frame,
    /// No further: the run stops here.
    Stop,
}

impl<'l> Runner<'l> {
    pub fn new(lab: &'l Lab, opts: &RunOptions) -> Result<Runner<'l>, String> {
        let seed = opts.seed.unwrap_or(lab.seed);
        let mut sim = build(lab, seed)?;
        let mode = opts.capture.unwrap_or(lab.captures);
        let dir = opts
            .out_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("captures").join(&lab.name));
        let mut capture = Capture::create_with(mode, &dir, opts.merged_to.as_deref())
            .map_err(|e| format!("cannot write captures to {}: {e}", dir.display()))?;
        capture.set_limit(opts.max_capture_bytes);
        capture.set_snaplen(opts.snaplen.unwrap_or(lab.snaplen));
        let mut counting = Watches::default();
        let mut watches = Vec::new();
        let mut pending = Vec::new();
        for e in &lab.expects {
            // A point that steps make (`ip link add`) is watched from when it exists.
            let point = match port_of(&sim, &e.point) {
                Ok(port) => port.index(),
                Err(_) if lab.made_by_steps(&e.point) => usize::MAX,
                Err(err) => return Err(err),
            };
            let w = counting.watch(point, e.filter.clone());
            if point == usize::MAX {
                pending.push((w, e.point.clone()));
            }
            // A step's window opens when the step starts: until then nothing counts.
            let (from, to) = match e.window {
                Window::All => (Instant::ZERO, Instant::MAX),
                Window::Step(_) => (Instant::MAX, Instant::ZERO),
                Window::Times { from, to } => (
                    from.map_or(Instant::ZERO, |f| Instant::ZERO + f),
                    to.map_or(Instant::MAX, |t| Instant::ZERO + t),
                ),
            };
            counting.watch_window(w, from, to);
            watches.push(w);
        }
        sim.attach_capture(capture);
        sim.observe(Box::new(counting));
        // Later entries win: `--snap POINT=N` comes after the lab's `point_snaplen`.
        for (point, bytes) in &lab.point_snaplen {
            if lab.made_by_steps(point) && port_of(&sim, point).is_err() {
                continue;
            }
            let port = port_of(&sim, point)?;
            if let Some(c) = sim.capture_mut() {
                c.set_point_snaplen(port.index(), *bytes);
            }
        }
        if let Some(flag) = &opts.interrupt {
            sim.set_interrupt(flag.clone());
        }
        Ok(Runner {
            lab,
            sim,
            seed,
            watches,
            interrupted: false,
            daemons: Vec::new(),
            next_daemon: DAEMON_IDS,
            refused: lab.refused.clone(),
            step_at: vec![None; lab.steps.len()],
            step_end: vec![None; lab.steps.len()],
            answers: BTreeMap::new(),
            stop_at: None,
            pause: None,
            framing: false,
            stopped: false,
            pacer: None,
            realtime: None,
            end_after_steps: false,
            netns: super::netns::Namespaces::watching(pending),
        })
    }

    /// Runs the lab in real time through `edge` (a lab with TAPs).
    pub fn set_realtime(&mut self, edge: Box<dyn RealTime + 'l>) {
        self.realtime = Some(edge);
    }

    /// Ends a real-time run once its steps are done and the network is quiet for `settle`,
    /// as a virtual run ends, instead of at its `duration`.
    pub fn end_after_steps(&mut self) {
        self.end_after_steps = true;
    }

    /// Stops the run at virtual time `t`, leaving the network as it is then.
    pub fn stop_at(&mut self, t: crate::time::Duration) {
        self.stop_at = Some(Instant::ZERO + t);
    }

    /// Runs the lab no faster than `pacer` lets it (see the field).
    pub fn set_pacer(&mut self, pacer: Box<dyn FnMut(Instant) + 'l>) {
        self.pacer = Some(pacer);
    }

    /// Runs events up to `t`, each group of simultaneous events once the pacer lets it. The
    /// interrupt flag is read after every wait: the engine reads it only every few thousand
    /// events, and a paced run hands it a few at a time.
    fn run_paced(&mut self, t: Instant) -> Stop {
        loop {
            let Some(next) = self.sim.next_event_at().filter(|&n| n <= t) else {
                if self.sim.next_event_at().is_some()
                    && let Some(p) = self.pacer.as_mut()
                {
                    p(t);
                }
                if self.sim.interrupted() {
                    return Stop::Interrupted;
                }
                return self.sim.run_until(t);
            };
            if let Some(p) = self.pacer.as_mut() {
                p(next);
            }
            if self.sim.interrupted() {
                return Stop::Interrupted;
            }
            match self.sim.run_until(next) {
                Stop::Limit | Stop::Idle => continue,
                other => return other,
            }
        }
    }

    /// Calls `pause` after each step (see the field).
    pub fn set_pause(&mut self, pause: Pause<'l>) {
        self.pause = Some(pause);
    }

    /// Runs the pause hook with the reports of the step just done; false: stop here.
    fn paused(&mut self, reports: &[StepReport]) -> bool {
        let Some(last) = reports.last() else {
            return true;
        };
        let first = reports
            .iter()
            .rposition(|r| r.index != last.index)
            .map_or(0, |i| i + 1);
        let resume = match self.pause.as_mut() {
            Some(p) => p(&mut self.sim, &reports[first..]),
            None => Resume::Step,
        };
        self.framing = resume == Resume::Frame;
        resume != Resume::Stop
    }

    fn limit(&self) -> Instant {
        let end = Instant::ZERO + self.lab.duration.unwrap_or(MAX_DURATION);
        self.stop_at.map_or(end, |s| s.min(end))
    }

    /// Runs to `t` (capped by the lab's end), keeping results of commands that finish.
    fn run_to(&mut self, t: Instant, done: &mut BTreeMap<CmdId, CmdResult>) -> Stop {
        let t = t.min(self.limit());
        let stop = loop {
            if let Some(rt) = self.realtime.as_mut() {
                let stop = rt.run_until(&mut self.sim, t);
                done.extend(rt.take_finished());
                break stop;
            }
            if !self.framing {
                break match self.pacer.is_some() {
                    true => self.run_paced(t),
                    false => self.sim.run_until(t),
                };
            }
            if let Some(stop) = self.sim.run_until_logged(t) {
                break stop;
            }
            // A frame moved: pause on it.
            let resume = match self.pause.as_mut() {
                Some(p) => p(&mut self.sim, &[]),
                None => Resume::Step,
            };
            self.framing = resume == Resume::Frame;
            if resume == Resume::Stop {
                self.stopped = true;
                break Stop::Interrupted;
            }
        };
        done.extend(self.sim.take_finished());
        match stop {
            // The storm guard or the capture limit: nothing more runs, as after Ctrl-C.
            Stop::Interrupted | Stop::Halted => self.interrupted = true,
            Stop::Idle | Stop::Limit => self.sim.advance_to(t),
            Stop::CommandDone => {}
        }
        stop
    }

    /// Runs the lab: its daemons, its steps in order, the network settling, then the checks.
    pub fn run(&mut self) -> RunReport {
        let lab = self.lab;
        // Programs that run from the start (docker-proxy) are not steps: their ids are apart
        // and their results are not reported.
        for (key, node, argv) in &lab.daemons {
            self.start_daemon(key, node, argv);
        }
        self.stopped = false;
        let mut st = steps::Steps::default();
        self.run_steps(&mut st);
        self.finish(st)
    }

    /// A node's listing for a `show:` step; `ip netns exec NS CMD` lists NS's, and `ip netns`
    /// the namespaces.
    pub(super) fn listing(
        &mut self,
        node: crate::id::NodeId,
        argv: &[String],
    ) -> Result<String, String> {
        let (node, argv) = self
            .resolve_exec(node, argv)
            .map_err(|r| r.output.trim_end().to_string())?;
        if super::netns::is_topology(&argv)
            && let Some(result) = self.topology(node, &argv)
        {
            return match result.exit_code {
                0 => Ok(result.output),
                _ => Err(result.output.trim_end().to_string()),
            };
        }
        if let Some(listing) = self.router_fdb(node, &argv) {
            return Ok(listing);
        }
        self.sim.show(node, &argv)
    }

    /// A listing as it stands now (after `run`, at the end of the lab).
    pub fn show(&mut self, node: &str, argv: &[String]) -> Result<String, String> {
        let id = self
            .sim
            .find_node(node)
            .ok_or_else(|| format!("no node named '{node}'"))?;
        // As a `show:` step lists it: `ip netns exec`, `ip netns`, a router's bridges.
        self.listing(id, argv)
    }
}

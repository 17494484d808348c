//! Runs a lab: steps in order on virtual time, then quiet for `settle`, then the checks.
//!
//! A step starts at its `at` (virtual time since the start) or, without one, when the step
//! before it has finished. A foreground command is waited for up to its timeout (30 s by
//! default), then stopped; a background one runs until the lab ends. The run ends when every
//! step is done and no frame has moved for `settle`, or at `duration`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use schemars::JsonSchema;
use serde::Serialize;

use super::build::{build, port_of};
use super::model::{Action, CmdExpect, DEFAULT_TIMEOUT, Lab, MAX_DURATION, Window};
use crate::capture::{Capture, CaptureFailure, CaptureMode, Watches, WrittenFile};
use crate::sim::{CmdId, CmdResult, Sim, SimStats, Stop};
pub use crate::tap::RealTime;
use crate::time::Instant;

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

/// `--max-capture-bytes` when not given: 2 GiB.
pub const DEFAULT_MAX_CAPTURE_BYTES: u64 = 2 << 30;

/// One expectation and how it went.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Check {
    /// What was checked, e.g. `packets received` or `c3:eth0: icmp`.
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub pass: bool,
}

/// One step of the lab and how it went.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct StepReport {
    /// The step's number in the lab, from 1.
    pub index: usize,
    /// The step's `name:` in the lab.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Virtual time the step started, in seconds.
    pub at: f64,
    /// Virtual time the step ended, in seconds (a background step: when the lab stopped
    /// it); a capture expectation `during:` it counts the frames from `at` to `end`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// The node it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    #[schemars(with = "super::schema::forms::StepKind")]
    pub kind: &'static str,
    /// The command, the listing, or `ip link set END up|down`.
    pub command: String,
    pub background: bool,
    /// What the command produced (`run` steps): its exit code and output; `transmitted`,
    /// `received`, `status` and `bytes` only where they apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<CmdResult>,
    /// The listing's text (`show` steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<String>,
    /// The step's expectations.
    pub checks: Vec<Check>,
    /// The exercise this step is (`kind: exercise`), or whose answer it runs (`kind: run`,
    /// `hoplab test --answers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exercise: Option<String>,
    /// An exercise's task, as the lab words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// What `hoplab run --json` prints: the whole run's report.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RunReport {
    /// The report format's version.
    pub version: u32,
    /// The lab's name.
    pub lab: String,
    /// The seed the run drew from.
    pub seed: u64,
    pub steps: Vec<StepReport>,
    /// The lab's capture expectations.
    pub expectations: Vec<Check>,
    /// The capture files written.
    pub files: Vec<WrittenFile>,
    /// A capture file could not be written (disk full, too many open files): captures stopped
    /// there, and the run fails with exit code 2 whatever its expectations say.
    pub capture_failure: Option<CaptureFailure>,
    /// Lab faults worth knowing, such as two hosts with one address.
    pub warnings: Vec<String>,
    /// Every expectation held (exit code 0).
    pub passed: bool,
    /// Ctrl-C stopped the run (exit code 130).
    pub interrupted: bool,
    /// Why hoplab stopped the run itself (exit code 1): the storm guard, naming the L2
    /// loop, or the capture size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
    /// Virtual time at the end of the run, in seconds.
    pub virtual_time: f64,
    /// The simulator's counters: events handled, frames sent, delivered and dropped.
    pub stats: SimStats,
    /// What the routers' kernels logged (LOG rules, conntrack's "table full"), as `dmesg` prints it.
    pub kernel_log: Vec<KernelLogLine>,
    /// Each router's conntrack table at the end: its fill, size and the flows it refused.
    pub conntrack: Vec<crate::router::ConntrackSummary>,
    /// A lab with TAPs: how its real-time run went (lag, frames each way, refused frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tap: Option<crate::tap::TapSummary>,
}

/// One line a LOG rule wrote.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct KernelLogLine {
    /// The router.
    pub node: String,
    /// The line as `dmesg` prints it.
    pub line: String,
}

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

    /// Whether a step on `on` runs on the real kernel.
    fn on_kernel(&self, on: Option<&String>) -> bool {
        self.realtime.is_some() && on.is_some_and(|n| n == crate::tap::kernel::NAME)
    }

    /// Starts a step's command on its node, or on the real kernel.
    fn start_cmd(
        &mut self,
        kernel: bool,
        node: crate::id::NodeId,
        id: CmdId,
        argv: &[String],
        input: &str,
    ) -> Result<(), String> {
        match (kernel, self.realtime.as_mut()) {
            (true, Some(rt)) => rt.start(id, argv, input),
            _ => self.sim.start_command(node, id, argv, input),
        }
    }

    /// Stops a command and collects its result.
    fn stop_cmd(
        &mut self,
        kernel: bool,
        node: crate::id::NodeId,
        id: CmdId,
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) {
        match (kernel, self.realtime.as_mut()) {
            (true, Some(rt)) => {
                rt.stop(&mut self.sim, id);
                done.extend(rt.take_finished());
            }
            _ => self.sim.stop_command(node, id),
        }
        done.extend(self.sim.take_finished());
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

    /// Commands to run at exercise steps, by exercise id; an exercise without any runs
    /// nothing.
    pub fn set_answers(&mut self, answers: BTreeMap<String, Vec<super::grade::Answer>>) {
        self.answers = answers;
    }

    /// Runs one command of an answer in the foreground, waited for up to `timeout`.
    fn answer(
        &mut self,
        node: crate::id::NodeId,
        id: CmdId,
        argv: &[String],
        timeout: crate::time::Duration,
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) -> CmdResult {
        let (node, argv) = match self.resolve_exec(node, argv) {
            Ok(target) => target,
            Err(result) => return result,
        };
        let argv = &argv[..];
        if let Some(r) = self.topology(node, argv) {
            return r;
        }
        if let Some(r) = super::grade::host_command(&mut self.sim, self.lab, node, argv) {
            return r;
        }
        if let Err(e) = self.sim.start_command(node, id, argv, "") {
            // A listing typed at the prompt (`ip route`, `bridge fdb show`) prints, as it
            // would in a shell.
            let (exit_code, output) = match self.sim.show(node, argv) {
                Ok(listing) => (0, listing),
                Err(_) => (2, format!("{e}\n")),
            };
            return CmdResult {
                exit_code,
                output,
                ..CmdResult::default()
            };
        }
        done.extend(self.sim.take_finished());
        let deadline = self.sim.now() + timeout;
        while !done.contains_key(&id) && !self.interrupted {
            let stop = self.run_to(deadline, done);
            if matches!(stop, Stop::Limit | Stop::Idle) {
                break;
            }
        }
        if !done.contains_key(&id) {
            self.sim.stop_command(node, id);
            done.extend(self.sim.take_finished());
        }
        done.remove(&id).unwrap_or_default()
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

    pub fn run(&mut self) -> RunReport {
        let lab = self.lab;
        let mut done: BTreeMap<CmdId, CmdResult> = BTreeMap::new();
        let mut background: Vec<(usize, usize, CmdId)> = Vec::new();
        // Where background commands run when not on their step's node (`ip netns exec`).
        let mut bg_nodes: BTreeMap<CmdId, crate::id::NodeId> = BTreeMap::new();
        let mut reports = Vec::new();
        let mut next_id = 0u32;
        // Programs that run from the start (docker-proxy) are not steps: their ids are apart
        // and their results are not reported.
        for (key, node, argv) in &lab.daemons {
            self.start_daemon(key, node, argv);
        }
        self.stopped = false;
        // The first step the lab's end came before (not a signal, a pause or `stop_at`).
        let mut unrun = None;
        // The foreground step that ran last: it ends where the next one begins.
        let mut open: Option<usize> = None;
        for (index, step) in lab.steps.iter().enumerate() {
            if let Some(k) = open.take() {
                self.mark_step(k, false);
            }
            if self.stopped || (index > 0 && !self.paused(&reports)) {
                self.stopped = true;
                break;
            }
            if self.interrupted || self.sim.now() >= self.limit() {
                unrun = Some(index);
                break;
            }
            let start = match (step.at, step.after) {
                (Some(at), _) => Some(Instant::ZERO + at),
                (None, Some(after)) => Some(self.sim.now() + after),
                (None, None) => None,
            };
            if let Some(start) = start {
                while self.sim.now() < start && !self.interrupted {
                    if self.run_to(start, &mut done) != Stop::CommandDone {
                        break;
                    }
                }
                if self.sim.now() < start {
                    // The run stops before this step is due.
                    unrun = Some(index);
                    break;
                }
            }
            if self.interrupted {
                break;
            }
            let node = step
                .on
                .as_ref()
                .and_then(|n| self.sim.find_node(lab.node_of(n)));
            let mut report = StepReport {
                index: index + 1,
                name: step.name.clone(),
                at: self.sim.now().since_start().as_secs_f64(),
                end: None,
                on: step.on.clone(),
                kind: "run",
                command: step.text.clone(),
                background: false,
                result: None,
                listing: None,
                checks: Vec::new(),
                exercise: None,
                prompt: None,
            };
            self.mark_step(index, true);
            if !matches!(
                step.action,
                Action::Run {
                    background: true,
                    ..
                }
            ) {
                open = Some(index);
            }
            let refusal = step.on.as_ref().and_then(|n| self.refused.get(n)).cloned();
            if let Action::Exercise {
                id: exercise,
                prompt,
                timeout,
            } = &step.action
            {
                report.kind = "exercise";
                report.exercise = Some(exercise.clone());
                report.prompt = Some(prompt.clone());
                reports.push(report);
                // The student's commands run here, one after another, as foreground run
                // steps; the steps after this one and the capture expectations grade them.
                let answers = self.answers.get(exercise).cloned().unwrap_or_default();
                for answer in answers {
                    if self.interrupted {
                        break;
                    }
                    let at = self.sim.now().since_start().as_secs_f64();
                    let result = match (&refusal, node) {
                        (Some(error), _) => CmdResult {
                            exit_code: 1,
                            output: format!("{error}\n"),
                            ..CmdResult::default()
                        },
                        (None, Some(n)) => {
                            let id = CmdId(next_id);
                            next_id += 1;
                            let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
                            self.answer(n, id, &answer.argv, timeout, &mut done)
                        }
                        (None, None) => continue,
                    };
                    reports.push(StepReport {
                        index: index + 1,
                        name: step.name.clone(),
                        at,
                        end: None,
                        on: step.on.clone(),
                        kind: "run",
                        command: answer.text,
                        background: false,
                        result: Some(result),
                        listing: None,
                        checks: Vec::new(),
                        exercise: Some(exercise.clone()),
                        prompt: None,
                    });
                }
                continue;
            }
            if let Some(planned) = lab.changes.get(&index) {
                // A Docker host's `docker stop`, `docker run`, ...: planned when the lab loaded.
                for change in &planned.changes {
                    self.apply(change, &background, &mut done);
                }
                let stages = match &step.action {
                    Action::Run { pipes, .. } => pipes.first().map_or(&[][..], Vec::as_slice),
                    _ => &[],
                };
                let (exit_code, output) =
                    super::grep::run_all(stages, &planned.output, planned.exit);
                let result = CmdResult {
                    exit_code,
                    output,
                    ..CmdResult::default()
                };
                report.checks = check_command(&step.expect, &result);
                report.result = Some(result);
                reports.push(report);
                continue;
            }
            if let Some(error) = refusal {
                // A container that is not running: `docker exec` refuses.
                let result = CmdResult {
                    exit_code: 1,
                    output: format!("{error}\n"),
                    ..CmdResult::default()
                };
                if let Action::Show { .. } = step.action {
                    report.kind = "show";
                    report.checks = check_text(&step.expect, &result.output);
                    report.listing = Some(result.output);
                } else {
                    report.checks = check_command(&step.expect, &result);
                    report.result = Some(result);
                }
                reports.push(report);
                continue;
            }
            match &step.action {
                Action::Run {
                    argv,
                    then,
                    pipes,
                    input,
                    background: bg,
                    timeout,
                } => {
                    // A command's `| grep` stages filter its output and give its status.
                    let piped = |k: usize, mut r: CmdResult| {
                        if let Some(stages) = pipes.get(k).filter(|p| !p.is_empty()) {
                            (r.exit_code, r.output) =
                                super::grep::run_all(stages, &r.output, r.exit_code);
                        }
                        r
                    };
                    let Some(node) = node else { continue };
                    let id = CmdId(next_id);
                    next_id += 1;
                    report.background = *bg;
                    let kernel = self.on_kernel(step.on.as_ref());
                    let node = self.start_or_fail(kernel, node, id, argv, input, &mut done);
                    if *bg {
                        bg_nodes.insert(id, node);
                        background.push((reports.len(), index, id));
                    } else {
                        // The whole list shares the step's timeout, as a shell line would.
                        let deadline = self.sim.now() + timeout.unwrap_or(DEFAULT_TIMEOUT);
                        let mut result =
                            piped(0, self.wait_for(kernel, node, id, deadline, &mut done));
                        for (k, (joiner, argv)) in then.iter().enumerate() {
                            if self.interrupted || !joiner.runs_after(result.exit_code) {
                                continue;
                            }
                            let id = CmdId(next_id);
                            next_id += 1;
                            let node = self.start_or_fail(kernel, node, id, argv, input, &mut done);
                            let next =
                                piped(k + 1, self.wait_for(kernel, node, id, deadline, &mut done));
                            let mut output = std::mem::take(&mut result.output);
                            output.push_str(&next.output);
                            result = CmdResult {
                                output,
                                stopped: result.stopped || next.stopped,
                                ..next
                            };
                        }
                        report.checks = check_command(&step.expect, &result);
                        report.result = Some(result);
                    }
                }
                Action::Show { argv, pipe } => {
                    report.kind = "show";
                    let Some(node) = node else { continue };
                    let listing = if self.on_kernel(step.on.as_ref()) {
                        // The kernel's own listing: the real command's output.
                        let id = CmdId(next_id);
                        next_id += 1;
                        let listing = self.kernel_listing(node, id, argv, &mut done);
                        super::grep::run_all(pipe, &listing, 0).1
                    } else {
                        match self.listing(node, argv) {
                            Ok(listing) => super::grep::run_all(pipe, &listing, 0).1,
                            Err(e) => format!("{e}\n"),
                        }
                    };
                    report.checks = check_text(&step.expect, &listing);
                    report.listing = Some(listing);
                }
                Action::SetLink { end, up } => {
                    report.kind = "link";
                    if let Ok(port) = port_of(&self.sim, end)
                        && let Some(link) = self.sim.link_of(port)
                    {
                        self.sim.set_link_up(link, *up);
                    }
                }
                // Handled above, before a refused node's error.
                Action::Exercise { .. } => {}
            }
            reports.push(report);
        }
        if let Some(k) = open.take() {
            self.mark_step(k, false);
        }
        if !self.stopped && !self.interrupted && !reports.is_empty() {
            self.stopped = !self.paused(&reports);
        }
        // Stopped at a pause: as if interrupted, the lab did not run to its end.
        self.interrupted |= self.stopped;

        // Settle: wait until no frame has moved for `settle`, or the lab's end.
        let settle = lab.settle;
        let steps_end = self.sim.now();
        // In real time the lab runs to its `duration` (or a signal): the kernel may still
        // be talking to it.
        while self.realtime.is_some()
            && !self.end_after_steps
            && !self.interrupted
            && self.sim.now() < self.limit()
        {
            let limit = self.limit();
            self.run_to(limit, &mut done);
        }
        while !self.interrupted && !self.stopped {
            let window_start = self
                .sim
                .last_frame_at()
                .unwrap_or(Instant::ZERO)
                .max(steps_end);
            let target = window_start + settle;
            if self.run_to(target, &mut done) == Stop::CommandDone {
                continue;
            }
            let quiet = self.sim.last_frame_at().is_none_or(|t| t <= window_start);
            if quiet || self.sim.now() >= self.limit() {
                break;
            }
        }

        // Background commands end with the lab; at a `stop_at` the network stays as it is.
        let frozen = self.stop_at.is_some_and(|s| self.sim.now() >= s);
        for &(slot, index, id) in background.iter().filter(|_| !frozen) {
            if !done.contains_key(&id)
                && let Some(node) = bg_nodes.get(&id).copied().or_else(|| {
                    lab.steps[index]
                        .on
                        .as_ref()
                        .and_then(|n| self.sim.find_node(lab.node_of(n)))
                })
            {
                let kernel = self.on_kernel(lab.steps[index].on.as_ref());
                self.stop_cmd(kernel, node, id, &mut done);
            }
            self.step_end[index] = Some(self.sim.now());
            let result = done.remove(&id).unwrap_or_default();
            reports[slot].checks = check_command(&lab.steps[index].expect, &result);
            reports[slot].result = Some(result);
        }

        for (_, node, id) in std::mem::take(&mut self.daemons)
            .into_iter()
            .filter(|_| !frozen)
        {
            self.sim.stop_command(node, id);
            done.extend(self.sim.take_finished());
            done.remove(&id);
        }

        for r in &mut reports {
            r.end = self.step_end[r.index - 1].map(|t| t.since_start().as_secs_f64());
        }
        let mut expectations = Vec::new();
        // Steps the lab's end cut off (a `--duration` shorter than the lab's steps; a lab's own
        // are refused when it loads): the lab checked less than it says, so it cannot pass.
        let cut_off = self.stop_at.is_none_or(|s| self.sim.now() < s);
        if let Some(first) = unrun.filter(|_| cut_off && !self.interrupted) {
            expectations.push(Check {
                what: format!("steps {}..{} of the lab", first + 1, lab.steps.len()),
                expected: "run".into(),
                actual: format!(
                    "not run: the lab ended at {:.6} s",
                    self.sim.now().since_start().as_secs_f64()
                ),
                pass: false,
            });
        }
        let capture = self.sim.take_capture();
        let counted = self.sim.take_observer::<Watches>();
        let halted = self.halted(capture.as_ref());
        if halted.is_some() {
            self.interrupted = false;
        }
        for (e, &w) in lab.expects.iter().zip(&self.watches) {
            let n = counted.as_ref().map_or(0, |c| c.watch_count(w));
            let (expected, pass) = match (e.count, e.at_least, e.at_most) {
                (Some(c), _, _) => (format!("{c}"), n == c),
                (None, lo, hi) => {
                    let ok = lo.is_none_or(|l| n >= l) && hi.is_none_or(|h| n <= h);
                    let text = match (lo, hi) {
                        (Some(l), Some(h)) => format!("{l}..={h}"),
                        (Some(l), None) => format!(">= {l}"),
                        (None, Some(h)) => format!("<= {h}"),
                        (None, None) => String::new(),
                    };
                    (text, ok)
                }
            };
            let why = e
                .why
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            let window = match e.window {
                Window::All => String::new(),
                Window::Step(k) => format!(" during {}", lab.steps[k].label(k)),
                Window::Times { from, to } => {
                    let t = |d: Option<crate::time::Duration>| {
                        d.map(|d| format!("{}s", d.as_secs_f64()))
                    };
                    match (t(from), t(to)) {
                        (Some(f), Some(t)) => format!(" from {f} to {t}"),
                        (Some(f), None) => format!(" from {f}"),
                        (None, Some(t)) => format!(" to {t}"),
                        (None, None) => String::new(),
                    }
                }
            };
            expectations.push(Check {
                what: format!("{}: {}{window}{why}", e.point, e.filter.text()),
                expected,
                actual: n.to_string(),
                pass,
            });
        }
        let stormed = self
            .sim
            .halt()
            .is_some_and(|h| matches!(h, crate::sim::Halt::Storm { .. }));
        if lab.storms {
            expectations.push(Check {
                what: "the storm guard stopped the run (storms: true)".into(),
                expected: "yes".into(),
                actual: if stormed { "yes" } else { "no" }.into(),
                pass: stormed,
            });
        }
        let mut warnings = lab.warnings.clone();
        warnings.extend(self.fdb_full());
        let (files, capture_failure) = capture.map(|mut c| c.finish()).unwrap_or_default();
        let mut kernel_log = Vec::new();
        let mut conntrack = Vec::new();
        for r in &lab.routers {
            let Some(id) = self.sim.find_node(&r.name) else {
                continue;
            };
            if let Some(router) = self.sim.node_as::<crate::router::Router>(id) {
                conntrack.push(router.conntrack_summary());
            }
            let dmesg = self
                .sim
                .show(id, &["dmesg".to_string()])
                .unwrap_or_default();
            kernel_log.extend(dmesg.lines().map(|l| KernelLogLine {
                node: r.name.clone(),
                line: l.to_string(),
            }));
        }
        let tap = self.realtime.as_mut().map(|rt| rt.summary(&mut self.sim));
        let passed = reports.iter().flat_map(|r| &r.checks).all(|c| c.pass)
            && expectations.iter().all(|c| c.pass)
            && !self.interrupted
            && capture_failure.is_none()
            && (halted.is_none() || (lab.storms && stormed));
        RunReport {
            version: 1,
            lab: lab.name.clone(),
            seed: self.seed,
            steps: reports,
            expectations,
            files,
            capture_failure,
            warnings,
            passed,
            interrupted: self.interrupted,
            halted,
            virtual_time: self.sim.now().since_start().as_secs_f64(),
            stats: self.sim.stats.clone(),
            kernel_log,
            conntrack,
            tap,
        }
    }

    /// Starts a step's command; a command that cannot start ends at once with exit code 2.
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

    /// Starts a step's command; one that cannot start has its result in `done` at once.
    /// Returns the node it runs on (`ip netns exec NS` runs it on NS).
    fn start_or_fail(
        &mut self,
        kernel: bool,
        node: crate::id::NodeId,
        id: CmdId,
        argv: &[String],
        input: &str,
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) -> crate::id::NodeId {
        let (node, argv) = match kernel {
            true => (node, argv.to_vec()),
            false => match self.resolve_exec(node, argv) {
                Ok(target) => target,
                Err(result) => {
                    done.insert(id, result);
                    return node;
                }
            },
        };
        if !kernel && let Some(result) = self.topology(node, &argv) {
            done.insert(id, result);
            return node;
        }
        if let Err(e) = self.start_cmd(kernel, node, id, &argv, input) {
            done.insert(
                id,
                CmdResult {
                    exit_code: 2,
                    output: format!("{e}\n"),
                    ..CmdResult::default()
                },
            );
        }
        done.extend(self.sim.take_finished());
        node
    }

    /// Waits for a foreground command until `deadline`, then stops it; its result.
    fn wait_for(
        &mut self,
        kernel: bool,
        node: crate::id::NodeId,
        id: CmdId,
        deadline: Instant,
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) -> CmdResult {
        while !done.contains_key(&id) && !self.interrupted {
            let stop = self.run_to(deadline, done);
            if matches!(stop, Stop::Limit | Stop::Idle) && !done.contains_key(&id) {
                self.stop_cmd(kernel, node, id, done);
                break;
            }
        }
        if self.interrupted && !done.contains_key(&id) {
            self.stop_cmd(kernel, node, id, done);
        }
        done.remove(&id).unwrap_or_default()
    }

    /// Marks step `index` started or ended now, opening or closing the windows of the
    /// capture expectations counted `during:` it.
    fn mark_step(&mut self, index: usize, started: bool) {
        let now = self.sim.now();
        let slot = match started {
            true => &mut self.step_at,
            false => &mut self.step_end,
        };
        slot[index] = Some(now);
        let from = self.step_at[index].unwrap_or(now);
        let to = if started { Instant::MAX } else { now };
        for (e, &w) in self.lab.expects.iter().zip(&self.watches) {
            if e.window == Window::Step(index)
                && let Some(c) = self.sim.observer_mut::<Watches>()
            {
                c.watch_window(w, from, to);
            }
        }
    }

    /// When step `index` ran, from its start to its end (a background step: to the end of
    /// the lab); None if it did not run.
    pub fn step_window(&self, index: usize) -> Option<(Instant, Instant)> {
        let start = (*self.step_at.get(index)?)?;
        Some((start, self.step_end[index].unwrap_or(Instant::MAX)))
    }

    /// One line per bridge whose FDB refused to learn addresses because it was full.
    fn fdb_full(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for b in &self.lab.bridges {
            let Some(id) = self.sim.find_node(&b.name) else {
                continue;
            };
            let Some(bridge) = self.sim.node_as::<crate::bridge::Bridge>(id) else {
                continue;
            };
            let refused = bridge.fdb.not_learned;
            if refused > 0 {
                lines.push(format!(
                    "{}: FDB full (fdb_max {}): {refused} source address{} not learned; frames to them were flooded",
                    b.name,
                    b.fdb_max,
                    if refused == 1 { " was" } else { "es were" }
                ));
            }
        }
        lines
    }

    /// Why the run was stopped by hoplab itself, in words, if it was: the storm guard (with
    /// the L2 loops through the bridge that flooded last) or the capture limit.
    fn halted(&self, capture: Option<&Capture>) -> Option<String> {
        let at = self.sim.now();
        let halt = self.sim.halt().cloned().or_else(|| {
            let limit = capture?.limit_reached()?;
            Some(crate::sim::Halt::CaptureLimit { limit })
        })?;
        Some(match halt {
            crate::sim::Halt::Storm {
                id,
                floods,
                bridge,
                summary,
            } => {
                let loops: Vec<String> = super::loops::find(&self.lab.bridges, &self.lab.links)
                    .into_iter()
                    .filter(|l| l.bridges.contains(&bridge))
                    .map(|l| l.describe())
                    .collect();
                let named = match loops.is_empty() {
                    true => format!("a loop through {bridge}"),
                    false => format!("the L2 loop {}", loops.join("; ")),
                };
                format!(
                    "storm guard: packet id={id} ({summary}) was flooded {floods} times, last by {bridge}: it circulates in {named}. The run stopped at {at}; give a bridge on the loop `stp: true` or remove a link"
                )
            }
            crate::sim::Halt::CaptureLimit { limit } => format!(
                "the captures reached --max-capture-bytes ({limit} bytes); the run stopped at {at}, and the files are whole up to there"
            ),
        })
    }

    /// A listing from the real kernel: its command run to the end (or its timeout).
    fn kernel_listing(
        &mut self,
        node: crate::id::NodeId,
        id: CmdId,
        argv: &[String],
        done: &mut BTreeMap<CmdId, CmdResult>,
    ) -> String {
        if let Err(e) = self.start_cmd(true, node, id, argv, "") {
            return format!("{e}\n");
        }
        let deadline = self.sim.now() + DEFAULT_TIMEOUT;
        while !done.contains_key(&id) && !self.interrupted {
            if matches!(self.run_to(deadline, done), Stop::Limit | Stop::Idle) {
                break;
            }
        }
        if !done.contains_key(&id) {
            self.stop_cmd(true, node, id, done);
        }
        done.remove(&id).unwrap_or_default().output
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

fn check_text(e: &CmdExpect, text: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    for c in &e.contains {
        checks.push(Check {
            what: format!("output contains {c:?}"),
            expected: "yes".into(),
            actual: if text.contains(c.as_str()) {
                "yes"
            } else {
                "no"
            }
            .into(),
            pass: text.contains(c.as_str()),
        });
    }
    for c in &e.not_contains {
        checks.push(Check {
            what: format!("output does not contain {c:?}"),
            expected: "yes".into(),
            actual: if text.contains(c.as_str()) {
                "no"
            } else {
                "yes"
            }
            .into(),
            pass: !text.contains(c.as_str()),
        });
    }
    checks
}

fn check_command(e: &CmdExpect, r: &CmdResult) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut num = |what: &str, expected: Option<u64>, actual: Option<u64>| {
        if let Some(x) = expected {
            checks.push(Check {
                what: what.into(),
                expected: x.to_string(),
                actual: actual.map_or("none".into(), |a| a.to_string()),
                pass: actual == Some(x),
            });
        }
    };
    num(
        "exit code",
        e.exit.map(|x| x as u64),
        Some(r.exit_code as u64),
    );
    num("packets received", e.received, r.received);
    num("packets transmitted", e.transmitted, r.transmitted);
    num(
        "HTTP status",
        e.status.map(u64::from),
        r.status.map(u64::from),
    );
    num("bytes", e.bytes, r.bytes);
    checks.extend(check_text(e, &r.output));
    checks
}

//! The steps of a run, in order: each waits for its start (`at`, `after`, or the end of the
//! step before), then the handler of its action runs it. The state the loop carries from
//! one step to the next is a `Steps`.

use std::collections::BTreeMap;

use super::Runner;
use super::report::{StepReport, check_command, check_text};
use crate::capture::Watches;
use crate::id::NodeId;
use crate::scenario::model::{Action, DEFAULT_TIMEOUT, PlannedStep, Step, Window};
use crate::sim::{CmdId, CmdResult, Stop};
use crate::time::Instant;

/// A step's command left running in the background until the lab ends (or its container
/// stops): where its report is, which step it is, its id and the node it runs on.
#[derive(Clone, Copy, Debug)]
pub(in crate::scenario) struct Background {
    pub slot: usize,
    pub index: usize,
    pub id: CmdId,
    pub node: NodeId,
}

/// What the step loop carries from step to step.
#[derive(Default)]
pub(super) struct Steps {
    /// Results of commands that ended, by id, until their step takes them.
    pub done: BTreeMap<CmdId, CmdResult>,
    pub background: Vec<Background>,
    pub reports: Vec<StepReport>,
    /// The first step the lab's end came before (not a signal, a pause or `stop_at`).
    pub unrun: Option<usize>,
    next_id: u32,
}

impl Steps {
    fn next_id(&mut self) -> CmdId {
        let id = CmdId(self.next_id);
        self.next_id += 1;
        id
    }
}

impl Runner<'_> {
    /// Runs the lab's steps in order, until the last, a pause that stops, a signal or the
    /// lab's end.
    pub(super) fn run_steps(&mut self, st: &mut Steps) {
        let lab = self.lab;
        // The foreground step that ran last: it ends where the next one begins.
        let mut open: Option<usize> = None;
        for (index, step) in lab.steps.iter().enumerate() {
            if let Some(k) = open.take() {
                self.mark_step(k, false);
            }
            if self.stopped || (index > 0 && !self.paused(&st.reports)) {
                self.stopped = true;
                break;
            }
            if self.interrupted || self.sim.now() >= self.limit() {
                st.unrun = Some(index);
                break;
            }
            if !self.wait_start(step, &mut st.done) {
                // The run stops before this step is due.
                st.unrun = Some(index);
                break;
            }
            if self.interrupted {
                break;
            }
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
            let report = self.step_report(index, step);
            let refusal = step.on.as_ref().and_then(|n| self.refused.get(n)).cloned();
            let report = match (&step.action, lab.changes.get(&index), refusal) {
                (Action::Exercise { .. }, _, refusal) => {
                    self.exercise(index, step, report, refusal, st);
                    None
                }
                (_, Some(planned), _) => Some(self.planned(step, planned, report, st)),
                (_, None, Some(error)) => Some(refused(step, report, error)),
                (Action::Run { .. }, None, None) => self.command(index, step, report, st),
                (Action::Show { argv, pipe }, None, None) => {
                    self.show_step(step, argv, pipe, report, st)
                }
                (Action::SetLink { end, up }, None, None) => Some(self.set_link(end, *up, report)),
            };
            st.reports.extend(report);
        }
        if let Some(k) = open.take() {
            self.mark_step(k, false);
        }
    }

    /// Waits until `step` is due; false if the run stopped before.
    fn wait_start(&mut self, step: &Step, done: &mut BTreeMap<CmdId, CmdResult>) -> bool {
        let start = match (step.at, step.after) {
            (Some(at), _) => Instant::ZERO + at,
            (None, Some(after)) => self.sim.now() + after,
            (None, None) => return true,
        };
        while self.sim.now() < start && !self.interrupted {
            if self.run_to(start, done) != Stop::CommandDone {
                break;
            }
        }
        self.sim.now() >= start
    }

    /// The node a step runs on, if the lab has it now.
    fn step_node(&self, step: &Step) -> Option<NodeId> {
        let on = step.on.as_ref()?;
        self.sim.find_node(self.lab.node_of(on))
    }

    /// A step's report as it starts: a `run` step with no result yet.
    fn step_report(&self, index: usize, step: &Step) -> StepReport {
        StepReport {
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
        }
    }

    /// An exercise: its report, then the student's commands, one after another, as
    /// foreground run steps; the steps after it and the capture expectations grade them.
    fn exercise(
        &mut self,
        index: usize,
        step: &Step,
        mut report: StepReport,
        refusal: Option<String>,
        st: &mut Steps,
    ) {
        let Action::Exercise {
            id: exercise,
            prompt,
            timeout,
        } = &step.action
        else {
            return;
        };
        report.kind = "exercise";
        report.exercise = Some(exercise.clone());
        report.prompt = Some(prompt.clone());
        st.reports.push(report);
        let node = self.step_node(step);
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
                    let id = st.next_id();
                    let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
                    self.answer(n, id, &answer.argv, timeout, &mut st.done)
                }
                (None, None) => continue,
            };
            st.reports.push(StepReport {
                kind: "run",
                command: answer.text,
                at,
                result: Some(result),
                exercise: Some(exercise.clone()),
                ..self.step_report(index, step)
            });
        }
    }

    /// A Docker host's `docker stop`, `docker run`, ...: its changes were planned when the
    /// lab loaded, and its output with them.
    fn planned(
        &mut self,
        step: &Step,
        planned: &PlannedStep,
        mut report: StepReport,
        st: &mut Steps,
    ) -> StepReport {
        for change in &planned.changes {
            self.apply(change, &st.background, &mut st.done);
        }
        let stages = match &step.action {
            Action::Run { pipes, .. } => pipes.first().map_or(&[][..], Vec::as_slice),
            _ => &[],
        };
        let (exit_code, output) =
            crate::scenario::grep::run_all(stages, &planned.output, planned.exit);
        let result = CmdResult {
            exit_code,
            output,
            ..CmdResult::default()
        };
        report.checks = check_command(&step.expect, &result);
        report.result = Some(result);
        report
    }

    /// A `run:` step: its command, and the commands of its `&&`/`||` list, in the
    /// foreground (waited for) or the background (kept running).
    fn command(
        &mut self,
        index: usize,
        step: &Step,
        mut report: StepReport,
        st: &mut Steps,
    ) -> Option<StepReport> {
        let Action::Run {
            argv,
            then,
            pipes,
            input,
            background,
            timeout,
        } = &step.action
        else {
            return Some(report);
        };
        // A command's `| grep` stages filter its output and give its status.
        let piped = |k: usize, mut r: CmdResult| {
            if let Some(stages) = pipes.get(k).filter(|p| !p.is_empty()) {
                (r.exit_code, r.output) =
                    crate::scenario::grep::run_all(stages, &r.output, r.exit_code);
            }
            r
        };
        let node = self.step_node(step)?;
        let id = st.next_id();
        report.background = *background;
        let kernel = self.on_kernel(step.on.as_ref());
        let node = self.start_or_fail(kernel, node, id, argv, input, &mut st.done);
        if *background {
            st.background.push(Background {
                slot: st.reports.len(),
                index,
                id,
                node,
            });
            return Some(report);
        }
        // The whole list shares the step's timeout, as a shell line would.
        let deadline = self.sim.now() + timeout.unwrap_or(DEFAULT_TIMEOUT);
        let mut result = piped(0, self.wait_for(kernel, node, id, deadline, &mut st.done));
        for (k, (joiner, argv)) in then.iter().enumerate() {
            if self.interrupted || !joiner.runs_after(result.exit_code) {
                continue;
            }
            let id = st.next_id();
            let node = self.start_or_fail(kernel, node, id, argv, input, &mut st.done);
            let next = piped(
                k + 1,
                self.wait_for(kernel, node, id, deadline, &mut st.done),
            );
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
        Some(report)
    }

    /// A `show:` step: the node's listing (the real command's output on the kernel), through
    /// the step's `| grep`.
    fn show_step(
        &mut self,
        step: &Step,
        argv: &[String],
        pipe: &[crate::scenario::grep::Grep],
        mut report: StepReport,
        st: &mut Steps,
    ) -> Option<StepReport> {
        report.kind = "show";
        let node = self.step_node(step)?;
        let listing = if self.on_kernel(step.on.as_ref()) {
            // The kernel's own listing: the real command's output.
            let id = st.next_id();
            let listing = self.kernel_listing(node, id, argv, &mut st.done);
            crate::scenario::grep::run_all(pipe, &listing, 0).1
        } else {
            match self.listing(node, argv) {
                Ok(listing) => crate::scenario::grep::run_all(pipe, &listing, 0).1,
                Err(e) => format!("{e}\n"),
            }
        };
        report.checks = check_text(&step.expect, &listing);
        report.listing = Some(listing);
        Some(report)
    }

    /// `ip link set END up|down` on a link of the lab.
    fn set_link(
        &mut self,
        end: &crate::scenario::model::Endpoint,
        up: bool,
        mut report: StepReport,
    ) -> StepReport {
        report.kind = "link";
        if let Ok(port) = crate::scenario::build::port_of(&self.sim, end)
            && let Some(link) = self.sim.link_of(port)
        {
            self.sim.set_link_up(link, up);
        }
        report
    }

    /// Whether a step on `on` runs on the real kernel.
    pub(super) fn on_kernel(&self, on: Option<&String>) -> bool {
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
    pub(super) fn stop_cmd(
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

    /// Commands to run at exercise steps, by exercise id; an exercise without any runs
    /// nothing.
    pub fn set_answers(&mut self, answers: BTreeMap<String, Vec<crate::scenario::grade::Answer>>) {
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
        if let Some(r) = crate::scenario::grade::host_command(&mut self.sim, self.lab, node, argv) {
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
}

/// A step on a node that cannot run it now (a container that is not running: `docker exec`
/// refuses): the error, as its output or listing.
fn refused(step: &Step, mut report: StepReport, error: String) -> StepReport {
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
    report
}

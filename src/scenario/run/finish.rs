//! The end of a run: the network settles, background commands and daemons stop, and the
//! run is judged: step checks, capture expectations, the storm guard, capture failures.

use std::collections::BTreeMap;

use super::Runner;
use super::report::{Check, KernelLogLine, RunReport, check_command};
use super::steps::Steps;
use crate::capture::{Capture, Watches};
use crate::scenario::model::Window;
use crate::sim::{CmdId, CmdResult, Stop};
use crate::time::{Duration, Instant};

impl Runner<'_> {
    /// Ends the run after its steps and reports it.
    pub(super) fn finish(&mut self, mut st: Steps) -> RunReport {
        let lab = self.lab;
        if !self.stopped && !self.interrupted && !st.reports.is_empty() {
            self.stopped = !self.paused(&st.reports);
        }
        // Stopped at a pause: as if interrupted, the lab did not run to its end.
        self.interrupted |= self.stopped;
        self.settle(&mut st.done);
        // Background commands end with the lab; at a `stop_at` the network stays as it is.
        let frozen = self.stop_at.is_some_and(|s| self.sim.now() >= s);
        if !frozen {
            self.end_background(&mut st);
            self.stop_daemons(&mut st.done);
        }
        for r in &mut st.reports {
            r.end = self.step_end[r.index - 1].map(|t| t.since_start().as_secs_f64());
        }
        let mut expectations = Vec::new();
        // Steps the lab's end cut off (a `--duration` shorter than the lab's steps; a lab's own
        // are refused when it loads): the lab checked less than it says, so it cannot pass.
        let cut_off = self.stop_at.is_none_or(|s| self.sim.now() < s);
        if let Some(first) = st.unrun.filter(|_| cut_off && !self.interrupted) {
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
        expectations.extend(self.capture_checks(counted.as_ref()));
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
        let (kernel_log, conntrack) = self.router_summaries();
        let tap = self.realtime.as_mut().map(|rt| rt.summary(&mut self.sim));
        let passed = st.reports.iter().flat_map(|r| &r.checks).all(|c| c.pass)
            && expectations.iter().all(|c| c.pass)
            && !self.interrupted
            && capture_failure.is_none()
            && (halted.is_none() || (lab.storms && stormed));
        RunReport {
            version: 1,
            lab: lab.name.clone(),
            seed: self.seed,
            steps: st.reports,
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

    /// Waits until no frame has moved for the lab's `settle`, or its end. In real time the
    /// lab runs to its `duration` (or a signal): the kernel may still be talking to it.
    fn settle(&mut self, done: &mut BTreeMap<CmdId, CmdResult>) {
        let settle = self.lab.settle;
        let steps_end = self.sim.now();
        while self.realtime.is_some()
            && !self.end_after_steps
            && !self.interrupted
            && self.sim.now() < self.limit()
        {
            let limit = self.limit();
            self.run_to(limit, done);
        }
        while !self.interrupted && !self.stopped {
            let window_start = self
                .sim
                .last_frame_at()
                .unwrap_or(Instant::ZERO)
                .max(steps_end);
            let target = window_start + settle;
            if self.run_to(target, done) == Stop::CommandDone {
                continue;
            }
            let quiet = self.sim.last_frame_at().is_none_or(|t| t <= window_start);
            if quiet || self.sim.now() >= self.limit() {
                break;
            }
        }
    }

    /// Stops the steps' background commands and checks their results.
    fn end_background(&mut self, st: &mut Steps) {
        for b in std::mem::take(&mut st.background) {
            if !st.done.contains_key(&b.id) {
                let kernel = self.on_kernel(self.lab.steps[b.index].on.as_ref());
                self.stop_cmd(kernel, b.node, b.id, &mut st.done);
            }
            self.step_end[b.index] = Some(self.sim.now());
            let result = st.done.remove(&b.id).unwrap_or_default();
            st.reports[b.slot].checks = check_command(&self.lab.steps[b.index].expect, &result);
            st.reports[b.slot].result = Some(result);
        }
    }

    /// Stops the programs that are not steps (docker-proxy); their results are not reported.
    fn stop_daemons(&mut self, done: &mut BTreeMap<CmdId, CmdResult>) {
        for (_, node, id) in std::mem::take(&mut self.daemons) {
            self.sim.stop_command(node, id);
            done.extend(self.sim.take_finished());
            done.remove(&id);
        }
    }

    /// The lab's capture expectations, each counted by its watch.
    fn capture_checks(&self, counted: Option<&Watches>) -> Vec<Check> {
        let lab = self.lab;
        let mut checks = Vec::new();
        for (e, &w) in lab.expects.iter().zip(&self.watches) {
            let n = counted.map_or(0, |c| c.watch_count(w));
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
                    let t = |d: Option<Duration>| d.map(|d| format!("{}s", d.as_secs_f64()));
                    match (t(from), t(to)) {
                        (Some(f), Some(t)) => format!(" from {f} to {t}"),
                        (Some(f), None) => format!(" from {f}"),
                        (None, Some(t)) => format!(" to {t}"),
                        (None, None) => String::new(),
                    }
                }
            };
            checks.push(Check {
                what: format!("{}: {}{window}{why}", e.point, e.filter.text()),
                expected,
                actual: n.to_string(),
                pass,
            });
        }
        checks
    }

    /// What each router's kernel logged (`dmesg`), and its conntrack table's summary.
    fn router_summaries(&mut self) -> (Vec<KernelLogLine>, Vec<crate::router::ConntrackSummary>) {
        let mut kernel_log = Vec::new();
        let mut conntrack = Vec::new();
        for r in &self.lab.routers {
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
        (kernel_log, conntrack)
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
                let loops: Vec<String> =
                    crate::scenario::loops::find(&self.lab.bridges, &self.lab.links)
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
}

//! What a run reports: each step and how it went, each expectation, and the whole run as
//! `hoplab run --json` prints it.

use schemars::JsonSchema;
use serde::Serialize;

use crate::capture::{CaptureFailure, WrittenFile};
use crate::scenario::model::CmdExpect;
use crate::sim::{CmdResult, SimStats};

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
    #[schemars(with = "crate::scenario::schema::forms::StepKind")]
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

/// The checks of an expectation on a text: a listing, or a command's output.
pub(super) fn check_text(e: &CmdExpect, text: &str) -> Vec<Check> {
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

/// The checks of a command step's expectations on its result.
pub(super) fn check_command(e: &CmdExpect, r: &CmdResult) -> Vec<Check> {
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

//! The lab's edge to the real kernel: TAP devices.
//!
//! A TAP plugs a bridge port or a router interface into the host kernel. Inside the
//! simulation the kernel is one node, `kernel` ([`kernel::Kernel`]), with one port per TAP:
//! sans-IO like every node, it queues the frames the lab sends to the kernel and lets in the
//! frames the kernel wrote, after checking them ([`classify`]). Everything that does IO is
//! Linux-only and lives beside it: the TAP file descriptors ([`device`]), the kernel-side
//! configuration over rtnetlink ([`netlink`]), the lab's network namespace ([`netns`]) and
//! the real-time driver that waits on both the TAPs and the next simulation deadline
//! ([`driver`]).

pub mod classify;
pub mod kernel;
pub mod spec;

// The edge's system calls (netlink sockets, setns, mount, kill) need `unsafe`; each use
// says why it is sound. Nothing else in the crate does.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod command;
#[cfg(target_os = "linux")]
pub mod device;
#[cfg(target_os = "linux")]
pub mod driver;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod netlink;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod netns;
#[cfg(target_os = "linux")]
pub mod setup;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod timer;

#[cfg(all(test, target_os = "linux"))]
mod test_support {
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Whether a test that needs CAP_NET_ADMIN may run; it skips (with the reason printed)
    /// when it may not, unless HOPLAB_REQUIRE_PRIVILEGED=1 makes that a failure.
    pub fn privileged(test: &str) -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if super::cap_eff_has_net_admin(&status) {
            return true;
        }
        let reason = format!("{test}: needs CAP_NET_ADMIN, which this process lacks");
        if crate::scenario::grade::require_privileged() {
            panic!("{reason} (HOPLAB_REQUIRE_PRIVILEGED=1: a skip is a failure)");
        }
        eprintln!("skipping {reason}");
        false
    }

    /// A name no other test of this process, nor another test process, uses.
    pub fn unique_name(prefix: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{n}", std::process::id())
    }
}

use schemars::JsonSchema;
use serde::Serialize;

use classify::RefusedCounts;

use crate::sim::{CmdId, CmdResult, Sim, Stop};
use crate::time::Instant;

/// What a real-time run reports of its TAPs (`tap` in `hoplab run --json`).
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct TapSummary {
    /// The most a simulation event ran behind the wall clock, in milliseconds: how far the
    /// lab fell behind real time at worst.
    pub lag_max_ms: f64,
    /// Wall-clock seconds the lab ran.
    pub wall_seconds: f64,
    /// Frames refused at the edge, per class, all TAPs together.
    pub refused: RefusedCounts,
    pub taps: Vec<TapReport>,
}

/// One TAP's figures.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct TapReport {
    pub name: String,
    /// What it plugs into, `node:iface`.
    pub plug: String,
    /// Frames the kernel sent into the lab (refused ones not included).
    pub from_kernel: u64,
    /// Frames the lab sent to the kernel.
    pub to_kernel: u64,
    /// Frames dropped because a queue between the kernel and the lab was full.
    pub queue_dropped: u64,
    /// Frames refused, per class.
    pub refused: RefusedCounts,
}

/// Options of the kernel side, on every platform (see `setup`).
#[cfg(not(target_os = "linux"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SetupOptions {
    pub allow_host_routes: bool,
}
#[cfg(target_os = "linux")]
pub use setup::SetupOptions;

/// Drives a run on the wall clock: the TAP edge (`crate::tap::driver`). The runner hands it
/// the simulation to run up to an instant, and the steps that run on the real kernel.
/// Declared here rather than beside the runner that holds one, so that the edge, below the
/// scenario, needs nothing of it.
pub trait RealTime {
    /// Runs the simulation up to `t`, never ahead of the wall clock, moving frames between
    /// the TAPs and the lab; returns early when a command (the lab's or the kernel's) ends.
    fn run_until(&mut self, sim: &mut Sim, t: Instant) -> Stop;
    /// Starts a program on the kernel side (`on: kernel`).
    fn start(&mut self, cmd: CmdId, argv: &[String], input: &str) -> Result<(), String>;
    /// Stops a kernel-side program, running the lab meanwhile, until its result is in.
    fn stop(&mut self, sim: &mut Sim, cmd: CmdId);
    /// Results of kernel-side programs that ended since the last call.
    fn take_finished(&mut self) -> Vec<(CmdId, CmdResult)>;
    /// The run's figures, for its report.
    fn summary(&mut self, sim: &mut Sim) -> TapSummary;
}

// The capability the edge needs; the scenario's grading asks the same question of a lab's
// `requires:`.

/// CAP_NET_ADMIN's bit in a capability set (linux/capability.h).
const CAP_NET_ADMIN: u32 = 12;

/// Whether `CapEff` in a `/proc/PID/status` text has CAP_NET_ADMIN.
pub fn cap_eff_has_net_admin(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

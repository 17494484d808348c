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
        if crate::scenario::grade::cap_eff_has_net_admin(&status) {
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

/// Whether `lab`'s TAPs can be attached here at all (the platform, CAP_NET_ADMIN), asked
/// before anything is made so a refused run leaves no files behind either.
pub fn preflight(lab: &crate::scenario::Lab) -> Result<(), String> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    return match setup::has_net_admin() {
        true => Ok(()),
        false => Err(setup::privilege_message()),
    };
    #[cfg(not(target_os = "linux"))]
    Err("TAP devices are Linux-only: this lab runs on Linux".into())
}

/// Makes the kernel side of `lab`'s TAPs and has `runner` run the lab through them in real
/// time. `announce` gets each change before it is made. Without CAP_NET_ADMIN, or when
/// anything is refused, nothing is left behind and the error says why.
#[cfg(target_os = "linux")]
pub fn attach<'l>(
    runner: &mut crate::scenario::run::Runner<'l>,
    lab: &crate::scenario::Lab,
    opts: SetupOptions,
    announce: &mut dyn FnMut(&str),
) -> Result<(), String> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    preflight(lab)?;
    for line in setup::plan(&lab.kernel) {
        announce(&line);
    }
    let side = setup::apply(&lab.kernel, opts).map_err(|e| e.message)?;
    let plugs = lab.kernel.taps.iter().map(|t| t.plug.to_string()).collect();
    let edge = driver::Edge::new(side, plugs, &runner.sim)
        .map_err(|e| format!("cannot wait on the TAPs: {e}"))?;
    runner.set_realtime(Box::new(edge));
    Ok(())
}

/// TAP devices are Linux's: elsewhere a lab with TAPs does not run.
#[cfg(not(target_os = "linux"))]
pub fn attach<'l>(
    _runner: &mut crate::scenario::run::Runner<'l>,
    lab: &crate::scenario::Lab,
    _opts: SetupOptions,
    _announce: &mut dyn FnMut(&str),
) -> Result<(), String> {
    preflight(lab)
}

/// Options of the kernel side, on every platform (see `setup`).
#[cfg(not(target_os = "linux"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SetupOptions {
    pub allow_host_routes: bool,
}
#[cfg(target_os = "linux")]
pub use setup::SetupOptions;

//! Docker's choices over the life of a lab, planned before it runs: a host's state as
//! containers start, stop, join and leave networks ([`life::HostPlan`]), and what each such
//! step changes in the lab ([`Change`]); [`cli`] reads the `docker` commands that change
//! the host. The scenario loader reads the lab's `docker:`
//! section and steps into this plan and turns its changes into the runner's work.

mod change;
pub mod cli;
pub mod life;

pub use change::{Change, PlannedStep, Stamp, StampField};

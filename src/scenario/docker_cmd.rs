//! The steps of a lab that run a `docker` command changing a Docker host, found and planned
//! in step order on the host's [`HostPlan`] (`docker::plan::cli` reads each command as the
//! Docker CLI does); what hoplab cannot run (an attached `docker run`, a changing command
//! joined to others by `||` or `&&`) is a lab error, located at the step.

use std::collections::BTreeMap;

use super::error::Errors;
use super::model::PlannedStep;
use super::raw::{RawStep, S};
use crate::docker::plan::cli::{docker_args, plan_command};
use crate::docker::plan::life::{HostPlan, finish_step};

/// Plans every step that runs a changing `docker` command on this host, in step order.
pub(super) fn plan_steps(
    plan: &mut HostPlan,
    steps: &[S<RawStep>],
    errs: &mut Errors<'_>,
) -> BTreeMap<usize, PlannedStep> {
    let mut out = BTreeMap::new();
    for (k, s) in steps.iter().map(|s| &s.value).enumerate() {
        let (Some(on), Some(run)) = (&s.on, &s.run) else {
            continue;
        };
        if on.value != plan.host {
            continue;
        }
        let Ok(list) = super::cmdlist::parse(&run.value) else {
            continue;
        };
        if !list.rest.is_empty() {
            // The plan needs to know whether the command runs: it stands alone.
            let changing = list.commands().any(|argv| {
                let words: Vec<&str> = argv.iter().map(String::as_str).collect();
                docker_args(&words).is_some()
            });
            if changing {
                errs.at(
                    run.referenced,
                    "run",
                    "a docker command that changes the host is a step of its own (no || or &&)",
                );
            }
            continue;
        }
        let words: Vec<&str> = list.first.iter().map(String::as_str).collect();
        let Some(args) = docker_args(&words) else {
            continue;
        };
        plan.step = Some(k);
        match plan_command(plan, args) {
            Ok(Some(step)) => {
                out.insert(k, finish_step(plan, step));
            }
            Ok(None) => {}
            Err(e) => errs.at(run.referenced, "run", e),
        }
    }
    plan.step = None;
    out
}

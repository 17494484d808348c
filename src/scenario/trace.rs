//! `hoplab trace`: a lab replayed with every decision traced, and one packet's journey out
//! of it, hop by hop. The replay is the same run (virtual time, the same seed), so packet
//! ids and frame numbers are those of the normal run's `all.pcapng`.

use super::model::Lab;
use super::run::{RunOptions, Runner};
use crate::filter::Filter;
use crate::sim::TraceRecord;

/// Which packet to follow.
#[derive(Clone, Debug)]
pub enum Pick {
    /// By its id (`id=42` in the capture comments).
    Packet(u32),
    /// The packet of frame N of `all.pcapng` (1-based, as Wireshark numbers it).
    Frame(u64),
    /// The packet of the first frame a display filter matches.
    Match(Filter),
}

/// One packet's journey.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Journey {
    pub id: u32,
    /// The packet it answers (0: none).
    pub re: u32,
    /// Every frame of it, at every capture point, in order.
    pub hops: Vec<TraceRecord>,
    /// Packets that answer it (echo replies, ICMP errors, ARP replies).
    pub answers: Vec<Answer>,
    /// The step it first appeared during: its `name:`, or its number from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Answer {
    pub id: u32,
    pub summary: String,
}

/// Replays `lab` with tracing and returns the picked packet's journey. `during` (a step's
/// name) narrows a `Pick::Match` to the frames recorded while that step ran.
pub fn trace(
    lab: &Lab,
    seed: Option<u64>,
    pick: &Pick,
    during: Option<&str>,
) -> Result<Journey, String> {
    let during = match during {
        None => None,
        Some(name) => Some(
            lab.steps
                .iter()
                .position(|s| s.name.as_deref() == Some(name))
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        lab.steps.iter().filter_map(|s| s.name.as_deref()).collect();
                    match names.is_empty() {
                        true => format!("no step named '{name}' (the lab names no step)"),
                        false => format!("no step named '{name}' (named: {})", names.join(", ")),
                    }
                })?,
        ),
    };
    let opts = RunOptions {
        out_dir: Some(std::env::temp_dir()),
        seed,
        ..RunOptions::without_captures()
    };
    let mut runner = Runner::new(lab, &opts)?;
    runner.sim.set_trace();
    runner.run();
    let secs = |t: crate::time::Instant| t.since_start().as_secs_f64();
    let windows: Vec<Option<(f64, f64)>> = (0..lab.steps.len())
        .map(|k| runner.step_window(k).map(|(a, b)| (secs(a), secs(b))))
        .collect();
    let within = |k: usize, at: f64| windows[k].is_some_and(|(a, b)| a <= at && at <= b);
    let log = runner.sim.trace_log();
    let id = match pick {
        Pick::Packet(id) => *id,
        Pick::Frame(n) => {
            log.iter()
                .find(|r| r.frame == *n)
                .ok_or_else(|| {
                    format!(
                        "the lab has no frame {n} (its all.pcapng has {})",
                        log.len()
                    )
                })?
                .id
        }
        Pick::Match(filter) => {
            log.iter()
                .filter(|r| during.is_none_or(|k| within(k, r.at)))
                .find(|r| filter.matches(&r.bytes, Some(&r.notes.join("; "))))
                .ok_or_else(|| match during {
                    Some(k) => format!(
                        "no frame recorded during step {} matches '{}'",
                        lab.steps[k].label(k),
                        filter.text()
                    ),
                    None => format!("no frame of the lab matches '{}'", filter.text()),
                })?
                .id
        }
    };
    let hops: Vec<TraceRecord> = log.iter().filter(|r| r.id == id).cloned().collect();
    let Some(first) = hops.first() else {
        return Err(format!("the lab made no packet with id {id}"));
    };
    let re = first.re;
    let mut answers: Vec<Answer> = Vec::new();
    for r in log.iter().filter(|r| r.re == id) {
        if !answers.iter().any(|a| a.id == r.id) {
            answers.push(Answer {
                id: r.id,
                summary: r.summary.clone(),
            });
        }
    }
    // The latest step whose window holds the packet's first frame (a background step's
    // window runs on under the steps after it).
    let step = (0..lab.steps.len())
        .rev()
        .find(|&k| within(k, first.at))
        .map(|k| lab.steps[k].label(k));
    Ok(Journey {
        id,
        re,
        hops,
        answers,
        step,
    })
}

/// The journey as text: the packet, then each frame of it (the summary again where NAT or
/// a router changed it) with what was decided there, then what answered it.
pub fn describe(j: &Journey) -> String {
    let mut out = String::new();
    let first = &j.hops[0];
    out.push_str(&format!("packet id={}: {}\n", j.id, first.summary));
    if j.re != 0 {
        out.push_str(&format!("  answers id={}\n", j.re));
    }
    if let Some(step) = &j.step {
        out.push_str(&format!("  during step {step}\n"));
    }
    let mut shown = first.summary.as_str();
    for h in &j.hops {
        out.push_str(&format!(
            "[{:>11.6}s] #{:<5} {:<4} {}\n",
            h.at, h.frame, h.dir, h.point
        ));
        if h.summary != shown {
            out.push_str(&format!("      now: {}\n", h.summary));
            shown = &h.summary;
        }
        for n in &h.notes {
            out.push_str(&format!("      {n}\n"));
        }
    }
    for a in &j.answers {
        out.push_str(&format!("answered by id={}: {}\n", a.id, a.summary));
    }
    out
}

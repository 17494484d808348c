//! A bare frame source and sink, for tests and benchmarks of what lies between them.
//! It sends scripted frames at given instants (or bursts of one frame back to back) and
//! counts, and optionally keeps, what it receives.

use std::any::Any;
use std::collections::VecDeque;

use crate::sim::{Ctx, Node, PortView};
use crate::time::Instant;

#[derive(Default)]
pub struct Probe {
    name: String,
    script: VecDeque<(Instant, u16, Vec<u8>)>,
    burst: Option<Burst>,
    keep: bool,
    pub received: Vec<(Instant, u16, Vec<u8>)>,
    pub count: u64,
}

struct Burst {
    /// The frames, back to back in sending order, so a traffic generator's own memory
    /// streams rather than misses the cache; `ends[i]` is where frame `i` ends.
    data: Vec<u8>,
    ends: Vec<usize>,
    next: usize,
    left: u64,
    per_wake: u64,
}

impl Probe {
    pub fn new(name: &str, keep: bool) -> Probe {
        Probe {
            name: name.to_string(),
            keep,
            ..Probe::default()
        }
    }

    /// Sends `frame` out of `port` at `at`.
    pub fn send_at(&mut self, at: Instant, port: u16, frame: Vec<u8>) {
        let i = self.script.partition_point(|(t, _, _)| *t <= at);
        self.script.insert(i, (at, port, frame));
    }

    /// Sends `total` copies of `frame` out of port 0, `per_wake` of them per wake-up.
    pub fn blast(&mut self, frame: Vec<u8>, total: u64, per_wake: u64) {
        let ends = vec![frame.len()];
        self.burst = Some(Burst {
            data: frame,
            ends,
            next: 0,
            left: total,
            per_wake: per_wake.max(1),
        });
    }

    /// Sends `total` frames out of port 0, taking `frames` in turn, `per_wake` per wake-up.
    pub fn blast_cycle(&mut self, frames: Vec<Vec<u8>>, total: u64, per_wake: u64) {
        if frames.is_empty() {
            return;
        }
        let mut data = Vec::with_capacity(frames.iter().map(Vec::len).sum());
        let ends = frames
            .iter()
            .map(|f| {
                data.extend_from_slice(f);
                data.len()
            })
            .collect();
        self.burst = Some(Burst {
            data,
            ends,
            next: 0,
            left: total,
            per_wake: per_wake.max(1),
        });
    }
}

impl Node for Probe {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "probe"
    }

    fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8], ctx: &mut Ctx<'_>) {
        self.count += 1;
        if self.keep {
            self.received.push((now, port, frame.to_vec()));
        }
        // A frame changes neither the script nor a burst.
        if self.burst.is_none() {
            ctx.deadline_kept();
        }
    }

    fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        while self.script.front().is_some_and(|(t, _, _)| *t <= now) {
            if let Some((_, port, frame)) = self.script.pop_front() {
                ctx.send_copy(port, &frame);
            }
        }
        if let Some(b) = self.burst.as_mut() {
            let n = b.left.min(b.per_wake);
            for _ in 0..n {
                let start = if b.next == 0 { 0 } else { b.ends[b.next - 1] };
                ctx.send_copy(0, &b.data[start..b.ends[b.next]]);
                b.next = (b.next + 1) % b.ends.len();
            }
            b.left -= n;
            if b.left == 0 {
                self.burst = None;
            }
        }
    }

    fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        if self.burst.is_some() {
            return Some(now);
        }
        self.script.front().map(|(t, _, _)| *t)
    }

    fn show(
        &mut self,
        _now: Instant,
        argv: &[String],
        _ports: &[PortView],
    ) -> Result<String, String> {
        Err(format!("{}: a probe has no listings", argv.join(" ")))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

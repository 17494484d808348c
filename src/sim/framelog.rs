//! The frame log: an observer that keeps every frame at every capture point with what was
//! decided about it there, for `hoplab trace`, `explain`, the shell's stepping and the HTML
//! report (see `Sim::set_trace`, `Sim::set_frame_log`).

use std::any::Any;

use crate::capture::{Direction, FrameEvent, Observer, PointName};

/// One frame at one capture point, as a trace lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceRecord {
    /// Its number in `all.pcapng` (1-based).
    pub frame: u64,
    /// Virtual time, in seconds.
    pub at: f64,
    /// `node:iface`.
    pub point: String,
    /// `in` or `out`.
    pub dir: &'static str,
    pub id: u32,
    pub re: u32,
    /// tcpdump-like.
    pub summary: String,
    /// What was decided about it there (its capture comment without the id).
    pub notes: Vec<String>,
    /// The frame.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Keeps a `TraceRecord` of every frame reported; reads every comment.
#[derive(Default)]
pub(super) struct FrameLog {
    pub(super) records: Vec<TraceRecord>,
    /// Each point's `node:iface`, by point.
    labels: Vec<String>,
}

impl Observer for FrameLog {
    fn wants_comment(&self, _point: usize) -> bool {
        true
    }

    fn point(&mut self, index: usize, name: &PointName, _silent: bool) {
        if self.labels.len() <= index {
            self.labels.resize(index + 1, String::new());
        }
        self.labels[index] = name.label();
    }

    fn frame(&mut self, e: &FrameEvent<'_>) {
        let mut notes: Vec<String> = e
            .comment
            .unwrap_or("")
            .split("; ")
            .map(String::from)
            .collect();
        // The id opens the comment; the record has it apart.
        if notes.first().is_some_and(|n| n.starts_with("id=")) {
            notes.remove(0);
        }
        self.records.push(TraceRecord {
            frame: self.records.len() as u64 + 1,
            at: e.at.since_start().as_secs_f64(),
            point: self.labels.get(e.point).cloned().unwrap_or_default(),
            dir: match e.dir {
                Direction::In => "in",
                Direction::Out => "out",
            },
            id: e.id,
            re: e.re,
            summary: crate::wire::summary::summarize(e.frame),
            notes,
            bytes: e.frame.to_vec(),
        });
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

//! Observation as sinks: the engine reports every frame at every capture point to the
//! observers registered with it, through one trait. The capture files (`Capture`: per-point
//! pcaps and the merged pcapng), the lab's watches (`Watches`), the engine's frame log behind
//! `hoplab trace` and the HTML report are observers; the engine knows none of them.
//!
//! An observer says which frames it reads the comment of (`wants_comment`): the engine
//! formats a hop's notes only when one does, and tells the node its notes are read only
//! then (`Ctx::detail`), so a run with no observer formats nothing.

use std::any::Any;

use crate::capture::{Direction, PointName};
use crate::time::Instant;

/// One frame at one capture point.
#[derive(Clone, Copy, Debug)]
pub struct FrameEvent<'a> {
    /// The point: the engine's global port number.
    pub point: usize,
    pub at: Instant,
    pub dir: Direction,
    pub frame: &'a [u8],
    /// The packet's id and the id of the packet it answers (0: none).
    pub id: u32,
    pub re: u32,
    /// The hop's comment (`id=…` then the decisions, `; `-separated), when an observer
    /// wants the comment at this point (`Observer::wants_comment`) and it is not empty.
    /// Others may ignore it.
    pub comment: Option<&'a str>,
}

/// A sink of the engine's frame events.
pub trait Observer: Any {
    /// Whether the observer reads the comment of frames at `point` (a capture that stopped
    /// at a write error and counts nothing there reads none).
    fn wants_comment(&self, point: usize) -> bool;

    /// A capture point exists (at registration, and for every port made later) or became
    /// silent: a silent point's frames are never reported.
    fn point(&mut self, _index: usize, _name: &PointName, _silent: bool) {}

    /// A frame crossed a point that is not silent.
    fn frame(&mut self, event: &FrameEvent<'_>);

    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The observer itself, taken back from the engine.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

//! hoplab: a deterministic, in-kernel-free virtual network lab.
//!
//! Layers, each using only the ones above it (see `design.md`):
//! `time`, `rand`, `id` → `wire` → `link`, `capture` → `sim` → `bridge`, `host` → `scenario`
//! → `report`, `bench`, `import` (a real host's dumps made a lab file) → the `hoplab` binary. Nothing below the binary reads the wall clock,
//! opens a file other than a capture, or spawns a thread (but the merged capture's writer,
//! which only moves bytes to its file), but the TAP edge (`tap`: its
//! devices, rtnetlink, namespaces, kernel-side programs and real-time driver, Linux only),
//! which is IO by nature; its `kernel` node is sans-IO like every node.
#![deny(unsafe_code)]

pub mod bench;
pub mod bridge;
pub mod capture;
pub mod docker;
pub mod filter;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod id;
pub mod import;
pub mod link;
pub mod netfilter;
pub mod rand;
pub mod report;
pub mod router;
pub mod scenario;
pub mod sim;
pub mod tap;
pub mod time;
pub mod wire;

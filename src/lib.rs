//! hoplab: a deterministic, in-kernel-free virtual network lab.
//!
//! # The map
//!
//! Every module, lowest layer first. **The rule: a module uses only modules of lower layers**
//! (never one of its own layer, nor above), so each layer can be read, tested and changed
//! knowing only what is under it. Test code (`#[cfg(test)]`) may use any module, since a unit
//! test builds whole labs. `tests/layers.rs` reads this table and checks the rule, and lists
//! the few uses that still break it. The `hoplab` binary (`src/bin/hoplab/`: the CLI, the text
//! report, the shell's terminal) sits above everything.
//!
//! | layer | module | what it holds |
//! |---:|---|---|
//! | 0 | [`time`] | virtual time: `Instant` and `Duration` in nanoseconds |
//! | 0 | [`rand`] | seeded xoshiro256** streams, one per label |
//! | 0 | [`id`] | dense node, port and link ids |
//! | 1 | [`wire`] | what `smoltcp::wire` lacks: MAC display, service names, summaries, 802.1Q, IPv6 neighbour discovery messages |
//! | 2 | [`dropped`] | why a frame went no further: the reasons links, the engine and nodes give |
//! | 2 | [`filter`] | Wireshark display filters on raw frames (so captures can count matches) |
//! | 3 | [`link`] | a veth or cable: delay, jitter, loss, rate, queue, MTU |
//! | 3 | [`capture`] | the `Observer` trait the engine reports frames to; per-point pcaps, the merged pcapng, filter watches |
//! | 4 | [`sim`] | the discrete-event engine: queue, `Node` trait and `Ctx` outbox, frame pool, notes, frame log |
//! | 5 | [`listing`] | `ip`, `bridge` and `brctl` listings in the real tools' formats |
//! | 5 | [`netfilter`] | iptables rules, conntrack and NAT: the router's engine |
//! | 6 | [`nft`] | nftables: `nft` commands and files, rulesets, listings, chain evaluation |
//! | 6 | [`bridge`] | the learning bridge node: FDB, STP, VLAN filtering |
//! | 6 | [`host`] | the container host node: smoltcp stacks, programs, command parser |
//! | 7 | [`router`] | the Linux-like router node, IPv4 and IPv6 (it embeds a host's stack for its own sockets) |
//! | 8 | [`docker`] | a Docker host as data, the rules Docker Engine installs, its changes over a lab planned |
//! | 8 | [`tap`] | the TAP edge: the sans-IO `kernel` node, and (Linux only) the IO around it |
//! |   | [`tap::kernel`] | the `kernel` node, sans-IO like every node |
//! |   | [`tap::spec`] | the lab's kernel side, checked: TAPs, addresses, routes, namespace |
//! | 9 | [`scenario`] | lab files: raw serde → checked model → built simulation → run |
//! |   | [`scenario::taps`] | `taps:` and `kernel:` read, and a run attached to the edge |
//! |   | [`scenario::run`] | the runner and its report |
//! |   | [`scenario::session`] | `hoplab shell` without its terminal |
//! |   | [`scenario::grade`] | grading many labs, with answers |
//! | 10 | [`report`] | the run's reports beyond its text: the HTML page of `run --report` |
//! | 11 | [`import`] | `hoplab import`: a real host's dumps made a lab file |
//! | 11 | [`bench`](mod@bench) | `hoplab bench`: figures measured on this machine |
//! | 11 | [`fuzzing`] | the robustness harness of `fuzz/` and `tests/properties.rs` |
//!
//! Below the binary, the simulation reads no wall clock, opens no file but its captures, and
//! spawns no thread but the merged capture's writer (which only moves bytes to its file). IO
//! stays at the edges: `tap` (its devices, rtnetlink, namespaces, kernel-side programs and
//! real-time driver, Linux only; its `kernel` node is sans-IO like every node), the lab file
//! `scenario` loads, the labs `scenario::grade` finds and times, the page `report` writes, and
//! `bench`, which measures wall time and memory. `docs/design-notes.md` says more of each
//! layer.
#![deny(unsafe_code)]

pub mod bench;
pub mod bridge;
pub mod capture;
pub mod docker;
pub mod dropped;
pub mod filter;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod id;
pub mod import;
pub mod link;
pub mod listing;
pub mod netfilter;
pub mod nft;
pub mod rand;
pub mod report;
pub mod router;
pub mod scenario;
pub mod sim;
pub mod tap;
pub mod time;
pub mod wire;

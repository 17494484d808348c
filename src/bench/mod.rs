//! `hoplab bench`: the figures each capability promises, measured on this machine.
//!
//! Each figure is the median of at least five repetitions in this process; `KEY_min` and
//! `KEY_max` give the spread. Fixed parameters are reported under `params`, and a figure that
//! cannot be measured here is listed under `skipped` with the reason. This module measures
//! wall time and memory, so unlike the simulation it reads clocks and `/proc`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant as Wall;

use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol, Ipv4Address, Ipv4Cidr};

use crate::bridge::Bridge;
use crate::capture::{Capture, CaptureMode};
use crate::host::{Host, HostConfig, IfaceConfig};
use crate::id::NodeId;
use crate::link::LinkParams;
use crate::sim::probe::Probe;
use crate::sim::{CmdId, Sim, Stop};
use crate::time::Instant;

pub mod nat;
pub mod route6;
pub mod tap;

const REPS: usize = 5;
const BRIDGE_FRAMES: u64 = if cfg!(test) { 10_000 } else { 2_000_000 };
const TCP_BYTES: u64 = 20_000_000;
const PING_HOSTS: usize = 10_000;
const NAT_FRAMES: u64 = if cfg!(test) { 10_000 } else { 1_000_000 };

/// Every key `hoplab bench` knows, in the order it runs them.
pub const KEYS: &[&str] = &[
    "bridge_mpps",
    "tcp_cable_gbps",
    "tcp_bridge_gbps",
    "tcp_bridge_gbps_captured",
    "ping_all_10k_s",
    "ping_all_10k_rss_mib",
    "ping_all_10k_captured_s",
    "ping_all_10k_captured_rss_mib",
    "nat_mpps",
    "udp_nat_mpps",
    "nft_nat_mpps",
    "forward6_mpps",
    "nat6_mpps",
    "tcp_nat_gbps",
    "tcp_nat_gbps_captured",
    "tcp_nat6_gbps",
    "conntrack_100k_slowdown",
    "tap_ping_rtt_us",
    "tap_tcp_gbps",
];

#[derive(Debug, Default)]
pub struct Results {
    pub figures: BTreeMap<String, f64>,
    pub params: BTreeMap<String, serde_json::Value>,
    pub skipped: BTreeMap<String, String>,
}

impl Results {
    fn record(&mut self, key: &str, mut samples: Vec<f64>) {
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        self.figures.insert(key.to_string(), round(median));
        self.figures.insert(format!("{key}_min"), round(samples[0]));
        self.figures
            .insert(format!("{key}_max"), round(samples[samples.len() - 1]));
    }

    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        for (k, v) in &self.figures {
            map.insert(k.clone(), serde_json::json!(v));
        }
        map.insert("params".into(), serde_json::json!(self.params));
        map.insert("skipped".into(), serde_json::json!(self.skipped));
        serde_json::Value::Object(map).to_string()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for key in KEYS {
            if let Some(v) = self.figures.get(*key) {
                let lo = self
                    .figures
                    .get(&format!("{key}_min"))
                    .copied()
                    .unwrap_or(*v);
                let hi = self
                    .figures
                    .get(&format!("{key}_max"))
                    .copied()
                    .unwrap_or(*v);
                out.push_str(&format!(
                    "{key:<28} {v:>10.3}   (min {lo:.3}, max {hi:.3})\n"
                ));
            }
        }
        for (k, why) in &self.skipped {
            out.push_str(&format!("{k:<28} skipped: {why}\n"));
        }
        for (k, v) in &self.params {
            out.push_str(&format!("param {k} = {v}\n"));
        }
        out
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Runs the benchmarks named in `only` (all when empty); `progress` gets a line per step.
pub fn run(only: &[String], progress: &mut dyn FnMut(String)) -> Result<Results, String> {
    for k in only {
        if !KEYS.contains(&k.as_str()) {
            return Err(format!(
                "unknown benchmark key '{k}' (known: {})",
                KEYS.join(", ")
            ));
        }
    }
    let wants = |k: &str| only.is_empty() || only.iter().any(|o| o == k);
    let mut r = Results::default();
    r.params
        .insert("repetitions".into(), serde_json::json!(REPS));
    if wants("bridge_mpps") {
        r.params
            .insert("bridge_frames".into(), serde_json::json!(BRIDGE_FRAMES));
        r.params
            .insert("bridge_frame_bytes".into(), serde_json::json!(64));
        let s = repeat(progress, "bridge_mpps", bridge_mpps);
        r.record("bridge_mpps", s);
    }
    let tcp_keys = [
        "tcp_cable_gbps",
        "tcp_bridge_gbps",
        "tcp_bridge_gbps_captured",
    ];
    if tcp_keys.iter().any(|k| wants(k)) {
        r.params
            .insert("tcp_transfer_bytes".into(), serde_json::json!(TCP_BYTES));
        r.params.insert("mtu".into(), serde_json::json!(1500));
        r.params.insert(
            "tcp_socket_buffer_bytes".into(),
            serde_json::json!(crate::host::apps::bulk::BULK_BUFFER),
        );
    }
    if wants("tcp_cable_gbps") {
        let s = repeat(progress, "tcp_cable_gbps", || tcp_gbps(false, None));
        r.record("tcp_cable_gbps", s);
    }
    if wants("tcp_bridge_gbps") {
        let s = repeat(progress, "tcp_bridge_gbps", || tcp_gbps(true, None));
        r.record("tcp_bridge_gbps", s);
    }
    if wants("tcp_bridge_gbps_captured") {
        let (dir, place) = capture_dir();
        r.params
            .insert("capture_dir".into(), serde_json::json!(place));
        r.params.insert(
            "capture_mode".into(),
            serde_json::json!("merged (the default: all.pcapng)"),
        );
        let s = repeat(progress, "tcp_bridge_gbps_captured", || {
            in_fresh_dir(&dir, |d| tcp_gbps(true, Some(d)))
        });
        let _ = std::fs::remove_dir_all(&dir);
        r.record("tcp_bridge_gbps_captured", s);
    }
    if wants("ping_all_10k_s") || wants("ping_all_10k_rss_mib") {
        r.params
            .insert("ping_hosts".into(), serde_json::json!(PING_HOSTS));
        let (secs, rss) = ping_all_reps(progress, "ping_all_10k", &mut r, None);
        r.record("ping_all_10k_s", secs);
        r.record("ping_all_10k_rss_mib", rss);
    }
    let captured = ["ping_all_10k_captured_s", "ping_all_10k_captured_rss_mib"];
    if captured.iter().any(|k| wants(k)) {
        let (dir, place) = capture_dir();
        r.params
            .insert("capture_dir".into(), serde_json::json!(place));
        match ping_capture_room(PING_HOSTS, &dir) {
            Err(why) => {
                for k in captured.iter().filter(|k| wants(k)) {
                    r.skipped.insert(k.to_string(), why.clone());
                }
            }
            Ok(()) => {
                let (secs, rss) =
                    ping_all_reps(progress, "ping_all_10k_captured", &mut r, Some(&dir));
                r.record("ping_all_10k_captured_s", secs);
                r.record("ping_all_10k_captured_rss_mib", rss);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if wants("nat_mpps") {
        r.params
            .insert("nat_frames".into(), serde_json::json!(NAT_FRAMES));
        let s = repeat(progress, "nat_mpps", || nat::nat_mpps(NAT_FRAMES));
        r.record("nat_mpps", s);
    }
    if wants("udp_nat_mpps") {
        r.params
            .insert("udp_datagrams".into(), serde_json::json!(NAT_FRAMES));
        r.params
            .insert("udp_payload_bytes".into(), serde_json::json!(64));
        let s = repeat(progress, "udp_nat_mpps", || nat::udp_nat_mpps(NAT_FRAMES));
        r.record("udp_nat_mpps", s);
    }
    if wants("nft_nat_mpps") {
        let s = repeat(progress, "nft_nat_mpps", || nat::nft_nat_mpps(NAT_FRAMES));
        r.record("nft_nat_mpps", s);
    }
    if wants("forward6_mpps") {
        let s = repeat(progress, "forward6_mpps", || {
            route6::forward6_mpps(NAT_FRAMES)
        });
        r.record("forward6_mpps", s);
    }
    if wants("nat6_mpps") {
        let s = repeat(progress, "nat6_mpps", || route6::nat6_mpps(NAT_FRAMES));
        r.record("nat6_mpps", s);
    }
    if wants("tcp_nat_gbps") {
        let s = repeat(progress, "tcp_nat_gbps", || {
            nat::tcp_nat_gbps(TCP_BYTES, None)
        });
        r.record("tcp_nat_gbps", s);
    }
    if wants("tcp_nat_gbps_captured") {
        let (dir, place) = capture_dir();
        r.params
            .insert("capture_dir".into(), serde_json::json!(place));
        let s = repeat(progress, "tcp_nat_gbps_captured", || {
            in_fresh_dir(&dir, |d| nat::tcp_nat_gbps(TCP_BYTES, Some(d)))
        });
        let _ = std::fs::remove_dir_all(&dir);
        r.record("tcp_nat_gbps_captured", s);
    }
    if wants("tcp_nat6_gbps") {
        let s = repeat(progress, "tcp_nat6_gbps", || nat::tcp_nat6_gbps(TCP_BYTES));
        r.record("tcp_nat6_gbps", s);
    }
    if wants("conntrack_100k_slowdown") {
        r.params
            .insert("conntrack_flows".into(), serde_json::json!([10, 100_000]));
        r.params.insert(
            "conntrack_batches".into(),
            serde_json::json!(nat::CONNTRACK_BATCHES),
        );
        let s = repeat(progress, "conntrack_100k_slowdown", || {
            nat::conntrack_slowdown(NAT_FRAMES)
        });
        r.record("conntrack_100k_slowdown", s);
    }
    let tap_keys = ["tap_ping_rtt_us", "tap_tcp_gbps"];
    if tap_keys.iter().any(|k| wants(k)) {
        match tap::unavailable() {
            Some(why) => {
                for k in tap_keys.iter().filter(|k| wants(k)) {
                    r.skipped.insert(k.to_string(), why.clone());
                }
            }
            None => {
                if wants("tap_ping_rtt_us") {
                    r.params
                        .insert("tap_pings".into(), serde_json::json!(tap::PINGS));
                    match repeat_fallible(progress, "tap_ping_rtt_us", tap::ping_rtt_us) {
                        Ok(s) => r.record("tap_ping_rtt_us", s),
                        Err(e) => return Err(format!("tap_ping_rtt_us: {e}")),
                    }
                }
                if wants("tap_tcp_gbps") {
                    r.params.insert(
                        "tap_tcp_body_bytes".into(),
                        serde_json::json!(tap::TCP_BODY_BYTES),
                    );
                    match repeat_fallible(progress, "tap_tcp_gbps", tap::tcp_gbps) {
                        Ok(s) => r.record("tap_tcp_gbps", s),
                        Err(e) => return Err(format!("tap_tcp_gbps: {e}")),
                    }
                }
            }
        }
    }
    Ok(r)
}

/// As `repeat`, for a figure whose measurement can fail (a real kernel takes part).
fn repeat_fallible(
    progress: &mut dyn FnMut(String),
    key: &str,
    mut f: impl FnMut() -> Result<f64, String>,
) -> Result<Vec<f64>, String> {
    let mut samples = Vec::new();
    for i in 0..REPS {
        let v = f()?;
        progress(format!("{key}: run {} of {REPS}: {v:.3}", i + 1));
        samples.push(v);
    }
    Ok(samples)
}

/// Runs `f` with a fresh folder under `dir`, removed after its timing: deleting the previous
/// repetition's files is not part of capturing.
fn in_fresh_dir(dir: &std::path::Path, f: impl FnOnce(&PathBuf) -> f64) -> f64 {
    let fresh = dir.join("rep");
    let _ = std::fs::remove_dir_all(&fresh);
    let _ = std::fs::create_dir_all(&fresh);
    let v = f(&fresh);
    let _ = std::fs::remove_dir_all(&fresh);
    v
}

/// `REPS` ping-all runs (captured into fresh folders under `capture` if given): their wall
/// seconds and peak RSS. The fewest replies a run got goes to `params` (`KEY_replies`).
fn ping_all_reps(
    progress: &mut dyn FnMut(String),
    key: &str,
    r: &mut Results,
    capture: Option<&PathBuf>,
) -> (Vec<f64>, Vec<f64>) {
    let mut secs = Vec::new();
    let mut rss = Vec::new();
    let mut fewest = u64::MAX;
    for i in 0..REPS {
        let p = match capture {
            Some(dir) => {
                let mut p = PingAll::default();
                in_fresh_dir(dir, |d| {
                    p = ping_all(PING_HOSTS, Some(d));
                    0.0
                });
                p
            }
            None => ping_all(PING_HOSTS, None),
        };
        progress(format!(
            "{key}: run {} of {REPS}: {:.3} s, peak {:.1} MiB, {} replies",
            i + 1,
            p.secs,
            p.peak_rss_mib,
            p.replies
        ));
        secs.push(p.secs);
        rss.push(p.peak_rss_mib);
        fewest = fewest.min(p.replies);
    }
    r.params
        .insert(format!("{key}_replies"), serde_json::json!(fewest));
    (secs, rss)
}

/// Whether a captured ping-all of `n` hosts fits: every host's ARP request is flooded to every
/// port, so the merged file holds about 2·n² frames (each copy leaving the bridge and reaching
/// a host), some 100 bytes each. It must fit in a quarter of the available memory (the
/// folder is usually a tmpfs).
fn ping_capture_room(n: usize, dir: &std::path::Path) -> Result<(), String> {
    let need = 2 * (n as u64).pow(2) * 100;
    let avail = free_bytes(dir).unwrap_or(0);
    if need > avail / 4 {
        return Err(format!(
            "the capture of {n} hosts pinging would hold about {} MiB ({n}² flooded ARP copies at both ends of a hop), more than a quarter of the {} MiB of memory available",
            need >> 20,
            avail >> 20
        ));
    }
    Ok(())
}

fn repeat(progress: &mut dyn FnMut(String), key: &str, mut f: impl FnMut() -> f64) -> Vec<f64> {
    (0..REPS)
        .map(|i| {
            let v = f();
            progress(format!("{key}: run {} of {REPS}: {v:.3}", i + 1));
            v
        })
        .collect()
}

fn frame(src: EthernetAddress, dst: EthernetAddress, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    f.set_src_addr(src);
    f.set_dst_addr(dst);
    f.set_ethertype(EthernetProtocol::Ipv4);
    buf
}

/// A source and a sink on two learned ports of a bridge; the source sends back to back.
/// Returns millions of frames forwarded per wall second.
pub fn bridge_mpps() -> f64 {
    bridge_mpps_frames(BRIDGE_FRAMES)
}

/// `bridge_mpps` with `frames` frames (`examples/hotpath.rs` runs a few under callgrind).
pub fn bridge_mpps_frames(frames: u64) -> f64 {
    let (a, b) = (
        EthernetAddress([2, 0, 0, 0, 0, 1]),
        EthernetAddress([2, 0, 0, 0, 0, 2]),
    );
    let mut sim = Sim::new(1);
    let (bridge, names) = Bridge::numbered("br0", "veth", 2);
    let br = sim.add_node(Box::new(bridge), &names);
    let src = sim.add_node(Box::new(Probe::new("src", false)), &["eth0".into()]);
    let dst = sim.add_node(Box::new(Probe::new("dst", false)), &["eth0".into()]);
    // Zero delay: a burst is delivered before the source's next wake-up (same instant, later
    // sequence), so 64 frames are in flight rather than all of them.
    let p = LinkParams {
        delay: crate::time::Duration::ZERO,
        ..LinkParams::default()
    };
    let _ = sim.connect(sim.port(src, 0), sim.port(br, 0), p.clone());
    let _ = sim.connect(sim.port(dst, 0), sim.port(br, 1), p);
    // The sink speaks once so the bridge learns it; then the source floods nothing.
    sim.update::<Probe, _>(dst, |d| d.send_at(Instant::ZERO, 0, frame(b, a, 64)));
    sim.run_until(Instant::ZERO);
    sim.update::<Probe, _>(src, |s| s.blast(frame(a, b, 64), frames, 64));
    let t = Wall::now();
    while sim.step() {}
    let secs = t.elapsed().as_secs_f64();
    let got = sim.node_as::<Probe>(dst).map_or(0, |d| d.count);
    let forwarded = sim
        .node_as::<Bridge>(br)
        .map_or(0, |b| b.counters.forwarded);
    debug_assert!(forwarded >= frames, "the sink must be learned: {forwarded}");
    got as f64 / secs / 1e6
}

fn host(name: &str, ip: [u8; 4], mac: u8, seed: u64) -> Host {
    Host::new(
        HostConfig {
            name: name.into(),
            ifaces: vec![IfaceConfig {
                name: "eth0".into(),
                mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
                cidr: Some(Ipv4Cidr::new(Ipv4Address::from_octets(ip), 24)),
                mtu: 1500,
                ipv6: None,
            }],
            gateway: None,
            announce: 0,
        },
        seed,
    )
}

/// Virtual time a benchmark's command may take: past it, the run is a failure, not a hang.
const VIRTUAL_LIMIT: crate::time::Duration = crate::time::Duration::from_secs(600);

pub(crate) fn wait_for(sim: &mut Sim, id: CmdId) -> Option<crate::sim::CmdResult> {
    let limit = sim.now() + VIRTUAL_LIMIT;
    loop {
        match sim.run_until(limit) {
            Stop::CommandDone => {
                if let Some((_, r)) = sim.take_finished().into_iter().find(|(i, _)| *i == id) {
                    return Some(r);
                }
            }
            _ => return None,
        }
    }
}

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// A 20 MB bulk transfer between two hosts, on a cable or through a bridge, optionally
/// capturing into `capture` as a run does by default (`all.pcapng`). Returns simulated payload Gbit/s per wall second.
pub fn tcp_gbps(bridged: bool, capture: Option<&PathBuf>) -> f64 {
    let mut sim = Sim::new(1);
    let a = sim.add_node(Box::new(host("a", [10, 0, 0, 1], 1, 1)), &["eth0".into()]);
    let b = sim.add_node(Box::new(host("b", [10, 0, 0, 2], 2, 1)), &["eth0".into()]);
    let p = LinkParams::default();
    if bridged {
        let (bridge, names) = Bridge::numbered("br0", "veth", 2);
        let br = sim.add_node(Box::new(bridge), &names);
        let _ = sim.connect(sim.port(a, 0), sim.port(br, 0), p.clone());
        let _ = sim.connect(sim.port(b, 0), sim.port(br, 1), p);
    } else {
        let _ = sim.connect(sim.port(a, 0), sim.port(b, 0), p);
    }
    let t = Wall::now();
    if let Some(dir) = capture {
        match Capture::create(CaptureMode::default(), dir) {
            Ok(c) => sim.attach_capture(c),
            Err(e) => {
                log::warn!("bench capture: {e}");
            }
        }
    }
    let _ = sim.start_command(b, CmdId(0), &argv("bulk-recv 40000"), "");
    let _ = sim.start_command(
        a,
        CmdId(1),
        &argv(&format!("bulk-send 10.0.0.2 40000 {TCP_BYTES}")),
        "",
    );
    let r = wait_for(&mut sim, CmdId(1));
    if let Some(mut c) = sim.take_capture() {
        let _ = c.finish();
    }
    let secs = t.elapsed().as_secs_f64();
    if r.is_none_or(|r| r.exit_code != 0) {
        return 0.0;
    }
    TCP_BYTES as f64 * 8.0 / secs / 1e9
}

fn capture_dir() -> (PathBuf, String) {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() && free_bytes(&shm).is_none_or(|f| f > 1 << 30) {
        shm
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("hoplab-bench-{}", std::process::id()));
    let place = base.display().to_string();
    (dir, place)
}

fn free_bytes(_path: &std::path::Path) -> Option<u64> {
    // /dev/shm is a tmpfs sized to half the memory by default; trust it unless it is tiny.
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A `/proc/self/status` figure in MiB (`VmRSS`, `VmHWM`).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Resets the process's peak RSS to its current RSS (Linux: `clear_refs` 5), so `VmHWM` is
/// the peak of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What one ping-all run measured.
#[derive(Debug, Default)]
pub struct PingAll {
    /// Wall seconds from building the lab until every ping finished.
    pub secs: f64,
    /// Peak resident memory during the run (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
    /// Echo replies received, of one per host.
    pub replies: u64,
}

/// `n` hosts on one bridge; host i pings host i+1 once, optionally capturing as a run does
/// by default (`all.pcapng` in `capture`).
pub fn ping_all(n: usize, capture: Option<&PathBuf>) -> PingAll {
    reset_peak_rss();
    let t = Wall::now();
    let mut sim = Sim::new(1);
    let (bridge, names) = Bridge::numbered("br0", "veth", n);
    let br = sim.add_node(Box::new(bridge), &names);
    // Host i is 10.x.y.z for i + 1, in one /8: no two hosts share an address for n < 2^24.
    let ip = |i: usize| {
        let a = i + 1;
        [10, (a >> 16) as u8, (a >> 8) as u8, a as u8]
    };
    let mut hosts: Vec<NodeId> = Vec::with_capacity(n);
    for i in 0..n {
        let cfg = HostConfig {
            name: format!("c{i}"),
            ifaces: vec![IfaceConfig {
                name: "eth0".into(),
                mac: EthernetAddress([2, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
                cidr: Some(Ipv4Cidr::new(Ipv4Address::from_octets(ip(i)), 8)),
                mtu: 1500,
                ipv6: None,
            }],
            gateway: None,
            announce: 0,
        };
        let id = sim.add_node(Box::new(Host::new(cfg, 1 + i as u64)), &["eth0".into()]);
        let _ = sim.connect(
            sim.port(id, 0),
            sim.port(br, i as u16),
            LinkParams::default(),
        );
        hosts.push(id);
    }
    if let Some(dir) = capture {
        match Capture::create(CaptureMode::default(), dir) {
            Ok(c) => sim.attach_capture(c),
            Err(e) => log::warn!("bench capture: {e}"),
        }
    }
    for (i, &h) in hosts.iter().enumerate() {
        let d = ip((i + 1) % n);
        let cmd = format!("ping -c 1 -W 2 {}.{}.{}.{}", d[0], d[1], d[2], d[3]);
        let _ = sim.start_command(h, CmdId(i as u32), &argv(&cmd), "");
    }
    let (mut done, mut replies) = (0, 0);
    while done < n {
        match sim.run_until(Instant::ZERO + VIRTUAL_LIMIT) {
            Stop::CommandDone => {
                for (_, r) in sim.take_finished() {
                    done += 1;
                    replies += r.received.unwrap_or(0);
                }
            }
            _ => break,
        }
    }
    if let Some(mut c) = sim.take_capture() {
        let _ = c.finish();
    }
    let secs = t.elapsed().as_secs_f64();
    let peak = status_mib("VmHWM:");
    drop(sim);
    PingAll {
        secs,
        peak_rss_mib: peak,
        replies,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bridge_bench_forwards() {
        assert!(super::bridge_mpps() > 0.0);
    }

    #[test]
    fn every_ping_of_ping_all_is_answered() {
        // Past 255 hosts, where the addresses once wrapped onto each other.
        let p = super::ping_all(300, None);
        assert_eq!(p.replies, 300);
        assert!(p.peak_rss_mib > 0.0);
        let dir = tempfile::tempdir().unwrap();
        let p = super::ping_all(40, Some(&dir.path().to_path_buf()));
        assert_eq!(p.replies, 40);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["all.pcapng"]);
    }
}

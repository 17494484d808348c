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
    "nat_mpps",
    "udp_nat_mpps",
    "tcp_nat_gbps",
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
        // Each repetition writes into a fresh folder, removed after its timing: deleting the
        // previous repetition's files is not part of capturing.
        let mut rep = 0;
        let s = repeat(progress, "tcp_bridge_gbps_captured", || {
            rep += 1;
            let fresh = dir.join(format!("rep{rep}"));
            let _ = std::fs::create_dir_all(&fresh);
            let v = tcp_gbps(true, Some(&fresh));
            let _ = std::fs::remove_dir_all(&fresh);
            v
        });
        let _ = std::fs::remove_dir_all(&dir);
        r.record("tcp_bridge_gbps_captured", s);
    }
    if wants("ping_all_10k_s") || wants("ping_all_10k_rss_mib") {
        r.params
            .insert("ping_hosts".into(), serde_json::json!(PING_HOSTS));
        let mut secs = Vec::new();
        let mut rss = Vec::new();
        for i in 0..REPS {
            let (s, m) = ping_all(PING_HOSTS);
            progress(format!(
                "ping_all_10k: run {} of {REPS}: {s:.3} s, {m:.1} MiB",
                i + 1
            ));
            secs.push(s);
            rss.push(m);
        }
        r.record("ping_all_10k_s", secs);
        r.record("ping_all_10k_rss_mib", rss);
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
    if wants("tcp_nat_gbps") {
        let s = repeat(progress, "tcp_nat_gbps", || nat::tcp_nat_gbps(TCP_BYTES));
        r.record("tcp_nat_gbps", s);
    }
    if wants("conntrack_100k_slowdown") {
        r.params
            .insert("conntrack_flows".into(), serde_json::json!([10, 100_000]));
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
    sim.update::<Probe, _>(src, |s| s.blast(frame(a, b, 64), BRIDGE_FRAMES, 64));
    let t = Wall::now();
    while sim.step() {}
    let secs = t.elapsed().as_secs_f64();
    let got = sim.node_as::<Probe>(dst).map_or(0, |d| d.count);
    let forwarded = sim
        .node_as::<Bridge>(br)
        .map_or(0, |b| b.counters.forwarded);
    debug_assert!(
        forwarded >= BRIDGE_FRAMES,
        "the sink must be learned: {forwarded}"
    );
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
/// capturing the hop pcaps into `capture`. Returns simulated payload Gbit/s per wall second.
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
        match Capture::create(CaptureMode::Split, dir) {
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

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `n` hosts on one bridge; host i pings host i+1 once. Returns (wall seconds, RSS MiB
/// at the end, with every host and its state still alive).
pub fn ping_all(n: usize) -> (f64, f64) {
    let t = Wall::now();
    let mut sim = Sim::new(1);
    let (bridge, names) = Bridge::numbered("br0", "veth", n);
    let br = sim.add_node(Box::new(bridge), &names);
    let ip = |i: usize| [10, (i >> 16) as u8, (i >> 8) as u8, i as u8 + 1];
    let mut hosts: Vec<NodeId> = Vec::with_capacity(n);
    for i in 0..n {
        // Per-host MAC and /8 address, so ten thousand fit one subnet.
        let cfg = HostConfig {
            name: format!("c{i}"),
            ifaces: vec![IfaceConfig {
                name: "eth0".into(),
                mac: EthernetAddress([2, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
                cidr: Some(Ipv4Cidr::new(Ipv4Address::from_octets(ip(i)), 8)),
                mtu: 1500,
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
    for (i, &h) in hosts.iter().enumerate() {
        let d = ip((i + 1) % n);
        let cmd = format!("ping -c 1 -W 2 {}.{}.{}.{}", d[0], d[1], d[2], d[3]);
        let _ = sim.start_command(h, CmdId(i as u32), &argv(&cmd), "");
    }
    let mut done = 0;
    while done < n {
        match sim.run_until(Instant::ZERO + VIRTUAL_LIMIT) {
            Stop::CommandDone => done += sim.take_finished().len(),
            _ => break,
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rss = rss_mib();
    drop(sim);
    (secs, rss)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bridge_bench_forwards() {
        assert!(super::bridge_mpps() > 0.0);
    }
}

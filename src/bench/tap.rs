//! The TAP edge's figures: the kernel's ping round trip to a container through the lab's
//! bridge, and the kernel's curl of a large body from a container through DNAT. Both run a
//! real lab in real time, so they need CAP_NET_ADMIN; without it they are skipped.

use crate::scenario::run::{RunOptions, Runner};
use crate::scenario::{self, Lab};

/// The body `tap_tcp_gbps` downloads.
pub const TCP_BODY_BYTES: u64 = 100_000_000;
/// Echo requests per `tap_ping_rtt_us` repetition.
pub const PINGS: u32 = 200;

/// Why the TAP benchmarks cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("TAP devices are Linux-only".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    #[cfg(target_os = "linux")]
    if !crate::tap::setup::has_net_admin() {
        return Some("needs CAP_NET_ADMIN (run as root)".into());
    }
    None
}

/// A namespace name of this process's own, so a bench never meets a running lab's.
fn netns(what: &str) -> String {
    format!("hlb-{what}-{}", std::process::id() % 100_000)
}

fn ping_lab(ns: &str) -> String {
    format!(
        "version: 1
name: bench-tap-ping
captures: none
duration: 30s
settle: 100ms
bridges: [{{name: br0, ports: [p1]}}]
hosts:
  - {{name: c1, interfaces: {{eth0: 10.89.0.2/24}}}}
links: [[c1:eth0, br0:p1]]
kernel: {{netns: {ns}}}
taps:
  - {{name: hl-bench0, plug: br0:tap, ip: 10.89.0.1/24}}
steps:
  - {{on: kernel, run: ping -c 3 -W 2 10.89.0.2}}
  - {{on: kernel, run: ping -c {PINGS} -i 0.002 -W 2 10.89.0.2}}
"
    )
}

fn tcp_lab(ns: &str) -> String {
    format!(
        "version: 1
name: bench-tap-tcp
captures: none
duration: 120s
settle: 100ms
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24}}
  containers:
    - {{name: web, publish: [\"8080:80\"], run: http-server 80}}
kernel: {{netns: {ns}}}
taps:
  - {{name: hl-bench1, plug: \"dockerhost:eth0\", ip: 192.0.2.1/24}}
steps:
  - at: 200ms
    on: kernel
    run: curl -s -o /dev/null -w \"%{{size_download}} %{{time_total}}\" http://192.0.2.10:8080/bytes/{TCP_BODY_BYTES}
"
    )
}

/// Runs `text` in real time to the end of its steps; the last step's output.
fn run_lab(text: &str) -> Result<String, String> {
    let lab: Lab = scenario::parse(text, "bench").map_err(|e| e.to_string())?;
    let opts = RunOptions {
        out_dir: None,
        seed: None,
        capture: None,
        interrupt: None,
        merged_to: None,
        max_capture_bytes: 0,
        snaplen: None,
    };
    let mut runner = Runner::new(&lab, &opts)?;
    crate::scenario::taps::attach(
        &mut runner,
        &lab,
        crate::tap::SetupOptions::default(),
        &mut |_| {},
    )?;
    runner.end_after_steps();
    let report = runner.run();
    let last = report
        .steps
        .last()
        .and_then(|s| s.result.clone())
        .ok_or("the benchmark lab ran no step")?;
    if last.exit_code != 0 {
        return Err(format!(
            "the kernel's command failed ({}): {}",
            last.exit_code, last.output
        ));
    }
    Ok(last.output)
}

/// The median round-trip time, in microseconds, of the kernel's pings to a container
/// across the lab's bridge.
pub fn ping_rtt_us() -> Result<f64, String> {
    let out = run_lab(&ping_lab(&netns("ping")))?;
    let mut rtts: Vec<f64> = out
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map(|ms| ms * 1000.0)
        .collect();
    if rtts.is_empty() {
        return Err(format!("ping printed no round-trip times: {out}"));
    }
    rtts.sort_by(f64::total_cmp);
    Ok(rtts[rtts.len() / 2])
}

/// Gbit/s of payload the kernel's curl downloaded from a container's http-server through
/// the Docker host's DNAT, per wall second.
pub fn tcp_gbps() -> Result<f64, String> {
    let out = run_lab(&tcp_lab(&netns("tcp")))?;
    let mut words = out.split_whitespace();
    let (Some(bytes), Some(secs)) = (words.next(), words.next()) else {
        return Err(format!("curl printed no size and time: {out}"));
    };
    let bytes: f64 = bytes.parse().map_err(|_| format!("curl: {out}"))?;
    let secs: f64 = secs.parse().map_err(|_| format!("curl: {out}"))?;
    if bytes < TCP_BODY_BYTES as f64 || secs <= 0.0 {
        return Err(format!("curl downloaded {bytes} bytes in {secs} s"));
    }
    Ok(bytes * 8.0 / secs / 1e9)
}

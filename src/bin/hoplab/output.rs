//! The human-readable run report.

use std::path::Path;

use hoplab::scenario::Lab;
use hoplab::scenario::run::{Check, RunReport};

fn check_line(c: &Check) -> String {
    let mark = if c.pass { "ok  " } else { "FAIL" };
    if c.expected == "yes" {
        format!("  {mark} {}", c.what)
    } else {
        format!(
            "  {mark} {}: {} (expected {})",
            c.what, c.actual, c.expected
        )
    }
}

pub fn print_report(lab: &Lab, file: &Path, r: &RunReport, wall: std::time::Duration) {
    println!(
        "hoplab: lab '{}' ({}), seed {}",
        lab.name,
        file.display(),
        r.seed
    );
    for line in lab.about.trim_end().lines() {
        println!("  {line}");
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    for s in &r.steps {
        println!();
        let who = s.on.as_deref().unwrap_or("lab");
        let bg = if s.background { " &" } else { "" };
        println!("[{:>10.6}s] {who}$ {}{bg}", s.at, s.command);
        if let Some(res) = &s.result {
            print!("{}", res.output);
            if !res.output.is_empty() && !res.output.ends_with('\n') {
                println!();
            }
            if res.stopped && !s.background {
                println!("  (stopped at its timeout)");
            }
        }
        if let Some(l) = &s.listing {
            print!("{l}");
        }
        for c in &s.checks {
            println!("{}", check_line(c));
        }
    }
    if !r.kernel_log.is_empty() {
        println!();
        println!("Kernel log (LOG rules):");
        for l in &r.kernel_log {
            println!("  {}: {}", l.node, l.line);
        }
    }
    if !r.expectations.is_empty() {
        println!();
        println!("Capture expectations:");
        for c in &r.expectations {
            println!("{}", check_line(c));
        }
    }
    if !r.files.is_empty() {
        println!();
        println!("Captures written:");
        for f in &r.files {
            println!("  {} ({} frames)", f.path.display(), f.frames);
        }
    }
    let total = r.steps.iter().map(|s| s.checks.len()).sum::<usize>() + r.expectations.len();
    let passed = r
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .chain(&r.expectations)
        .filter(|c| c.pass)
        .count();
    println!();
    println!(
        "{}: {passed}/{total} expectations held; {:.6} s virtual, {:.3} s wall, {} frames delivered",
        if r.passed { "PASS" } else { "FAIL" },
        r.virtual_time,
        wall.as_secs_f64(),
        r.stats.frames_delivered
    );
}

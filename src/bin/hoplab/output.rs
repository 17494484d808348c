//! The human-readable run report.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use hoplab::scenario::Lab;
use hoplab::scenario::grade::{Outcome, TestReport};
use hoplab::scenario::run::{Check, RunReport, StepReport};

/// The text report goes to standard error while standard output carries the live pcapng
/// (`--pcapng -`).
static TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends the text report to standard error from now on.
pub fn to_stderr() {
    TO_STDERR.store(true, Ordering::Relaxed);
}

pub fn on_stderr() -> bool {
    TO_STDERR.load(Ordering::Relaxed)
}

/// `println!` to where the text report goes.
macro_rules! say {
    ($($t:tt)*) => {
        if $crate::output::on_stderr() { eprintln!($($t)*) } else { println!($($t)*) }
    };
}

/// `print!` to where the text report goes.
macro_rules! say_more {
    ($($t:tt)*) => {
        if $crate::output::on_stderr() { eprint!($($t)*) } else { print!($($t)*) }
    };
}

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
    print_header(lab, file, r.seed, &r.warnings);
    for s in &r.steps {
        print_step(s, &r.steps);
    }
    print_tail(r, wall);
}

/// The lab's name, file, seed, `about` and warnings.
pub fn print_header(lab: &Lab, file: &Path, seed: u64, warnings: &[String]) {
    say!(
        "hoplab: lab '{}' ({}), seed {seed}",
        lab.name,
        file.display()
    );
    for line in lab.about.trim_end().lines() {
        say!("  {line}");
    }
    for w in warnings {
        say!("warning: {w}");
    }
}

/// One step: its command, output or listing, and checks. `all` are the run's steps (an
/// exercise step says whether answers follow it).
pub fn print_step(s: &StepReport, r_steps: &[StepReport]) {
    {
        say!();
        let who = s.on.as_deref().unwrap_or("lab");
        let bg = if s.background { " &" } else { "" };
        if s.kind == "exercise" {
            say!("[{:>10.6}s] {who}: {}", s.at, s.command);
            for line in s.prompt.as_deref().unwrap_or("").trim_end().lines() {
                say!("  {line}");
            }
            // Whether answers follow shows in the next steps; say how to give them.
            let answered = r_steps
                .iter()
                .any(|a| a.kind == "run" && a.index == s.index && a.exercise == s.exercise);
            if !answered {
                say!("  (your commands go here: hoplab test FILE --answers ANSWERS.yaml)");
            }
            return;
        }
        say!("[{:>10.6}s] {who}$ {}{bg}", s.at, s.command);
        if let Some(res) = &s.result {
            say_more!("{}", res.output);
            if !res.output.is_empty() && !res.output.ends_with('\n') {
                say!();
            }
            if res.stopped && !s.background {
                say!("  (stopped at its timeout)");
            }
        }
        if let Some(l) = &s.listing {
            say_more!("{l}");
        }
        for c in &s.checks {
            say!("{}", check_line(c));
        }
    }
}

/// What follows the steps: the kernel log, capture expectations, files and the verdict.
pub fn print_tail(r: &RunReport, wall: std::time::Duration) {
    if let Some(t) = &r.tap {
        say!();
        say!(
            "TAPs (real time: {:.3} s wall, lag max {:.3} ms):",
            t.wall_seconds,
            t.lag_max_ms
        );
        for tap in &t.taps {
            let mut line = format!(
                "  {} (plugged into {}): {} frames from the kernel, {} to it",
                tap.name, tap.plug, tap.from_kernel, tap.to_kernel
            );
            if tap.refused.total() > 0 {
                line.push_str(&format!("; refused {}", tap.refused.describe()));
            }
            if tap.queue_dropped > 0 {
                line.push_str(&format!("; {} dropped at a full queue", tap.queue_dropped));
            }
            say!("{line}");
        }
    }
    if !r.kernel_log.is_empty() {
        say!();
        say!("Kernel log (LOG rules):");
        for l in &r.kernel_log {
            say!("  {}: {}", l.node, l.line);
        }
    }
    if !r.expectations.is_empty() {
        say!();
        say!("Capture expectations:");
        for c in &r.expectations {
            say!("{}", check_line(c));
        }
    }
    if !r.files.is_empty() {
        say!();
        say!("Captures written:");
        for f in &r.files {
            let path = match f.path.as_os_str() == "-" {
                true => "standard output".to_string(),
                false => f.path.display().to_string(),
            };
            say!("  {path} ({} frames)", f.frames);
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
    say!();
    if let Some(why) = &r.halted {
        say!("STOPPED: {why}");
        say!();
    }
    say!(
        "{}: {passed}/{total} expectations held; {:.6} s virtual, {:.3} s wall, {} frames delivered",
        // An interrupted lab did not run to its end: what held so far proves nothing yet.
        match (r.interrupted, r.passed, r.halted.is_some()) {
            (true, _, _) => "INTERRUPTED",
            // A lab that storms on purpose passes when the guard stopped it.
            (false, true, _) => "PASS",
            (false, false, true) => "STOPPED",
            (false, false, false) => "FAIL",
        },
        r.virtual_time,
        wall.as_secs_f64(),
        r.stats.frames_delivered
    );
}

/// Rows of text in columns as wide as their widest cell, two spaces apart; columns marked in
/// `right` (numbers) are aligned right, the others left.
pub fn print_columns<const N: usize>(rows: &[[String; N]], right: [bool; N]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if right[i] {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        say!("{}", line.trim_end());
    }
}

/// `hoplab test`'s table: a row per lab, then why each lab that did not pass did not.
pub fn print_test_table(report: &TestReport) {
    let secs = |v: f64, run: bool| match run {
        true => format!("{v:.3}s"),
        false => "-".into(),
    };
    let mut rows = vec![[
        "lab".to_string(),
        "passed".into(),
        "failed".into(),
        "virtual".into(),
        "wall".into(),
        "result".into(),
    ]];
    for l in &report.labs {
        let ran = l.report.is_some();
        let count = |n: usize| match ran {
            true => n.to_string(),
            false => "-".into(),
        };
        rows.push([
            l.file.clone(),
            count(l.passed),
            count(l.failed),
            secs(l.virtual_time, ran),
            secs(l.wall_time, ran),
            l.result.to_string(),
        ]);
    }
    print_columns(&rows, [false, true, true, true, true, false]);
    for l in report.labs.iter().filter(|l| l.result != Outcome::Pass) {
        say!();
        say!("{}: {}", l.file, l.result);
        for why in l.reason.iter().chain(&l.error) {
            for line in why.lines() {
                say!("  {line}");
            }
        }
        for f in &l.failures {
            say!("  FAIL {f}");
        }
        for ex in l.exercises.iter().filter(|e| e.result != Outcome::Pass) {
            for c in ex.commands.iter().filter(|c| c.exit_code != 0) {
                say!(
                    "  exercise {}: {}$ {}: exit code {}",
                    ex.id,
                    ex.on,
                    c.command,
                    c.exit_code
                );
            }
        }
    }
    say!();
    let n = report.labs.len();
    say!(
        "{n} {}: {} passed, {} failed, {} skipped, {} errors",
        if n == 1 { "lab" } else { "labs" },
        report.passed,
        report.failed,
        report.skipped,
        report.errors
    );
}

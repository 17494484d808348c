//! The human-readable run report.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
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

/// What went wrong writing standard output, kept for the exit code: `println!` would panic
/// ("failed printing to stdout") on a closed pipe or a full disk.
static STDOUT_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Writes to standard output as Unix tools do: once a write fails, nothing more is written.
/// A closed pipe (`hoplab list | head -1`) ends the output quietly; any other error (a full
/// disk) is reported by `finish` and makes the exit code a failure.
pub fn stdout_fmt(args: fmt::Arguments) {
    let mut error = STDOUT_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    if error.is_none()
        && let Err(e) = io::stdout().lock().write_fmt(args)
    {
        *error = Some(e);
    }
}

/// Writes to standard error; a failure there has nowhere to be reported, so it is ignored.
pub fn stderr_fmt(args: fmt::Arguments) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `println!` that never panics (see `stdout_fmt`).
macro_rules! outln {
    () => { $crate::output::stdout_fmt(format_args!("\n")) };
    ($($t:tt)*) => { $crate::output::stdout_fmt(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($t:tt)*) => { $crate::output::stdout_fmt(format_args!($($t)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::output::stderr_fmt(format_args!("\n")) };
    ($($t:tt)*) => { $crate::output::stderr_fmt(format_args!("{}\n", format_args!($($t)*))) };
}

/// `println!` to where the text report goes.
macro_rules! say {
    ($($t:tt)*) => {
        if $crate::output::on_stderr() { errln!($($t)*) } else { outln!($($t)*) }
    };
}

/// `print!` to where the text report goes.
macro_rules! say_more {
    ($($t:tt)*) => {
        if $crate::output::on_stderr() {
            $crate::output::stderr_fmt(format_args!($($t)*))
        } else {
            out!($($t)*)
        }
    };
}

/// The exit code once everything is written: standard output is flushed, and an error
/// writing it (other than a closed pipe, which is how a reader says it has seen enough)
/// is reported and turns `code` into 2 unless it already says the run was interrupted.
pub fn finish(code: ExitCode) -> ExitCode {
    let flushed = io::stdout().lock().flush();
    let mut error = STDOUT_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    if error.is_none()
        && let Err(e) = flushed
    {
        *error = Some(e);
    }
    match error.take() {
        Some(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            errln!("hoplab: cannot write to standard output: {e}");
            match code == ExitCode::from(130) || code == ExitCode::from(143) {
                true => code,
                false => ExitCode::from(2),
            }
        }
        _ => code,
    }
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
        // A named step shows its name first, as graders and `during:` refer to it.
        let who = match (&s.name, s.on.as_deref().unwrap_or("lab")) {
            (Some(name), on) => format!("{name}: {on}"),
            (None, on) => on.to_string(),
        };
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
    for c in r.conntrack.iter().filter(|c| c.table_full_drops > 0) {
        say!();
        say!(
            "Conntrack: {}: {} new flows dropped, the table full (nf_conntrack_max {}); dmesg says \"nf_conntrack: table full, dropping packet\"",
            c.node,
            c.table_full_drops,
            c.max
        );
    }
    if !r.kernel_log.is_empty() {
        say!();
        say!("Kernel log (dmesg):");
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
            let path = capture_path(&f.path);
            match f.complete {
                true => say!("  {path} ({} frames)", f.frames),
                false => say!("  {path} (INCOMPLETE: cut short by a write error)"),
            }
        }
    }
    if let Some(f) = &r.capture_failure {
        say!();
        say!("{}", capture_failure_text(f));
    }
    let total = r.steps.iter().map(|s| s.checks.len()).sum::<usize>() + r.expectations.len();
    let passed = r
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .chain(&r.expectations)
        .filter(|c| c.pass)
        .count();
    if total == 0 {
        say!();
        say!("This lab has no expectations: it ran, but it checked nothing.");
    }
    say!();
    if let Some(why) = &r.halted {
        say!("STOPPED: {why}");
        say!();
    }
    say!(
        "{}: {passed}/{total} expectations held; {:.6} s virtual, {:.3} s wall, {} frames delivered",
        // An interrupted lab did not run to its end: what held so far proves nothing yet.
        match (
            r.interrupted,
            r.capture_failure.is_some(),
            r.passed,
            r.halted.is_some()
        ) {
            (true, _, _, _) => "INTERRUPTED",
            (false, true, _, _) => "ERROR",
            // A lab that storms on purpose passes when the guard stopped it.
            (false, false, true, _) => "PASS",
            (false, false, false, true) => "STOPPED",
            (false, false, false, false) => "FAIL",
        },
        r.virtual_time,
        wall.as_secs_f64(),
        r.stats.frames_delivered
    );
}

/// A capture file's path as the report names it: `-` is standard output.
fn capture_path(path: &Path) -> String {
    match path.as_os_str() == "-" {
        true => "standard output".to_string(),
        false => path.display().to_string(),
    }
}

/// The line that says a capture file could not be written, and what that means for the rest.
pub fn capture_failure_text(f: &hoplab::capture::CaptureFailure) -> String {
    let when = f
        .at_seconds
        .map(|t| format!(" at {t:.6} s"))
        .unwrap_or_default();
    let path = capture_path(&f.path);
    format!(
        "Captures failed{when}: {path}: {}; that file is cut short and the others stop there",
        f.error
    )
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

//! `hoplab run FILE --step`: the lab pauses after each step. At the prompt: Enter goes on to
//! the end of the next step, `frame` to the next frame (anywhere, mid-step too), `show NODE
//! LISTING` prints a listing as it is now, `frames` lists the frames since the last pause,
//! `back` reruns the lab (deterministically) to the step before, `quit` ends it. Standard
//! input at its end goes on to the lab's end.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use hoplab::listing::iproute::split_words;
use hoplab::scenario::run::{Resume, RunOptions, Runner, StepReport};
use hoplab::sim::Sim;

use crate::output;

/// What the user asked at a pause.
enum Reply {
    Next,
    Frame,
    Back,
    Quit,
}

const HELP: &str =
    "Enter: next step | frame: next frame | show NODE LISTING | frames | back | quit | help";

pub fn run_stepwise(
    file: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    capture: Option<String>,
) -> ExitCode {
    let lab = match crate::load(&file) {
        Ok(l) => l,
        Err(c) => return c,
    };
    if let Err(c) = crate::virtual_only(&lab, "--step pauses a lab") {
        return c;
    }
    let capture = match crate::capture_mode(capture.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = RunOptions {
        out_dir: out,
        seed,
        capture,
        interrupt: None,
        merged_to: None,
        max_capture_bytes: hoplab::scenario::run::DEFAULT_MAX_CAPTURE_BYTES,
        snaplen: None,
    };
    let total = lab.steps.len();
    // Steps a rerun passes without pausing (after `back`).
    let mut replay = 0usize;
    let mut header = true;
    loop {
        let mut runner = match Runner::new(&lab, &opts) {
            Ok(r) => r,
            Err(e) => {
                errln!("hoplab: {e}");
                return ExitCode::from(2);
            }
        };
        runner.sim.set_frame_log();
        if header {
            output::print_header(&lab, &file, seed.unwrap_or(lab.seed), &lab.warnings);
            header = false;
        }
        let back_to: Rc<Cell<Option<usize>>> = Rc::new(Cell::new(None));
        let quit = Rc::new(Cell::new(false));
        let seen_frames = Rc::new(Cell::new(0usize));
        let shown: Rc<RefCell<Vec<StepReport>>> = Rc::new(RefCell::new(Vec::new()));
        {
            let (back_to, quit, seen_frames, shown) = (
                back_to.clone(),
                quit.clone(),
                seen_frames.clone(),
                shown.clone(),
            );
            runner.set_pause(Box::new(move |sim: &mut Sim, step: &[StepReport]| {
                shown.borrow_mut().extend(step.iter().cloned());
                let last_done = shown.borrow().last().map_or(0, |s| s.index);
                let at = match step.last() {
                    // A frame moved while stepping frames: show it.
                    None => {
                        print_frames(sim, &seen_frames);
                        format!("in step {}/{total}", last_done + 1)
                    }
                    Some(last) if last.index <= replay => {
                        seen_frames.set(sim.trace_log().len());
                        return Resume::Step;
                    }
                    Some(last) => {
                        let all = shown.borrow().clone();
                        for s in step {
                            output::print_step(s, &all);
                        }
                        format!("after step {}/{total}", last.index)
                    }
                };
                match prompt(sim, &at, &seen_frames) {
                    Reply::Next => Resume::Step,
                    Reply::Frame => Resume::Frame,
                    Reply::Back => {
                        // From a step's end: the step before; from within a step: the end
                        // of the one before it.
                        let to = match step.is_empty() {
                            true => last_done,
                            false => last_done.saturating_sub(1),
                        };
                        back_to.set(Some(to));
                        Resume::Stop
                    }
                    Reply::Quit => {
                        quit.set(true);
                        Resume::Stop
                    }
                }
            }));
        }
        let report = runner.run();
        if let Some(k) = back_to.get() {
            // Pause again after step k (after step 1 at the earliest).
            replay = k.saturating_sub(1);
            outln!("\n(rerunning the lab to step {})", k.max(1));
            continue;
        }
        if quit.get() {
            outln!("\n(stopped at the user's request)");
            return ExitCode::from(130);
        }
        output::print_tail(&report, std::time::Duration::ZERO);
        return if report.passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
}

/// The frames logged since the last look.
fn print_frames(sim: &Sim, seen: &Cell<usize>) {
    let log = sim.trace_log();
    for r in &log[seen.get().min(log.len())..] {
        outln!(
            "#{:<5} [{:>10.6}s] {:<4} {:<22} id={} {}",
            r.frame,
            r.at,
            r.dir,
            r.point,
            r.id,
            r.summary
        );
        for n in &r.notes {
            outln!("        {n}");
        }
    }
    seen.set(log.len());
}

/// Reads commands until the user goes on, goes back or quits.
fn prompt(sim: &mut Sim, at: &str, seen: &Cell<usize>) -> Reply {
    let stdin = std::io::stdin();
    loop {
        out!(
            "\n[{at}, {:.6}s] {HELP}\n> ",
            sim.now().since_start().as_secs_f64()
        );
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return Reply::Next,
            Ok(_) => {}
        }
        let words = match split_words(line.trim()) {
            Ok(w) => w,
            Err(e) => {
                outln!("{e}");
                continue;
            }
        };
        match words.first().map(String::as_str) {
            None | Some("n" | "next") => return Reply::Next,
            Some("f" | "frame") => return Reply::Frame,
            Some("b" | "back") => return Reply::Back,
            Some("q" | "quit") => return Reply::Quit,
            Some("frames") => print_frames(sim, seen),
            Some("show") if words.len() >= 3 => {
                let Some(node) = sim.find_node(&words[1]) else {
                    outln!("no node named '{}'", words[1]);
                    continue;
                };
                match sim.show(node, &words[2..]) {
                    Ok(text) => out!("{text}"),
                    Err(e) => outln!("{e}"),
                }
            }
            _ => outln!("{HELP}"),
        }
    }
}

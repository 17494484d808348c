//! `hoplab run FILE --step`: the lab pauses after each step. At the prompt: Enter goes on,
//! `show NODE LISTING` prints a listing as it is now, `frames` lists the frames since the
//! last pause, `back` reruns the lab (deterministically) to the step before, `quit` ends it.
//! Standard input at its end goes on to the lab's end.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use hoplab::capture::CaptureMode;
use hoplab::report::iproute::split_words;
use hoplab::scenario::run::{RunOptions, Runner, StepReport};
use hoplab::sim::Sim;

use crate::output;

/// What the user asked at a pause.
enum Reply {
    Next,
    Back,
    Quit,
}

const HELP: &str = "Enter: next step | show NODE LISTING | frames | back | quit | help";

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
    let capture = match capture.as_deref().map(|c| (c, CaptureMode::parse(c))) {
        None => None,
        Some((_, Some(m))) => Some(m),
        Some((c, None)) => {
            eprintln!("hoplab: --capture {c}: expected none, merged, split or both");
            return ExitCode::from(2);
        }
    };
    let opts = RunOptions {
        out_dir: out,
        seed,
        capture,
        interrupt: None,
    };
    let total = lab.steps.len();
    // Steps a rerun passes without pausing (after `back`).
    let mut replay = 0usize;
    let mut header = true;
    loop {
        let mut runner = match Runner::new(&lab, &opts) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("hoplab: {e}");
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
                let Some(last) = step.last() else {
                    return true;
                };
                shown.borrow_mut().extend(step.iter().cloned());
                if last.index <= replay {
                    seen_frames.set(sim.trace_log().len());
                    return true;
                }
                let all = shown.borrow().clone();
                for s in step {
                    output::print_step(s, &all);
                }
                match prompt(sim, last, total, &seen_frames) {
                    Reply::Next => true,
                    Reply::Back => {
                        back_to.set(Some(last.index.saturating_sub(1)));
                        false
                    }
                    Reply::Quit => {
                        quit.set(true);
                        false
                    }
                }
            }));
        }
        let report = runner.run();
        if let Some(k) = back_to.get() {
            // Pause again after step k (after step 1 at the earliest).
            replay = k.saturating_sub(1);
            println!("\n(rerunning the lab to step {})", k.max(1));
            continue;
        }
        if quit.get() {
            println!("\n(stopped at the user's request)");
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

/// Reads commands until the user goes on, goes back or quits.
fn prompt(sim: &mut Sim, last: &StepReport, total: usize, seen: &Cell<usize>) -> Reply {
    let stdin = std::io::stdin();
    loop {
        print!(
            "\n[after step {}/{total}, {:.6}s] {HELP}\n> ",
            last.index,
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
                println!("{e}");
                continue;
            }
        };
        match words.first().map(String::as_str) {
            None | Some("n" | "next") => return Reply::Next,
            Some("b" | "back") => return Reply::Back,
            Some("q" | "quit") => return Reply::Quit,
            Some("frames" | "f") => {
                let log = sim.trace_log();
                for r in &log[seen.get().min(log.len())..] {
                    println!(
                        "#{:<5} [{:>10.6}s] {:<4} {:<22} id={} {}",
                        r.frame, r.at, r.dir, r.point, r.id, r.summary
                    );
                    for n in &r.notes {
                        println!("        {n}");
                    }
                }
                seen.set(log.len());
            }
            Some("show") if words.len() >= 3 => {
                let Some(node) = sim.find_node(&words[1]) else {
                    println!("no node named '{}'", words[1]);
                    continue;
                };
                match sim.show(node, &words[2..]) {
                    Ok(text) => print!("{text}"),
                    Err(e) => println!("{e}"),
                }
            }
            _ => println!("{HELP}"),
        }
    }
}

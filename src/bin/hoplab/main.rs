//! The `hoplab` command line. Exit codes: 0 every expectation held, 1 a lab expectation
//! failed, 2 bad input (a lab file, a flag, an unknown node).

mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use hoplab::capture::CaptureMode;
use hoplab::report::iproute::split_words;
use hoplab::scenario::{self, run::RunOptions, run::Runner};

/// A simulation allocates a few megabytes (socket buffers, frames in flight) and frees them
/// when it is dropped; glibc's malloc then trims its heap, so the next lab or bench repetition
/// faults every page in again (~800 page faults, 10-15% of a 20 MB TCP transfer). mimalloc
/// keeps freed memory for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hoplab",
    version,
    about = "A deterministic virtual network lab: bridges, hosts and a pcap of every hop"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a lab: its steps, their output, its expectations, its captures.
    Run {
        file: PathBuf,
        /// Where captures go (default: captures/<lab name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the lab's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Which captures to write: none, merged, split, both (default: the lab's, else both).
        #[arg(long)]
        capture: Option<String>,
        /// Print the run report as JSON (version 1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check lab files without running them.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a lab, then print one listing as it stands at the end, e.g. "bridge fdb show".
    Show {
        file: PathBuf,
        /// The node whose listing to print.
        #[arg(long)]
        on: String,
        /// The listing command.
        listing: String,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Measure packets/s and simulated Gbit/s per wall second.
    Bench {
        /// Print flat JSON on stdout (progress goes to stderr).
        #[arg(long)]
        json: bool,
        /// Run only these keys (comma-separated), e.g. bridge_mpps,tcp_cable_gbps.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run {
            file,
            out,
            seed,
            capture,
            json,
        } => run(file, out, seed, capture, json),
        Command::Check { files } => check(&files),
        Command::Show {
            file,
            on,
            listing,
            seed,
        } => show(file, on, listing, seed),
        Command::Bench { json, only } => bench(json, &only),
    }
}

fn load(file: &std::path::Path) -> Result<scenario::Lab, ExitCode> {
    scenario::load(file).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

fn run(
    file: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    capture: Option<String>,
    json: bool,
) -> ExitCode {
    let lab = match load(&file) {
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
    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupt.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    }
    let opts = RunOptions {
        out_dir: out,
        seed,
        capture,
        interrupt: Some(interrupt),
    };
    let wall = std::time::Instant::now();
    let mut runner = match Runner::new(&lab, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hoplab: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runner.run();
    let wall = wall.elapsed();
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("hoplab: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        output::print_report(&lab, &file, &report, wall);
    }
    if report.interrupted {
        eprintln!("hoplab: interrupted; captures were flushed and are complete up to the stop");
        return ExitCode::from(130);
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for f in files {
        match scenario::load(f) {
            Ok(lab) => {
                for w in &lab.warnings {
                    eprintln!("{}: warning: {w}", f.display());
                }
                println!(
                    "{}: ok ({} hosts, {} bridges, {} links, {} steps, {} capture expectations)",
                    f.display(),
                    lab.hosts.len(),
                    lab.bridges.len(),
                    lab.links.len(),
                    lab.steps.len(),
                    lab.expects.len()
                );
            }
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn show(file: PathBuf, on: String, listing: String, seed: Option<u64>) -> ExitCode {
    let lab = match load(&file) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let argv = match split_words(&listing) {
        Ok(a) if !a.is_empty() => a,
        _ => {
            eprintln!("hoplab: give the listing to show, e.g. \"bridge fdb show\"");
            return ExitCode::from(2);
        }
    };
    let opts = RunOptions {
        out_dir: None,
        seed,
        capture: Some(CaptureMode::None),
        interrupt: None,
    };
    let mut runner = match Runner::new(&lab, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hoplab: {e}");
            return ExitCode::from(2);
        }
    };
    if runner.sim.find_node(&on).is_none() {
        eprintln!("hoplab: lab '{}' has no node named '{on}'", lab.name);
        return ExitCode::from(2);
    }
    runner.run();
    match runner.show(&on, &argv) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hoplab: {e}");
            ExitCode::from(2)
        }
    }
}

fn bench(json: bool, only: &[String]) -> ExitCode {
    match hoplab::bench::run(only, &mut |line| eprintln!("{line}")) {
        Ok(results) => {
            if json {
                println!("{}", results.to_json());
            } else {
                print!("{}", results.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hoplab: {e}");
            ExitCode::from(2)
        }
    }
}

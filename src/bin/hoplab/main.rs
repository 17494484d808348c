//! The `hoplab` command line. Exit codes: 0 every expectation held, 1 a lab expectation
//! failed, 2 bad input (a lab file, a flag, an unknown node).

#[macro_use]
mod output;
mod explain_cmd;
mod import_cmd;
mod shell_cmd;
mod step;
mod trace_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use hoplab::capture::CaptureMode;
use hoplab::listing::iproute::split_words;
use hoplab::scenario::grade::{self, Answers, TestOptions, TestReport};
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
        /// The lab file (YAML), e.g. scenarios/01-arp-and-mac-learning.yaml.
        file: PathBuf,
        /// Where captures go (default: captures/<lab name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The seed every random choice draws from (MACs, ports, loss), instead of the lab's
        /// own: the same lab and seed give byte-identical captures.
        #[arg(long)]
        seed: Option<u64>,
        /// Which captures to write: none, merged, split, both (default: the lab's, else
        /// merged: all.pcapng, each frame written once; `hoplab split` gives the per-hop pcaps).
        #[arg(long)]
        capture: Option<String>,
        /// Keep at most N bytes of each frame in the capture files, as tcpdump's -s (default:
        /// the lab's `snaplen`, else whole frames; 0: whole frames); `POINT=N` (e.g.
        /// r1:eth0=96) for one capture point. Repeatable.
        #[arg(long, value_name = "N|POINT=N")]
        snap: Vec<String>,
        /// Print the run report as JSON (version 1) instead of text.
        #[arg(long)]
        json: bool,
        /// Run these commands at the lab's exercise steps (YAML: exercise id → commands).
        #[arg(long)]
        answers: Option<PathBuf>,
        /// Also write an HTML report, DIR/index.html: topology, frame ladder, steps, checks.
        #[arg(long, value_name = "DIR", conflicts_with = "step")]
        report: Option<PathBuf>,
        /// Pause after each step: go on, print a listing, list the frames, or go back.
        #[arg(long, conflicts_with = "json")]
        step: bool,
        /// Write the merged pcapng here instead of OUT/all.pcapng; `-` streams it to standard
        /// output as frames happen (the text report then goes to standard error), e.g.
        /// `hoplab run LAB --pcapng - --pace 1 | wireshark -k -i -`. With `--json`, PATH is a
        /// file (standard output carries the JSON report).
        #[arg(long, value_name = "PATH")]
        pcapng: Option<PathBuf>,
        /// Run no faster than X virtual seconds per wall second (1: real time; 0.1: ten times
        /// slower), to watch a lab live.
        #[arg(long, value_name = "X")]
        pace: Option<f64>,
        /// End the lab at this time (e.g. 10m) instead of its own `duration`: how long a lab
        /// with TAPs stays up for a shell to talk to it.
        #[arg(long, value_name = "D")]
        duration: Option<String>,
        /// Let a TAP's kernel-side routes overlap the kernel's own routes.
        #[arg(long)]
        allow_host_routes: bool,
        /// Stop the run (exit 1) when the capture files would pass this many bytes
        /// (default 2 GiB; 0: no limit).
        #[arg(long, value_name = "BYTES", default_value_t = hoplab::scenario::run::DEFAULT_MAX_CAPTURE_BYTES)]
        max_capture_bytes: u64,
    },
    /// Write the per-hop pcaps of a merged capture: DIR/<node>-<iface>.pcap for each interface
    /// of FILE, byte for byte the files `--capture both` writes.
    Split {
        /// The merged capture, e.g. captures/<lab>/all.pcapng.
        file: PathBuf,
        /// Where the pcaps go (default: FILE's folder).
        dir: Option<PathBuf>,
    },
    /// Run labs and grade them: a table of pass, FAIL, skipped or error per lab.
    Test {
        /// Lab files, or directories whose top-level *.yaml files are labs (default:
        /// scenarios/).
        paths: Vec<PathBuf>,
        /// Print the report as JSON (version 1) instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write JUnit XML here: a testcase per lab and per exercise.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Run these commands at the labs' exercise steps (YAML: exercise id → commands).
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
    },
    /// List the labs at the top of a directory (default: scenarios/): file, name, about.
    List {
        /// The directory whose top-level *.yaml files are listed (default: scenarios/).
        dir: Option<PathBuf>,
    },
    /// Check lab files without running them.
    Check {
        /// The lab files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a lab, then print one listing as it stands at the end, e.g. "bridge fdb show".
    Show {
        /// The lab file (YAML).
        file: PathBuf,
        /// The node whose listing to print.
        #[arg(long)]
        on: String,
        /// The listing command.
        listing: String,
        /// The seed to run the lab with, instead of the lab's own.
        #[arg(long)]
        seed: Option<u64>,
        /// Show the listing as it was at this virtual time (e.g. 2.5s), not at the end.
        #[arg(long)]
        at: Option<String>,
    },
    /// Replay a lab with every decision traced and print one packet's journey, hop by hop.
    Trace {
        /// The lab file (YAML).
        file: PathBuf,
        /// The packet's id (`id=42` in the capture comments).
        #[arg(long, group = "pick")]
        packet: Option<u32>,
        /// The packet of this frame of all.pcapng (1-based, as Wireshark numbers it).
        #[arg(long, group = "pick")]
        frame: Option<u64>,
        /// The packet of the first frame this display filter matches.
        #[arg(long = "match", group = "pick", value_name = "FILTER")]
        filter: Option<String>,
        /// With --match: only frames recorded while this named step ran.
        #[arg(long, value_name = "STEP", requires = "filter")]
        during: Option<String>,
        /// The seed to replay the lab with, instead of the lab's own (as the run had it).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the journey as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a real host's dumps (ip addr, ip route, iptables, nft, docker inspect) into a lab.
    Import(import_cmd::ImportArgs),
    /// Open a shell on a lab's nodes (`c1$ `): type commands, watch frames as they pass,
    /// save the session as the lab's steps.
    Shell(shell_cmd::ShellArgs),
    /// Send one packet into a router as the lab left it and print why it meets its fate:
    /// conntrack, every table and rule at every hook (with counters), NAT, the route.
    Explain {
        /// The lab file (YAML).
        file: PathBuf,
        /// The router (or Docker host) to send the packet into.
        #[arg(long)]
        on: String,
        /// The packet: "PROTO SRC[:PORT] -> DST[:PORT] in IFACE [state NEW|ESTABLISHED]
        /// [mark M] [flags SYN,ACK] [ttl N] [len N] [type T[/C]]"; an IPv6 address with a
        /// port is written [ADDR]:PORT.
        #[arg(long, value_name = "SPEC")]
        packet: String,
        /// Send it into the router as it was at this virtual time (e.g. 2.5s), not at the end.
        #[arg(long)]
        at: Option<String>,
        /// The seed to run the lab with, instead of the lab's own.
        #[arg(long)]
        seed: Option<u64>,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
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
    let code = match cli.command {
        Command::Run {
            file,
            out,
            seed,
            capture,
            json,
            answers,
            report,
            step,
            pcapng,
            pace,
            duration,
            allow_host_routes,
            max_capture_bytes,
            snap,
        } => match step {
            true => step::run_stepwise(file, out, seed, capture),
            false => run(
                file,
                out,
                seed,
                capture,
                json,
                Extras {
                    answers,
                    report_dir: report,
                    pcapng,
                    pace,
                    duration,
                    allow_host_routes,
                    max_capture_bytes,
                    snap,
                },
            ),
        },
        Command::Split { file, dir } => split(&file, dir),
        Command::Test {
            paths,
            json,
            junit,
            answers,
        } => test(paths, json, junit, answers),
        Command::List { dir } => list(dir.unwrap_or_else(|| PathBuf::from("scenarios"))),
        Command::Check { files } => check(&files),
        Command::Show {
            file,
            on,
            listing,
            seed,
            at,
        } => show(file, on, listing, seed, at),
        Command::Trace {
            file,
            packet,
            frame,
            filter,
            during,
            seed,
            json,
        } => {
            let lab = match load(&file) {
                Ok(l) => l,
                Err(c) => return c,
            };
            if let Err(c) = virtual_only(&lab, "trace replays a lab") {
                return c;
            }
            match trace_cmd::pick(packet, frame, filter.as_deref()) {
                Ok(p) => trace_cmd::run(&lab, seed, &p, during.as_deref(), json),
                Err(e) => {
                    errln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Import(args) => import_cmd::run(&args),
        Command::Shell(args) => shell_cmd::run(args),
        Command::Explain {
            file,
            on,
            packet,
            at,
            seed,
            json,
        } => {
            let lab = match load(&file) {
                Ok(l) => l,
                Err(c) => return c,
            };
            if let Err(c) = virtual_only(&lab, "explain replays a lab") {
                return c;
            }
            explain_cmd::run(&lab, &on, &packet, at.as_deref(), seed, json)
        }
        Command::Bench { json, only } => bench(json, &only),
    };
    output::finish(code)
}

fn load(file: &Path) -> Result<scenario::Lab, ExitCode> {
    let lab = scenario::load(file).map_err(|e| {
        errln!("{e}");
        ExitCode::from(2)
    })?;
    // A lab that needs a capability this process lacks does not run (`hoplab test` skips it).
    if let Some(reason) = grade::unmet_requirement(&lab, grade::has_net_admin()) {
        errln!("hoplab: {}", grade::requirement_error(&lab, &reason));
        return Err(ExitCode::from(2));
    }
    Ok(lab)
}

/// Refuses what needs a replayable, virtual-time run (`--step`, `show --at`, `trace`) for a
/// lab with TAPs: the kernel's side cannot be replayed or paused.
pub(crate) fn virtual_only(lab: &scenario::Lab, what: &str) -> Result<(), ExitCode> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    errln!(
        "hoplab: {what} in virtual time, but lab '{}' has TAPs and runs in real time with the kernel: it cannot be paused or replayed. Run it with `hoplab run`, and watch it live with `--pcapng -`",
        lab.name
    );
    Err(ExitCode::from(2))
}

/// Plugs a lab's TAPs into the kernel, if it has any, announcing each change first.
fn attach_taps(
    runner: &mut Runner<'_>,
    lab: &scenario::Lab,
    allow_host_routes: bool,
) -> Result<(), ExitCode> {
    if lab.kernel.taps.is_empty() {
        return Ok(());
    }
    let opts = hoplab::tap::SetupOptions { allow_host_routes };
    // The heading comes with the first change, after the capability check has passed.
    let mut first = true;
    let mut announce = |line: &str| {
        if std::mem::take(&mut first) {
            say!("hoplab changes the kernel for this lab (undone when it ends):");
        }
        say!("  {line}");
    };
    hoplab::scenario::taps::attach(runner, lab, opts, &mut announce).map_err(|e| {
        errln!("hoplab: {e}");
        ExitCode::from(2)
    })
}

/// `hoplab split FILE [DIR]`: the per-hop pcaps of a merged capture; exit 2 on bad input or
/// a write error.
fn split(file: &Path, dir: Option<PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(|| {
        file.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    match hoplab::capture::split_pcapng(file, &dir) {
        Ok(files) => {
            for f in files {
                say!("{}  {} ({} frames)", f.path.display(), f.point, f.frames);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("hoplab split: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--capture`: a capture mode, or exit 2 with the choices.
fn capture_mode(arg: Option<&str>) -> Result<Option<CaptureMode>, ExitCode> {
    match arg.map(|c| (c, CaptureMode::parse(c))) {
        None => Ok(None),
        Some((_, Some(m))) => Ok(Some(m)),
        Some((c, None)) => {
            errln!("hoplab: --capture {c}: expected none, merged, split or both");
            Err(ExitCode::from(2))
        }
    }
}

/// Prints a report as pretty JSON on stdout.
fn print_json(report: &impl serde::Serialize) -> Result<(), ExitCode> {
    let text = serde_json::to_string_pretty(report).map_err(|e| {
        errln!("hoplab: {e}");
        ExitCode::from(2)
    })?;
    outln!("{text}");
    Ok(())
}

fn load_answers(file: &Path) -> Result<Answers, ExitCode> {
    Answers::load(file).map_err(|e| {
        errln!("{e}");
        ExitCode::from(2)
    })
}

/// 128 + the number of the signal that interrupted the run (0: none), as a shell reports a
/// process that a signal ended: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, 129 for SIGHUP.
static SIGNAL_EXIT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A flag that SIGINT, SIGTERM and SIGHUP raise. A second signal while the run is winding
/// down ends the process at once, as a second Ctrl-C does in most tools.
fn interrupt_flag() -> Arc<AtomicBool> {
    use signal_hook::{consts, flag};
    let interrupt = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    let signals = [consts::SIGINT, consts::SIGTERM, consts::SIGHUP];
    #[cfg(not(unix))]
    let signals = [consts::SIGINT, consts::SIGTERM];
    for sig in signals {
        let code = 128 + sig as usize;
        // Registered first, so it sees the flag as the previous signal left it.
        let _ = flag::register_conditional_shutdown(sig, code as i32, interrupt.clone());
        let _ = flag::register_usize(sig, &SIGNAL_EXIT, code);
        let _ = flag::register(sig, interrupt.clone());
    }
    interrupt
}

/// The exit code of a run that a signal interrupted (130 when none was recorded: an
/// interruption the program made itself, such as `--step`'s quit).
fn interrupted_code() -> ExitCode {
    match SIGNAL_EXIT.load(Ordering::Relaxed) {
        0 => ExitCode::from(130),
        c => ExitCode::from(u8::try_from(c).unwrap_or(130)),
    }
}

/// What `run` takes besides the lab and its captures.
struct Extras {
    answers: Option<PathBuf>,
    report_dir: Option<PathBuf>,
    pcapng: Option<PathBuf>,
    pace: Option<f64>,
    duration: Option<String>,
    allow_host_routes: bool,
    max_capture_bytes: u64,
    snap: Vec<String>,
}

fn run(
    file: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    capture: Option<String>,
    json: bool,
    extras: Extras,
) -> ExitCode {
    let Extras {
        answers,
        report_dir,
        pcapng,
        pace,
        duration,
        allow_host_routes,
        max_capture_bytes,
        snap,
    } = extras;
    if pace.is_some_and(|x| !(x.is_finite() && x > 0.0)) {
        errln!("hoplab: --pace takes a positive number of virtual seconds per wall second");
        return ExitCode::from(2);
    }
    if pcapng.as_deref() == Some(Path::new("-")) {
        if json {
            errln!(
                "hoplab: --json and --pcapng - both want standard output: give --pcapng a file, e.g. --pcapng run.pcapng"
            );
            return ExitCode::from(2);
        }
        output::to_stderr();
    }
    let mut lab = match load(&file) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let snap = match snap_options(&snap, &mut lab) {
        Ok(n) => n,
        Err(e) => {
            errln!("hoplab: --snap: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = duration {
        match hoplab::time::Duration::parse(&d) {
            Ok(d) => lab.duration = Some(d),
            Err(e) => {
                errln!("hoplab: --duration: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if pace.is_some() && !lab.kernel.taps.is_empty() {
        errln!(
            "hoplab: --pace slows a virtual-time run; lab '{}' has TAPs and already runs in real time",
            lab.name
        );
        return ExitCode::from(2);
    }
    let answers = match answers.as_deref().map(load_answers).transpose() {
        Ok(a) => a,
        Err(c) => return c,
    };
    if let Some(a) = &answers
        && let Err(e) = a.check_ids([&lab])
    {
        errln!("{e}");
        return ExitCode::from(2);
    }
    let capture = match capture_mode(capture.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(dir) = &report_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        errln!("hoplab: cannot write the report to {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let interrupt = interrupt_flag();
    let opts = RunOptions {
        out_dir: out,
        seed,
        capture,
        interrupt: Some(interrupt.clone()),
        merged_to: pcapng,
        max_capture_bytes,
        snaplen: snap,
    };
    if let Err(e) = hoplab::scenario::taps::preflight(&lab) {
        errln!("hoplab: {e}");
        return ExitCode::from(2);
    }
    let wall = std::time::Instant::now();
    let mut runner = match Runner::new(&lab, &opts) {
        Ok(r) => r,
        Err(e) => {
            errln!("hoplab: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(x) = pace {
        // Virtual instant t runs once t / x seconds of wall time have passed.
        let start = wall;
        // The wait is cut into short sleeps so that a signal ends it: a slow pace can put the
        // next event minutes of wall time away.
        runner.set_pacer(Box::new(move |t| {
            let due = start + std::time::Duration::from_secs_f64(t.since_start().as_secs_f64() / x);
            while !interrupt.load(Ordering::Relaxed) {
                let now = std::time::Instant::now();
                if due <= now {
                    break;
                }
                std::thread::sleep((due - now).min(std::time::Duration::from_millis(20)));
            }
        }));
    }
    if let Some(a) = &answers {
        runner.set_answers(a.for_lab(&lab));
    }
    if json && !lab.kernel.taps.is_empty() {
        // Standard output is the JSON report's: what hoplab changes goes to standard error.
        output::to_stderr();
    }
    if let Err(c) = attach_taps(&mut runner, &lab, allow_host_routes) {
        return c;
    }
    if report_dir.is_some() {
        // Records every frame with its decisions; the run is the same.
        runner.sim.set_frame_log();
    }
    let report = runner.run();
    let wall = wall.elapsed();
    if json {
        if let Err(code) = print_json(&report) {
            return code;
        }
    } else {
        output::print_report(&lab, &file, &report, wall);
    }
    if let Some(dir) = &report_dir {
        let frames = runner.sim.trace_log();
        match hoplab::report::html::write(dir, &lab, &file, &report, frames) {
            Ok(page) if !json => say!("Report: {}", page.display()),
            Ok(_) => {}
            Err(e) => {
                errln!("hoplab: cannot write the report to {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    if report.interrupted {
        errln!("hoplab: interrupted; captures were flushed and are complete up to the stop");
        return interrupted_code();
    }
    if let Some(f) = &report.capture_failure {
        errln!("hoplab: {}", output::capture_failure_text(f));
        return ExitCode::from(2);
    }
    if let Some(why) = report.halted.as_ref().filter(|_| json) {
        eprintln!("hoplab: stopped: {why}");
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The labs `hoplab test` runs: each file given, and each directory's top-level *.yaml.
fn lab_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            match grade::labs_in(p) {
                Ok(mut l) if !l.is_empty() => files.append(&mut l),
                Ok(_) => {
                    errln!("hoplab: no lab (*.yaml) in {}", p.display());
                    return Err(ExitCode::from(2));
                }
                Err(e) => {
                    errln!("hoplab: cannot read {}: {e}", p.display());
                    return Err(ExitCode::from(2));
                }
            }
        } else {
            // A file that cannot be read is reported in the table, located, as a bad lab.
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn test(
    paths: Vec<PathBuf>,
    json: bool,
    junit: Option<PathBuf>,
    answers: Option<PathBuf>,
) -> ExitCode {
    let paths = match paths.is_empty() {
        true => vec![PathBuf::from("scenarios")],
        false => paths,
    };
    let files = match lab_files(&paths) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let loaded: Vec<_> = files.iter().map(|f| (f, scenario::load(f))).collect();
    let answers = match answers.as_deref().map(load_answers).transpose() {
        Ok(a) => a,
        Err(c) => return c,
    };
    if let Some(a) = &answers
        && let Err(e) = a.check_ids(loaded.iter().filter_map(|(_, l)| l.as_ref().ok()))
    {
        errln!("{e}");
        return ExitCode::from(2);
    }
    let interrupt = interrupt_flag();
    let opts = TestOptions {
        answers,
        net_admin: grade::has_net_admin(),
        require_privileged: grade::require_privileged(),
        interrupt: Some(interrupt.clone()),
    };
    let mut outcomes = Vec::new();
    for (file, lab) in &loaded {
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
        if !json {
            errln!("hoplab: testing {}", file.display());
        }
        outcomes.push(grade::test_lab(file, lab, &opts));
    }
    let report = TestReport::new(outcomes, interrupt.load(Ordering::Relaxed));
    if json {
        if let Err(code) = print_json(&report) {
            return code;
        }
    } else {
        output::print_test_table(&report);
    }
    if let Some(path) = junit
        && let Err(e) = std::fs::write(&path, grade::junit(&report))
    {
        errln!("hoplab: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if report.interrupted {
        errln!("hoplab: interrupted; the labs after the one running were not run");
        return interrupted_code();
    }
    ExitCode::from(report.exit_code())
}

fn list(dir: PathBuf) -> ExitCode {
    let files = match grade::labs_in(&dir) {
        Ok(f) => f,
        Err(e) => {
            errln!("hoplab: cannot read {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    let mut rows = Vec::new();
    let mut bad = false;
    for f in &files {
        let file = f.file_name().map_or_else(
            || f.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match scenario::load(f) {
            Ok(lab) => {
                let about = lab.about.lines().next().unwrap_or("").trim().to_string();
                rows.push([file, lab.name, about]);
            }
            Err(e) => {
                errln!("{e}");
                bad = true;
                rows.push([file, "-".into(), "(not a valid lab: see above)".into()]);
            }
        }
    }
    output::print_columns(&rows, [false; 3]);
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for f in files {
        match scenario::load(f) {
            Ok(lab) => {
                for w in &lab.warnings {
                    errln!("{}: warning: {w}", f.display());
                }
                outln!(
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
                errln!("{e}");
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

fn show(
    file: PathBuf,
    on: String,
    listing: String,
    seed: Option<u64>,
    at: Option<String>,
) -> ExitCode {
    let lab = match load(&file) {
        Ok(l) => l,
        Err(c) => return c,
    };
    if at.is_some()
        && let Err(c) = virtual_only(&lab, "show --at stops a lab")
    {
        return c;
    }
    let at = match at.as_deref().map(hoplab::time::Duration::parse).transpose() {
        Ok(a) => a,
        Err(e) => {
            errln!("hoplab: --at: {e}");
            return ExitCode::from(2);
        }
    };

    let argv = match split_words(&listing) {
        Ok(a) if !a.is_empty() => a,
        _ => {
            errln!("hoplab: give the listing to show, e.g. \"bridge fdb show\"");
            return ExitCode::from(2);
        }
    };
    let opts = RunOptions {
        out_dir: None,
        seed,
        capture: Some(CaptureMode::None),
        // Ctrl-C ends the run cleanly (a lab with TAPs removes its kernel side).
        interrupt: Some(interrupt_flag()),
        merged_to: None,
        max_capture_bytes: 0,
        snaplen: None,
    };
    let mut runner = match Runner::new(&lab, &opts) {
        Ok(r) => r,
        Err(e) => {
            errln!("hoplab: {e}");
            return ExitCode::from(2);
        }
    };
    // A namespace a step makes (`ip netns add`) is a node once the lab has run.
    if runner.sim.find_node(&on).is_none() && !lab.made.contains(&(on.clone(), String::new())) {
        errln!("hoplab: lab '{}' has no node named '{on}'", lab.name);
        return ExitCode::from(2);
    }
    if let Some(t) = at {
        runner.stop_at(t);
    }
    if let Err(c) = attach_taps(&mut runner, &lab, false) {
        return c;
    }
    let report = runner.run();
    if let Some(t) = at
        && !report.interrupted
        && runner.sim.now() < hoplab::time::Instant::ZERO + t
    {
        // The lab ended before `t`: a listing "at t" would be the end's under another name.
        errln!(
            "hoplab: --at {t}: lab '{}' ends at {:.6} s, before that; give a time up to its end, or leave --at out for the listing at the end",
            lab.name,
            report.virtual_time
        );
        return ExitCode::from(2);
    }
    match runner.show(&on, &argv) {
        Ok(text) => {
            out!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("hoplab: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--snap N` (the last one given) and `--snap POINT=N`, which joins the lab's
/// `point_snaplen` after its own entries, so it wins.
fn snap_options(values: &[String], lab: &mut hoplab::scenario::Lab) -> Result<Option<u32>, String> {
    let bytes = |v: &str| match v.parse::<u32>() {
        Ok(n) if n <= 65535 => Ok(n),
        _ => Err(format!("'{v}' is not a snap length (0 to 65535)")),
    };
    let mut global = None;
    for v in values {
        match v.rsplit_once('=') {
            None => global = Some(bytes(v)?),
            Some((point, n)) => {
                let ep = hoplab::scenario::model::parse_endpoint(point)
                    .ok_or_else(|| format!("'{point}' is not node:interface"))?;
                lab.point_snaplen.push((ep, bytes(n)?));
            }
        }
    }
    Ok(global)
}

fn bench(json: bool, only: &[String]) -> ExitCode {
    match hoplab::bench::run(only, &mut |line| errln!("{line}")) {
        Ok(results) => {
            if json {
                outln!("{}", results.to_json());
            } else {
                out!("{}", results.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("hoplab: {e}");
            ExitCode::from(2)
        }
    }
}

//! `hoplab shell LAB`: a prompt on a lab's nodes (`c1$ `). The session itself (what a line
//! does, virtual time, watches, the steps `save` writes) is `hoplab::scenario::session`;
//! this is its terminal: line editing, history and completion (rustyline) when standard
//! input is a terminal, plain lines when it is not, Ctrl-C, and the files `save` writes.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use hoplab::scenario::session::{BUILTINS, Effect, Reply, Session, SessionOptions};
use hoplab::scenario::{self};

#[derive(clap::Args)]
pub struct ShellArgs {
    /// The lab file (YAML), e.g. scenarios/01-arp-and-mac-learning.yaml.
    file: PathBuf,
    /// The node the prompt starts on (default: the lab's first host).
    #[arg(long)]
    on: Option<String>,
    /// The seed every random choice draws from, instead of the lab's own.
    #[arg(long)]
    seed: Option<u64>,
    /// Which captures to write of the session: none (the default), merged, split, both.
    /// They hold the lab and every command so far, rewritten after each command.
    #[arg(long)]
    capture: Option<String>,
    /// Where captures go (default: captures/<lab name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the merged pcapng of the session here (implies --capture merged).
    #[arg(long, value_name = "PATH")]
    pcapng: Option<PathBuf>,
}

/// Words a command starts with, besides the builtins, for completion.
const COMMAND_WORDS: &[&str] = &[
    "ip",
    "bridge",
    "brctl",
    "iptables",
    "iptables-save",
    "iptables-restore",
    "conntrack",
    "ipset",
    "sysctl",
    "dmesg",
    "docker",
];

pub fn run(args: ShellArgs) -> ExitCode {
    // The same refusals as `hoplab run`: a bad lab is located (exit 2), so is a requirement
    // this process lacks; TAPs cannot be replayed.
    let lab = match crate::load(&args.file) {
        Ok(l) => l,
        Err(c) => return c,
    };
    if let Err(c) = crate::virtual_only(&lab, "the shell replays a lab") {
        return c;
    }
    let mut capture = match crate::capture_mode(args.capture.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.pcapng.as_deref() == Some(Path::new("-")) {
        errln!("hoplab shell: --pcapng -: standard output is the shell's; give a file");
        return ExitCode::from(2);
    }
    if args.pcapng.is_some() && capture.is_none() {
        capture = Some(hoplab::capture::CaptureMode::Merged);
    }
    let text = match scenario::read_bounded(&args.file) {
        Ok(t) => t,
        Err(e) => {
            errln!("hoplab shell: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let interrupt = ctrl_c_flag();
    let opts = SessionOptions {
        seed: args.seed,
        capture,
        out_dir: args.out,
        merged_to: args.pcapng,
        interrupt: Some(interrupt),
        on: args.on,
    };
    let file = args.file.display().to_string();
    let mut session = match Session::open(&text, &file, opts) {
        Ok(s) => s,
        Err(e) => {
            errln!("{e}");
            return ExitCode::from(2);
        }
    };
    errln!("{}", session.opening());
    match std::io::stdin().is_terminal() {
        true => interactive(&mut session),
        false => piped(&mut session),
    }
}

/// Ctrl-C raises the flag, which stops the command that runs; the shell goes on. A second
/// Ctrl-C before the first was seen ends the process, as in most tools.
fn ctrl_c_flag() -> Arc<AtomicBool> {
    use signal_hook::{consts::SIGINT, flag};
    let raised = Arc::new(AtomicBool::new(false));
    let _ = flag::register_conditional_shutdown(SIGINT, 130, raised.clone());
    let _ = flag::register(SIGINT, raised.clone());
    raised
}

/// A terminal: rustyline's prompt, history and completion.
fn interactive(session: &mut Session) -> ExitCode {
    let config = Config::builder()
        .auto_add_history(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<Completion, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            errln!("hoplab shell: cannot use the terminal: {e}");
            return ExitCode::from(2);
        }
    };
    errln!("Type help for the commands, exit or Ctrl-D to leave.");
    loop {
        editor.set_helper(Some(Completion {
            nodes: session.nodes(),
            points: session.points(),
        }));
        flush();
        match editor.readline(&format!("{}$ ", session.node())) {
            Ok(line) => {
                if !answer(session, &line) {
                    break;
                }
            }
            // Ctrl-C at the prompt drops the line, as a shell does.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                outln!();
                break;
            }
            Err(e) => {
                errln!("hoplab shell: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Lines from a pipe or a file: each is echoed after the prompt, so the output reads as the
/// session would on a terminal.
fn piped(session: &mut Session) -> ExitCode {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                errln!("hoplab shell: cannot read standard input: {e}");
                return ExitCode::from(2);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        outln!("{}$ {}", session.node(), line.trim());
        if !answer(session, &line) {
            break;
        }
        flush();
    }
    ExitCode::SUCCESS
}

/// Runs one line and prints what it gave; false: the session ends.
fn answer(session: &mut Session, line: &str) -> bool {
    let Reply { output, effect, .. } = session.execute(line);
    out!("{output}");
    match effect {
        None => true,
        Some(Effect::Quit) => false,
        Some(Effect::Save(path)) => {
            save(session, Path::new(&path));
            true
        }
    }
}

/// Writes the lab with the session's steps to `path`, then loads it from there, as
/// `hoplab check` would: `input_file:` paths are relative to the lab file.
fn save(session: &Session, path: &Path) {
    if let Err(e) = std::fs::write(path, session.lab_text()) {
        outln!("save: cannot write {}: {e}", path.display());
        return;
    }
    let n = session.steps_typed();
    match scenario::load(path) {
        Ok(_) => outln!(
            "saved the lab with {n} command{} as its last steps to {}; `hoplab run {}` replays them",
            if n == 1 { "" } else { "s" },
            path.display(),
            path.display()
        ),
        Err(e) => outln!(
            "saved to {}, but it does not load from there (a path in it is relative to the lab file):\n{e}",
            path.display()
        ),
    }
    let pending = session.pending_sleep();
    if pending > hoplab::time::Duration::ZERO {
        outln!("(the last sleep, {pending}, is not saved: it has no command after it)");
    }
}

fn flush() {
    let _ = std::io::stdout().lock().flush();
}

/// Tab completion: builtins and command words first, node names after `on` and
/// `ip netns exec`, `NODE:IFACE` after `watch` and `link`.
struct Completion {
    nodes: Vec<String>,
    points: Vec<String>,
}

impl Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &head[start..];
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        let commands = || {
            BUILTINS
                .iter()
                .chain(hoplab::host::cmd::COMMANDS)
                .chain(COMMAND_WORDS)
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        };
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pool = match before.as_slice() {
            [] => commands(),
            ["on"] | ["ip", "netns", "exec"] => self.nodes.clone(),
            ["on", _] | ["ip", "netns", "exec", _] => commands(),
            ["watch" | "unwatch" | "link"] => self.points.clone(),
            ["link", _] => words(&["up", "down"]),
            ["ip"] => words(&["addr", "link", "route", "neigh", "rule", "netns"]),
            ["ip", "netns"] => words(&["exec"]),
            ["bridge"] => words(&["fdb", "link"]),
            _ => Vec::new(),
        };
        let mut found: Vec<String> = pool.into_iter().filter(|c| c.starts_with(word)).collect();
        found.sort();
        found.dedup();
        Ok((start, found))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

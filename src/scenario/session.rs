//! `hoplab shell`'s session, without a terminal: the node the prompt is on, virtual time,
//! the commands typed so far, the points watched.
//!
//! A typed command becomes a step of the lab. The lab file's text with the session's steps
//! appended is loaded and run from the start up to the new step, by the loader and the step
//! runner `hoplab run` uses. So whatever a lab step can do a typed command does (a Docker
//! host's `docker stop`, which the loader plans, included), a command the lab refuses is
//! refused with the loader's message, and the state a command sees is the state the saved
//! file reaches when it is replayed: runs are deterministic. The price is that each command
//! replays the session from the lab's start.

use std::cell::Cell;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::model::{Endpoint, Lab, MAX_DURATION, parse_endpoint};
use super::run::{DEFAULT_MAX_CAPTURE_BYTES, Resume, RunOptions, Runner, StepReport};
use crate::capture::CaptureMode;
use crate::filter::Filter;
use crate::listing::iproute::split_words;
use crate::time::{Duration, Instant};

/// How a session runs its lab.
#[derive(Default)]
pub struct SessionOptions {
    /// The seed, instead of the lab's own.
    pub seed: Option<u64>,
    /// The capture files each replay writes (default: none).
    pub capture: Option<CaptureMode>,
    /// Where capture files go (default: captures/<lab name>/).
    pub out_dir: Option<PathBuf>,
    /// The merged pcapng's path instead of `all.pcapng` in `out_dir`.
    pub merged_to: Option<PathBuf>,
    /// Raised by Ctrl-C: the command running stops, the session goes on.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// The node the prompt starts on (default: the first host, else router, else bridge).
    pub on: Option<String>,
}

/// What a line typed at the prompt gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// What to print: watched frames, then the command's output or listing.
    pub output: String,
    /// The command's exit status (a listing: 0); 2 for a line the session refuses.
    pub exit_code: i32,
    /// What the caller does next.
    pub effect: Option<Effect>,
}

/// What the session asks of its caller, which owns the terminal and the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `exit`: the session ends.
    Quit,
    /// `save FILE`: write `Session::lab_text` to FILE.
    Save(String),
}

impl Reply {
    fn text(output: impl Into<String>) -> Reply {
        Reply {
            output: with_newline(output.into()),
            ..Reply::default()
        }
    }

    fn error(output: impl Into<String>) -> Reply {
        Reply {
            output: with_newline(output.into()),
            exit_code: 2,
            effect: None,
        }
    }
}

fn with_newline(mut s: String) -> String {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// What a typed step does, as a lab step's `run:`, `show:` or `link:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Run,
    Show,
    /// `link: NODE:IFACE` with `set: up` (true) or `down`.
    Link(bool),
}

/// A command typed in the session, as the step it is saved as.
#[derive(Clone, Debug)]
struct Typed {
    /// The node (a link step: the link's end, `node:iface`).
    on: String,
    kind: Kind,
    command: String,
    background: bool,
    /// Time let pass (`sleep`) before it.
    after: Option<Duration>,
    /// A command stopped with Ctrl-C: how long it had run, so a replay stops it there.
    timeout: Option<Duration>,
}

impl Typed {
    /// The step as a one-line YAML flow mapping; strings are JSON-quoted, which YAML reads
    /// as double-quoted scalars.
    fn yaml(&self) -> String {
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        let mut s = String::from("{");
        if let Some(a) = self.after {
            let _ = write!(s, "after: {a}, ");
        }
        match self.kind {
            Kind::Run | Kind::Show => {
                let key = if self.kind == Kind::Show {
                    "show"
                } else {
                    "run"
                };
                let _ = write!(
                    s,
                    "on: {}, {key}: {}",
                    quote(&self.on),
                    quote(&self.command)
                );
            }
            Kind::Link(up) => {
                let set = if up { "up" } else { "down" };
                let _ = write!(s, "link: {}, set: {set}", quote(&self.on));
            }
        }
        if self.background {
            s.push_str(", background: true");
        }
        if let Some(t) = self.timeout {
            let _ = write!(s, ", timeout: {t}");
        }
        s.push('}');
        s
    }
}

/// A point whose frames are printed while commands run.
struct Watch {
    point: Endpoint,
    filter: Option<Filter>,
}

/// A background command and what it printed by the end of the last command.
struct Job {
    index: usize,
    on: String,
    command: String,
    output: String,
}

/// How far a replay runs.
#[derive(Clone, Copy)]
enum Upto {
    /// To the end of this step (its index), then stops there.
    Step(usize),
    /// Through every step, then on to this instant.
    Time(Instant),
}

/// What a replay gave.
struct Replayed {
    reports: Vec<StepReport>,
    /// When the step replayed to started and ended.
    window: Option<(Instant, Instant)>,
    /// Virtual time where the replay stopped.
    end: Instant,
    /// Watched frames, one line each, not printed before.
    frames: String,
    /// Frames logged in all (for the next replay's `printed`), when frames were logged.
    logged: Option<usize>,
    /// Ctrl-C stopped it.
    interrupted: bool,
    /// A listing asked for was valid (`show:` candidates).
    listing_ok: Option<bool>,
    /// Why hoplab stopped the run itself (the storm guard), if it did.
    halted: Option<String>,
}

pub struct Session {
    /// The lab file's name (errors, and `input_file:` relative to it).
    file: String,
    /// The lab file's text.
    base: String,
    base_steps: usize,
    /// The lab as last loaded (with the session's steps).
    lab: Lab,
    opts: SessionOptions,
    typed: Vec<Typed>,
    node: String,
    /// Where the last step ended.
    now: Instant,
    /// Time let pass since (`sleep`), given to the next step as its `after:`.
    pending: Duration,
    watches: Vec<Watch>,
    /// Frames already printed or passed, by their number in the frame log, when the last
    /// replay logged frames (a replay numbers frames as every replay of the same steps does).
    printed: Option<usize>,
    jobs: Vec<Job>,
    /// What opening the lab said.
    opening: String,
}

/// Builtins and the words commands start with, for completion.
pub const BUILTINS: &[&str] = &[
    "on", "nodes", "watch", "unwatch", "link", "sleep", "time", "jobs", "save", "help", "exit",
    "quit",
];

pub const HELP: &str = "\
A command runs on the prompt's node as a lab step would:
  ping -c 3 ADDR, curl URL, ...   a program: runs in virtual time until it ends, then prints
  ip addr, ip neigh, bridge fdb   a listing: printed as it stands now
  CMD &                           runs in the background, as a step's background: true
  CMD1 || CMD2, CMD1 && CMD2      an AND-OR list, as a step's run: takes it
Builtins:
  on NODE [CMD]                   go to NODE (or run CMD there once)
  ip netns exec NODE CMD          run CMD on NODE (each node is a namespace)
  nodes                           list the nodes and their interfaces
  watch NODE:IFACE [FILTER]       print each frame there (matching a display filter) as
                                  commands run; watch alone lists the points watched
  unwatch [NODE:IFACE]            stop watching a point (every point without one)
  link NODE:IFACE up|down         take the link at that end down or up (a link: step)
  sleep DURATION                  let virtual time pass (500ms, 2s, 1m)
  time                            the virtual time now
  jobs                            background commands and their output so far
  save FILE                       write the lab with this session's commands as its last
                                  steps: hoplab run FILE replays the session
  help                            this text
  exit, quit, Ctrl-D              leave
Ctrl-C stops the command that runs. Each command replays the lab and the session from the
start, which gives the same state every time: a long transfer makes later commands as long.
";

impl Session {
    /// Opens a session on the lab `text` (read from `file`) and runs the lab's own steps.
    pub fn open(text: &str, file: &str, opts: SessionOptions) -> Result<Session, String> {
        let lab = super::parse(text, file).map_err(|e| e.to_string())?;
        if !lab.kernel.taps.is_empty() {
            return Err(format!(
                "hoplab shell replays a lab in virtual time, but lab '{}' has TAPs and runs in real time with the kernel; run it with `hoplab run`",
                lab.name
            ));
        }
        let names = node_names(&lab);
        let node = match &opts.on {
            Some(n) if names.iter().any(|m| m == n) => n.clone(),
            Some(n) => return Err(unknown_node(n, &names)),
            None => lab
                .hosts
                .first()
                .map(|h| h.name.clone())
                .or_else(|| lab.routers.first().map(|r| r.name.clone()))
                .or_else(|| names.first().cloned())
                .ok_or_else(|| format!("lab '{}' has no node to open a shell on", lab.name))?,
        };
        // The session's steps are appended to the file's text; make sure that works for this
        // file's layout before anything is typed.
        let probe = Typed {
            on: node.clone(),
            kind: Kind::Show,
            command: "ip addr".into(),
            background: false,
            after: None,
            timeout: None,
        };
        let appended = append_steps(text, &[probe.yaml()])
            .and_then(|t| super::parse(&t, file).map_err(|e| e.to_string()));
        if !appended.is_ok_and(|l| l.steps.len() == lab.steps.len() + 1) {
            return Err(format!(
                "{file}: cannot add steps to this lab's `steps:`; write it as a YAML list (steps: followed by `- ...` items)"
            ));
        }
        let mut session = Session {
            file: file.to_string(),
            base: text.to_string(),
            base_steps: lab.steps.len(),
            lab,
            opts,
            typed: Vec::new(),
            node,
            now: Instant::ZERO,
            pending: Duration::ZERO,
            watches: Vec::new(),
            printed: None,
            jobs: Vec::new(),
            opening: String::new(),
        };
        let n = session.base_steps;
        session.opening = match n {
            0 => format!("lab '{}': no steps; virtual time 0s", session.lab.name),
            _ => {
                let lab = session.lab.clone();
                let r = session.replay(&lab, Upto::Step(n - 1), None)?;
                session.now = r.end;
                session.take_jobs(&r.reports);
                match r.halted {
                    Some(why) => format!("lab '{}': STOPPED: {why}", session.lab.name),
                    None => format!(
                        "lab '{}': its {n} step{} ran; virtual time {}",
                        session.lab.name,
                        if n == 1 { "" } else { "s" },
                        r.end
                    ),
                }
            }
        };
        Ok(session)
    }

    /// One line on the lab and where the session starts.
    pub fn opening(&self) -> &str {
        &self.opening
    }

    /// The node commands run on.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now + self.pending
    }

    /// Time let pass after the last command, which `save` cannot keep: a step is a command.
    pub fn pending_sleep(&self) -> Duration {
        self.pending
    }

    /// How many commands the session has added to the lab.
    pub fn steps_typed(&self) -> usize {
        self.typed.len()
    }

    /// The lab's text with the session's commands as its last steps.
    pub fn lab_text(&self) -> String {
        self.text_with(None).unwrap_or_else(|_| self.base.clone())
    }

    /// The names commands can run on or be listed on.
    pub fn nodes(&self) -> Vec<String> {
        node_names(&self.lab)
    }

    /// Every `node:iface`, for `watch`.
    pub fn points(&self) -> Vec<String> {
        let lab = &self.lab;
        let mut out = Vec::new();
        for h in &lab.hosts {
            out.extend(h.ifaces.iter().map(|i| format!("{}:{}", h.name, i.name)));
        }
        for r in &lab.routers {
            out.extend(r.ifaces.iter().map(|i| format!("{}:{}", r.name, i.name)));
        }
        for b in &lab.bridges {
            out.extend(b.ports.iter().map(|(p, _)| format!("{}:{p}", b.name)));
        }
        // Interfaces that commands made (`ip link add`, `ip link set ... netns`).
        out.extend(
            lab.made
                .iter()
                .filter(|(_, i)| !i.is_empty())
                .map(|(n, i)| format!("{n}:{i}")),
        );
        out.sort();
        out.dedup();
        out
    }

    /// Runs one line typed at the prompt.
    pub fn execute(&mut self, line: &str) -> Reply {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Reply::default();
        }
        let words = match split_words(line) {
            Ok(w) if !w.is_empty() => w,
            Ok(_) => return Reply::default(),
            Err(e) => return Reply::error(e),
        };
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["help" | "?"] => Reply::text(HELP),
            ["exit" | "quit" | "logout"] => Reply {
                effect: Some(Effect::Quit),
                ..Reply::default()
            },
            ["nodes"] => Reply::text(self.node_list()),
            ["on"] => Reply::text(format!("on {}", self.node)),
            ["on", node] => match self.check_node(node) {
                Ok(()) => {
                    self.node = node.to_string();
                    Reply::default()
                }
                Err(e) => Reply::error(e),
            },
            ["on", node, ..] => {
                let node = node.to_string();
                let rest = skip_words(line, 2);
                self.command_on(&node, rest)
            }
            // A namespace that is not a node yet: the command's own error says so.
            ["ip", "netns", "exec", node, _, ..] if self.check_node(node).is_err() => {
                let node = self.node.clone();
                self.command_on(&node, line)
            }
            ["ip", "netns", "exec", node, _, ..] => {
                let node = node.to_string();
                let rest = skip_words(line, 4);
                self.command_on(&node, rest)
            }
            ["ip", "netns", "exec", ..] => Reply::error("usage: ip netns exec NODE COMMAND"),
            ["time"] => Reply::text(format!("{}", self.now())),
            ["sleep", d] => match Duration::parse(d) {
                Ok(d) => self.sleep(d),
                Err(e) => Reply::error(format!("sleep: {e}")),
            },
            ["watch"] => Reply::text(self.watch_list()),
            ["watch", point, ..] => {
                let point = point.to_string();
                let filter = skip_words(line, 2).to_string();
                self.watch(&point, &filter)
            }
            ["unwatch"] => {
                self.watches.clear();
                Reply::default()
            }
            ["unwatch", point] => {
                let before = self.watches.len();
                self.watches.retain(|w| w.point.to_string() != *point);
                match self.watches.len() < before {
                    true => Reply::default(),
                    false => Reply::error(format!("{point} is not watched")),
                }
            }
            ["jobs"] => Reply::text(self.job_list()),
            ["link", point, set @ ("up" | "down")] => {
                let up = *set == "up";
                self.link(point, up)
            }
            ["link", ..] => Reply::error("usage: link NODE:IFACE up|down"),
            ["save", file] => Reply {
                effect: Some(Effect::Save(file.to_string())),
                ..Reply::default()
            },
            ["save", ..] => Reply::error("usage: save FILE"),
            _ => {
                let node = self.node.clone();
                self.command_on(&node, line)
            }
        }
    }

    fn check_node(&self, node: &str) -> Result<(), String> {
        let names = node_names(&self.lab);
        match names.iter().any(|n| n == node) {
            true => Ok(()),
            false => Err(unknown_node(node, &names)),
        }
    }

    fn node_list(&self) -> String {
        let lab = &self.lab;
        let mut rows: Vec<(String, String, String)> = Vec::new();
        let addr = |i: &super::model::IfaceSpec| match i.cidr {
            Some(c) => format!("{} {c}", i.name),
            None => i.name.clone(),
        };
        for b in &lab.bridges {
            let ports: Vec<&str> = b.ports.iter().map(|(p, _)| p.as_str()).collect();
            rows.push((b.name.clone(), "bridge".into(), ports.join(" ")));
        }
        for h in &lab.hosts {
            let ifaces: Vec<String> = h.ifaces.iter().map(addr).collect();
            rows.push((h.name.clone(), "host".into(), ifaces.join(", ")));
        }
        for r in &lab.routers {
            let ifaces: Vec<String> = r.ifaces.iter().map(addr).collect();
            rows.push((r.name.clone(), "router".into(), ifaces.join(", ")));
        }
        for (name, on) in &lab.aliases {
            rows.push((name.clone(), "alias".into(), format!("runs on {on}")));
        }
        rows.sort();
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (name, kind, what) in rows {
            let mark = if name == self.node { "*" } else { " " };
            let _ = writeln!(out, "{mark} {name:<width$}  {kind:<6}  {what}");
        }
        out
    }

    fn watch_list(&self) -> String {
        let mut out = String::new();
        for w in &self.watches {
            match &w.filter {
                Some(f) => {
                    let _ = writeln!(out, "{} {}", w.point, f.text());
                }
                None => {
                    let _ = writeln!(out, "{}", w.point);
                }
            }
        }
        if out.is_empty() {
            out.push_str("no point is watched (watch NODE:IFACE [FILTER])\n");
        }
        out
    }

    fn job_list(&self) -> String {
        let mut out = String::new();
        for j in &self.jobs {
            let _ = writeln!(out, "[{}] {}$ {}", j.index + 1, j.on, j.command);
            out.push_str(&with_newline(j.output.clone()));
        }
        out
    }

    fn watch(&mut self, point: &str, filter: &str) -> Reply {
        let Some(ep) = parse_endpoint(point) else {
            return Reply::error(format!("{point}: give a capture point as NODE:IFACE"));
        };
        let seed = self.opts.seed.unwrap_or(self.lab.seed);
        // A point that commands made is not in the lab as built: its name is enough.
        if !self.lab.made_by_steps(&ep) {
            match super::build::build(&self.lab, seed)
                .and_then(|sim| super::build::port_of(&sim, &ep).map(|_| ()))
            {
                Ok(()) => {}
                Err(e) => return Reply::error(e),
            }
        }
        let filter = match filter.trim() {
            "" => None,
            f => match Filter::parse(f) {
                Ok(f) => Some(f),
                Err(e) => return Reply::error(format!("{e} in \"{f}\"")),
            },
        };
        self.watches.retain(|w| w.point != ep);
        self.watches.push(Watch { point: ep, filter });
        Reply::default()
    }

    /// Lets `d` of virtual time pass. Nothing runs unless frames are watched: the next
    /// command starts that much later (`after:`).
    fn sleep(&mut self, d: Duration) -> Reply {
        let end = Instant::ZERO + self.lab.duration.unwrap_or(MAX_DURATION);
        let target = self.now() + d;
        if target >= end {
            return Reply::error(format!(
                "sleep: lab '{}' ends at {end}; nothing can run after that",
                self.lab.name
            ));
        }
        if self.watches.is_empty() {
            self.pending = self.pending + d;
            return Reply::default();
        }
        let lab = match self.load(None) {
            Ok(l) => l,
            Err(e) => return Reply::error(e),
        };
        match self.replay(&lab, Upto::Time(target), None) {
            Ok(r) => {
                let reached = r.end.max(self.now());
                self.pending = reached - self.now;
                self.printed = if r.interrupted { None } else { r.logged };
                let mut out = r.frames;
                if r.interrupted {
                    let _ = writeln!(out, "^C (virtual time {reached})");
                }
                Reply::text(out)
            }
            Err(e) => Reply::error(e),
        }
    }

    /// Takes a link down or up, as a `link:` step.
    fn link(&mut self, point: &str, up: bool) -> Reply {
        let step = Typed {
            on: point.to_string(),
            kind: Kind::Link(up),
            command: String::new(),
            background: false,
            after: (self.pending > Duration::ZERO).then_some(self.pending),
            timeout: None,
        };
        self.try_step(&step).unwrap_or_else(Reply::error)
    }

    /// Runs `text` on `node`: as a command (`run:`) if the lab takes it as one, else as a
    /// listing (`show:`), as a lab author would write it.
    fn command_on(&mut self, node: &str, text: &str) -> Reply {
        if let Err(e) = self.check_node(node) {
            return Reply::error(e);
        }
        let (text, background) = match text.trim_end().strip_suffix('&') {
            Some(t) if !t.ends_with('&') => (t.trim_end(), true),
            _ => (text.trim(), false),
        };
        if text.is_empty() {
            return Reply::error("empty command");
        }
        let mut step = Typed {
            on: node.to_string(),
            kind: Kind::Run,
            command: text.to_string(),
            background,
            after: (self.pending > Duration::ZERO).then_some(self.pending),
            timeout: None,
        };
        let run_error = match self.try_step(&step) {
            Ok(reply) => return reply,
            Err(e) => e,
        };
        if background {
            return Reply::error(run_error);
        }
        step.kind = Kind::Show;
        match self.try_step(&step) {
            Ok(reply) => reply,
            // A node that runs commands says best what it takes; a bridge only lists.
            Err(show_error) => Reply::error(match self.runs_commands(node) {
                true => run_error,
                false => show_error,
            }),
        }
    }

    fn runs_commands(&self, node: &str) -> bool {
        let node = self.lab.node_of(node);
        self.lab.hosts.iter().any(|h| h.name == node)
            || self.lab.routers.iter().any(|r| r.name == node)
    }

    /// Loads the lab with `step` after the session's steps and runs it to the end of that
    /// step. Err: the lab refuses the step (its message), or the listing does not exist.
    fn try_step(&mut self, step: &Typed) -> Result<Reply, String> {
        let lab = self.load(Some(step))?;
        let index = self.base_steps + self.typed.len();
        let probe = (step.kind == Kind::Show).then(|| {
            let argv = split_words(&step.command).unwrap_or_default();
            (lab.node_of(&step.on).to_string(), argv)
        });
        let r = self.replay(&lab, Upto::Step(index), probe)?;
        if r.listing_ok == Some(false) {
            // The listing's own error, as the step would have printed it.
            let text = r
                .reports
                .iter()
                .find(|s| s.index == index + 1)
                .and_then(|s| s.listing.clone())
                .unwrap_or_default();
            return Err(text.trim_end().to_string());
        }
        let Some(report) = r.reports.iter().find(|s| s.index == index + 1) else {
            // It never started: Ctrl-C during the steps before it, the storm guard, or the
            // lab's end.
            let why = match (r.interrupted, &r.halted) {
                (true, _) => {
                    "^C: stopped before the command started; nothing was added".to_string()
                }
                (false, Some(halt)) => format!("the run stops before this command: {halt}"),
                (false, None) => format!(
                    "lab '{}' ends at {}; nothing runs after that",
                    lab.name, r.end
                ),
            };
            return Ok(Reply {
                output: format!("{}{why}\n", r.frames),
                exit_code: if r.interrupted { 130 } else { 1 },
                effect: None,
            });
        };
        let mut saved = step.clone();
        let mut out = r.frames.clone();
        let stopped = r.halted.as_ref().map(|h| format!("STOPPED: {h}\n"));
        let mut exit_code = 0;
        if step.kind == Kind::Show {
            out.push_str(report.listing.as_deref().unwrap_or(""));
        } else if let Kind::Link(_) = step.kind {
            // As `ip link set` prints nothing.
        } else if step.background {
            let _ = writeln!(
                out,
                "[{}] {}$ {} (in the background; `jobs` shows its output)",
                index + 1,
                step.on,
                step.command
            );
        } else {
            let result = report.result.clone().unwrap_or_default();
            out.push_str(&with_newline(result.output));
            exit_code = result.exit_code;
            if r.interrupted
                && result.stopped
                && let Some((start, end)) = r.window
            {
                // Saved with the time it ran, so a replay stops it at the same point.
                saved.timeout = Some(end - start);
                let _ = writeln!(
                    out,
                    "^C (stopped after {:.6}s of virtual time)",
                    (end - start).as_secs_f64()
                );
                exit_code = 130;
            }
        }
        out = with_newline(out);
        out.push_str(stopped.as_deref().unwrap_or(""));
        self.typed.push(saved);
        self.now = r.end;
        self.pending = Duration::ZERO;
        // A replay stops a command given a timeout where its clock says, which may be a few
        // events from where Ctrl-C stopped it: count frames afresh next time.
        self.printed = if r.interrupted { None } else { r.logged };
        self.take_jobs(&r.reports);
        // The lab with the step knows what it made (a container, an interface).
        self.lab = lab;
        Ok(Reply {
            output: with_newline(out),
            exit_code,
            effect: None,
        })
    }

    /// The lab with the session's steps and `extra` after them.
    fn text_with(&self, extra: Option<&Typed>) -> Result<String, String> {
        let items: Vec<String> = self.typed.iter().chain(extra).map(Typed::yaml).collect();
        append_steps(&self.base, &items)
    }

    fn load(&self, extra: Option<&Typed>) -> Result<Lab, String> {
        let text = self.text_with(extra)?;
        super::parse(&text, &self.file).map_err(|errs| {
            // The lab without the step loaded, so every error is the step's own: its message
            // without the location in a text the user never saw.
            let lines: Vec<String> = errs.0.iter().map(|e| e.message.clone()).collect();
            lines.join("\n")
        })
    }

    /// Runs `lab` from the start as far as `upto` says.
    fn replay(
        &self,
        lab: &Lab,
        upto: Upto,
        probe: Option<(String, Vec<String>)>,
    ) -> Result<Replayed, String> {
        let mut lab = lab.clone();
        if let Upto::Time(_) = upto {
            // Past the last step the runner waits for the network to be quiet for `settle`;
            // here it runs on to the instant asked for.
            lab.settle = Duration::MAX;
        }
        let run_opts = RunOptions {
            out_dir: self.opts.out_dir.clone(),
            seed: self.opts.seed,
            capture: Some(self.opts.capture.unwrap_or(CaptureMode::None)),
            interrupt: self.opts.interrupt.clone(),
            merged_to: self.opts.merged_to.clone(),
            max_capture_bytes: DEFAULT_MAX_CAPTURE_BYTES,
            snaplen: None,
        };
        let mut runner = Runner::new(&lab, &run_opts)?;
        let logging = !self.watches.is_empty();
        if logging {
            runner.sim.set_frame_log();
        }
        let target = match upto {
            Upto::Step(k) => Some(k + 1),
            Upto::Time(t) => {
                runner.stop_at(t - Instant::ZERO);
                None
            }
        };
        // Frames logged when the step before the target ended: where this command's began.
        let before = Rc::new(Cell::new(0usize));
        let listing_ok = Rc::new(Cell::new(None));
        {
            let (before, listing_ok) = (before.clone(), listing_ok.clone());
            runner.set_pause(Box::new(move |sim, reports| {
                let Some(last) = reports.last() else {
                    return Resume::Step;
                };
                if Some(last.index) == target {
                    if let Some((node, argv)) = &probe {
                        let ok = sim.find_node(node).map(|id| sim.show(id, argv).is_ok());
                        listing_ok.set(Some(ok == Some(true)));
                    }
                    return Resume::Stop;
                }
                before.set(sim.trace_log().len());
                Resume::Step
            }));
        }
        let report = runner.run();
        // Cleared only once a run has seen it: a Ctrl-C just before a command starts stops
        // that command rather than being lost.
        let interrupted = self
            .opts
            .interrupt
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed));
        let window = match upto {
            Upto::Step(k) => runner.step_window(k),
            Upto::Time(_) => None,
        };
        let frames = match logging {
            true => self.frames(runner.sim.trace_log(), self.printed.unwrap_or(before.get())),
            false => String::new(),
        };
        Ok(Replayed {
            reports: report.steps,
            window,
            end: runner.sim.now(),
            frames,
            logged: logging.then(|| runner.sim.trace_log().len()),
            interrupted,
            listing_ok: listing_ok.get(),
            halted: report.halted,
        })
    }

    /// One line per watched frame logged after the first `from`.
    fn frames(&self, log: &[crate::sim::TraceRecord], from: usize) -> String {
        let mut out = String::new();
        for r in log.iter().skip(from) {
            let seen = self.watches.iter().any(|w| {
                w.point.to_string() == r.point
                    && w.filter.as_ref().is_none_or(|f| {
                        let mut comment = format!("id={}", r.id);
                        if r.re != 0 {
                            let _ = write!(comment, " re={}", r.re);
                        }
                        for n in r.notes.iter().filter(|n| !n.is_empty()) {
                            let _ = write!(comment, "; {n}");
                        }
                        f.matches(&r.bytes, Some(&comment))
                    })
            });
            if seen {
                let _ = writeln!(
                    out,
                    "[{:>10.6}s] {} {:<3} {}",
                    r.at, r.point, r.dir, r.summary
                );
            }
        }
        out
    }

    /// Background steps and their output as the replay left them.
    fn take_jobs(&mut self, reports: &[StepReport]) {
        self.jobs = reports
            .iter()
            .filter(|r| r.background)
            .map(|r| Job {
                index: r.index - 1,
                on: r.on.clone().unwrap_or_default(),
                command: r.command.clone(),
                output: r
                    .result
                    .as_ref()
                    .map(|c| c.output.clone())
                    .unwrap_or_default(),
            })
            .collect();
    }
}

fn node_names(lab: &Lab) -> Vec<String> {
    let mut names: Vec<String> = lab
        .bridges
        .iter()
        .map(|b| b.name.clone())
        .chain(lab.hosts.iter().map(|h| h.name.clone()))
        .chain(lab.routers.iter().map(|r| r.name.clone()))
        .chain(lab.aliases.keys().cloned())
        // Namespaces and bridges that commands made (`ip netns add`, `ip link add`).
        .chain(lab.made.iter().map(|(n, _)| n.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn unknown_node(node: &str, names: &[String]) -> String {
    let hint = super::error::suggest(node, names.iter().map(String::as_str));
    format!(
        "no node named '{node}'{hint}; the nodes are {}",
        names.join(", ")
    )
}

/// What follows the first `n` shell words of `line` (quotes and backslashes read as
/// `split_words` reads them), so the rest keeps its own quoting.
fn skip_words(line: &str, n: usize) -> &str {
    let mut words = 0;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                chars.next();
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words += 1;
                    in_word = false;
                    if words == n {
                        return line[i..].trim();
                    }
                }
            }
            (None, _) => in_word = true,
        }
    }
    ""
}

/// `text` (a lab file) with `items` (YAML flow mappings) added at the end of its top-level
/// `steps:`, leaving every other line as it was (comments included): a block list gets
/// one `- ITEM` line each, at its items' indentation, after its last item's lines; a flow
/// list (`steps: [...]`) gets them before its `]`; a lab without steps gets a `steps:`.
pub(crate) fn append_steps(text: &str, items: &[String]) -> Result<String, String> {
    if items.is_empty() {
        return Ok(text.to_string());
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(k) = lines.iter().position(|l| steps_key(l).is_some()) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("steps:\n");
        for i in items {
            let _ = writeln!(out, "  - {i}");
        }
        return Ok(out);
    };
    let rest = steps_key(lines[k]).unwrap_or("");
    let value = rest.trim_start();
    if value.starts_with('[') {
        let open =
            lines[..k].iter().map(|l| l.len()).sum::<usize>() + (lines[k].len() - value.len());
        let (close, has_items) =
            closing_bracket(text, open).ok_or("the lab's `steps: [` list has no closing `]`")?;
        let sep = if has_items { ", " } else { "" };
        return Ok(format!(
            "{}{sep}{}{}",
            &text[..close],
            items.join(", "),
            &text[close..]
        ));
    }
    let head: String;
    let mut lines = lines;
    let plain = value.split(" #").next().unwrap_or("").trim();
    if !value.is_empty() && !value.starts_with('#') {
        if !matches!(plain, "~" | "null" | "Null" | "NULL") {
            return Err("the lab's `steps:` is neither a list nor empty".into());
        }
        head = "steps:\n".to_string();
        lines[k] = &head;
    }
    // The block's extent: indented lines, and `- ` lines at column 0 (a list may sit at its
    // key's indentation), up to the next top-level key.
    let mut indent = None;
    let mut last = k;
    for (i, l) in lines.iter().enumerate().skip(k + 1) {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        let lead = l.len() - l.trim_start_matches(' ').len();
        let dash = t.starts_with('-') && !t.starts_with("---");
        if lead == 0 && !t.starts_with('#') && !dash {
            break;
        }
        // A comment at the items' level or left of it belongs to what follows (a literal
        // block's `#` lines, deeper, are its text).
        if t.starts_with('#') && indent.is_none_or(|d| lead <= d) {
            continue;
        }
        if indent.is_none() && dash {
            indent = Some(lead);
        }
        last = i;
    }
    let dash = " ".repeat(indent.unwrap_or(2));
    let mut out: String = lines[..=last].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for i in items {
        let _ = writeln!(out, "{dash}- {i}");
    }
    out.push_str(&lines[last + 1..].concat());
    Ok(out)
}

/// What follows `steps:` when `line` is the top-level key.
fn steps_key(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("steps")?.trim_start_matches(' ');
    let rest = rest.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r'])).then_some(rest)
}

/// The `]` closing the flow list opened at `open`, and whether the list holds anything;
/// quotes and comments are skipped.
fn closing_bracket(text: &str, open: usize) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut has_items = false;
    let mut i = open;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'[' | b'{' => {
                if depth > 0 {
                    has_items = true;
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some((i, has_items));
                }
            }
            b'"' => {
                has_items = true;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' => {
                has_items = true;
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            c if !c.is_ascii_whitespace() && c != b',' => has_items = true,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests;

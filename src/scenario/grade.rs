//! Grading labs: `hoplab test` runs labs and reports each as pass, FAIL, skipped or error
//! (`TestReport`, also as JSON and JUnit XML); an answers file gives exercises the student's
//! commands; `requires: [net_admin]` is checked against the process's capabilities.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use super::error::{LabError, LabErrors};
use super::model::{Action, Lab};
use super::run::{Check, RunOptions, RunReport, Runner};
use crate::host::Host;
use crate::id::NodeId;
use crate::listing::iproute::split_words;
use crate::sim::{CmdResult, Sim};
pub use crate::tap::cap_eff_has_net_admin;

/// The version of [`TestReport`]'s JSON.
pub const REPORT_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------
// Exercises and answers

/// An exercise step of a lab: (node it runs on, id, prompt).
pub fn exercises(lab: &Lab) -> impl Iterator<Item = (&str, &str, &str)> {
    lab.steps.iter().filter_map(|s| match &s.action {
        Action::Exercise { id, prompt, .. } => {
            Some((s.on.as_deref().unwrap_or(""), id.as_str(), prompt.as_str()))
        }
        _ => None,
    })
}

/// One command of an answer: as typed, and split into words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub argv: Vec<String>,
}

/// An answers file: exercise id → the student's commands, each id with its location.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub file: String,
    pub by_id: BTreeMap<String, (u64, u64, Vec<Answer>)>,
}

/// An answer as written: a list of commands, or one text with a command per line.
enum Written {
    Lines(String),
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Written;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of commands, or a text with one command per line")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Written, E> {
                Ok(Written::Lines(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Written, E> {
                Ok(Written::List(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(Written::List(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The file's map, in document order, keys located (a repeated id is an error, so a map type
/// that keeps one of them silently will not do).
struct WrittenMap(Vec<(Spanned<String>, Written)>);

impl<'de> Deserialize<'de> for WrittenMap {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WrittenMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from exercise id to the commands that answer it")
            }
            fn visit_unit<E: de::Error>(self) -> Result<WrittenMap, E> {
                Ok(WrittenMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WrittenMap, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    v.push((k, map.next_value::<Written>()?));
                }
                Ok(WrittenMap(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Answers {
    /// Reads an answers file (YAML: `ID: [command, ...]` or `ID: |` with a command per line).
    pub fn load(path: &Path) -> Result<Answers, LabErrors> {
        let file = path.display().to_string();
        let text = super::read_bounded(path)
            .map_err(|e| one_error(&file, 1, 1, "(file)", format!("cannot read: {e}")))?;
        Answers::parse(&text, &file)
    }

    /// An answers file given as text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Answers, LabErrors> {
        let written: WrittenMap = if text.trim().is_empty() {
            WrittenMap(Vec::new())
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                let mut err = super::error::from_yaml(file, text, &e);
                if let Some(id) = top_level_key(text, err.line) {
                    err.field = id;
                }
                LabErrors(vec![err])
            })?
        };
        let mut errors = Vec::new();
        let mut by_id = BTreeMap::new();
        for (key, value) in written.0 {
            let (line, column) = (key.referenced.line(), key.referenced.column());
            let lines: Vec<String> = match value {
                Written::List(v) => v,
                Written::Lines(t) => t.lines().map(str::to_string).collect(),
            };
            let mut answers = Vec::new();
            for (n, l) in lines.iter().enumerate() {
                let t = l.trim();
                // Blank lines and shell comments are allowed, as in a script.
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                match split_words(t) {
                    Ok(argv) => answers.push(Answer {
                        text: t.to_string(),
                        argv,
                    }),
                    Err(e) => errors.push(LabError {
                        file: file.to_string(),
                        line,
                        column,
                        field: key.value.clone(),
                        message: format!("command {}: {e}", n + 1),
                    }),
                }
            }
            if by_id.contains_key(&key.value) {
                errors.push(LabError {
                    file: file.to_string(),
                    line,
                    column,
                    field: key.value.clone(),
                    message: format!("exercise '{}' is answered twice", key.value),
                });
                continue;
            }
            by_id.insert(key.value, (line, column, answers));
        }
        if !errors.is_empty() {
            return Err(LabErrors(errors));
        }
        Ok(Answers {
            file: file.to_string(),
            by_id,
        })
    }

    /// Every answered id must be an exercise of one of `labs`: an answer to nothing is a typo
    /// that would otherwise grade as "no answer given".
    pub fn check_ids<'a>(&self, labs: impl IntoIterator<Item = &'a Lab>) -> Result<(), LabErrors> {
        let known: BTreeSet<&str> = labs
            .into_iter()
            .flat_map(|l| exercises(l).map(|(_, id, _)| id))
            .collect();
        let mut errors: Vec<LabError> = self
            .by_id
            .iter()
            .filter(|(id, _)| !known.contains(id.as_str()))
            .map(|(id, (line, column, _))| {
                let hint = super::error::suggest(id, known.iter().copied());
                let message = match known.is_empty() {
                    true => format!("no exercise '{id}': the labs given have no exercise"),
                    false => format!("no exercise '{id}'{hint}"),
                };
                LabError {
                    file: self.file.clone(),
                    line: *line,
                    column: *column,
                    field: id.clone(),
                    message,
                }
            })
            .collect();
        errors.sort_by_key(|e| (e.line, e.column));
        match errors.is_empty() {
            true => Ok(()),
            false => Err(LabErrors(errors)),
        }
    }

    /// The answers to `lab`'s exercises.
    pub fn for_lab(&self, lab: &Lab) -> BTreeMap<String, Vec<Answer>> {
        exercises(lab)
            .filter_map(|(_, id, _)| {
                self.by_id
                    .get(id)
                    .map(|(_, _, a)| (id.to_string(), a.clone()))
            })
            .collect()
    }
}

/// The top-level key (an exercise id) whose value holds line `line` (from 1): ids may hold
/// `-` and `.`, which the lab loader's guess at a field name does not expect.
fn top_level_key(text: &str, line: u64) -> Option<String> {
    let upto = usize::try_from(line).ok()?;
    let lines: Vec<&str> = text.lines().take(upto).collect();
    lines.into_iter().rev().find_map(|l| {
        let first = l.chars().next()?;
        if first.is_whitespace() || first == '#' || first == '-' {
            return None;
        }
        let (k, _) = l.split_once(':')?;
        Some(k.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

fn one_error(file: &str, line: u64, column: u64, field: &str, message: String) -> LabErrors {
    LabErrors(vec![LabError {
        file: file.to_string(),
        line,
        column,
        field: field.to_string(),
        message,
    }])
}

// ---------------------------------------------------------------------------------------
// Capabilities

/// Whether this process has CAP_NET_ADMIN (false when `/proc/self/status` cannot be read).
/// `HOPLAB_NO_NET_ADMIN=1` makes it false: a testing aid, to see a lab skipped as root.
pub fn has_net_admin() -> bool {
    if std::env::var("HOPLAB_NO_NET_ADMIN").as_deref() == Ok("1") {
        return false;
    }
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| cap_eff_has_net_admin(&s))
}

/// Why this process cannot run `lab` (it requires a capability the process lacks), or None.
pub fn unmet_requirement(lab: &Lab, net_admin: bool) -> Option<String> {
    let needs = lab.requires.iter().any(|r| r == "net_admin");
    (needs && !net_admin)
        .then(|| "requires CAP_NET_ADMIN (requires: [net_admin]), which this process lacks".into())
}

/// The error `hoplab run` gives for a lab it may not run: the capability and the fix.
pub fn requirement_error(lab: &Lab, reason: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "hoplab".into());
    format!(
        "lab '{}' {reason}; run hoplab as root (sudo), or give the binary the capability: \
         sudo setcap cap_net_admin+ep {exe}",
        lab.name
    )
}

/// `HOPLAB_REQUIRE_PRIVILEGED=1`: a lab skipped for want of privilege fails instead.
pub fn require_privileged() -> bool {
    std::env::var("HOPLAB_REQUIRE_PRIVILEGED").as_deref() == Ok("1")
}

// ---------------------------------------------------------------------------------------
// Finding labs

/// The labs at the top of `dir`: its `*.yaml` files (not those in subdirectories), sorted by
/// file name.
pub fn labs_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut labs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") && path.is_file() {
            labs.push(path);
        }
    }
    labs.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(labs)
}

// ---------------------------------------------------------------------------------------
// Running labs

/// How a lab (or an exercise) came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skipped,
    /// Bad input: the lab file, or a lab that cannot be built.
    Error,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        })
    }
}

/// One command of an answer and its exit code.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct AnswerRun {
    pub command: String,
    pub exit_code: i32,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ExerciseOutcome {
    pub id: String,
    pub on: String,
    pub prompt: String,
    /// Whether the answers file answered it.
    pub answered: bool,
    pub commands: Vec<AnswerRun>,
    /// Pass when the lab passed and each command exited 0.
    pub result: Outcome,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LabOutcome {
    pub file: String,
    /// None when the file did not load.
    pub name: Option<String>,
    pub result: Outcome,
    /// Why it was skipped (or failed for being skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Expectations (step checks and capture expectations) that held and that failed.
    pub passed: usize,
    pub failed: usize,
    /// Virtual seconds the run took (0 when it did not run).
    pub virtual_time: f64,
    /// Wall-clock seconds (informative only: it varies from run to run).
    pub wall_time: f64,
    /// Each failed check, as the text report prints it.
    pub failures: Vec<String>,
    pub exercises: Vec<ExerciseOutcome>,
    /// The located error when the lab is bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's report, as `hoplab run --json` prints it; its `files` are named relative
    /// to the temporary directory the captures went to, which is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<RunReport>,
}

/// What `hoplab test --json` prints.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct TestReport {
    pub version: u32,
    pub labs: Vec<LabOutcome>,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    /// True when the run was interrupted (Ctrl-C): the labs after it did not run.
    pub interrupted: bool,
}

impl TestReport {
    pub fn new(labs: Vec<LabOutcome>, interrupted: bool) -> TestReport {
        let count = |o: Outcome| labs.iter().filter(|l| l.result == o).count();
        TestReport {
            version: REPORT_VERSION,
            passed: count(Outcome::Pass),
            failed: count(Outcome::Fail),
            skipped: count(Outcome::Skipped),
            errors: count(Outcome::Error),
            labs,
            interrupted,
        }
    }

    /// 0 every lab passed or was skipped; 1 a lab failed; 2 no lab, or a lab is bad input.
    pub fn exit_code(&self) -> u8 {
        if self.labs.is_empty() || self.errors > 0 {
            2
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }
}

pub struct TestOptions {
    pub answers: Option<Answers>,
    pub net_admin: bool,
    pub require_privileged: bool,
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// A directory of its own under the system's temporary directory, deleted when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!("hoplab-test-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(TempDir(dir)),
                // Left by an earlier process with the same pid: take the next name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_text(c: &Check) -> String {
    match c.expected.as_str() {
        "yes" => c.what.clone(),
        _ => format!("{}: {} (expected {})", c.what, c.actual, c.expected),
    }
}

fn blank(file: &Path, name: Option<String>, result: Outcome) -> LabOutcome {
    LabOutcome {
        file: file.display().to_string(),
        name,
        result,
        reason: None,
        passed: 0,
        failed: 0,
        virtual_time: 0.0,
        wall_time: 0.0,
        failures: Vec::new(),
        exercises: Vec::new(),
        error: None,
        report: None,
    }
}

/// Runs one lab (already loaded, or the error that kept it from loading), its captures going
/// to a temporary directory that is deleted afterwards. A lab that makes hoplab panic is an
/// error of that lab: the labs after it still run and the table is still printed.
pub fn test_lab(file: &Path, loaded: &Result<Lab, LabErrors>, opts: &TestOptions) -> LabOutcome {
    let name = loaded.as_ref().ok().map(|l| l.name.clone());
    panic_is_error(file, name, || test_lab_inner(file, loaded, opts))
}

/// The outcome `test` gives, or an error outcome naming the panic if it panicked.
fn panic_is_error(
    file: &Path,
    name: Option<String>,
    test: impl FnOnce() -> LabOutcome,
) -> LabOutcome {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let mut o = blank(file, name, Outcome::Error);
        o.error = Some(format!(
            "{}: hoplab panicked (a bug in hoplab, not in the lab; please report it): {what}",
            file.display()
        ));
        o
    })
}

fn test_lab_inner(file: &Path, loaded: &Result<Lab, LabErrors>, opts: &TestOptions) -> LabOutcome {
    let lab = match loaded {
        Ok(l) => l,
        Err(e) => {
            let mut o = blank(file, None, Outcome::Error);
            o.error = Some(e.to_string());
            return o;
        }
    };
    let mut out = blank(file, Some(lab.name.clone()), Outcome::Pass);
    let exercise_list = |result: Outcome| -> Vec<ExerciseOutcome> {
        exercises(lab)
            .map(|(on, id, prompt)| ExerciseOutcome {
                id: id.to_string(),
                on: on.to_string(),
                prompt: prompt.to_string(),
                answered: opts
                    .answers
                    .as_ref()
                    .is_some_and(|a| a.by_id.contains_key(id)),
                commands: Vec::new(),
                result,
            })
            .collect()
    };
    if let Some(reason) = unmet_requirement(lab, opts.net_admin) {
        if opts.require_privileged {
            out.result = Outcome::Fail;
            out.reason = Some(format!(
                "{reason} (HOPLAB_REQUIRE_PRIVILEGED=1: a skip is a failure)"
            ));
        } else {
            out.result = Outcome::Skipped;
            out.reason = Some(reason);
        }
        out.exercises = exercise_list(out.result);
        return out;
    }
    let wall = std::time::Instant::now();
    let tmp = match TempDir::new() {
        Ok(t) => t,
        Err(e) => {
            out.result = Outcome::Error;
            out.error = Some(format!("cannot make a temporary directory: {e}"));
            return out;
        }
    };
    let run_opts = RunOptions {
        out_dir: Some(tmp.0.clone()),
        seed: None,
        capture: None,
        interrupt: opts.interrupt.clone(),
        merged_to: None,
        max_capture_bytes: super::run::DEFAULT_MAX_CAPTURE_BYTES,
        snaplen: None,
    };
    let mut runner = match Runner::new(lab, &run_opts) {
        Ok(r) => r,
        Err(e) => {
            out.result = Outcome::Error;
            out.error = Some(format!("{}: {e}", file.display()));
            return out;
        }
    };
    if let Some(a) = &opts.answers {
        runner.set_answers(a.for_lab(lab));
    }
    // A lab with TAPs plugs into the kernel (its `requires: [net_admin]` was checked above).
    let tap_opts = crate::tap::SetupOptions::default();
    if let Err(e) = super::taps::attach(&mut runner, lab, tap_opts, &mut |_| {}) {
        out.result = Outcome::Error;
        out.error = Some(format!("{}: {e}", file.display()));
        return out;
    }
    let mut report = runner.run();
    drop(runner);
    out.wall_time = wall.elapsed().as_secs_f64();
    for f in &mut report.files {
        if let Ok(rel) = f.path.strip_prefix(&tmp.0) {
            f.path = rel.to_path_buf();
        }
    }
    drop(tmp);
    // A named step's failures carry its name, so a grader matches them by name.
    let checks = report
        .steps
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| (s.name.as_deref(), c)))
        .chain(report.expectations.iter().map(|c| (None, c)));
    for (step, c) in checks {
        if c.pass {
            out.passed += 1;
        } else {
            out.failed += 1;
            out.failures.push(match step {
                Some(name) => format!("step {name}: {}", check_text(c)),
                None => check_text(c),
            });
        }
    }
    if report.interrupted {
        out.failures.push("interrupted".into());
    }
    if let Some(why) = report.halted.as_ref().filter(|_| !report.passed) {
        out.failures.push(format!("stopped: {why}"));
    }
    out.virtual_time = report.virtual_time;
    out.result = match report.passed {
        true => Outcome::Pass,
        false => Outcome::Fail,
    };
    if let Some(f) = &report.capture_failure {
        out.result = Outcome::Error;
        out.error = Some(format!(
            "captures failed: {}: {}",
            f.path.display(),
            f.error
        ));
    }
    out.exercises = exercise_list(out.result);
    for ex in &mut out.exercises {
        ex.commands = report
            .steps
            .iter()
            .filter(|s| s.kind == "run" && s.exercise.as_deref() == Some(ex.id.as_str()))
            .map(|s| AnswerRun {
                command: s.command.clone(),
                exit_code: s.result.as_ref().map_or(-1, |r| r.exit_code),
            })
            .collect();
        if ex.commands.iter().any(|c| c.exit_code != 0) {
            ex.result = Outcome::Fail;
        }
    }
    out.report = Some(report);
    out
}

// ---------------------------------------------------------------------------------------
// JUnit XML

/// Escapes text for an XML element's content. Characters XML 1.0 cannot hold at all (most
/// control characters) become U+FFFD, so a command's odd output cannot break the file.
pub fn xml_text(s: &str) -> String {
    xml_escape(s, false)
}

/// Escapes text for a double- or single-quoted XML attribute; line breaks and tabs are kept
/// as character references (a parser would turn raw ones into spaces).
pub fn xml_attr(s: &str) -> String {
    xml_escape(s, true)
}

fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>`, a `<testcase>` per lab and one per exercise.
pub fn junit(report: &TestReport) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    let mut total_time = 0.0;
    for lab in &report.labs {
        total_time += lab.wall_time;
        let name = match &lab.name {
            Some(n) => format!("lab {n}"),
            None => "lab".into(),
        };
        tests += 1;
        let body = match lab.result {
            Outcome::Pass => String::new(),
            Outcome::Fail => {
                failures += 1;
                let message = match &lab.reason {
                    Some(r) => r.clone(),
                    None => format!(
                        "{} of {} expectations failed",
                        lab.failed,
                        lab.passed + lab.failed
                    ),
                };
                format!(
                    "      <failure message=\"{}\">{}</failure>\n",
                    xml_attr(&message),
                    xml_text(&lab.failures.join("\n"))
                )
            }
            Outcome::Skipped => {
                skipped += 1;
                format!(
                    "      <skipped message=\"{}\"/>\n",
                    xml_attr(lab.reason.as_deref().unwrap_or(""))
                )
            }
            Outcome::Error => {
                errors += 1;
                format!(
                    "      <error message=\"bad input\">{}</error>\n",
                    xml_text(lab.error.as_deref().unwrap_or(""))
                )
            }
        };
        push_case(&mut cases, &lab.file, &name, lab.wall_time, &body);
        for ex in &lab.exercises {
            tests += 1;
            let body = match ex.result {
                Outcome::Pass => String::new(),
                Outcome::Skipped => {
                    skipped += 1;
                    format!(
                        "      <skipped message=\"{}\"/>\n",
                        xml_attr(lab.reason.as_deref().unwrap_or(""))
                    )
                }
                Outcome::Fail | Outcome::Error => {
                    failures += 1;
                    let mut lines = Vec::new();
                    if !ex.answered {
                        lines.push(format!("exercise '{}' was not answered", ex.id));
                    }
                    for c in ex.commands.iter().filter(|c| c.exit_code != 0) {
                        lines.push(format!(
                            "{}$ {}: exit code {}",
                            ex.on, c.command, c.exit_code
                        ));
                    }
                    if lab.result != Outcome::Pass {
                        lines.push(format!(
                            "the lab failed: {} of {} expectations",
                            lab.failed,
                            lab.passed + lab.failed
                        ));
                        lines.extend(lab.failures.iter().cloned());
                    }
                    let message = lines.first().cloned().unwrap_or_default();
                    format!(
                        "      <failure message=\"{}\">{}</failure>\n",
                        xml_attr(&message),
                        xml_text(&lines.join("\n"))
                    )
                }
            };
            push_case(
                &mut cases,
                &lab.file,
                &format!("exercise {}", ex.id),
                0.0,
                &body,
            );
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"hoplab\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"{skipped}\" time=\"{total_time:.3}\">"
    );
    out.push_str(&cases);
    out.push_str("</testsuite>\n");
    out
}

fn push_case(out: &mut String, class: &str, name: &str, time: f64, body: &str) {
    let head = format!(
        "  <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
        xml_attr(class),
        xml_attr(name)
    );
    if body.is_empty() {
        let _ = writeln!(out, "{head}/>");
    } else {
        let _ = write!(out, "{head}>\n{body}  </testcase>\n");
    }
}

// ---------------------------------------------------------------------------------------
// A host's configuration commands, for answers

fn done(exit_code: i32, output: impl Into<String>) -> CmdResult {
    CmdResult {
        exit_code,
        output: output.into(),
        ..CmdResult::default()
    }
}

/// `ip addr add|del|flush` and `ip route add|replace|del default` on a host, as iproute2
/// does them (its messages and exit codes), so an answer can fix a host's address or
/// default route. None: not such a command, or not a host (it runs as usual).
pub(super) fn host_command(
    sim: &mut Sim,
    lab: &Lab,
    node: NodeId,
    argv: &[String],
) -> Option<CmdResult> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let addr = matches!(words.get(1), Some(&("addr" | "address" | "a")));
    let route = matches!(words.get(1), Some(&("route" | "r")));
    let change = matches!(
        words.get(2),
        Some(&("add" | "del" | "delete" | "replace" | "change" | "flush"))
    );
    if words.first() != Some(&"ip") || !(addr || route) || !change {
        return None;
    }
    sim.node_as::<Host>(node)?;
    let spec = lab.hosts.iter().find(|h| h.name == sim.node_name(node))?;
    let ifaces: Vec<String> = spec.ifaces.iter().map(|i| i.name.clone()).collect();
    let verb = words[2];
    let rest = &words[3..];
    // `dev IF` anywhere in the arguments, as iproute2 takes it.
    let dev = rest.windows(2).find(|w| w[0] == "dev").map(|w| w[1]);
    let dev_index = match dev {
        Some(d) => match ifaces.iter().position(|i| i == d) {
            Some(i) => Some(i),
            None => return Some(done(1, format!("Cannot find device \"{d}\"\n"))),
        },
        None => None,
    };
    let now = sim.now();
    if addr {
        let Some(i) = dev_index else {
            return Some(done(
                1,
                "Not enough information: \"dev\" argument is required.\n",
            ));
        };
        let current = sim.update::<Host, _>(node, |h| h.iface_config(i).clone())?;
        if verb == "flush" {
            let mut cfg = current;
            cfg.cidr = None;
            sim.update::<Host, _>(node, |h| h.set_iface(now, i, cfg));
            return Some(done(0, ""));
        }
        let Some(text) = rest.iter().find(|w| **w != "dev" && Some(**w) != dev) else {
            return Some(done(1, "Not enough information: address is required.\n"));
        };
        let (cidr, warn) = match text.parse::<Ipv4Cidr>() {
            Ok(c) => (c, false),
            Err(_) => match text.parse::<Ipv4Address>() {
                Ok(a) => (Ipv4Cidr::new(a, 32), true),
                Err(_) => {
                    return Some(done(
                        1,
                        format!("Error: any valid prefix is expected rather than \"{text}\".\n"),
                    ));
                }
            },
        };
        match verb {
            "del" | "delete" => {
                // A bare address deletes whatever prefix it has, with iproute2's warning.
                let matches = current
                    .cidr
                    .is_some_and(|c| c.address() == cidr.address() && (warn || c == cidr));
                if !matches {
                    return Some(done(
                        2,
                        "RTNETLINK answers: Cannot assign requested address\n",
                    ));
                }
                let mut out = String::new();
                if warn {
                    out = format!(
                        "Warning: Executing wildcard deletion to stay compatible with old \
                         scripts.\n         Explicitly specify the prefix length ({text}/32) \
                         to avoid this warning.\n         This special behaviour is likely to \
                         disappear in further releases,\n         fix your scripts!\n"
                    );
                }
                let mut cfg = current;
                cfg.cidr = None;
                // With its address the interface loses the routes through it, the default
                // route included, as in the kernel.
                sim.update::<Host, _>(node, |h| h.set_iface(now, i, cfg));
                Some(done(0, out))
            }
            _ => {
                if current.cidr == Some(cidr) {
                    return Some(match verb {
                        "add" => done(2, "RTNETLINK answers: File exists\n"),
                        _ => done(0, ""),
                    });
                }
                if let Some(c) = current.cidr {
                    return Some(done(
                        2,
                        format!(
                            "hoplab: a host's interface holds one address here; delete {c} \
                             first (ip addr del {c} dev {})\n",
                            ifaces[i]
                        ),
                    ));
                }
                let mut cfg = current;
                cfg.cidr = Some(cidr);
                sim.update::<Host, _>(node, |h| h.set_iface(now, i, cfg));
                Some(done(0, ""))
            }
        }
    } else {
        let listing = sim
            .show(node, &["ip".into(), "route".into()])
            .unwrap_or_default();
        let gateway = listing
            .lines()
            .find_map(|l| l.strip_prefix("default via "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|g| g.parse::<Ipv4Address>().ok());
        if rest.first() != Some(&"default") && rest.first() != Some(&"0.0.0.0/0") {
            return Some(done(
                2,
                "hoplab: a host takes a default route only: ip route add default via GATEWAY\n",
            ));
        }
        let via = rest.windows(2).find(|w| w[0] == "via").map(|w| w[1]);
        match verb {
            "del" | "delete" | "flush" => {
                let wanted = via.map(|v| v.parse::<Ipv4Address>().ok());
                if gateway.is_none() || wanted.is_some_and(|w| w != gateway) {
                    return Some(done(2, "RTNETLINK answers: No such process\n"));
                }
                sim.update::<Host, _>(node, |h| h.set_gateway(None));
                Some(done(0, ""))
            }
            _ => {
                let Some(via) = via else {
                    return Some(done(
                        2,
                        "hoplab: give the gateway: ip route add default via GATEWAY\n",
                    ));
                };
                let Ok(gw) = via.parse::<Ipv4Address>() else {
                    return Some(done(
                        1,
                        format!("Error: inet address is expected rather than \"{via}\".\n"),
                    ));
                };
                if verb == "add" && gateway.is_some() {
                    return Some(done(2, "RTNETLINK answers: File exists\n"));
                }
                // The gateway must be on a subnet of the interface (of any, without `dev`).
                let reachable = spec.ifaces.iter().enumerate().any(|(k, _)| {
                    dev_index.is_none_or(|d| d == k)
                        && sim
                            .update::<Host, _>(node, |h| h.iface_config(k).cidr)
                            .flatten()
                            .is_some_and(|c| c.contains_addr(&gw))
                });
                if !reachable {
                    return Some(done(2, "Error: Nexthop has invalid gateway.\n"));
                }
                sim.update::<Host, _>(node, |h| h.set_gateway(Some(gw)));
                Some(done(0, ""))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_that_panics_is_an_error_of_that_lab() {
        let file = Path::new("labs/boom.yaml");
        let o = panic_is_error(file, Some("boom".into()), || panic!("index out of bounds"));
        assert_eq!(o.result, Outcome::Error);
        assert_eq!(o.name.as_deref(), Some("boom"));
        let error = o.error.unwrap();
        assert!(
            error.starts_with("labs/boom.yaml: hoplab panicked"),
            "{error}"
        );
        assert!(error.ends_with(": index out of bounds"), "{error}");
        // A formatted message (a String payload) is kept too; a lab that does not panic keeps
        // its own outcome.
        let o = panic_is_error(file, None, || panic!("step {}", 3));
        assert!(o.error.unwrap().ends_with(": step 3"));
        let o = panic_is_error(file, None, || blank(file, None, Outcome::Pass));
        assert_eq!(o.result, Outcome::Pass);
    }

    #[test]
    fn cap_eff_bit_12_is_net_admin() {
        let status =
            |caps: &str| format!("Name:\thoplab\nCapInh:\t0000000000000000\nCapEff:\t{caps}\n");
        assert!(cap_eff_has_net_admin(&status("000001ffffffffff")));
        assert!(cap_eff_has_net_admin(&status("0000000000001000")));
        assert!(!cap_eff_has_net_admin(&status("0000000000000fff")));
        assert!(!cap_eff_has_net_admin(&status("0000000000002000")));
        assert!(!cap_eff_has_net_admin("Name:\thoplab\n"));
        assert!(!cap_eff_has_net_admin("CapEff:\tzz\n"));
    }

    #[test]
    fn xml_escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            xml_attr("a<b & \"c\" 'd'\n\te>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&#10;&#9;e&gt;"
        );
        assert_eq!(
            xml_text("x<y>\"'\n\u{1b}[0m\u{0}"),
            "x&lt;y&gt;\"'\n\u{fffd}[0m\u{fffd}"
        );
        assert_eq!(xml_text("]]>"), "]]&gt;");
    }

    #[test]
    fn answers_as_list_or_lines_with_comments_skipped() {
        let a = Answers::parse(
            "one: [ip route add default via 10.0.0.1]\ntwo: |\n  # fix it\n  iptables -A X -m comment --comment \"a b\"\n\n  ping -c 1 10.0.0.1\n",
            "a.yaml",
        )
        .unwrap();
        assert_eq!(a.by_id["one"].2.len(), 1);
        assert_eq!(a.by_id["one"].2[0].argv[0], "ip");
        let two = &a.by_id["two"].2;
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].argv.last().unwrap(), "a b");
        assert_eq!(two[1].text, "ping -c 1 10.0.0.1");
    }

    #[test]
    fn answers_errors_are_located() {
        let e = Answers::parse("one: [ping]\none: [ping]\n", "a.yaml").unwrap_err();
        assert_eq!((e.0[0].line, e.0[0].field.as_str()), (2, "one"));
        let e = Answers::parse("one: {a: 1}\n", "a.yaml").unwrap_err();
        assert_eq!(e.0[0].line, 1);
        let e = Answers::parse("x:\n  - 'unclosed\n  - \"open\n", "a.yaml");
        assert!(e.is_err());
        assert!(Answers::parse("", "a.yaml").unwrap().by_id.is_empty());
    }

    #[test]
    fn unknown_exercise_ids_are_refused_with_a_suggestion() {
        let lab = crate::scenario::parse(
            "version: 1\nname: t\nhosts: [{name: h, interfaces: {eth0: 10.0.0.2/24}}]\nsteps:\n  - {on: h, exercise: {id: fix-route, prompt: Fix it.}}\n",
            "t.yaml",
        )
        .unwrap();
        let a = Answers::parse("fix-rout: [ping -c 1 10.0.0.1]\n", "a.yaml").unwrap();
        let e = a.check_ids([&lab]).unwrap_err();
        assert_eq!(e.0[0].line, 1);
        assert!(e.0[0].message.contains("did you mean 'fix-route'"), "{e}");
        let a = Answers::parse("fix-route: [ping -c 1 10.0.0.1]\n", "a.yaml").unwrap();
        assert!(a.check_ids([&lab]).is_ok());
        assert_eq!(a.for_lab(&lab)["fix-route"].len(), 1);
    }
}

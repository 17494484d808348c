//! A lab's steps and capture expectations, resolved: names, times, commands checked as
//! far as the lab file alone allows (syntax here; outcomes that depend on state happen at
//! run time, with the real tool's exit code), and the window each expectation counts in.

use std::collections::BTreeMap;

use super::cmdlist;
use super::error::{Errors, suggest};
use super::model::{Action, CaptureExpect, CmdExpect, Endpoint, Names, Step, Window};
use super::raw::{RawCaptureExpect, RawStep};
use crate::filter::Filter;
use crate::host::cmd;
use crate::time::Duration;

type EndpointCheck<'f> =
    dyn Fn(&mut Errors, &Names, &super::raw::S<String>, &str) -> Option<Endpoint> + 'f;

pub(super) fn resolve_step(
    step: &super::raw::S<RawStep>,
    errs: &mut Errors,
    names: &Names,
    endpoint: &EndpointCheck<'_>,
    scratches: &mut BTreeMap<String, crate::router::Router>,
) -> Option<Step> {
    let s = &step.value;
    let at = s.at.as_ref().and_then(|a| {
        Duration::parse(&a.value)
            .map_err(|e| errs.at(a.referenced, "at", e))
            .ok()
    });
    let after = s.after.as_ref().and_then(|a| {
        Duration::parse(&a.value)
            .map_err(|e| errs.at(a.referenced, "after", e))
            .ok()
    });
    if let (Some(_), Some(a)) = (&s.at, &s.after) {
        errs.at(
            a.referenced,
            "after",
            "a step starts at a time (at:) or after the step before it (after:), not both",
        );
    }
    let timeout = s.timeout.as_ref().and_then(|a| {
        Duration::parse(&a.value)
            .map_err(|e| errs.at(a.referenced, "timeout", e))
            .ok()
    });
    let expect = s.expect.as_ref().map(|e| CmdExpect {
        exit: e.exit,
        received: e.received,
        transmitted: e.transmitted,
        status: e.status,
        bytes: e.bytes,
        contains: e.contains.clone(),
        not_contains: e.not_contains.clone(),
    });
    let kinds = [
        s.run.is_some(),
        s.show.is_some(),
        s.link.is_some(),
        s.exercise.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        let loc =
            s.on.as_ref()
                .map(|o| o.referenced)
                .or(s.at.as_ref().map(|a| a.referenced))
                .unwrap_or(step.referenced);
        errs.at(
            loc,
            "run",
            "a step does exactly one of run, show, link or exercise",
        );
        return None;
    }
    let on = match &s.on {
        Some(o) => {
            if !names.nodes.contains_key(&o.value) {
                let hint = suggest(&o.value, names.node_names());
                errs.at(
                    o.referenced,
                    "on",
                    format!("no node named '{}'{hint}", o.value),
                );
                return None;
            }
            Some(o.value.clone())
        }
        None => None,
    };
    let (action, text) = if let Some(run) = &s.run {
        run_action(s, run, on.as_deref(), timeout, errs, names, scratches)?
    } else if let Some(show) = &s.show {
        show_action(show, on.as_deref(), errs)?
    } else if let Some(ex) = &s.exercise {
        exercise_action(s, ex, on.as_deref(), timeout, errs, names)?
    } else {
        link_action(s, errs, names, endpoint)?
    };
    Some(Step {
        name: s.name.as_ref().map(|n| n.value.clone()),
        at,
        after,
        on,
        text,
        action,
        expect: expect.unwrap_or_default(),
    })
}

/// A `run:` step: its AND-OR list checked command by command as the node would parse it,
/// on a router applied to its scratch copy as it would run.
fn run_action(
    s: &RawStep,
    run: &super::raw::S<String>,
    on: Option<&str>,
    timeout: Option<Duration>,
    errs: &mut Errors,
    names: &Names,
    scratches: &mut BTreeMap<String, crate::router::Router>,
) -> Option<(Action, String)> {
    let Some(on) = on else {
        errs.at(
            run.referenced,
            "on",
            "a run step names the node it runs on (on: NODE)",
        );
        return None;
    };
    let list = match cmdlist::parse(&run.value) {
        Ok(l) => l,
        Err(e) => {
            errs.at(run.referenced, "run", e);
            return None;
        }
    };
    if (!list.rest.is_empty() || !list.pipes.iter().all(Vec::is_empty)) && s.background {
        errs.at(
            run.referenced,
            "background",
            "a background step runs one command (no ||, && or |)",
        );
        return None;
    }
    let kind = names.nodes.get(on).map_or("host", |n| n.0);
    let input = step_input(s, errs)?;
    let input = input.as_deref().unwrap_or("");
    // The status each command would have on the scratch router, so the list's later
    // commands are applied to it only when they would run.
    let mut status = 0;
    let mut joiners = std::iter::once(None).chain(list.rest.iter().map(|(j, _)| Some(*j)));
    for argv in list.commands() {
        let runs = joiners
            .next()
            .flatten()
            .is_none_or(|j| j.runs_after(status));
        let checked = match kind {
            "host" => cmd::parse(argv).map(|_| ()),
            "router" => check_router_command(argv, input, scratches.get_mut(on), runs)
                .map(|code| status = if runs { code } else { status }),
            // A real program on the kernel side of the TAPs: the kernel checks it.
            "kernel" => Ok(()),
            "bridge" => crate::bridge::check_command(argv),
            _ => Err(format!(
                "{on} is a {kind}; commands run on hosts and routers"
            )),
        };
        if let Err(e) = checked {
            match input_error_at(s, errs, &e, input) {
                Some(InputAt::File(path, line, col)) => {
                    errs.in_file(&path, line, col, "input_file", e)
                }
                Some(InputAt::Lab(line, col)) => errs.list.push(super::error::LabError {
                    file: errs.file.to_string(),
                    line,
                    column: col,
                    field: "input".into(),
                    message: e,
                }),
                None => errs.at(run.referenced, "run", e),
            }
            return None;
        }
    }
    Some((
        Action::Run {
            argv: list.first,
            then: list.rest,
            pipes: list.pipes,
            input: input.to_string(),
            background: s.background,
            timeout,
        },
        run.value.clone(),
    ))
}

/// A `show:` step: a listing, through an optional `| grep`.
fn show_action(
    show: &super::raw::S<String>,
    on: Option<&str>,
    errs: &mut Errors,
) -> Option<(Action, String)> {
    if on.is_none() {
        errs.at(
            show.referenced,
            "on",
            "a show step names the node it shows (on: NODE)",
        );
        return None;
    }
    let (argv, pipe) = match cmdlist::pipeline(&show.value) {
        Ok((w, _)) if w.is_empty() => {
            errs.at(show.referenced, "show", "empty command");
            return None;
        }
        Ok(p) => p,
        Err(e) => {
            errs.at(show.referenced, "show", e);
            return None;
        }
    };
    Some((Action::Show { argv, pipe }, show.value.clone()))
}

/// An exercise step: its answers run as commands on this node, so it must be one that runs
/// commands; an expectation here would check nothing, the lab's later steps grade the answer.
fn exercise_action(
    s: &RawStep,
    ex: &super::raw::RawExercise,
    on: Option<&str>,
    timeout: Option<Duration>,
    errs: &mut Errors,
    names: &Names,
) -> Option<(Action, String)> {
    // The answers run as commands on this node, so it must be one that runs commands;
    // an expectation here would check nothing, the lab's later steps grade the answer.
    let kind = on.and_then(|o| names.nodes.get(o)).map(|n| n.0);
    if !matches!(kind, Some("host" | "router")) {
        let what = match (&on, kind) {
            (Some(o), Some(k)) => format!("{o} is a {k}; an exercise is on a host or router"),
            _ => "an exercise step names the node the answer runs on (on: NODE)".into(),
        };
        errs.at(ex.id.referenced, "on", what);
        return None;
    }
    if s.expect.is_some() || s.background {
        errs.at(
            ex.id.referenced,
            "exercise",
            "an exercise step takes no expect or background: the steps after it and the \
             lab's expect: grade the answer",
        );
        return None;
    }
    let id_ok = !ex.id.value.is_empty()
        && ex
            .id
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !id_ok {
        errs.at(
            ex.id.referenced,
            "id",
            format!(
                "'{}' is not a valid exercise id (letters, digits, - _ .)",
                ex.id.value
            ),
        );
        return None;
    }
    Some((
        Action::Exercise {
            id: ex.id.value.clone(),
            prompt: ex.prompt.clone(),
            timeout,
        },
        format!("exercise {}", ex.id.value),
    ))
}

/// A `link:` step: `ip link set END up|down`.
fn link_action(
    s: &RawStep,
    errs: &mut Errors,
    names: &Names,
    endpoint: &EndpointCheck<'_>,
) -> Option<(Action, String)> {
    let link = s.link.as_ref()?;
    let end = endpoint(errs, names, link, "link")?;
    let up = match s.set.as_ref().map(|v| v.value.as_str()) {
        Some("up") => true,
        Some("down") => false,
        _ => {
            errs.at(
                link.referenced,
                "set",
                "a link step says set: up or set: down",
            );
            return None;
        }
    };
    let text = format!("ip link set {} {}", end, if up { "up" } else { "down" });
    Some((Action::SetLink { end, up }, text))
}

/// The steps' names, each checked (valid, unique), by step index.
pub(super) fn step_names(
    steps: &[super::raw::S<RawStep>],
    errs: &mut Errors,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (k, n) in steps
        .iter()
        .map(|s| &s.value)
        .enumerate()
        .filter_map(|(k, s)| Some((k, s.name.as_ref()?)))
    {
        let ok = !n.value.is_empty()
            && n.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !ok {
            errs.at(
                n.referenced,
                "name",
                format!(
                    "'{}' is not a valid step name (letters, digits, - _ .)",
                    n.value
                ),
            );
        } else if out.insert(n.value.clone(), k).is_some() {
            errs.at(
                n.referenced,
                "name",
                format!("duplicate step name '{}'", n.value),
            );
        }
    }
    out
}

pub(super) fn resolve_capture_expect(
    e: &RawCaptureExpect,
    errs: &mut Errors,
    names: &Names,
    endpoint: &EndpointCheck<'_>,
    steps: &BTreeMap<String, usize>,
) -> Option<CaptureExpect> {
    let window = capture_window(e, errs, steps)?;
    let point = endpoint(errs, names, &e.capture, "capture");
    let filter = match Filter::parse(&e.filter.value) {
        Ok(f) => Some(f),
        Err(fe) => {
            errs.at(
                e.filter.referenced,
                "filter",
                format!("{fe} in \"{}\"", e.filter.value),
            );
            None
        }
    };
    if e.count.is_none() && e.at_least.is_none() && e.at_most.is_none() {
        errs.at(
            e.capture.referenced,
            "count",
            "say how many frames: count, at_least or at_most",
        );
        return None;
    }
    Some(CaptureExpect {
        point: point?,
        filter: filter?,
        count: e.count,
        at_least: e.at_least,
        at_most: e.at_most,
        why: e.why.clone(),
        window,
    })
}

/// The window a capture expectation counts in: `during: STEP`, or `from:` and `to:`.
fn capture_window(
    e: &RawCaptureExpect,
    errs: &mut Errors,
    steps: &BTreeMap<String, usize>,
) -> Option<Window> {
    let mut time = |v: &Option<super::raw::S<String>>, field: &str| match v {
        None => Some(None),
        Some(t) => match Duration::parse(&t.value) {
            Ok(d) => Some(Some(d)),
            Err(m) => {
                errs.at(t.referenced, field, m);
                None
            }
        },
    };
    let (from, to) = (time(&e.from, "from")?, time(&e.to, "to")?);
    if let Some(d) = &e.during {
        if e.from.is_some() || e.to.is_some() {
            errs.at(
                d.referenced,
                "during",
                "a window is a step (during:) or times (from:, to:), not both",
            );
            return None;
        }
        let Some(&k) = steps.get(&d.value) else {
            let hint = suggest(&d.value, steps.keys().map(String::as_str));
            errs.at(
                d.referenced,
                "during",
                format!("no step named '{}'{hint}", d.value),
            );
            return None;
        };
        return Some(Window::Step(k));
    }
    if let (Some(f), Some(t), Some(loc)) = (from, to, e.to.as_ref())
        && f > t
    {
        errs.at(loc.referenced, "to", "the window ends before it starts");
        return None;
    }
    Some(match (from, to) {
        (None, None) => Window::All,
        (from, to) => Window::Times { from, to },
    })
}

/// Checks one router command as far as the lab file allows; returns the status it has on
/// the scratch router (`runs`: it would run there). A command line iptables would refuse
/// (exit 2, a bad option or table) is the lab's error; what depends on the rules at that
/// moment (a rule or chain absent, a chain in use: exit 1 or 4) is the run's outcome, so
/// `iptables -C ... || iptables -I ...` and `expect: {exit: 1}` can be written. An
/// `iptables-restore` file and sysctls are checked against the scratch router as the
/// steps before leave it.
fn check_router_command(
    argv: &[String],
    input: &str,
    scratch: Option<&mut crate::router::Router>,
    runs: bool,
) -> Result<i32, String> {
    use crate::router::RouterCmd;
    let cmd = crate::router::parse_command(argv)?;
    let Some(r) = scratch else { return Ok(0) };
    match cmd {
        RouterCmd::Sysctl(a) => match runs {
            true => Ok(r.sysctl_run(&a).0),
            false => Ok(0),
        },
        RouterCmd::Iptables(a) if a[0] == "iptables-restore" || a[0] == "ip6tables-restore" => {
            match runs {
                true => r.iptables(&a, input).map(|_| 0),
                false => Ok(0),
            }
            .map_err(|(_, e)| e.trim_end().to_string())
        }
        RouterCmd::Iptables(a) if a[0] != "dmesg" => {
            r.check_iptables(&a)
                .map_err(|(_, e)| e.trim_end().to_string())?;
            Ok(match runs {
                true => r.iptables(&a, input).map_or_else(|(code, _)| code, |_| 0),
                false => 0,
            })
        }
        // nft parses a whole command (or file) before it changes anything: a syntax error
        // is the lab's mistake, while a refusal (no such table) may be what a step expects.
        RouterCmd::Nft(a) if runs => match r.nft(&a, input) {
            Ok(_) => Ok(0),
            Err((_, e)) if e.contains("syntax error") => Err(e.trim_end().to_string()),
            Err((code, _)) => Ok(code),
        },
        _ => Ok(0),
    }
}

/// A step's standard input: `input:` as written, or the contents of `input_file:` (relative
/// to the lab file). None (after an error) when the file cannot be read or both are given.
#[allow(clippy::option_option)]
fn step_input(s: &super::raw::RawStep, errs: &mut Errors) -> Option<Option<String>> {
    match (&s.input, &s.input_file) {
        (Some(_), Some(f)) => {
            errs.at(
                f.referenced,
                "input_file",
                "give input or input_file, not both",
            );
            None
        }
        (Some(i), None) => Some(Some(i.value.clone())),
        (None, Some(f)) => {
            let path = input_path(errs.file, &f.value);
            match super::read_bounded(&path) {
                Ok(text) => Some(Some(text)),
                Err(e) => {
                    errs.at(
                        f.referenced,
                        "input_file",
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            }
        }
        (None, None) => Some(None),
    }
}

/// `input_file` relative to the lab file's folder.
fn input_path(lab: &str, name: &str) -> std::path::PathBuf {
    let name = std::path::Path::new(name);
    match std::path::Path::new(lab).parent() {
        Some(dir) if name.is_relative() => dir.join(name),
        _ => name.to_path_buf(),
    }
}

/// Where an error inside a step's input is: a line of its `input_file`, or a line of the
/// lab when `input:` is a block scalar (`input: |`).
enum InputAt {
    File(String, u64, u64),
    Lab(u64, u64),
}

/// Locates an error that names a line of the input (`iptables-restore: line 3 failed`,
/// `Error occurred at line: 3`), at the token it quotes where that line has it.
fn input_error_at(
    s: &super::raw::RawStep,
    errs: &Errors,
    message: &str,
    input: &str,
) -> Option<InputAt> {
    let n = input_line(message)?;
    let text = input
        .lines()
        .nth(usize::try_from(n).ok()?.checked_sub(1)?)?;
    let col = quoted_tokens(message)
        .into_iter()
        .find_map(|t| text.find(t))
        .unwrap_or_else(|| text.len() - text.trim_start().len()) as u64
        + 1;
    if let Some(f) = &s.input_file {
        let path = input_path(errs.file, &f.value);
        return Some(InputAt::File(path.display().to_string(), n, col));
    }
    // A block scalar (`input: |`) is located at its first line; its lines follow, each
    // indented alike. A quoted or one-line input has no lines of its own in the lab.
    let loc = s.input.as_ref()?.referenced;
    let first = usize::try_from(loc.line()).ok()?;
    let indicator = errs.source.lines().nth(first.checked_sub(2)?)?;
    let last_word = indicator.split_whitespace().last()?;
    if !(last_word.starts_with('|') || last_word.starts_with('>')) {
        return None;
    }
    Some(InputAt::Lab(loc.line() + n - 1, loc.column() - 1 + col))
}

/// N of `line N`, `line: N` or `at line: N` in an iptables-restore message.
fn input_line(message: &str) -> Option<u64> {
    let at = message.find("line")?;
    let rest = message[at + 4..].trim_start_matches([':', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The tokens an iptables message quotes, `` `x' `` or `"x"`, in order.
fn quoted_tokens(message: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find(['`', '"']) {
        let close = if rest[i..].starts_with('`') {
            '\''
        } else {
            '"'
        };
        let after = &rest[i + 1..];
        let Some(j) = after.find(close) else { break };
        if j > 0 {
            tokens.push(&after[..j]);
        }
        rest = &after[j + 1..];
    }
    tokens
}

//! `docker ps` and `docker port`.

use std::collections::HashMap;

use super::text::{Timestamp, ellipsis, go_quote, human_duration, natural_cmp, table};
use super::{
    CliOutput, DockerHostView, RunState, flag_error, parse_flags, started_after, unsupported,
};

/// A container as the listings see it: one of the model's, or one sharing another stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctr {
    Own(usize),
    Shared(usize),
}

pub(super) fn ctr_id(host: &DockerHostView, c: Ctr) -> &str {
    match c {
        Ctr::Own(i) => &host.containers[i].id,
        Ctr::Shared(i) => &host.shared[i].id,
    }
}

pub(super) fn ctr_name(host: &DockerHostView, c: Ctr) -> &str {
    match c {
        Ctr::Own(i) => &host.containers[i].name,
        Ctr::Shared(i) => &host.shared[i].name,
    }
}

pub(super) fn created(host: &DockerHostView, c: Ctr) -> Timestamp {
    match c {
        Ctr::Own(i) => host.container_created(i),
        Ctr::Shared(i) => host.shared[i].created,
    }
}

/// Whether the container runs, or exited. One sharing another stack is not stopped in a lab:
/// it runs since it started after its creation.
pub(super) fn state(host: &DockerHostView, c: Ctr) -> RunState {
    match c {
        Ctr::Own(i) => host.state(i),
        Ctr::Shared(_) => RunState::Running {
            started: started_after(created(host, c), ctr_id(host, c)),
        },
    }
}

/// The image and command it was run with.
pub(super) fn image_and_command(host: &DockerHostView, c: Ctr) -> (&str, &str) {
    match c {
        Ctr::Own(i) => host.image_and_command(i),
        Ctr::Shared(_) => (&host.image, &host.command),
    }
}

pub(super) fn all(host: &DockerHostView) -> Vec<Ctr> {
    (0..host.containers.len())
        .map(Ctr::Own)
        .chain((0..host.shared.len()).map(Ctr::Shared))
        .collect()
}

/// The daemon's `GetContainer`: a full ID, then a name (with or without its leading `/`),
/// then a unique ID prefix.
pub(super) fn find(host: &DockerHostView, term: &str) -> Result<Ctr, String> {
    let cs = all(host);
    if let Some(&c) = cs.iter().find(|&&c| ctr_id(host, c) == term) {
        return Ok(c);
    }
    let bare = term.strip_prefix('/').unwrap_or(term);
    if let Some(&c) = cs.iter().find(|&&c| ctr_name(host, c) == bare) {
        return Ok(c);
    }
    let by_prefix: Vec<Ctr> = cs
        .iter()
        .copied()
        .filter(|&c| !term.is_empty() && ctr_id(host, c).starts_with(term))
        .collect();
    match by_prefix.as_slice() {
        [c] => Ok(*c),
        [] => Err(format!("No such container: {term}")),
        _ => Err(format!("multiple IDs found with provided prefix: {term}")),
    }
}

/// A published port as the daemon reports it (`container.Port` / `PortBinding`).
pub(super) struct Published {
    pub(super) host_ip: String,
    /// 0: none mapped on the host (routed gateway mode).
    pub(super) host_port: u16,
    pub(super) ctr_port: u16,
    pub(super) proto: &'static str,
}

/// What the daemon reports as published (`NetworkSettings.Ports`): nothing for a stopped
/// container, whose ports `releaseNetwork` let go, so `docker ps` shows no PORTS and
/// `docker port` prints nothing.
pub(super) fn published(host: &DockerHostView, c: Ctr) -> Vec<Published> {
    let Ctr::Own(ci) = c else {
        // `host` and `container:` modes publish nothing of their own.
        return Vec::new();
    };
    if !host.running(ci) {
        return Vec::new();
    }
    host.bindings
        .iter()
        .filter(|b| b.container == ci)
        .map(|b| Published {
            host_ip: b.host_ip.to_string(),
            host_port: b.host_port,
            ctr_port: b.ctr_port,
            proto: b.proto.as_str(),
        })
        .collect()
}

/// `docker ps [-a] [-q] [--no-trunc]`: the running containers (with `-a` the exited ones
/// too), newest first (the daemon sorts by creation time; ties list the later one first), in
/// the CLI's default table `ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES`.
pub(super) fn ps(host: &DockerHostView, cmd: &str, args: &[&str]) -> CliOutput {
    let usage = format!("{cmd} [OPTIONS]");
    if let Some(a) = args.iter().find(|a| {
        ["--format", "--filter", "--last", "--size", "--latest"]
            .iter()
            .any(|f| a.starts_with(f))
            || (a.starts_with('-')
                && !a.starts_with("--")
                && a.chars().skip(1).any(|c| "fnsl".contains(c)))
    }) {
        return unsupported(&format!("{cmd} {a}"));
    }
    let known = [('a', "all"), ('q', "quiet"), ('\0', "no-trunc")];
    let (flags, pos) = match parse_flags(args, &known) {
        Ok(v) => v,
        Err(e) => return flag_error(&e, cmd, &usage),
    };
    if !pos.is_empty() {
        return CliOutput::fail(
            1,
            format!(
                "docker: '{cmd}' accepts no arguments\n\nUsage:  {usage}\n\nRun '{cmd} --help' for more information"
            ),
        );
    }
    let trunc = !flags.contains(&"no-trunc");
    let mut list = all(host);
    if !flags.contains(&"all") {
        list.retain(|&c| state(host, c).is_running());
    }
    list.reverse();
    list.sort_by(|&a, &b| {
        let (ta, tb) = (created(host, a), created(host, b));
        tb.since(ta).cmp(&0)
    });
    let id = |c: Ctr| {
        let id = ctr_id(host, c);
        if trunc {
            id.chars().take(12).collect()
        } else {
            id.to_string()
        }
    };
    if flags.contains(&"quiet") {
        return CliOutput::ok(list.iter().map(|&c| id(c) + "\n").collect());
    }
    let mut rows = vec![
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for &c in &list {
        let t = created(host, c);
        // `RunningFor` uses the creation time in whole seconds (`time.Unix(Created, 0)`).
        let whole = Timestamp { nanos: 0, ..t };
        let (image, command) = image_and_command(host, c);
        let command = if trunc {
            ellipsis(command, 20)
        } else {
            command.to_string()
        };
        rows.push(vec![
            id(c),
            image.to_string(),
            go_quote(&command),
            format!("{} ago", human_duration(host.now.since(whole))),
            status(host, c),
            displayable_ports(published(host, c)),
            ctr_name(host, c).to_string(),
        ]);
    }
    CliOutput::ok(table(&rows))
}

/// The STATUS column, the daemon's `State.String()`: `Up` and how long since the start, or
/// `fmt.Sprintf("Exited (%d) %s ago", ...)` with how long since the end (both the times as
/// they are, not rounded to the second).
fn status(host: &DockerHostView, c: Ctr) -> String {
    match state(host, c) {
        RunState::Running { started } => {
            format!("Up {}", human_duration(host.now.since(started)))
        }
        RunState::Exited { code, finished, .. } => format!(
            "Exited ({code}) {} ago",
            human_duration(host.now.since(finished))
        ),
    }
}

/// The CLI's `DisplayablePorts`: ports sorted by (container port, host address, host port,
/// protocol); ports published on the same port number as the container's are grouped into
/// ranges per address and protocol (`0.0.0.0:80-81->80-81/tcp`), the others listed as
/// `ip:host->ctr/proto` after them.
fn displayable_ports(mut ports: Vec<Published>) -> String {
    ports.sort_by(|a, b| {
        (a.ctr_port, &a.host_ip, a.host_port, a.proto).cmp(&(
            b.ctr_port,
            &b.host_ip,
            b.host_port,
            b.proto,
        ))
    });
    let mut groups: HashMap<String, (u16, u16)> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in &ports {
        let current = p.ctr_port;
        let mut key = p.proto.to_string();
        if !p.host_ip.is_empty() {
            if p.host_port != current {
                mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.host_ip, &p.host_port.to_string()),
                    p.ctr_port,
                    p.proto
                ));
                continue;
            }
            key = format!("{}/{}", p.host_ip, p.proto);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (current, current));
                keys.push(key);
            }
            Some(g) if current == g.1.wrapping_add(1) => g.1 = current,
            Some(g) => {
                result.push(form_group(&key, g.0, g.1));
                *g = (current, current);
            }
        }
    }
    for key in &keys {
        let (first, last) = groups[key];
        result.push(form_group(key, first, last));
    }
    result.extend(mappings);
    result.join(", ")
}

/// Go's `net.JoinHostPort`: an IPv6 address goes in brackets.
fn join_host_port(ip: &str, port: &str) -> String {
    match ip.contains(':') {
        true => format!("[{ip}]:{port}"),
        false => format!("{ip}:{port}"),
    }
}

fn form_group(key: &str, start: u16, last: u16) -> String {
    let (ip, proto) = match key.split_once('/') {
        Some((ip, proto)) => (ip, proto),
        None => ("", key),
    };
    let mut group = start.to_string();
    if start != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{proto}")
}

/// `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` (`port.go`): every binding as
/// `80/tcp -> 0.0.0.0:8080`, or the host side of one port's bindings, sorted in natural
/// order. A routed-mode binding has no host port (`0.0.0.0:`). A stopped container publishes
/// nothing: no lines (status 0), or `No public port` for the one asked for.
pub(super) fn port(host: &DockerHostView, cmd: &str, args: &[&str]) -> CliOutput {
    let usage = format!("{cmd} CONTAINER [PRIVATE_PORT[/PROTO]]");
    let (_, pos) = match parse_flags(args, &[]) {
        Ok(v) => v,
        Err(e) => return flag_error(&e, cmd, &usage),
    };
    if pos.is_empty() || pos.len() > 2 {
        return CliOutput::fail(
            1,
            format!(
                "docker: '{cmd}' requires at least 1 and at most 2 arguments\n\nUsage:  {usage}\n\nRun '{cmd} --help' for more information"
            ),
        );
    }
    let name = pos[0];
    let c = match find(host, name) {
        Ok(c) => c,
        Err(e) => return CliOutput::fail(1, format!("Error response from daemon: {e}")),
    };
    let ports = published(host, c);
    let join = |p: &Published| {
        let hp = if p.host_port == 0 {
            String::new()
        } else {
            p.host_port.to_string()
        };
        join_host_port(&p.host_ip, &hp)
    };
    let mut out: Vec<String> = match pos.get(1) {
        Some(&arg) => {
            let (num, proto) = match arg.split_once('/') {
                Some((n, "")) => (n, "tcp"),
                Some((n, p)) => (n, p),
                None => (arg, "tcp"),
            };
            if let Err(e) = parse_uint16(num) {
                return CliOutput::fail(1, format!("Error: invalid port ({num}): {e}"));
            }
            let key = format!("{num}/{proto}");
            let lines: Vec<String> = ports
                .iter()
                .filter(|p| format!("{}/{}", p.ctr_port, p.proto) == key)
                .map(join)
                .collect();
            if lines.is_empty() {
                return CliOutput::fail(
                    1,
                    format!("Error: No public port '{arg}' published for {name}"),
                );
            }
            lines
        }
        None => ports
            .iter()
            .map(|p| format!("{}/{} -> {}", p.ctr_port, p.proto, join(p)))
            .collect(),
    };
    out.sort_by(|a, b| natural_cmp(a, b));
    if out.is_empty() {
        return CliOutput::ok(String::new());
    }
    CliOutput::ok(out.join("\n") + "\n")
}

/// `strconv.ParseUint(s, 10, 16)`'s error text.
fn parse_uint16(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseUint: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<u16>().map_err(|_| {
        format!(
            "strconv.ParseUint: parsing {}: value out of range",
            go_quote(s)
        )
    })
}

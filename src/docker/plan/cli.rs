//! The `docker` commands that change a Docker host (`run`, `stop`, `start`, `restart`,
//! `kill`, `rm`, `network connect`, `network disconnect`), read as the Docker CLI reads them
//! and planned on the host's [`HostPlan`]: what each prints, its exit status and what it
//! changes. Docker's refusals (no such container, a port already allocated, ...) are the
//! command's output, as on a real host; an error (`Err`) is what hoplab cannot run.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv6Address};

use super::life::{Attach, Ctr, HostPlan, Life};
use super::{Change, PlannedStep};
use crate::docker::dns;
use crate::docker::ports::parse_publish;

/// The words after `docker` when the command is one that changes the host.
pub fn docker_args<'a>(words: &'a [&'a str]) -> Option<&'a [&'a str]> {
    let (first, rest) = words.split_first()?;
    if *first != "docker" && !first.ends_with("/docker") {
        return None;
    }
    let sub = match rest {
        ["container", sub, ..] => *sub,
        [sub, ..] => *sub,
        [] => return None,
    };
    let changing = match rest {
        ["network", "connect" | "disconnect", ..] => true,
        ["network", ..] => false,
        _ => matches!(sub, "run" | "stop" | "start" | "restart" | "kill" | "rm"),
    };
    changing.then_some(rest)
}

/// Ok(None): not a command this planner handles after all (left to the read-only CLI).
pub fn plan_command(plan: &mut HostPlan, args: &[&str]) -> Result<Option<PlannedStep>, String> {
    let args = match args {
        ["container", rest @ ..] => rest,
        _ => args,
    };
    Ok(Some(match args {
        ["run", rest @ ..] => run(plan, rest)?,
        ["stop", rest @ ..] => for_each(plan, "stop", rest, &["-t", "--time", "-s", "--signal"]),
        ["kill", rest @ ..] => for_each(plan, "kill", rest, &["-s", "--signal"]),
        ["start", rest @ ..] => for_each(plan, "start", rest, &[]),
        ["restart", rest @ ..] => {
            for_each(plan, "restart", rest, &["-t", "--time", "-s", "--signal"])
        }
        ["rm", rest @ ..] => for_each(plan, "rm", rest, &[]),
        ["network", "connect", rest @ ..] => connect(plan, rest),
        ["network", "disconnect", rest @ ..] => disconnect(plan, rest),
        _ => return Ok(None),
    }))
}

fn failed(exit: i32, output: String) -> PlannedStep {
    PlannedStep {
        exit,
        output,
        changes: Vec::new(),
    }
}

/// `docker stop|kill|start|restart|rm [OPTIONS] CONTAINER...`: each container in turn,
/// its name printed when done, Docker's error otherwise (exit 1 if any failed).
fn for_each(plan: &mut HostPlan, cmd: &str, args: &[&str], valued: &[&str]) -> PlannedStep {
    let mut names = Vec::new();
    let mut force = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "-f" | "--force" if cmd == "rm" => force = true,
            a if valued.contains(&a) => {
                it.next();
            }
            a if valued.iter().any(|v| a.starts_with(&format!("{v}="))) => {}
            a if a.starts_with('-') => {
                return failed(
                    125,
                    format!("unknown flag: {a}\nSee 'docker {cmd} --help'.\n"),
                );
            }
            a => names.push(a),
        }
    }
    if names.is_empty() {
        return failed(
            1,
            format!(
                "docker: 'docker {cmd}' requires at least 1 argument\n\nUsage:  docker {cmd} [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'docker {cmd} --help' for more information\n"
            ),
        );
    }
    let mut step = PlannedStep::default();
    let mut failed_names = Vec::new();
    for name in names {
        let Some(ci) = plan.ctr_index(name) else {
            step.output.push_str(&format!(
                "Error response from daemon: No such container: {name}\n"
            ));
            failed_names.push(name);
            continue;
        };
        let running = plan.ctrs[ci].life == Life::Running;
        let result = match cmd {
            "stop" => {
                plan.stop(ci, 0, &mut step.changes);
                Ok(())
            }
            "kill" if !running => Err(format!(
                "Error response from daemon: cannot kill container: {name}: container {} is not running",
                plan.ctrs[ci].id.clone().unwrap_or_default()
            )),
            "kill" => {
                plan.stop(ci, 137, &mut step.changes);
                Ok(())
            }
            "start" => plan.start(ci, &mut step.changes),
            "restart" => {
                plan.stop(ci, 0, &mut step.changes);
                plan.start(ci, &mut step.changes)
            }
            _ if running && !force => Err(format!(
                "Error response from daemon: cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                plan.ctrs[ci].name
            )),
            _ => {
                plan.stop(ci, 137, &mut step.changes);
                remove(plan, ci, &mut step.changes);
                Ok(())
            }
        };
        match result {
            Ok(()) => step.output.push_str(&format!("{name}\n")),
            Err(e) => {
                step.output.push_str(&format!("{e}\n"));
                failed_names.push(name);
            }
        }
    }
    if !failed_names.is_empty() {
        step.exit = 1;
        if matches!(cmd, "start" | "restart") {
            step.output.push_str(&format!(
                "Error: failed to {cmd} containers: {}\n",
                failed_names.join(", ")
            ));
        }
    }
    step
}

fn remove(plan: &mut HostPlan, ci: usize, out: &mut Vec<Change>) {
    let c = &mut plan.ctrs[ci];
    c.removed = true;
    out.push(Change::Refuse {
        node: c.name.clone(),
        error: Some(format!(
            "Error response from daemon: No such container: {}",
            c.name
        )),
    });
}

/// `--ip` or `--ip6` of `docker network connect`: the address, if it reads as one and lies
/// in the network's subnet of its family; else the CLI's or the daemon's refusal.
fn connect_address<A: std::str::FromStr + std::fmt::Display>(
    text: Option<String>,
    flag: &str,
    network: &str,
    fits: impl Fn(&A) -> bool,
) -> Result<Option<A>, PlannedStep> {
    let Some(t) = text else { return Ok(None) };
    match t.parse::<A>() {
        Ok(a) if fits(&a) => Ok(Some(a)),
        Ok(a) => Err(failed(
            1,
            format!(
                "Error response from daemon: invalid config for network {network}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address {a}\n"
            ),
        )),
        Err(_) => Err(failed(
            1,
            format!(
                "invalid argument \"{t}\" for \"{flag}\" flag: invalid string being converted to IP address: {t}\nSee 'docker network connect --help'.\n"
            ),
        )),
    }
}

/// `docker network connect [--ip IP] [--ip6 IP6] [--alias A]... [--mac-address M] NETWORK
/// CONTAINER`.
fn connect(plan: &mut HostPlan, args: &[&str]) -> PlannedStep {
    let usage = "docker network connect [OPTIONS] NETWORK CONTAINER";
    let mut ip = None;
    let mut ip6 = None;
    let mut mac = None;
    let mut aliases = Vec::new();
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline): (&str, Option<&str>) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a, None),
        };
        let mut value = || inline.or_else(|| it.next().copied()).unwrap_or("");
        match flag {
            "--ip" => ip = Some(value().to_string()),
            "--ip6" => ip6 = Some(value().to_string()),
            "--alias" => aliases.push(value().to_string()),
            "--mac-address" => mac = Some(value().to_string()),
            f if f.starts_with('-') => {
                return failed(125, format!("unknown flag: {f}\nSee '{usage} --help'.\n"));
            }
            _ => pos.push(*a),
        }
    }
    let [net_name, ctr_name] = pos[..] else {
        return failed(
            1,
            format!(
                "docker: 'docker network connect' requires exactly 2 arguments\n\nUsage:  {usage}\n\nSee 'docker network connect --help' for more information\n"
            ),
        );
    };
    let (net, ci) = match network_and_container(plan, net_name, ctr_name) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let c = &plan.ctrs[ci];
    let network = &plan.networks[net].0;
    if c.attach.iter().any(|a| a.net == net) {
        return failed(
            1,
            format!(
                "Error response from daemon: endpoint with name {} already exists in network {}\n",
                c.name, network.name
            ),
        );
    }
    if network.name == "bridge" && !aliases.is_empty() {
        return failed(
            1,
            "Error response from daemon: network-scoped alias is supported only for containers in user defined networks\n".into(),
        );
    }
    let ip = match connect_address(ip, "--ip", &network.name, |a: &Ipv4Address| {
        network.subnet.contains_addr(a)
    }) {
        Ok(ip) => ip,
        Err(refusal) => return refusal,
    };
    let ip6 = match connect_address(ip6, "--ip6", &network.name, |a: &Ipv6Address| {
        network.ipv6.is_some_and(|v| v.subnet.contains_addr(a))
    }) {
        Ok(ip) => ip,
        Err(refusal) => return refusal,
    };
    let mac = match mac.map(|m| m.parse::<EthernetAddress>().map_err(|_| m)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(m)) => return failed(1, format!("{m} is not a valid mac address\n")),
    };
    let attach = Attach {
        net,
        ip,
        ip6,
        mac,
        aliases,
        veth: None,
        endpoint_id: None,
        loc: c.loc,
    };
    let mut step = PlannedStep::default();
    if let Err(e) = plan.connect(ci, attach, &mut step.changes) {
        return failed(1, format!("{e}\n"));
    }
    step
}

/// The network and the container a `docker network connect|disconnect` names, or the
/// daemon's refusal.
fn network_and_container(
    plan: &HostPlan,
    net_name: &str,
    ctr_name: &str,
) -> Result<(usize, usize), PlannedStep> {
    let net = plan.network_index(net_name).ok_or_else(|| {
        failed(
            1,
            format!("Error response from daemon: network {net_name} not found\n"),
        )
    })?;
    let ci = plan.ctr_index(ctr_name).ok_or_else(|| {
        failed(
            1,
            format!("Error response from daemon: No such container: {ctr_name}\n"),
        )
    })?;
    Ok((net, ci))
}

/// `docker network disconnect [-f] NETWORK CONTAINER`.
fn disconnect(plan: &mut HostPlan, args: &[&str]) -> PlannedStep {
    let pos: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "-f" && *a != "--force")
        .collect();
    let [net_name, ctr_name] = pos[..] else {
        return failed(
            1,
            "docker: 'docker network disconnect' requires exactly 2 arguments\n\nUsage:  docker network disconnect [OPTIONS] NETWORK CONTAINER\n\nSee 'docker network disconnect --help' for more information\n".into(),
        );
    };
    let (net, ci) = match network_and_container(plan, net_name, ctr_name) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    if !plan.ctrs[ci].attach.iter().any(|a| a.net == net) {
        return failed(
            1,
            format!(
                "Error response from daemon: container {} is not connected to network {}\n",
                plan.ctrs[ci].id.clone().unwrap_or_default(),
                plan.networks[net].0.name
            ),
        );
    }
    let mut step = PlannedStep::default();
    plan.disconnect(ci, net, &mut step.changes);
    step
}

/// Images whose default command serves HTTP on port 80: run as hoplab's `http-server 80`,
/// shown with the image's own command.
const HTTP_IMAGES: &[(&str, &str)] = &[
    ("nginx", "/docker-entrypoint.sh nginx -g 'daemon off;'"),
    ("httpd", "httpd-foreground"),
];

/// `docker run -d [OPTIONS] IMAGE [COMMAND...]`.
fn run(plan: &mut HostPlan, args: &[&str]) -> Result<PlannedStep, String> {
    let help = "\n\nRun 'docker run --help' for more information\n";
    let mut detach = false;
    let mut name = None;
    let mut networks: Vec<String> = Vec::new();
    let mut ip = None;
    let mut ip6: Option<String> = None;
    let mut mac = None;
    let mut aliases = Vec::new();
    let mut publish = Vec::new();
    let mut hosts = Vec::new();
    let mut rest: &[&str] = &[];
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if !a.starts_with('-') || a == "-" {
            rest = &args[i..];
            break;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a, None),
        };
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline {
                return Ok(v.to_string());
            }
            i += 1;
            args.get(i)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("flag needs an argument: {flag}"))
        };
        match flag {
            "-d" | "--detach" => detach = true,
            "--rm" | "-i" | "-t" | "-it" | "-ti" | "-dit" | "-itd" | "--interactive" | "--tty"
            | "--init" | "--privileged" => {
                if flag.contains('d') && flag.starts_with("-") && !flag.starts_with("--") {
                    detach = true;
                }
            }
            "--name" => name = Some(value()?),
            "--network" | "--net" => networks.push(value()?),
            "--ip" => ip = Some(value()?),
            "--ip6" => ip6 = Some(value()?),
            "--mac-address" => mac = Some(value()?),
            "--network-alias" | "--alias" => aliases.push(value()?),
            "-p" | "--publish" => publish.push(value()?),
            "--add-host" => hosts.push(value()?),
            "-e" | "--env" | "-h" | "--hostname" | "--restart" | "-w" | "--workdir" | "-v"
            | "--volume" | "--label" | "-l" | "--user" | "-u" | "--cap-add" => {
                value()?;
            }
            f => return Err(format!("docker run: unknown flag: {f}")),
        }
        i += 1;
    }
    if !detach {
        return Err(
            "hoplab runs `docker run` detached: add -d (a container's output is not shown)".into(),
        );
    }
    let Some((image, cmd)) = rest.split_first() else {
        return Ok(failed(
            1,
"docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n".to_string(),
        ));
    };
    let bare = image.split(':').next().unwrap_or(image);
    let (main, shown): (Option<Vec<String>>, String) = if cmd.is_empty() {
        match HTTP_IMAGES.iter().find(|(i, _)| *i == bare) {
            Some((_, shown)) => (
                Some(vec!["http-server".into(), "80".into()]),
                shown.to_string(),
            ),
            None => (None, "sh".into()),
        }
    } else {
        let argv: Vec<String> = cmd.iter().map(|w| w.to_string()).collect();
        crate::host::cmd::parse(&argv)?;
        (Some(argv.clone()), argv.join(" "))
    };
    let name = match name {
        Some(n) => n,
        None => random_name(plan),
    };
    if let Some(other) = plan
        .ctrs
        .iter()
        .find(|c| c.name == name && !c.removed && c.life != Life::Created)
    {
        return Ok(failed(
            125,
            format!(
                "docker: Error response from daemon: Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.{help}",
                other.id.clone().unwrap_or_default()
            ),
        ));
    }
    let loc = plan
        .ctrs
        .first()
        .map_or(serde_saphyr::Location::UNKNOWN, |c| c.loc);
    let mut ctr = Ctr::new(name.clone(), loc);
    ctr.created_step = plan.step;
    ctr.main = main;
    ctr.image = Some((image.to_string(), shown));
    if networks.is_empty() {
        networks.push("bridge".into());
    }
    if networks.iter().any(|n| n != "none") {
        for (k, n) in networks.iter().enumerate() {
            let Some(net) = plan.network_index(n) else {
                return Ok(failed(
                    125,
                    format!("docker: Error response from daemon: network {n} not found{help}"),
                ));
            };
            let network = &plan.networks[net].0;
            let first = k == 0;
            // `--ip` and `--ip6` are the first network's; an address outside the subnet of
            // its family (or not an address) is refused by the daemon.
            let refused = |t: &str| {
                failed(
                    125,
                    format!(
                        "docker: Error response from daemon: invalid config for network {n}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address {t}{help}"
                    ),
                )
            };
            let ip = match ip.as_ref().filter(|_| first) {
                None => None,
                Some(t) => match t.parse::<Ipv4Address>() {
                    Ok(a) if network.subnet.contains_addr(&a) => Some(a),
                    _ => return Ok(refused(t)),
                },
            };
            let ip6 = match ip6.as_ref().filter(|_| first) {
                None => None,
                Some(t) => match t.parse::<Ipv6Address>() {
                    Ok(a) if network.ipv6.is_some_and(|v| v.subnet.contains_addr(&a)) => Some(a),
                    _ => return Ok(refused(t)),
                },
            };
            let mac = match (first, &mac) {
                (true, Some(m)) => Some(
                    m.parse::<EthernetAddress>()
                        .map_err(|_| format!("docker run: {m} is not a valid mac address"))?,
                ),
                _ => None,
            };
            if first && network.name == "bridge" && !aliases.is_empty() {
                return Ok(failed(
                    125,
                    format!(
                        "docker: Error response from daemon: network-scoped alias is supported only for containers in user defined networks{help}"
                    ),
                ));
            }
            ctr.attach.push(Attach {
                net,
                ip,
                ip6,
                mac,
                aliases: if first { aliases.clone() } else { Vec::new() },
                veth: None,
                endpoint_id: None,
                loc,
            });
        }
    }
    for p in &publish {
        match parse_publish(p) {
            Ok(pm) => ctr.publish.push(pm),
            Err(e) => return Ok(failed(125, format!("docker: {e}{help}"))),
        }
    }
    for h in &hosts {
        match dns::parse_extra_host(h) {
            Ok(x) => ctr.extra_hosts.push(x),
            Err(e) => return Ok(failed(125, format!("docker: {e}{help}"))),
        }
    }
    ctr.raw_extra_hosts = hosts;
    // A name used by a removed container: its node is reused.
    let ci = match plan.ctrs.iter().position(|c| c.name == name) {
        Some(i) => {
            ctr.slots = plan.ctrs[i].slots;
            plan.ctrs[i] = ctr;
            i
        }
        None => {
            plan.ctrs.push(ctr);
            plan.ctrs.len() - 1
        }
    };
    let mut step = PlannedStep::default();
    match plan.start(ci, &mut step.changes) {
        Ok(()) => {
            step.output = format!("{}\n", plan.ctrs[ci].id.clone().unwrap_or_default());
            Ok(step)
        }
        Err(e) => {
            plan.ctrs[ci].removed = true;
            Ok(failed(125, format!("docker: {e}{help}")))
        }
    }
}

/// A name as Docker's `namesgenerator` makes them: `adjective_surname`.
fn random_name(plan: &mut HostPlan) -> String {
    const LEFT: &[&str] = &[
        "admiring", "brave", "clever", "eager", "focused", "gallant", "happy", "jolly", "keen",
        "nifty", "quirky", "serene", "trusting", "vibrant", "wizardly", "zen",
    ];
    const RIGHT: &[&str] = &[
        "bell", "cerf", "dijkstra", "hopper", "kahn", "lamport", "lovelace", "metcalfe", "perlman",
        "postel", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak",
    ];
    loop {
        let r = plan.rng.next_u64();
        let name = format!(
            "{}_{}",
            LEFT[(r % LEFT.len() as u64) as usize],
            RIGHT[((r >> 32) % RIGHT.len() as u64) as usize]
        );
        if !plan.ctrs.iter().any(|c| c.name == name) {
            return name;
        }
    }
}

//! The Docker CLI's read-only listings on a Docker host, as Docker Engine 27, 28 and 29 print
//! them: `docker network ls`, `docker network inspect`, `docker port`, `docker ps` and
//! `docker inspect` / `docker container inspect`. Pure functions of a [`DockerHostView`] (the
//! docker model plus the IDs and times a real daemon would have); no IO, no clock.
//!
//! Sources: docker/cli `cli/command/network/{list,formatter,inspect}.go`,
//! `cli/command/container/{port,opts,inspect}.go`, `cli/command/formatter/container.go`,
//! `cli/command/inspect/inspector.go`, `cli/command/system/inspect.go`; moby
//! `daemon/network.go` (`buildNetworkResource`, `IPAMStatus`),
//! `daemon/server/router/network/network_routes.go` (`getNetwork`), `daemon/inspect.go`,
//! `daemon/container_operations.go` (`buildEndpointDNSNames`), `api/types/container` and
//! `api/types/network` (field order); the real Docker 29 output in seed
//! `002_d9f8148370a429fb.txt`; `docker-netfilter.md` §2.3.
//!
//! Containers run or have exited ([`RunState`], `docker stop` / `docker start` mid-lab). An
//! exited one is what moby's `releaseNetwork` leaves: listed by `docker ps -a` only, no
//! published ports, on no network, its endpoints' runtime data cleared in `docker inspect`.
//!
//! A port published without a host address is bound for both families (`80/tcp ->
//! 0.0.0.0:8080`, `80/tcp -> [::]:8080`): on a network with IPv6 through NAT66 rules, on one
//! without (and with the userland proxy) through docker-proxy alone, toward the container's
//! IPv4 address.

mod container;
mod inspect;
mod network;
pub mod text;

use std::collections::BTreeMap;

pub use text::Timestamp;

use super::ipam;
use super::model::{Container, Daemon, Network};
use super::ports::{Binding, port_bindings};
use crate::rand::{Rng, label_hash};

/// Everything the listings need about one Docker host. Build it with [`DockerHostView::new`]
/// and adjust the public fields; set [`DockerHostView::now`] before each command.
#[derive(Clone, Debug)]
pub struct DockerHostView {
    pub daemon: Daemon,
    /// The bridge networks, the default `bridge` (named `bridge`) first as the scenario
    /// builds them.
    pub networks: Vec<Network>,
    /// The containers with a stack of their own (bridge or `none` network mode).
    pub containers: Vec<Container>,
    /// `port_bindings(&daemon, &networks, &containers)`.
    pub bindings: Vec<Binding>,
    /// `endpoint_ids[c][e]`: the 64-hex EndpointID of `containers[c].endpoints[e]`. A
    /// container without endpoints (network mode `none`) has one, its endpoint on `none`.
    pub endpoint_ids: Vec<Vec<String>>,
    /// Containers without a stack of their own (network mode `host` or `container:NAME`):
    /// `docker ps` lists them, the `host` network lists the first kind.
    pub shared: Vec<SharedContainer>,
    /// Labels per network (same index as `networks`); a missing entry is `{}`.
    pub labels: Vec<BTreeMap<String, String>>,
    /// The IDs of the predefined `host` and `none` networks (64 hex).
    pub host_network_id: String,
    pub none_network_id: String,
    /// When the daemon created its networks (`Created` of every network).
    pub created: Timestamp,
    /// When each container (same index as `containers`) was created; a missing entry is
    /// `created`. It started 80–400 ms later (`StartedAt`, what `docker ps` counts "Up"
    /// from), derived from its ID.
    pub container_created: Vec<Timestamp>,
    /// `states[c]`: whether `containers[c]` runs, and since when, or exited, and when
    /// (`docker stop`, `docker start`, a command that ended). A missing entry is running since
    /// it started after its creation (see `container_created`).
    pub states: Vec<RunState>,
    /// Image and command `docker ps` shows for every container without its own in `images`.
    /// `docker inspect` splits the command at spaces (not inside single quotes) into `Path`,
    /// `Args` and `Config.Cmd`.
    pub image: String,
    pub command: String,
    /// `images[c]`: the image and command `containers[c]` was run with (`docker run IMAGE
    /// CMD...`), e.g. `("nginx", "nginx -g 'daemon off;'")`. The command is written as
    /// `docker ps` shows it: the words joined by spaces, a word with a space in it in single
    /// quotes (moby `container/view.go`). A missing entry or `None` is `image` and `command`.
    pub images: Vec<Option<(String, String)>>,
    /// The virtual wall clock: `created.after(elapsed run time)`.
    pub now: Timestamp,
    /// `aliases[c][e]`: the network aliases of `containers[c]` on its endpoint `e` as they were
    /// given (`--network-alias`, Compose's `aliases`; Compose adds the container and service
    /// names itself). `docker inspect` shows them as `Aliases` and derives `DNSNames` from
    /// them. A missing entry is none (`"Aliases": null`).
    pub aliases: Vec<Vec<Vec<String>>>,
    /// `static_ips[c][e]`: whether the address of `containers[c].endpoints[e]` was asked for
    /// (`--ip`, `ipv4_address`): `IPAMConfig` then shows it. A missing entry is false.
    pub static_ips: Vec<Vec<bool>>,
    /// `extra_hosts[c]`: the `--add-host` / `extra_hosts` values of `containers[c]` as written
    /// (`HostConfig.ExtraHosts`). A missing entry is none (`null`).
    pub extra_hosts: Vec<Vec<String>>,
    /// `shared_modes[s]`: the network mode of `shared[s]` as written, `host` or
    /// `container:NAME`. A missing entry is `host` for a host-network container, else
    /// `container:` and the first container's name.
    pub shared_modes: Vec<String>,
    /// The Docker host's hostname: what `host`-mode containers report as `Config.Hostname`.
    pub hostname: String,
    /// `sandbox_ids[c]`: the 64-hex SandboxID of `containers[c]` (`SandboxKey` is
    /// `/var/run/docker/netns/` and its first 12 digits). [`DockerHostView::new`] derives
    /// them; a missing entry is derived from the container ID.
    pub sandbox_ids: Vec<String>,
    /// `pids[c]`: `State.Pid` of `containers[c]`, the host PID of its first process.
    /// [`DockerHostView::new`] derives increasing ones; shared-stack containers and missing
    /// entries continue from the last.
    pub pids: Vec<u32>,
}

/// What a container's process is doing (moby `container.State`: `Running`, `StartedAt`,
/// `FinishedAt`, `ExitCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Started (or restarted) at `started`.
    Running { started: Timestamp },
    /// Stopped at `finished` with exit code `code`, after last starting at `started`.
    Exited {
        code: i32,
        started: Timestamp,
        finished: Timestamp,
    },
}

impl RunState {
    /// When the container last started (`State.StartedAt`).
    pub fn started(self) -> Timestamp {
        match self {
            RunState::Running { started } | RunState::Exited { started, .. } => started,
        }
    }

    pub fn is_running(self) -> bool {
        matches!(self, RunState::Running { .. })
    }
}

/// A container running in another stack: the host's (`network_mode: host`) or another
/// container's (`container:NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedContainer {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    /// True for `network_mode: host`: an endpoint on the `host` network.
    pub host_network: bool,
    /// Its endpoint on `host` (unused for `container:` mode).
    pub endpoint_id: String,
    pub created: Timestamp,
}

/// What a command prints and its exit status, as the `docker` binary would.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CliOutput {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl CliOutput {
    fn ok(stdout: String) -> CliOutput {
        CliOutput {
            stdout,
            ..CliOutput::default()
        }
    }

    /// A failure printed on stderr (with the newline `fmt.Fprintln` adds).
    fn fail(status: i32, message: impl AsRef<str>) -> CliOutput {
        CliOutput {
            stdout: String::new(),
            stderr: format!("{}\n", message.as_ref()),
            status,
        }
    }
}

/// A 64-hex ID derived from a seed string, the same for the same string: for the `host` and
/// `none` networks, endpoints, or containers that need one.
pub fn derive_id(seed: &str) -> String {
    let mut rng = Rng::new(label_hash(seed));
    ipam::random_id(&mut || rng.next_u64())
}

impl DockerHostView {
    /// A view of the host with every ID derived from `seed` (e.g. the lab's seed and host
    /// name): endpoint IDs from the container and network IDs, the `host` and `none` network
    /// IDs, bindings from [`port_bindings`]; networks and containers created at `created`,
    /// image `busybox`, command `sh`, no labels, no shared-stack containers.
    pub fn new(
        daemon: Daemon,
        networks: Vec<Network>,
        containers: Vec<Container>,
        seed: &str,
        created: Timestamp,
    ) -> DockerHostView {
        let bindings = port_bindings(&daemon, &networks, &containers);
        let endpoint_ids = containers
            .iter()
            .map(|c| {
                if c.endpoints.is_empty() {
                    return vec![derive_id(&format!("{seed}/endpoint/{}/none", c.id))];
                }
                c.endpoints
                    .iter()
                    .map(|ep| {
                        let net = networks.get(ep.network).map_or("", |n| n.id.as_str());
                        derive_id(&format!("{seed}/endpoint/{}/{net}", c.id))
                    })
                    .collect()
            })
            .collect();
        let sandbox_ids = containers
            .iter()
            .map(|c| derive_id(&format!("{seed}/sandbox/{}", c.id)))
            .collect();
        // PIDs as a host hands them out to containers started one after the other: a few
        // thousand after boot, each container some dozens after the previous one.
        let mut rng = Rng::new(label_hash(&format!("{seed}/pids")));
        let mut pid = 1_800 + rng.below(2_400) as u32;
        let pids = containers
            .iter()
            .map(|_| {
                pid += 40 + rng.below(160) as u32;
                pid
            })
            .collect();
        DockerHostView {
            aliases: Vec::new(),
            static_ips: Vec::new(),
            extra_hosts: Vec::new(),
            shared_modes: Vec::new(),
            hostname: "docker-host".into(),
            sandbox_ids,
            pids,
            bindings,
            endpoint_ids,
            shared: Vec::new(),
            labels: Vec::new(),
            host_network_id: derive_id(&format!("{seed}/network/host")),
            none_network_id: derive_id(&format!("{seed}/network/none")),
            container_created: vec![created; containers.len()],
            states: Vec::new(),
            image: "busybox".into(),
            command: "sh".into(),
            images: Vec::new(),
            now: created,
            created,
            daemon,
            networks,
            containers,
        }
    }

    fn endpoint_id(&self, container: usize, endpoint: usize) -> String {
        self.endpoint_ids
            .get(container)
            .and_then(|ids| ids.get(endpoint))
            .cloned()
            .unwrap_or_else(|| {
                let c = &self.containers[container];
                derive_id(&format!("endpoint/{}/{endpoint}", c.id))
            })
    }

    fn container_created(&self, container: usize) -> Timestamp {
        self.container_created
            .get(container)
            .copied()
            .unwrap_or(self.created)
    }

    /// `states[container]`, else running since it started after its creation.
    fn state(&self, container: usize) -> RunState {
        self.states.get(container).copied().unwrap_or_else(|| {
            let id = &self.containers[container].id;
            RunState::Running {
                started: started_after(self.container_created(container), id),
            }
        })
    }

    /// Whether `containers[container]` runs: only then does it have endpoints, a sandbox and
    /// published ports (a stopped container's are released).
    fn running(&self, container: usize) -> bool {
        self.state(container).is_running()
    }

    /// `images[container]`, else the view-wide image and command.
    fn image_and_command(&self, container: usize) -> (&str, &str) {
        match self.images.get(container) {
            Some(Some((image, command))) => (image, command),
            _ => (&self.image, &self.command),
        }
    }
}

/// When a container created at `created` started: `docker run` creates, then starts, a
/// fraction of a second later (80–400 ms, derived from the container ID).
pub fn started_after(created: Timestamp, id: &str) -> Timestamp {
    let delay = 80_000_000 + label_hash(&format!("started/{id}")) % 320_000_000;
    created.after(crate::time::Duration::from_nanos(delay))
}

/// Runs `docker ...` (`argv[0]` may be `docker`; it is skipped) and returns what the CLI
/// prints. Supported: `ps`/`container ls|ps|list` (`-a`, `-q`, `--no-trunc`),
/// `port`/`container port`, `network ls|list` (`-q`, `--no-trunc`), `network inspect`
/// (`-v`), `inspect` (`--type container|network`) and `container inspect`. Other Docker
/// commands answer with a `hoplab:` message and status 1.
pub fn exec(argv: &[String], host: &DockerHostView) -> CliOutput {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let args = match args.split_first() {
        Some((first, rest)) if *first == "docker" || first.ends_with("/docker") => rest,
        _ => &args[..],
    };
    match args {
        [] => unsupported("docker"),
        ["ps", rest @ ..] => container::ps(host, "docker ps", rest),
        ["port", rest @ ..] => container::port(host, "docker port", rest),
        ["container", "ls" | "ps" | "list", rest @ ..] => {
            container::ps(host, "docker container ls", rest)
        }
        ["container", "port", rest @ ..] => container::port(host, "docker container port", rest),
        ["inspect", rest @ ..] => inspect::inspect(host, rest),
        ["container", "inspect", rest @ ..] => inspect::container_inspect(host, rest),
        ["network"] => CliOutput::ok(network::HELP.to_string()),
        ["network", "ls" | "list", rest @ ..] => network::ls(host, rest),
        ["network", "inspect", rest @ ..] => network::inspect(host, rest),
        ["network", sub, ..] if !network::SUBCOMMANDS.contains(sub) && !sub.starts_with('-') => {
            CliOutput::fail(
                1,
                format!(
                    "docker: unknown command: docker network {sub}\n\nUsage:  docker network COMMAND\n\nRun 'docker network --help' for more information"
                ),
            )
        }
        [cmd, ..] if !KNOWN.contains(cmd) && !cmd.starts_with('-') => CliOutput::fail(
            1,
            format!(
                "docker: unknown command: docker {cmd}\n\nRun 'docker --help' for more information"
            ),
        ),
        _ => unsupported(&format!("docker {}", args.join(" "))),
    }
}

/// [`exec`] reduced to text: the standard output when the status is 0, else the standard
/// error (the caller exits 1). `docker network inspect known unknown` prints the known
/// network on stdout *and* fails; [`exec`] keeps both.
pub fn run(argv: &[String], host: &DockerHostView) -> Result<String, String> {
    let out = exec(argv, host);
    if out.status == 0 {
        Ok(out.stdout)
    } else {
        Err(out.stderr)
    }
}

/// Top-level `docker` commands (so that one hoplab does not simulate is not reported as
/// unknown).
const KNOWN: &[&str] = &[
    "attach",
    "build",
    "builder",
    "buildx",
    "commit",
    "compose",
    "config",
    "container",
    "context",
    "cp",
    "create",
    "diff",
    "events",
    "exec",
    "export",
    "history",
    "image",
    "images",
    "import",
    "info",
    "inspect",
    "kill",
    "load",
    "login",
    "logout",
    "logs",
    "manifest",
    "network",
    "node",
    "pause",
    "plugin",
    "port",
    "ps",
    "pull",
    "push",
    "rename",
    "restart",
    "rm",
    "rmi",
    "run",
    "save",
    "search",
    "secret",
    "service",
    "stack",
    "start",
    "stats",
    "stop",
    "swarm",
    "system",
    "tag",
    "top",
    "trust",
    "unpause",
    "update",
    "version",
    "volume",
    "wait",
];

fn unsupported(what: &str) -> CliOutput {
    CliOutput::fail(
        1,
        format!(
            "hoplab: '{what}' is not simulated; this Docker host answers docker ps, docker port, docker inspect, docker network ls and docker network inspect, and a lab's `run:` steps change it with docker run -d, stop, start, restart, kill, rm, network connect and network disconnect"
        ),
    )
}

/// A flag the command does not know, as cobra reports it through the CLI's `FlagErrorFunc`
/// (status 125). `what` is cobra's message (`unknown flag: --foo`).
fn flag_error(what: &str, command: &str, usage: &str) -> CliOutput {
    CliOutput::fail(
        125,
        format!("{what}\n\nUsage:  {usage}\n\nRun '{command} --help' for more information"),
    )
}

/// Splits `args` into boolean flags and positional arguments, as cobra does (flags may
/// follow arguments; `-aq` combines short flags; `--flag=false` unsets; `--` ends flags).
/// Known flags come back by their long name. An unknown flag is `Err` with cobra's message.
fn parse_flags<'a>(
    args: &[&'a str],
    known: &[(char, &'static str)],
) -> Result<(Vec<&'static str>, Vec<&'a str>), String> {
    let mut flags = Vec::new();
    let mut pos = Vec::new();
    let mut rest = false;
    for &a in args {
        if rest || a == "-" || !a.starts_with('-') {
            pos.push(a);
        } else if a == "--" {
            rest = true;
        } else if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some((_, l)) = known.iter().find(|(_, l)| *l == name) else {
                return Err(format!("unknown flag: --{name}"));
            };
            match value {
                None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => flags.push(*l),
                Some("false" | "0" | "f" | "F" | "FALSE" | "False") => {}
                Some(v) => {
                    return Err(format!(
                        "invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"
                    ));
                }
            }
        } else {
            for c in a.chars().skip(1) {
                match known.iter().find(|(s, _)| *s == c) {
                    Some((_, l)) => flags.push(*l),
                    None => return Err(format!("unknown shorthand flag: '{c}' in {a}")),
                }
            }
        }
    }
    Ok((flags, pos))
}

#[cfg(test)]
mod inspect_tests;
#[cfg(test)]
mod tests;

/// The `docker` CLI installed on a Docker host's router.
impl crate::router::Cli for DockerHostView {
    fn run(&mut self, now: crate::time::Instant, argv: &[String]) -> (i32, String) {
        self.now = self.created.after(now.since_start());
        let out = exec(argv, self);
        (out.status, out.stdout + &out.stderr)
    }
}

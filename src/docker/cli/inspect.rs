//! `docker inspect` and `docker container inspect`: a running container as the daemon
//! describes it (`GET /containers/{id}/json`, `daemon/inspect.go`), printed by the CLI's
//! indented inspector (`json.Indent(.., "", "    ")` of the daemon's answer).
//!
//! Field order and null-versus-empty follow the API types of each engine (moby
//! `api/types/container.InspectResponse`, `HostConfig`, `Config`, `NetworkSettings`,
//! `api/types/network.EndpointSettings`), the seed's Docker 29 `docker inspect
//! ens_monitor_cron` (`002_d9f8148370a429fb.txt`, its `NetworkSettings`) and real Docker 28
//! and 29 outputs of `docker run` containers.
//!
//! What the model does not know is fixed or derived, the same for the same lab:
//!
//! * Every container is what `docker run -dit --name NAME [--network NET] [-p ...] IMAGE
//!   [CMD...]` makes of its image as if it were busybox's (no entrypoint, `Tty` and
//!   `OpenStdin` on, `PATH` the only environment variable, no labels, no volumes), run from a
//!   script (`ConsoleSize [0, 0]`) on a cgroup v2 host with AppArmor (`docker-default`) and
//!   Docker's default daemon settings: json-file logs, runc, 64 MiB `/dev/shm`, the
//!   containerd image store (`Driver` `overlayfs`). Image and command are
//!   [`DockerHostView::images`] or the view-wide ones, the command split into words as
//!   `docker ps` joined them.
//! * `Image` is `sha256:` and [`super::derive_id`] of `image/NAME`; the manifest
//!   (`ImageManifestDescriptor`, 28+) `sha256:` and `derive_id` of `image/NAME/manifest`,
//!   610 bytes, linux/amd64 (official images also carry OCI annotations, left out).
//! * `Pid` and `SandboxID` come from [`DockerHostView::pids`] and
//!   [`DockerHostView::sandbox_ids`]; `StartedAt` is [`DockerHostView::states`]' or 80–400 ms
//!   after `Created`, all in UTC as the daemon stores them. A restarted container's
//!   `FinishedAt` is zero (the daemon keeps the previous stop's; the view does not know it).
//! * An exited container is what `releaseNetwork` leaves: no PID, sandbox or ports, and each
//!   endpoint's settings without their operational data (`cleanOperationalData`; the MAC
//!   address goes too, as it would unless set with `--mac-address`, which is not modelled).
//! * Published ports are those of [`DockerHostView::bindings`]: both families on a network
//!   with IPv6 (see the module docs of [`super`]).
//! * `IPAMConfig` is `{"IPv4Address": ...}` for an address asked for
//!   ([`DockerHostView::static_ips`]), else `null`; an internal network's endpoints have no
//!   `Gateway` (the bridge driver sets none on join).
//! * Less certain, chosen from real outputs: `"Ulimits": null` is what the 29.x CLI sends
//!   (28's sent `[]`); 27 is given 28's masked paths (`/proc/interrupts` included).
//!
//! Engine differences: 29 (API 1.52) dropped the deprecated top-level `NetworkSettings`
//! fields (`Bridge` … `MacAddress`) and `Config.OnBuild` when empty, moved an endpoint's
//! `MacAddress` after `IPAddress`, reports the snapshotter as `Storage` instead of
//! `GraphDriver`, sorts `MaskedPaths`, and its CLI sends no ulimits (`"Ulimits": null`).
//! 28 added `GwPriority` and `ImageManifestDescriptor`. Not modelled: `--size`, `--format`,
//! image, volume and swarm objects (the first two and images answer with a `hoplab:`
//! message), `Links`, health checks, mounts.

use smoltcp::wire::Ipv4Address;

use super::container::{self, Ctr};
use super::network;
use super::text::{Json, Timestamp, mac};
use super::{CliOutput, DockerHostView, RunState, derive_id, flag_error, parse_flags, unsupported};
use crate::docker::dns::short_id;
use crate::docker::model::Engine;

/// The object types `docker inspect --type` takes (`system/inspect.go`).
const TYPES: &[&str] = &[
    "config",
    "container",
    "image",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "task",
    "volume",
];

/// `docker inspect [--type TYPE] NAME|ID...`: each name is looked up as a container, then
/// an image, a network, a volume (`inspectAll`); names that are none of them fail with
/// `error: no such object: NAME`. With `--type`, only that kind is looked up and its own
/// error reported.
pub(super) fn inspect(host: &DockerHostView, args: &[&str]) -> CliOutput {
    const CMD: &str = "docker inspect";
    const USAGE: &str = "docker inspect [OPTIONS] NAME|ID [NAME|ID...]";
    let mut kind: Option<&str> = None;
    let mut rest = Vec::new();
    let mut ended = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        i += 1;
        if ended || a == "-" || !a.starts_with('-') {
            rest.push(a);
            continue;
        }
        if a == "--" {
            ended = true;
            rest.push(a);
        } else if a == "--type" {
            match args.get(i) {
                Some(v) => kind = Some(v),
                None => return flag_error("flag needs an argument: --type", CMD, USAGE),
            }
            i += 1;
        } else if let Some(v) = a.strip_prefix("--type=") {
            kind = Some(v);
        } else if let Some(what) = unmodelled_flag(a) {
            return unsupported(&format!("{CMD} {what}"));
        } else {
            rest.push(a);
        }
    }
    let names = match parse_flags(&rest, &[]) {
        Ok((_, names)) => names,
        Err(e) => return flag_error(&e, CMD, USAGE),
    };
    if kind == Some("") {
        return CliOutput::fail(
            1,
            format!("type is empty: must be one of \"{}\"", TYPES.join("\", \"")),
        );
    }
    if let Some(k) = kind {
        if !TYPES.contains(&k) {
            return CliOutput::fail(
                1,
                format!(
                    "unknown type: \"{k}\": must be one of \"{}\"",
                    TYPES.join("\", \"")
                ),
            );
        }
        if k != "container" && k != "network" {
            return unsupported(&format!("{CMD} --type {k}"));
        }
    }
    if names.is_empty() {
        return requires_argument(CMD, USAGE);
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        let answer = match kind {
            Some("container") => container::find(host, name)
                .map(|c| container_json(host, c))
                .map_err(daemon_error),
            Some(_) => network::find(host, name)
                .map(|n| network::network_json(host, n))
                .map_err(daemon_error),
            None => match lookup_any(host, name) {
                Lookup::Found(j) => Ok(j),
                Lookup::Failed(e) => Err(e),
                Lookup::Image => return unsupported(&format!("{CMD} {name} (an image)")),
            },
        };
        match answer {
            Ok(j) => found.push(j),
            Err(e) => errors.push(e),
        }
    }
    listing(found, errors)
}

/// `docker container inspect CONTAINER...`: the containers found, and the daemon's error
/// for each name that is not one.
pub(super) fn container_inspect(host: &DockerHostView, args: &[&str]) -> CliOutput {
    const CMD: &str = "docker container inspect";
    const USAGE: &str = "docker container inspect [OPTIONS] CONTAINER [CONTAINER...]";
    let mut rest = Vec::new();
    let mut ended = false;
    for &a in args {
        if !ended && a.starts_with('-') && a != "-" {
            if a == "--" {
                ended = true;
            } else if let Some(what) = unmodelled_flag(a) {
                return unsupported(&format!("{CMD} {what}"));
            }
        }
        rest.push(a);
    }
    let names = match parse_flags(&rest, &[]) {
        Ok((_, names)) => names,
        Err(e) => return flag_error(&e, CMD, USAGE),
    };
    if names.is_empty() {
        return requires_argument(CMD, USAGE);
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match container::find(host, name) {
            Ok(c) => found.push(container_json(host, c)),
            Err(e) => errors.push(daemon_error(e)),
        }
    }
    listing(found, errors)
}

/// `--format`/`-f` and `--size`/`-s` (alone or among combined short flags).
fn unmodelled_flag(a: &str) -> Option<&str> {
    if a.starts_with("--format") {
        return Some("--format");
    }
    if a.starts_with("--size") {
        return Some("--size");
    }
    if !a.starts_with("--") {
        if a.contains('f') {
            return Some("--format");
        }
        if a.contains('s') {
            return Some("--size");
        }
    }
    None
}

fn requires_argument(cmd: &str, usage: &str) -> CliOutput {
    CliOutput::fail(
        1,
        format!(
            "docker: '{cmd}' requires at least 1 argument\n\nUsage:  {usage}\n\nSee '{cmd} --help' for more information"
        ),
    )
}

fn daemon_error(e: String) -> String {
    format!("Error response from daemon: {e}")
}

/// What `inspect.Inspect` prints: the objects found as one JSON array (`[]` when none), the
/// errors one per line on stderr with status 1.
fn listing(found: Vec<Json>, errors: Vec<String>) -> CliOutput {
    let stdout = if found.is_empty() {
        "[]\n".to_string()
    } else {
        Json::Arr(found).pretty() + "\n"
    };
    CliOutput {
        stdout,
        status: i32::from(!errors.is_empty()),
        stderr: if errors.is_empty() {
            String::new()
        } else {
            errors.join("\n") + "\n"
        },
    }
}

/// What `inspectAll` finds for a name.
enum Lookup {
    Found(Json),
    /// The error printed for it.
    Failed(String),
    /// The containers' image: image objects are not modelled.
    Image,
}

/// `inspectAll` without a type: a container, else the image, else a network (there are no
/// volumes, and the daemon is no swarm manager). "Not found" moves on to the next kind; any
/// other error (an ambiguous prefix or name) is the answer.
fn lookup_any(host: &DockerHostView, name: &str) -> Lookup {
    match container::find(host, name) {
        Ok(c) => return Lookup::Found(container_json(host, c)),
        Err(e) if !e.starts_with("No such container") => return Lookup::Failed(daemon_error(e)),
        Err(_) => {}
    }
    if is_image(host, name) {
        return Lookup::Image;
    }
    match network::find(host, name) {
        Ok(n) => return Lookup::Found(network::network_json(host, n)),
        Err(e) if !e.ends_with("not found") => return Lookup::Failed(daemon_error(e)),
        Err(_) => {}
    }
    Lookup::Failed(match host.daemon.engine {
        Engine::V29 => format!("error: no such object: {name}"),
        _ => format!("Error: No such object: {name}"),
    })
}

/// Whether `name` is one of the containers' images (by name, `NAME:latest` or its ID).
fn is_image(host: &DockerHostView, name: &str) -> bool {
    let own = host
        .images
        .iter()
        .flatten()
        .map(|(image, _)| image.as_str());
    std::iter::once(host.image.as_str())
        .chain(own)
        .any(|image| {
            let id = image_digest(image);
            name == image
                || name.strip_suffix(":latest") == Some(image)
                || name == format!("sha256:{id}")
                || (name.len() >= 12 && id.starts_with(name))
        })
}

/// The image's ID (containerd store: its index digest), 64 hex.
fn image_digest(image: &str) -> String {
    derive_id(&format!("image/{image}"))
}

fn obj(fields: Vec<(&str, Json)>) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn strs<S: AsRef<str>>(items: &[S]) -> Json {
    Json::Arr(items.iter().map(|s| Json::str(s.as_ref())).collect())
}

/// A Go slice: `null` when nil (here: empty), else the strings.
fn nil_or_strs<S: AsRef<str>>(items: &[S]) -> Json {
    if items.is_empty() {
        Json::Null
    } else {
        strs(items)
    }
}

/// The daemon stores container times in UTC (`time.Now().UTC()`).
fn utc(t: Timestamp) -> String {
    Timestamp {
        utc_offset_secs: 0,
        ..t
    }
    .rfc3339_nano()
}

/// What a container's networking looks like from `docker inspect`.
enum Mode {
    /// Its own stack on these endpoints (none: network mode `none`).
    Own(usize),
    /// `--network host`.
    Host,
    /// `--network container:TARGET`.
    Joined(String),
}

fn mode(host: &DockerHostView, c: Ctr) -> Mode {
    match c {
        Ctr::Own(i) => Mode::Own(i),
        Ctr::Shared(i) => {
            let s = &host.shared[i];
            match host.shared_modes.get(i).map(String::as_str) {
                Some(m) if m.starts_with("container:") => {
                    Mode::Joined(m["container:".len()..].to_string())
                }
                Some(_) => Mode::Host,
                None if s.host_network => Mode::Host,
                None => Mode::Joined(
                    host.containers
                        .first()
                        .map_or(String::new(), |c| c.name.clone()),
                ),
            }
        }
    }
}

/// `HostConfig.NetworkMode` as the daemon stores it.
fn network_mode(host: &DockerHostView, c: Ctr) -> String {
    match mode(host, c) {
        Mode::Own(i) => host.containers[i]
            .endpoints
            .first()
            .and_then(|e| host.networks.get(e.network))
            .map_or("none".to_string(), |n| n.name.clone()),
        Mode::Host => "host".into(),
        Mode::Joined(target) => format!("container:{target}"),
    }
}

/// `Config.Hostname` and the container whose hostname, hosts and resolv.conf files it uses:
/// its own short ID and files; the Docker host's name in `host` mode; the joined container's
/// in `container:` mode (`initializeNetworking`).
fn hostname_and_files(host: &DockerHostView, c: Ctr) -> (String, String) {
    let id = container::ctr_id(host, c).to_string();
    match mode(host, c) {
        Mode::Own(_) => (short_id(&id).to_string(), id),
        Mode::Host => (host.hostname.clone(), id),
        Mode::Joined(target) => match container::find(host, &target) {
            Ok(t) => {
                let tid = container::ctr_id(host, t).to_string();
                let name = match mode(host, t) {
                    Mode::Host => host.hostname.clone(),
                    _ => short_id(&tid).to_string(),
                };
                (name, tid)
            }
            Err(_) => (short_id(&id).to_string(), id),
        },
    }
}

/// `State.Pid`: [`DockerHostView::pids`], continued past the model's containers.
fn pid(host: &DockerHostView, c: Ctr) -> u64 {
    let list = container::all(host);
    let k = list.iter().position(|&x| x == c).unwrap_or(0);
    let mut last = 0u64;
    for (j, &x) in list.iter().enumerate().take(k + 1) {
        last = match host.pids.get(j).filter(|_| matches!(x, Ctr::Own(_))) {
            Some(&p) => u64::from(p),
            None => {
                let step = crate::rand::label_hash(&format!("pid/{}", container::ctr_id(host, x)));
                last.max(1_800) + 40 + step % 160
            }
        };
    }
    last
}

/// The words of a command as `docker ps` shows it, the inverse of moby's `container/view.go`
/// (`Path` and `Args` joined by spaces, an argument with a space in single quotes): split at
/// whitespace, except inside a quoted word (`'` at its start to `'` at its end).
fn command_words(command: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut rest = command.trim_start();
    while !rest.is_empty() {
        let quoted = rest.strip_prefix('\'').and_then(|r| {
            r.match_indices('\'')
                .map(|(i, _)| i)
                .find(|&i| r[i + 1..].chars().next().is_none_or(char::is_whitespace))
                .map(|i| (&r[..i], &r[i + 1..]))
        });
        let (word, next) = quoted.unwrap_or_else(|| {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest.split_at(end)
        });
        words.push(word);
        rest = next.trim_start();
    }
    words
}

/// `State`: running since it last started, with its process's PID; or exited, with no
/// process, its exit code and when it finished (`container.State`). Paused, restarting,
/// OOM-killed and dead containers are not modelled.
fn state_json(host: &DockerHostView, c: Ctr) -> Json {
    let state = container::state(host, c);
    let (status, pid, code, finished) = match state {
        RunState::Running { .. } => ("running", pid(host, c), 0, None),
        RunState::Exited { code, finished, .. } => ("exited", 0, code, Some(finished)),
    };
    obj(vec![
        ("Status", Json::str(status)),
        ("Running", Json::Bool(state.is_running())),
        ("Paused", Json::Bool(false)),
        ("Restarting", Json::Bool(false)),
        ("OOMKilled", Json::Bool(false)),
        ("Dead", Json::Bool(false)),
        ("Pid", Json::Num(pid)),
        ("ExitCode", Json::Int(i64::from(code))),
        ("Error", Json::str("")),
        ("StartedAt", Json::Str(utc(state.started()))),
        (
            "FinishedAt",
            // Go's zero `time.Time` when it has not finished.
            Json::Str(finished.map_or("0001-01-01T00:00:00Z".to_string(), utc)),
        ),
    ])
}

/// One element of `docker inspect`: the container as `ContainerInspect` answers.
fn container_json(host: &DockerHostView, c: Ctr) -> Json {
    let engine = host.daemon.engine;
    let id = container::ctr_id(host, c);
    let (hostname, files) = hostname_and_files(host, c);
    let dir = format!("/var/lib/docker/containers/{files}");
    let (image, command) = container::image_and_command(host, c);
    let words = command_words(command);
    let (path, args) = words.split_first().map_or(("", &[][..]), |(p, a)| (*p, a));
    let mut fields = vec![
        ("Id", Json::str(id)),
        ("Created", Json::Str(utc(container::created(host, c)))),
        ("Path", Json::str(path)),
        ("Args", strs(args)),
        ("State", state_json(host, c)),
        (
            "Image",
            Json::Str(format!("sha256:{}", image_digest(image))),
        ),
        ("ResolvConfPath", Json::Str(format!("{dir}/resolv.conf"))),
        ("HostnamePath", Json::Str(format!("{dir}/hostname"))),
        ("HostsPath", Json::Str(format!("{dir}/hosts"))),
        (
            "LogPath",
            Json::Str(format!("/var/lib/docker/containers/{id}/{id}-json.log")),
        ),
        (
            "Name",
            Json::Str(format!("/{}", container::ctr_name(host, c))),
        ),
        ("RestartCount", Json::Num(0)),
        ("Driver", Json::str("overlayfs")),
        ("Platform", Json::str("linux")),
        ("MountLabel", Json::str("")),
        ("ProcessLabel", Json::str("")),
        ("AppArmorProfile", Json::str("docker-default")),
        ("ExecIDs", Json::Null),
        ("HostConfig", host_config(host, c)),
    ];
    let snapshot = Json::str("overlayfs");
    if engine == Engine::V29 {
        let rootfs = obj(vec![("Snapshot", obj(vec![("Name", snapshot)]))]);
        fields.push(("Storage", obj(vec![("RootFS", rootfs)])));
    } else {
        fields.push((
            "GraphDriver",
            obj(vec![("Data", Json::Null), ("Name", snapshot)]),
        ));
    }
    fields.push(("Mounts", Json::Arr(Vec::new())));
    fields.push(("Config", config(host, c, &hostname, image, &words)));
    fields.push(("NetworkSettings", network_settings(host, c, &hostname)));
    if engine != Engine::V27 {
        let platform = obj(vec![
            ("architecture", Json::str("amd64")),
            ("os", Json::str("linux")),
        ]);
        let digest = derive_id(&format!("image/{image}/manifest"));
        fields.push((
            "ImageManifestDescriptor",
            obj(vec![
                (
                    "mediaType",
                    Json::str("application/vnd.oci.image.manifest.v1+json"),
                ),
                ("digest", Json::Str(format!("sha256:{digest}"))),
                ("size", Json::Num(610)),
                ("platform", platform),
            ]),
        ));
    }
    obj(fields)
}

/// The container's `-p` mappings as `HostConfig.PortBindings` keeps them (`PORT/PROTO` →
/// `{HostIp, HostPort}` in `-p` order; an unset address or port is `""`), keys sorted.
fn port_bindings(host: &DockerHostView, c: Ctr) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let Ctr::Own(i) = c else {
        return out;
    };
    for p in &host.containers[i].publish {
        let key = format!("{}/{}", p.ctr_port, p.proto.as_str());
        let ip = p.host_ip.map_or(String::new(), |ip| ip.to_string());
        let port = match p.host_port {
            0 => String::new(),
            n => n.to_string(),
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push((ip, port)),
            None => out.push((key, vec![(ip, port)])),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn port_map(entries: Vec<(String, Vec<(String, String)>)>) -> Json {
    Json::Obj(
        entries
            .into_iter()
            .map(|(k, list)| {
                let list = list
                    .into_iter()
                    .map(|(ip, port)| {
                        obj(vec![
                            ("HostIp", Json::Str(ip)),
                            ("HostPort", Json::Str(port)),
                        ])
                    })
                    .collect();
                (k, Json::Arr(list))
            })
            .collect(),
    )
}

/// The paths the daemon masks by default (`oci.DefaultSpec`); 29 lists them sorted.
const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// `HostConfig`: what the CLI's `parse` sends for `docker run -dit` plus the daemon's
/// defaults (cgroup v2: no swappiness, OOM-kill or PID settings).
fn host_config(host: &DockerHostView, c: Ctr) -> Json {
    let engine = host.daemon.engine;
    let extra_hosts = match c {
        Ctr::Own(i) => host.extra_hosts.get(i).map_or(&[][..], Vec::as_slice),
        Ctr::Shared(_) => &[],
    };
    let mut masked: Vec<&str> = MASKED_PATHS.to_vec();
    if engine == Engine::V29 {
        masked.sort_unstable();
    }
    let empty = || Json::Arr(Vec::new());
    let zero = || Json::Num(0);
    obj(vec![
        ("Binds", Json::Null),
        ("ContainerIDFile", Json::str("")),
        (
            "LogConfig",
            obj(vec![
                ("Type", Json::str("json-file")),
                ("Config", Json::Obj(Vec::new())),
            ]),
        ),
        ("NetworkMode", Json::Str(network_mode(host, c))),
        ("PortBindings", port_map(port_bindings(host, c))),
        (
            "RestartPolicy",
            obj(vec![
                ("Name", Json::str("no")),
                ("MaximumRetryCount", zero()),
            ]),
        ),
        ("AutoRemove", Json::Bool(false)),
        ("VolumeDriver", Json::str("")),
        ("VolumesFrom", Json::Null),
        ("ConsoleSize", Json::Arr(vec![zero(), zero()])),
        ("CapAdd", Json::Null),
        ("CapDrop", Json::Null),
        ("CgroupnsMode", Json::str("private")),
        ("Dns", empty()),
        ("DnsOptions", empty()),
        ("DnsSearch", empty()),
        ("ExtraHosts", nil_or_strs(extra_hosts)),
        ("GroupAdd", Json::Null),
        ("IpcMode", Json::str("private")),
        ("Cgroup", Json::str("")),
        ("Links", Json::Null),
        ("OomScoreAdj", zero()),
        ("PidMode", Json::str("")),
        ("Privileged", Json::Bool(false)),
        ("PublishAllPorts", Json::Bool(false)),
        ("ReadonlyRootfs", Json::Bool(false)),
        ("SecurityOpt", Json::Null),
        ("UTSMode", Json::str("")),
        ("UsernsMode", Json::str("")),
        ("ShmSize", Json::Num(64 << 20)),
        ("Runtime", Json::str("runc")),
        ("Isolation", Json::str("")),
        ("CpuShares", zero()),
        ("Memory", zero()),
        ("NanoCpus", zero()),
        ("CgroupParent", Json::str("")),
        ("BlkioWeight", zero()),
        ("BlkioWeightDevice", empty()),
        ("BlkioDeviceReadBps", empty()),
        ("BlkioDeviceWriteBps", empty()),
        ("BlkioDeviceReadIOps", empty()),
        ("BlkioDeviceWriteIOps", empty()),
        ("CpuPeriod", zero()),
        ("CpuQuota", zero()),
        ("CpuRealtimePeriod", zero()),
        ("CpuRealtimeRuntime", zero()),
        ("CpusetCpus", Json::str("")),
        ("CpusetMems", Json::str("")),
        ("Devices", empty()),
        ("DeviceCgroupRules", Json::Null),
        ("DeviceRequests", Json::Null),
        ("MemoryReservation", zero()),
        ("MemorySwap", zero()),
        ("MemorySwappiness", Json::Null),
        ("OomKillDisable", Json::Null),
        ("PidsLimit", Json::Null),
        (
            "Ulimits",
            if engine == Engine::V29 {
                Json::Null
            } else {
                empty()
            },
        ),
        ("CpuCount", zero()),
        ("CpuPercent", zero()),
        ("IOMaximumIOps", zero()),
        ("IOMaximumBandwidth", zero()),
        ("MaskedPaths", strs(&masked)),
        ("ReadonlyPaths", strs(READONLY_PATHS)),
    ])
}

/// `Config`: the busybox image's defaults under `docker run -dit` (detached: nothing
/// attached, stdin kept open, a TTY), with the container's image and command.
fn config(host: &DockerHostView, c: Ctr, hostname: &str, image: &str, cmd: &[&str]) -> Json {
    let mut fields = vec![
        ("Hostname", Json::str(hostname)),
        ("Domainname", Json::str("")),
        ("User", Json::str("")),
        ("AttachStdin", Json::Bool(false)),
        ("AttachStdout", Json::Bool(false)),
        ("AttachStderr", Json::Bool(false)),
    ];
    let exposed: Vec<(String, Json)> = port_bindings(host, c)
        .into_iter()
        .map(|(k, _)| (k, Json::Obj(Vec::new())))
        .collect();
    if !exposed.is_empty() {
        fields.push(("ExposedPorts", Json::Obj(exposed)));
    }
    fields.extend([
        ("Tty", Json::Bool(true)),
        ("OpenStdin", Json::Bool(true)),
        ("StdinOnce", Json::Bool(false)),
        (
            "Env",
            strs(&["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
        ),
        ("Cmd", strs(cmd)),
        ("Image", Json::str(image)),
        ("Volumes", Json::Null),
        ("WorkingDir", Json::str("")),
        ("Entrypoint", Json::Null),
    ]);
    if host.daemon.engine != Engine::V29 {
        fields.push(("OnBuild", Json::Null));
    }
    fields.push(("Labels", Json::Obj(Vec::new())));
    obj(fields)
}

/// One entry of `NetworkSettings.Networks` (`network.EndpointSettings`).
#[derive(Default)]
struct EndpointView {
    static_ip: Option<Ipv4Address>,
    aliases: Vec<String>,
    network_id: String,
    endpoint_id: String,
    gateway: String,
    ip: String,
    mac: String,
    prefix: u64,
    /// On a network with IPv6: `IPv6Gateway`, `GlobalIPv6Address`, its prefix length.
    gateway6: String,
    ip6: String,
    prefix6: u64,
    /// `None`: `null` (no embedded DNS on the network).
    dns_names: Option<Vec<String>>,
}

fn endpoint_json(engine: Engine, e: EndpointView) -> Json {
    let ipam = match e.static_ip {
        Some(ip) => obj(vec![("IPv4Address", Json::Str(ip.to_string()))]),
        None => Json::Null,
    };
    let mut fields = vec![
        ("IPAMConfig", ipam),
        ("Links", Json::Null),
        ("Aliases", nil_or_strs(&e.aliases)),
    ];
    if engine != Engine::V29 {
        fields.push(("MacAddress", Json::str(&e.mac)));
    }
    fields.push(("DriverOpts", Json::Null));
    if engine != Engine::V27 {
        fields.push(("GwPriority", Json::Num(0)));
    }
    fields.extend([
        ("NetworkID", Json::Str(e.network_id)),
        ("EndpointID", Json::Str(e.endpoint_id)),
        ("Gateway", Json::Str(e.gateway)),
        ("IPAddress", Json::Str(e.ip)),
    ]);
    if engine == Engine::V29 {
        fields.push(("MacAddress", Json::Str(e.mac)));
    }
    fields.extend([
        ("IPPrefixLen", Json::Num(e.prefix)),
        ("IPv6Gateway", Json::Str(e.gateway6)),
        ("GlobalIPv6Address", Json::Str(e.ip6)),
        ("GlobalIPv6PrefixLen", Json::Num(e.prefix6)),
        ("DNSNames", e.dns_names.as_deref().map_or(Json::Null, strs)),
    ]);
    obj(fields)
}

/// `buildEndpointDNSNames`: the container's name, its aliases on the network, its short ID
/// and its hostname, without repeats, on user-defined networks only.
fn dns_names(name: &str, aliases: &[String], id: &str, hostname: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .chain([short_id(id), hostname]);
    for n in all {
        if !n.is_empty() && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// The endpoints of a container, keyed by network name (a Go map: sorted).
fn endpoints(host: &DockerHostView, c: Ctr, hostname: &str) -> Vec<(String, EndpointView)> {
    let mut out = Vec::new();
    match mode(host, c) {
        Mode::Own(ci) => {
            let ctr = &host.containers[ci];
            if ctr.endpoints.is_empty() {
                out.push((
                    "none".to_string(),
                    EndpointView {
                        network_id: host.none_network_id.clone(),
                        endpoint_id: host.endpoint_id(ci, 0),
                        ..EndpointView::default()
                    },
                ));
            }
            for (ei, ep) in ctr.endpoints.iter().enumerate() {
                let Some(net) = host.networks.get(ep.network) else {
                    continue;
                };
                let aliases = host
                    .aliases
                    .get(ci)
                    .and_then(|a| a.get(ei))
                    .cloned()
                    .unwrap_or_default();
                let user_defined = net.name != "bridge";
                let static_ip = host
                    .static_ips
                    .get(ci)
                    .and_then(|s| s.get(ei))
                    .copied()
                    .unwrap_or(false);
                let view = EndpointView {
                    static_ip: static_ip.then_some(ep.ip),
                    dns_names: user_defined
                        .then(|| dns_names(&ctr.name, &aliases, &ctr.id, hostname)),
                    aliases,
                    network_id: net.id.clone(),
                    endpoint_id: host.endpoint_id(ci, ei),
                    // The bridge driver gives an internal network's endpoints no gateway.
                    gateway: if net.internal {
                        String::new()
                    } else {
                        net.gateway.to_string()
                    },
                    ip: ep.ip.to_string(),
                    mac: mac(ep.mac),
                    prefix: u64::from(net.subnet.prefix_len()),
                    gateway6: match (net.internal, net.ipv6) {
                        (false, Some(v6)) => v6.gateway.to_string(),
                        _ => String::new(),
                    },
                    ip6: ep.ip6.map_or(String::new(), |ip| ip.to_string()),
                    prefix6: net.ipv6.map_or(0, |v6| u64::from(v6.subnet.prefix_len())),
                };
                out.push((net.name.clone(), view));
            }
        }
        Mode::Host => {
            if let Ctr::Shared(i) = c {
                out.push((
                    "host".to_string(),
                    EndpointView {
                        network_id: host.host_network_id.clone(),
                        endpoint_id: host.shared[i].endpoint_id.clone(),
                        ..EndpointView::default()
                    },
                ));
            }
        }
        Mode::Joined(_) => {}
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// moby `cleanOperationalData`, what `releaseNetwork` does to each endpoint of a container
/// that stops: what was configured stays (IPAM config, aliases, the network), what the running
/// endpoint had goes (ID, gateway, address, MAC). `DNSNames` are shown `null` too, as for an
/// endpoint not attached (moby's function itself leaves them: a real 29 daemon may still list
/// them; not checked against one).
fn clean_operational_data(e: EndpointView) -> EndpointView {
    EndpointView {
        static_ip: e.static_ip,
        aliases: e.aliases,
        network_id: e.network_id,
        ..EndpointView::default()
    }
}

/// `NetworkSettings`. 29: `SandboxID, SandboxKey, Ports, Networks`; 27 and 28 add the
/// deprecated fields, the top-level endpoint ones filled from the default bridge's endpoint.
/// A stopped container's are what `releaseNetwork` leaves: no sandbox, no ports, the
/// endpoints cleaned.
fn network_settings(host: &DockerHostView, c: Ctr, hostname: &str) -> Json {
    let engine = host.daemon.engine;
    let id = container::ctr_id(host, c);
    let running = container::state(host, c).is_running();
    let (sandbox_id, sandbox_key) = match (mode(host, c), c) {
        _ if !running => (String::new(), String::new()),
        (Mode::Own(_), Ctr::Own(i)) => {
            let sid = host
                .sandbox_ids
                .get(i)
                .cloned()
                .unwrap_or_else(|| derive_id(&format!("sandbox/{id}")));
            let key = format!("/var/run/docker/netns/{}", short_id(&sid));
            (sid, key)
        }
        (Mode::Host, _) => (
            derive_id(&format!("sandbox/{id}")),
            "/var/run/docker/netns/default".to_string(),
        ),
        _ => (String::new(), String::new()),
    };
    let mut ports: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for p in container::published(host, c) {
        let key = format!("{}/{}", p.ctr_port, p.proto);
        let port = match p.host_port {
            0 => String::new(),
            n => n.to_string(),
        };
        match ports.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push((p.host_ip, port)),
            None => ports.push((key, vec![(p.host_ip, port)])),
        }
    }
    ports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut eps = endpoints(host, c, hostname);
    if !running {
        eps = eps
            .into_iter()
            .map(|(name, e)| (name, clean_operational_data(e)))
            .collect();
    }
    let bridge = eps.iter().find(|(n, _)| n == "bridge").map(|(_, e)| e);
    let s = |f: fn(&EndpointView) -> &str| Json::str(bridge.map_or("", f));
    let mut fields = Vec::new();
    if engine != Engine::V29 {
        fields.push(("Bridge", Json::str("")));
    }
    fields.extend([
        ("SandboxID", Json::Str(sandbox_id)),
        ("SandboxKey", Json::Str(sandbox_key)),
        ("Ports", port_map(ports)),
    ]);
    if engine != Engine::V29 {
        fields.extend([
            ("HairpinMode", Json::Bool(false)),
            ("LinkLocalIPv6Address", Json::str("")),
            ("LinkLocalIPv6PrefixLen", Json::Num(0)),
            ("SecondaryIPAddresses", Json::Null),
            ("SecondaryIPv6Addresses", Json::Null),
            ("EndpointID", s(|e| &e.endpoint_id)),
            ("Gateway", s(|e| &e.gateway)),
            ("GlobalIPv6Address", s(|e| &e.ip6)),
            (
                "GlobalIPv6PrefixLen",
                Json::Num(bridge.map_or(0, |e| e.prefix6)),
            ),
            ("IPAddress", s(|e| &e.ip)),
            ("IPPrefixLen", Json::Num(bridge.map_or(0, |e| e.prefix))),
            ("IPv6Gateway", s(|e| &e.gateway6)),
            ("MacAddress", s(|e| &e.mac)),
        ]);
    }
    let networks = eps
        .into_iter()
        .map(|(name, e)| (name, endpoint_json(engine, e)))
        .collect();
    fields.push(("Networks", Json::Obj(networks)));
    obj(fields)
}

//! What a planned Docker step does to a running lab, in generic terms: its output and exit
//! status, and the changes (veths plugged and unplugged, gateways, names, rules, programs)
//! that the lab's runner applies when the step runs.

use smoltcp::wire::Ipv4Address;

use crate::link::Endpoint;

/// A step whose command changes the topology: its planned output and exit code, and the
/// changes it makes, in order.
#[derive(Clone, Debug, Default)]
pub struct PlannedStep {
    pub exit: i32,
    pub output: String,
    pub changes: Vec<Change>,
}

/// One change to a running lab, in generic terms (the Docker model plans them; the runner
/// applies them).
#[derive(Clone, Debug)]
pub enum Change {
    /// A host interface and a bridge port are joined by a new veth pair: both exist from
    /// now on, and the interface takes `config` (its MAC, address and MTU).
    Plug {
        iface: Endpoint,
        port: Endpoint,
        config: crate::host::IfaceConfig,
    },
    /// The veth pair is deleted: both ends cease to exist, the bridge forgets what it
    /// learned on the port, the interface loses its address.
    Unplug {
        iface: Endpoint,
        port: Endpoint,
    },
    /// A host's default route (none: no default route).
    Gateway {
        host: String,
        gateway: Option<Ipv4Address>,
        gateway6: Option<smoltcp::wire::Ipv6Address>,
    },
    /// A host sends `count` rounds of unsolicited ARPs, one second apart, from interface
    /// `iface` (None: every addressed one).
    Announce {
        host: String,
        count: u8,
        iface: Option<usize>,
    },
    /// A host's `/etc/hosts` and DNS answers.
    Names {
        host: String,
        names: crate::host::resolve::Names,
    },
    /// An `iptables` command on a router.
    Iptables {
        router: String,
        argv: Vec<String>,
    },
    /// An `nft -f` script run on a router (Docker's incremental update of its tables).
    Nft {
        router: String,
        script: String,
    },
    /// Conntrack entries deleted on a router: any with one of `ips` in a tuple, and UDP
    /// ones to one of `udp_ports`.
    ConntrackForget {
        router: String,
        /// Of either family.
        ips: Vec<smoltcp::wire::IpAddress>,
        udp_ports: Vec<u16>,
    },
    /// A program starts on a node, to run until a `Stop` with its key (or the lab's end).
    Start {
        key: String,
        node: String,
        argv: Vec<String>,
    },
    Stop {
        key: String,
    },
    /// Every step command still running on a node is stopped.
    StopCommands {
        node: String,
    },
    /// Whether steps may run on a node: `Some(error)` refuses them with that error.
    Refuse {
        node: String,
        error: Option<String>,
    },
    /// What a router's `docker` CLI reports from now on. The plan cannot know when steps
    /// will run: each of `stamps` sets one of the view's times to the start of its step.
    DockerView {
        router: String,
        view: Box<crate::docker::cli::DockerHostView>,
        stamps: Vec<Stamp>,
    },
}

/// A time in a planned Docker view that is the start of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The container's index in the view.
    pub container: usize,
    pub field: StampField,
    /// The step's index.
    pub step: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampField {
    /// When `docker run` created it.
    Created,
    /// When it last started.
    Started,
    /// When it last stopped.
    Finished,
}

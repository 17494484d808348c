//! `ss`: a stack's TCP and UDP sockets as iproute2 6.1's `ss` lists them, for hosts and for a
//! router's own stack.
//!
//! The listing is iproute2's column layout for output that is not a terminal (the compact
//! form `ss` prints into a pipe or a file, which is what a step's output is): each column
//! as wide as its longest field, address columns right-aligned, the others padded on the
//! right. `ss` measures a field when it moves past it, and the last socket's process field
//! is never moved past: so that one does not widen its column, and with a single socket the
//! `Process` header is not padded. Kept here, as `render` shows.
//!
//! What a stack cannot know is chosen, and documented: pids count from the stack's first in
//! the order programs start, descriptors are those each program would hold
//! (`crate::host::apps::Held`), a listener's Send-Q is its program's backlog. Sockets are
//! listed UDP first, then TCP (as `ss` asks the kernel), listeners before connections (the
//! kernel dumps its listening hash first), each group by local port, then addresses; the
//! kernel's own order within a group follows its hash tables.

use std::fmt::Write;

use smoltcp::socket::{Socket, tcp};
use smoltcp::wire::{IpAddress, IpListenEndpoint, Ipv4Address, Ipv6Address};

use crate::host::apps::Held;
use crate::host::net::{Net, SockRef};
use crate::time::Instant;

/// A socket state in `ss`'s numbering (`SS_*`, the kernel's `TCP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    /// An unconnected UDP socket (`UNCONN`).
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
}

/// Every state bit, `SS_UNKNOWN` included (`SS_ALL`).
const ALL: u16 = (1 << 12) - 1;
const fn bit(s: State) -> u16 {
    1 << s as u16
}
/// `ss`'s default: every state but listening, closed, TIME-WAIT and SYN-RECV (`SS_CONN`).
const CONN: u16 =
    ALL & !(bit(State::Listen) | bit(State::Close) | bit(State::TimeWait) | bit(State::SynRecv));

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Established => "ESTAB",
            State::SynSent => "SYN-SENT",
            State::SynRecv => "SYN-RECV",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::TimeWait => "TIME-WAIT",
            State::Close => "UNCONN",
            State::CloseWait => "CLOSE-WAIT",
            State::LastAck => "LAST-ACK",
            State::Listen => "LISTEN",
            State::Closing => "CLOSING",
        }
    }

    fn of_tcp(s: tcp::State) -> Option<State> {
        Some(match s {
            tcp::State::Closed => return None,
            tcp::State::Listen => State::Listen,
            tcp::State::SynSent => State::SynSent,
            tcp::State::SynReceived => State::SynRecv,
            tcp::State::Established => State::Established,
            tcp::State::FinWait1 => State::FinWait1,
            tcp::State::FinWait2 => State::FinWait2,
            tcp::State::CloseWait => State::CloseWait,
            tcp::State::Closing => State::Closing,
            tcp::State::LastAck => State::LastAck,
            tcp::State::TimeWait => State::TimeWait,
        })
    }
}

/// `ss`'s `scan_state`: a name after `state` or `exclude`, as a set of state bits.
fn scan_state(name: &str) -> Result<u16, String> {
    let n = name.to_ascii_lowercase();
    let one = |s: State| Ok(bit(s));
    match n.as_str() {
        "close" | "closed" | "unconnected" => one(State::Close),
        "syn-rcv" | "syn-recv" => one(State::SynRecv),
        "established" => one(State::Established),
        "all" => Ok(ALL),
        "connected" => Ok(ALL & !(bit(State::Close) | bit(State::Listen))),
        "synchronized" => Ok(ALL & !(bit(State::Close) | bit(State::Listen) | bit(State::SynSent))),
        "bucket" => Ok(bit(State::SynRecv) | bit(State::TimeWait)),
        "big" => Ok(ALL & !(bit(State::SynRecv) | bit(State::TimeWait))),
        "unknown" => Ok(1),
        "syn-sent" => one(State::SynSent),
        "fin-wait-1" => one(State::FinWait1),
        "fin-wait-2" => one(State::FinWait2),
        "time-wait" => one(State::TimeWait),
        "close-wait" => one(State::CloseWait),
        "last-ack" => one(State::LastAck),
        "listening" => one(State::Listen),
        "closing" => one(State::Closing),
        _ => Err(format!("ss: wrong state name: {name}")),
    }
}

/// The socket tables `ss` was asked for: TCP, UDP, and (for the "more than one" test that
/// decides the Netid column) any other kind, which a hoplab stack never has.
const TCP: u8 = 1;
const UDP: u8 = 2;
const OTHER: u8 = 4;

/// `ss`'s options, as far as hoplab models them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsArgs {
    tables: u8,
    states: u16,
    numeric: bool,
    processes: bool,
    summary: bool,
    header: bool,
    version: bool,
    /// `-4`, `-6`: the families shown (bit 0 IPv4, bit 1 IPv6); 0 for both.
    families: u8,
}

const USAGE: &str = "Usage: ss [ OPTIONS ]\n       ss [ OPTIONS ] [ FILTER ]";

/// Parses `ss`'s arguments (after `ss`) as its getopt and filter parser read them: options
/// run together (`-tlnp`), long forms (`--tcp`), then `state NAME` / `exclude NAME`.
/// Options for what hoplab has no model of (timers, memory, TCP internals, other socket
/// families) are refused by name; an unknown option is `ss`'s own complaint.
pub fn parse(args: &[String]) -> Result<SsArgs, String> {
    let mut a = SsArgs {
        tables: 0,
        states: 0,
        numeric: false,
        processes: false,
        summary: false,
        header: true,
        version: false,
        families: 0,
    };
    // `-l` and `-a` set the state filter; an explicit table or family leaves the default.
    let mut state_filter = 0u16;
    let mut default_tables = true;
    let mut inet = false;
    let mut rest = args.iter().map(String::as_str).peekable();
    let not_modelled = |o: &str| format!("hoplab: ss option {o} is not modelled");
    while let Some(w) = rest.next_if(|w| w.starts_with('-') && w.len() > 1) {
        let letters: Vec<char> = match w.strip_prefix("--") {
            Some(long) => vec![match long {
                "tcp" => 't',
                "udp" => 'u',
                "listening" => 'l',
                "all" => 'a',
                "numeric" => 'n',
                "processes" => 'p',
                "summary" => 's',
                "no-header" => 'H',
                "ipv4" => '4',
                "ipv6" => '6',
                "version" => 'V',
                "" => break,
                other => {
                    let known = [
                        "help",
                        "resolve",
                        "options",
                        "extended",
                        "memory",
                        "threads",
                        "info",
                        "tipcinfo",
                        "tos",
                        "cgroup",
                        "bpf",
                        "events",
                        "context",
                        "contexts",
                        "net",
                        "packet",
                        "mptcp",
                        "sctp",
                        "dccp",
                        "raw",
                        "unix",
                        "tipc",
                        "vsock",
                        "xdp",
                        "family",
                        "kill",
                        "oneline",
                        "inet-sockopt",
                        "query",
                        "socket",
                        "diag",
                        "filter",
                    ];
                    let name = other.split('=').next().unwrap_or(other);
                    return Err(match known.contains(&name) {
                        true => not_modelled(w),
                        false => format!("ss: unrecognized option '{w}'\n{USAGE}"),
                    });
                }
            }],
            None => w[1..].chars().collect(),
        };
        for c in letters {
            match c {
                't' => {
                    a.tables |= TCP;
                    default_tables = false;
                }
                'u' => {
                    a.tables |= UDP;
                    default_tables = false;
                }
                '4' | '6' => {
                    a.families |= if c == '4' { 1 } else { 2 };
                    inet = true;
                    default_tables = false;
                }
                'l' => state_filter = bit(State::Listen) | bit(State::Close),
                'a' => state_filter = ALL,
                'n' => a.numeric = true,
                'p' => a.processes = true,
                's' => a.summary = true,
                'H' => a.header = false,
                'V' => a.version = true,
                'h' | 'r' | 'o' | 'e' | 'm' | 'T' | 'i' | 'b' | 'E' | 'Z' | 'z' | 'N' | '0'
                | 'M' | 'S' | 'd' | 'w' | 'x' | 'f' | 'K' | 'O' | 'A' | 'D' | 'F' => {
                    return Err(not_modelled(&format!("-{c}")));
                }
                other => return Err(format!("ss: invalid option -- '{other}'\n{USAGE}")),
            }
        }
    }
    // The state filter: `state X` selects (the first one replaces `-l`/`-a`'s), `exclude X`
    // removes (from every state, at first).
    let mut saw_states = false;
    while let Some(w) = rest.next_if(|w| matches!(*w, "state" | "exclude" | "excl")) {
        let name = rest
            .next()
            .ok_or("Command line is not complete. Try option \"help\"")?;
        let s = scan_state(name)?;
        if w == "state" {
            if !saw_states {
                state_filter = 0;
            }
            state_filter |= s;
        } else {
            if !saw_states {
                state_filter = ALL;
            }
            state_filter &= !s;
        }
        saw_states = true;
    }
    if let Some(w) = rest.next() {
        return Err(format!(
            "hoplab: ss filter expressions are not modelled (at `{w}`): `state NAME` is; pipe the listing to grep instead"
        ));
    }
    // As `ss` merges its defaults: a table brings its default states (TCP every connected
    // one, UDP established), a family all of its tables, no table or family every table.
    let mut states = 0;
    if a.tables & TCP != 0 {
        states |= CONN;
    }
    if a.tables & UDP != 0 {
        states |= bit(State::Established);
    }
    if inet {
        states |= CONN;
        if a.tables == 0 {
            a.tables = TCP | UDP | OTHER;
        }
    }
    if default_tables {
        a.tables = TCP | UDP | OTHER;
        states = CONN;
    }
    a.states = if state_filter != 0 {
        state_filter
    } else {
        states
    };
    Ok(a)
}

/// An endpoint's address as `ss` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// An IPv4 socket's: `10.0.0.1`, `0.0.0.0`.
    V4(Ipv4Address),
    /// An IPv6 socket's: `[2001:db8::1]`.
    V6(Ipv6Address),
    /// An IPv4 peer of an IPv6 socket (`bindv6only=0`): `[::ffff:10.0.0.1]`.
    Mapped(Ipv4Address),
    /// An IPv6 socket's unspecified address when it takes both families: `*`.
    AnyDual,
}

impl Addr {
    fn of(a: IpAddress, dual: bool) -> Addr {
        match a {
            IpAddress::Ipv4(a) if dual => Addr::Mapped(a),
            IpAddress::Ipv4(a) => Addr::V4(a),
            IpAddress::Ipv6(a) => Addr::V6(a),
        }
    }

    pub fn is_v6(self) -> bool {
        !matches!(self, Addr::V4(_))
    }

    /// The order the kernel's tables list sockets in, addresses compared as numbers.
    fn key(self) -> u128 {
        match self {
            Addr::V4(a) => a.to_bits().into(),
            Addr::V6(a) => a.to_bits(),
            Addr::Mapped(a) => 0xffff_0000_0000 | u128::from(a.to_bits()),
            Addr::AnyDual => 0,
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::V4(a) => write!(f, "{a}"),
            Addr::V6(a) => write!(f, "[{a}]"),
            Addr::Mapped(a) => write!(f, "[::ffff:{a}]"),
            Addr::AnyDual => f.write_str("*"),
        }
    }
}

/// One line of the listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sock {
    pub udp: bool,
    pub state: State,
    pub recv_q: u64,
    pub send_q: u64,
    pub local: (Addr, u16),
    /// 0.0.0.0:0 for none (`0.0.0.0:*`; `*:*` for a socket taking both families).
    pub peer: (Addr, u16),
    /// (name, pid, descriptor) of the program holding it.
    pub users: Option<(String, u32, u32)>,
}

/// A bound socket's address: a wildcard one is `0.0.0.0`, `*` for a `[::]` socket taking
/// both families (`dual`), `[::]` for an IPv6-only one (`v6only`); `wild` says an address
/// stands for the wildcard (`Net::wild4`).
fn listen_addr(e: IpListenEndpoint, dual: bool, wild: bool, v6only: bool) -> (Addr, u16) {
    let addr = match e.addr {
        None | Some(_) if dual => Addr::AnyDual,
        None if v6only => Addr::V6(Ipv6Address::UNSPECIFIED),
        None => Addr::V4(Ipv4Address::UNSPECIFIED),
        Some(_) if wild => Addr::V4(Ipv4Address::UNSPECIFIED),
        Some(a) => Addr::of(a, false),
    };
    (addr, e.port)
}

/// The peer column of an unconnected socket: `0.0.0.0:*`, `*:*`, `[::]:*`.
fn no_peer(local: Addr) -> (Addr, u16) {
    match local {
        Addr::V4(_) => (Addr::V4(Ipv4Address::UNSPECIFIED), 0),
        Addr::AnyDual => (Addr::AnyDual, 0),
        _ => (Addr::V6(Ipv6Address::UNSPECIFIED), 0),
    }
}

/// A stack's TCP and UDP sockets in listing order, one per socket Linux would have: a
/// program's sockets that share a descriptor (a server's per-interface listeners) are one.
/// `held` names each program's sockets with (name, pid).
pub fn sockets(net: &Net, held: &[(Held, (&str, u32))], now: Instant) -> Vec<Sock> {
    let owner = |r: SockRef| held.iter().find(|(h, _)| h.sock == r);
    let mut socks: Vec<Sock> = Vec::new();
    for (iface, f) in net.ifaces.iter().enumerate() {
        for (handle, s) in f.sockets.iter() {
            let r = SockRef { iface, handle };
            let (dual, wild) = (net.dual.contains(&r), net.wild4.contains(&r));
            let v6only = net.v6only.contains(&r);
            let held = owner(r);
            let users = held.map(|(h, (comm, pid))| (comm.to_string(), *pid, h.fd));
            let sock = match s {
                Socket::Tcp(t) => {
                    let Some(state) = State::of_tcp(t.state()) else {
                        continue;
                    };
                    let ends = match state {
                        State::Listen => {
                            let l = listen_addr(t.listen_endpoint(), dual, wild, v6only);
                            Some((l, no_peer(l.0)))
                        }
                        _ => match (t.local_endpoint(), t.remote_endpoint()) {
                            (Some(l), Some(r)) => Some((
                                (Addr::of(l.addr, dual), l.port),
                                (Addr::of(r.addr, dual), r.port),
                            )),
                            _ => None,
                        },
                    };
                    let Some((local, peer)) = ends else {
                        continue;
                    };
                    // Linux's Send-Q counts what is unacknowledged, a SYN or FIN included;
                    // a request (SYN-RECV) and a TIME-WAIT minisocket hold nothing and
                    // belong to no descriptor.
                    let (recv_q, send_q, users) = match state {
                        State::Listen => (0, held.map_or(0, |h| h.0.backlog.into()), users),
                        State::SynRecv | State::TimeWait => (0, 0, None),
                        _ => {
                            let syn_or_fin = matches!(
                                state,
                                State::SynSent | State::FinWait1 | State::Closing | State::LastAck
                            );
                            let sent = t.send_queue() as u64 + u64::from(syn_or_fin);
                            (t.recv_queue() as u64, sent, users)
                        }
                    };
                    Sock {
                        udp: false,
                        state,
                        recv_q,
                        send_q,
                        local,
                        peer,
                        users,
                    }
                }
                Socket::Udp(u) => {
                    if !u.is_open() {
                        continue;
                    }
                    let mut local = listen_addr(u.endpoint(), dual, wild, v6only);
                    let peer = held
                        .and_then(|h| h.0.peer)
                        .map(|p| (Addr::of(p.addr, dual), p.port));
                    // A connected socket has its source address: the interface's.
                    if peer.is_some() && local.0 == Addr::V4(Ipv4Address::UNSPECIFIED) {
                        local.0 = net.addr(iface).map_or(local.0, Addr::V4);
                    }
                    // A `[::]` socket connected to its first sender: the address it came to.
                    match (local.0, peer.map(|p| p.0)) {
                        (Addr::AnyDual, Some(Addr::V6(p))) => {
                            local.0 = net.source6(iface, p).map_or(local.0, Addr::V6);
                        }
                        (Addr::AnyDual, Some(Addr::Mapped(_))) => {
                            local.0 = net.addr(iface).map_or(local.0, Addr::Mapped);
                        }
                        _ => {}
                    }
                    Sock {
                        udp: true,
                        state: match peer {
                            Some(_) => State::Established,
                            None => State::Close,
                        },
                        recv_q: u.recv_queue() as u64,
                        send_q: u.send_queue() as u64,
                        local,
                        peer: peer.unwrap_or(no_peer(local.0)),
                        users,
                    }
                }
                _ => continue,
            };
            match socks.iter_mut().find(|s| same_socket(s, &sock)) {
                Some(s) => {
                    s.recv_q += sock.recv_q;
                    if s.state != State::Listen {
                        s.send_q += sock.send_q;
                    }
                }
                None => socks.push(sock),
            }
        }
    }
    // Connections smoltcp has let go of that Linux still keeps in TIME-WAIT.
    for t in net.time_wait.iter().filter(|t| t.until > now) {
        let (local, remote) = (
            (Addr::of(t.local.0, t.mapped), t.local.1),
            (Addr::of(t.remote.0, t.mapped), t.remote.1),
        );
        let live = socks
            .iter()
            .any(|s| !s.udp && s.local == local && s.peer == remote);
        if !live {
            socks.push(Sock {
                udp: false,
                state: State::TimeWait,
                recv_q: 0,
                send_q: 0,
                local,
                peer: remote,
                users: None,
            });
        }
    }
    socks.sort_by_key(|s| {
        let addr = |a: (Addr, u16)| (a.0.key(), a.1);
        // `ss` asks for each table's IPv4 sockets, then its IPv6 ones.
        (
            !s.udp,
            s.local.0.is_v6(),
            s.state != State::Listen,
            s.local.1,
            s.local.0.key(),
            addr(s.peer),
        )
    });
    socks
}

/// Two smoltcp sockets that are one Linux socket: the same program's descriptor, state and
/// addresses (a server listening on every address holds one per interface).
fn same_socket(a: &Sock, b: &Sock) -> bool {
    a.users.is_some()
        && a.users == b.users
        && (a.udp, a.state, a.local, a.peer) == (b.udp, b.state, b.local, b.peer)
}

/// `ss`'s columns: alignment, header, the delimiter printed before the field.
const COLUMNS: [(Align, &str, &str); 10] = [
    (Align::Left, "Netid", ""),
    (Align::Left, "State", " "),
    (Align::Left, "Recv-Q", " "),
    (Align::Left, "Send-Q", " "),
    (Align::Right, "Local Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Right, "Peer Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Left, "Process", ""),
    (Align::Left, "", ""),
];
const NETID: usize = 0;
const STATE: usize = 1;
const PROC: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// The listing `ss` prints for `args`: the summary (`-s`), then the table.
pub fn listing(args: &SsArgs, socks: &[Sock]) -> String {
    if args.version {
        return "ss utility, iproute2-6.1.0\n".into();
    }
    let mut out = String::new();
    if args.summary {
        out += &summary(socks);
        // `ss -s` alone is the summary; with a table or state asked for, the table follows.
        if args.tables == TCP | UDP | OTHER && args.states == CONN {
            return out;
        }
    }
    let shown: Vec<&Sock> = socks
        .iter()
        .filter(|s| args.tables & if s.udp { UDP } else { TCP } != 0)
        .filter(|s| args.states & bit(s.state) != 0)
        .filter(|s| {
            args.families == 0 || args.families & if s.local.0.is_v6() { 2 } else { 1 } != 0
        })
        .collect();
    let mut disabled = [false; 10];
    disabled[NETID] = args.tables.count_ones() < 2;
    disabled[STATE] = args.states.count_ones() < 2;
    let mut rows: Vec<[String; 10]> = Vec::new();
    if args.header {
        rows.push(COLUMNS.map(|c| c.1.to_string()));
        rows[0][9] = String::new();
    }
    for s in &shown {
        let service = |port: u16| match port {
            0 => "*".to_string(),
            p => service(p, s.udp, args.numeric).unwrap_or_else(|| p.to_string()),
        };
        let users = match (&s.users, args.processes) {
            (Some((comm, pid, fd)), true) => format!(" users:((\"{comm}\",pid={pid},fd={fd}))"),
            _ => String::new(),
        };
        rows.push([
            if s.udp { "udp" } else { "tcp" }.to_string(),
            s.state.name().to_string(),
            format!("{:<6}", s.recv_q),
            format!("{:<6}", s.send_q),
            format!("{}:", s.local.0),
            service(s.local.1),
            format!("{}:", s.peer.0),
            service(s.peer.1),
            users,
            String::new(),
        ]);
    }
    out += &render(&rows, &disabled);
    out
}

/// Lays rows out as `ss`'s `render` does without a terminal: widths from what was measured
/// (the last row's process field is never measured), no extra spacing.
fn render(rows: &[[String; 10]], disabled: &[bool; 10]) -> String {
    let mut max_len = [0usize; 10];
    for (r, row) in rows.iter().enumerate() {
        let last = r + 1 == rows.len();
        for (c, field) in row.iter().enumerate() {
            // The last row's own fields end at its process field, which stays unmeasured.
            if disabled[c] || (last && c >= PROC) {
                continue;
            }
            max_len[c] = max_len[c].max(field.len());
        }
    }
    let mut width = [0usize; 10];
    let mut first = true;
    for c in 0..10 {
        if disabled[c] {
            continue;
        }
        width[c] = match (first, max_len[c]) {
            (false, n) if n > 0 => n + COLUMNS[c].2.len(),
            (_, n) => n,
        };
        if width[c] > 0 {
            first = false;
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut started = false;
        for (c, field) in row.iter().enumerate() {
            if disabled[c] {
                continue;
            }
            let mut printed = 0;
            if started {
                out += COLUMNS[c].2;
                printed = COLUMNS[c].2.len();
            }
            started = true;
            if COLUMNS[c].0 == Align::Right {
                let pad = width[c].saturating_sub(field.len() + printed);
                out.extend(std::iter::repeat_n(' ', pad));
                printed += pad;
            }
            out += field;
            printed += field.len();
            if COLUMNS[c].0 == Align::Left {
                out.extend(std::iter::repeat_n(' ', width[c].saturating_sub(printed)));
            }
        }
        out.push('\n');
    }
    out
}

/// `ss -s`, from the stack's own sockets: the kernel's figures mix counters of the whole
/// machine (`alloc`, every namespace's), which a lab's node is alone in.
/// Total: sockets held by programs. TCP: every TCP socket and TIME-WAIT, `estab` the
/// established and close-wait ones (`CurrEstab`), `closed` as `ss` computes it (allocated
/// less hashed plus TIME-WAIT: here, the TIME-WAIT ones), `orphaned` those no program holds
/// that are not in TIME-WAIT.
fn summary(socks: &[Sock]) -> String {
    let tcp: Vec<&Sock> = socks.iter().filter(|s| !s.udp).collect();
    let tw = tcp.iter().filter(|s| s.state == State::TimeWait).count();
    let estab = tcp
        .iter()
        .filter(|s| matches!(s.state, State::Established | State::CloseWait))
        .count();
    let orphaned = tcp
        .iter()
        .filter(|s| s.users.is_none() && !matches!(s.state, State::TimeWait | State::SynRecv))
        .count();
    let hashed = tcp.len() - tw;
    let hashed6 = tcp
        .iter()
        .filter(|s| s.state != State::TimeWait && s.local.0.is_v6())
        .count();
    let udp = socks.iter().filter(|s| s.udp).count();
    let udp6 = socks.iter().filter(|s| s.udp && s.local.0.is_v6()).count();
    let total = socks.iter().filter(|s| s.users.is_some()).count();
    let mut out = String::new();
    let _ = writeln!(out, "Total: {total}");
    let _ = writeln!(
        out,
        "TCP:   {} (estab {estab}, closed {tw}, orphaned {orphaned}, timewait {tw})",
        hashed + tw
    );
    out += "\nTransport Total     IP        IPv6\n";
    // The IP column counts the IPv4 sockets, IPv6 the IPv6 ones (sockstat, sockstat6).
    for (name, n, n6) in [
        ("RAW", 0, 0),
        ("UDP", udp, udp6),
        ("TCP", hashed, hashed6),
        ("INET", udp + hashed, udp6 + hashed6),
        ("FRAG", 0, 0),
    ] {
        let _ = writeln!(out, "{name}\t  {n:<9} {:<9} {n6:<9}", n - n6);
    }
    out.push('\n');
    out
}

/// The service name `ss` prints for a port: Debian 12's `/etc/services` (netbase 6.4), for
/// ports outside the ephemeral range (32768–60999), which `ss` never names.
fn service(port: u16, udp: bool, numeric: bool) -> Option<String> {
    if numeric || (32768..=60999).contains(&port) {
        return None;
    }
    let name = match (port, udp) {
        (20, false) => "ftp-data",
        (21, false) => "ftp",
        (22, false) => "ssh",
        (23, false) => "telnet",
        (25, false) => "smtp",
        (53, _) => "domain",
        (67, true) => "bootps",
        (68, true) => "bootpc",
        (69, true) => "tftp",
        (80, false) => "http",
        (110, false) => "pop3",
        (123, true) => "ntp",
        (143, false) => "imap2",
        (161, _) => "snmp",
        (389, false) => "ldap",
        (443, _) => "https",
        (465, false) => "submissions",
        (514, true) => "syslog",
        (514, false) => "shell",
        (587, false) => "submission",
        (636, false) => "ldaps",
        (993, false) => "imaps",
        (995, false) => "pop3s",
        (1194, _) => "openvpn",
        (1812, _) => "radius",
        (2049, _) => "nfs",
        (3306, false) => "mysql",
        (3389, false) => "ms-wbt-server",
        (5353, true) => "mdns",
        (5432, false) => "postgresql",
        (5672, false) => "amqp",
        (6379, false) => "redis",
        (8080, false) => "http-alt",
        _ => return None,
    };
    Some(name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> SsArgs {
        let w: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&w).unwrap()
    }

    fn listen(port: u16, users: Option<(&str, u32, u32)>, backlog: u64) -> Sock {
        Sock {
            udp: false,
            state: State::Listen,
            recv_q: 0,
            send_q: backlog,
            local: (Addr::V4(Ipv4Address::UNSPECIFIED), port),
            peer: (Addr::V4(Ipv4Address::UNSPECIFIED), 0),
            users: users.map(|(c, p, f)| (c.to_string(), p, f)),
        }
    }

    fn conn(state: State, local: &str, lport: u16, peer: &str, pport: u16) -> Sock {
        Sock {
            udp: false,
            state,
            recv_q: 0,
            send_q: 0,
            local: (Addr::V4(local.parse().unwrap()), lport),
            peer: (Addr::V4(peer.parse().unwrap()), pport),
            users: None,
        }
    }

    /// Byte for byte what iproute2 6.1's `ss` printed into a pipe for the same sockets
    /// (`nc -l 8080`, `nc -u -l 5353`, `python3 -m http.server 8000` in a namespace).
    #[test]
    fn listeners_as_ss_prints_them() {
        let nc = listen(8080, Some(("nc", 12377, 3)), 1);
        assert_eq!(
            listing(&args("-tln"), std::slice::from_ref(&nc)),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
             LISTEN 0      1            0.0.0.0:8080      0.0.0.0:*          \n"
        );
        // One socket: its process field widens nothing, so the header is not padded.
        assert_eq!(
            listing(&args("-tlnp"), std::slice::from_ref(&nc)),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
             LISTEN 0      1            0.0.0.0:8080      0.0.0.0:*    users:((\"nc\",pid=12377,fd=3))\n"
        );
        assert_eq!(
            listing(&args("-tl"), std::slice::from_ref(&nc)),
            "State  Recv-Q Send-Q Local Address:Port     Peer Address:PortProcess\n\
             LISTEN 0      1            0.0.0.0:http-alt      0.0.0.0:*          \n"
        );
        let py = listen(8000, Some(("python3", 13636, 3)), 5);
        let udp = Sock {
            udp: true,
            state: State::Close,
            send_q: 0,
            local: (Addr::V4(Ipv4Address::UNSPECIFIED), 5353),
            users: Some(("nc".into(), 12379, 3)),
            ..listen(5353, None, 0)
        };
        let all = [udp.clone(), nc.clone(), py.clone()];
        assert_eq!(
            listing(&args("-tulnp"), &all),
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess                       \n\
             udp   UNCONN 0      0            0.0.0.0:5353      0.0.0.0:*    users:((\"nc\",pid=12379,fd=3))\n\
             tcp   LISTEN 0      1            0.0.0.0:8080      0.0.0.0:*    users:((\"nc\",pid=12377,fd=3))\n\
             tcp   LISTEN 0      5            0.0.0.0:8000      0.0.0.0:*    users:((\"python3\",pid=13636,fd=3))\n"
        );
        assert_eq!(
            listing(&args("-uln"), &all),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
             UNCONN 0      0            0.0.0.0:5353      0.0.0.0:*          \n"
        );
    }

    /// As `ss` printed for `nc -lk 9000` with a connection from 127.0.0.1:51062, and a
    /// connection from 127.0.0.1:51782 that closed first.
    #[test]
    fn connections_and_the_state_column() {
        let socks = [
            listen(9000, None, 1),
            conn(State::Established, "127.0.0.1", 9000, "127.0.0.1", 51062),
            conn(State::Established, "127.0.0.1", 51062, "127.0.0.1", 9000),
            conn(State::TimeWait, "127.0.0.1", 51782, "127.0.0.1", 8000),
        ];
        let ss = |a: &str| listing(&args(a), &socks).replace(' ', ".");
        assert_eq!(
            ss("-tan"),
            "State.....Recv-Q.Send-Q.Local.Address:Port..Peer.Address:Port.Process\n\
             LISTEN....0......1............0.0.0.0:9000.......0.0.0.0:*...........\n\
             ESTAB.....0......0..........127.0.0.1:9000.....127.0.0.1:51062.......\n\
             ESTAB.....0......0..........127.0.0.1:51062....127.0.0.1:9000........\n\
             TIME-WAIT.0......0..........127.0.0.1:51782....127.0.0.1:8000........\n"
        );
        assert_eq!(ss("-ta"), ss("-tan"));
        // One state asked for: no State column. The default leaves listeners and TIME-WAIT
        // out, with the State column.
        assert_eq!(
            ss("-tn state established"),
            "Recv-Q.Send-Q.Local.Address:Port..Peer.Address:Port.Process\n\
             0......0..........127.0.0.1:9000.....127.0.0.1:51062.......\n\
             0......0..........127.0.0.1:51062....127.0.0.1:9000........\n"
        );
        assert_eq!(
            ss("-tn"),
            "State.Recv-Q.Send-Q.Local.Address:Port..Peer.Address:Port.Process\n\
             ESTAB.0......0..........127.0.0.1:9000.....127.0.0.1:51062.......\n\
             ESTAB.0......0..........127.0.0.1:51062....127.0.0.1:9000........\n"
        );
        assert_eq!(
            ss("-tHn"),
            "ESTAB.0......0......127.0.0.1:9000..127.0.0.1:51062\n\
             ESTAB.0......0......127.0.0.1:51062.127.0.0.1:9000.\n"
        );
        assert_eq!(
            ss("-tan state time-wait"),
            "Recv-Q.Send-Q.Local.Address:Port..Peer.Address:PortProcess\n\
             0......0..........127.0.0.1:51782....127.0.0.1:8000.......\n"
        );
        assert_eq!(
            listing(&args("-s"), &socks),
            "Total: 0\nTCP:   4 (estab 2, closed 1, orphaned 3, timewait 1)\n\n\
             Transport Total     IP        IPv6\n\
             RAW\t  0         0         0        \n\
             UDP\t  0         0         0        \n\
             TCP\t  3         3         0        \n\
             INET\t  3         3         0        \n\
             FRAG\t  0         0         0        \n\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(
            listing(&args("-tan"), &[]),
            "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        );
        assert_eq!(
            listing(&args("-tuln"), &[]),
            "Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        );
    }

    #[test]
    fn options_and_filters() {
        let a = args("-tuln");
        assert_eq!(
            (a.tables, a.states),
            (TCP | UDP, bit(State::Listen) | bit(State::Close))
        );
        assert_eq!(args("-u").states, bit(State::Established));
        assert_eq!(args("--tcp --all").states, ALL);
        assert_eq!(
            args("-ta exclude time-wait").states,
            ALL & !bit(State::TimeWait)
        );
        assert_eq!(args("").tables, TCP | UDP | OTHER);
        let err = |s: &str| {
            let w: Vec<String> = s.split_whitespace().map(String::from).collect();
            parse(&w).unwrap_err()
        };
        assert!(err("-Q").starts_with("ss: invalid option -- 'Q'\nUsage: ss"));
        assert!(err("--bogus").starts_with("ss: unrecognized option '--bogus'"));
        assert_eq!(err("-to"), "hoplab: ss option -o is not modelled");
        assert_eq!(err("-t state bogus"), "ss: wrong state name: bogus");
        assert!(err("-t dport = :80").contains("not modelled"));
    }

    #[test]
    fn service_names_only_outside_the_ephemeral_range() {
        assert_eq!(service(80, false, false).as_deref(), Some("http"));
        assert_eq!(service(80, true, false), None);
        assert_eq!(service(80, false, true), None);
        assert_eq!(service(53, true, false).as_deref(), Some("domain"));
        assert_eq!(service(9000, false, false), None);
    }

    #[test]
    fn ipv6_sockets_print_in_brackets_and_filter_by_family() {
        let v6 = |a: &str| Addr::V6(a.parse().unwrap());
        let mapped = |a: &str| Addr::Mapped(a.parse().unwrap());
        let dual = Sock {
            local: (Addr::AnyDual, 80),
            peer: (Addr::AnyDual, 0),
            ..listen(80, None, 5)
        };
        let est6 = Sock {
            local: (v6("2001:db8:1::20"), 80),
            peer: (v6("2001:db8:1::10"), 40000),
            ..conn(State::Established, "0.0.0.0", 80, "0.0.0.0", 0)
        };
        let est4 = Sock {
            local: (mapped("10.0.0.2"), 80),
            peer: (mapped("10.0.0.1"), 40001),
            ..conn(State::Established, "0.0.0.0", 80, "0.0.0.0", 0)
        };
        let v4 = listen(8080, None, 5);
        let all = [v4, dual, est6, est4];
        let six = listing(&args("-tan6"), &all);
        for field in [
            " *:80 ",
            " *:* ",
            " [2001:db8:1::20]:80 ",
            " [2001:db8:1::10]:40000",
            " [::ffff:10.0.0.2]:80 ",
            " [::ffff:10.0.0.1]:40001",
        ] {
            assert!(six.contains(field), "{field:?} in\n{six}");
        }
        assert!(!six.contains("8080"), "{six}");
        let four = listing(&args("-tan4"), &all);
        assert!(four.contains(" 0.0.0.0:8080 "), "{four}");
        assert_eq!(four.lines().count(), 2, "{four}");
        assert_eq!(listing(&args("-tan"), &all).lines().count(), 5);
        assert_eq!(listing(&args("-tan --ipv6"), &all), six);
    }
}

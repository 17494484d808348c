//! The state, socket and set matches and the conntrack and queue targets, kept apart from
//! the other extensions: each family has its own file (`ext_recent.rs`, ...) and this one
//! joins them to the rule engine. A match of this group is one `Match::State` and a target
//! one `Target::State`; what they keep between packets for the whole namespace (the recent
//! lists, the ip sets) is [`Shared`], a field of `Tables`.

use super::Prog;
use super::ext_recent::{RecentLists, RecentMatch};
use super::parse::{Args, Res};
use super::parse_ext::MatchBuilder;
use crate::netfilter::packet::{PacketView, Table};
use crate::time::Instant;

/// A match of this group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StateMatch {
    /// `-m recent`.
    Recent(RecentMatch),
    /// `-m set`.
    Set(super::ext_set::SetMatch),
    /// `-m connlimit` (its counts are the rule's own).
    Connlimit(super::ext_connlimit::ConnlimitMatch),
    Helper(super::ext_misc::HelperMatch),
    Owner(super::ext_misc::OwnerMatch),
    Policy(super::ext_misc::PolicyMatch),
    Physdev(super::ext_physdev::PhysdevMatch),
    Rpfilter(super::ext_rpfilter::RpfilterMatch),
    /// `-m socket` (looked up in the router's stack, in `eval`).
    Socket(super::ext_socket::SocketMatch),
}

/// What this group's matches keep for the namespace, whichever rule reads it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shared {
    pub recent: RecentLists,
    pub sets: super::ipset::IpSets,
    /// A CT `--notrack` target fired since the hooks last asked.
    pub untracked: bool,
    /// What NFLOG and NFQUEUE rules did to the packet, for the frame's notes.
    pub notes: Vec<String>,
}

/// Notes kept between two `take_notes` at most.
const MAX_NOTES: usize = 64;

impl Shared {
    fn note(&mut self, text: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(text);
        }
    }
}

/// The match modules of this group.
pub(crate) const NAMES: &[&str] = &[
    "recent",
    "set",
    "connlimit",
    "helper",
    "owner",
    "policy",
    "physdev",
    "rpfilter",
    "socket",
];

/// The options of a match of this group (`None`: not one of this group).
pub(crate) fn match_options(name: &str) -> Option<&'static [(&'static str, u8)]> {
    match name {
        "recent" => Some(super::ext_recent::OPTIONS),
        "set" => Some(super::ext_set::OPTIONS),
        "connlimit" => Some(super::ext_connlimit::OPTIONS),
        "helper" => Some(super::ext_misc::HELPER_OPTIONS),
        "owner" => Some(super::ext_misc::OWNER_OPTIONS),
        "policy" => Some(super::ext_misc::POLICY_OPTIONS),
        "physdev" => Some(super::ext_physdev::OPTIONS),
        "rpfilter" => Some(super::ext_rpfilter::OPTIONS),
        "socket" => Some(super::ext_socket::SOCKET_OPTIONS),
        _ => None,
    }
}

/// A fresh match of this group, as its `init` leaves it.
pub(crate) fn new_match(name: &str) -> Option<StateMatch> {
    match name {
        "recent" => Some(StateMatch::Recent(RecentMatch::default())),
        "set" => Some(StateMatch::Set(Default::default())),
        "connlimit" => Some(StateMatch::Connlimit(Default::default())),
        "helper" => Some(StateMatch::Helper(Default::default())),
        "owner" => Some(StateMatch::Owner(Default::default())),
        "policy" => Some(StateMatch::Policy(Default::default())),
        "physdev" => Some(StateMatch::Physdev(Default::default())),
        "rpfilter" => Some(StateMatch::Rpfilter(Default::default())),
        "socket" => Some(StateMatch::Socket(Default::default())),
        _ => None,
    }
}

/// Reads one option of a match of this group.
pub(crate) fn parse_match_opt(
    p: &Prog,
    b: &mut MatchBuilder,
    opt: &'static str,
    inv: bool,
    args: &mut Args,
) -> Res<()> {
    let super::matches::Match::State(m) = &mut b.m else {
        return Ok(());
    };
    match m {
        StateMatch::Recent(r) => r.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Set(s) => s.parse(p, opt, inv, args),
        StateMatch::Connlimit(c) => c.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Helper(h) => h.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Owner(o) => o.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Policy(o) => o.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Physdev(o) => o.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Rpfilter(o) => o.parse(p, &mut b.seen, opt, inv, args),
        StateMatch::Socket(o) => o.parse(p, &mut b.seen, opt, inv, args),
    }
}

/// The module's check once the line is read.
pub(crate) fn final_check(p: &Prog, m: &StateMatch, seen: &[&'static str]) -> Res<()> {
    match m {
        StateMatch::Recent(r) => r.final_check(p, seen),
        StateMatch::Set(s) => s.final_check(p),
        StateMatch::Connlimit(c) => c.final_check(p, seen),
        StateMatch::Helper(h) => h.final_check(p, seen),
        StateMatch::Owner(o) => o.final_check(p),
        StateMatch::Policy(o) => o.final_check(p),
        StateMatch::Physdev(o) => o.final_check(p, seen),
        StateMatch::Rpfilter(_) | StateMatch::Socket(_) => Ok(()),
    }
}

impl StateMatch {
    pub fn name(&self) -> &'static str {
        match self {
            StateMatch::Recent(_) => "recent",
            StateMatch::Set(_) => "set",
            StateMatch::Connlimit(_) => "connlimit",
            StateMatch::Helper(_) => "helper",
            StateMatch::Owner(_) => "owner",
            StateMatch::Policy(_) => "policy",
            StateMatch::Physdev(_) => "physdev",
            StateMatch::Rpfilter(_) => "rpfilter",
            StateMatch::Socket(_) => "socket",
        }
    }

    /// As `iptables -L` prints it.
    pub fn print(&self, out: &mut String, numeric: bool) {
        match self {
            StateMatch::Recent(r) => r.print(out),
            StateMatch::Set(s) => s.print(out),
            StateMatch::Connlimit(c) => c.print(out),
            StateMatch::Helper(h) => h.print(out),
            StateMatch::Owner(o) => o.print(out, numeric),
            StateMatch::Policy(o) => o.print(out, numeric),
            StateMatch::Physdev(o) => o.print(out),
            StateMatch::Rpfilter(o) => o.print(out),
            StateMatch::Socket(o) => o.print(out),
        }
    }

    /// As `-S` writes it, after `-m NAME`.
    pub fn save(&self, out: &mut String) {
        match self {
            StateMatch::Recent(r) => r.save(out),
            StateMatch::Set(s) => s.save(out),
            StateMatch::Connlimit(c) => c.save(out),
            StateMatch::Helper(h) => h.save(out),
            StateMatch::Owner(o) => o.save(out),
            StateMatch::Policy(o) => o.save(out),
            StateMatch::Physdev(o) => o.save(out),
            StateMatch::Rpfilter(o) => o.save(out),
            StateMatch::Socket(o) => o.save(out),
        }
    }

    /// The kernel's match function, with the namespace's shared state.
    pub fn matches(&self, pkt: &PacketView, now: Instant, shared: &mut Shared) -> bool {
        match self {
            StateMatch::Recent(r) => shared.recent.eval(r, pkt, now),
            StateMatch::Set(s) => s.matches(&shared.sets, pkt, now),
            // Counted with conntrack at hand, in `eval`.
            StateMatch::Connlimit(_) => false,
            StateMatch::Helper(h) => h.matches(pkt),
            StateMatch::Owner(o) => o.matches(pkt),
            StateMatch::Policy(o) => o.matches(),
            StateMatch::Physdev(o) => o.matches(pkt.physdev),
            // Looked up with the routes (the router's stack) at hand, in `eval`.
            StateMatch::Rpfilter(_) | StateMatch::Socket(_) => false,
        }
    }

    /// The kernel's `checkentry` for the rule in `table` (EINVAL when false).
    pub fn check_entry(&self, table: Table) -> bool {
        match self {
            StateMatch::Rpfilter(r) => r.check_table(table),
            StateMatch::Recent(r) => r.check_entry(),
            StateMatch::Owner(o) => o.check_entry(),
            _ => true,
        }
    }

    /// The hooks the match may be used from (`None`: any).
    pub fn hooks(&self) -> Option<u8> {
        match self {
            StateMatch::Owner(o) => Some(o.hooks()),
            StateMatch::Policy(o) => Some(o.hooks()),
            StateMatch::Physdev(o) => o.hooks(),
            StateMatch::Rpfilter(o) => Some(o.hooks()),
            StateMatch::Socket(o) => Some(o.hooks()),
            _ => None,
        }
    }
}

/// Evaluates a rule's match: this group's with the shared state, the others as usual.
pub(crate) fn eval(
    m: &mut super::matches::Match,
    pkt: &PacketView,
    now: Instant,
    shared: &mut Shared,
    conns: &dyn crate::netfilter::packet::ConnQuery,
) -> bool {
    match m {
        super::matches::Match::State(StateMatch::Connlimit(c)) => c.matches(pkt, conns),
        super::matches::Match::State(StateMatch::Rpfilter(r)) => r.matches(pkt, conns),
        super::matches::Match::State(StateMatch::Socket(s)) => s.matches(pkt, conns),
        super::matches::Match::State(s) => s.matches(pkt, now, shared),
        m => m.matches(pkt, now),
    }
}

impl super::model::Tables {
    /// Brings the shared state in line with the rules, as the kernel's `checkentry` and
    /// `destroy` do when rules come and go: a recent list exists while a rule names it
    /// (and is emptied when a rule asks for more stamps per address than it keeps).
    pub fn sync_ext_state(&mut self) {
        let mut wanted = Vec::new();
        for ts in &self.tables {
            for r in ts.chains.iter().flatten().flat_map(|c| &c.rules) {
                for m in &r.matches {
                    if let super::matches::Match::State(StateMatch::Recent(rm)) = m {
                        wanted.push(rm);
                    }
                }
            }
        }
        self.ext.recent.sync(&wanted);
    }

    /// `cat /proc/net/xt_recent/NAME` (`recent_seq_show`), or `None` when no such list.
    pub fn recent_listing(&self, name: &str) -> Option<String> {
        self.ext.recent.listing(name)
    }

    /// The names in `/proc/net/xt_recent/`, in creation order.
    pub fn recent_names(&self) -> Vec<&str> {
        self.ext.recent.names()
    }
}

/// `cat FILE` of the files this group shows under `/proc/net` (`/proc/net/xt_recent/NAME`):
/// the text, or `cat`'s exit status and message.
pub fn proc_file(t: &super::Tables, files: &[String]) -> Result<String, (i32, String)> {
    let mut out = String::new();
    for f in files {
        let text = f
            .strip_prefix("/proc/net/xt_recent/")
            .and_then(|name| t.recent_listing(name));
        match text {
            Some(text) => out.push_str(&text),
            None => return Err((1, format!("cat: {f}: No such file or directory"))),
        }
    }
    Ok(out)
}

impl Shared {
    /// `get_set_byname`, which libxt_set calls as it reads `--match-set`: a rule may only
    /// name a set that exists. (Checked once the line is read, so an error later on the
    /// same line is reported first.)
    pub(crate) fn check_sets(&self, p: &Prog, matches: &[super::matches::Match]) -> Res<()> {
        for m in matches {
            if let super::matches::Match::State(StateMatch::Set(s)) = m
                && !self.sets.exists(&s.name)
            {
                return Err(p.param(format!("Set {} doesn't exist.\n", s.name), Some(&s.name)));
            }
        }
        Ok(())
    }
}

impl super::model::Tables {
    /// How many rules use set `name` (its `References:`).
    fn set_refs(&self, name: &str) -> u32 {
        let mut n = 0;
        for ts in &self.tables {
            for r in ts.chains.iter().flatten().flat_map(|c| &c.rules) {
                for m in &r.matches {
                    if let super::matches::Match::State(StateMatch::Set(s)) = m
                        && s.name == name
                    {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Runs `ipset ARGS...` (the words after `ipset`) at `now`: what it prints, or its
    /// exit status and message.
    pub fn ipset(&mut self, args: &[String], now: Instant) -> Result<String, (i32, String)> {
        let mut sets = std::mem::take(&mut self.ext.sets);
        let out = sets.command(args, now, &|n| self.set_refs(n));
        self.ext.sets = sets;
        out
    }

    /// The time of the last `ipset` command, for a command given without one.
    pub fn ipset_clock(&self) -> Instant {
        self.ext.sets.now
    }

    pub fn set_ipset_clock(&mut self, now: Instant) {
        self.ext.sets.now = now;
    }
}

/// A target of this group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StateTarget {
    /// `-j CT`, `-j NOTRACK`.
    Ct(super::ext_ct::CtTarget),
    Nflog(super::ext_queue::NflogTarget),
    Nfqueue(super::ext_queue::NfqueueTarget),
    Tproxy(super::ext_tproxy::TproxyTarget),
}

/// The target extensions of this group.
pub(crate) const TARGET_NAMES: &[&str] = &["CT", "NOTRACK", "NFLOG", "NFQUEUE", "TPROXY"];

pub(crate) fn target_options(name: &str) -> &'static [(&'static str, u8)] {
    match name {
        "CT" => super::ext_ct::OPTIONS,
        "NFLOG" => super::ext_queue::NFLOG_OPTIONS,
        "NFQUEUE" => super::ext_queue::NFQUEUE_OPTIONS,
        "TPROXY" => super::ext_tproxy::OPTIONS,
        _ => &[],
    }
}

pub(crate) fn new_target(name: &str) -> StateTarget {
    match name {
        "NOTRACK" => StateTarget::Ct(super::ext_ct::CtTarget::notrack_alias()),
        "NFLOG" => StateTarget::Nflog(Default::default()),
        "NFQUEUE" => StateTarget::Nfqueue(Default::default()),
        "TPROXY" => StateTarget::Tproxy(Default::default()),
        _ => StateTarget::Ct(Default::default()),
    }
}

/// Reads one option of a target of this group.
pub(crate) fn parse_target_opt(
    p: &Prog,
    t: &mut StateTarget,
    seen: &mut Vec<&'static str>,
    opt: &'static str,
    inv: bool,
    args: &mut Args,
) -> Res<()> {
    match t {
        StateTarget::Ct(c) => c.parse(p, seen, opt, inv, args),
        StateTarget::Nflog(n) => n.parse(p, seen, opt, inv, args),
        StateTarget::Nfqueue(q) => q.parse(p, seen, opt, inv, args),
        StateTarget::Tproxy(t) => t.parse(p, seen, opt, inv, args),
    }
}

/// The target's check once the line is read.
pub(crate) fn target_final_check(
    p: &Prog,
    t: &super::model::Target,
    seen: &[&'static str],
) -> Res<()> {
    match t {
        super::model::Target::State(StateTarget::Nflog(n)) => n.final_check(p, seen),
        super::model::Target::State(StateTarget::Nfqueue(q)) => q.final_check(p, seen),
        super::model::Target::State(StateTarget::Tproxy(t)) => t.final_check(p, seen),
        _ => Ok(()),
    }
}

impl StateTarget {
    /// The `-L` target column.
    pub fn column(&self) -> &'static str {
        match self {
            StateTarget::Ct(c) => c.column(),
            StateTarget::Nflog(_) => "NFLOG",
            StateTarget::Nfqueue(_) => "NFQUEUE",
            StateTarget::Tproxy(_) => "TPROXY",
        }
    }

    pub fn print(&self, out: &mut String) {
        match self {
            StateTarget::Ct(c) => c.print(out),
            StateTarget::Nflog(n) => n.print(out),
            StateTarget::Nfqueue(q) => q.print(out),
            StateTarget::Tproxy(t) => t.print(out),
        }
    }

    /// ` -j NAME ...` as `-S` writes it.
    pub fn save(&self, out: &mut String) {
        match self {
            StateTarget::Ct(c) => c.save(out),
            StateTarget::Nflog(n) => n.save(out),
            StateTarget::Nfqueue(q) => q.save(out),
            StateTarget::Tproxy(t) => t.save(out),
        }
    }

    /// The kernel's `checkentry` for the rule: the errno's words when refused.
    pub fn check_entry(
        &self,
        table: Table,
        ip: &super::matches::IpSpec,
    ) -> Result<(), &'static str> {
        match self {
            StateTarget::Ct(c) => c.check_entry(table, ip.proto, ip.proto_inv),
            StateTarget::Nflog(_) | StateTarget::Nfqueue(_) => Ok(()),
            StateTarget::Tproxy(t) => t.check_entry(table, ip.proto, ip.proto_inv),
        }
    }

    /// The hooks the target may be reached from (`None`: any of its table's).
    pub fn hooks(&self) -> Option<u8> {
        match self {
            StateTarget::Ct(_) | StateTarget::Nflog(_) | StateTarget::Nfqueue(_) => None,
            StateTarget::Tproxy(t) => Some(t.hooks()),
        }
    }
}

/// Runs a target of this group: `None` to go on to the next rule, or the verdict.
pub(crate) fn run_target(
    t: &StateTarget,
    pkt: &PacketView,
    _now: Instant,
    shared: &mut Shared,
) -> Option<crate::netfilter::packet::Verdict> {
    match t {
        // `xt_ct_target`: the packet leaves the raw table untracked (or with its template).
        StateTarget::Ct(c) => {
            if c.notrack {
                shared.untracked = true;
            }
            None
        }
        StateTarget::Nflog(n) => {
            shared.note(n.note());
            None
        }
        StateTarget::Nfqueue(q) => {
            let (verdict, note) = q.outcome();
            shared.note(note);
            Some(verdict)
        }
        // `tproxy_tg4`: no transparent socket to hand the packet to.
        StateTarget::Tproxy(t) => {
            shared.note(t.note(crate::netfilter::packet::bits4(pkt.dst)));
            Some(crate::netfilter::packet::Verdict::Drop)
        }
    }
}

impl super::model::Tables {
    /// Whether the last raw table run left the packet UNTRACKED (`-j CT --notrack`); the
    /// hooks then skip conntrack for it.
    pub fn take_untracked(&mut self) -> bool {
        std::mem::take(&mut self.ext.untracked)
    }

    /// What NFLOG and NFQUEUE rules did since the last call, for the frame's notes.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ext.notes)
    }
}

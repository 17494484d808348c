//! The ruleset of one namespace as the kernel holds it: tables, their chains, sets and maps,
//! and rules made of statements. Names a rule refers to (a jump's chain, a set) are resolved
//! to indexes after every change ([`Ruleset::relink`]), so the evaluator follows them in O(1).

use super::NftFamily;
use super::expr::{DataType, Expr, Value};

/// All tables of a namespace, in handle order.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub tables: Vec<Table>,
    /// The last table handle given out (handles are per namespace, from 1, never reused).
    pub last_table_handle: u64,
}

/// A table: its family, name and everything it holds.
#[derive(Clone, Debug)]
pub struct Table {
    pub family: NftFamily,
    pub name: Box<str>,
    pub handle: u64,
    /// `flags dormant` (bit 1): the table's chains are not registered with the hooks.
    pub dormant: bool,
    pub comment: Option<Box<str>>,
    /// A table iptables-nft made: its content lives with the router's iptables rules.
    pub xt: bool,
    /// nft made this table and iptables-nft then added its chains to it (an `ip` table of an
    /// iptables name): they list after nft's, their handles counted from `xt_base` on.
    pub xt_shared: Option<u64>,
    pub chains: Vec<Chain>,
    /// Named sets and maps, in handle order.
    pub sets: Vec<Set>,
    /// The last handle given to a chain, set or rule of this table (one counter for all).
    pub last_handle: u64,
}

/// A chain: a base chain (with a hook) or a regular one reached by `jump`/`goto`.
#[derive(Clone, Debug)]
pub struct Chain {
    pub name: Box<str>,
    pub handle: u64,
    pub base: Option<BaseHook>,
    pub comment: Option<Box<str>>,
    pub rules: Vec<Rule>,
}

/// What makes a chain a base chain: `type T hook H device D priority P; policy V;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseHook {
    pub kind: ChainType,
    pub hook: NftHook,
    pub priority: Priority,
    /// `policy drop`: what happens to a packet that reaches the chain's end.
    pub drop: bool,
    /// `device "eth0"` of a netdev ingress/egress chain.
    pub device: Option<Box<str>>,
}

/// A base chain's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainType {
    Filter,
    Nat,
    /// Output packets whose mark or addresses the chain changed are routed again.
    Route,
}

/// The hooks nft chains attach to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NftHook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    Ingress,
    Egress,
}

/// A base chain's priority: the number that orders it among the hook's chains, and how the
/// user wrote it (`filter - 5` is `name: Some("filter"), value: -5`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priority {
    pub value: i32,
    /// The standard priority it was given by, when it was (`raw`, `mangle`, `dstnat`...).
    pub name: Option<&'static str>,
}

/// A rule: statements run in order until one ends the packet's walk.
#[derive(Clone, Debug)]
pub struct Rule {
    pub handle: u64,
    pub stmts: Vec<Stmt>,
    pub comment: Option<Box<str>>,
}

/// One statement of a rule.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// The packet goes on only if it matches.
    Match(Match),
    /// Counts what reached it (listings print the numbers, `-s` hides them).
    Counter {
        packets: u64,
        bytes: u64,
    },
    Verdict(Verdict),
    /// `EXPR vmap { k : verdict, ... }` or `vmap @m`: the verdict the key maps to, if any.
    Vmap {
        key: Expr,
        map: SetRef,
    },
    Log(Log),
    Limit(Limit),
    Nat(Nat),
    Reject(Reject),
    /// `meta mark set V`, `ct mark set V`.
    Mangle {
        key: super::expr::Key,
        value: Value,
    },
    /// `notrack`: the packet is left untracked.
    Notrack,
    /// `add|update @set { KEY }`: the packet's key is put in a dynamic set.
    SetUpdate {
        update: bool,
        key: Expr,
        set: SetRef,
    },
}

/// `LEFT OP RIGHT`.
#[derive(Clone, Debug)]
pub struct Match {
    pub left: Expr,
    /// `tcp flags & (syn | ack)`: the mask applied to the key before comparing.
    pub mask: Option<u128>,
    pub op: CmpOp,
    pub right: Rhs,
}

/// A match's operator; `Implicit` is none written: equality, or for a bit mask type
/// (`ct state established,related`) "any of these bits".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Implicit,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// What a match compares with, typed by the left side.
#[derive(Clone, Debug)]
pub enum Rhs {
    /// One value per key of the left side.
    Value(Box<[Value]>),
    /// `10.0.0.0/8`: the first bits are compared.
    Prefix(Value, u8),
    /// `1-1024`, inclusive.
    Range(Value, Value),
    /// `{ 22, 80 }` or `@name`: membership.
    Set(SetRef),
}

/// A set a rule uses: its own anonymous one, or a named one of the table.
#[derive(Clone, Debug)]
pub enum SetRef {
    Anon(Box<Set>),
    /// `@name`, with the set's index in its table's `sets` (kept up to date by relink).
    Named {
        name: Box<str>,
        index: u32,
    },
}

/// A verdict: ends the rule's chain (or jumps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(ChainTarget),
    Goto(ChainTarget),
    /// `queue [num N]`: to a userspace queue (nothing listens here, so the packet drops).
    Queue {
        num: u16,
    },
}

/// A jump's or goto's target: its name and index in its table's `chains`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTarget {
    pub name: Box<str>,
    pub index: u32,
}

/// `log [prefix "x"] [level L] [flags ...] [group N]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    pub prefix: Option<Box<str>>,
    /// syslog level: emerg 0 .. debug 7; `None` is nft's default (warn, not printed).
    pub level: Option<u8>,
    /// Bits: tcp sequence 1, tcp options 2, ip options 4, skuid 8, ether 16; 31 is `all`.
    pub flags: u8,
    pub group: Option<u16>,
}

/// `limit rate [over] N/unit [burst B packets|bytes]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Packets per unit, or bytes per unit when `bytes` is set.
    pub rate: u64,
    /// Seconds per unit: 1, 60, 3600, 86400, 604800.
    pub per: u64,
    pub bytes: bool,
    /// The burst, in packets (default 5) or bytes (default 0).
    pub burst: u64,
    /// `over`: matches packets beyond the rate instead of within it.
    pub over: bool,
}

/// A NAT statement.
#[derive(Clone, Debug)]
pub struct Nat {
    pub kind: NatKind,
    /// `snat ip to` / `snat ip6 to` in an inet table: which family the address is.
    pub family: Option<NftFamily>,
    pub to: NatTo,
    /// Bits: random 4, persistent 8, fully-random 16 (NF_NAT_RANGE_* values).
    pub flags: u32,
}

impl Nat {
    pub const RANDOM: u32 = 4;
    pub const PERSISTENT: u32 = 8;
    pub const FULLY_RANDOM: u32 = 16;
}

/// Which NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

/// Where NAT maps to.
#[derive(Clone, Debug)]
pub enum NatTo {
    /// Nothing given (masquerade, redirect).
    None,
    /// `to ADDR[-ADDR][:PORT[-PORT]]`; masquerade/redirect `to :PORT` have no address.
    Range {
        addrs: Option<(Value, Value)>,
        ports: Option<(u16, u16)>,
    },
    /// `to EXPR map { k : addr [. port] }`: the address (and port) the key maps to.
    Map {
        key: Expr,
        map: SetRef,
        with_port: bool,
    },
}

/// `reject [with ...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// No `with`: port unreachable for IPv4/IPv6 (icmpx in inet).
    Default,
    /// `with icmp type T` (code T).
    Icmp(u8),
    /// `with icmpv6 type T`.
    Icmpv6(u8),
    /// `with icmpx type T`: no-route 0, port-unreachable 1, host-unreachable 2,
    /// admin-prohibited 3.
    Icmpx(u8),
    TcpReset,
}

/// A named set or map, or a rule's anonymous one.
#[derive(Clone, Debug)]
pub struct Set {
    pub name: Box<str>,
    pub handle: u64,
    /// The key's types in order (several for a concatenation).
    pub key: Box<[DataType]>,
    /// A map's data type (`DataType::Verdict` for a verdict map).
    pub data: Option<Box<[DataType]>>,
    pub flags: SetFlags,
    pub elems: Vec<Elem>,
    pub comment: Option<Box<str>>,
    /// `typeof ip saddr`: the expression the set was typed by, printed instead of `type`.
    pub typeof_key: Option<Expr>,
}

/// A set's flags (`flags interval,timeout`), and whether it is a rule's anonymous set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetFlags {
    pub constant: bool,
    pub interval: bool,
    pub timeout: bool,
    pub dynamic: bool,
    pub anonymous: bool,
}

/// One element: a key (a value, or an interval per part with `flags interval`) and, in a map,
/// what it maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elem {
    /// One interval per part of the key: `lo == hi` for a single value.
    pub key: Box<[(Value, Value)]>,
    pub data: Option<ElemData>,
    pub comment: Option<Box<str>>,
}

/// What an element of a map maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElemData {
    Verdict(Verdict),
    /// One value per data type of the map (an address, or an address and a port).
    Values(Box<[Value]>),
}

impl Ruleset {
    /// Resolves every jump, goto and `@set` of every rule to the index of what it names in its
    /// table, after a change moved chains or sets. A name that no longer resolves keeps
    /// `u32::MAX` (commands refuse to leave such a reference, so it is never followed).
    pub fn relink(&mut self) {
        for table in &mut self.tables {
            let chains: Vec<Box<str>> = table.chains.iter().map(|c| c.name.clone()).collect();
            let sets: Vec<Box<str>> = table.sets.iter().map(|s| s.name.clone()).collect();
            let find = |names: &[Box<str>], name: &str| {
                names
                    .iter()
                    .position(|n| &**n == name)
                    .map_or(u32::MAX, |i| i as u32)
            };
            let link = |v: &mut Verdict| {
                if let Verdict::Jump(t) | Verdict::Goto(t) = v {
                    t.index = find(&chains, &t.name);
                }
            };
            let link_set = |s: &mut SetRef| match s {
                SetRef::Named { name, index } => *index = find(&sets, name),
                SetRef::Anon(set) => {
                    for e in &mut set.elems {
                        if let Some(ElemData::Verdict(v)) = &mut e.data {
                            link(v);
                        }
                    }
                }
            };
            for set in &mut table.sets {
                for e in &mut set.elems {
                    if let Some(ElemData::Verdict(v)) = &mut e.data {
                        link(v);
                    }
                }
            }
            for chain in &mut table.chains {
                for rule in &mut chain.rules {
                    for stmt in &mut rule.stmts {
                        match stmt {
                            Stmt::Verdict(v) => link(v),
                            Stmt::Vmap { map, .. } => link_set(map),
                            Stmt::Match(Match {
                                right: Rhs::Set(s), ..
                            }) => link_set(s),
                            Stmt::SetUpdate { set, .. } => link_set(set),
                            Stmt::Nat(Nat {
                                to: NatTo::Map { map, .. },
                                ..
                            }) => link_set(map),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

impl Table {
    /// The next handle of this table's chains, sets and rules.
    pub fn next_handle(&mut self) -> u64 {
        self.last_handle += 1;
        self.last_handle
    }
}

impl Set {
    /// Whether the set maps keys to verdicts.
    pub fn is_vmap(&self) -> bool {
        self.data.as_deref() == Some(&[DataType::Verdict])
    }
}

/// nft's order of a set's elements as it lists them: by value, an interface name by its
/// length and then its last bytes first (the kernel compares names as host-order numbers).
pub fn sort_elems(elems: &mut Vec<Elem>) {
    fn rank(v: &Value) -> (u128, Vec<u8>) {
        match v {
            Value::Num(n) => (*n, Vec::new()),
            Value::Name(s) => (s.len() as u128, s.bytes().rev().collect()),
        }
    }
    elems.sort_by(|a, b| {
        let ka: Vec<_> = a.key.iter().map(|(lo, _)| rank(lo)).collect();
        let kb: Vec<_> = b.key.iter().map(|(lo, _)| rank(lo)).collect();
        ka.cmp(&kb)
    });
    elems.dedup_by(|a, b| a.key == b.key);
}

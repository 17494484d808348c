//! IP sets (`ip_set_hash_ip`, `ip_set_hash_net`, `ip_set_hash_ipport`) and the `ipset`
//! command (ipset 7.17's words and formats), for `-m set` to match against.
//!
//! What differs from a real router, on purpose:
//! * `initval` (the hash seed, random in the kernel) is derived from the set's name, so a
//!   listing is the same on every run; members are listed in the order they were added
//!   (the kernel's order follows its hash of them).
//! * Elements whose timeout ran out go at once (the kernel's garbage collector runs every
//!   few seconds; until then they count in `Number of entries` but are neither listed nor
//!   matched).
//! * `Size in memory` is the kernel's for a set whose elements all sit in separate buckets
//!   (no collisions), which is what a 6.x kernel reports for small sets.
//! * Only the `inet` family, the three types above and the options `family inet`,
//!   `hashsize`, `maxelem`, `timeout` (and `nomatch` on `hash:net` elements) are modelled.

use std::fmt::Write;

use super::ext_recent::{HZ, jiffies};
use super::fmt_ext::ip;
use super::names::service_port;
use crate::netfilter::packet::PacketView;
use crate::time::Instant;

const VERSION: &str = "ipset v7.17";
/// `IPSET_MAXNAMELEN` - 1.
pub(crate) const MAX_NAME: usize = 31;
/// The largest timeout ipset takes (`UINT_MAX / 1000 / 2`).
const MAX_TIMEOUT: u64 = 2_147_483;
/// How many elements one `add` of a range or CIDR may make (`IPSET_MAX_RANGE`).
const MAX_RANGE: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ip,
    Net,
    IpPort,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "hash:ip" => Some(Kind::Ip),
            "hash:net" => Some(Kind::Net),
            "hash:ip,port" => Some(Kind::IpPort),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Ip => "hash:ip",
            Kind::Net => "hash:net",
            Kind::IpPort => "hash:ip,port",
        }
    }
    fn revision(self) -> u8 {
        match self {
            Kind::Ip => 6,
            _ => 7,
        }
    }
    /// Elements can be `nomatch` (`IPSET_TYPE_NOMATCH`).
    pub fn has_nomatch(self) -> bool {
        self == Kind::Net
    }
    /// The dimensions a match needs (`set->type->dimension`).
    pub fn dimension(self) -> usize {
        match self {
            Kind::IpPort => 2,
            _ => 1,
        }
    }
    /// `Size in memory` of the empty set with one lock region, and per element (in a
    /// bucket of its own), without and with a timeout extension.
    fn sizes(self) -> (u64, u64, u64) {
        match self {
            Kind::Ip => (216, 40, 64),
            Kind::Net => (456, 48, 64),
            Kind::IpPort => (216, 48, 64),
        }
    }
}

/// Set types ipset knows that hoplab does not model.
const OTHER_TYPES: &[&str] = &[
    "bitmap:ip",
    "bitmap:ip,mac",
    "bitmap:port",
    "hash:mac",
    "hash:ip,mac",
    "hash:net,net",
    "hash:net,port",
    "hash:net,port,net",
    "hash:ip,port,ip",
    "hash:ip,port,net",
    "hash:ip,mark",
    "hash:net,iface",
    "list:set",
];

/// One element: an address with a prefix length (32 for `hash:ip`), and for `hash:ip,port`
/// a protocol and port (an ICMP type and code as `type << 8 | code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Elem {
    addr: u32,
    cidr: u8,
    proto: u8,
    port: u16,
    /// Jiffies at which it goes; `None` for no timeout (0 in a set with timeouts).
    expires: Option<u64>,
    nomatch: bool,
}

type Key = (u32, u8, u8, u16);

impl Elem {
    fn key(&self) -> Key {
        (self.addr, self.cidr, self.proto, self.port)
    }
}

/// A set's elements, found by key, listed in the order they were added.
#[derive(Clone, Debug)]
struct Members {
    map: std::collections::BTreeMap<Key, (u64, Elem)>,
    seq: u64,
    /// How many elements have each prefix length (`h->nets`).
    cidrs: [u32; 33],
}

impl Default for Members {
    fn default() -> Self {
        Members {
            map: Default::default(),
            seq: 0,
            cidrs: [0; 33],
        }
    }
}

impl Members {
    fn len(&self) -> usize {
        self.map.len()
    }
    fn clear(&mut self) {
        self.map.clear();
        self.cidrs = [0; 33];
    }
    fn get(&self, key: Key) -> Option<&Elem> {
        self.map.get(&key).map(|v| &v.1)
    }
    /// Adds or replaces (keeping its place).
    fn put(&mut self, e: Elem) {
        match self.map.get_mut(&e.key()) {
            Some(v) => v.1 = e,
            None => {
                self.seq += 1;
                self.cidrs[usize::from(e.cidr)] += 1;
                self.map.insert(e.key(), (self.seq, e));
            }
        }
    }
    fn remove(&mut self, key: Key) -> bool {
        let gone = self.map.remove(&key).is_some();
        if gone {
            self.cidrs[usize::from(key.1)] -= 1;
        }
        gone
    }
    fn retain(&mut self, keep: impl Fn(&Elem) -> bool) {
        let dead: Vec<Key> = self
            .map
            .values()
            .filter(|v| !keep(&v.1))
            .map(|v| v.1.key())
            .collect();
        for k in dead {
            self.remove(k);
        }
    }
    fn ordered(&self) -> Vec<&Elem> {
        let mut v: Vec<&(u64, Elem)> = self.map.values().collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|x| &x.1).collect()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct IpSet {
    pub name: String,
    pub kind: Kind,
    hashsize: u32,
    maxelem: u32,
    timeout: Option<u32>,
    initval: u32,
    elems: Members,
}

/// The namespace's sets, in the order they were created (`ipset list`'s order).
#[derive(Clone, Debug, Default)]
pub(crate) struct IpSets {
    sets: Vec<IpSet>,
    /// The time of the last command or packet, for timeouts shown in listings.
    pub now: Instant,
}

/// What `ipset` prints on success, or its exit status and message.
pub(crate) type Out = Result<String, (i32, String)>;

fn kernel(msg: &str) -> (i32, String) {
    (1, format!("{VERSION}: {msg}"))
}

fn syntax(msg: &str) -> (i32, String) {
    (1, format!("{VERSION}: Syntax error: {msg}"))
}

fn usage(msg: &str) -> (i32, String) {
    (
        2,
        format!("{VERSION}: {msg}\nTry `ipset help' for more information."),
    )
}

fn not_modelled(what: &str) -> (i32, String) {
    (2, format!("hoplab: ipset {what} is not modelled"))
}

/// ipset's own ICMP names (`lib/icmp.c`), matched by prefix in this order.
const ICMP_NAMES: &[(&str, u8, u8)] = &[
    ("echo-reply", 0, 0),
    ("pong", 0, 0),
    ("network-unreachable", 3, 0),
    ("host-unreachable", 3, 1),
    ("protocol-unreachable", 3, 2),
    ("port-unreachable", 3, 3),
    ("fragmentation-needed", 3, 4),
    ("source-route-failed", 3, 5),
    ("network-unknown", 3, 6),
    ("host-unknown", 3, 7),
    ("network-prohibited", 3, 9),
    ("host-prohibited", 3, 10),
    ("TOS-network-unreachable", 3, 11),
    ("TOS-host-unreachable", 3, 12),
    ("communication-prohibited", 3, 13),
    ("host-precedence-violation", 3, 14),
    ("precedence-cutoff", 3, 15),
    ("source-quench", 4, 0),
    ("network-redirect", 5, 0),
    ("host-redirect", 5, 1),
    ("TOS-network-redirect", 5, 2),
    ("TOS-host-redirect", 5, 3),
    ("echo-request", 8, 0),
    ("ping", 8, 0),
    ("router-advertisement", 9, 0),
    ("router-solicitation", 10, 0),
    ("ttl-zero-during-transit", 11, 0),
    ("ttl-zero-during-reassembly", 11, 1),
    ("ip-header-bad", 12, 0),
    ("required-option-missing", 12, 1),
    ("timestamp-request", 13, 0),
    ("timestamp-reply", 14, 0),
    ("address-mask-request", 17, 0),
    ("address-mask-reply", 18, 0),
];

/// A deterministic stand-in for the kernel's random `initval`: FNV-1a of the name.
fn initval(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn number(v: &str, max: u64) -> Result<u64, (i32, String)> {
    let n: u64 = v
        .parse()
        .map_err(|_| syntax(&format!("'{v}' is invalid as number")))?;
    if n > max {
        return Err(syntax(&format!("'{v}' is out of range 0-{max}")));
    }
    Ok(n)
}

/// An IPv4 address as ipset resolves it (`inet_pton`, or a name of `/etc/hosts`).
fn address(v: &str) -> Result<u32, (i32, String)> {
    v.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(u32::from)
        .or_else(|| super::names::host_by_name(v))
        .ok_or_else(|| {
            syntax(&format!(
                "cannot parse {v}: resolving to IPv4 address failed"
            ))
        })
}

fn mask(cidr: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(cidr)).unwrap_or(0)
}

/// `ADDR`, `ADDR/CIDR` or `FROM-TO`: the first and last address, and the prefix given.
fn addr_spec(v: &str) -> Result<(u32, u32, Option<u8>), (i32, String)> {
    if let Some((a, c)) = v.split_once('/') {
        let addr = address(a)?;
        let cidr = number(c, 32)? as u8;
        let m = mask(cidr);
        return Ok((addr & m, addr | !m, Some(cidr)));
    }
    if let Some((a, z)) = v.split_once('-') {
        let (lo, hi) = (address(a)?, address(z)?);
        return Ok((lo.min(hi), lo.max(hi), None));
    }
    let a = address(v)?;
    Ok((a, a, None))
}

/// `ip_set_range_to_cidr`: the largest block starting at `from` that stays within `to`.
fn range_to_cidr(from: u32, to: u32) -> u8 {
    for cidr in 1..=32u8 {
        let m = mask(cidr);
        if from & !m == 0 && (from | !m) <= to {
            return cidr;
        }
    }
    32
}

/// `PROTO:PORT[-PORT]` or `PORT[-PORT]` (TCP) of `hash:ip,port`: protocol and port range.
fn proto_port(v: &str) -> Result<(u8, u16, u16), (i32, String)> {
    let (proto, port) = match v.split_once(':') {
        Some((p, port)) => {
            let n = super::names::parse_protocol(p)
                .filter(|_| p != "all")
                .ok_or_else(|| syntax(&format!("cannot parse '{p}' as a protocol")))?;
            (n, port)
        }
        None => (6, v),
    };
    let pname = super::names::proto_name(proto).unwrap_or("tcp");
    if proto == 1 {
        let typecode = match ICMP_NAMES.iter().find(|n| n.0.starts_with(port)) {
            Some(&(_, t, c)) if !port.is_empty() => (u16::from(t) << 8) | u16::from(c),
            _ => {
                let bad = || kernel(&format!("Cannot parse {port} as an ICMP type/code."));
                let (t, c) = port.split_once('/').ok_or_else(bad)?;
                let t: u8 = t.parse().map_err(|_| bad())?;
                let c: u8 = c.parse().map_err(|_| bad())?;
                (u16::from(t) << 8) | u16::from(c)
            }
        };
        return Ok((1, typecode, typecode));
    }
    if !matches!(proto, 6 | 17 | 132 | 136) {
        // Other protocols have no port: `PROTO:0`.
        return Ok((proto, 0, 0));
    }
    let one = |p: &str| -> Result<u16, (i32, String)> {
        if let Ok(n) = p.parse::<u64>() {
            return u16::try_from(n).map_err(|_| {
                (
                    1,
                    format!(
                        "{VERSION}: Syntax error: '{p}' is out of range 0-65535\n\
                         Syntax error: 'tcp' is invalid as number\n\
                         cannot parse '{p}' as a {pname} port"
                    ),
                )
            });
        }
        service_port(p, proto).ok_or_else(|| {
            (
                1,
                format!(
                    "{VERSION}: Syntax error: '{p}' is invalid as number\n\
                     Syntax error: 'tcp' is invalid as number\n\
                     cannot parse '{p}' as a {pname} port"
                ),
            )
        })
    };
    let (lo, hi) = match port.split_once('-') {
        Some((a, z)) => (one(a)?, one(z)?),
        None => {
            let p = one(port)?;
            (p, p)
        }
    };
    Ok((proto, lo.min(hi), lo.max(hi)))
}

/// The elements an `add`/`del`/`test` argument names (a CIDR or a range of `hash:ip` is
/// every address in it; a range of `hash:net` is its covering blocks), and whether a
/// `hash:net` element was a host written without a prefix.
fn elements(kind: Kind, v: &str) -> Result<(Vec<Elem>, bool), (i32, String)> {
    let (addr_part, port_part) = match kind {
        Kind::IpPort => match v.split_once(',') {
            Some((a, p)) => (a, Some(p)),
            None => {
                return Err(syntax(&format!("Second element is missing from {v}.")));
            }
        },
        _ => (v, None),
    };
    let (lo, hi, cidr) = addr_spec(addr_part)?;
    let elem = |addr, cidr, proto, port| Elem {
        addr,
        cidr,
        proto,
        port,
        expires: None,
        nomatch: false,
    };
    let mut out = Vec::new();
    match kind {
        Kind::Net => {
            if cidr == Some(0) {
                return Err(kernel(
                    "The value of the CIDR parameter of the IP address is invalid",
                ));
            }
            if let Some(c) = cidr {
                out.push(elem(lo, c, 0, 0));
            } else {
                let mut a = u64::from(lo);
                while a <= u64::from(hi) {
                    let c = range_to_cidr(a as u32, hi);
                    out.push(elem(a as u32, c, 0, 0));
                    a += 1u64 << (32 - u32::from(c));
                }
            }
            return Ok((out, cidr.is_none() && lo == hi));
        }
        Kind::Ip | Kind::IpPort => {
            let (proto, plo, phi) = match port_part {
                Some(p) => proto_port(p)?,
                None => (0, 0, 0),
            };
            let count = (u64::from(hi) - u64::from(lo) + 1) * (u64::from(phi) - u64::from(plo) + 1);
            if count > MAX_RANGE {
                return Err(kernel(
                    "The value of the CIDR parameter of the IP address is invalid",
                ));
            }
            for a in lo..=hi {
                for p in plo..=phi {
                    out.push(elem(a, 32, proto, p));
                }
            }
        }
    }
    Ok((out, false))
}

fn write_elem(out: &mut String, kind: Kind, e: &Elem) {
    ip(out, e.addr);
    match kind {
        Kind::Net if e.cidr != 32 => {
            let _ = write!(out, "/{}", e.cidr);
        }
        Kind::IpPort => {
            let pname = super::names::proto_name(e.proto).unwrap_or("");
            match e.proto {
                1 => {
                    let (t, c) = ((e.port >> 8) as u8, e.port as u8);
                    match ICMP_NAMES.iter().find(|n| (n.1, n.2) == (t, c)) {
                        Some(n) => {
                            let _ = write!(out, ",icmp:{}", n.0);
                        }
                        None => {
                            let _ = write!(out, ",icmp:{t}/{c}");
                        }
                    }
                }
                _ if pname.is_empty() => {
                    let _ = write!(out, ",{}:{}", e.proto, e.port);
                }
                _ => {
                    let _ = write!(out, ",{pname}:{}", e.port);
                }
            }
        }
        _ => {}
    }
}

impl IpSet {
    fn expire(&mut self, j: u64) {
        self.elems.retain(|e| {
            e.expires
                .is_none_or(|t| !super::ext_recent::time_after(j, t))
        });
    }

    fn header(&self) -> String {
        let mut h = format!(
            "family inet hashsize {} maxelem {}",
            self.hashsize, self.maxelem
        );
        if let Some(t) = self.timeout {
            let _ = write!(h, " timeout {t}");
        }
        let _ = write!(h, " bucketsize 12 initval 0x{:08x}", self.initval);
        h
    }

    fn member(&self, e: &Elem, j: u64) -> String {
        let mut s = String::new();
        write_elem(&mut s, self.kind, e);
        if self.timeout.is_some() {
            // `ip_set_timeout_get`: whole seconds left, at least 1; 0 is permanent.
            let left = match e.expires {
                None => 0,
                Some(t) => (t.saturating_sub(j) * (1000 / HZ) / 1000).max(1),
            };
            let _ = write!(s, " timeout {left}");
        }
        if e.nomatch {
            s.push_str(" nomatch");
        }
        s
    }

    fn memsize(&self) -> u64 {
        let (base, plain, timed) = self.kind.sizes();
        let per = if self.timeout.is_some() { timed } else { plain };
        let regions = u64::from(self.hashsize / 1024).max(1);
        base + (regions - 1) * 24 + per * self.elems.len() as u64
    }

    /// `mtype_test_cidrs` / `mtype_test`: the element `probe` stands for, most specific
    /// prefix first for a host address of `hash:net`. `Some(nomatch)` when found.
    /// Elements whose timeout ran out (by jiffies `j`) are passed over.
    fn lookup(&self, probe: &Elem, host: bool, j: u64) -> Option<bool> {
        let live = |e: &&Elem| {
            e.expires
                .is_none_or(|t| !super::ext_recent::time_after(j, t))
        };
        if self.kind != Kind::Net || !host {
            return self.elems.get(probe.key()).filter(live).map(|e| e.nomatch);
        }
        for c in (1..=32u8).rev() {
            if self.elems.cidrs[usize::from(c)] == 0 {
                continue;
            }
            if let Some(e) = self.elems.get((probe.addr & mask(c), c, 0, 0)).filter(live) {
                return Some(e.nomatch);
            }
        }
        None
    }
}

impl IpSets {
    pub fn exists(&self, name: &str) -> bool {
        self.sets.iter().any(|s| s.name == name)
    }

    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    fn find(&mut self, name: &str) -> Result<&mut IpSet, (i32, String)> {
        self.sets
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| kernel("The set with the given name does not exist"))
    }

    /// Runs `ipset ARGS...` (without the program name) at `now`; `refs` counts the rules
    /// that use a set (`References:`, and what keeps `destroy` from it).
    pub fn command(&mut self, args: &[String], now: Instant, refs: &dyn Fn(&str) -> u32) -> Out {
        self.now = now;
        let j = jiffies(now);
        for s in &mut self.sets {
            s.expire(j);
        }
        let mut exist = false;
        let mut words: Vec<&str> = Vec::new();
        let mut output = "plain";
        let mut names_only = false;
        let mut terse = false;
        let mut it = args.iter().map(String::as_str);
        while let Some(a) = it.next() {
            match a {
                "-exist" | "-!" | "--exist" => exist = true,
                "-q" | "-quiet" | "--quiet" => {}
                "-n" | "-name" | "--name" => names_only = true,
                "-t" | "-terse" | "--terse" => terse = true,
                "-o" | "-output" | "--output" => {
                    output = match it.next() {
                        Some("save") => "save",
                        Some("plain") => "plain",
                        Some(o) => return Err(not_modelled(&format!("output '{o}'"))),
                        None => {
                            return Err(usage("Missing mandatory argument of option `output'"));
                        }
                    }
                }
                w => words.push(w),
            }
        }
        let Some((&cmd, rest)) = words.split_first() else {
            return Err(usage("No command specified."));
        };
        match cmd {
            "create" | "n" | "-N" => self.create(rest, exist),
            "add" | "a" | "-A" | "del" | "d" | "-D" | "test" | "t" | "-T" => {
                let which = match cmd {
                    "add" | "a" | "-A" => "add",
                    "del" | "d" | "-D" => "del",
                    _ => "test",
                };
                self.element_cmd(which, rest, exist, j)
            }
            "flush" | "f" | "-F" => {
                match rest.first() {
                    Some(n) => self.find(n)?.elems.clear(),
                    None => self.sets.iter_mut().for_each(|s| s.elems.clear()),
                }
                Ok(String::new())
            }
            "destroy" | "x" | "-X" => {
                let in_use = "Set cannot be destroyed: it is in use by a kernel component";
                match rest.first() {
                    Some(n) => {
                        self.find(n)?;
                        if refs(n) > 0 {
                            return Err(kernel(in_use));
                        }
                        self.sets.retain(|s| s.name != *n);
                    }
                    None => {
                        if self.sets.iter().any(|s| refs(&s.name) > 0) {
                            return Err(kernel(in_use));
                        }
                        self.sets.clear();
                    }
                }
                Ok(String::new())
            }
            "list" | "l" | "-L" | "save" | "s" | "-S" => {
                let save = output == "save" || matches!(cmd, "save" | "s" | "-S");
                let sets: Vec<&IpSet> = match rest.first() {
                    Some(n) => {
                        self.find(n)?;
                        self.sets.iter().filter(|s| s.name == *n).collect()
                    }
                    None => self.sets.iter().collect(),
                };
                Ok(match (save, names_only) {
                    (_, true) => sets.iter().map(|s| format!("{}\n", s.name)).collect(),
                    (true, false) => sets.iter().map(|s| save_set(s, j)).collect(),
                    (false, false) => {
                        let parts: Vec<String> =
                            sets.iter().map(|s| list_set(s, j, refs, terse)).collect();
                        parts.join("\n")
                    }
                })
            }
            "rename" | "e" | "-E" | "swap" | "w" | "-W" | "restore" | "-R" => {
                Err(not_modelled(&format!("command '{cmd}'")))
            }
            other => Err(usage(&format!(
                "No command specified: unknown argument {other}"
            ))),
        }
    }

    fn create(&mut self, rest: &[&str], exist: bool) -> Out {
        let (name, typ, opts) = match rest {
            [] => return Err(usage("Missing mandatory argument to command create")),
            [_] => return Err(usage("Missing second mandatory argument to command create")),
            [n, t, opts @ ..] => (*n, *t, opts),
        };
        if name.len() > MAX_NAME {
            return Err(syntax(&format!(
                "setname '{name}' is longer than {MAX_NAME} characters"
            )));
        }
        let kind = match Kind::parse(typ) {
            Some(k) => k,
            None if OTHER_TYPES.contains(&typ) => {
                return Err(not_modelled(&format!("type '{typ}'")));
            }
            None => return Err(syntax(&format!("typename '{typ}' is unknown"))),
        };
        let mut set = IpSet {
            name: name.to_string(),
            kind,
            hashsize: 1024,
            maxelem: 65536,
            timeout: None,
            initval: initval(name),
            elems: Members::default(),
        };
        let mut it = opts.iter();
        while let Some(&o) = it.next() {
            let mut value = || {
                it.next()
                    .copied()
                    .ok_or_else(|| usage(&format!("Missing mandatory argument of option `{o}'")))
            };
            match o {
                "family" => match value()? {
                    "inet" => {}
                    f => return Err(not_modelled(&format!("family '{f}'"))),
                },
                "hashsize" => {
                    let n = number(value()?, u64::from(u32::MAX))?;
                    let n = n.max(64).next_power_of_two();
                    if n > 1 << 31 {
                        return Err(kernel("Kernel error received: Cannot allocate memory"));
                    }
                    set.hashsize = n as u32;
                }
                "maxelem" => set.maxelem = number(value()?, u64::from(u32::MAX))? as u32,
                "timeout" => set.timeout = Some(number(value()?, MAX_TIMEOUT)? as u32),
                "counters" | "comment" | "skbinfo" | "forceadd" | "netmask" | "bucketsize"
                | "initval" => return Err(not_modelled(&format!("option '{o}'"))),
                _ => {
                    return Err(usage(&format!("Unknown argument: `{o}'")));
                }
            }
        }
        if let Some(old) = self.sets.iter().find(|s| s.name == name) {
            let same = old.kind == set.kind
                && old.hashsize == set.hashsize
                && old.maxelem == set.maxelem
                && old.timeout == set.timeout;
            if exist && same {
                return Ok(String::new());
            }
            return Err(kernel(
                "Set cannot be created: set with the same name already exists",
            ));
        }
        self.sets.push(set);
        Ok(String::new())
    }

    fn element_cmd(&mut self, cmd: &str, rest: &[&str], exist: bool, j: u64) -> Out {
        let (name, arg, opts) = match rest {
            [] => {
                return Err(usage(&format!(
                    "Missing mandatory argument to command {cmd}"
                )));
            }
            [_] => {
                return Err(usage(&format!(
                    "Missing second mandatory argument to command {cmd}"
                )));
            }
            [n, a, opts @ ..] => (*n, *a, opts),
        };
        let set = self.find(name)?;
        let kind = set.kind;
        let (mut elems, _) = elements(kind, arg)?;
        let (mut timeout, mut nomatch) = (None, false);
        let mut it = opts.iter();
        while let Some(&o) = it.next() {
            match o {
                "timeout" if cmd == "add" => {
                    let v = it
                        .next()
                        .ok_or_else(|| usage("Missing mandatory argument of option `timeout'"))?;
                    timeout = Some(number(v, MAX_TIMEOUT)?);
                }
                "nomatch" if kind == Kind::Net && cmd != "test" => nomatch = true,
                _ => return Err(usage(&format!("Unknown argument: `{o}'"))),
            }
        }
        if timeout.is_some() && set.timeout.is_none() {
            return Err(kernel(
                "Timeout cannot be used: set was created without timeout support",
            ));
        }
        match cmd {
            "add" => {
                let t = timeout.or(set.timeout.map(u64::from));
                for e in &mut elems {
                    e.expires = t.filter(|&t| t != 0).map(|t| j + t * HZ);
                    e.nomatch = nomatch;
                }
                for e in elems {
                    match set.elems.get(e.key()) {
                        Some(_) if exist => set.elems.put(e),
                        Some(_) => {
                            return Err(kernel(
                                "Element cannot be added to the set: it's already added",
                            ));
                        }
                        None if set.elems.len() >= set.maxelem as usize => {
                            return Err(kernel("Hash is full, cannot add more elements"));
                        }
                        None => set.elems.put(e),
                    }
                }
                Ok(String::new())
            }
            "del" => {
                for e in elems {
                    match set.elems.remove(e.key()) {
                        true => {}
                        false if exist => {}
                        false => {
                            return Err(kernel(
                                "Element cannot be deleted from the set: it's not added",
                            ));
                        }
                    }
                }
                Ok(String::new())
            }
            _ => {
                // hash:ip and hash:ip,port test the address as written (`ADDR/CIDR` and
                // ranges: their first address); hash:net the block, or for a host the
                // most specific block holding it.
                let host = !arg.contains('/') && !arg.contains('-');
                let probe = match kind {
                    Kind::Net => elems.first().copied().filter(|_| elems.len() == 1),
                    _ => {
                        let a = arg.split(',').next().unwrap_or(arg);
                        let a = a.split(['/', '-']).next().unwrap_or(a);
                        elems.first().map(|e| Elem {
                            addr: address(a).unwrap_or(e.addr),
                            ..*e
                        })
                    }
                };
                let found = probe.is_some_and(|e| set.lookup(&e, host, j) == Some(false));
                if found {
                    Ok(format!("Warning: {arg} is in set {name}.\n"))
                } else {
                    Err((1, format!("{arg} is NOT in set {name}.")))
                }
            }
        }
    }

    /// `ip_set_test` for a packet: `dims[i]` is true when dimension `i` is the source.
    /// `Some(nomatch)` when an element covers the packet; `None` when none does or the
    /// packet cannot be matched (no such set, fewer dimensions than the set's, no port).
    pub fn test_packet(
        &self,
        name: &str,
        dims: &[bool],
        pkt: &PacketView,
        now: Instant,
    ) -> Option<bool> {
        let set = self.get(name)?;
        if dims.len() < set.kind.dimension() {
            return None;
        }
        let addr = crate::netfilter::packet::bits4(if dims[0] { pkt.src } else { pkt.dst });
        let (proto, port) = match set.kind {
            Kind::IpPort => {
                if pkt.fragment {
                    return None;
                }
                let src = dims[1];
                match pkt.proto {
                    6 | 17 | 132 | 136 => {
                        let p = if src { pkt.sport } else { pkt.dport };
                        (pkt.proto, p?)
                    }
                    1 => {
                        let (t, c) = pkt.icmp?;
                        (1, (u16::from(t) << 8) | u16::from(c))
                    }
                    p => (p, 0),
                }
            }
            _ => (0, 0),
        };
        let probe = Elem {
            addr,
            cidr: 32,
            proto,
            port,
            expires: None,
            nomatch: false,
        };
        set.lookup(&probe, true, jiffies(now))
    }
}

fn list_set(s: &IpSet, j: u64, refs: &dyn Fn(&str) -> u32, terse: bool) -> String {
    let mut out = format!(
        "Name: {}\nType: {}\nRevision: {}\nHeader: {}\nSize in memory: {}\nReferences: {}\n\
         Number of entries: {}\n",
        s.name,
        s.kind.name(),
        s.kind.revision(),
        s.header(),
        s.memsize(),
        refs(&s.name),
        s.elems.len()
    );
    if !terse {
        out.push_str("Members:\n");
        for e in s.elems.ordered() {
            out.push_str(&s.member(e, j));
            out.push('\n');
        }
    }
    out
}

fn save_set(s: &IpSet, j: u64) -> String {
    let mut out = format!("create {} {} {}\n", s.name, s.kind.name(), s.header());
    for e in s.elems.ordered() {
        let _ = writeln!(out, "add {} {}", s.name, s.member(e, j));
    }
    out
}

#[cfg(test)]
#[path = "ipset_tests.rs"]
mod tests;

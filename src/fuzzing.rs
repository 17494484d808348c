//! Robustness harness shared by the cargo-fuzz targets (`fuzz/`, nightly) and the property
//! tests (`tests/properties.rs`, stable): each entry point takes arbitrary input, feeds it to
//! one of the lab's doors (lab files, `iptables` command lines, `iptables-restore` input,
//! display filters, frames on the wire) and panics only when a promise is broken: a panic
//! inside the library, an error that does not say where the input is wrong, or an answer
//! that contradicts another.
//!
//! The `*_bytes` functions decode raw fuzzer bytes into structured input (command lines from
//! a vocabulary, frames from header templates with fixed checksums) so that a byte-level
//! mutator reaches the deep paths: a parser past its first token, NAT and conntrack past the
//! checksum checks. The property tests generate bytes and call the same decoders.

use smoltcp::wire::Ipv4Address;

use crate::filter::Filter;
use crate::id::PortId;
use crate::netfilter::packet::{AddrType, CtState, CtView, Hook, PacketView, Table};
use crate::netfilter::rules::{ErrorKind, IptablesVersion, RestoreOptions, Tables};
use crate::scenario;
use crate::sim::probe::Probe;
use crate::sim::{CmdId, Sim, Stop};
use crate::time::{Duration, Instant};

/// Reads fuzzer bytes as a stream of choices; past the end every choice is 0.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }
    /// One of `items`, chosen by the next byte.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }
    /// A short string of the next bytes (lossy UTF-8), as a fuzzer's own token.
    pub fn raw(&mut self) -> String {
        let n = usize::from(self.byte() % 12);
        let end = (self.pos + n).min(self.data.len());
        let s = String::from_utf8_lossy(&self.data[self.pos.min(end)..end]).into_owned();
        self.pos += n;
        s
    }
}

// ---------------------------------------------------------------------------------------
// Lab files

/// Loads `text` as a lab named `file`: it either loads and builds, or every error names
/// `file`, a line and column inside the text (or just past its end) and a field.
pub fn lab(text: &str, file: &str) -> bool {
    match scenario::parse(text, file) {
        Ok(lab) => {
            if let Err(e) = scenario::build::build(&lab, lab.seed) {
                panic!("a lab that loaded does not build: {e}");
            }
            true
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a message");
            // YAML breaks lines at CR, LF and CRLF.
            let lines = text.replace("\r\n", "\n").matches(['\r', '\n']).count() as u64 + 1;
            for e in &errors.0 {
                assert_eq!(e.file, file, "{e}");
                assert!(e.line >= 1 && e.line <= lines, "line out of the text: {e}");
                assert!(e.column >= 1, "column 0: {e}");
                assert!(!e.field.is_empty(), "no field named: {e}");
                assert!(!e.message.is_empty(), "no message: {e}");
                let shown = e.to_string();
                assert!(
                    shown.starts_with(&format!("{file}:{}:{}: field '", e.line, e.column)),
                    "{shown}"
                );
            }
            false
        }
    }
}

/// The fuzz target's entry: the bytes as a lab file (UTF-8 only, as `load` reads text).
pub fn lab_bytes(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| lab(text, "fuzz.yaml"))
}

/// Values that have broken lab loaders: edges of numbers, addresses, durations, YAML's own
/// syntax. `mutate_lab` drops them into real labs.
pub const LAB_TOKENS: &[&str] = &[
    "",
    "0",
    "-1",
    "18446744073709551616",
    "99999999999999999999h",
    "1e400",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "224.0.0.1/4",
    "10.0.0.1/33",
    "10.0.0.256/24",
    "127.0.0.1/8",
    "02:00:00:00:00:00",
    "ff:ff:ff:ff:ff:ff",
    "0ms",
    "1ns",
    "5000h",
    "~",
    "null",
    "[]",
    "{}",
    "[[]]",
    "&a x",
    "*a",
    "!!binary AAAA",
    "'",
    "\"",
    "ä",
    "\t",
    "- ",
    ": ",
    "eth0",
    "h1:eth0",
    "r1:eth0",
    "docker0:veth",
    "65536",
    "1500",
    "68",
    "100%",
    "1.5",
    "on",
    "no",
    "iptables -A FORWARD -j DROP",
    "ping -c 1 10.0.0.2",
    "curl http://10.0.0.2/",
    "sleep 1s",
];

/// Applies up to `edits` edits chosen by `data` to a real lab's text: a line dropped,
/// doubled or cut, a token put in place of a value, bytes inserted.
pub fn mutate_lab(base: &str, data: &[u8]) -> String {
    let mut b = Bytes::new(data);
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    while !b.is_empty() && !lines.is_empty() {
        let i = usize::from(b.u16()) % lines.len();
        match b.byte() % 6 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let cut = char_floor(&lines[i], usize::from(b.byte()));
                lines[i].truncate(cut);
            }
            3 | 4 => {
                // Replace what follows the line's last ": " (a value), or the whole line.
                let token = b.pick(LAB_TOKENS);
                let line = &mut lines[i];
                match line.rfind(": ") {
                    Some(at) => line.replace_range(at + 2.., token),
                    None => *line = format!("{}{token}", indent(line)),
                }
            }
            _ => {
                let s = b.raw();
                let at = char_floor(&lines[i], usize::from(b.byte()));
                lines[i].insert_str(at, &s);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

fn char_floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ---------------------------------------------------------------------------------------
// iptables

/// Words of iptables command lines: commands, tables, chains, matches and their options,
/// targets and their options, and values both good and bad.
pub const IPTABLES_TOKENS: &[&str] = &[
    "-t",
    "nat",
    "filter",
    "mangle",
    "raw",
    "security",
    "-A",
    "-I",
    "-D",
    "-R",
    "-N",
    "-X",
    "-E",
    "-F",
    "-Z",
    "-P",
    "-L",
    "-S",
    "-C",
    "-n",
    "-v",
    "-x",
    "--line-numbers",
    "-h",
    "-V",
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "DOCKER",
    "MY-CHAIN",
    "X",
    "1",
    "2",
    "0",
    "-1",
    "99999999999",
    "-p",
    "tcp",
    "udp",
    "icmp",
    "all",
    "6",
    "256",
    "-s",
    "-d",
    "10.0.0.0/8",
    "!",
    "1.2.3.4",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "10.0.0.1/33",
    "10.0.0.0/255.0.0.0",
    "localhost",
    "-i",
    "-o",
    "eth0",
    "docker0",
    "eth+",
    "+",
    "-j",
    "-g",
    "ACCEPT",
    "DROP",
    "REJECT",
    "RETURN",
    "LOG",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "TCPMSS",
    "QUEUE",
    "--to-destination",
    "--to-source",
    "--to-ports",
    "172.17.0.2:80",
    "10.0.0.1-10.0.0.9:1000-2000",
    "10.0.0.9-10.0.0.1",
    ":",
    "80-",
    "--dport",
    "--sport",
    "--destination-port",
    "80",
    "1:65535",
    "65536",
    "5:3",
    "http",
    "-m",
    "conntrack",
    "--ctstate",
    "NEW,ESTABLISHED,RELATED,INVALID",
    "NEW,,",
    "state",
    "--state",
    "--ctdir",
    "REPLY",
    "--ctorigdst",
    "--ctorigdstport",
    "multiport",
    "--dports",
    "--sports",
    "--ports",
    "80,443,1000:2000",
    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
    "addrtype",
    "--dst-type",
    "--src-type",
    "LOCAL",
    "UNICAST",
    "BROADCAST",
    "--limit-iface-in",
    "limit",
    "--limit",
    "5/sec",
    "1/day",
    "0/s",
    "--limit-burst",
    "comment",
    "--comment",
    "a b",
    "statistic",
    "--mode",
    "random",
    "nth",
    "--probability",
    "0.5",
    "2",
    "--every",
    "--packet",
    "--tcp-flags",
    "SYN,RST",
    "SYN",
    "ALL",
    "NONE",
    "--syn",
    "--icmp-type",
    "echo-request",
    "3/4",
    "any",
    "iprange",
    "--src-range",
    "--dst-range",
    "--reject-with",
    "tcp-reset",
    "icmp-port-unreachable",
    "--log-prefix",
    "--log-level",
    "7",
    "warning",
    "--log-uid",
    "--set-mss",
    "--clamp-mss-to-pmtu",
    "-f",
    "-w",
    "--wait",
    "--",
    "-c",
    "--set-counters",
    "3",
    "--random",
    "--persistent",
    "udp",
    "--fragment",
    "--table",
    "--append",
    "--new-chain",
    "--jump",
    "--proto",
    "--src",
];

/// Rules to start from, so deletes, renames, jumps and policies meet existing chains.
const IPTABLES_BASE: &[&str] = &[
    "-N DOCKER",
    "-N MY-CHAIN",
    "-A FORWARD -j DOCKER",
    "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT",
    "-A MY-CHAIN -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    "-A INPUT -p icmp -m limit --limit 1/sec -j LOG --log-prefix x",
    "-t nat -N DOCKER",
    "-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "-t nat -A DOCKER -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
    "-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
    "-t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
];

const CHAINS: &[&str] = &[
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "DOCKER",
    "MY-CHAIN",
    "NEW",
];

/// Pieces of a rule: what it matches.
const RULE_PARTS: &[&str] = &[
    "-p tcp",
    "-p udp",
    "-p icmp",
    "! -p tcp",
    "-s 10.0.0.0/8",
    "! -s 192.0.2.1",
    "-d 172.17.0.2",
    "-d 0.0.0.0/0",
    "-i eth0",
    "! -o docker0",
    "-o eth+",
    "-f",
    "--dport 80",
    "--sport 1024:65535",
    "--syn",
    "--icmp-type echo-request",
    "-m tcp --tcp-flags SYN,RST SYN",
    "-m udp --dport 53",
    "-m conntrack --ctstate NEW",
    "-m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY",
    "-m state --state INVALID",
    "-m multiport --dports 80,443,8000:8080",
    "-m addrtype --dst-type LOCAL",
    "-m addrtype ! --src-type BROADCAST --limit-iface-in",
    "-m limit --limit 5/sec --limit-burst 2",
    "-m comment --comment hello",
    "-m statistic --mode random --probability 0.5",
    "-m statistic --mode nth --every 3 --packet 1",
    "-m iprange --src-range 10.0.0.1-10.0.0.9",
    "-m icmp --icmp-type 3/4",
];

/// What a rule does.
const RULE_TARGETS: &[&str] = &[
    "-j ACCEPT",
    "-j DROP",
    "-j RETURN",
    "-j REJECT",
    "-j REJECT --reject-with tcp-reset",
    "-j LOG --log-prefix x --log-level 4",
    "-j DNAT --to-destination 172.17.0.2:80",
    "-j SNAT --to-source 10.0.0.1-10.0.0.3",
    "-j MASQUERADE --to-ports 1024-2048",
    "-j REDIRECT --to-ports 8080",
    "-j TCPMSS --set-mss 1400",
    "-j TCPMSS --clamp-mss-to-pmtu",
    "-j DOCKER",
    "-j MY-CHAIN",
    "-g MY-CHAIN",
    "",
];

/// One command line: mostly well formed (a table, a command, a chain, a few matches and a
/// target), then a few of its words replaced, dropped or added.
fn iptables_line(b: &mut Bytes, table: bool) -> Vec<String> {
    let mut line = String::new();
    if table {
        line.push_str(b.pick(&["", "", "-t nat ", "-t filter ", "-t mangle ", "-t raw "]));
    }
    let command = b.pick(&[
        "-A", "-A", "-A", "-I", "-D", "-R", "-C", "-N", "-X", "-F", "-Z", "-P", "-L", "-S", "-E",
    ]);
    line.push_str(command);
    line.push(' ');
    line.push_str(b.pick(CHAINS));
    match command {
        "-I" | "-R" | "-D" if b.byte().is_multiple_of(2) => {
            line.push_str(b.pick(&[" 1", " 2", " 0"]));
        }
        "-P" => line.push_str(b.pick(&[" ACCEPT", " DROP", " RETURN"])),
        "-E" => line.push_str(b.pick(&[" RENAMED", " DOCKER", " INPUT"])),
        _ => {}
    }
    if matches!(command, "-A" | "-I" | "-R" | "-C" | "-D") {
        for _ in 0..b.byte() % 5 {
            line.push(' ');
            line.push_str(b.pick(RULE_PARTS));
        }
        line.push(' ');
        line.push_str(b.pick(RULE_TARGETS));
    }
    let mut argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    // Most lines are left whole, so that a file of several still loads now and then.
    let edits = b.pick(&[0, 0, 0, 0, 0, 1, 2, 3]);
    for _ in 0..edits {
        let at = usize::from(b.byte()) % (argv.len() + 1);
        let word = match b.byte() {
            0xfe => b.raw(),
            x => IPTABLES_TOKENS[usize::from(x) % IPTABLES_TOKENS.len()].to_string(),
        };
        match b.byte() % 3 {
            0 if at < argv.len() => argv[at] = word,
            1 if at < argv.len() => {
                argv.remove(at);
            }
            _ => argv.insert(at, word),
        }
    }
    argv
}

/// Decodes command lines, up to 8.
pub fn iptables_lines(data: &[u8]) -> Vec<Vec<String>> {
    let mut b = Bytes::new(data);
    let mut lines = Vec::new();
    while !b.is_empty() && lines.len() < 8 {
        lines.push(iptables_line(&mut b, true));
    }
    lines
}

/// A few packets for every hook of every table, so rules the lines added are evaluated.
fn packets() -> Vec<(
    Option<&'static str>,
    Option<&'static str>,
    PacketView<'static>,
)> {
    const IP: &[u8] = &[
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 172, 17, 0, 2, 0x30, 0x39, 0, 80,
        0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];
    let base = PacketView {
        len: 40,
        src: Ipv4Address::new(10, 0, 0, 1).into(),
        dst: Ipv4Address::new(172, 17, 0, 2).into(),
        proto: 6,
        sport: Some(12345),
        dport: Some(80),
        tcp_flags: Some(0x02),
        icmp: None,
        fragment: false,
        in_iface: None,
        out_iface: None,
        ct: Some(CtView {
            state: CtState::New,
            orig_src: Ipv4Address::new(10, 0, 0, 1).into(),
            orig_dst: Ipv4Address::new(172, 17, 0, 2).into(),
            orig_sport: Some(12345),
            orig_dport: Some(80),
            reply: false,
            snat: false,
            dnat: false,
            mark: 0,
            detail: Default::default(),
        }),
        mark: 0,
        src_type: AddrType::Unicast,
        dst_type: AddrType::Local,
        ip: IP,
        mac: Some([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]),
        physdev: None,
    };
    let icmp = PacketView {
        proto: 1,
        sport: None,
        dport: None,
        tcp_flags: None,
        icmp: Some((8, 0)),
        ct: Some(CtView {
            state: CtState::Established,
            reply: true,
            ..base.ct.unwrap()
        }),
        ..base
    };
    let frag = PacketView {
        proto: 17,
        sport: None,
        dport: None,
        tcp_flags: None,
        fragment: true,
        ct: None,
        src_type: AddrType::Broadcast,
        ..base
    };
    vec![
        (Some("eth0"), Some("docker0"), base),
        (Some("docker0"), None, icmp),
        (None, Some("eth1"), frag),
    ]
}

/// Runs `lines` as `iptables` command lines on tables holding a few chains and rules. Each
/// line succeeds or fails with iptables' message and exit status, naming the bad argument
/// when it is one of the line's; a failed line changes nothing. Then every hook is run for a
/// few packets, and the tables are listed, saved and restored.
pub fn iptables(lines: &[Vec<String>]) -> usize {
    let mut ok = 0;
    let mut t = Tables::new(IptablesVersion::V1_8_10);
    for l in IPTABLES_BASE {
        let argv: Vec<String> = l.split(' ').map(str::to_string).collect();
        t.apply(&argv).expect(l);
    }
    for argv in lines {
        let before = t.save_with(true, None);
        let checked = t.check(argv);
        match t.apply(argv) {
            Ok(_) => {
                ok += 1;
                assert!(checked.is_ok(), "{argv:?}: check refused what apply took");
            }
            Err(e) => {
                assert_eq!(
                    t.save_with(true, None),
                    before,
                    "{argv:?} failed but changed: {e}"
                );
                assert!(!e.message().is_empty(), "{argv:?}: an empty message");
                if e.kind() == ErrorKind::Parameter {
                    assert!(e.message().contains("Try `iptables -h'"), "{argv:?}: {e}");
                }
                if let Err(c) = &checked {
                    assert_eq!(c, &e, "{argv:?}: check and apply disagree");
                }
                if let Some(tok) = e.token() {
                    assert!(
                        argv.iter()
                            .any(|a| a.contains(tok) || tok.contains(a.as_str())),
                        "{argv:?}: the error names {tok:?}, not an argument: {e}"
                    );
                }
            }
        }
    }
    exercise(&mut t);
    ok
}

/// Runs every hook for a few packets, lists every table, and checks that `iptables-save`
/// restores to the same tables.
fn exercise(t: &mut Tables) {
    let now = Instant::ZERO + Duration::from_secs(1);
    for (i, o, mut p) in packets() {
        for table in Table::ALL {
            for &hook in table.builtin_chains() {
                p.in_iface = match hook {
                    Hook::Output | Hook::Postrouting if i.is_some() => None,
                    _ => i,
                };
                p.out_iface = match hook {
                    Hook::Prerouting | Hook::Input => None,
                    _ => o,
                };
                let _ = t.run(table, hook, &p, now, &mut |_| {});
            }
        }
    }
    for table in ["filter", "nat", "mangle", "raw"] {
        for flags in ["-nvxL", "-L", "-S"] {
            let argv = ["iptables", "-t", table, flags, "--line-numbers"];
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            let argv = if flags == "-S" { &argv[..4] } else { &argv[..] };
            t.apply(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        }
    }
    let saved = t.save_with(true, None);
    let mut again = Tables::new(IptablesVersion::V1_8_10);
    again
        .restore(&saved)
        .unwrap_or_else(|e| panic!("iptables-save output does not restore: {e}\n{saved}"));
    assert_eq!(
        again.save_with(true, None),
        saved,
        "save, restore, save differs"
    );
}

/// The fuzz target's entry for command lines.
pub fn iptables_bytes(data: &[u8]) -> usize {
    iptables(&iptables_lines(data))
}

const RESTORE_LINES: &[&str] = &[
    "*filter",
    "*nat",
    "*mangle",
    "*raw",
    "*security",
    "*",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD DROP [1:2]",
    ":OUTPUT - [0:0]",
    ":DOCKER - [0:0]",
    ":DOCKER - [x:y]",
    ":PREROUTING ACCEPT",
    ":INPUT BOGUS [0:0]",
    ":",
    ":NEW -",
    "COMMIT",
    "COMMIT",
    "# a comment",
    "",
    "[5:6] -A INPUT -j ACCEPT",
    "[5:6",
    "-X DOCKER",
    "-F",
];

/// Decodes `iptables-restore` input: tables with their chain declarations, rules and
/// `COMMIT`, and stock lines (good and bad) in between.
pub fn restore_text(data: &[u8]) -> (String, RestoreOptions) {
    let mut b = Bytes::new(data);
    let opts = RestoreOptions {
        noflush: b.byte() % 2 == 1,
        counters: b.byte() % 2 == 1,
    };
    let mut text = String::new();
    let mut open = false;
    while !b.is_empty() {
        let x = b.byte();
        let line = match (open, x % 16) {
            (false, 0) => RESTORE_LINES[usize::from(b.byte()) % RESTORE_LINES.len()].to_string(),
            (false, _) => {
                open = true;
                format!(
                    "*{}",
                    b.pick(&["filter", "nat", "mangle", "raw", "filter", "nat"])
                )
            }
            (true, 0 | 1) => {
                open = false;
                "COMMIT".to_string()
            }
            (true, 2 | 3) => format!(
                ":{} {} {}",
                b.pick(CHAINS),
                b.pick(&["ACCEPT", "DROP", "-", "-", "ACCEPT"]),
                b.pick(&["[0:0]", "[3:4]", "", "[x:y]", "[1:"])
            ),
            (true, 4) => RESTORE_LINES[usize::from(b.byte()) % RESTORE_LINES.len()].to_string(),
            (true, _) => {
                let counters = b.pick(&["", "", "", "[5:6] ", "[a:b] "]);
                format!("{counters}{}", iptables_line(&mut b, false).join(" "))
            }
        };
        text.push_str(&line);
        text.push(if x == 0xff { '\r' } else { '\n' });
    }
    // Past the end every choice is 0: the file is then closed.
    if open && b.byte() != 0xff {
        text.push_str("COMMIT\n");
    }
    (text, opts)
}

/// Restores `text` on top of a few rules: it succeeds, or it fails with a message that
/// names its line, and the table being restored stays as it was.
pub fn restore(text: &str, opts: RestoreOptions) -> bool {
    let mut t = Tables::new(IptablesVersion::V1_8_10);
    for l in IPTABLES_BASE {
        let argv: Vec<String> = l.split(' ').map(str::to_string).collect();
        t.apply(&argv).expect(l);
    }
    let result = t.restore_with(text, opts);
    if let Err(e) = &result {
        assert!(!e.message().is_empty(), "an empty message");
        let lines = text.lines().count().max(1);
        let line = line_named(e.message())
            .unwrap_or_else(|| panic!("the error names no line: {e}\n{text}"));
        assert!(
            (1..=lines + 1).contains(&line),
            "line {line} of {lines}: {e}"
        );
    }
    exercise(&mut t);
    result.is_ok()
}

/// The N of `line N` or `line: N` in an iptables-restore message.
fn line_named(message: &str) -> Option<usize> {
    message.match_indices("line").find_map(|(at, _)| {
        let rest = message[at + 4..].trim_start_matches(':').trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// The fuzz target's entry for `iptables-restore` input: the first byte chooses the
/// options, the rest is the file, as is (`raw`) or decoded from tokens.
pub fn restore_bytes(data: &[u8], raw: bool) -> bool {
    if raw {
        let (opts, rest) = data.split_first().map_or((0, data), |(o, r)| (*o, r));
        let (_, opts) = restore_text(&[opts, opts >> 1]);
        restore(&String::from_utf8_lossy(rest), opts)
    } else {
        let (text, opts) = restore_text(data);
        restore(&text, opts)
    }
}

// ---------------------------------------------------------------------------------------
// Display filters

const FILTER_TOKENS: &[&str] = &[
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "contains",
    "!",
    "not",
    "&&",
    "and",
    "||",
    "or",
    "(",
    ")",
    "0",
    "1",
    "64",
    "0x40",
    "0b101",
    "010",
    "08",
    "65536",
    "4294967296",
    "99999999999999999999999",
    "-1",
    "True",
    "FALSE",
    "10.0.0.1",
    "172.16.0.0/12",
    "10.0.0.1/33",
    "1.2.3",
    "02:42:ac:11:00:02",
    "0242.ac11.0002",
    "0242ac110002",
    "02-42",
    "\"x\"",
    "\"\"",
    "\"\\x41\\101\\n\"",
    "\"\\xZZ\"",
    "\"",
    "'a'",
    "matches",
    "~",
    "in",
    "{",
    "}",
    "[",
    "]",
    ",",
    "tcp.seq",
    "frame.comment contains",
];

const FILTER_VALUES: &[&str] = &[
    "0",
    "1",
    "6",
    "17",
    "64",
    "80",
    "0x50",
    "0b101",
    "010",
    "08",
    "65535",
    "65536",
    "4294967296",
    "True",
    "FALSE",
    "10.0.0.1",
    "172.17.0.2",
    "172.16.0.0/12",
    "192.0.2.0/24",
    "10.0.0.1/33",
    "02:00:00:00:00:01",
    "02-00-00-00-00-10",
    "0200.0000.0001",
    "ff:ff:ff:ff:ff:ff",
    "\"dropped\"",
    "\"\"",
];

/// Decodes a filter (terms of fields, operators and values, joined by `&&`/`||`, with a few
/// tokens or raw bytes dropped in) and frames to match it against.
pub fn filter_input(data: &[u8]) -> (String, Vec<Vec<u8>>) {
    let mut b = Bytes::new(data);
    let mut text = String::new();
    let fields = crate::filter::FIELDS;
    for i in 0..b.byte() % 4 + usize::from(!b.byte().is_multiple_of(8)) as u8 {
        if i > 0 {
            text.push_str(b.pick(&[" && ", " || ", " and ", " or ", "&&", " "]));
        }
        text.push_str(b.pick(&["", "", "", "!", "not ", "!(", "("]));
        text.push_str(fields[usize::from(b.byte()) % fields.len()].0);
        if !b.byte().is_multiple_of(3) {
            text.push_str(b.pick(&[" == ", " != ", " < ", ">=", " gt ", " contains ", " eq "]));
            text.push_str(b.pick(FILTER_VALUES));
        }
        if text.matches('(').count() > text.matches(')').count() && b.byte().is_multiple_of(2) {
            text.push(')');
        }
    }
    for _ in 0..b.byte() % 3 {
        let at = char_floor(&text, usize::from(b.byte()));
        let word = match b.byte() {
            0xfe => b.raw(),
            x => FILTER_TOKENS[usize::from(x) % FILTER_TOKENS.len()].to_string(),
        };
        text.insert_str(at, &word);
    }
    let mut frames = Vec::new();
    while !b.is_empty() && frames.len() < 4 {
        frames.push(frame(&mut b, &Target::ANY));
    }
    (text, frames)
}

/// Parses `text`: an error points into it (a column from 1 to one past its last char); a
/// filter evaluates on every frame, `!(F)` is its negation and `(F)` the same filter.
pub fn filter(text: &str, frames: &[Vec<u8>]) -> bool {
    let width = text.chars().count() + 1;
    match Filter::parse(text) {
        Err(e) => {
            assert!(
                (1..=width).contains(&e.column),
                "{text:?}: column {} of {width}: {e}",
                e.column
            );
            assert!(!e.message.is_empty(), "{text:?}: no message");
            false
        }
        Ok(f) => {
            let trimmed = text.trim();
            let (not, same) = if trimmed.is_empty() {
                (None, None)
            } else {
                let not = Filter::parse(&format!("!({text})"))
                    .unwrap_or_else(|e| panic!("{text:?} parses, !({text}) not: {e}"));
                let same = Filter::parse(&format!("({text})"))
                    .unwrap_or_else(|e| panic!("{text:?} parses, ({text}) not: {e}"));
                (Some(not), Some(same))
            };
            for frame in frames {
                for comment in [None, Some("dropped: netfilter")] {
                    let m = f.matches(frame, comment);
                    if let Some(n) = &not {
                        assert_eq!(n.matches(frame, comment), !m, "!({text}) on {frame:02x?}");
                    }
                    if let Some(s) = &same {
                        assert_eq!(s.matches(frame, comment), m, "({text}) on {frame:02x?}");
                    }
                }
            }
            true
        }
    }
}

/// The fuzz target's entry for display filters.
pub fn filter_bytes(data: &[u8]) -> bool {
    let (text, frames) = filter_input(data);
    filter(&text, &frames)
}

// ---------------------------------------------------------------------------------------
// Frames

/// Whom a frame is made for: the neighbour's MAC and address, and the prober's own.
pub struct Target {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
    pub own_mac: [u8; 6],
    pub own_ip: [u8; 4],
}

impl Target {
    const ANY: Target = Target {
        mac: [2, 0, 0, 0, 0, 1],
        ip: [10, 0, 0, 1],
        own_mac: [2, 0, 0, 0, 0, 0xf0],
        own_ip: [10, 0, 0, 9],
    };
}

/// Addresses in the frame lab, for frames to cross it.
const LAB_IPS: &[[u8; 4]] = &[
    [192, 0, 2, 10],
    [192, 0, 2, 1],
    [172, 17, 0, 1],
    [172, 17, 0, 2],
    [172, 17, 255, 255],
    [10, 9, 0, 2],
    [10, 9, 0, 1],
    [10, 8, 0, 2],
    [127, 0, 0, 1],
    [255, 255, 255, 255],
    [224, 0, 0, 1],
    [0, 0, 0, 0],
];

/// One frame from the bytes: an Ethernet header, an ARP, IPv4 or IPv6 packet with TCP, UDP,
/// ICMP or ICMPv6 (an error quotes a packet made the same way; neighbour discovery for the
/// addresses there) or another protocol, with checksums right (mostly), then some bytes
/// overwritten and the frame maybe cut short.
pub fn frame(b: &mut Bytes, t: &Target) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    let dst = match b.byte() % 6 {
        0 | 1 => t.mac,
        2 => [0xff; 6],
        3 => [1, 0, 0x5e, 0, 0, 1],
        4 => [0x33, 0x33, 0xff, 0, 0, t.ip[3]],
        _ => [b.byte(), b.byte(), b.byte(), b.byte(), b.byte(), b.byte()],
    };
    let src = match b.byte() % 4 {
        0..=2 => t.own_mac,
        _ => [b.byte(), b.byte(), b.byte(), b.byte(), b.byte(), b.byte()],
    };
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    match b.byte() % 8 {
        0..=3 => {
            f.extend_from_slice(&[8, 0]);
            ipv4(b, t, &mut f, 2);
        }
        4 => {
            f.extend_from_slice(&[0x86, 0xdd]);
            ipv6(b, t, &mut f, 2);
        }
        5 => {
            f.extend_from_slice(&[8, 6]);
            arp(b, t, &mut f, src);
        }
        6 => {
            // Tagged: the bridge's VLANs (1, 10), a priority tag (0), one nobody has (20).
            let vid = b.pick(&[1, 10, 0, 20]);
            f.extend_from_slice(&[0x81, 0x00, 0, vid, 8, 0]);
            ipv4(b, t, &mut f, 1);
        }
        _ => {
            f.extend_from_slice(&[b.byte(), b.byte()]);
            let n = usize::from(b.byte() % 64);
            f.extend((0..n).map(|_| b.byte()));
        }
    }
    // Damage, to half the frames or so: overwrite a few bytes, maybe cut.
    for _ in 0..b.pick(&[0, 0, 0, 0, 0, 1, 2, 3]) {
        let at = usize::from(b.byte()) % f.len();
        f[at] = b.byte();
    }
    if b.byte().is_multiple_of(8) {
        let cut = usize::from(b.u16()) % (f.len() + 1);
        f.truncate(cut);
    }
    f
}

fn addr(b: &mut Bytes, t: &Target, own: bool) -> [u8; 4] {
    match b.byte() % 6 {
        0 | 1 if own => t.own_ip,
        0 | 1 => t.ip,
        2 | 3 => b.pick(LAB_IPS),
        4 => [b.byte(), b.byte(), b.byte(), b.byte()],
        _ => {
            if own {
                t.ip
            } else {
                t.own_ip
            }
        }
    }
}

fn arp(b: &mut Bytes, t: &Target, f: &mut Vec<u8>, src: [u8; 6]) {
    let op = b.pick(&[1u8, 2, 1, 2, 3, 0]);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, op]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&addr(b, t, true));
    f.extend_from_slice(&if op == 2 { t.mac } else { [0; 6] });
    f.extend_from_slice(&addr(b, t, false));
}

/// Appends an IPv4 packet; `depth` bounds ICMP errors quoting ICMP errors.
fn ipv4(b: &mut Bytes, t: &Target, f: &mut Vec<u8>, depth: u8) {
    let start = f.len();
    let ihl = match b.byte() % 8 {
        0 => 5 + b.byte() % 11,
        _ => 5,
    };
    let proto = match b.byte() % 8 {
        0..=2 => 6,
        3 | 4 => 17,
        5 | 6 => 1,
        _ => b.byte(),
    };
    let flags_frag: u16 = match b.byte() % 8 {
        0 => 0x2000 | (b.u16() & 0x1fff), // more fragments
        1 => b.u16() & 0x1fff,            // a later fragment
        2 => 0,
        _ => 0x4000, // DF
    };
    let ttl = b.pick(&[64u8, 64, 1, 0, 2, 255]);
    let src = addr(b, t, true);
    let dst = addr(b, t, false);
    f.extend_from_slice(&[0x40 | ihl, b.pick(&[0u8, 0, 0x10, 0xff]), 0, 0]);
    f.extend_from_slice(&b.u16().to_be_bytes());
    f.extend_from_slice(&flags_frag.to_be_bytes());
    f.extend_from_slice(&[ttl, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    for _ in 20..usize::from(ihl) * 4 {
        f.push(b.pick(&[1u8, 0, 7, 3, 0x44, 0x94, 2, 40, 255]));
    }
    let l4 = f.len();
    match proto {
        6 => {
            let sport = b.pick(&[12345u16, 80, 8080, 0, 65535, 443]);
            let dport = b.pick(&[80u16, 8080, 12345, 0, 22, 53]);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&[b.byte(), b.byte(), b.byte(), b.byte()]);
            f.extend_from_slice(&[b.byte(), b.byte(), b.byte(), b.byte()]);
            let words = match b.byte() % 6 {
                0 => b.byte() % 16,
                1 => 6,
                _ => 5,
            };
            let flags = b.pick(&[
                0x02u8, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0, 0xff, 0x03,
            ]);
            f.extend_from_slice(&[words << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
            for _ in 20..usize::from(words.max(5)) * 4 {
                f.push(b.pick(&[2u8, 4, 0x05, 0xb4, 1, 0, 8, 3, 255]));
            }
        }
        17 => {
            let sport = b.pick(&[12345u16, 53, 8080, 0]);
            let dport = b.pick(&[53u16, 80, 8080, 0, 33434]);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0]);
        }
        1 => {
            let (ty, code) = match b.byte() % 8 {
                0 | 1 => (8, 0),
                2 => (0, 0),
                3 => (3, b.byte() % 16),
                4 => (11, 0),
                5 => (5, 1),
                6 => (12, 0),
                _ => (b.byte(), b.byte()),
            };
            f.extend_from_slice(&[ty, code, 0, 0]);
            f.extend_from_slice(&[b.byte(), b.byte(), b.byte(), b.byte()]);
            if matches!(ty, 3 | 4 | 5 | 11 | 12) && depth > 0 {
                // The quoted packet, as if it went the other way.
                let back = Target {
                    mac: t.own_mac,
                    ip: t.own_ip,
                    own_mac: t.mac,
                    own_ip: t.ip,
                };
                ipv4(b, &back, f, depth - 1);
                let cut = l4 + 8 + 28 + usize::from(b.byte() % 40);
                f.truncate(cut.max(l4 + 8));
            }
        }
        _ => {}
    }
    let n = usize::from(b.byte() % 32);
    f.extend((0..n).map(|_| b.byte()));
    let fix = !b.byte().is_multiple_of(8);
    let total = match b.byte() % 8 {
        0 => b.u16(),
        _ => (f.len() - start) as u16,
    };
    f[start + 2..start + 4].copy_from_slice(&total.to_be_bytes());
    if fix {
        let hlen = (usize::from(ihl) * 4).min(f.len() - start);
        let c = checksum(&f[start..start + hlen], 0);
        f[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        let seg = f.len() - l4;
        let at = match proto {
            6 if seg >= 18 => Some(16),
            17 if seg >= 8 => {
                f[l4 + 4..l4 + 6].copy_from_slice(&(seg as u16).to_be_bytes());
                Some(6)
            }
            1 if seg >= 4 => Some(2),
            _ => None,
        };
        if let Some(at) = at {
            let pseudo = if proto == 1 {
                0
            } else {
                let mut s = 0u32;
                for w in f[start + 12..start + 20].chunks(2) {
                    s += u32::from(u16::from_be_bytes([w[0], w[1]]));
                }
                s + u32::from(proto) + seg as u32
            };
            let c = checksum(&f[l4..], pseudo);
            f[l4 + at..l4 + at + 2].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// The frame lab's IPv6 address beside an IPv4 one: 2001:db8:B:C::D for A.B.C.D, so each
/// IPv4 subnet of the lab has its /64.
fn ip6_of(a: [u8; 4]) -> [u8; 16] {
    [
        0x20, 0x01, 0x0d, 0xb8, 0, a[1], 0, a[2], 0, 0, 0, 0, 0, 0, 0, a[3],
    ]
}

/// The link-local address of a MAC (EUI-64).
fn link_local(m: [u8; 6]) -> [u8; 16] {
    [
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 2,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ]
}

fn addr6(b: &mut Bytes, t: &Target, own: bool) -> [u8; 16] {
    let (ip, mac) = match own {
        true => (t.own_ip, t.own_mac),
        false => (t.ip, t.mac),
    };
    match b.byte() % 8 {
        0..=2 => ip6_of(ip),
        3 => link_local(mac),
        4 => ip6_of(b.pick(LAB_IPS)),
        5 => {
            let mut s = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
            s[13..].copy_from_slice(&ip6_of(ip)[13..]);
            s
        }
        6 => b.pick(&[[0; 16], [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]),
        _ => std::array::from_fn(|_| b.byte()),
    }
}

/// Appends an IPv6 packet; `depth` bounds ICMPv6 errors quoting ICMPv6 errors.
fn ipv6(b: &mut Bytes, t: &Target, f: &mut Vec<u8>, depth: u8) {
    let start = f.len();
    let mut next = match b.byte() % 8 {
        0 | 1 => 6,
        2 => 17,
        3..=5 => 58,
        6 => 0,
        _ => b.byte(),
    };
    let hlim = b.pick(&[64u8, 255, 255, 1, 0, 2]);
    let src = addr6(b, t, true);
    let dst = addr6(b, t, false);
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, next, hlim]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    if next == 0 {
        // Hop-by-hop options (a router alert, padding), then ICMPv6 or UDP.
        next = b.pick(&[58u8, 17, 59]);
        f.extend_from_slice(&[next, 0, 5, 2, 0, 0, 1, 0]);
    }
    let l4 = f.len();
    match next {
        6 => {
            f.extend_from_slice(&b.pick(&[12345u16, 80, 443]).to_be_bytes());
            f.extend_from_slice(&b.pick(&[80u16, 8080, 22, 0]).to_be_bytes());
            f.extend((0..8).map(|_| b.byte()));
            let flags = b.pick(&[0x02u8, 0x12, 0x10, 0x04, 0x11, 0xff]);
            f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        }
        17 => {
            f.extend_from_slice(&b.pick(&[12345u16, 53]).to_be_bytes());
            f.extend_from_slice(&b.pick(&[53u16, 33434, 8080]).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0]);
        }
        58 => {
            let (ty, code) = match b.byte() % 10 {
                0 | 1 => (128, 0),
                2 => (129, 0),
                3 | 4 => (135, 0),
                5 => (136, b.pick(&[0u8, 1])),
                6 => (b.pick(&[1u8, 3]), b.byte() % 8),
                7 => (2, 0),
                8 => (b.pick(&[133u8, 134, 137, 4]), 0),
                _ => (b.byte(), b.byte()),
            };
            f.extend_from_slice(&[ty, code, 0, 0]);
            match ty {
                135 | 136 => {
                    let flags = if ty == 136 {
                        b.pick(&[0x60u8, 0xe0, 0x20, 0])
                    } else {
                        0
                    };
                    f.extend_from_slice(&[flags, 0, 0, 0]);
                    let target = match b.byte() % 3 {
                        0 => ip6_of(t.ip),
                        1 => link_local(t.mac),
                        _ => ip6_of(t.own_ip),
                    };
                    f.extend_from_slice(&target);
                    if !b.byte().is_multiple_of(4) {
                        // A source or target link-layer address option, maybe a bad length.
                        let kind = if ty == 135 { 1 } else { 2 };
                        f.extend_from_slice(&[kind, b.pick(&[1u8, 1, 1, 0, 2])]);
                        f.extend_from_slice(&t.own_mac);
                    }
                }
                1..=4 if depth > 0 => {
                    f.extend_from_slice(&[0, 0, b.byte(), b.byte()]);
                    let back = Target {
                        mac: t.own_mac,
                        ip: t.own_ip,
                        own_mac: t.mac,
                        own_ip: t.ip,
                    };
                    ipv6(b, &back, f, depth - 1);
                }
                _ => f.extend_from_slice(&[b.byte(), b.byte(), b.byte(), b.byte()]),
            }
        }
        _ => {}
    }
    let n = usize::from(b.byte() % 32);
    f.extend((0..n).map(|_| b.byte()));
    let plen = match b.byte() % 8 {
        0 => b.u16(),
        _ => (f.len() - start - 40) as u16,
    };
    f[start + 4..start + 6].copy_from_slice(&plen.to_be_bytes());
    let seg = f.len() - l4;
    let at = match next {
        6 if seg >= 18 => Some(16),
        17 if seg >= 8 => {
            f[l4 + 4..l4 + 6].copy_from_slice(&(seg as u16).to_be_bytes());
            Some(6)
        }
        58 if seg >= 4 => Some(2),
        _ => None,
    };
    if let (Some(at), false) = (at, b.byte().is_multiple_of(8)) {
        let mut s = 0u32;
        for w in f[start + 8..start + 40].chunks(2) {
            s += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        let pseudo = s + u32::from(next) + seg as u32;
        let c = checksum(&f[l4..], pseudo);
        f[l4 + at..l4 + at + 2].copy_from_slice(&c.to_be_bytes());
    }
}

fn checksum(data: &[u8], mut sum: u32) -> u16 {
    for w in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A lab for frames: a Docker-style host `r1` (NAT, conntrack, a DNAT, TCPMSS, LOG and
/// REJECT, br_netfilter on, a VLAN device `eth0.10`) with its bridge `br0` (VLAN filtering:
/// the prober's port also takes VLAN 10 tagged) and container `h1`, and `h2` behind its
/// `eth1`. A prober injects frames at a bridge port (`br0:fz`), a router interface
/// (`r1:eth0`) and a host interface (`h1:eth1`).
pub const FRAME_LAB: &str = "version: 1
name: fuzz-frames
seed: 1
bridges:
  - name: br0
    host: r1
    ports: [fz]
    mac: '02:00:00:00:00:b0'
    vlan_filtering: true
    vlans: {fz: '1 pvid untagged, 10'}
routers:
  - name: r1
    interfaces:
      eth0: {ip: 192.0.2.10/24, ipv6: '2001:db8:0:2::a/64', mac: '02:00:00:00:00:10'}
      eth0.10: 10.10.0.1/24
      br0: {ip: 172.17.0.1/16, ipv6: '2001:db8:11::1/64', mac: '02:00:00:00:00:b0'}
      eth1: {ip: 10.9.0.1/24, ipv6: '2001:db8:9::1/64', mac: '02:00:00:00:00:11', mtu: 1400}
    sysctls: [net.bridge.bridge-nf-call-iptables=1]
    iptables:
      - iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
      - iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o br0 -j MASQUERADE
      - iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
      - iptables -A INPUT -p udp --dport 53 -j REJECT
      - iptables -A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset
      - iptables -A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix 'invalid '
      - iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
      - iptables -A FORWARD -p icmp -m limit --limit 5/sec -j ACCEPT
      - ip6tables -t nat -A POSTROUTING -s 2001:db8:11::/64 ! -o br0 -j MASQUERADE
      - ip6tables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination [2001:db8:11::2]:80
      - ip6tables -A INPUT -p udp --dport 53 -j REJECT
      - ip6tables -A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix 'invalid6 '
      - ip6tables -A FORWARD -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
      - ip6tables -A FORWARD -p tcp -j REJECT --reject-with tcp-reset
hosts:
  - name: h1
    interfaces:
      eth0: {ip: 172.17.0.2/16, ipv6: '2001:db8:11::2/64', mac: '02:00:00:00:00:01'}
      eth1: {ip: 10.8.0.2/24, ipv6: '2001:db8:8::2/64', mac: '02:00:00:00:00:02'}
    gateway: 172.17.0.1
    gateway6: '2001:db8:11::1'
  - name: h2
    interfaces: {eth0: {ip: 10.9.0.2/24, ipv6: '2001:db8:9::2/64', mac: '02:00:00:00:00:12'}}
    gateway: 10.9.0.1
    gateway6: 'fe80::ff:fe00:11'
links:
  - [h1:eth0, br0:vethh1]
  - [h2:eth0, r1:eth1]
";

/// Where the prober is plugged in, and what it pretends to be there.
const FRAME_PORTS: [(&str, &str, Target); 3] = [
    (
        "br0",
        "fz",
        Target {
            mac: [2, 0, 0, 0, 0, 1],
            ip: [172, 17, 0, 2],
            own_mac: [2, 0, 0, 0, 0, 0xf1],
            own_ip: [172, 17, 0, 9],
        },
    ),
    (
        "r1",
        "eth0",
        Target {
            mac: [2, 0, 0, 0, 0, 0x10],
            ip: [192, 0, 2, 10],
            own_mac: [2, 0, 0, 0, 0, 0xf0],
            own_ip: [192, 0, 2, 1],
        },
    ),
    (
        "h1",
        "eth1",
        Target {
            mac: [2, 0, 0, 0, 0, 2],
            ip: [10, 8, 0, 2],
            own_mac: [2, 0, 0, 0, 0, 0xf2],
            own_ip: [10, 8, 0, 9],
        },
    ),
];

/// Decodes frames for the frame lab: each a prober port (0 bridge, 1 router, 2 host) and
/// a frame made for the neighbour there.
pub fn lab_frames(data: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut b = Bytes::new(data);
    let mut out = Vec::new();
    while !b.is_empty() && out.len() < 64 {
        let port = b.byte() % 3;
        let f = frame(&mut b, &FRAME_PORTS[usize::from(port)].2);
        out.push((u16::from(port), f));
    }
    out
}

/// Builds the frame lab, lets its programs start (h1 serves HTTP, h2 connects to it through
/// r1's DNAT, h1 pings the prober), then delivers `frames` a microsecond apart and runs a
/// virtual second. Nothing may panic, the storm guard must stay quiet, and every frame
/// must be delivered to its node.
pub fn frames(frames: &[(u16, Vec<u8>)]) -> u64 {
    let lab = scenario::parse(FRAME_LAB, "fuzz-frames.yaml").expect("the frame lab loads");
    let mut sim = scenario::build::build(&lab, 1).expect("the frame lab builds");
    let names: Vec<String> = (0..FRAME_PORTS.len()).map(|i| format!("p{i}")).collect();
    let probe = sim.add_node(Box::new(Probe::new("fuzz", false)), &names);
    let mut peers: Vec<PortId> = Vec::new();
    for (i, (node, iface, _)) in FRAME_PORTS.iter().enumerate() {
        let n = sim.find_node(node).expect(node);
        let peer = sim.find_port(n, iface).expect(iface);
        sim.connect(sim.port(probe, i as u16), peer, Default::default())
            .expect("the prober plugs in");
        peers.push(peer);
    }
    let start = |sim: &mut Sim, node: &str, id: u32, argv: &[&str]| {
        let n = sim.find_node(node).expect(node);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        sim.start_command(n, CmdId(id), &argv, "")
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    };
    start(&mut sim, "h1", 0, &["http-server", "80"]);
    start(&mut sim, "h2", 1, &["curl", "-s", "http://10.9.0.1:8080/"]);
    start(
        &mut sim,
        "h1",
        2,
        &["ping", "-c", "3", "-i", "0.2", "192.0.2.1"],
    );
    start(
        &mut sim,
        "h2",
        3,
        &["ping", "-6", "-c", "3", "-i", "0.2", "2001:db8:0:2::1"],
    );
    run(&mut sim, Duration::from_millis(5));
    let at = sim.now();
    let before: Vec<u64> = peers
        .iter()
        .map(|p| sim.port_stats(*p).rx_packets)
        .collect();
    let mut sent = vec![0u64; peers.len()];
    sim.update::<Probe, _>(probe, |p| {
        for (i, (port, f)) in frames.iter().enumerate() {
            let port = port % FRAME_PORTS.len() as u16;
            p.send_at(at + Duration::from_micros(i as u64), port, f.clone());
            sent[usize::from(port)] += 1;
        }
    });
    run(&mut sim, Duration::from_secs(1));
    for (i, p) in peers.iter().enumerate() {
        let got = sim.port_stats(*p).rx_packets - before[i];
        assert!(
            got >= sent[i],
            "port {i}: {got} of {} frames arrived",
            sent[i]
        );
    }
    sim.stats.frames_delivered
}

fn run(sim: &mut Sim, d: Duration) {
    let until = sim.now() + d;
    loop {
        match sim.run_until(until) {
            Stop::CommandDone => {
                sim.take_finished();
            }
            Stop::Limit | Stop::Idle => return,
            other => panic!("the run stopped: {other:?}"),
        }
    }
}

/// The fuzz target's entry for frames.
pub fn frames_bytes(data: &[u8]) -> u64 {
    frames(&lab_frames(data))
}

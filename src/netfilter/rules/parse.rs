//! The `iptables` command line, read as `do_parse` in iptables' `xshared.c` reads it: getopt
//! semantics (clustered short options, `--long[=value]`, unique prefixes), `!` before an
//! option, extensions loaded by `-m`, `-j` or implicitly by `-p`, then the checks iptables
//! makes before touching the kernel.

use super::matches::{IpSpec, Match, Net};
use super::model::{Counters, Target};
use super::parse_ext::{MatchBuilder, TargetBuilder};
use super::{IptablesError, Prog};
use crate::netfilter::packet::Table;

pub(super) type Res<T> = Result<T, IptablesError>;

/// The tokens of a command line and the reading position.
pub(crate) struct Args<'a> {
    toks: &'a [String],
    pos: usize,
    pub(super) inline: Option<&'a str>,
    pub(super) opt_token: &'a str,
}

impl<'a> Args<'a> {
    /// The argument of the current option: `--opt=value` or the next token.
    pub fn value(&mut self, p: &Prog) -> Res<&'a str> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t)
            }
            None => Err(p.param(
                format!("option \"{}\" requires an argument", self.opt_token),
                Some(self.opt_token),
            )),
        }
    }

    /// `xs_has_arg`: the next token is an argument (not an option, not `!`).
    fn has_arg(&self) -> bool {
        self.toks
            .get(self.pos)
            .is_some_and(|t| !t.starts_with('-') && !t.starts_with('!'))
    }

    pub(super) fn next_arg(&mut self) -> Option<&'a str> {
        if self.has_arg() {
            self.pos += 1;
            Some(&self.toks[self.pos - 1])
        } else {
            None
        }
    }

    /// A further argument of a multi-argument option (`--tcp-flags MASK COMP`).
    pub fn second(&mut self, p: &Prog, msg: &str) -> Res<String> {
        self.next_arg()
            .map(str::to_string)
            .ok_or_else(|| p.param(msg, Some(self.opt_token)))
    }
}

/// Command bits, in `cmd2char` order: I D D R A L F Z N X P E S Z C.
pub(crate) mod cmd {
    pub const INSERT: u16 = 1;
    pub const DELETE: u16 = 1 << 1;
    pub const DELETE_NUM: u16 = 1 << 2;
    pub const REPLACE: u16 = 1 << 3;
    pub const APPEND: u16 = 1 << 4;
    pub const LIST: u16 = 1 << 5;
    pub const FLUSH: u16 = 1 << 6;
    pub const ZERO: u16 = 1 << 7;
    pub const NEW_CHAIN: u16 = 1 << 8;
    pub const DELETE_CHAIN: u16 = 1 << 9;
    pub const SET_POLICY: u16 = 1 << 10;
    pub const RENAME: u16 = 1 << 11;
    pub const LIST_RULES: u16 = 1 << 12;
    pub const ZERO_NUM: u16 = 1 << 13;
    pub const CHECK: u16 = 1 << 14;
    pub const CHARS: &[u8; 15] = b"IDDRALFZNXPESZC";
}

/// What a rule says, before chain names are resolved.
#[derive(Debug, Default)]
pub(crate) struct RuleSpec {
    pub ip: IpSpec,
    /// `-s`/`-d` lists: the command makes one rule per pair.
    pub srcs: Vec<Net>,
    pub dsts: Vec<Net>,
    pub matches: Vec<Match>,
    pub target: TargetSpec,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum TargetSpec {
    #[default]
    None,
    Builtin(Target),
    Chain(String),
    Goto(String),
}

/// A parsed command line.
#[derive(Debug)]
pub(crate) struct Command {
    pub table: Table,
    pub command: u16,
    pub chain: Option<String>,
    pub rulenum: Option<usize>,
    pub newname: Option<String>,
    pub policy: Option<String>,
    pub rule: RuleSpec,
    pub numeric: bool,
    pub verbose: bool,
    pub exact: bool,
    pub line_numbers: bool,
    pub counters: Option<Counters>,
    /// `-V`/`-h`: print this and do nothing else.
    pub info: Option<String>,
}

pub(super) const LONG: &[(&str, char)] = &[
    ("append", 'A'),
    ("check", 'C'),
    ("delete", 'D'),
    ("insert", 'I'),
    ("replace", 'R'),
    ("list", 'L'),
    ("list-rules", 'S'),
    ("flush", 'F'),
    ("zero", 'Z'),
    ("new-chain", 'N'),
    ("delete-chain", 'X'),
    ("rename-chain", 'E'),
    ("policy", 'P'),
    ("source", 's'),
    ("destination", 'd'),
    ("src", 's'),
    ("dst", 'd'),
    ("protocol", 'p'),
    ("in-interface", 'i'),
    ("jump", 'j'),
    ("table", 't'),
    ("match", 'm'),
    ("numeric", 'n'),
    ("out-interface", 'o'),
    ("verbose", 'v'),
    ("wait", 'w'),
    ("wait-interval", 'W'),
    ("exact", 'x'),
    ("fragments", 'f'),
    ("version", 'V'),
    ("help", 'h'),
    ("line-numbers", '0'),
    ("modprobe", 'M'),
    ("set-counters", 'c'),
    ("goto", 'g'),
    ("ipv4", '4'),
    ("ipv6", '6'),
];
const REQUIRED: &str = "ACDINPMRgmcijopstdE";
const OPTIONAL: &str = "FLXZSWwh";
const NO_ARG: &str = "V46bfnvx0";

/// Whose option a long option name resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    Target,
    /// `State::matches[i]`.
    Match(usize),
}

/// A resolved long option: iptables' own (its short letter) or a module's (its name as the
/// module's table spells it; `None` when the option exists in iptables but not here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hit {
    Core(char),
    Ext(Owner, Option<&'static str>),
}

/// What has been read so far.
pub(super) struct State {
    pub c: Command,
    pub options: u16,
    pub protocol: Option<u8>,
    pub proto_used: bool,
    pub matches: Vec<MatchBuilder>,
    pub target: Option<TargetBuilder>,
    /// How many matches were loaded when the target was (options merge newest first).
    pub target_at: usize,
    pub jumpto: Option<String>,
}

/// Parses `argv` (without the program name). An iptables-restore line gives its table (the
/// `-t TABLE` iptables-restore puts first).
pub(crate) fn parse_command(p: &Prog, toks: &[String], restore: Option<Table>) -> Res<Command> {
    let mut s = State {
        c: Command {
            table: restore.unwrap_or(Table::Filter),
            command: 0,
            chain: None,
            rulenum: None,
            newname: None,
            policy: None,
            rule: RuleSpec::default(),
            numeric: false,
            verbose: false,
            exact: false,
            line_numbers: false,
            counters: None,
            info: None,
        },
        options: 0,
        protocol: None,
        proto_used: false,
        matches: Vec::new(),
        target: None,
        target_at: 0,
        jumpto: None,
    };
    let mut args = Args {
        toks,
        pos: 0,
        inline: None,
        opt_token: "",
    };
    let mut invert = false;
    while args.pos < toks.len() {
        let tok = toks[args.pos].as_str();
        args.pos += 1;
        args.opt_token = tok;
        if let Some(long) = tok.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            args.inline = inline;
            // getopt_long over iptables' options merged with the loaded modules'; what it
            // cannot resolve (unknown or ambiguous) loads the protocol's match and is read
            // again, as `command_default` does.
            let restoring = restore.is_some();
            let found = match s.resolve(name, None) {
                Some(hit) => Some(hit),
                None => s.proto_builder(p.v6).and_then(|b| {
                    let hit = s.resolve(name, Some(&b));
                    if hit.is_some() {
                        s.proto_used = true;
                        s.matches.push(b);
                    }
                    hit
                }),
            };
            match found {
                Some(Hit::Core(c)) => s.option(p, c, invert, &mut args, restoring)?,
                Some(Hit::Ext(owner, opt)) => s.extension(p, owner, opt, invert, &mut args)?,
                None => {
                    if let Some(m) = s.unmodelled_proto_match(name) {
                        return Err(p.not_modelled("match", m));
                    }
                    return Err(p.param(format!("unknown option \"{tok}\""), Some(tok)));
                }
            }
            if args.inline.take().is_some() {
                return Err(p.param(format!("unknown option \"{tok}\""), Some(tok)));
            }
        } else if tok.len() > 1 && tok.starts_with('-') {
            let mut rest = &tok[1..];
            while let Some(c) = rest.chars().next() {
                rest = &rest[c.len_utf8()..];
                if REQUIRED.contains(c) || OPTIONAL.contains(c) {
                    args.inline = (!rest.is_empty()).then_some(rest);
                    if REQUIRED.contains(c) && rest.is_empty() && args.pos >= toks.len() {
                        return Err(
                            p.param(format!("option \"{tok}\" requires an argument"), Some(tok))
                        );
                    }
                    s.option(p, c, invert, &mut args, restore.is_some())?;
                    args.inline = None;
                    break;
                } else if NO_ARG.contains(c) {
                    s.option(p, c, invert, &mut args, restore.is_some())?;
                    invert = false;
                } else {
                    return Err(p.param(format!("unknown option \"{tok}\""), Some(tok)));
                }
            }
        } else if tok == "!" {
            if invert {
                return Err(p.param("multiple consecutive ! not allowed", Some(tok)));
            }
            invert = true;
            continue;
        } else {
            return Err(p.bad_argument(tok));
        }
        invert = false;
    }
    s.finish(p, invert)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "abbrev_tests.rs"]
mod abbrev_tests;

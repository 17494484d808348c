//! `nft ARGS`: options, the command line or file, and the transaction around it (a failing
//! command leaves the ruleset as it was, as nft's batch does).

use super::apply::Run;
use super::lex::Fault;
use super::model::{NftHook, Ruleset, Table};
use super::parse::Cursor;
use super::print_stmt::{self, Style};
use super::{ChainRef, NftBase, NftFamily};
use crate::netfilter::Hook;

/// The nftables ruleset of one network namespace, and the `nft` command that changes it.
#[derive(Clone, Debug, Default)]
pub struct Nft {
    pub ruleset: Ruleset,
    generation: u64,
    /// What evaluation keeps beside the ruleset (set indexes, limit buckets) and its
    /// switches ([`Nft::run`]).
    pub eval: super::EvalState,
    /// Which nft's listing format commands print (default 1.0.6).
    pub version: super::NftVersion,
}

/// What the options ask of the listing and where the commands come from.
struct Options<'a> {
    style: Style,
    check: bool,
    file: Option<&'a str>,
    words: &'a [String],
}

fn options(args: &[String]) -> Result<Options<'_>, (i32, String)> {
    let mut o = Options {
        style: Style::default(),
        check: false,
        file: None,
        words: &[],
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if !a.starts_with('-') || a == "-" {
            break;
        }
        match a {
            "--handle" => o.style.handles = true,
            "--stateless" => o.style.stateless = true,
            "--numeric" => o.style.numeric = true,
            "--check" => o.check = true,
            "--file" => {
                i += 1;
                o.file = Some(args.get(i).map(String::as_str).unwrap_or(""));
            }
            "--json" => {
                return Err((
                    1,
                    "Error: JSON output is not supported by this nft\n".into(),
                ));
            }
            _ if a.starts_with("--") => {
                return Err((1, format!("nft: unrecognized option '{a}'\n")));
            }
            _ => {
                for (k, c) in a[1..].char_indices() {
                    match c {
                        'a' => o.style.handles = true,
                        's' => o.style.stateless = true,
                        'n' => o.style.numeric = true,
                        'c' => o.check = true,
                        'j' => {
                            return Err((
                                1,
                                "Error: JSON output is not supported by this nft\n".into(),
                            ));
                        }
                        'f' => {
                            let rest = &a[2 + k..];
                            if rest.is_empty() {
                                i += 1;
                                o.file = Some(args.get(i).map(String::as_str).unwrap_or(""));
                            } else {
                                o.file = Some(rest);
                            }
                            break;
                        }
                        _ => return Err((1, format!("nft: invalid option -- '{c}'\n"))),
                    }
                }
            }
        }
        i += 1;
    }
    o.words = &args[i..];
    Ok(o)
}

/// nft's hook for an nft hook on the IP path.
fn ip_hook(h: NftHook) -> Option<Hook> {
    Some(match h {
        NftHook::Prerouting => Hook::Prerouting,
        NftHook::Input => Hook::Input,
        NftHook::Forward => Hook::Forward,
        NftHook::Output => Hook::Output,
        NftHook::Postrouting => Hook::Postrouting,
        NftHook::Ingress | NftHook::Egress => return None,
    })
}

impl Nft {
    pub fn new() -> Nft {
        Nft::default()
    }

    /// `nft ARGS` (argv without the leading "nft"); `stdin` is what `nft -f -` (and
    /// `-f /dev/stdin`) reads; `xt` gives the text block (`table ip filter {\n...}\n`) of a
    /// table iptables-nft made. Ok(stdout) or Err((exit status, stderr)), both as nft 1.0.6
    /// prints them. Other files than stdin cannot be read (the lab has no file system).
    /// Commands that would change a table iptables-nft made fail with `Operation not
    /// supported` in this version, and `flush ruleset` leaves such tables in place.
    pub fn command(
        &mut self,
        args: &[String],
        stdin: &str,
        xt: &dyn Fn(NftFamily, &str) -> Option<String>,
    ) -> Result<String, (i32, String)> {
        let mut o = options(args)?;
        o.style.version = self.version;
        let (src, file): (String, Option<&str>) = match o.file {
            Some(f) => {
                if !o.words.is_empty() {
                    // nft reads the file and ignores nothing: extra words are an error.
                    return Err((
                        1,
                        "Error: syntax error, options must be specified before commands\n".into(),
                    ));
                }
                if f == "-" || f == "/dev/stdin" {
                    (stdin.to_string(), Some("/dev/stdin"))
                } else {
                    return Err((
                        1,
                        format!(
                            "internal:0:0-0: Error: Could not open file \"{f}\": No such file or directory\n\n\n"
                        ),
                    ));
                }
            }
            None => {
                if o.words.is_empty() {
                    return Err((1, "nft: no command specified\n".into()));
                }
                if let Some(i) = o.words.iter().position(|w| {
                    w.starts_with('-')
                        && w.len() > 1
                        && w[1..].bytes().all(|b| b.is_ascii_alphabetic())
                }) {
                    // `nft list ruleset -a`: options after the command.
                    let line = format!("nft {}", o.words.join(" "));
                    let at = 4 + o.words[..i].iter().map(|w| w.len() + 1).sum::<usize>();
                    let mut under = vec![b' '; at + o.words[i].len()];
                    under[3] = b'^';
                    for u in &mut under[at..] {
                        *u = b'~';
                    }
                    return Err((
                        1,
                        format!(
                            "Error: syntax error, options must be specified before commands\n{line}\n{}\n",
                            String::from_utf8_lossy(&under)
                        ),
                    ));
                }
                // nft joins its words with spaces and ends the buffer with a newline.
                (format!("{}\n", o.words.join(" ")), None)
            }
        };
        let fail = |f: Fault| (1, f.render(&src, file));
        let mut cur = Cursor::new(&src).map_err(fail)?;
        let cmds = cur.commands().map_err(fail)?;
        let mut work = self.ruleset.clone();
        let mut run = Run {
            cur: &mut cur,
            style: o.style,
            xt,
            out: String::new(),
            changed: false,
        };
        for cmd in cmds {
            if let Err(f) = run.apply(&mut work, cmd) {
                if f.msg.starts_with("Could not process rule:") {
                    self.keep_handles(&work);
                }
                return Err(fail(f));
            }
        }
        let (out, changed) = (run.out, run.changed);
        if changed && !o.check {
            work.relink();
            self.ruleset = work;
            self.generation += 1;
        }
        Ok(out)
    }

    /// After the kernel refused a batch: the handles it gave out stay used (the kernel does
    /// not take back its counters when it aborts a transaction).
    fn keep_handles(&mut self, work: &Ruleset) {
        self.ruleset.last_table_handle = work.last_table_handle;
        for t in &mut self.ruleset.tables {
            if let Some(w) = work
                .tables
                .iter()
                .find(|w| w.family == t.family && w.name == t.name)
            {
                t.last_handle = t.last_handle.max(w.last_handle);
            }
        }
    }

    /// Every base chain of families ip, ip6 and inet on the IP hooks, and of family bridge
    /// on the bridge's, with its priority number resolved (dormant tables register nothing).
    pub fn base_chains(&self) -> Vec<NftBase> {
        let mut out = Vec::new();
        for (ti, t) in self.ruleset.tables.iter().enumerate() {
            if !matches!(
                t.family,
                NftFamily::Ip | NftFamily::Ip6 | NftFamily::Inet | NftFamily::Bridge
            ) || t.dormant
                || t.xt
            {
                continue;
            }
            for (ci, c) in t.chains.iter().enumerate() {
                let Some(b) = &c.base else { continue };
                let Some(hook) = ip_hook(b.hook) else {
                    continue;
                };
                out.push(NftBase {
                    family: t.family,
                    hook,
                    priority: b.priority.value,
                    nat: b.kind == super::model::ChainType::Nat,
                    chain: ChainRef::new(ti, ci),
                });
            }
        }
        out
    }

    /// Adds the placeholder of a table iptables-nft made (`ip NAME`, or `ip6 NAME` for ip6tables-nft), which takes the next
    /// table handle; listings print it from `xt`.
    pub fn xt_table(&mut self, family: NftFamily, name: &str) {
        let rs = &mut self.ruleset;
        if let Some(t) = rs
            .tables
            .iter_mut()
            .find(|t| t.family == family && *t.name == *name)
        {
            // nft made it first: iptables-nft adds its chains to that table.
            if !t.xt && t.xt_shared.is_none() {
                t.xt_shared = Some(t.last_handle);
                self.generation += 1;
            }
            return;
        }
        rs.last_table_handle += 1;
        rs.tables.push(Table {
            family,
            name: name.into(),
            handle: rs.last_table_handle,
            dormant: false,
            comment: None,
            xt: true,
            chains: Vec::new(),
            sets: Vec::new(),
            last_handle: 0,
            xt_shared: None,
        });
        self.generation += 1;
    }

    /// Per table, in [`Ruleset::tables`] order: whether a rule reads the packet's address
    /// classes (`fib ... type`, `meta pkttype`), which the host is then asked for.
    pub fn tables_reading_addr_types(&self) -> Vec<bool> {
        use super::expr::{Key, MetaKey};
        self.ruleset
            .tables
            .iter()
            .map(|t| {
                t.chains.iter().flat_map(|c| &c.rules).any(|r| {
                    r.stmts.iter().any(|s| {
                        super::normalize::exprs(s).is_some_and(|e| {
                            e.keys()
                                .iter()
                                .any(|k| matches!(k, Key::Fib(..) | Key::Meta(MetaKey::Pkttype)))
                        })
                    })
                })
            })
            .collect()
    }

    /// Whether a table that sees IPv6 packets (`ip6`, `inet`) needs IPv6 connection
    /// tracking, as the kernel's `nf_ct_netns_get` for the family makes it: a chain of type
    /// nat, or a rule that reads or sets a connection's state (`ct ...`) or NATs.
    pub fn tracks_ipv6(&self) -> bool {
        use super::expr::Key;
        use super::model::{ChainType, Stmt};
        let uses_ct = |s: &Stmt| match s {
            Stmt::Nat(_) => true,
            Stmt::Mangle {
                key: Key::Ct(_), ..
            } => true,
            _ => super::normalize::exprs(s).is_some_and(|e| {
                e.keys()
                    .iter()
                    .any(|k| matches!(k, Key::Ct(_) | Key::CtTuple(..)))
            }),
        };
        self.ruleset
            .tables
            .iter()
            .filter(|t| matches!(t.family, NftFamily::Ip6 | NftFamily::Inet) && !t.dormant)
            .flat_map(|t| &t.chains)
            .any(|c| {
                c.base.as_ref().is_some_and(|b| b.kind == ChainType::Nat)
                    || c.rules.iter().flat_map(|r| &r.stmts).any(uses_ct)
            })
    }

    /// Bumps on every change to the ruleset.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The table a [`ChainRef`] is in.
    pub fn table(&self, chain: ChainRef) -> Option<&Table> {
        self.ruleset.tables.get(chain.table())
    }

    /// The chain a [`ChainRef`] names.
    pub fn chain(&self, chain: ChainRef) -> Option<&super::model::Chain> {
        self.table(chain)?.chains.get(chain.chain())
    }

    /// The chain a [`ChainRef`] names, to count on.
    pub fn chain_mut(&mut self, chain: ChainRef) -> Option<&mut super::model::Chain> {
        self.ruleset
            .tables
            .get_mut(chain.table())?
            .chains
            .get_mut(chain.chain())
    }

    /// The text of one rule as `nft list` prints it (for traces and explanations).
    pub fn rule_text(&self, chain: ChainRef, handle: u64) -> Option<String> {
        let t = self.table(chain)?;
        let r = t
            .chains
            .get(chain.chain())?
            .rules
            .iter()
            .find(|r| r.handle == handle)?;
        let mut out = String::new();
        let style = Style {
            version: self.version,
            ..Style::default()
        };
        print_stmt::rule(&mut out, t, r, style);
        Some(out)
    }

    /// `nft list ruleset` with these options (`-a` handles, `-s` stateless).
    pub fn list_ruleset(
        &self,
        style: Style,
        xt: &dyn Fn(NftFamily, &str) -> Option<String>,
    ) -> String {
        let mut out = String::new();
        super::print::ruleset(
            &mut out,
            &self.ruleset,
            None,
            style,
            super::print::Part::All,
            xt,
        );
        out
    }
}

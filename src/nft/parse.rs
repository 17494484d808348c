//! The parser's cursor over tokens, `define`/`$var` substitution, and syntax errors worded
//! as nft's bison parser words them (`syntax error, unexpected newline`). The grammar itself
//! is in `parse_cmd` (commands and blocks), `parse_stmt` (statements) and `parse_expr`
//! (keys, values and sets).

use super::NftFamily;
use super::lex::{Fault, Tok, Token, lex};

/// A name as written, with where it was written (errors underline it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: Box<str>,
    pub at: (usize, usize),
}

/// nft's keywords (the words it refuses as names): bison names them as themselves in
/// "unexpected ..." (any other word is a `string`, digits a `number`).
const KEYWORDS: &[&str] = &[
    "table",
    "chain",
    "rule",
    "map",
    "element",
    "ruleset",
    "add",
    "create",
    "insert",
    "replace",
    "delete",
    "list",
    "flush",
    "rename",
    "ip",
    "ip6",
    "inet",
    "arp",
    "bridge",
    "netdev",
    "accept",
    "drop",
    "continue",
    "return",
    "jump",
    "goto",
    "queue",
    "counter",
    "log",
    "limit",
    "snat",
    "dnat",
    "masquerade",
    "redirect",
    "reject",
    "notrack",
    "meta",
    "ct",
    "tcp",
    "udp",
    "th",
    "icmp",
    "icmpv6",
    "ether",
    "fib",
    "type",
    "hook",
    "priority",
    "policy",
    "comment",
    "handle",
    "position",
    "index",
    "vmap",
    "define",
    "flags",
    "elements",
    "typeof",
    "device",
    "mark",
    "iifname",
    "oifname",
    "iif",
    "oif",
    "dst",
    "rt",
    "fwd",
    "vlan",
    "dup",
    "quota",
    "meter",
    "numgen",
    "hash",
    "socket",
    "osf",
    "synproxy",
];

/// The tokens of one source, and a position in them.
pub struct Cursor<'a> {
    pub src: &'a str,
    pub toks: Vec<Token>,
    pub pos: usize,
    /// The spans of the elements [`Cursor::elems`] read, in order (for errors about one).
    pub elem_spans: Vec<(usize, usize)>,
    /// The span of the ports of the last `to ADDR:PORT` read.
    pub nat_ports_at: Option<(usize, usize)>,
}

impl<'a> Cursor<'a> {
    /// Lexes `src` and substitutes its `define`s.
    pub fn new(src: &'a str) -> Result<Cursor<'a>, Fault> {
        let toks = substitute(src, lex(src)?)?;
        Ok(Cursor {
            src,
            toks,
            pos: 0,
            elem_spans: Vec::new(),
            nat_ports_at: None,
        })
    }

    pub fn peek(&self) -> Token {
        self.toks[self.pos.min(self.toks.len() - 1)]
    }

    pub fn peek_at(&self, ahead: usize) -> Token {
        self.toks[(self.pos + ahead).min(self.toks.len() - 1)]
    }

    pub fn bump(&mut self) -> Token {
        let t = self.peek();
        if t.kind != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    /// A token's text (a quoted string's without its quotes).
    pub fn text(&self, t: Token) -> &'a str {
        match t.kind {
            Tok::Quoted => &self.src[t.start + 1..t.end - 1],
            _ => &self.src[t.start..t.end],
        }
    }

    /// The next token's text if it is a word.
    pub fn word(&self) -> Option<&'a str> {
        let t = self.peek();
        (t.kind == Tok::Word).then(|| self.text(t))
    }

    pub fn is(&self, w: &str) -> bool {
        self.word() == Some(w)
    }

    pub fn is_punct(&self, p: u8) -> bool {
        self.peek().kind == Tok::Punct(p)
    }

    /// Takes the word `w` if it is next.
    pub fn eat(&mut self, w: &str) -> bool {
        let yes = self.is(w);
        if yes {
            self.pos += 1;
        }
        yes
    }

    pub fn eat_punct(&mut self, p: u8) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// Takes the word `w`, or fails saying what was expected.
    pub fn expect(&mut self, w: &str) -> Result<Token, Fault> {
        if self.is(w) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(Some(w)))
        }
    }

    pub fn expect_punct(&mut self, p: u8, what: &str) -> Result<Token, Fault> {
        if self.is_punct(p) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(Some(what)))
        }
    }

    /// Whether the next token ends a command or statement list.
    pub fn at_end(&self) -> bool {
        matches!(
            self.peek().kind,
            Tok::Newline | Tok::Eof | Tok::Punct(b';') | Tok::Punct(b'}')
        )
    }

    /// Skips newlines and semicolons.
    pub fn skip_separators(&mut self) {
        while matches!(self.peek().kind, Tok::Newline | Tok::Punct(b';')) {
            self.pos += 1;
        }
    }

    /// Skips newlines only (inside `{ ... }` of sets).
    pub fn skip_newlines(&mut self) {
        while self.peek().kind == Tok::Newline {
            self.pos += 1;
        }
    }

    /// A name: a word or a quoted string.
    pub fn name(&mut self) -> Result<Name, Fault> {
        let t = self.peek();
        match t.kind {
            // A keyword is no name: nft's scanner gives it its own token.
            Tok::Word if KEYWORDS.contains(&self.text(t)) => Err(self.unexpected(Some("string"))),
            Tok::Word | Tok::Quoted => {
                self.pos += 1;
                Ok(Name {
                    text: self.text(t).into(),
                    at: (t.start, t.end),
                })
            }
            _ => Err(self.unexpected(Some("string"))),
        }
    }

    /// A family word, if one is next (`ip` when none is written).
    pub fn family(&mut self) -> NftFamily {
        let f = match self.word() {
            Some("ip") => NftFamily::Ip,
            Some("ip6") => NftFamily::Ip6,
            Some("inet") => NftFamily::Inet,
            Some("arp") => NftFamily::Arp,
            Some("bridge") => NftFamily::Bridge,
            Some("netdev") => NftFamily::Netdev,
            _ => return NftFamily::Ip,
        };
        // `add table ip` names no table: `ip` is then the table's name only if nothing
        // follows it, which nft refuses the same way (expecting string).
        self.pos += 1;
        f
    }

    /// `syntax error, unexpected X[, expecting Y]` at the next token.
    pub fn unexpected(&self, expecting: Option<&str>) -> Fault {
        let t = self.peek();
        let what = describe(self.src, t);
        let msg = match expecting {
            Some(e) => format!("syntax error, unexpected {what}, expecting {e}"),
            None => format!("syntax error, unexpected {what}"),
        };
        let at = match t.kind {
            Tok::Eof => (usize::MAX, usize::MAX),
            Tok::Newline => (t.start, t.start + 1),
            _ => (t.start, t.end),
        };
        Fault::new(msg, at)
    }

    /// The span from `start` to the end of the last token taken.
    pub fn span_from(&self, start: usize) -> (usize, usize) {
        let end = self.toks[..self.pos]
            .iter()
            .rev()
            .find(|t| t.kind != Tok::Newline)
            .map_or(start, |t| t.end);
        (start, end.max(start))
    }
}

/// How bison names a token in "unexpected ...".
fn describe(src: &str, t: Token) -> String {
    match t.kind {
        Tok::Eof => "end of file".into(),
        Tok::Newline => "newline".into(),
        Tok::Quoted => "quoted string".into(),
        Tok::Punct(b';') => "semicolon".into(),
        Tok::Punct(b',') => "comma".into(),
        Tok::Punct(b'E') => "'=='".into(),
        Tok::Punct(b'N') => "'!='".into(),
        Tok::Punct(b'L') => "'<='".into(),
        Tok::Punct(b'G') => "'>='".into(),
        Tok::Punct(c) => format!("'{}'", c as char),
        Tok::Word => {
            let w = &src[t.start..t.end];
            if KEYWORDS.contains(&w) {
                w.into()
            } else if w.bytes().all(|b| b.is_ascii_digit()) {
                "number".into()
            } else if w == "." {
                "dot".into()
            } else if w == ":" {
                "colon".into()
            } else if w == "-" {
                "'-'".into()
            } else {
                "string".into()
            }
        }
    }
}

/// Removes `define NAME = VALUE` lines and puts each `$NAME` the value's tokens.
fn substitute(src: &str, toks: Vec<Token>) -> Result<Vec<Token>, Fault> {
    let mut defines: Vec<(&str, Vec<Token>)> = Vec::new();
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    let mut i = 0;
    let text = |t: &Token| &src[t.start..t.end];
    let line_start = |out: &[Token]| {
        out.last()
            .is_none_or(|t| matches!(t.kind, Tok::Newline | Tok::Punct(b';') | Tok::Punct(b'{')))
    };
    while i < toks.len() {
        let t = toks[i];
        if t.kind == Tok::Word && text(&t) == "define" && line_start(&out) {
            let name = toks.get(i + 1).filter(|n| n.kind == Tok::Word);
            let eq = toks.get(i + 2).filter(|e| e.kind == Tok::Punct(b'='));
            let (Some(name), Some(_)) = (name, eq) else {
                let at = toks
                    .get(i + 1)
                    .map_or((t.start, t.end), |n| (n.start, n.end));
                return Err(Fault::new("syntax error, unexpected newline", at));
            };
            let mut j = i + 3;
            let mut depth = 0i32;
            let mut value = Vec::new();
            while j < toks.len() {
                let v = toks[j];
                match v.kind {
                    Tok::Punct(b'{') => depth += 1,
                    Tok::Punct(b'}') => depth -= 1,
                    Tok::Newline | Tok::Punct(b';') | Tok::Eof if depth <= 0 => break,
                    Tok::Newline => {
                        j += 1;
                        continue;
                    }
                    _ => {}
                }
                value.push(v);
                j += 1;
            }
            // A value may use earlier defines.
            let value = expand(src, &defines, value)?;
            let name = text(name);
            defines.retain(|(n, _)| *n != name);
            defines.push((name, value));
            i = j;
            continue;
        }
        out.push(t);
        i += 1;
    }
    expand(src, &defines, out)
}

fn expand(
    src: &str,
    defines: &[(&str, Vec<Token>)],
    toks: Vec<Token>,
) -> Result<Vec<Token>, Fault> {
    if !toks.iter().any(|t| t.kind == Tok::Punct(b'$')) {
        return Ok(toks);
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        if t.kind == Tok::Punct(b'$')
            && let Some(n) = toks
                .get(i + 1)
                .filter(|n| n.kind == Tok::Word && n.start == t.end)
        {
            let name = &src[n.start..n.end];
            match defines.iter().rev().find(|(d, _)| *d == name) {
                Some((_, v)) => out.extend_from_slice(v),
                None => {
                    return Err(Fault::new(
                        format!("unknown identifier '{name}'"),
                        (t.start, n.end),
                    ));
                }
            }
            i += 2;
            continue;
        }
        out.push(t);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines_are_substituted_where_used() {
        let src = "define p = { 22, 80 }\nadd rule t c tcp dport $p accept";
        let c = Cursor::new(src).unwrap();
        let words: Vec<&str> = c.toks.iter().map(|t| c.text(*t)).collect();
        assert!(words.join(" ").contains("dport { 22 , 80 } accept"));
        let e = Cursor::new("add rule t c tcp dport $q").err().unwrap();
        assert_eq!(e.msg, "unknown identifier 'q'");
    }

    #[test]
    fn syntax_errors_name_the_token_as_bison_does() {
        let c = Cursor::new("add table ip").unwrap();
        let mut c2 = Cursor { pos: 3, ..c };
        assert_eq!(
            c2.name().unwrap_err().msg,
            "syntax error, unexpected end of file, expecting string"
        );
    }
}

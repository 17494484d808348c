//! nft's scanner, reduced to what the parser needs: words (names, numbers, addresses, ranges
//! and prefixes stay one word, `10.0.0.0/8`, `1-1024`, `1.2.3.4:80`), quoted strings,
//! punctuation, and the newlines and semicolons that end commands. Every token keeps its byte
//! span, so errors underline what nft underlines.

/// A byte range of the source, `(start, end)`.
pub type Span = (usize, usize);

/// A token's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Word,
    /// `"..."`: the span covers the quotes.
    Quoted,
    /// `{ } ( ) , ; = @ $ & | ! < > + [ ]`, and the two-byte `== != <= >=` as `b'E'`,
    /// `b'N'`, `b'L'`, `b'G'`.
    Punct(u8),
    Newline,
    Eof,
}

/// A token and where it is in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

/// An error as nft reports it: a message, and the spans it underlines (`^` for the primary
/// one, `~` for the others).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub msg: String,
    pub at: (usize, usize),
    pub also: Option<(usize, usize)>,
    /// A further error nft reports after this one.
    pub then: Option<Box<Fault>>,
}

impl Fault {
    pub fn new(msg: impl Into<String>, at: (usize, usize)) -> Fault {
        Fault {
            msg: msg.into(),
            at,
            also: None,
            then: None,
        }
    }

    /// `Error: MSG`, the line, and the underline; `file` prefixes `FILE:LINE:COLS: ` as nft
    /// does for a file's errors.
    pub fn render(&self, src: &str, file: Option<&str>) -> String {
        let mut out = self.render_one(src, file);
        if let Some(next) = &self.then {
            out.push_str(&next.render(src, file));
        }
        out
    }

    fn render_one(&self, src: &str, file: Option<&str>) -> String {
        if self.at.0 == usize::MAX {
            return self.render_eof(src, file);
        }
        let (start, end) = self.at;
        let start = start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[line_start..]
            .find('\n')
            .map_or(src.len(), |i| line_start + i);
        let line = &src[line_start..line_end];
        let mut out = String::new();
        if let Some(f) = file {
            let lineno = src[..start].matches('\n').count() + 1;
            let c1 = start - line_start + 1;
            let c2 = end.max(start + 1).min(line_end.max(start + 1)) - line_start;
            out.push_str(&format!("{f}:{lineno}:{c1}-{c2}: "));
        }
        out.push_str("Error: ");
        out.push_str(&self.msg);
        out.push('\n');
        out.push_str(line);
        out.push('\n');
        let mut marks: Vec<u8> = Vec::new();
        let mut mark = |(s, e): (usize, usize), c: u8| {
            let s = s.saturating_sub(line_start);
            let e = e.saturating_sub(line_start).max(s + 1);
            if marks.len() < e {
                marks.resize(e, b' ');
            }
            for m in &mut marks[s..e] {
                *m = c;
            }
        };
        if let Some(also) = self.also {
            mark(also, b'~');
        }
        mark((start, end), b'^');
        // nft copies the line's tabs into the underline, so carets stay under their text.
        for (i, m) in marks.iter_mut().enumerate() {
            if *m == b' ' && line.as_bytes().get(i) == Some(&b'\t') {
                *m = b'\t';
            }
        }
        out.push_str(&String::from_utf8_lossy(&marks));
        out.push('\n');
        out
    }
}

impl Fault {
    /// nft places "unexpected end of file" at column 1 of the line after the last, and shows
    /// the last line.
    fn render_eof(&self, src: &str, file: Option<&str>) -> String {
        let body = src.strip_suffix('\n').unwrap_or(src);
        let line = body.rsplit('\n').next().unwrap_or("");
        let mut out = String::new();
        if let Some(f) = file {
            let lineno = src.matches('\n').count() + 1;
            out.push_str(&format!("{f}:{lineno}:1-1: "));
        }
        out.push_str(&format!("Error: {}\n{line}\n^\n", self.msg));
        out
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b':' | b'-' | b'*' | b'%')
}

/// The tokens of `src`, ending with [`Tok::Eof`].
pub fn lex(src: &str) -> Result<Vec<Token>, Fault> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\n' => {
                i += 1;
                Tok::Newline
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += 1;
                }
                if i >= b.len() || b[i] != b'"' {
                    return Err(Fault::new(
                        "syntax error, unexpected junk",
                        (start, start + 1),
                    ));
                }
                i += 1;
                Tok::Quoted
            }
            b'=' | b'!' | b'<' | b'>' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Punct(match c {
                    b'=' => b'E',
                    b'!' => b'N',
                    b'<' => b'L',
                    _ => b'G',
                })
            }
            b'{' | b'}' | b'(' | b')' | b',' | b';' | b'=' | b'@' | b'$' | b'&' | b'|' | b'!'
            | b'<' | b'>' | b'+' | b'[' | b']' | b'^' => {
                i += 1;
                Tok::Punct(c)
            }
            _ if word_byte(c) => {
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                return Err(Fault::new(
                    "syntax error, unexpected junk",
                    (start, start + len),
                ));
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out.push(Token {
        kind: Tok::Eof,
        start: b.len(),
        end: b.len(),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        lex(src)
            .unwrap()
            .iter()
            .map(|t| match t.kind {
                Tok::Word | Tok::Quoted => src[t.start..t.end].to_string(),
                Tok::Punct(p) => (p as char).to_string(),
                Tok::Newline => "NL".into(),
                Tok::Eof => "EOF".into(),
            })
            .collect()
    }

    #[test]
    fn words_keep_addresses_ranges_and_prefixes_whole() {
        assert_eq!(
            kinds("ip saddr 10.0.0.0/8 tcp dport 1-1024 # x\n}"),
            [
                "ip",
                "saddr",
                "10.0.0.0/8",
                "tcp",
                "dport",
                "1-1024",
                "NL",
                "}",
                "EOF"
            ]
        );
        assert_eq!(
            kinds("ct state != established,related"),
            ["ct", "state", "N", "established", ",", "related", "EOF"]
        );
        assert_eq!(kinds("comment \"a b\""), ["comment", "\"a b\"", "EOF"]);
    }

    #[test]
    fn the_underline_sits_under_the_token() {
        let src = "add rule ip nope c accept";
        let f = Fault::new(
            "Could not process rule: No such file or directory",
            (12, 16),
        );
        assert_eq!(
            f.render(src, None),
            "Error: Could not process rule: No such file or directory\n\
             add rule ip nope c accept\n            ^^^^\n"
        );
        assert!(lex("a \"b").is_err());
    }
}

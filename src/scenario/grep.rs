//! `| grep PATTERN` after a step's command or listing, as GNU grep 3.8 filters lines: basic
//! regular expressions by default (`-E` extended, `-F` fixed strings), `-v`, `-i`, `-w`,
//! `-x`, `-c`, `-q`, `-e PATTERN`. The pipeline's status is grep's: 0 when a line was
//! selected, 1 when none was. hoplab keeps one output stream per command, so grep reads
//! all of it, what a shell would send to standard error included.

use regex::Regex;

/// One `grep` stage of a pipeline, its pattern already in the `regex` crate's syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grep {
    regex: String,
    invert: bool,
    count: bool,
    quiet: bool,
}

const USAGE: &str =
    "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.";

/// Parses `grep`'s words (`grep` included) as a pipeline stage reading standard input.
pub fn parse(words: &[String]) -> Result<Grep, String> {
    let mut it = words.iter().skip(1);
    let (mut mode, mut icase, mut word, mut line) = ('G', false, false, false);
    let mut g = Grep {
        regex: String::new(),
        invert: false,
        count: false,
        quiet: false,
    };
    let mut pattern: Option<String> = None;
    let mut rest = Vec::new();
    while let Some(w) = it.next() {
        // GNU getopt permutes: an option may follow the pattern.
        let Some(letters) = w.strip_prefix('-').filter(|l| !l.is_empty()) else {
            rest.push(w.clone());
            continue;
        };
        if let Some(long) = letters.strip_prefix('-') {
            match long {
                "" => {
                    rest.extend(it.by_ref().cloned());
                    break;
                }
                "invert-match" => g.invert = true,
                "ignore-case" => icase = true,
                "count" => g.count = true,
                "quiet" | "silent" => g.quiet = true,
                "word-regexp" => word = true,
                "line-regexp" => line = true,
                "extended-regexp" => mode = 'E',
                "fixed-strings" => mode = 'F',
                "basic-regexp" => mode = 'G',
                _ => return Err(format!("grep: unrecognized option '{w}'\n{USAGE}")),
            }
            continue;
        }
        let mut chars = letters.chars();
        while let Some(c) = chars.next() {
            match c {
                'v' => g.invert = true,
                'i' | 'y' => icase = true,
                'c' => g.count = true,
                'q' => g.quiet = true,
                // No messages about unreadable files: it reads none.
                's' => {}
                'w' => word = true,
                'x' => line = true,
                'E' | 'F' | 'G' => mode = c,
                'e' => {
                    let p: String = chars.by_ref().collect();
                    let p = match p.is_empty() {
                        false => p,
                        true => it.next().cloned().ok_or_else(|| {
                            format!("grep: option requires an argument -- 'e'\n{USAGE}")
                        })?,
                    };
                    pattern = Some(p);
                }
                'o' | 'n' | 'H' | 'h' | 'l' | 'L' | 'A' | 'B' | 'C' | 'm' | 'P' | 'z' | 'r'
                | 'R' | 'a' | 'b' | 'f' | 'T' | 'Z' | 'U' | 'u' => {
                    return Err(format!("hoplab: grep option -{c} is not modelled"));
                }
                other => return Err(format!("grep: invalid option -- '{other}'\n{USAGE}")),
            }
        }
    }
    let mut rest = rest.into_iter();
    let pattern = match pattern {
        Some(p) => p,
        None => rest.next().ok_or_else(|| USAGE.to_string())?,
    };
    if rest.next().is_some() {
        return Err("hoplab: a grep after `|` reads the command's output, not files".into());
    }
    let body = match mode {
        'F' => regex::escape(&pattern),
        'E' => ere(&pattern)?,
        _ => bre(&pattern)?,
    };
    let body = match (word, line) {
        (_, true) => format!("^(?:{body})$"),
        (true, false) => format!(r"\b(?:{body})\b"),
        _ => body,
    };
    g.regex = match icase {
        true => format!("(?i){body}"),
        false => body,
    };
    Regex::new(&g.regex).map_err(|_| format!("grep: invalid regular expression: {pattern}"))?;
    Ok(g)
}

impl Grep {
    /// Filters `input` line by line: grep's output and status.
    pub fn apply(&self, input: &str) -> (i32, String) {
        let Ok(re) = Regex::new(&self.regex) else {
            return (2, String::new());
        };
        let mut out = String::new();
        let mut n = 0;
        for l in input.lines() {
            if re.is_match(l) != self.invert {
                n += 1;
                if !self.count && !self.quiet {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        if self.count && !self.quiet {
            out = format!("{n}\n");
        }
        (i32::from(n == 0), out)
    }
}

/// Runs a pipeline's grep stages over a command's output: the output and status left.
pub fn run_all(stages: &[Grep], output: &str, status: i32) -> (i32, String) {
    let mut acc = (status, output.to_string());
    for g in stages {
        acc = g.apply(&acc.1);
    }
    acc
}

/// A basic regular expression (GNU's: `\(` `\)` `\{` `\}` `\|` `\+` `\?` are operators,
/// their bare characters literals; `*` first is a literal) in the `regex` crate's syntax.
fn bre(p: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = p.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        let was_start = at_start;
        at_start = false;
        match c {
            '\\' => match chars.next() {
                Some(o @ ('(' | ')' | '{' | '}' | '|' | '+' | '?')) => {
                    out.push(o);
                    at_start = matches!(o, '(' | '|');
                }
                Some(d) if d.is_ascii_digit() => return Err(backrefs()),
                Some('<' | '>') => out.push_str(r"\b"),
                Some(w @ ('w' | 'W' | 's' | 'S' | 'b' | 'B')) => {
                    out.push('\\');
                    out.push(w);
                }
                Some(l) => out.push_str(&regex::escape(&l.to_string())),
                None => return Err("grep: Trailing backslash".into()),
            },
            '*' if was_start => out.push_str(r"\*"),
            '^' if was_start => {
                out.push('^');
                at_start = true;
            }
            '+' | '?' | '(' | ')' | '{' | '}' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '[' => bracket(&mut chars, &mut out)?,
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// An extended regular expression in the `regex` crate's syntax: the same but for bracket
/// expressions, GNU's word anchors and back-references.
fn ere(p: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => return Err(backrefs()),
                Some('<' | '>') => out.push_str(r"\b"),
                Some(w @ ('w' | 'W' | 's' | 'S' | 'b' | 'B')) => {
                    out.push('\\');
                    out.push(w);
                }
                Some(l) => out.push_str(&regex::escape(&l.to_string())),
                None => return Err("grep: Trailing backslash".into()),
            },
            '[' => bracket(&mut chars, &mut out)?,
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn backrefs() -> String {
    "hoplab: grep back-references are not modelled".into()
}

/// A POSIX bracket expression (after its `[`): `]` first is a member, a backslash is a
/// member, `[:class:]` is kept; written for the `regex` crate, whose classes treat `\`, `[`,
/// `&&`, `--` and `~~` as syntax.
fn bracket(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    out: &mut String,
) -> Result<(), String> {
    out.push('[');
    if chars.next_if_eq(&'^').is_some() {
        out.push('^');
    }
    let mut first = true;
    loop {
        let Some(c) = chars.next() else {
            return Err("grep: Unmatched [, [^, [:, [., or [=".into());
        };
        match c {
            ']' if !first => break,
            '[' if chars.peek() == Some(&':') => {
                out.push_str("[:");
                chars.next();
                loop {
                    match chars.next() {
                        Some(':') if chars.next_if_eq(&']').is_some() => break,
                        Some(x) => out.push(x),
                        None => return Err("grep: Unmatched [, [^, [:, [., or [=".into()),
                    }
                }
                out.push_str(":]");
            }
            '\\' | '[' | ']' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => out.push_str(r"\-"),
            _ => out.push(c),
        }
        first = false;
    }
    out.push(']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grep(args: &str) -> Grep {
        let mut w = vec!["grep".to_string()];
        w.extend(args.split_whitespace().map(String::from));
        parse(&w).unwrap()
    }

    const SS: &str = "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
                      LISTEN 0      5            0.0.0.0:8080      0.0.0.0:*          \n\
                      LISTEN 0      5            0.0.0.0:80        0.0.0.0:*          \n";

    #[test]
    fn selects_lines_and_says_whether_any_matched() {
        assert_eq!(
            grep(":8080").apply(SS),
            (
                0,
                "LISTEN 0      5            0.0.0.0:8080      0.0.0.0:*          \n".into()
            )
        );
        assert_eq!(grep(":9090").apply(SS), (1, String::new()));
        assert_eq!(grep("-v LISTEN").apply(SS).1.lines().count(), 1);
        assert_eq!(grep("-c listen -i").apply(SS), (0, "2\n".into()));
        assert_eq!(grep("-q 8080").apply(SS), (0, String::new()));
        assert_eq!(grep("-w 80").apply(SS).1.lines().count(), 1);
    }

    #[test]
    fn basic_and_extended_expressions() {
        // In a basic expression `+`, `?`, `|`, `(` are themselves; `\|` alternates.
        assert_eq!(grep("a+b").apply("a+b\naab\n").1, "a+b\n");
        assert_eq!(grep("-E a+b").apply("a+b\naab\n").1, "aab\n");
        assert_eq!(grep(r"80\|443").apply(":80\n:22\n:443\n").1, ":80\n:443\n");
        assert_eq!(grep("^tcp").apply("tcp x\nudp tcp\n").1, "tcp x\n");
        assert_eq!(grep("*x").apply("*x\nx\n").1, "*x\n");
        assert_eq!(grep("[]a]").apply("]\nb\n").1, "]\n");
        assert_eq!(grep("[[:digit:]]$").apply("a1\nb\n").1, "a1\n");
        assert_eq!(grep("-F a.c").apply("abc\na.c\n").1, "a.c\n");
        assert_eq!(grep("-x abc").apply("abc\nabcd\n").1, "abc\n");
        assert_eq!(grep("-e -v").apply("-v\nx\n").1, "-v\n");
    }

    #[test]
    fn refusals() {
        let err = |a: &str| {
            let mut w = vec!["grep".to_string()];
            w.extend(a.split_whitespace().map(String::from));
            parse(&w).unwrap_err()
        };
        assert!(err("-Q x").starts_with("grep: invalid option -- 'Q'"));
        assert_eq!(err("-n x"), "hoplab: grep option -n is not modelled");
        assert!(err("x file").contains("not files"));
        assert!(err(r"\(a\)\1").contains("back-references"));
        assert!(err("").starts_with("Usage: grep"));
    }

    #[test]
    fn stages_chain_and_the_last_status_stands() {
        let stages = [grep("LISTEN"), grep("-v 8080")];
        assert_eq!(
            run_all(&stages, SS, 7).1,
            "LISTEN 0      5            0.0.0.0:80        0.0.0.0:*          \n"
        );
        assert_eq!(run_all(&[], SS, 7), (7, SS.to_string()));
        assert_eq!(run_all(&[grep("nothing")], SS, 0).0, 1);
    }
}

//! A step's `run:` as a shell reads an AND-OR list: commands joined by `||` and `&&`,
//! evaluated left to right with equal precedence (POSIX), each run only when the status so
//! far calls for it. `iptables -C CHAIN RULE || iptables -I CHAIN RULE` is the idiom it is
//! for: the first command's failure is an outcome, not an error.
//!
//! Each command may be piped into `grep` (`ss -tlnp | grep :8080`): the pipeline is the
//! command and its grep stages (`scenario/grep.rs`), and its status is the last grep's.

use super::grep::{self, Grep};
use crate::listing::iproute::split_words;

/// What joins a command to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joiner {
    /// `&&`: runs when the status so far is 0.
    And,
    /// `||`: runs when the status so far is not 0.
    Or,
}

impl Joiner {
    /// Whether the command after this joiner runs, given the status so far.
    pub fn runs_after(self, status: i32) -> bool {
        match self {
            Joiner::And => status == 0,
            Joiner::Or => status != 0,
        }
    }
}

/// A list of commands: the first, then each with what joins it to the one before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdList {
    pub first: Vec<String>,
    pub rest: Vec<(Joiner, Vec<String>)>,
    /// Each command's `| grep` stages, in list order (the first command's first).
    pub pipes: Vec<Vec<Grep>>,
}

impl CmdList {
    /// Every command's words, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Vec<String>> {
        std::iter::once(&self.first).chain(self.rest.iter().map(|(_, c)| c))
    }
}

/// Splits `text` at the `||` and `&&` outside quotes, then each part into words as the shell
/// would. An empty command next to an operator is bash's syntax error.
pub fn parse(text: &str) -> Result<CmdList, String> {
    let mut parts: Vec<(Option<Joiner>, &str)> = Vec::new();
    let (mut start, mut joiner) = (0, None);
    let mut quote: Option<char> = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match (quote, c) {
            (Some(q), c) if c as char == q => quote = None,
            (Some('"'), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(c as char),
            (None, b'\\') => i += 1,
            (None, b'|' | b'&') if bytes.get(i + 1) == Some(&c) => {
                parts.push((joiner, &text[start..i]));
                joiner = Some(if c == b'|' { Joiner::Or } else { Joiner::And });
                i += 2;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push((joiner, &text[start.min(text.len())..]));
    let mut words = Vec::new();
    let mut pipes = Vec::new();
    for (k, (j, part)) in parts.iter().enumerate() {
        let (w, stages) = pipeline(part)?;
        pipes.push(stages);
        if w.is_empty() {
            // bash names the operator after the empty command, or the one before it at
            // the end of the line.
            let op = parts
                .get(k + 1)
                .and_then(|p| p.0)
                .or(*j)
                .map_or("newline", |j| match j {
                    Joiner::And => "&&",
                    Joiner::Or => "||",
                });
            return Err(match (k + 1 == parts.len(), parts.len()) {
                (_, 1) => "empty command".into(),
                (true, _) => format!("syntax error: a command must follow `{op}'"),
                (false, _) => format!("syntax error near unexpected token `{op}'"),
            });
        }
        words.push((*j, w));
    }
    let mut it = words.into_iter();
    let first = it.next().map(|(_, w)| w).unwrap_or_default();
    let rest = it.map(|(j, w)| (j.unwrap_or(Joiner::And), w)).collect();
    Ok(CmdList { first, rest, pipes })
}

/// Splits one command of a list at the `|` outside quotes: its words, then its grep stages.
/// Only `grep` may follow a pipe; an empty stage is bash's syntax error.
pub fn pipeline(text: &str) -> Result<(Vec<String>, Vec<Grep>), String> {
    let mut cuts = Vec::new();
    let mut quote: Option<u8> = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(b'"'), b'\\') | (None, b'\\') => i += 1,
            (Some(_), _) => {}
            (None, c @ (b'\'' | b'"')) => quote = Some(c),
            (None, b'|') => cuts.push(i),
            _ => {}
        }
        i += 1;
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    for c in cuts {
        pieces.push(&text[start..c]);
        start = c + 1;
    }
    pieces.push(&text[start..]);
    let mut pieces = pieces.into_iter();
    let words = split_words(pieces.next().unwrap_or_default())?;
    let mut stages = Vec::new();
    for piece in pieces {
        let w = split_words(piece)?;
        match w.first().map(String::as_str) {
            None => return Err("syntax error near unexpected token `|'".into()),
            _ if words.is_empty() => return Err("syntax error near unexpected token `|'".into()),
            Some("grep") => stages.push(grep::parse(&w)?),
            Some(other) => {
                return Err(format!(
                    "hoplab: `| {other}` is not modelled: a command's output may be piped to grep only"
                ));
            }
        }
    }
    Ok((words, stages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn one_command_is_a_list_of_one() {
        let l = parse("ping -c 1 10.0.0.1").unwrap();
        assert_eq!(l.first, words("ping -c 1 10.0.0.1"));
        assert!(l.rest.is_empty());
    }

    #[test]
    fn operators_split_outside_quotes_only() {
        let l = parse("iptables -C X -j DROP || iptables -I X -j DROP&&echo 'a || b'").unwrap();
        assert_eq!(l.first, words("iptables -C X -j DROP"));
        assert_eq!(
            l.rest,
            vec![
                (Joiner::Or, words("iptables -I X -j DROP")),
                (Joiner::And, vec!["echo".into(), "a || b".into()]),
            ]
        );
        let l = parse(r#"nc -l "&&" \|\| x"#).unwrap();
        assert_eq!(l.first, words("nc -l && || x"));
        assert!(l.rest.is_empty());
        assert_eq!(l.commands().count(), 1);
    }

    #[test]
    fn status_decides_what_runs() {
        assert!(Joiner::Or.runs_after(1));
        assert!(!Joiner::Or.runs_after(0));
        assert!(Joiner::And.runs_after(0));
        assert!(!Joiner::And.runs_after(2));
    }

    #[test]
    fn an_empty_command_is_a_syntax_error() {
        assert_eq!(
            parse("|| true").unwrap_err(),
            "syntax error near unexpected token `||'"
        );
        assert_eq!(
            parse("a && && b").unwrap_err(),
            "syntax error near unexpected token `&&'"
        );
        assert_eq!(
            parse("a ||").unwrap_err(),
            "syntax error: a command must follow `||'"
        );
        assert_eq!(parse("  ").unwrap_err(), "empty command");
        assert!(parse("echo 'open").is_err());
    }

    #[test]
    fn a_pipe_to_grep_filters_its_command() {
        let l = parse("ss -tlnp | grep :8080 || echo 'a|b'").unwrap();
        assert_eq!(l.first, words("ss -tlnp"));
        assert_eq!(
            l.rest,
            vec![(Joiner::Or, vec!["echo".into(), "a|b".into()])]
        );
        assert_eq!(l.pipes.len(), 2);
        assert_eq!(l.pipes[0].len(), 1);
        assert!(l.pipes[1].is_empty());
        let (w, stages) = pipeline("sysctl -a|grep forward|grep -v all").unwrap();
        assert_eq!((w, stages.len()), (words("sysctl -a"), 2));
        assert!(
            parse("ss | sort")
                .unwrap_err()
                .contains("piped to grep only")
        );
        let syntax = "syntax error near unexpected token `|'";
        assert_eq!(parse("ss | | grep x").unwrap_err(), syntax);
        assert_eq!(parse("| grep x").unwrap_err(), syntax);
        assert!(parse("ss | grep").unwrap_err().starts_with("Usage: grep"));
    }
}

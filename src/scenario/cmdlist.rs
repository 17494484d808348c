//! A step's `run:` as a shell reads an AND-OR list: commands joined by `||` and `&&`,
//! evaluated left to right with equal precedence (POSIX), each run only when the status so
//! far calls for it. `iptables -C CHAIN RULE || iptables -I CHAIN RULE` is the idiom it is
//! for: the first command's failure is an outcome, not an error.

use crate::report::iproute::split_words;

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
    for (k, (j, part)) in parts.iter().enumerate() {
        let w = split_words(part)?;
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
    Ok(CmdList { first, rest })
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
}

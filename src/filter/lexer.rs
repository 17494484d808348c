//! Tokenizer for display-filter text. Columns are 1-based char columns.

use super::FilterError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A bare word: field name, number, address.
    Word(&'a str),
    /// A double-quoted string, escapes resolved.
    Str(String),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Cmp(CmpOp),
    End,
}

impl Tok<'_> {
    /// How the token reads in a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::Cmp(op) => format!("`{}`", op.symbol()),
            Tok::End => "end of filter".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub column: usize,
}

fn err(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
    }
}

/// Characters a bare word may hold: names, numbers, IPv4/CIDR, MACs.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-')
}

/// Splits `text` into tokens, ending with `Tok::End` at the column after the text.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let third = chars.get(i + 2).map(|&(_, c)| c);
        let mut push = |tok, width: usize| {
            tokens.push(Token { tok, column });
            width
        };
        i += match (c, next) {
            _ if c.is_whitespace() => 1,
            ('(', _) => push(Tok::LParen, 1),
            (')', _) => push(Tok::RParen, 1),
            ('&', Some('&')) => push(Tok::And, 2),
            ('|', Some('|')) => push(Tok::Or, 2),
            ('=', Some('=')) if third == Some('=') => {
                return Err(err(column, "unsupported operator `===`; use `==`"));
            }
            ('!', Some('=')) if third == Some('=') => {
                return Err(err(column, "unsupported operator `!==`; use `!=`"));
            }
            ('=', Some('=')) => push(Tok::Cmp(CmpOp::Eq), 2),
            ('!', Some('=')) => push(Tok::Cmp(CmpOp::Ne), 2),
            ('<', Some('=')) => push(Tok::Cmp(CmpOp::Le), 2),
            ('>', Some('=')) => push(Tok::Cmp(CmpOp::Ge), 2),
            ('<', _) => push(Tok::Cmp(CmpOp::Lt), 1),
            ('>', _) => push(Tok::Cmp(CmpOp::Gt), 1),
            ('!', _) => push(Tok::Not, 1),
            ('=', _) => return Err(err(column, "unknown operator `=`; did you mean `==`?")),
            ('&', _) => return Err(err(column, "unknown operator `&`; did you mean `&&`?")),
            ('|', _) => return Err(err(column, "unknown operator `|`; did you mean `||`?")),
            ('~', _) => return Err(err(column, "unsupported operator `~`")),
            ('"', _) => {
                let (s, width) = string(&chars[i..], column)?;
                push(Tok::Str(s), width)
            }
            _ if is_word_char(c) => {
                let width = chars[i..]
                    .iter()
                    .take_while(|&&(_, c)| is_word_char(c))
                    .count();
                let end = chars.get(i + width).map_or(text.len(), |&(b, _)| b);
                let word = &text[start..end];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "eq" => Tok::Cmp(CmpOp::Eq),
                    "ne" => Tok::Cmp(CmpOp::Ne),
                    "lt" => Tok::Cmp(CmpOp::Lt),
                    "le" => Tok::Cmp(CmpOp::Le),
                    "gt" => Tok::Cmp(CmpOp::Gt),
                    "ge" => Tok::Cmp(CmpOp::Ge),
                    "contains" => Tok::Cmp(CmpOp::Contains),
                    _ => Tok::Word(word),
                };
                push(tok, width)
            }
            _ => return Err(err(column, format!("unexpected character `{c}`"))),
        };
    }
    tokens.push(Token {
        tok: Tok::End,
        column: chars.len() + 1,
    });
    Ok(tokens)
}

/// Reads a double-quoted string starting at `chars[0] == '"'`; returns the
/// decoded text and the number of chars consumed.
fn string(chars: &[(usize, char)], column: usize) -> Result<(String, usize), FilterError> {
    let mut out = String::new();
    let mut i = 1;
    loop {
        let Some(&(_, c)) = chars.get(i) else {
            return Err(err(
                column,
                "unterminated string: the closing `\"` is missing",
            ));
        };
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let esc_col = column + i;
                let Some(&(_, e)) = chars.get(i + 1) else {
                    return Err(err(
                        column,
                        "unterminated string: the closing `\"` is missing",
                    ));
                };
                i += 2;
                match e {
                    '"' | '\\' | '\'' => out.push(e),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'x' => {
                        let hex: String = chars[i..]
                            .iter()
                            .take(2)
                            .map(|&(_, c)| c)
                            .take_while(char::is_ascii_hexdigit)
                            .collect();
                        let Ok(v) = u8::from_str_radix(&hex, 16) else {
                            return Err(err(esc_col, "`\\x` must be followed by hex digits"));
                        };
                        i += hex.len();
                        out.push(ascii(v, esc_col)?);
                    }
                    '0'..='7' => {
                        let oct: String = chars[i - 1..]
                            .iter()
                            .take(3)
                            .map(|&(_, c)| c)
                            .take_while(|c| ('0'..='7').contains(c))
                            .collect();
                        i += oct.len() - 1;
                        let v = u32::from_str_radix(&oct, 8).unwrap_or(u32::MAX);
                        let v = u8::try_from(v)
                            .map_err(|_| err(esc_col, "octal escape above \\377"))?;
                        out.push(ascii(v, esc_col)?);
                    }
                    _ => {
                        return Err(err(
                            esc_col,
                            format!(
                                "`\\{e}` is not a valid escape (use \\\" \\\\ \\n \\r \\t \\xHH or \\NNN)"
                            ),
                        ));
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Byte escapes are limited to ASCII, since the only string field is UTF-8 text.
fn ascii(v: u8, column: usize) -> Result<char, FilterError> {
    if v.is_ascii() && v != 0 {
        Ok(char::from(v))
    } else {
        Err(err(
            column,
            format!("byte escape {v:#04x} is not a non-NUL ASCII character"),
        ))
    }
}

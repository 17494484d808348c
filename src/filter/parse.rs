//! Recursive-descent parser: tokens to an expression tree, with every literal
//! checked against its field's kind at parse time.
//!
//! Precedence (as in Wireshark): `!`/`not` binds tightest, then `&&`/`and`,
//! then `||`/`or`; parentheses group.

use super::FilterError;
use super::fields::{self, Field, Kind};
use super::lexer::{CmpOp, Tok, Token};
use super::values::{Literal, literal};

/// Deepest nesting of parentheses and negations accepted (keeps recursion bounded).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    /// A bare field or protocol name: true when the frame has it.
    Exists(Field),
    Cmp {
        field: Field,
        op: CmpOp,
        lit: Literal,
    },
}

fn err(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
    }
}

pub(crate) struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(tokens: Vec<Token<'a>>) -> Self {
        Parser {
            tokens,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> &Token<'a> {
        // `tokenize` always ends with `End`, and `bump` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token<'a> {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    /// Parses the whole filter; `None` for an empty one.
    pub(crate) fn parse(mut self) -> Result<Option<Node>, FilterError> {
        if self.peek().tok == Tok::End {
            return Ok(None);
        }
        let node = self.or()?;
        let t = self.peek();
        match &t.tok {
            Tok::End => Ok(Some(node)),
            Tok::RParen => Err(err(t.column, "unmatched `)`")),
            other => Err(err(
                t.column,
                format!(
                    "unexpected {} after a complete expression (missing `&&` or `||`?)",
                    other.describe()
                ),
            )),
        }
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut items = vec![self.and()?];
        while self.peek().tok == Tok::Or {
            self.bump();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut items = vec![self.unary()?];
        while self.peek().tok == Tok::And {
            self.bump();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn nest(&mut self, column: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                column,
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Node, FilterError> {
        let t = self.bump();
        match t.tok {
            Tok::Not => {
                self.nest(t.column)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.nest(t.column)?;
                let inner = self.or()?;
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return Err(err(
                        close.column,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            t.column,
                            close.tok.describe()
                        ),
                    ));
                }
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(name) => self.test(name, t.column),
            Tok::End => Err(err(
                t.column,
                "unexpected end of filter: expected a field or protocol name",
            )),
            other => Err(err(
                t.column,
                format!(
                    "expected a field or protocol name, found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// A field name, optionally followed by an operator and a value.
    fn test(&mut self, name: &str, column: usize) -> Result<Node, FilterError> {
        let (field, kind) = resolve(name, column)?;
        let t = self.peek().clone();
        let op = match t.tok {
            Tok::Cmp(op) => op,
            Tok::Word(w) if fields::lookup(w).is_some() => {
                return Err(err(
                    t.column,
                    format!("unexpected `{w}` after `{name}` (missing `&&` or `||`?)"),
                ));
            }
            Tok::Word(w) => return Err(err(t.column, format!("unknown operator `{w}`"))),
            Tok::Str(_) => {
                return Err(err(
                    t.column,
                    format!(
                        "unexpected {} after `{name}` (missing an operator?)",
                        t.tok.describe()
                    ),
                ));
            }
            _ => return Ok(Node::Exists(field)),
        };
        self.bump();
        let value = self.bump();
        let lit = literal(field, kind, op, t.column, &value)?;
        Ok(Node::Cmp { field, op, lit })
    }
}

fn resolve(name: &str, column: usize) -> Result<(Field, Kind), FilterError> {
    if let Some(found) = fields::lookup(name) {
        return Ok(found);
    }
    if let Some(reason) = fields::unsupported_reason(name) {
        return Err(err(column, format!("`{name}` {reason}")));
    }
    let looks_like_value = name.starts_with(|c: char| c.is_ascii_digit());
    let mut message = if looks_like_value {
        format!("expected a field or protocol name, found `{name}` (the field goes on the left)")
    } else {
        format!("unknown or unsupported field `{name}`")
    };
    if let Some(s) = fields::suggest(name) {
        message.push_str(&format!("; did you mean `{s}`?"));
    }
    Err(err(column, message))
}

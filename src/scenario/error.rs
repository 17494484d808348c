//! Located errors: `FILE:LINE:COL: field 'NAME': message`, with the nearest known name
//! suggested for a typo.

use std::fmt;

use serde_saphyr::Location;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: field '{}': {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

impl std::error::Error for LabError {}

/// Every error found in one lab file (checking goes on after the first where it can).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabErrors(pub Vec<LabError>);

impl fmt::Display for LabErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LabErrors {}

/// Collects errors against one file.
pub struct Errors<'a> {
    pub file: &'a str,
    /// The file's text, where an error inside a value (a line of a block scalar) is located.
    pub source: &'a str,
    pub list: Vec<LabError>,
}

impl<'a> Errors<'a> {
    pub fn new(file: &'a str) -> Self {
        Errors {
            file,
            source: "",
            list: Vec::new(),
        }
    }

    /// An error at `line:column` of another file (a step's `input_file`).
    pub fn in_file(
        &mut self,
        file: &str,
        line: u64,
        column: u64,
        field: &str,
        message: impl Into<String>,
    ) {
        self.list.push(LabError {
            file: file.to_string(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub fn at(&mut self, loc: Location, field: &str, message: impl Into<String>) {
        self.list.push(LabError {
            file: self.file.to_string(),
            line: loc.line(),
            column: loc.column(),
            field: field.to_string(),
            message: message.into(),
        });
    }
}

/// Levenshtein distance, for suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// ` (did you mean 'x'?)` when a candidate is close to `word`.
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d > 0)
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, c)) => format!(" (did you mean '{c}'?)"),
        None => String::new(),
    }
}

/// Turns a YAML/serde error into a located one. The field is named by the message
/// (`unknown field`, `missing field`) or else by the key on the offending line.
pub fn from_yaml(file: &str, source: &str, err: &serde_saphyr::Error) -> LabError {
    let (line, column) = err
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or("").to_string();
    let message = match first.find(&format!("column {column}: ")) {
        Some(i) => first[i + format!("column {column}: ").len()..].to_string(),
        None => first.trim_start_matches("error: ").to_string(),
    };
    let quoted = |m: &str| -> Option<String> {
        let start = m.find('`')? + 1;
        let end = m[start..].find('`')? + start;
        Some(m[start..end].to_string())
    };
    let mut field = None;
    let mut message = message;
    if message.starts_with("unknown field") {
        if let Some(name) = quoted(&message) {
            let expected: Vec<&str> = message
                .split("expected one of ")
                .nth(1)
                .or_else(|| message.split("expected ").nth(1))
                .map(|l| l.split(", ").map(|s| s.trim_matches('`')).collect())
                .unwrap_or_default();
            let hint = suggest(&name, expected.iter().copied());
            message.push_str(&hint);
            // `"": x`, `? !` or `{!}`: a key with no name is still named in the error.
            field = Some(if name.is_empty() {
                "(empty key)".into()
            } else {
                name
            });
        }
    } else if message.starts_with("missing field") {
        field = quoted(&message);
    }
    let text = source.lines().nth(line as usize - 1).unwrap_or("");
    let field = field.unwrap_or_else(|| {
        let before: String = text.chars().take(column as usize - 1).collect();
        key_before(&before)
            .or_else(|| key_of_line(text))
            .unwrap_or_else(|| "(document)".into())
    });
    let message = plain(message, text, column);
    LabError {
        file: file.to_string(),
        line,
        column,
        field,
        message,
    }
}

/// The YAML library's words for common mistakes, told in a lab author's terms, with what to
/// write instead. `text` is the offending line, `column` where on it the error is.
fn plain(message: String, text: &str, column: u64) -> String {
    let value: String = text
        .chars()
        .skip(column as usize - 1)
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
        .collect();
    let value = value.trim();
    let flow_hint = "a `{...}` or `[...]` on one line ends a value at the first `,`, `}` or `]`, \
                     and a quote inside a value is taken as the start of a quoted string: put \
                     the whole value in single quotes, e.g. `run: 'curl -w \"%{http_code}\" URL'`, \
                     or write the step as an indented block (`- on: h1` then `run: ...` on its own line)";
    if message.starts_with("invalid u") || message.starts_with("invalid i") {
        format!("'{value}' is not a whole number; write digits, e.g. 1")
    } else if message.starts_with("invalid f") {
        format!("'{value}' is not a number; write digits, e.g. 0.5")
    } else if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        format!("'{key}' is given twice in the same mapping; keep one")
    } else if message.starts_with("tabs disallowed")
        || (message.contains("cannot start any token") && text.contains('\t'))
    {
        "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"
            .into()
    } else if message == "unclosed quote"
        || message.contains("did not find expected ',' or '}'")
        || message.contains("did not find expected ',' or ']'")
    {
        format!("{message}: {flow_hint}")
    } else {
        message
    }
}

/// The last `key:` before the error's column: `{on: a, run: curl -w "%{` → `run`.
fn key_before(text: &str) -> Option<String> {
    let bytes: Vec<char> = text.chars().collect();
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        if bytes[i] == ':' && bytes.get(i + 1).is_none_or(|c| c.is_whitespace()) {
            let end = i;
            let mut start = i;
            while start > 0 && (bytes[start - 1].is_alphanumeric() || bytes[start - 1] == '_') {
                start -= 1;
            }
            if start < end {
                return Some(bytes[start..end].iter().collect());
            }
        }
    }
    None
}

/// `    gateway: x` → `gateway`; `  - name: a` → `name`.
fn key_of_line(text: &str) -> Option<String> {
    let t = text.trim_start().trim_start_matches("- ").trim_start();
    let (k, _) = t.split_once(':')?;
    let k = k.trim();
    (!k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
    .then(|| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names() {
        assert_eq!(
            suggest("gatewya", ["name", "gateway"]),
            " (did you mean 'gateway'?)"
        );
        assert_eq!(suggest("zzz", ["name", "gateway"]), "");
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn key_before_the_column() {
        assert_eq!(
            key_before("  - {on: a, run: curl -w \"").as_deref(),
            Some("run")
        );
        assert_eq!(key_before("no keys here"), None);
    }

    #[test]
    fn keys_of_lines() {
        assert_eq!(key_of_line("    gateway: x").as_deref(), Some("gateway"));
        assert_eq!(key_of_line("  - name: a").as_deref(), Some("name"));
        assert_eq!(key_of_line("  - [a, b]"), None);
    }
}

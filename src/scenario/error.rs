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
    pub list: Vec<LabError>,
}

impl<'a> Errors<'a> {
    pub fn new(file: &'a str) -> Self {
        Errors {
            file,
            list: Vec::new(),
        }
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
            field = Some(name);
        }
    } else if message.starts_with("missing field") {
        field = quoted(&message);
    }
    let field = field.unwrap_or_else(|| {
        let text = source.lines().nth(line as usize - 1).unwrap_or("");
        let before: String = text.chars().take(column as usize - 1).collect();
        key_before(&before)
            .or_else(|| key_of_line(text))
            .unwrap_or_else(|| "(document)".into())
    });
    LabError {
        file: file.to_string(),
        line,
        column,
        field,
        message,
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

//! The dependency rule, checked: a module of the library uses only modules of lower layers.
//!
//! The layers are declared once, in the map at the top of `src/lib.rs` (a table of
//! `| layer | [`module`] | what |` rows); this test reads that map, walks the module tree from
//! `src/lib.rs` as rustc does (`mod x;`, `#[path]`), and lists every `crate::x` (or `super::`
//! path that climbs to the crate root) naming a top-level module of the same or a higher layer.
//! Test code (`#[cfg(test)]` items and the files they load) may use any module: a unit test
//! builds whole labs. Nothing here compiles the crate's code; it reads the sources as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Uses that still break the rule, each with the reason it is not yet moved. The test fails
/// when one of these disappears too, so the list only shrinks.
const KNOWN: &[(&str, &str)] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of Rust source that matter here: comments dropped, literals kept whole (a
/// string's text for `#[path]`), so nothing inside them reads as a path.
fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if c[i..].starts_with(&['/', '/']) {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i..].starts_with(&['/', '*']) {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < c.len() {
                if c[i..].starts_with(&['/', '*']) {
                    depth += 1;
                    i += 2;
                } else if c[i..].starts_with(&['*', '/']) {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some((len, body)) = raw_string(&c[i..]) {
            out.push(Tok::Str(body));
            i += len;
        } else if ch == '"' || (ch == 'b' && c.get(i + 1) == Some(&'"')) {
            i += if ch == 'b' { 2 } else { 1 };
            let mut body = String::new();
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                body.push(c[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(body));
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime / label ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if c[i..].starts_with(&[':', ':']) {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// `r"..."`, `r#"..."#`, `br"..."`: its length in chars and its text.
fn raw_string(c: &[char]) -> Option<(usize, String)> {
    let mut i = match c {
        ['r', ..] => 1,
        ['b', 'r', ..] => 2,
        _ => return None,
    };
    let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
    i += hashes;
    if c.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    let start = i;
    loop {
        if i >= c.len() {
            return None;
        }
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            let body = c[start..i].iter().collect();
            return Some((i + 1 + hashes, body));
        }
        i += 1;
    }
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The index just past the group opened at `open` (`(`, `[` or `{`).
fn close(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// The top-level modules a path names once past `crate::` (or enough `super::`): `x` of
/// `x::...`, or each first name of a `{a, b::c}` group.
fn named(toks: &[Tok], at: usize, into: &mut Vec<String>) {
    match toks.get(at) {
        Some(Tok::Ident(s)) => into.push(s.clone()),
        Some(Tok::Punct('{')) => {
            let end = close(toks, at);
            let mut depth = 0;
            let mut first = true;
            for t in &toks[at..end] {
                match t {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => depth -= 1,
                    Tok::Punct(',') if depth == 1 => first = true,
                    Tok::Ident(s) if depth == 1 && first => {
                        into.push(s.clone());
                        first = false;
                    }
                    _ if depth == 1 => first = false,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// What one file says: the modules it loads from files, and the top-level modules its code
/// (test code aside) uses.
struct Scan {
    /// (name, `#[path]`, loaded only under `cfg(test)`)
    children: Vec<(String, Option<String>, bool)>,
    uses: Vec<String>,
    /// `#![cfg(test)]`: the whole file is test code.
    test_file: bool,
}

/// `depth`: how many modules down from the crate root the file's own scope is, so that
/// `super::` climbing that far reaches the crate root.
fn scan(toks: &[Tok], depth: usize) -> Scan {
    let mut s = Scan {
        children: Vec::new(),
        uses: Vec::new(),
        test_file: false,
    };
    let mut test_attr = false;
    let mut path_attr: Option<String> = None;
    // Inline `mod x { ... }` blocks open at these brace depths: each is one more `super::`.
    let mut inline: Vec<i32> = Vec::new();
    let mut braces = 0i32;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('#') => {
                let inner = toks.get(i + 1) == Some(&Tok::Punct('!'));
                let open = i + 1 + inner as usize;
                let end = close(toks, open);
                let attr = &toks[open + 1..end.saturating_sub(1)];
                let is = |w: &str| attr.iter().any(|t| ident(Some(t)) == Some(w));
                if ident(attr.first()) == Some("cfg") && is("test") && !is("not") {
                    if inner {
                        s.test_file = true;
                        return s;
                    }
                    test_attr = true;
                }
                if ident(attr.first()) == Some("path")
                    && let Some(Tok::Str(p)) = attr.get(2)
                {
                    path_attr = Some(p.clone());
                }
                i = end;
                continue;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), Some(next)) = (ident(toks.get(i + 1)), toks.get(i + 2)) {
                    if *next == Tok::Punct(';') {
                        s.children
                            .push((name.to_string(), path_attr.take(), test_attr));
                        test_attr = false;
                        i += 3;
                        continue;
                    }
                    if *next == Tok::Punct('{') && !test_attr {
                        braces += 1;
                        inline.push(braces);
                        path_attr = None;
                        i += 3;
                        continue;
                    }
                }
            }
            _ => {}
        }
        if test_attr {
            // Skip the item the attribute is on: to its `;` or `,`, through its block, or
            // up to the `}` that closes what holds it.
            let mut k = i;
            while k < toks.len() {
                match toks[k] {
                    Tok::Punct(';' | ',') => {
                        k += 1;
                        break;
                    }
                    Tok::Punct('(' | '[') => k = close(toks, k),
                    Tok::Punct('{') => {
                        k = close(toks, k);
                        break;
                    }
                    Tok::Punct(')' | ']' | '}') => break,
                    _ => k += 1,
                }
            }
            test_attr = false;
            path_attr = None;
            i = k;
            continue;
        }
        match &toks[i] {
            Tok::Punct('{') => braces += 1,
            Tok::Punct('}') => {
                if inline.last() == Some(&braces) {
                    inline.pop();
                }
                braces -= 1;
            }
            Tok::Ident(w) if w == "crate" && toks.get(i + 1) == Some(&Tok::Path) => {
                named(toks, i + 2, &mut s.uses);
            }
            Tok::Ident(w) if w == "super" && toks.get(i + 1) == Some(&Tok::Path) => {
                let mut k = i;
                let mut ups = 0;
                while ident(toks.get(k)) == Some("super") && toks.get(k + 1) == Some(&Tok::Path) {
                    ups += 1;
                    k += 2;
                }
                if ups == depth + inline.len() {
                    named(toks, k, &mut s.uses);
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    s
}

/// Where `mod name;` in `file` loads from, as rustc looks for it.
fn child_file(file: &Path, name: &str, path: Option<&str>) -> PathBuf {
    let dir = file.parent().unwrap();
    if let Some(p) = path {
        return dir.join(p);
    }
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let base = if stem == "lib" || stem == "mod" {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    let flat = base.join(format!("{name}.rs"));
    if flat.exists() {
        flat
    } else {
        base.join(name).join("mod.rs")
    }
}

/// A file of the crate: its module path and whether only tests compile it.
struct File {
    path: PathBuf,
    module: Vec<String>,
    test: bool,
}

fn module_tree() -> Vec<File> {
    let mut files = Vec::new();
    let mut todo = vec![File {
        path: src().join("lib.rs"),
        module: Vec::new(),
        test: false,
    }];
    while let Some(f) = todo.pop() {
        let text = std::fs::read_to_string(&f.path)
            .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
        let s = scan(&lex(&text), f.module.len());
        for (name, path, test) in &s.children {
            let mut module = f.module.clone();
            module.push(name.clone());
            todo.push(File {
                path: child_file(&f.path, name, path.as_deref()),
                module,
                test: f.test || *test || s.test_file,
            });
        }
        files.push(f);
    }
    files
}

/// The map in `src/lib.rs` (rows `| layer | [`module`] |`, or `[`m`](mod@m)` where a name is
/// also a macro's): each top-level module's layer, in the map's order, and the
/// submodules it names.
fn map() -> (Vec<(String, u32)>, Vec<String>) {
    let text = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut tops = Vec::new();
    let mut subs = Vec::new();
    for line in text.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some(module) = cells
            .get(1)
            .and_then(|c| c.strip_prefix("[`"))
            .and_then(|c| c.split_once("`]"))
            .map(|(module, _)| module)
        else {
            continue;
        };
        match cells[0].parse::<u32>() {
            Ok(layer) => tops.push((module.to_string(), layer)),
            Err(_) if cells[0].is_empty() => subs.push(module.to_string()),
            Err(_) => panic!("src/lib.rs: map row with layer {:?}", cells[0]),
        }
    }
    (tops, subs)
}

#[test]
fn the_map_names_every_module_once_in_layer_order() {
    let (tops, subs) = map();
    assert!(!tops.is_empty(), "src/lib.rs has no map");
    let tree = module_tree();
    let declared: BTreeSet<String> = tree
        .iter()
        .filter(|f| f.module.len() == 1)
        .map(|f| f.module[0].clone())
        .collect();
    let mapped: Vec<String> = tops.iter().map(|(m, _)| m.clone()).collect();
    let unique: BTreeSet<String> = mapped.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        mapped.len(),
        "a module is mapped twice: {mapped:?}"
    );
    assert_eq!(declared, unique, "src/lib.rs: modules declared vs mapped");
    for pair in tops.windows(2) {
        assert!(
            pair[0].1 <= pair[1].1,
            "src/lib.rs: the map lists {} (layer {}) after {} (layer {})",
            pair[1].0,
            pair[1].1,
            pair[0].0,
            pair[0].1
        );
    }
    let modules: BTreeSet<String> = tree.iter().map(|f| f.module.join("::")).collect();
    for sub in subs {
        assert!(
            modules.contains(&sub),
            "src/lib.rs maps {sub}, which is no module"
        );
    }
}

#[test]
fn no_module_uses_one_of_its_own_layer_or_above() {
    let layer: BTreeMap<String, u32> = map().0.into_iter().collect();
    // (user, used) -> the files where it happens.
    let mut broken: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in module_tree() {
        if f.test || f.module.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(&f.path).unwrap();
        let s = scan(&lex(&text), f.module.len());
        if s.test_file {
            continue;
        }
        let me = &f.module[0];
        for used in s.uses {
            if used == *me || used == "self" {
                continue;
            }
            let (Some(a), Some(b)) = (layer.get(me), layer.get(&used)) else {
                panic!("{}: {me} uses {used}, not in the map", f.path.display());
            };
            if b >= a {
                let rel = f.path.strip_prefix(src().parent().unwrap()).unwrap();
                broken
                    .entry((me.clone(), used.clone()))
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    let mut report = String::new();
    for ((me, used), files) in &broken {
        if !KNOWN.contains(&(me.as_str(), used.as_str())) {
            report += &format!(
                "{me} (layer {}) uses {used} (layer {}) in {}\n",
                layer[me],
                layer[used],
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    for (me, used) in KNOWN {
        if !broken.contains_key(&(me.to_string(), used.to_string())) {
            report += &format!("{me} no longer uses {used}: take it off KNOWN\n");
        }
    }
    assert!(report.is_empty(), "layer rule (see src/lib.rs):\n{report}");
}

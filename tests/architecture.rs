//! The architecture's invariants, checked on the source (ARCHITECTURE.md states them):
//!
//! - no module imports a module that imports it back: in every crate of the workspace, the graph
//!   of top-level modules (`store`, `backend`, `ast`, …) that `crate::…`, `super::…` and
//!   `self::…` paths draw has no cycle;
//! - the facade (`src/lib.rs`) re-exports by name, never the whole runtime
//!   (`pub use fstore_runtime::*`);
//! - the runtime links no code generator: `cargo tree -p fstore-runtime -e normal` lists no
//!   `syn`, `quote` or `proc-macro2` outside the subtrees of proc-macro crates
//!   (`-e normal,no-proc-macro`): `thiserror-impl` and `tokio-macros` are normal dependencies
//!   built on `syn`, but they run in the compiler and are not linked into the runtime.
//!
//! The module graph is read from the source text, without a compiler: each `*.rs` file under a
//! crate's `src/` is mapped to its module path (`backend/server.rs` is `backend::server`, whose
//! top-level module is `backend`), comments and literals are skipped, and every path that starts
//! with `crate`, `$crate`, `super` or `self` (in `use` trees, groups included, and in code) is
//! resolved against the module it appears in (inline `mod x { … }` blocks included). A path
//! into the crate root through a name the root re-exports (`crate::Error` for
//! `pub use error::Error`) counts as a path into the module it comes from. Code under
//! `#[cfg(test)]` (unit-test modules, in their file or their own) is not library code and is
//! left out.

mod cargo;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use cargo::{cargo, root};

// ---------------------------------------------------------------------------------------------
// Tokens: identifiers and the punctuation paths are made of, without comments and literals
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The tokens of `source` that paths, `use` trees, attributes and blocks are made of, each with
/// its line. Comments, string, byte-string, raw-string and char literals, numbers and lifetimes
/// are skipped.
fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(&chars, i, &mut line),
            '\'' => {
                // A char literal (`'a'`, `'\n'`, `'{'`), else a lifetime or label (`'a`).
                if at(i + 1) == '\\' {
                    // Past `'\x`, then to the closing quote (`'\u{1F980}'`).
                    i += 3;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3;
                } else {
                    i += 1;
                    while at(i).is_alphanumeric() || at(i) == '_' {
                        i += 1;
                    }
                }
            }
            ':' if at(i + 1) == ':' => {
                out.push((Tok::PathSep, line));
                i += 2;
            }
            c if c.is_ascii_digit() => {
                while at(i).is_alphanumeric()
                    || at(i) == '_'
                    || (at(i) == '.' && at(i + 1).is_ascii_digit())
                {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // String prefixes: `b"…"`, `c"…"`, `r"…"`, `r#"…"#`, `br#"…"#`, `cr"…"`.
                let raw = matches!(word.as_str(), "r" | "br" | "cr");
                let mut j = i;
                if raw {
                    while at(j) == '#' {
                        j += 1;
                    }
                }
                if at(j) == '"' && (raw || matches!(word.as_str(), "b" | "c")) {
                    i = if raw {
                        skip_raw_string(&chars, j, j - i, &mut line)
                    } else {
                        skip_string(&chars, j, &mut line)
                    };
                } else if word == "r" && at(i) == '#' {
                    // A raw identifier: `r#type`.
                    let start = i + 1;
                    i = start;
                    while at(i).is_alphanumeric() || at(i) == '_' {
                        i += 1;
                    }
                    out.push((Tok::Ident(chars[start..i].iter().collect()), line));
                } else {
                    out.push((Tok::Ident(word), line));
                }
            }
            '{' | '}' | ';' | ',' | '*' | '#' | '[' | ']' | '(' | ')' | '!' | '$' => {
                out.push((Tok::Punct(c), line));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Skips the string literal whose opening `"` is at `i`; returns the index after it.
fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// Skips the raw string literal whose opening `"` is at `i`, with `hashes` `#`s.
fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    i += 1;
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        if chars[i] == '\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

// ---------------------------------------------------------------------------------------------
// Paths: the module paths every file refers to, resolved against where they appear
// ---------------------------------------------------------------------------------------------

/// One path a file refers to.
#[derive(Clone, Debug)]
struct Reference {
    /// The module the path appears in (the file's module and the inline modules around it).
    from: Vec<String>,
    /// The path as written, its segments.
    path: Vec<String>,
    line: usize,
    /// Inside a `use` item of the crate root: a re-export candidate (`pub use error::Error`).
    root_use: bool,
    /// The name a `use` leaf binds (`Error`, or `E` for `as E`).
    binds: Option<String>,
}

/// What one file says about the module graph.
#[derive(Debug, Default)]
struct FileFacts {
    references: Vec<Reference>,
    /// Modules declared in this file: (path, declared under `#[cfg(test)]`).
    declared: Vec<(Vec<String>, bool)>,
    /// The file starts with `#![cfg(test)]`.
    test_only: bool,
}

/// The `cfg` attribute at `tokens[i]` (`#` `[` or `#` `!` `[`) enables its item only in tests.
fn attribute_at(tokens: &[(Tok, usize)], i: usize) -> Option<(usize, bool)> {
    let inner = tokens.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct('!'));
    let open = if inner { i + 2 } else { i + 1 };
    if tokens.get(open).map(|t| &t.0) != Some(&Tok::Punct('[')) {
        return None;
    }
    let mut depth = 0;
    let mut j = open;
    let mut idents = Vec::new();
    while j < tokens.len() {
        match &tokens[j].0 {
            Tok::Punct('[') => depth += 1,
            Tok::Punct(']') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Ident(s) => idents.push(s.as_str()),
            _ => {}
        }
        j += 1;
    }
    let test =
        idents.first() == Some(&"cfg") && idents.contains(&"test") && !idents.contains(&"not");
    Some((j + 1, test))
}

/// Reads `file`'s references and module declarations; `module` is the file's module path.
fn scan(source: &str, module: &[String], is_root: bool) -> FileFacts {
    let tokens = tokenize(source);
    let mut facts = FileFacts::default();
    // The open blocks: the module's name for `mod name { … }`, and whether under `#[cfg(test)]`.
    let mut stack: Vec<(Option<String>, bool)> = Vec::new();
    let mut pending_test = false;
    let mut i = 0;
    let current = |stack: &[(Option<String>, bool)]| -> Vec<String> {
        let mut path = module.to_vec();
        path.extend(stack.iter().filter_map(|(name, _)| name.clone()));
        path
    };
    let in_test = |stack: &[(Option<String>, bool)]| stack.last().is_some_and(|s| s.1);
    while i < tokens.len() {
        let (tok, line) = (&tokens[i].0, tokens[i].1);
        match tok {
            Tok::Punct('#') => {
                if let Some((next, test)) = attribute_at(&tokens, i) {
                    let inner = tokens.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct('!'));
                    if test && inner && stack.is_empty() {
                        facts.test_only = true;
                    } else if test {
                        pending_test = true;
                    }
                    i = next;
                    continue;
                }
            }
            Tok::Punct('{') => {
                let test = in_test(&stack) || pending_test;
                stack.push((None, test));
                pending_test = false;
            }
            Tok::Punct('}') => {
                stack.pop();
                pending_test = false;
            }
            Tok::Punct(';') => pending_test = false,
            Tok::Ident(word) if word == "mod" => {
                if let Some(Tok::Ident(name)) = tokens.get(i + 1).map(|t| &t.0) {
                    let test = in_test(&stack) || pending_test;
                    let mut path = current(&stack);
                    path.push(name.clone());
                    facts.declared.push((path, test));
                    if tokens.get(i + 2).map(|t| &t.0) == Some(&Tok::Punct('{')) {
                        stack.push((Some(name.clone()), test));
                        pending_test = false;
                        i += 3;
                        continue;
                    }
                }
            }
            Tok::Ident(word) if word == "use" => {
                let end = (i..tokens.len())
                    .find(|&j| tokens[j].0 == Tok::Punct(';'))
                    .unwrap_or(tokens.len());
                if !(in_test(&stack) || pending_test) {
                    let mut leaves = Vec::new();
                    use_tree(&tokens[i + 1..end], Vec::new(), &mut leaves);
                    let from = current(&stack);
                    let root_use = is_root && stack.is_empty();
                    for (path, binds) in leaves {
                        facts.references.push(Reference {
                            from: from.clone(),
                            path,
                            line,
                            root_use,
                            binds,
                        });
                    }
                }
                pending_test = false;
                i = end + 1;
                continue;
            }
            Tok::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep) =>
            {
                let mut path = vec![word.clone()];
                let mut j = i + 1;
                while tokens.get(j).map(|t| &t.0) == Some(&Tok::PathSep) {
                    match tokens.get(j + 1).map(|t| &t.0) {
                        Some(Tok::Ident(s)) => {
                            path.push(s.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                if !in_test(&stack) {
                    facts.references.push(Reference {
                        from: current(&stack),
                        path,
                        line,
                        root_use: false,
                        binds: None,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    facts
}

/// The leaves of a `use` tree (the tokens after `use`, up to `;`): each full path, with the name
/// it binds. `prefix` is the path of the enclosing group.
fn use_tree(
    tokens: &[(Tok, usize)],
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.clone();
    let mut i = 0;
    // `$crate::…`: as `crate::…`.
    if tokens.first().map(|t| &t.0) == Some(&Tok::Punct('$')) {
        i = 1;
    }
    while i < tokens.len() {
        match &tokens[i].0 {
            Tok::Ident(s) if s == "as" => {
                let alias = match tokens.get(i + 1).map(|t| &t.0) {
                    Some(Tok::Ident(a)) => Some(a.clone()),
                    _ => None,
                };
                out.push((path.clone(), alias));
                return;
            }
            Tok::Ident(s) => path.push(s.clone()),
            Tok::PathSep => {}
            Tok::Punct('*') => return,
            Tok::Punct('{') => {
                // Split the group's items at top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                let mut j = i + 1;
                while j < tokens.len() {
                    match tokens[j].0 {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') if depth == 0 => {
                            if start < j {
                                use_tree(&tokens[start..j], path.clone(), out);
                            }
                            return;
                        }
                        Tok::Punct('}') => depth -= 1,
                        Tok::Punct(',') if depth == 0 => {
                            if start < j {
                                use_tree(&tokens[start..j], path.clone(), out);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                return;
            }
            _ => return,
        }
        i += 1;
    }
    if !path.is_empty() {
        let binds = match path.last().map(String::as_str) {
            Some("self") => path.iter().rev().nth(1).cloned(),
            other => other.map(str::to_owned),
        };
        out.push((path, binds));
    }
}

/// `path` as written in module `from`, as a path from the crate root; `None` for a path that
/// does not start at `crate`, `super` or `self` (an extern crate, a prelude or local name).
fn absolute(
    from: &[String],
    path: &[String],
    is_root_file_use: bool,
    modules: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => {
            let mut abs = from.to_vec();
            abs.extend(path[1..].iter().cloned());
            Some(abs)
        }
        "super" => {
            let mut abs = from.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                abs.pop()?;
                rest = &rest[1..];
            }
            abs.extend(rest.iter().cloned());
            Some(abs)
        }
        // In the crate root, `use store::Store` names the module `store`.
        name if is_root_file_use && from.is_empty() && modules.contains(name) => {
            Some(path.to_vec())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The graph of one crate's top-level modules, and its cycles
// ---------------------------------------------------------------------------------------------

/// One crate's sources: `(path relative to src, text)`.
type Sources = Vec<(String, String)>;

/// The module path of a file under `src/`: `lib.rs` → `[]`, `a.rs` and `a/mod.rs` → `[a]`,
/// `a/b.rs` → `[a, b]`. `None` for files that are not modules of the library (`bin/`).
fn module_of(relative: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = relative.split('/').map(str::to_owned).collect();
    if parts.first().map(String::as_str) == Some("bin") {
        return None;
    }
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    match stem {
        "lib" | "main" if parts.is_empty() => {}
        "mod" => {}
        _ => parts.push(stem.to_owned()),
    }
    Some(parts)
}

/// The top-level module graph: source → target → where (`file:line: path`).
#[derive(Debug, Default)]
struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

fn graph(sources: &Sources) -> Graph {
    let files: Vec<(&str, Vec<String>, FileFacts)> = sources
        .iter()
        .filter_map(|(rel, text)| {
            let module = module_of(rel)?;
            let facts = scan(text, &module, module.is_empty());
            Some((rel.as_str(), module, facts))
        })
        .collect();
    // Top-level modules: files and modules the roots declare (inline ones included).
    let mut modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(_, m, _)| m.first().cloned())
        .collect();
    let mut test_modules: Vec<Vec<String>> = Vec::new();
    for (_, _, facts) in &files {
        for (path, test) in &facts.declared {
            if path.len() == 1 {
                modules.insert(path[0].clone());
            }
            if *test {
                test_modules.push(path.clone());
            }
        }
    }
    for (_, module, facts) in &files {
        if facts.test_only {
            test_modules.push(module.clone());
        }
    }
    let is_test = |m: &[String]| test_modules.iter().any(|t| m.starts_with(t));
    // Names the roots re-export, by the module they come from.
    let mut reexports: BTreeMap<String, String> = BTreeMap::new();
    for (_, module, facts) in &files {
        for r in facts.references.iter().filter(|r| r.root_use) {
            let (Some(abs), Some(name)) = (absolute(&r.from, &r.path, true, &modules), &r.binds)
            else {
                continue;
            };
            if let Some(first) = abs.first().filter(|f| modules.contains(*f)) {
                if module.is_empty() && !modules.contains(name) {
                    reexports.insert(name.clone(), first.clone());
                }
            }
        }
    }
    let mut g = Graph {
        modules: modules.clone(),
        ..Graph::default()
    };
    for (rel, module, facts) in &files {
        if is_test(module) {
            continue;
        }
        for r in &facts.references {
            let (Some(source), Some(abs)) = (
                r.from.first(),
                absolute(&r.from, &r.path, r.root_use, &modules),
            ) else {
                continue;
            };
            if is_test(&r.from) {
                continue;
            }
            let Some(first) = abs.first() else { continue };
            let target = if modules.contains(first) {
                first.clone()
            } else if let Some(m) = reexports.get(first) {
                m.clone()
            } else {
                continue;
            };
            if &target != source {
                g.edges
                    .entry(source.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| format!("{rel}:{}: `{}`", r.line, shown(&r.path)));
            }
        }
    }
    g
}

/// A path as a reader finds it in the file: `crate::attr::{self}` for the leaf `crate::attr::self`.
fn shown(path: &[String]) -> String {
    match path.split_last() {
        Some((last, init)) if last == "self" => format!("{}::{{self}}", init.join("::")),
        _ => path.join("::"),
    }
}

/// The cycles of `g`: one per strongly connected component of more than one module, as the
/// modules around it (first = last).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, recursive: module graphs are small.
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let g = s.g;
        for w in g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    let nodes: BTreeSet<&str> = g
        .modules
        .iter()
        .map(String::as_str)
        .chain(g.edges.keys().map(String::as_str))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let mut out = Vec::new();
    for component in s.components.iter().filter(|c| c.len() > 1) {
        let inside: BTreeSet<&str> = component.iter().copied().collect();
        let start = *inside.iter().next().unwrap();
        // The shortest way back to `start` within the component (breadth-first).
        let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(v) = queue.pop_front() {
            for w in g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                let w = w.as_str();
                if !inside.contains(w) {
                    continue;
                }
                if w == start {
                    closing = Some(v);
                    break;
                }
                if !previous.contains_key(w) {
                    previous.insert(w, v);
                    queue.push_back(w);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let mut cycle = vec![start.to_owned()];
        let mut v = closing.unwrap();
        let mut back = vec![v.to_owned()];
        while v != start {
            v = previous[v];
            back.push(v.to_owned());
        }
        back.pop();
        back.reverse();
        cycle.extend(back);
        cycle.push(start.to_owned());
        out.push(cycle);
    }
    out
}

/// A cycle with the reference that draws each of its edges.
fn describe(g: &Graph, cycle: &[String]) -> String {
    let mut text = format!("  {}\n", cycle.join(" → "));
    for pair in cycle.windows(2) {
        let _ = writeln!(
            text,
            "    {} → {}: {}",
            pair[0], pair[1], g.edges[&pair[0]][&pair[1]]
        );
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The workspace
// ---------------------------------------------------------------------------------------------

/// The crate directories of the workspace: its root package and every `members` entry.
fn workspace_crates() -> Vec<String> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("a `members = [...]` list in the root Cargo.toml");
    let mut crates = vec![".".to_owned()];
    crates.extend(members.split('"').skip(1).step_by(2).map(str::to_owned));
    crates
}

fn rust_files(dir: &Path, base: &Path, out: &mut Sources) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, fs::read_to_string(&path).unwrap()));
        }
    }
}

fn sources_of(krate: &str) -> Sources {
    let src = root().join(krate).join("src");
    let mut out = Vec::new();
    rust_files(&src, &src, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// The invariants
// ---------------------------------------------------------------------------------------------

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let crates = workspace_crates();
    for expected in ["runtime", "feature-derive", "registry", "cli"] {
        assert!(
            crates.iter().any(|c| c == expected),
            "`{expected}` is not a workspace member: {crates:?}"
        );
    }
    let mut summary = String::new();
    let mut problems = String::new();
    for krate in &crates {
        let g = graph(&sources_of(krate));
        let edges: usize = g.edges.values().map(BTreeMap::len).sum();
        let _ = writeln!(
            summary,
            "{krate}: {} modules, {edges} edges",
            g.modules.len()
        );
        if krate == "runtime" {
            assert!(
                g.modules.len() >= 3 && edges >= 2,
                "the runtime's module graph is implausibly small: {g:?}"
            );
        }
        let found = cycles(&g);
        if !found.is_empty() {
            let _ = writeln!(problems, "{krate}/src: modules that import each other:");
            for cycle in &found {
                problems.push_str(&describe(&g, cycle));
            }
        }
    }
    eprintln!("{summary}");
    assert!(
        problems.is_empty(),
        "import cycles between modules:\n{problems}"
    );
}

#[test]
fn the_facade_reexports_by_name() {
    let source = fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let tokens: Vec<Tok> = tokenize(&source).into_iter().map(|(t, _)| t).collect();
    let ident = |s: &str| Tok::Ident(s.to_owned());
    let glob = [ident("fstore_runtime"), Tok::PathSep, Tok::Punct('*')];
    let found = tokens.windows(3).position(|w| w == glob);
    let is_pub_use = found.is_some_and(|at| {
        // `pub use fstore_runtime::*`, `pub use ::fstore_runtime::*`, `pub(crate) use …`.
        let before: Vec<&Tok> = tokens[..at].iter().rev().take(6).collect();
        before.iter().any(|t| **t == ident("use")) && before.iter().any(|t| **t == ident("pub"))
    });
    assert!(
        !is_pub_use,
        "src/lib.rs re-exports the whole runtime (`pub use fstore_runtime::*`): re-export by \
         name what users need, and put what generated code calls in `#[doc(hidden)] pub mod \
         __private`"
    );
}

#[test]
fn the_runtime_links_no_code_generator() {
    // `no-proc-macro`: a proc-macro crate (`thiserror-impl`, `tokio-macros`) and what it is built
    // on run in the compiler; they are not linked into the runtime.
    let edges = "normal,no-proc-macro";
    let tree = cargo(&[
        "tree",
        "-p",
        "fstore-runtime",
        "-e",
        edges,
        "--prefix",
        "none",
    ]);
    let names: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        names.contains("fstore-runtime") && names.contains("redis"),
        "unexpected `cargo tree` output:\n{tree}"
    );
    let mut problems = String::new();
    for generator in ["syn", "quote", "proc-macro2"] {
        if names.contains(generator) {
            let why = cargo(&["tree", "-p", "fstore-runtime", "-e", edges, "-i", generator]);
            let _ = writeln!(problems, "`{generator}`, through:\n{why}");
        }
    }
    assert!(
        problems.is_empty(),
        "fstore-runtime links code-generation crates (code generation belongs in its own \
         crate, used by the derive and the CLI):\n{problems}"
    );
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on small crates
// ---------------------------------------------------------------------------------------------

fn crate_of(files: &[(&str, &str)]) -> Graph {
    graph(
        &files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
    )
}

fn edges_of(g: &Graph) -> Vec<(String, String)> {
    g.edges
        .iter()
        .flat_map(|(s, ts)| ts.keys().map(move |t| (s.clone(), t.clone())))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn checker_finds_a_cycle_through_every_path_form() {
    let g = crate_of(&[
        (
            "lib.rs",
            "mod a; mod b; pub mod c; pub use c::Thing as Renamed; pub use d::{Deep, self};",
        ),
        (
            "a.rs",
            "use crate::{b::{x, y}, other};\nfn f() { super::c::go(); }",
        ),
        ("b.rs", "pub fn x() { crate::Renamed::new(); }"),
        ("c/mod.rs", "mod inner;"),
        (
            "c/inner.rs",
            "use super::super::a::Z; // crate::b in a comment\nconst S: &str = \"crate::b::x\";",
        ),
        ("d.rs", "fn g() { self::h(); }"),
    ]);
    assert_eq!(
        edges_of(&g),
        pairs(&[("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")])
    );
    let found = cycles(&g);
    // The shortest of a → c → a and a → b → c → a.
    assert_eq!(found, [["a", "c", "a"]]);
    let text = describe(&g, &found[0]);
    assert!(
        text.contains("c/inner.rs:1: `super::super::a::Z`"),
        "{text}"
    );
}

#[test]
fn checker_ignores_tests_literals_and_paths_outside_the_crate() {
    let g = crate_of(&[
        ("lib.rs", "mod a; mod b; #[cfg(test)]\nmod tests;"),
        (
            "a.rs",
            "use std::fmt; use fstore_registry::b;\n\
             const R: &str = r#\"crate::b\"#; const C: char = '{'; fn f<'a>(x: &'a str) {}\n\
             #[cfg(test)]\n#[allow(unused)]\nmod tests { use crate::b::Thing; fn t() { crate::b::go(); } }\n\
             #[cfg(test)]\nuse crate::b::Other;",
        ),
        ("b.rs", "use crate::a::X;"),
        ("tests.rs", "use crate::a; use crate::b;"),
    ]);
    assert_eq!(edges_of(&g), pairs(&[("b", "a")]));
    assert!(cycles(&g).is_empty());
}

#[test]
fn checker_follows_inline_modules_and_root_reexports() {
    let g = crate_of(&[
        ("lib.rs", "mod error; mod store; pub use error::{Error, Result}; mod inline { use crate::store::S; }"),
        ("error.rs", "use crate::Store;"),
        ("store.rs", "use crate::Error; mod nested { use super::super::inline::Q; }"),
    ]);
    // `crate::Store` is not re-exported by the root: no edge; `crate::Error` is error's.
    assert_eq!(
        edges_of(&g),
        pairs(&[("inline", "store"), ("store", "error"), ("store", "inline")])
    );
    let found = cycles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], ["inline", "store", "inline"]);
}

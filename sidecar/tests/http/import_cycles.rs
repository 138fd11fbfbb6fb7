//! No file imports a file that imports it back. Each crate's files form a graph, an edge
//! from a file to every file whose module it names (`use crate::a::b`, `super::x`,
//! `self::child`, `child::f()`), comments and test modules aside; the test lists every
//! cycle, with the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates whose files are checked, by source directory.
const CRATES: [&str; 8] = [
    "rules/src",
    "zomes/media_integrity/src",
    "zomes/media_api/src",
    "zomes/media/src",
    "store/src",
    "sidecar/src",
    "node/src",
    "elohim-media/src",
];

/// A crate's modules (`a::b`, the root is ``) and their source, test modules and
/// comments removed.
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).unwrap().with_extension("");
                let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    parts.pop();
                }
                let text = std::fs::read_to_string(&path).expect("source file");
                out.insert(parts.join("::"), strip(&text));
            }
        }
    }
    out
}

/// The source without comments and without `#[cfg(test)]` modules.
fn strip(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let cut = line
            .match_indices("//")
            .find(|(i, _)| *i == 0 || line[..*i].ends_with([' ', '\t', ';', '{', '}', ',']))
            .map_or(line.len(), |(i, _)| i);
        code.push_str(&line[..cut]);
        code.push('\n');
    }
    while let Some(at) = code.find("#[cfg(test)]") {
        let rest = &code[at..];
        let Some(open) = rest.find(['{', ';']) else { break };
        let end = if rest.as_bytes()[open] == b';' {
            at + open + 1
        } else {
            let mut depth = 0;
            let mut end = code.len();
            for (i, c) in rest.char_indices().skip(open) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = at + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        };
        code.replace_range(at..end, "");
    }
    code
}

/// A path a source names, and whether it is a re-export (`pub use`).
struct Named {
    path: Vec<String>,
    reexport: bool,
}

/// Every path a source names: `use` trees expanded, then every `a::b::c` in the code.
fn paths(code: &str) -> Vec<Named> {
    let mut out = Vec::new();
    let mut rest = String::new();
    let mut text = code;
    while let Some(at) = find_use(text) {
        rest.push_str(&text[..at]);
        let end = text[at..].find(';').map_or(text.len(), |e| at + e + 1);
        let tree: String = text[at + 4..end - 1]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let before = text[..at].trim_end();
        let reexport = ["pub", "pub(crate)", "pub(super)"]
            .iter()
            .any(|p| before.ends_with(p));
        let mut expanded = Vec::new();
        expand(
            &strip_aliases(&tree).replace(' ', ""),
            &mut Vec::new(),
            &mut expanded,
        );
        out.extend(expanded.into_iter().map(|path| Named { path, reexport }));
        text = &text[end..];
    }
    rest.push_str(text);
    let bytes = rest.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) && (i == 0 || !(ident(bytes[i - 1]) || rest[..i].ends_with("::"))) {
            let mut j = i;
            while j < bytes.len() && (ident(bytes[j]) || rest[j..].starts_with("::")) {
                j += if bytes[j] == b':' { 2 } else { 1 };
            }
            let path: Vec<String> = rest[i..j]
                .trim_end_matches("::")
                .split("::")
                .map(String::from)
                .collect();
            if path.len() > 1 {
                out.push(Named {
                    path,
                    reexport: false,
                });
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Where the next `use` item starts (`use` or `pub use`, `pub(crate) use`).
fn find_use(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("use ") {
        let at = from + i;
        let before = text[..at].trim_end_matches([' ', '\t']);
        if before.is_empty() || before.ends_with(['\n', ';', '{', '}', ')', ']']) || before.ends_with("pub") {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// `a as b` becomes `a`.
fn strip_aliases(tree: &str) -> String {
    let mut out = Vec::new();
    let mut words = tree.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "as" {
            if let Some(alias) = words.next() {
                out.push(
                    alias
                        .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                        .to_string(),
                );
            }
        } else {
            out.push(w.to_string());
        }
    }
    out.join(" ")
}

/// Expands a `use` tree (`a::{b::c, d}`) into its paths.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree.find('{') {
        None => {
            let mut path = prefix.clone();
            path.extend(tree.split("::").filter(|s| !s.is_empty()).map(String::from));
            out.push(path);
        }
        Some(open) => {
            let head: Vec<String> = tree[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let depth = prefix.len();
            prefix.extend(head);
            let mut level = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => level += 1,
                    '}' => level -= 1,
                    ',' if level == 0 => {
                        expand(&inner[start..i], prefix, out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&inner[start..], prefix, out);
            }
            prefix.truncate(depth);
        }
    }
}

/// The crate's import graph: each module to the modules it names.
fn graph(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let join = |base: &[&str], tail: &[String]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(tail.iter().cloned())
            .collect()
    };
    let mut g = BTreeMap::new();
    for (module, code) in mods {
        let here: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        let mut edges = BTreeSet::new();
        for Named { path, reexport } in paths(code) {
            let mut full = match path[0].as_str() {
                "crate" => path[1..].to_vec(),
                "self" => join(&here, &path[1..]),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    join(&here[..here.len().saturating_sub(ups)], &path[ups..])
                }
                child => {
                    let candidate = join(&here, &[child.to_string()]).join("::");
                    if !mods.contains_key(&candidate) {
                        continue;
                    }
                    join(&here, &path)
                }
            };
            while !full.is_empty() && !mods.contains_key(&full.join("::")) {
                full.pop();
            }
            let target = full.join("::");
            // A module that re-exports its own submodule's items is its façade, not a
            // user of them.
            let own_child = full.len() > here.len() && full[..here.len()] == here[..];
            if &target != module && !(reexport && own_child) {
                edges.insert(target);
            }
        }
        g.insert(module.clone(), edges);
    }
    g
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Each cycle, with the edges inside it, as a report line.
fn report(krate: &str, g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    cycles(g)
        .into_iter()
        .map(|comp| {
            let inside: BTreeSet<&String> = comp.iter().collect();
            let edges: Vec<String> = comp
                .iter()
                .flat_map(|m| {
                    g[m].iter()
                        .filter(|t| inside.contains(t))
                        .map(move |t| format!("{m} -> {t}"))
                })
                .collect();
            format!("{krate}: {} files: {}", comp.len(), edges.join(", "))
        })
        .collect()
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let root = sidecar::testkit::repo_root();
    let mut found = Vec::new();
    let mut checked = 0;
    for krate in CRATES {
        let dir = root.join(krate);
        let mods = modules(&dir);
        checked += mods.len();
        found.extend(report(krate, &graph(&mods)));
    }
    assert!(checked > 100, "the sources were read: {checked} files");
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_sees_use_trees_super_and_child_paths() {
    let mods: BTreeMap<String, String> = [
        ("", "mod a; mod b; pub use a::Z;"),
        (
            "a",
            "use crate::{b::{self, X as Y}, c};\nfn f() { child::g() }\nmod child;",
        ),
        ("a::child", "pub fn g() { super::h() } // crate::c is a comment"),
        ("b", "pub(crate) use super::a::Z;"),
        ("c", "#[cfg(test)]\nmod tests { use crate::a; }"),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_string(), strip(s)))
    .collect();
    let g = graph(&mods);
    assert_eq!(g["a"], ["a::child", "b", "c"].map(String::from).into());
    assert_eq!(g["a::child"], ["a"].map(String::from).into());
    assert_eq!(g["b"], ["a"].map(String::from).into());
    assert!(g["c"].is_empty());
    assert!(g[""].is_empty(), "a re-export is a façade: {:?}", g[""]);
    let found = cycles(&g);
    assert_eq!(found, [["a", "a::child", "b"].map(String::from).to_vec()]);
}

//! The crate's layering, checked: the modules directly under `src/` import
//! each other only as the crate root's map (`src/lib.rs`) allows, each only
//! from modules of lower layers, so there is no cycle between them, direct
//! or through others.
//!
//! An import is a `crate::` path (in a `use` or in code, `use crate::{a,
//! b::c}` groups included) or a `super::` path that climbs to the crate
//! root, outside comments, string literals and `#[cfg(test)]` items.
//! `cargo test -p broker --test module_layers -- --nocapture` prints the
//! import graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A module of the map: its layer and the modules it may import.
#[derive(Debug)]
struct Declared {
    layer: usize,
    may_import: BTreeSet<String>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The source with comments gone and every string or char literal emptied,
/// so that neither can look like a path.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c == 'r' || (c == 'b' && chars.get(i + 1) == Some(&'r'))) && !prev_ident && {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let mut j = start;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            chars.get(j) == Some(&'"')
        } {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}'), or a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The source without its `#[cfg(test)]` items (a test module, function,
/// impl or `use`).
fn without_test_items(source: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find(MARK) {
        out.push_str(&rest[..start]);
        let item = &rest[start + MARK.len()..];
        // The item ends at its first `;` outside braces, or at the brace
        // that closes its first block.
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first identifier of each entry of a `{a::b, c, d::{e, f}}` group,
/// `text` starting just after its `{`.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut entry = String::new();
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(std::mem::take(&mut entry));
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            entry.push(c);
        }
    }
    heads.push(entry);
    heads
        .iter()
        .filter_map(|e| {
            let head: String = e.trim().chars().take_while(|&c| is_ident(c)).collect();
            (!head.is_empty() && head != "self").then_some(head)
        })
        .collect()
}

/// The crate-root modules a file's code names: `file_depth` is how many
/// `super::` climb from the file's own module to the crate root.
fn imports_of(code: &str, file_depth: usize) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    let mut lines = 1;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '\n' {
            lines += 1;
        }
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != '$';
        if !starts_word || !is_ident(bytes[i]) {
            i += 1;
            continue;
        }
        // One path: `crate::…` or `super::super::…`.
        let rest: String = bytes[i..bytes.len().min(i + 400)].iter().collect();
        let mut climbs = 0;
        let mut tail = rest.as_str();
        let rooted = if let Some(after) = tail.strip_prefix("crate") {
            tail = after;
            true
        } else {
            while let Some(after) = tail.strip_prefix("super") {
                let after = after.trim_start();
                match after.strip_prefix("::") {
                    Some(after) => {
                        climbs += 1;
                        tail = after.trim_start();
                    }
                    None => break,
                }
            }
            climbs > 0 && climbs == file_depth
        };
        if rooted {
            let after = if climbs > 0 {
                Some(tail)
            } else {
                tail.trim_start().strip_prefix("::").map(str::trim_start)
            };
            if let Some(after) = after {
                if let Some(group) = after.strip_prefix('{') {
                    for head in group_heads(group) {
                        found.push((head, lines));
                    }
                } else {
                    let head: String = after.chars().take_while(|&c| is_ident(c)).collect();
                    if !head.is_empty() && head != "self" {
                        found.push((head, lines));
                    }
                }
            }
        }
        // Past this word.
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
    }
    let _ = text;
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("reading src/")
        .map(|e| e.expect("reading src/").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module -> module it imports -> where (file:line).
fn import_graph() -> Graph {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph = Graph::new();
    for path in files {
        let relative = path.strip_prefix(&root).expect("under src/");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let file = parts.last().expect("a file name").clone();
        if parts.len() == 1 && (file == "lib.rs" || file == "main.rs") {
            continue;
        }
        let module = parts[0].trim_end_matches(".rs").to_string();
        // How deep the file's own module is below the crate root.
        let depth = if file == "mod.rs" {
            parts.len() - 1
        } else {
            parts.len()
        };
        let source = std::fs::read_to_string(&path).expect("reading a source file");
        let code = without_test_items(&strip(&source));
        for (target, line) in imports_of(&code, depth) {
            if target != module {
                graph
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_default()
                    .push(format!("src/{}:{line}", relative.display()));
            }
        }
        graph.entry(module).or_default();
    }
    graph
}

/// The map in the crate root's doc comment.
fn declared_layers() -> BTreeMap<String, Declared> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("reading src/lib.rs");
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let mut declared = BTreeMap::new();
    let mut layer = None;
    let mut bullet: Option<String> = None;
    let mut finish = |bullet: &mut Option<String>, layer: Option<usize>| {
        if let Some(text) = bullet.take() {
            let layer = layer.expect("a module line comes under a `## Layer N` heading");
            let name = text
                .strip_prefix("* [`")
                .and_then(|t| t.split_once("`]"))
                .map(|(n, _)| n.to_string())
                .unwrap_or_else(|| panic!("a map line names its module first: {text}"));
            let list = text
                .split_once("May import:")
                .map(|(_, l)| l.trim().trim_end_matches('.'))
                .unwrap_or_else(|| panic!("{name}: the map line says what it may import"));
            let may_import = if list == "nothing" {
                BTreeSet::new()
            } else {
                list.split(',')
                    .map(|m| m.trim().trim_matches('`').to_string())
                    .collect()
            };
            let previous = declared.insert(name.clone(), Declared { layer, may_import });
            assert!(previous.is_none(), "{name} is in the map twice");
        }
    };
    for line in doc {
        if let Some(n) = line
            .strip_prefix("## Layer ")
            .and_then(|l| l.split(':').next())
        {
            finish(&mut bullet, layer);
            layer = Some(n.trim().parse().expect("a layer number"));
        } else if line.starts_with("* [`") {
            finish(&mut bullet, layer);
            bullet = Some(line.to_string());
        } else if line.is_empty() || line.starts_with('#') {
            finish(&mut bullet, layer);
        } else if let Some(text) = &mut bullet {
            text.push(' ');
            text.push_str(line);
        }
    }
    finish(&mut bullet, layer);
    declared
}

/// A cycle of the graph, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|t| t.keys()) {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|m| m == next).expect("on the path");
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn modules_import_only_what_the_map_allows() {
    let graph = import_graph();
    let declared = declared_layers();
    for (module, targets) in &graph {
        println!(
            "{module} -> {}",
            targets.keys().cloned().collect::<Vec<_>>().join(" ")
        );
    }
    let mut problems = Vec::new();
    // The map names every module of the crate root, and only those.
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("reading src/lib.rs");
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let mapped: BTreeSet<String> = declared.keys().cloned().collect();
    for missing in modules.difference(&mapped) {
        problems.push(format!(
            "{missing} is a module but not in the map of src/lib.rs"
        ));
    }
    for extra in mapped.difference(&modules) {
        problems.push(format!(
            "{extra} is in the map of src/lib.rs but not a module"
        ));
    }
    // Each module may import only lower layers.
    for (module, decl) in &declared {
        for target in &decl.may_import {
            match declared.get(target) {
                None => problems.push(format!("{module} may import {target}, which is not in the map")),
                Some(t) if t.layer >= decl.layer => problems.push(format!(
                    "{module} (layer {}) may import {target} (layer {}): the map points an arrow upward",
                    decl.layer, t.layer
                )),
                _ => {}
            }
        }
    }
    // And imports only what the map says it may.
    for (module, targets) in &graph {
        let Some(decl) = declared.get(module) else {
            continue;
        };
        for (target, places) in targets {
            if !decl.may_import.contains(target) {
                problems.push(format!(
                    "{module} imports {target} ({}), which the map of src/lib.rs does not allow",
                    places.join(", ")
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_reader_finds_paths_and_skips_what_is_not_code() {
    let code = without_test_items(&strip(
        r##"use crate::config::{self, BrokerConfig};
use crate::{metadata::Image, storage};
// use crate::apis;
/* use crate::server; */
let s = "crate::broker";
let r = r#"crate::sasl"#;
let c = '"'; let l: &'a str = crate::tls::ANONYMOUS;
pub(crate) fn f() { super::super::coordinator::x(); }
#[cfg(test)]
mod tests { use crate::apis::Session; }
fn after() { crate::metrics::x(); }
"##,
    ));
    let heads: Vec<String> = imports_of(&code, 2).into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        heads,
        [
            "config",
            "metadata",
            "storage",
            "tls",
            "coordinator",
            "metrics"
        ]
    );
    // One `super::` from a file directly under src/ reaches the root; from
    // a file two levels down it does not.
    assert_eq!(imports_of("super::broker::Broker", 1).len(), 1);
    assert!(imports_of("super::broker::Broker", 2).is_empty());
}

#[test]
fn a_cycle_is_found() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string(), vec![]);
    }
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").expect("c").remove("a");
    assert_eq!(find_cycle(&graph), None);
}

//! No file loops: in each crate, the graph of which source file refers to
//! which module (through `crate::`, `super::` and `self::` paths, in `use`
//! lines and inline) has no cycle. A loop means two files can only be
//! understood, changed and tested together; the fix is to move what both
//! need into a third file below them.
//!
//! Module declarations (`mod x;`) are not references, and neither is code
//! under a trailing `#[cfg(test)]` (a test module refers to its own file).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A module path inside its crate (`[]` is the crate root).
type ModulePath = Vec<String>;

/// One source file: where it is and which module it is.
struct SourceFile {
    path: PathBuf,
    module: ModulePath,
    text: String,
}

fn rust_files(directory: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(directory).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is by its place under `src/`: `lib.rs` the root,
/// `a/mod.rs` and `a.rs` module `a`, `a/b.rs` module `a::b`.
fn module_of(source: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(source).expect("under src");
    let mut parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "lib.rs" | "main.rs" | "mod.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// The code of a file without comments and without its trailing test module.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start() == "#[cfg(test)]" && !line.starts_with(' ') {
            break;
        }
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Reads the path that starts at `text` (after a `crate::`-like prefix):
/// segments joined by `::`, possibly ending in a `{...}` group. Adds every
/// full path it names to `out`, each prefixed by `prefix`.
fn read_paths(text: &[u8], mut at: usize, prefix: &[String], out: &mut Vec<ModulePath>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        while at < text.len() && text[at].is_ascii_whitespace() {
            at += 1;
        }
        if at < text.len() && text[at] == b'{' {
            at += 1;
            loop {
                while at < text.len() && (text[at].is_ascii_whitespace() || text[at] == b',') {
                    at += 1;
                }
                if at >= text.len() || text[at] == b'}' {
                    return at + 1;
                }
                at = read_paths(text, at, &path, out);
            }
        }
        let start = at;
        while at < text.len() && (text[at].is_ascii_alphanumeric() || text[at] == b'_' || text[at] == b'*') {
            at += 1;
        }
        if at > start {
            path.push(String::from_utf8_lossy(&text[start..at]).into_owned());
        }
        if text[at..].starts_with(b"::") {
            at += 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// Every module path the code refers to, made absolute.
fn referenced_paths(code: &str, module: &ModulePath) -> Vec<ModulePath> {
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    // `super` is the parent module (for a `mod.rs` too: its module is the directory's).
    let parent: ModulePath = module[..module.len().saturating_sub(1)].to_vec();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent), ("self::", module.clone())] {
        let mut from = 0;
        while let Some(found) = code[from..].find(prefix) {
            let at = from + found;
            let preceded_by_ident = at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':');
            from = at + prefix.len();
            if !preceded_by_ident {
                read_paths(bytes, from, &base, &mut paths);
            }
        }
    }
    paths
}

/// The file a path refers to: the longest prefix of it that is a module.
fn target_of(path: &ModulePath, modules: &BTreeMap<ModulePath, usize>) -> Option<usize> {
    (0..=path.len()).rev().find_map(|length| modules.get(&path[..length].to_vec()).copied())
}

/// The first cycle in the graph, as file indices (first repeated last).
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(node: usize, edges: &[Vec<usize>], marks: &mut [Mark], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        marks[node] = Mark::Open;
        stack.push(node);
        for &next in &edges[node] {
            match marks[next] {
                Mark::Open => {
                    let start = stack.iter().position(|&open| open == next).expect("open nodes are on the stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, edges, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    (0..edges.len()).find_map(|node| if marks[node] == Mark::New { visit(node, edges, &mut marks, &mut Vec::new()) } else { None })
}

/// The cycle among one crate's files, described, if there is one.
fn cycle_in_crate(source: &Path) -> Option<String> {
    let mut paths = Vec::new();
    rust_files(source, &mut paths);
    paths.sort();
    let mut files: Vec<SourceFile> = paths
        .into_iter()
        .map(|path| SourceFile { module: module_of(source, &path), text: fs::read_to_string(&path).expect("read a source file"), path })
        .collect();
    // A file included with `#[path = "x.rs"] mod name;` is module `name` of its includer.
    let included: Vec<(PathBuf, ModulePath)> = files
        .iter()
        .flat_map(|file| {
            let lines: Vec<&str> = file.text.lines().collect();
            lines
                .windows(2)
                .filter_map(|pair| {
                    let target = pair[0].trim().strip_prefix("#[path = \"")?.strip_suffix("\"]")?;
                    let name = pair[1].trim().strip_prefix("mod ")?.strip_suffix(';')?;
                    let mut module = file.module.clone();
                    module.push(name.to_owned());
                    Some((file.path.parent().expect("a directory").join(target), module))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (path, module) in included {
        if let Some(file) = files.iter_mut().find(|file| file.path == path) {
            file.module = module;
        }
    }
    let modules: BTreeMap<ModulePath, usize> = files.iter().enumerate().map(|(index, file)| (file.module.clone(), index)).collect();
    let edges: Vec<Vec<usize>> = files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let mut targets: Vec<usize> = referenced_paths(&code_of(&file.text), &file.module)
                .iter()
                .filter_map(|path| target_of(path, &modules))
                .filter(|&target| target != index)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            targets
        })
        .collect();
    let name = |index: usize| files[index].path.strip_prefix(source).expect("under src").display().to_string();
    find_cycle(&edges).map(|cycle| cycle.into_iter().map(name).collect::<Vec<_>>().join(" -> "))
}

#[test]
fn no_two_source_files_refer_to_each_other_directly_or_in_a_loop() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crates directory");
    for name in ["pants-core", "pants-node"] {
        let source = crates.join(name).join("src");
        if let Some(cycle) = cycle_in_crate(&source) {
            panic!("{name}/src has a file loop: {cycle}");
        }
    }
}

#[test]
fn the_path_reader_sees_grouped_and_nested_imports() {
    let code = "use crate::{a::B, c::{d::E, F}};\nlet x = crate::g::h(super::i::J);";
    let found = referenced_paths(code, &vec!["m".to_owned(), "n".to_owned()]);
    let found: Vec<String> = found.iter().map(|path| path.join("::")).collect();
    assert_eq!(found, ["a::B", "c::d::E", "c::F", "g::h", "m::i::J"]);
}

#[test]
fn a_loop_is_found_and_named() {
    let edges = vec![vec![1], vec![2], vec![0], vec![]];
    assert_eq!(find_cycle(&edges), Some(vec![0, 1, 2, 0]));
    assert_eq!(find_cycle(&[vec![1], vec![], vec![0, 1]]), None);
}

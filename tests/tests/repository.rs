//! The repository stands alone: a user who clones it has nothing beside it, so no tracked
//! file may reach above its root or cite a document the clone does not hold, and the
//! committed sample corpus must be exactly what its generator makes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_path_buf()
}

/// Every tracked file (or, outside a git checkout, every file but `target/` and `.git/`).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    if let Ok(out) = listed
        && out.status.success()
    {
        return out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .collect();
    }
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    dirs.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn no_tracked_file_reaches_outside_the_repository_or_cites_what_a_clone_lacks() {
    let root = root();
    // Built from pieces, so that this file does not match itself.
    let forbidden = [
        format!("..{}shared{}", '/', '/'),
        format!("shared{}data{}v25", '/', '/'),
        format!("/..{}..", '/'),
        format!("SPEC {}", '§'),
        format!("[BUG] {}", '§'),
        format!("reference {}", '§'),
    ];
    let mut found = Vec::new();
    let files = tracked_files(&root);
    assert!(files.len() > 50, "found the repository's files");
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary
        };
        for (n, line) in text.lines().enumerate() {
            for pattern in &forbidden {
                if line.contains(pattern.as_str()) {
                    let shown = path.strip_prefix(&root).unwrap_or(&path).display();
                    found.push(format!("{shown}:{}: {pattern:?} in {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "files that reach outside the repository or cite what a clone lacks:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_committed_corpus_is_what_its_generator_makes() {
    let out = Command::new("python3")
        .arg("scripts/gen-corpus")
        .arg("--check")
        .current_dir(root())
        .output()
        .expect("python3 runs scripts/gen-corpus");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_charts_shard_tags_are_the_services_own() {
    let table = std::fs::read_to_string(root().join("helm/mutt/templates/_shards.tpl"))
        .expect("the chart's shard tags");
    let mut checked = 0;
    for line in table.lines().filter(|l| l.starts_with('"')) {
        let (count, tags) = line.split_once(": ").expect("\"n\": [tags]");
        let count: usize = count.trim_matches('"').parse().expect("a shard count");
        let tags: Vec<String> = serde_json::from_str(tags).expect("a list of tags");
        assert_eq!(
            tags,
            shared::redis::slots::shard_tags(count),
            "{count} shards"
        );
        checked += 1;
    }
    assert_eq!(checked, 16);
}

#[test]
fn the_rule_engine_is_pure_it_imports_no_io() {
    let dir = root().join("shared/src/rules");
    let io = [
        "crate::store",
        "deadpool",
        "tokio",
        "redis",
        "reqwest",
        "actix",
    ];
    let mut found = Vec::new();
    let mut dirs = vec![dir];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("shared/src/rules") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 5, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("source");
        for line in text.lines().filter(|l| l.trim_start().starts_with("use ")) {
            if io.iter().any(|c| line.contains(c)) {
                found.push(format!("{}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "IO in the rule engine:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_path_in_where_things_live_exists() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("architecture");
    let section = doc
        .split("## Where things live")
        .nth(1)
        .expect("docs/architecture.md has a \"Where things live\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let paths: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with('|'))
        .filter_map(|l| l.rsplit('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .collect();
    assert!(paths.len() > 30, "found the table: {paths:?}");
    let missing: Vec<&&str> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(missing.is_empty(), "listed but not there: {missing:?}");
}

/// The `crate::name` and (in a module's own top file) `super::name` paths in `text`,
/// comments left out.
fn module_paths(text: &str, top: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let prefixes: &[&str] = if top {
            &["crate::", "super::"]
        } else {
            &["crate::"]
        };
        for prefix in prefixes {
            for (at, _) in code.match_indices(prefix) {
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let name: String = code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let root = root();
    let mut cycles = Vec::new();
    for krate in [
        "shared",
        "alerter",
        "moog-forwarder",
        "ingestor",
        "webui",
        "tools",
    ] {
        let src = root.join(krate).join("src");
        let modules: Vec<String> = std::fs::read_dir(&src)
            .expect("src")
            .map(|e| e.expect("entry").path())
            .filter_map(|p| {
                let name = p.file_stem()?.to_str()?.to_owned();
                let module = p.is_dir() || p.extension().is_some_and(|e| e == "rs");
                (module && !["lib", "main", "bin"].contains(&name.as_str())).then_some(name)
            })
            .collect();
        let mut edges = std::collections::BTreeSet::new();
        for module in &modules {
            let mut files = Vec::new();
            let file = src.join(format!("{module}.rs"));
            if file.exists() {
                files.push((file, true));
            }
            let dir = src.join(module);
            if dir.is_dir() {
                let mut inner = Vec::new();
                rust_files(&dir, &mut inner);
                let top = dir.join("mod.rs");
                files.extend(inner.into_iter().map(|f| {
                    let is_top = f == top;
                    (f, is_top)
                }));
            }
            for (file, top) in files {
                let text = std::fs::read_to_string(&file).expect("source");
                for used in module_paths(&text, top) {
                    if &used != module && modules.contains(&used) {
                        edges.insert((module.clone(), used));
                    }
                }
            }
        }
        for (a, b) in &edges {
            if a < b && edges.contains(&(b.clone(), a.clone())) {
                cycles.push(format!("{krate}: {a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other:\n{}",
        cycles.join("\n")
    );
}

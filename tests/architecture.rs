//! The crate graph flows one way and no crate's modules import each other in a circle
//! (`docs/architecture.md`, "The map of crates"). Both are read from the sources: the
//! `[dependencies]` of every workspace member, and the `crate::` paths of every module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's crates from the bottom of the flow up: a crate may depend only on crates
/// before it. The same order as the table of docs/architecture.md.
const LAYERS: [(&str, &str); 16] = [
    ("switchboard-timer-queue", "timer-queue"),
    ("switchboard-engine", "engine"),
    ("switchboard-results", "results"),
    ("switchboard-plan", "plan"),
    ("switchboard-sim", "sim"),
    ("switchboard-plan-check", "plan-check"),
    ("switchboard-cost", "cost"),
    ("switchboard-sweep", "sweep"),
    ("switchboard-calibrate", "calibrate"),
    ("switchboard-media", "media"),
    ("switchboard-compliance", "compliance"),
    ("switchboard-connect-flow", "connect-flow"),
    ("switchboard-live", "live"),
    ("switchboard-agreement", "agreement"),
    ("switchboard-reports", "reports"),
    ("switchboard", "."),
];

/// Cycles left to other work, named so that this test says so instead of hiding them: the
/// engine's `model` ⇄ `waiting_line` (`WaitingLine` is held by the model and orders the
/// model's `ContactKey` and `Rank`), which belongs to the engine's own reorganisation.
const KNOWN_CYCLES: [(&str, &[&str]); 1] = [("switchboard-engine", &["model", "waiting_line"])];

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `switchboard-*` crates a manifest's `[dependencies]` name (not dev-dependencies: tests
/// may build whatever they need).
fn dependencies(folder: &str) -> Vec<String> {
    let path = repository().join(folder).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    manifest
        .get("dependencies")
        .and_then(|dependencies| dependencies.as_table())
        .map(|dependencies| {
            dependencies
                .keys()
                .filter(|name| name.starts_with("switchboard-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_workspace_member_has_its_place_in_the_layers() {
    let root: toml::Table =
        toml::from_str(&std::fs::read_to_string(repository().join("Cargo.toml")).unwrap()).unwrap();
    let members: BTreeSet<&str> = root["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member.as_str().unwrap())
        .collect();
    let layered: BTreeSet<&str> = LAYERS
        .iter()
        .map(|(_, folder)| *folder)
        .filter(|folder| *folder != ".")
        .collect();
    assert_eq!(members, layered, "LAYERS names every member once");
}

#[test]
fn no_crate_depends_on_one_above_it() {
    let position = |name: &str| {
        LAYERS
            .iter()
            .position(|(crate_name, _)| *crate_name == name)
    };
    let mut upward = Vec::new();
    for (index, (name, folder)) in LAYERS.iter().enumerate() {
        for dependency in dependencies(folder) {
            let Some(dependency_index) = position(&dependency) else {
                panic!("{name} depends on {dependency}, which LAYERS does not place");
            };
            if dependency_index >= index {
                upward.push(format!("{name} → {dependency}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "dependencies against the flow: {upward:?}"
    );
}

/// The `.rs` files under a folder, sorted.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The names after `prefix` in `text`: `crate::page::escape` gives `page`.
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(start, _)| {
            // `crate::` itself, not the end of `switchboard_crate::`.
            text[..*start]
                .chars()
                .next_back()
                .map_or(true, |before| !(before.is_alphanumeric() || before == '_'))
        })
        .map(|(start, _)| {
            let rest = &text[start + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// Module → the other modules of the same crate it names, from the code (comments and test
/// modules left out). A module is a top-level file or folder of `src/`.
fn module_graph(source: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(source) {
        let relative = file.strip_prefix(source).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut named: Vec<&str> = paths_after(&code, "crate::");
        if relative.components().count() == 1 {
            // In a top-level file `super::` is the crate.
            named.extend(paths_after(&code, "super::"));
        }
        let entry = uses.entry(top.clone()).or_default();
        entry.extend(
            named
                .into_iter()
                .map(str::to_string)
                .filter(|name| *name != top),
        );
    }
    let modules: BTreeSet<String> = uses.keys().cloned().collect();
    for named in uses.values_mut() {
        named.retain(|name| modules.contains(name));
    }
    uses
}

/// The groups of modules that import each other in a circle (strongly connected components of
/// more than one module).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut pending = vec![from.to_string()];
        while let Some(module) = pending.pop() {
            for next in &graph[&module] {
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> = graph
        .keys()
        .map(|module| (module, reaches(module)))
        .collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        let mut group: Vec<String> = graph
            .keys()
            .filter(|other| {
                *other == module
                    || (reachable[module].contains(*other) && reachable[other].contains(module))
            })
            .cloned()
            .collect();
        group.sort();
        if group.len() > 1 && !found.contains(&group) {
            found.push(group);
        }
    }
    found
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut unexpected = Vec::new();
    for (name, folder) in LAYERS {
        let source = repository().join(folder).join("src");
        for group in cycles(&module_graph(&source)) {
            let known = KNOWN_CYCLES
                .iter()
                .any(|(crate_name, modules)| *crate_name == name && group == *modules);
            if !known {
                unexpected.push(format!("{name}: {}", group.join(" ⇄ ")));
            }
        }
    }
    assert!(unexpected.is_empty(), "import cycles: {unexpected:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(module, named)| {
        (
            module.to_string(),
            named.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        paths_after("use crate::page::x; switchboard_crate::y", "crate::"),
        ["page"]
    );
}

/// The rows of the map of crates in docs/architecture.md: (crate, the crates it depends on).
fn documented_layers() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(repository().join("docs/architecture.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|section| section.starts_with("The map of crates"))
        .expect("docs/architecture.md has a map of crates");
    section
        .lines()
        .filter(|line| line.starts_with("| `switchboard"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells[0]
                .trim_start_matches("| `")
                .split('`')
                .next()
                .unwrap()
                .to_string();
            let depends = cells[cells.len() - 1].trim_end_matches(" |");
            let named: Vec<String> = depends
                .split(", ")
                .map(|dependency| dependency.split(' ').next().unwrap())
                .filter(|dependency| !matches!(*dependency, "none" | "every"))
                .map(|dependency| format!("switchboard-{dependency}"))
                .collect();
            (name, named)
        })
        .collect()
}

#[test]
fn the_map_of_crates_in_the_architecture_guide_is_the_code() {
    let documented = documented_layers();
    let names: Vec<&str> = documented.iter().map(|(name, _)| name.as_str()).collect();
    let layered: Vec<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names, layered,
        "the guide lists the crates in the order of LAYERS"
    );
    for ((name, named), (_, folder)) in documented.iter().zip(LAYERS) {
        if *name == "switchboard" {
            continue;
        }
        let mut actual = dependencies(folder);
        actual.sort();
        let mut named = named.clone();
        named.sort();
        assert_eq!(
            named, actual,
            "{name}: the guide's dependencies are the manifest's"
        );
    }
}

//! Every TOML example of `docs/cost.md` is checked: usage files (`[[day_type]]`) load and
//! validate, simulated day types are simulated (relative to `scenarios/usage/`, where the
//! bundled copy of the example lives), price books (`[[item]]`) parse.

use std::path::{Path, PathBuf};

use switchboard_cost::{PriceBook, Usage};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (line of the opening fence, text) of each ```toml block.
fn toml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```toml" => current = Some((index + 1, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    blocks
}

/// The file without its comment lines and the blank lines they leave at the top.
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[test]
fn every_toml_example_of_the_cost_guide_is_valid() {
    let guide = std::fs::read_to_string(repository().join("docs/cost.md")).unwrap();
    let blocks = toml_blocks(&guide);
    let mut usages = 0;
    let mut simulated = 0;
    let mut books = 0;
    for (line, text) in &blocks {
        let place = format!("docs/cost.md, example at line {line}");
        if text.contains("[[day_type]]") {
            let usage: Usage =
                toml::from_str(text).unwrap_or_else(|error| panic!("{place}: {error}"));
            usage
                .validate()
                .unwrap_or_else(|error| panic!("{place}: {error}"));
            if usage.has_unsimulated_day_types() {
                let resolved = switchboard_cost::simulated::resolve(
                    usage,
                    &repository().join("scenarios/usage"),
                    1,
                )
                .unwrap_or_else(|error| panic!("{place}: {error}"));
                assert!(!resolved.has_unsimulated_day_types());
                assert!(resolved.named_agents.is_some(), "{place}");
                simulated += 1;
            }
            usages += 1;
        } else if text.contains("[[item]]") {
            PriceBook::parse(Path::new("docs/cost.md"), text)
                .unwrap_or_else(|error| panic!("{place}: {error}"));
            books += 1;
        }
    }
    assert!(usages >= 2 && simulated >= 1 && books >= 1, "{blocks:?}");
}

#[test]
fn the_simulated_year_of_the_guide_is_the_bundled_one() {
    let guide = std::fs::read_to_string(repository().join("docs/cost.md")).unwrap();
    let bundled =
        std::fs::read_to_string(repository().join("scenarios/usage/simulated-peaky-year.toml"))
            .unwrap();
    let bundled = without_comments(&bundled);
    assert!(
        toml_blocks(&guide)
            .iter()
            .any(|(_, text)| text.trim() == bundled),
        "docs/cost.md shows scenarios/usage/simulated-peaky-year.toml as it is"
    );
}

//! Every TOML example in `docs/sweep.md` is read as a sweep file over the bundled scenarios, so
//! an example that no longer parses or addresses a key that is gone fails here.

use std::path::Path;

use crate::spec::parse_sweep;

const SWEEP_DOC: &str = include_str!("../../docs/sweep.md");

fn toml_examples(markdown: &str) -> Vec<(usize, String)> {
    let mut examples = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None if line.starts_with("```toml") => current = Some((index + 1, String::new())),
            None => {}
            Some(_) if line.starts_with("```") => examples.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    examples
}

#[test]
fn every_example_of_the_sweep_guide_expands_into_points() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let examples = toml_examples(SWEEP_DOC);
    assert!(
        examples.len() >= 3,
        "the guide shows a grid, a scale and variants"
    );
    for (line, text) in &examples {
        let sweep = parse_sweep(&format!("docs/sweep.md:{line}"), text, &scenarios)
            .unwrap_or_else(|error| panic!("{error}"));
        for point in &sweep.points {
            let file = sweep.point_file_name(point);
            let scenario = switchboard_sim::scenario::parse_scenario(
                &file,
                &sweep.point_text(point),
                &scenarios,
            )
            .unwrap_or_else(|error| panic!("{error}"));
            switchboard_sim::run::prepare(&scenario).unwrap_or_else(|error| panic!("{error}"));
        }
    }
    assert_eq!(
        parse_sweep("grid", &examples[0].1, &scenarios)
            .unwrap()
            .points
            .len(),
        8
    );
}

//! Every TOML example in `docs/scenario.md` is part of the test suite: an example that no
//! longer parses (a key renamed, a type changed) fails here, not in a reader's hands.
//!
//! Blocks fenced as ```` ```toml ```` must parse as the center's configuration, hold only
//! known top-level tables and build a `Center`; a block fenced as ```` ```toml fragment ````
//! (a piece that cannot stand alone) only has to parse; a block fenced as
//! ```` ```toml shifts-file ```` must read as a `[[people]] shifts_file`.

use switchboard_engine::{Center, CenterConfig};

use crate::scenario_file::unknown_top_level_keys;

const SCENARIO_DOC: &str = include_str!("../docs/scenario.md");

struct Example {
    /// 1-based line of the opening fence in the document.
    line: usize,
    /// False for a ```` ```toml fragment ````.
    complete: bool,
    /// True for a ```` ```toml shifts-file ````.
    shifts_file: bool,
    text: String,
}

fn toml_examples(markdown: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    for (index, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```toml") {
                    current = Some(Example {
                        line: index + 1,
                        complete: !info
                            .split_whitespace()
                            .any(|word| word == "fragment" || word == "shifts-file"),
                        shifts_file: info.split_whitespace().any(|word| word == "shifts-file"),
                        text: String::new(),
                    });
                }
            }
            Some(example) => {
                if line.starts_with("```") {
                    examples.extend(current.take());
                } else {
                    example.text.push_str(line);
                    example.text.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "a ```toml block is never closed");
    examples
}

#[test]
fn every_toml_example_in_the_scenario_guide_is_a_valid_center_configuration() {
    let examples = toml_examples(SCENARIO_DOC);
    // The guide has an example for every table; finding few would mean the extraction broke.
    assert!(examples.len() >= 12, "found {} examples", examples.len());
    for example in &examples {
        let where_ = format!("docs/scenario.md, example at line {}", example.line);
        if example.shifts_file {
            if let Err(error) = switchboard_sim::scenario::read_shifts_file(&where_, &example.text)
            {
                panic!("{error}");
            }
            continue;
        }
        let config: CenterConfig =
            toml::from_str(&example.text).unwrap_or_else(|error| panic!("{where_}: {error}"));
        let unknown = unknown_top_level_keys(&example.text).unwrap();
        assert!(unknown.is_empty(), "{where_}: unknown tables {unknown:?}");
        if example.complete {
            if let Err(error) = Center::new(config) {
                panic!("{where_}: {error}");
            }
        }
    }
}

#[test]
fn examples_are_extracted_with_their_fence_options() {
    let markdown = "text\n```toml\na = 1\n```\n```toml fragment\nb = 2\n```\n```text\nc\n```\n";
    let examples = toml_examples(markdown);
    assert_eq!(examples.len(), 2);
    assert_eq!((examples[0].line, examples[0].complete), (2, true));
    assert_eq!(examples[0].text, "a = 1\n");
    assert_eq!((examples[1].line, examples[1].complete), (5, false));
}

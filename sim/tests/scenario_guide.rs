//! Every TOML example of the simulation section of `docs/scenario.md` is read and compiled by
//! the simulator: a complete example as it stands, a fragment inside a minimal scenario with a
//! `sales` queue and a `sales-team` group.

use switchboard_sim::run::model_from_text;
use switchboard_sim::scenario::read_shifts_file;

const GUIDE: &str = include_str!("../../docs/scenario.md");

const AROUND_A_FRAGMENT: &str = r#"
[scenario]
duration = "8h"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[agents]]
name = "sales-team"
count = 12
skills = ["sales"]
"#;

#[test]
fn every_simulation_example_compiles() {
    let section = GUIDE
        .split_once("## Simulation")
        .expect("the guide has a simulation section")
        .1;
    let mut examples = 0;
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```toml") else {
            continue;
        };
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|line| !line.starts_with("```"))
            .collect();
        let block = block.join("\n") + "\n";
        if info.contains("shifts-file") {
            // A `[[people]] shifts_file`'s contents, not a scenario: read as such.
            if let Err(error) = read_shifts_file("docs/scenario.md", &block) {
                panic!("example {}: {error}\n{block}", examples + 1);
            }
            examples += 1;
            continue;
        }
        let text = if info.contains("fragment") {
            format!("{AROUND_A_FRAGMENT}\n{block}")
        } else {
            block
        };
        if let Err(error) = model_from_text(&text) {
            panic!("example {}: {error}\n{text}", examples + 1);
        }
        examples += 1;
    }
    assert!(examples >= 5, "found {examples} examples");
}

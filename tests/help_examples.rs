//! Every example in the program's help names files that exist: a `--help` that points to a
//! scenario the repository does not have sends its reader nowhere.

mod common;

use std::process::Command;

fn help(arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(arguments)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{arguments:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands listed under "Commands:" in the top-level help.
fn subcommands() -> Vec<String> {
    let top = help(&[]);
    let start = top.find("Commands:").expect("a Commands: section");
    top[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Words of a help text that are paths inside the repository's own folders.
fn repository_paths(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'' | '"' | '`'))
        .map(|word| word.trim_end_matches(['.', ':', ';']))
        .filter(|word| {
            ["scenarios/", "docs/", "tests/", "live/"]
                .iter()
                .any(|root| word.starts_with(root))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_path_in_every_help_text_exists() {
    let commands = subcommands();
    assert!(commands.iter().any(|name| name == "serve"), "{commands:?}");
    let mut checked = 0;
    for command in &commands {
        let text = help(&[command]);
        for path in repository_paths(&text) {
            assert!(
                common::repository_file(&path).exists(),
                "`switchboard {command} --help` names {path}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} paths found in the help texts");
}

#[test]
fn serve_help_names_the_bundled_live_scenario_and_its_secrets() {
    let text = help(&["serve"]);
    assert!(
        repository_paths(&text).contains(&"scenarios/live-center.toml".to_owned()),
        "{text}"
    );
    assert!(common::repository_file("scenarios/live-center-secrets.toml").exists());
}

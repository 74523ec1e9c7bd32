//! One error style for every file a person writes: `FILE:LINE:COLUMN: what was expected`, the
//! line with a caret under the column, "did you mean" for a misspelt name, and no Rust type
//! name (`u32`, `f64`, `usize`) in the words. One bad file per kind of reader: a scenario
//! (`check` and `sim`), a shift file, a price book, a usage file, a forecast CSV, a plan file
//! and the live configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str, text: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("error-style");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The standard error of a command that must fail.
fn refused(arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(arguments)
        .output()
        .expect("switchboard runs");
    assert!(!output.status.success(), "{arguments:?} should fail");
    String::from_utf8(output.stderr).unwrap()
}

/// `error` points at `file`:`line`:`column`, says `expected`, shows line `line` of `text`
/// with a caret under `column`, and names no Rust type.
fn assert_error_style(error: &str, file: &Path, line: usize, column: usize, expected: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let place = format!("{}:{line}:{column}: ", file.display());
    let start = error
        .find(&place)
        .unwrap_or_else(|| panic!("{place} in:\n{error}"));
    let message = &error[start..];
    assert!(message.contains(expected), "{expected:?} in:\n{message}");
    let source_line = text.lines().nth(line - 1).unwrap();
    let number = line.to_string();
    let padding = " ".repeat(number.len());
    let caret = " ".repeat(column - 1);
    let snippet = format!("\n{padding} |\n{number} | {source_line}\n{padding} | {caret}^");
    assert!(message.contains(&snippet), "{snippet:?} in:\n{message}");
    for type_name in [
        "u8", "u16", "u32", "u64", "usize", "i32", "i64", "f32", "f64", "struct",
    ] {
        assert!(
            !message
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == type_name),
            "{type_name} in:\n{message}"
        );
    }
}

fn base_scenario() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
        .unwrap()
}

/// The line and column (from 1) where `needle` starts in `text`.
fn place_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("the needle is in the text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (line, column)
}

#[test]
fn a_scenario_in_check_and_in_sim() {
    let text = base_scenario().replacen("[[queue]]\n", "[[queue]]\nskils = [\"sales\"]\n", 1);
    let file = scratch("misspelt.toml", &text);
    let (line, column) = place_of(&text, "skils");
    let file_text = file.to_str().unwrap();
    for command in ["check", "sim"] {
        let error = refused(&[command, file_text]);
        assert_error_style(&error, &file, line, column, "did you mean `skills`?");
    }
    // A wrong type, in words.
    let text = base_scenario() + "\n[[people]]\nagents = \"sales-team\"\nno_answer = \"often\"\n";
    let file = scratch("wrong-type.toml", &text);
    let (line, column) = place_of(&text, "\"often\"");
    let error = refused(&["sim", file.to_str().unwrap()]);
    assert_error_style(&error, &file, line, column, "expected a number");
}

#[test]
fn a_shift_file() {
    let plan = scratch("plan.csv", "start,agents,staff\n0s,1,2\n30m,1,2\n");
    let text = "[[shift]]\nname = \"early\"\nstarts = [\"0h\"]\nlenght = \"8h\"\n";
    let shifts = scratch("shifts.toml", text);
    let error = refused(&[
        "plan",
        "schedule",
        plan.to_str().unwrap(),
        "--shifts",
        shifts.to_str().unwrap(),
    ]);
    let (line, column) = place_of(text, "lenght");
    assert_error_style(&error, &shifts, line, column, "did you mean `length`?");
    // A problem of meaning, at the template's name.
    let text = "[[shift]]\nname = \"early\"\nstarts = [\"0h\"]\nlength = \"0s\"\n";
    let shifts = scratch("shifts-zero.toml", text);
    let error = refused(&[
        "plan",
        "schedule",
        plan.to_str().unwrap(),
        "--shifts",
        shifts.to_str().unwrap(),
    ]);
    let (line, column) = place_of(text, "\"early\"");
    assert_error_style(&error, &shifts, line, column, "length must be above 0 s");
}

#[test]
fn a_price_book_and_a_usage_file() {
    let text = "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n[[item]]\nkind = \"named_seat\"\nprice = -1\nsource = \"s\"\n";
    let book = scratch("book.toml", text);
    let error = refused(&[
        "cost",
        "scenarios/usage/flat-small-shop.toml",
        "--pricebook",
        book.to_str().unwrap(),
    ]);
    let (line, column) = place_of(text, "-1");
    assert_error_style(
        &error,
        &book,
        line,
        column,
        "expected a price of zero or more",
    );

    let usage = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/usage/flat-small-shop.toml"),
    )
    .unwrap();
    let (key, _) = usage
        .lines()
        .find_map(|line| line.split_once(" = "))
        .expect("a key in the usage file");
    let text = usage.replacen(&format!("{key} = "), &format!("{key}x = "), 1);
    let file = scratch("usage.toml", &text);
    let error = refused(&["cost", file.to_str().unwrap()]);
    let (line, column) = place_of(&text, &format!("{key}x = "));
    assert_error_style(
        &error,
        &file,
        line,
        column,
        &format!("did you mean `{key}`?"),
    );
}

#[test]
fn a_forecast_csv_and_a_plan_file() {
    let text = "start,volume\n0m,8\n30m,lots\n";
    let forecast = scratch("forecast.csv", text);
    let error = refused(&[
        "plan",
        "staff",
        forecast.to_str().unwrap(),
        "--aht",
        "3m",
        "--sl",
        "80/20",
    ]);
    assert_error_style(&error, &forecast, 3, 5, "expected a volume");

    let plan = scratch("group-plan.csv", "start,agents\n0s,10\n4h,11,7\n");
    let scenario = scratch(
        "planned.toml",
        &(base_scenario()
            + "\n[[people]]\nagents = \"sales-team\"\nplan_file = \"group-plan.csv\"\n"),
    );
    let error = refused(&["sim", scenario.to_str().unwrap(), "--replications", "1"]);
    assert_error_style(&error, &plan, 3, 7, "a field beyond the header's 2 columns");
}

#[test]
fn the_live_configuration() {
    let text = base_scenario() + "\n[live]\nauto_redy = true\n";
    let file = scratch("live.toml", &text);
    let error = refused(&["serve", file.to_str().unwrap()]);
    let (line, column) = place_of(&text, "auto_redy");
    assert_error_style(&error, &file, line, column, "did you mean `auto_ready`?");
}

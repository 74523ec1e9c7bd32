//! End to end: `switchboard cost` on the bundled usage files and every bundled price book.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundled_books() -> Vec<PathBuf> {
    let mut books: Vec<PathBuf> = std::fs::read_dir(repository().join("scenarios/pricebooks"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    books.sort();
    books
}

fn switchboard(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repository())
        .args(arguments)
        .output()
        .expect("switchboard runs")
}

#[test]
fn every_bundled_book_prices_the_double_11_year_as_json() {
    let books = bundled_books();
    assert!(books.len() >= 6, "bundled books: {books:?}");
    let mut arguments: Vec<String> = vec![
        "cost".into(),
        "scenarios/usage/double-11-year.toml".into(),
        "--years".into(),
        "5".into(),
        "--growth".into(),
        "0.1".into(),
        "--exchange-rate".into(),
        "USD_CNY=7.1".into(),
        "--currency".into(),
        "CNY".into(),
        "--json".into(),
    ];
    for book in &books {
        arguments.push("--pricebook".into());
        arguments.push(book.display().to_string());
    }
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let output = switchboard(&arguments);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["schema"], "switchboard-cost/1");
    assert_eq!(report["currency"], "CNY");
    let options = report["options"].as_array().unwrap();
    assert_eq!(options.len(), books.len());
    for option in options {
        let years = option["years"].as_array().unwrap();
        assert_eq!(years.len(), 5, "{}", option["name"]);
        assert!(
            option["total_cash"].as_f64().unwrap() > 0.0,
            "{}",
            option["name"]
        );
        assert!(
            option["total_npv"].as_f64().unwrap() < option["total_cash"].as_f64().unwrap(),
            "NPV at 8 % is below cash for {}",
            option["name"]
        );
        assert!(option["illustrative"].as_bool().unwrap());
        for line in option["breakdown"].as_array().unwrap() {
            assert!(
                !line["source"].as_str().unwrap().trim().is_empty(),
                "every line names its source: {line}"
            );
        }
    }
    // Every pair of options has a break-even entry; a tornado per option.
    let pairs = books.len() * (books.len() - 1) / 2;
    assert_eq!(report["break_even"].as_array().unwrap().len(), pairs);
    assert_eq!(report["tornado"].as_array().unwrap().len(), books.len());
}

#[test]
fn the_table_and_the_html_section_are_written() {
    let folder = std::env::temp_dir().join(format!("switchboard-cost-test-{}", std::process::id()));
    let folder_text = folder.display().to_string();
    let output = switchboard(&[
        "cost",
        "scenarios/usage/flat-small-shop.toml",
        "--exchange-rate",
        "USD_CNY=7.1",
        "--out",
        &folder_text,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("Flat small shop"), "{table}");
    assert!(table.contains("ILLUSTRATIVE"), "{table}");
    assert!(table.contains("Private FreeSWITCH build"), "{table}");
    let html = std::fs::read_to_string(folder.join("cost.html")).unwrap();
    assert!(html.starts_with("<section"));
    assert!(html.contains("<svg") && html.contains("<polyline"));
    // Nothing is fetched: addresses appear only as text (the sources of prices).
    for fetching in ["src=\"http", "href=\"http", "<script", "<link", "url("] {
        assert!(!html.contains(fetching), "{fetching} in {html}");
    }
    // Labour apart, and whose rates it is.
    assert!(html.contains("<th>labour</th>"), "{html}");
    assert!(
        html.contains("Labour is the same for every option"),
        "{html}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("cost.json")).unwrap()).unwrap();
    assert_eq!(json["usage"], "Flat small shop");
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_bad_price_book_fails_with_its_position() {
    let folder = std::env::temp_dir().join(format!("switchboard-cost-bad-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let book = folder.join("bad.toml");
    std::fs::write(
        &book,
        "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n[[item]]\nkind = \"named_seat\"\nprice = -1\nsource = \"s\"\n",
    )
    .unwrap();
    let book_text = book.display().to_string();
    let output = switchboard(&[
        "cost",
        "scenarios/usage/flat-small-shop.toml",
        "--pricebook",
        &book_text,
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{book_text}:6:9: expected a price of zero or more"
        )),
        "{stderr}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn help_shows_examples() {
    let output = switchboard(&["cost", "--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--exchange-rate"), "{help}");
    // The three inputs each have an example.
    assert!(
        help.contains("switchboard cost scenarios/smb-saas.toml"),
        "{help}"
    );
    assert!(help.contains("switchboard cost out/smb"), "{help}");
    assert!(help.contains("simulated-peaky-year.toml"), "{help}");
    assert!(help.contains("--days-per-year"), "{help}");
}

fn temporary_folder(name: &str) -> PathBuf {
    let folder =
        std::env::temp_dir().join(format!("switchboard-cost-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

fn succeed(arguments: &[&str]) -> String {
    let output = switchboard(arguments);
    assert!(
        output.status.success(),
        "{arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn fail(arguments: &[&str]) -> String {
    let output = switchboard(arguments);
    assert!(!output.status.success(), "{arguments:?} should fail");
    String::from_utf8(output.stderr).unwrap()
}

const PROMOTION: &str = "scenarios/usage/simulated/promotion-day.toml";
const CONCURRENT: &str = "scenarios/pricebooks/concurrent-seat-30-minute-rule.toml";

#[test]
fn a_scenario_is_simulated_and_priced_the_same_on_any_number_of_threads() {
    let price = |threads: &str| {
        succeed(&[
            "cost",
            PROMOTION,
            "--days-per-year",
            "2",
            "--pricebook",
            CONCURRENT,
            "--threads",
            threads,
            "--json",
        ])
    };
    let one = price("1");
    assert_eq!(one, price("2"), "the same usage on 1 and 2 threads");
    let report: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(report["usage"], "Promotion morning (simulated)");
    // Days per year given: nothing to warn about.
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert!(report["options"][0]["total_cash"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_scenario_with_out_writes_its_results_and_a_report_with_the_costs() {
    let folder = temporary_folder("scenario-out");
    let folder_text = folder.display().to_string();
    succeed(&[
        "cost",
        PROMOTION,
        "--pricebook",
        CONCURRENT,
        "--out",
        &folder_text,
    ]);
    for file in [
        "summary.json",
        "intervals.csv",
        "cost.json",
        "cost.html",
        "report.html",
    ] {
        assert!(folder.join(file).is_file(), "{file} is written");
    }
    // One simulated day priced as 365 without being told so is warned about.
    let cost: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("cost.json")).unwrap()).unwrap();
    let warnings = cost["warnings"].as_array().unwrap();
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("the one simulated day is priced as 365 such days a year"),
        "{warnings:?}"
    );
    let report = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(report.contains("<h2>Costs</h2>"), "{report}");
    assert!(
        report.contains("365 such days a year"),
        "the report shows the warning"
    );
    assert!(report.contains("class=\"switchboard-cost\""));
    assert!(report.contains("href=\"cost.json\""));
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_results_folder_is_priced_and_its_report_gains_a_costs_section() {
    let folder = temporary_folder("results-folder");
    let folder_text = folder.display().to_string();
    succeed(&["sim", PROMOTION, "--quiet", "--out", &folder_text]);
    let before = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(
        !before.contains("<h2>Costs</h2>"),
        "no costs before pricing"
    );
    let table = succeed(&[
        "cost",
        &folder_text,
        "--days-per-year",
        "2",
        "--pricebook",
        CONCURRENT,
        "--out",
        &folder_text,
    ]);
    assert!(table.contains("Promotion morning (simulated)"), "{table}");
    let after = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(after.contains("<h2>Costs</h2>"));
    assert!(after.contains("class=\"switchboard-cost\""));
    // The simulator's own figures are untouched.
    assert!(after.contains(&before[..before.find("<nav>").unwrap()]));
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn an_input_that_is_neither_scenario_usage_nor_results_is_refused_clearly() {
    let folder = temporary_folder("unknown-input");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("other.toml");
    std::fs::write(&file, "name = \"x\"\n[center]\n").unwrap();
    let file_text = file.display().to_string();
    let stderr = fail(&["cost", &file_text]);
    assert!(
        stderr.contains(&format!(
            "{file_text}: neither a simulation scenario (no [scenario] table) nor a usage file (no [[day_type]])"
        )),
        "{stderr}"
    );
    let folder_text = folder.display().to_string();
    let stderr = fail(&["cost", &folder_text]);
    assert!(
        stderr.contains("not a results folder of `switchboard sim --out DIR` (summary.json and intervals.csv missing)"),
        "{stderr}"
    );
    let stderr = fail(&["cost", "no/such/usage.toml"]);
    assert!(
        stderr.contains("no/such/usage.toml: no such file or folder"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_usage_file_naming_a_broken_scenario_points_at_the_scenario_line() {
    let folder = temporary_folder("broken-scenario");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("day.toml"),
        "[scenario]\nduration = \"4h\"\nreplications = 1\n\n[[queue]]\nname = \"q\"\nchannel = \"voice\"\nskills = [\"s\"]\n\n[[traffic]]\nqueue = \"q\"\nrate = \"ten an hour\"\nhandle_time = { dist = \"exponential\", mean = \"4m\" }\n",
    )
    .unwrap();
    let usage = folder.join("year.toml");
    std::fs::write(
        &usage,
        "name = \"y\"\n[[day_type]]\nname = \"d\"\ndays_per_year = 1\nsimulate = { scenario = \"day.toml\" }\n",
    )
    .unwrap();
    let stderr = fail(&["cost", &usage.display().to_string()]);
    assert!(
        stderr.contains("day_type \"d\": simulate.scenario: ") && stderr.contains("day.toml:12:"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn the_days_per_year_default_is_warned_about_on_the_terminal() {
    let folder = temporary_folder("days-warning");
    let folder_text = folder.display().to_string();
    succeed(&["sim", PROMOTION, "--quiet", "--out", &folder_text]);
    let output = switchboard(&["cost", &folder_text, "--pricebook", CONCURRENT]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: the one simulated day is priced as 365 such days a year (the --days-per-year default)"),
        "{stderr}"
    );
    let output = switchboard(&[
        "cost",
        &folder_text,
        "--days-per-year",
        "300",
        "--pricebook",
        CONCURRENT,
    ]);
    assert!(output.status.success());
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn an_exchange_rate_is_accepted_in_either_direction() {
    let price = |rate: &str| {
        let json = succeed(&[
            "cost",
            "scenarios/usage/double-11-year.toml",
            "--currency",
            "USD",
            "--exchange-rate",
            rate,
            "--json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        report["options"].clone()
    };
    // 1 / 8 is exact in binary, so both directions convert every amount identically.
    assert_eq!(price("USD_CNY=8"), price("CNY_USD=0.125"));
    let stderr = fail(&["cost", "scenarios/usage/double-11-year.toml"]);
    assert!(
        stderr.contains("USD_CNY=RATE") && stderr.contains("CNY_USD=RATE"),
        "{stderr}"
    );
}

#[test]
fn labour_is_the_same_for_every_option_unless_asked_otherwise() {
    let labour = |extra: &[&str]| {
        let mut arguments = vec![
            "cost",
            "scenarios/usage/double-11-year.toml",
            "--exchange-rate",
            "USD_CNY=7.1",
            "--currency",
            "CNY",
            "--json",
        ];
        arguments.extend_from_slice(extra);
        let report: serde_json::Value = serde_json::from_str(&succeed(&arguments)).unwrap();
        report["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|option| {
                let total = option["total_cash"].as_f64().unwrap();
                let platform = option["total_cash_excluding_workforce"].as_f64().unwrap();
                ((total - platform) * 100.0).round() / 100.0
            })
            .collect::<Vec<f64>>()
    };
    let common = labour(&[]);
    assert!(
        common.iter().all(|l| *l == common[0] && *l > 0.0),
        "{common:?}"
    );
    let china = labour(&["--workforce", "scenarios/pricebooks/china-seat-rent.toml"]);
    assert!(china.iter().all(|l| *l == china[0]), "{china:?}");
    // USD 25 (CNY 177.5) against CNY 31.6 an hour.
    let ratio = common[0] / china[0];
    assert!((ratio - 177.5 / 31.6).abs() < 1e-6, "{ratio}");
    let each = labour(&["--workforce", "each-book"]);
    assert!(each.iter().any(|l| *l != each[0]), "{each:?}");
    let stderr = fail(&[
        "cost",
        "scenarios/usage/flat-small-shop.toml",
        "--workforce",
        "scenarios/pricebooks/per-active-hour.toml.missing",
    ]);
    assert!(stderr.contains("per-active-hour.toml.missing"), "{stderr}");
}

#[test]
fn the_terminal_table_fits_one_hundred_columns_and_says_who_is_cheaper() {
    let table = succeed(&[
        "cost",
        "scenarios/usage/double-11-year.toml",
        "--exchange-rate",
        "USD_CNY=7.1",
    ]);
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    assert!(table.contains("is cheaper every year than"), "{table}");
    assert!(
        table.contains("Cash by year, labour included (USD)"),
        "{table}"
    );
    assert!(table.contains("PROXY prices"), "{table}");
    assert!(
        table.contains("Labour, the same for every option: USD 25.00 per agent-hour"),
        "{table}"
    );
}

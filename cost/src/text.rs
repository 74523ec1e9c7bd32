//! The comparison as plain text for the terminal, at most [`WIDTH`] columns unless a wider
//! text is asked for ([`text_table_within`], `switchboard cost --wide`). (Its HTML
//! section, `cost.html`, is drawn by `switchboard-reports` from the same [`CostReport`].)
//!
//! Options are lettered A, B, C ... in the order given, named once in a legend, so that the
//! tables stay narrow however long a book's name is.

use std::fmt::Write;

use crate::money::Money;
use crate::report::{CostReport, OptionReport, WorkforceBasis};

/// Columns the text fits in.
pub const WIDTH: usize = 100;

/// Columns of one year-by-year table before it continues below, at [`WIDTH`]; a wider text
/// has every year on one row.
const YEARS_PER_ROW: usize = 6;

/// A, B, ... Z, then AA, AB ...: the letter of the option at `index`.
pub fn letter(index: usize) -> String {
    let mut index = index;
    let mut letters = Vec::new();
    loop {
        letters.push((b'A' + (index % 26) as u8) as char);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// An amount short enough for a table column: millions with two decimals ("1,065.12 M"),
/// whole units from 10,000 ("12,345"), hundredths below.
pub fn short_money(amount: Money) -> String {
    let units = amount.as_units();
    if units.abs() >= 1e6 {
        format!("{} M", Money::from_units(units / 1e6))
    } else if units.abs() >= 10_000.0 {
        let whole = Money::from_units(units.round()).to_string();
        whole
            .strip_suffix(".00")
            .map(str::to_string)
            .unwrap_or(whole)
    } else {
        amount.to_string()
    }
}

fn show(amount: Option<Money>) -> String {
    amount.map_or_else(|| "-".to_string(), short_money)
}

/// Wraps `text` to `width` columns, continuation lines indented by `indent` spaces.
fn wrapped(out: &mut String, width: usize, first_indent: &str, indent: usize, text: &str) {
    let rest = " ".repeat(indent);
    // Words are never split, not even at their own hyphens ("self-served").
    let options = textwrap::Options::new(width)
        .initial_indent(first_indent)
        .subsequent_indent(&rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let _ = writeln!(out, "{}", textwrap::fill(text, options));
}

fn percent(fraction: f64) -> String {
    let value = fraction * 100.0;
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0} %")
    } else {
        format!("{value:.1} %")
    }
}

/// The terminal report: inputs, a legend of the options, totals with labour apart, cash by
/// year, break-even in words, proxies, hidden fees, the largest sensitivities and the growth
/// what-ifs, in [`WIDTH`] columns.
pub fn text_table(report: &CostReport) -> String {
    text_table_within(report, WIDTH)
}

/// [`text_table`] in `width` columns: prose wraps there, and a width above [`WIDTH`] puts
/// every year of the cash table on one row.
pub fn text_table_within(report: &CostReport, width: usize) -> String {
    let mut out = String::new();
    let currency = report.currency;
    let growth = if report.growth_per_year == 0.0 {
        "no traffic growth".to_string()
    } else {
        format!("traffic growth {} a year", percent(report.growth_per_year))
    };
    wrapped(
        &mut out,
        width,
        "",
        0,
        &format!(
            "Cost of \"{}\" over {} years, in {currency}; NPV at {} a year; {growth}.",
            report.usage,
            report.years,
            percent(report.discount_rate),
        ),
    );
    if !report.exchange_rates.is_empty() {
        let rates: Vec<String> = report
            .exchange_rates
            .iter()
            .map(|rate| format!("1 {} = {} {}", rate.from, rate.rate, rate.to))
            .collect();
        wrapped(
            &mut out,
            width,
            "",
            4,
            &format!("Exchange rates as given: {}.", rates.join("; ")),
        );
    }
    if report.options.iter().any(|o| o.illustrative) {
        wrapped(
            &mut out,
            width,
            "",
            4,
            "Prices are ILLUSTRATIVE list prices and placeholders: replace them with real quotes.",
        );
    }
    labour_note(&mut out, width, report);

    let _ = writeln!(out, "\nOptions");
    for (index, option) in report.options.iter().enumerate() {
        let mut flags = vec![
            serde_json::to_value(option.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            format!("book in {}", option.book_currency),
        ];
        if option.workforce_differs_because.is_some() {
            flags.push("OWN labour rates".to_string());
        }
        if option.breakdown.iter().any(|line| line.proxy.is_some()) {
            flags.push("has PROXY prices".to_string());
        }
        wrapped(
            &mut out,
            width,
            &format!("  {:<3}", letter(index)),
            5,
            &format!("{}; {}", option.name, flags.join(", ")),
        );
    }

    let _ = writeln!(
        out,
        "\nTotals over {} years ({currency}); platform = everything but labour",
        report.years
    );
    let _ = writeln!(
        out,
        "  {:<3}{:>12}{:>12}{:>12}{:>12}{:>12}{:>13}{:>13}",
        "", "platform", "labour", "total", "NPV", "hidden fees", "per contact", "per agent-h"
    );
    for (index, option) in report.options.iter().enumerate() {
        let labour = option.total_cash - option.total_cash_excluding_workforce;
        let _ = writeln!(
            out,
            "  {:<3}{:>12}{:>12}{:>12}{:>12}{:>12}{:>13}{:>13}",
            letter(index),
            short_money(option.total_cash_excluding_workforce),
            short_money(labour),
            short_money(option.total_cash),
            short_money(option.total_npv),
            short_money(option.hidden_fees_total),
            show(option.cost_per_answered_contact),
            show(option.cost_per_agent_hour),
        );
    }

    years_table(&mut out, width, report);
    break_even(&mut out, width, report);
    proxies(&mut out, width, report);

    let _ = writeln!(out, "\nHidden fees");
    let mut any_hidden = false;
    for (index, option) in report.options.iter().enumerate() {
        for line in option.breakdown.iter().filter(|l| l.hidden_fee.is_some()) {
            any_hidden = true;
            wrapped(
                &mut out,
                width,
                &format!("  {:<3}", letter(index)),
                5,
                &format!(
                    "{} {}: {} ({})",
                    currency,
                    short_money(line.total),
                    line.label,
                    line.hidden_fee.as_deref().unwrap_or_default()
                ),
            );
        }
    }
    if !any_hidden {
        let _ = writeln!(out, "  none");
    }
    let _ = writeln!(out, "\nLargest sensitivities (each input ±20 %, NPV)");
    for (index, tornado) in report.tornado.iter().enumerate() {
        for input in tornado.inputs.iter().take(3) {
            wrapped(
                &mut out,
                width,
                &format!("  {:<3}", letter(index)),
                5,
                &format!(
                    "{}: {} .. {}",
                    input.input,
                    short_money(input.npv_at_minus_20_percent),
                    short_money(input.npv_at_plus_20_percent)
                ),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nGrowth what-ifs: total cash over {} years ({currency}) at each yearly growth",
        report.years
    );
    let _ = write!(out, "  {:<3}", "");
    for what_if in &report.growth_what_ifs {
        let _ = write!(
            out,
            "{:>13}",
            format!("+{}", percent(what_if.growth_per_year))
        );
    }
    let _ = writeln!(out);
    for index in 0..report.options.len() {
        let _ = write!(out, "  {:<3}", letter(index));
        for what_if in &report.growth_what_ifs {
            // Outcomes are in the order of the options.
            let total = what_if.options.get(index).map(|outcome| outcome.total_cash);
            let _ = write!(out, "{:>13}", show(total));
        }
        let _ = writeln!(out);
    }
    out
}

/// Whose rates price labour, said before any figure.
fn labour_note(out: &mut String, width: usize, report: &CostReport) {
    let rates = |option: &OptionReport| -> String {
        let rates: Vec<String> = option
            .workforce_rates
            .iter()
            .map(|rate| {
                let share = if rate.share_of_agent_hours < 1.0 {
                    format!(", {} of agent-hours", percent(rate.share_of_agent_hours))
                } else {
                    String::new()
                };
                format!(
                    "{} {} per agent-hour ({}{share})",
                    report.currency, rate.price_per_agent_hour, rate.site
                )
            })
            .collect();
        if rates.is_empty() {
            "no labour".to_string()
        } else {
            rates.join(", ")
        }
    };
    match report.workforce_basis {
        WorkforceBasis::Common => {
            let shared = report
                .options
                .iter()
                .find(|option| option.workforce_differs_because.is_none());
            if let Some(shared) = shared {
                wrapped(
                    out,
                    width,
                    "",
                    4,
                    &format!(
                        "Labour, the same for every option: {}, the rates of {}. `--workforce FILE` takes another book's rates, `--workforce each-book` each book's own.",
                        rates(shared),
                        report.workforce_file.as_deref().unwrap_or("the first book")
                    ),
                );
            }
            for (index, option) in report.options.iter().enumerate() {
                if let Some(reason) = &option.workforce_differs_because {
                    wrapped(
                        out,
                        width,
                        "",
                        4,
                        &format!(
                            "Labour of {} at its OWN rates, {}: {reason}",
                            letter(index),
                            rates(option)
                        ),
                    );
                }
            }
        }
        WorkforceBasis::EachBook => {
            wrapped(
                out,
                width,
                "",
                4,
                "Labour at EACH BOOK'S OWN rates (`--workforce each-book`): where the rates differ, so do the totals, whatever the platforms charge. Compare the platform column.",
            );
            // Options with the same rates on one line, in the order they first appear.
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for (index, option) in report.options.iter().enumerate() {
                let described = rates(option);
                match groups.iter_mut().find(|(rates, _)| *rates == described) {
                    Some((_, letters)) => letters.push(letter(index)),
                    None => groups.push((described, vec![letter(index)])),
                }
            }
            for (described, letters) in groups {
                wrapped(
                    out,
                    width,
                    "    ",
                    8,
                    &format!("{}: {described}", letters.join(", ")),
                );
            }
        }
    }
}

/// Cash of every option, year by year, in blocks of [`YEARS_PER_ROW`] years (all of them in
/// a text wider than [`WIDTH`]).
fn years_table(out: &mut String, width: usize, report: &CostReport) {
    let _ = writeln!(out, "\nCash by year, labour included ({})", report.currency);
    let years = report.years as usize;
    let per_row = if width > WIDTH {
        years.max(1)
    } else {
        YEARS_PER_ROW
    };
    let mut first = 0;
    while first < years {
        let last = (first + per_row).min(years);
        let _ = write!(out, "  {:<3}", "");
        for year in first..last {
            let _ = write!(out, "{:>13}", format!("year {}", year + 1));
        }
        let _ = writeln!(out);
        for (index, option) in report.options.iter().enumerate() {
            let _ = write!(out, "  {:<3}", letter(index));
            for year in &option.years[first..last] {
                let _ = write!(out, "{:>13}", short_money(year.cash));
            }
            let _ = writeln!(out);
        }
        first = last;
    }
}

/// Who is cheaper, in words: "A is cheaper every year than C, D" for pairs that never cross
/// (cumulative cash), "B is cheaper than C in years 1-2; C from year 3" for those that do.
fn break_even(out: &mut String, width: usize, report: &CostReport) {
    if report.break_even.is_empty() {
        return;
    }
    let letter_of = |name: &str| {
        report
            .options
            .iter()
            .position(|option| option.name == name)
            .map_or_else(|| name.to_string(), letter)
    };
    let _ = writeln!(
        out,
        "\nWho is cheaper (cumulative cash, labour included, {} years)",
        report.years
    );
    // Pairs that never cross, gathered by the cheaper option, in option order.
    for (index, option) in report.options.iter().enumerate() {
        let mut others: Vec<String> = report
            .break_even
            .iter()
            .filter(|pair| pair.cheaper_in_year_one == option.name)
            .filter(|pair| pair.other_cheaper_from_year.is_none())
            .map(|pair| letter_of(&pair.other))
            .collect();
        others.sort_by_key(|other| (other.len(), other.clone()));
        if !others.is_empty() {
            wrapped(
                out,
                width,
                "  ",
                4,
                &format!(
                    "{} is cheaper every year than {}.",
                    letter(index),
                    others.join(", ")
                ),
            );
        }
    }
    for pair in &report.break_even {
        if let Some(year) = pair.other_cheaper_from_year {
            let cheaper = letter_of(&pair.cheaper_in_year_one);
            let other = letter_of(&pair.other);
            let years = if year == 2 {
                "year 1".to_string()
            } else {
                format!("years 1-{}", year - 1)
            };
            wrapped(
                out,
                width,
                "  ",
                4,
                &format!("{cheaper} is cheaper than {other} in {years}; {other} from year {year}."),
            );
        }
    }
}

/// Lines priced at another vendor's price, with their weight in the option's platform cost.
fn proxies(out: &mut String, width: usize, report: &CostReport) {
    let mut any = false;
    for (index, option) in report.options.iter().enumerate() {
        for line in option.breakdown.iter() {
            let Some(why) = &line.proxy else {
                continue;
            };
            if !any {
                let _ = writeln!(
                    out,
                    "\nPROXY prices (another vendor's price standing in for one the option does not list)"
                );
                any = true;
            }
            let platform = option.total_cash_excluding_workforce.as_units();
            let share = if platform > 0.0 {
                format!(
                    ", {} of {}'s platform cost",
                    percent((line.total.as_units() / platform * 1000.0).round() / 1000.0),
                    letter(index)
                )
            } else {
                String::new()
            };
            wrapped(
                out,
                width,
                &format!("  {:<3}", letter(index)),
                5,
                &format!(
                    "{}: {} {}{share}. {why}",
                    line.label,
                    report.currency,
                    short_money(line.total)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_lettered_like_spreadsheet_columns() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }

    #[test]
    fn amounts_are_short_enough_for_a_column() {
        assert_eq!(
            short_money(Money::from_units(1_065_123_456.0)),
            "1,065.12 M"
        );
        assert_eq!(short_money(Money::from_units(2_500_000.0)), "2.50 M");
        assert_eq!(short_money(Money::from_units(123_456.78)), "123,457");
        assert_eq!(short_money(Money::from_units(3.456)), "3.46");
        assert_eq!(short_money(Money::from_units(-12_345.0)), "-12,345");
    }
}

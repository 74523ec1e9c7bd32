//! The comparison as a plain-text table for the terminal. (Its HTML section, `cost.html`, is
//! drawn by `switchboard-reports` from the same [`CostReport`].)

use std::fmt::Write;

use crate::money::Money;
use crate::report::CostReport;

/// A terminal table: one row per option, then break-even years, hidden fees and the top of
/// each tornado.
pub fn text_table(report: &CostReport) -> String {
    let mut out = String::new();
    let currency = report.currency;
    let _ = writeln!(
        out,
        "Cost of \"{}\" over {} years, in {currency}; NPV at {} % a year; traffic growth {} % a year.",
        report.usage,
        report.years,
        report.discount_rate * 100.0,
        report.growth_per_year * 100.0
    );
    if report.options.iter().any(|o| o.illustrative) {
        let _ = writeln!(
            out,
            "Prices are ILLUSTRATIVE list prices and placeholders: replace them with real quotes."
        );
    }
    let _ = writeln!(out);
    let name_width = report
        .options
        .iter()
        .map(|o| o.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>16}  {:>16}  {:>16}  {:>14}  {:>12}  {:>12}",
        "option", "cash", "NPV", "cash w/o labour", "hidden fees", "per contact", "per agent-h"
    );
    for option in &report.options {
        let _ = writeln!(
            out,
            "{:<name_width$}  {:>16}  {:>16}  {:>16}  {:>14}  {:>12}  {:>12}",
            option.name,
            option.total_cash.to_string(),
            option.total_npv.to_string(),
            option.total_cash_excluding_workforce.to_string(),
            option.hidden_fees_total.to_string(),
            show(option.cost_per_answered_contact),
            show(option.cost_per_agent_hour),
        );
    }
    if !report.break_even.is_empty() {
        // Pairs that never cross are the common case; listing them all drowns the ones that do.
        let _ = writeln!(out, "\nBreak-even (cumulative cash):");
        let mut never = 0;
        for pair in &report.break_even {
            match pair.other_cheaper_from_year {
                Some(year) => {
                    let _ = writeln!(
                        out,
                        "  {} is cheaper in year 1; {} is cheaper from year {year}",
                        pair.cheaper_in_year_one, pair.other
                    );
                }
                None => never += 1,
            }
        }
        let _ = writeln!(
            out,
            "  {never} of {} pairs do not cross within {} years (see break_even in cost.json)",
            report.break_even.len(),
            report.years
        );
    }
    let _ = writeln!(out, "\nHidden fees:");
    let mut any_hidden = false;
    for option in &report.options {
        for line in option.breakdown.iter().filter(|l| l.hidden_fee.is_some()) {
            any_hidden = true;
            let _ = writeln!(
                out,
                "  {}: {} — {} ({})",
                option.name,
                line.total,
                line.label,
                line.hidden_fee.as_deref().unwrap_or_default()
            );
        }
    }
    if !any_hidden {
        let _ = writeln!(out, "  none");
    }
    let _ = writeln!(out, "\nLargest sensitivities (each input ±20 %, NPV):");
    for tornado in &report.tornado {
        for input in tornado.inputs.iter().take(3) {
            let _ = writeln!(
                out,
                "  {}: {} moves NPV {} .. {}",
                tornado.option,
                input.input,
                input.npv_at_minus_20_percent,
                input.npv_at_plus_20_percent
            );
        }
    }
    let _ = writeln!(out, "\nGrowth what-ifs (total cash):");
    for what_if in &report.growth_what_ifs {
        let totals: Vec<String> = what_if
            .options
            .iter()
            .map(|o| format!("{} {}", o.option, o.total_cash))
            .collect();
        let _ = writeln!(
            out,
            "  +{} % a year: {}",
            what_if.growth_per_year * 100.0,
            totals.join("; ")
        );
    }
    out
}

fn show(amount: Option<Money>) -> String {
    amount.map_or_else(|| "-".to_string(), |m| m.to_string())
}

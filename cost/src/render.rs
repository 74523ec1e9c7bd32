//! The comparison as a plain-text table for the terminal and as an HTML section (inline SVG,
//! no scripts, no network) that a report page can embed.

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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Colours for up to eight options, then repeating; chosen to stay apart in print.
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

/// An HTML `<section>`: a cumulative-cost chart (inline SVG) and a breakdown table per option.
/// Self-contained: no scripts, styles by attribute, nothing fetched.
pub fn html_section(report: &CostReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<section class=\"switchboard-cost\">");
    let _ = writeln!(
        out,
        "<h2>Cost over {} years ({})</h2>",
        report.years, report.currency
    );
    if report.options.iter().any(|o| o.illustrative) {
        let _ = writeln!(
            out,
            "<p><strong>Illustrative list prices and placeholders; replace them with real quotes.</strong></p>"
        );
    }
    out.push_str(&cumulative_chart(report));
    let _ = writeln!(
        out,
        "<table><thead><tr><th>option</th><th>cash</th><th>NPV</th><th>cash without labour</th><th>hidden fees</th><th>per answered contact</th><th>per agent-hour</th></tr></thead><tbody>"
    );
    for option in &report.options {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&option.name),
            option.total_cash,
            option.total_npv,
            option.total_cash_excluding_workforce,
            option.hidden_fees_total,
            show(option.cost_per_answered_contact),
            show(option.cost_per_agent_hour)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    for option in &report.options {
        let _ = writeln!(out, "<h3>{}</h3>", escape(&option.name));
        let _ = write!(out, "<table><thead><tr><th>item</th>");
        for year in &option.years {
            let _ = write!(out, "<th>year {}</th>", year.year);
        }
        let _ = writeln!(
            out,
            "<th>total</th><th>hidden fee</th><th>source</th></tr></thead><tbody>"
        );
        for line in &option.breakdown {
            let _ = write!(out, "<tr><td>{}</td>", escape(&line.label));
            for amount in &line.cash_by_year {
                let _ = write!(out, "<td>{amount}</td>");
            }
            let _ = writeln!(
                out,
                "<td>{}</td><td>{}</td><td>{}</td></tr>",
                line.total,
                escape(line.hidden_fee.as_deref().unwrap_or("")),
                escape(&line.source)
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }
    let _ = writeln!(out, "</section>");
    out
}

fn cumulative_chart(report: &CostReport) -> String {
    let (width, height, margin_left, margin_bottom, margin_top, margin_right) =
        (640.0, 320.0, 90.0, 40.0, 20.0, 20.0);
    let plot_width = width - margin_left - margin_right;
    let plot_height = height - margin_top - margin_bottom;
    let highest = report
        .options
        .iter()
        .flat_map(|o| o.years.iter().map(|y| y.cumulative_cash.as_units()))
        .fold(0.0, f64::max)
        .max(1.0);
    let years = report.years.max(1) as f64;
    let x_of = |year: f64| margin_left + plot_width * year / years;
    let y_of = |value: f64| margin_top + plot_height * (1.0 - value / highest);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Cumulative cash by year\">"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{margin_left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>",
        y_of(0.0),
        x_of(years),
        y_of(0.0)
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{margin_left}\" y1=\"{margin_top}\" x2=\"{margin_left}\" y2=\"{}\" stroke=\"#333\"/>",
        y_of(0.0)
    );
    for year in 0..=report.years {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{year}</text>",
            x_of(year as f64),
            y_of(0.0) + 16.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{margin_left}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" dx=\"-4\">{}</text>",
        margin_top + 4.0,
        Money::from_units(highest)
    );
    for (index, option) in report.options.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let mut points = format!("{:.1},{:.1}", x_of(0.0), y_of(0.0));
        for year in &option.years {
            let _ = write!(
                points,
                " {:.1},{:.1}",
                x_of(year.year as f64),
                y_of(year.cumulative_cash.as_units())
            );
        }
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"><title>{}</title></polyline>",
            escape(&option.name)
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{colour}\">{}</text>",
            margin_left + 8.0,
            margin_top + 14.0 * (index as f64 + 1.0),
            escape(&option.name)
        );
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

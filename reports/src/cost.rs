//! The costs `switchboard cost` priced, as an HTML section: cumulative cash by year for every
//! option (a chart), the totals side by side and each option's breakdown, the fees nobody
//! lists on the pricing page marked. It renders `cost.json` as written ([`CostReport`]) and
//! prices nothing; the run report shows the same section when its folder holds `cost.json`,
//! and `switchboard cost --out DIR` writes it alone as `cost.html`.

use std::fmt::Write as _;

use switchboard_results::cost::{CostReport, Money, WorkforceBasis};

use crate::chart::{Chart, HorizontalAxis, Series, ValueFormat, VerticalScale};
use crate::html::{escape, strip_xml_declaration};
use crate::ReportError;

fn show(amount: Option<Money>) -> String {
    amount.map_or_else(|| "-".to_string(), |money| money.to_string())
}

/// Whose rates price labour, in one sentence.
fn labour_basis(report: &CostReport) -> String {
    match report.workforce_basis {
        WorkforceBasis::Common => {
            let shared = report
                .options
                .iter()
                .find(|option| option.workforce_differs_because.is_none());
            let rates = shared.map_or_else(String::new, |option| {
                option
                    .workforce_rates
                    .iter()
                    .map(|rate| {
                        format!(
                            "{} {} per agent-hour ({})",
                            report.currency, rate.price_per_agent_hour, rate.site
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            format!(
                "Labour is the same for every option: {rates}, the rates of {}; options marked \"own labour rates\" say why theirs differ.",
                report.workforce_file.as_deref().unwrap_or("the first book")
            )
        }
        WorkforceBasis::EachBook => "Labour is priced at each book's own rates: where they differ, so do the totals, whatever the platforms charge.".to_string(),
    }
}

/// Cumulative cash of every option by year, from 0 at the start.
pub fn cumulative_chart(report: &CostReport) -> Chart {
    Chart {
        id: "cost-cumulative-cash".to_string(),
        title: format!(
            "Cumulative cash over {} years ({})",
            report.years, report.currency
        ),
        x_label: "years".to_string(),
        y_label: format!("cumulative cash ({})", report.currency),
        horizontal: HorizontalAxis::Number {
            max: f64::from(report.years.max(1)),
        },
        vertical: VerticalScale::Linear { at_least: 1.0 },
        value_format: ValueFormat::Number,
        series: report
            .options
            .iter()
            .map(|option| Series {
                name: option.name.clone(),
                points: std::iter::once((0.0, 0.0))
                    .chain(
                        option
                            .years
                            .iter()
                            .map(|year| (f64::from(year.year), year.cumulative_cash.as_units())),
                    )
                    .collect(),
            })
            .collect(),
        reference_lines: Vec::new(),
        interval_bars: Vec::new(),
    }
}

/// The section alone (`cost.html`): `<section class="switchboard-cost">` with its heading, the
/// chart drawn here, and the tables.
pub fn cost_section(report: &CostReport) -> Result<String, ReportError> {
    let chart = cumulative_chart(report);
    let svg = chart.to_svg().map_err(|error| ReportError::Chart {
        chart: chart.id.clone(),
        message: error.to_string(),
    })?;
    let figure = format!(
        "<figure id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>\n",
        escape(&chart.id),
        strip_xml_declaration(&svg),
        escape(&chart.title)
    );
    Ok(cost_section_with(report, &figure))
}

/// The section with its chart already drawn as `figure` (the run report draws every chart of
/// its page in one place).
pub fn cost_section_with(report: &CostReport, figure: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<section class=\"switchboard-cost\">");
    let _ = writeln!(
        out,
        "<h2>Cost over {} years ({})</h2>",
        report.years, report.currency
    );
    if report.options.iter().any(|option| option.illustrative) {
        let _ = writeln!(
            out,
            "<p><strong>Illustrative list prices and placeholders; replace them with real quotes.</strong></p>"
        );
    }
    let _ = writeln!(out, "<p>{}</p>", escape(&labour_basis(report)));
    for warning in &report.warnings {
        let _ = writeln!(out, "<p><strong>Warning:</strong> {}</p>", escape(warning));
    }
    out.push_str(figure);
    let _ = writeln!(
        out,
        "<table><thead><tr><th>option</th><th>platform (without labour)</th><th>labour</th><th>cash</th><th>NPV</th><th>hidden fees</th><th>per answered contact</th><th>per agent-hour</th></tr></thead><tbody>"
    );
    for option in &report.options {
        let mut name = escape(&option.name);
        if option.workforce_differs_because.is_some() {
            name.push_str(" <em>(own labour rates)</em>");
        }
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            name,
            option.total_cash_excluding_workforce,
            option.total_cash - option.total_cash_excluding_workforce,
            option.total_cash,
            option.total_npv,
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
            let label = match &line.proxy {
                Some(why) => format!(
                    "{} <strong>(PROXY: {})</strong>",
                    escape(&line.label),
                    escape(why)
                ),
                None => escape(&line.label),
            };
            let _ = write!(out, "<tr><td>{label}</td>");
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

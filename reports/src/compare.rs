//! The page of `switchboard compare --out DIR`: each variant's figures side by side and each
//! difference from the first variant with its 95 % interval (paired per replication by the
//! simulator), differences whose interval excludes zero in bold. Computes nothing.

use std::fmt::Write as _;

use switchboard_results::compare::Comparison;
use switchboard_results::Estimate;

use crate::html::{escape, STYLE};

fn value(estimate: &Estimate) -> String {
    match (estimate.mean, estimate.ci95) {
        (Some(mean), Some([low, high])) => format!(
            "{}<br><span class=\"ci\">{} – {}</span>",
            short(mean),
            short(low),
            short(high)
        ),
        (Some(mean), None) => short(mean),
        _ => "–".to_string(),
    }
}

fn difference(estimate: &Estimate) -> String {
    match (estimate.mean, estimate.ci95) {
        (Some(mean), Some([low, high])) => {
            let text = format!(
                "{}<br><span class=\"ci\">{} – {}</span>",
                signed(mean),
                signed(low),
                signed(high)
            );
            if low > 0.0 || high < 0.0 {
                format!("<strong>{text}</strong>")
            } else {
                text
            }
        }
        (Some(mean), None) => signed(mean),
        _ => "–".to_string(),
    }
}

fn short(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.4}")
    }
}

fn signed(value: f64) -> String {
    if value >= 0.0 {
        format!("+{}", short(value))
    } else {
        format!("−{}", short(-value))
    }
}

/// `compare.html`.
pub fn render_comparison(comparison: &Comparison) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Comparison — Switchboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>Comparison of {} variants</h1>\n",
        comparison.variants.len()
    );
    let _ = writeln!(
        html,
        "<p class=\"subtitle\">seed {} · {} replications each · common random numbers</p>",
        comparison.seed, comparison.replications
    );
    html.push_str("<ol>\n");
    for variant in &comparison.variants {
        let _ = writeln!(html, "<li><code>{}</code></li>", escape(variant));
    }
    html.push_str("</ol>\n");
    html.push_str("<p class=\"note\">Replication <i>r</i> of every variant draws the same arrivals, handle times and patience. Each difference is variant − variant 1, paired per replication, with its 95 % interval; differences whose interval excludes zero are in bold. Metrics named <code>failover.*</code> are defined in docs/failover.md, the others in docs/metrics.md.</p>\n");
    html.push_str("<table><thead><tr><th>metric</th>");
    for index in 0..comparison.variants.len() {
        let _ = write!(html, "<th>variant {}</th>", index + 1);
    }
    for index in 1..comparison.variants.len() {
        let _ = write!(html, "<th>{} − 1</th>", index + 1);
    }
    html.push_str("</tr></thead><tbody>\n");
    for metric in &comparison.metrics {
        let _ = write!(html, "<tr><th>{}</th>", escape(&metric.metric));
        for estimate in &metric.values {
            let _ = write!(html, "<td>{}</td>", value(estimate));
        }
        for estimate in &metric.differences {
            let _ = write!(html, "<td>{}</td>", difference(estimate));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table>\n</main>\n</body>\n</html>\n");
    html
}

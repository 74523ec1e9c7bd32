//! The HTML page: one self-contained file (inline CSS, inline SVG, no script, no network), made
//! of [`Section`]s in order. A section renders only when the results hold something for it.
//!
//! Extension point: each further part of the page (failover timelines, costs) is one more type
//! implementing [`Section`], added to [`sections`], whose `render` returns `None` when the
//! results folder holds no such results (say, no fault was injected), so pages of runs without
//! them stay as they are. The failover section lives in [`crate::failover`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::chart::format_number;
use switchboard_results::{Estimate, Estimates, Metric, Unit as MetricUnit};

use crate::html::{escape, PageContext, Section, STYLE};
use crate::views::definition_short;

/// The sections of the page, in order.
pub fn sections() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(Headline),
        Box::new(IntervalCharts),
        Box::new(WaitDistribution),
        Box::new(crate::failover::FailoverSection),
        Box::new(ScopeTables),
        Box::new(KeyInputs),
        Box::new(Costs),
    ]
}

/// The costs `switchboard cost --out DIR` priced for this run, from its `cost.json` (this crate
/// computes no cost).
struct Costs;

impl Section for Costs {
    fn title(&self) -> String {
        "Costs".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let report = context.input.results.cost.as_ref()?;
        let section = crate::cost::cost_section_with(
            report,
            &context.chart_figures(&["cost-cumulative-cash"]),
        );
        Some(format!(
            "<p class=\"note\">Priced by <code>switchboard cost</code> from this run's usage: <a href=\"cost.json\">cost.json</a>, <a href=\"cost.html\">cost.html</a>.</p>\n{section}"
        ))
    }
}

/// Headline numbers of the whole center with their 95 % confidence intervals.
struct Headline;

/// (metric, label)
const HEADLINE_METRICS: [(Metric, &str); 11] = [
    (Metric::Offered, "Offered to queues"),
    (Metric::Answered, "Answered"),
    (Metric::ServiceLevel, "Service level"),
    (Metric::AbandonRate, "Abandoned"),
    (Metric::AverageSpeedOfAnswer, "Average speed of answer"),
    (Metric::WaitP90, "90th percentile wait (answered)"),
    (Metric::WaitP99, "99th percentile wait (answered)"),
    (Metric::AverageHandleTime, "Average handle time"),
    (Metric::Occupancy, "Occupancy"),
    (Metric::StaffedAgents, "Staffed agents (mean)"),
    (Metric::MaxQueueLength, "Longest queue"),
];

/// How a value is written.
#[derive(Clone, Copy, Debug)]
enum Unit {
    Count,
    Decimal,
    Percent,
    Seconds,
}

impl Unit {
    /// Contacts as whole numbers, agents with a decimal, shares as percentages.
    fn of(metric: Metric) -> Unit {
        match metric.unit() {
            MetricUnit::Contacts => Unit::Count,
            MetricUnit::Agents => Unit::Decimal,
            MetricUnit::Fraction => Unit::Percent,
            MetricUnit::Seconds => Unit::Seconds,
        }
    }
}

fn write_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => format_number(value.round()),
        Unit::Decimal => format!("{value:.1}"),
        Unit::Percent => format!("{:.1} %", value * 100.0),
        Unit::Seconds => format!("{value:.1} s"),
    }
}

fn write_estimate(estimate: Option<&Estimate>, unit: Unit) -> (String, String) {
    match estimate {
        Some(Estimate {
            mean: Some(mean),
            ci95: Some([low, high]),
            ..
        }) => (
            write_value(*mean, unit),
            format!(
                "95 % CI {} – {}",
                write_value(*low, unit),
                write_value(*high, unit)
            ),
        ),
        Some(Estimate {
            mean: Some(mean),
            ci95: None,
            ..
        }) => (
            write_value(*mean, unit),
            "no interval (one replication)".to_string(),
        ),
        _ => ("–".to_string(), "not defined".to_string()),
    }
}

impl Section for Headline {
    fn title(&self) -> String {
        "Headline".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let summary = &context.input.results.summary;
        let mut html = String::from("<div class=\"cards\">\n");
        let mut card = |label: &str, value: String, detail: String| {
            let _ = writeln!(
                html,
                "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"detail\">{}</div></div>",
                escape(label),
                escape(&value),
                escape(&detail)
            );
        };
        for (metric, label) in HEADLINE_METRICS {
            let (value, detail) = write_estimate(summary.total.get(&metric), Unit::of(metric));
            card(label, value, detail);
        }
        if let Some(voice) = summary.channels.get("voice") {
            if voice
                .get(&Metric::Arrived)
                .and_then(|e| e.mean)
                .unwrap_or(0.0)
                > 0.0
            {
                let metric = Metric::MaxConcurrent;
                let (value, detail) = write_estimate(voice.get(&metric), Unit::of(metric));
                card(
                    "Trunk lines needed (most voice calls at once)",
                    value,
                    detail,
                );
            }
        }
        html.push_str("</div>\n");
        let _ = writeln!(
            html,
            "<p class=\"note\">Each figure is the mean over {} replications with its 95 % confidence interval (Student t) as <code>summary.json</code> gives it. Service level here is <strong>{}</strong> (<code>{}</code>; see <code>docs/metrics.md</code>), with each queue's own target time. {} contacts and {} engine events were simulated; {} contacts were still inside when replications ended (mean).</p>",
            summary.replications,
            escape(definition_short(summary.service_level_definition)),
            escape(summary.service_level_definition.name()),
            format_number(summary.contacts as f64),
            format_number(summary.events as f64),
            summary
                .still_inside
                .mean
                .map_or("–".to_string(), |mean| format!("{mean:.1}"))
        );
        if summary.rejected_inputs > 0 {
            let _ = writeln!(
                html,
                "<p class=\"warning\">The engine refused {} inputs of the simulator: the figures may be wrong.</p>",
                summary.rejected_inputs
            );
        }
        Some(html)
    }
}

/// The per-interval charts.
struct IntervalCharts;

impl Section for IntervalCharts {
    fn title(&self) -> String {
        "Through the day".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let figures = context.chart_figures(&[
            "contacts",
            "offered-per-queue",
            "staffed-agents",
            "service-level",
            "average-speed-of-answer",
            "wait-percentiles",
            "occupancy",
            "queue-length",
            "backlog",
            "due-attainment",
            "backlog-age",
            "concurrent-contacts",
        ]);
        if figures.is_empty() {
            return None;
        }
        let mut html = String::new();
        let _ = writeln!(
            html,
            "<p class=\"note\">Each point is an interval's value, the mean over replications, drawn at the middle of the interval. The goal line of the service-level chart is at {:.0} % (the common 80/20 convention unless the report was asked for another goal; scenario files do not set one). Required agents are what an Erlang C model needs to answer 80 % of each interval's offered contacts within the queue's threshold, from the interval's simulated load and handle time, each queue sized apart (<code>docs/metrics.md</code>); staffed agents are those logged in, breaks included. Wait percentiles pool the answered contacts of every replication. For tickets (queues with a <code>due</code> time), SLA attainment counts each ticket in the interval its due time falls in, and backlog ages are wall time since arrival, nights and weekends included. Intervals inside the warmup were not measured and have no point.</p>",
            context.service_level_goal * 100.0
        );
        html.push_str(&figures);
        Some(html)
    }
}

/// The wait distribution, from the histograms.
struct WaitDistribution;

impl Section for WaitDistribution {
    fn title(&self) -> String {
        "How long answered contacts waited".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let figures = context.chart_figures(&["wait-distribution"]);
        if figures.is_empty() {
            return None;
        }
        Some(format!(
            "<p class=\"note\">The complementary cumulative distribution of the waits of answered contacts over all replications (<code>histograms/wait-*.hdr</code>): read the share of callers who waited longer than any time t; the value at t = 0 is the share who waited at all. The vertical axis is logarithmic so the tail shows.</p>\n{figures}"
        ))
    }
}

/// Tables per queue, channel and site.
struct ScopeTables;

/// (metric, column heading)
const TABLE_METRICS: [(Metric, &str); 11] = [
    (Metric::Arrived, "arrived"),
    (Metric::Offered, "offered"),
    (Metric::Answered, "answered"),
    (Metric::AbandonRate, "abandoned"),
    (Metric::ServiceLevel, "service level"),
    (Metric::AverageSpeedOfAnswer, "ASA"),
    (Metric::WaitP90, "wait p90"),
    (Metric::AverageHandleTime, "AHT"),
    (Metric::Occupancy, "occupancy"),
    (Metric::StaffedAgents, "staffed agents"),
    (Metric::MaxConcurrent, "most at once"),
];

fn scope_table(kind: &str, scopes: &BTreeMap<String, Estimates>) -> String {
    let mut html = String::from("<table>\n<thead><tr>");
    let _ = write!(html, "<th>{}</th>", escape(kind));
    // A queue's (and a site's) arrivals are the contacts that reached it, a channel's every
    // contact that came in on it; both are worth a column.
    for (_, label) in TABLE_METRICS {
        let _ = write!(html, "<th>{}</th>", escape(label));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (name, estimates) in scopes {
        let _ = write!(html, "<tr><th>{}</th>", escape(name));
        for (metric, _) in TABLE_METRICS {
            let unit = Unit::of(metric);
            let estimate = estimates.get(&metric);
            let (value, _) = write_estimate(estimate, unit);
            let half = estimate.and_then(|e| match (e.mean, e.ci95) {
                (Some(mean), Some([_, high])) => Some(high - mean),
                _ => None,
            });
            match half {
                Some(half) if half > 0.0 => {
                    let _ = write!(
                        html,
                        "<td>{}<span class=\"ci\"> ± {}</span></td>",
                        escape(&value),
                        escape(&write_value(half, unit))
                    );
                }
                _ => {
                    let _ = write!(html, "<td>{}</td>", escape(&value));
                }
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

impl Section for ScopeTables {
    fn title(&self) -> String {
        "Per queue, channel and site".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let summary = &context.input.results.summary;
        let mut html = String::from(
            "<p class=\"note\">Means over replications ± the half-width of their 95 % confidence interval. Contacts count in the queue where they ended; a channel counts every contact that arrived on it; agent time counts in every queue the agent can serve.</p>\n",
        );
        for (kind, heading, scopes) in [
            ("queue", "Queues", &summary.queues),
            ("channel", "Channels", &summary.channels),
            ("site", "Sites", &summary.sites),
        ] {
            if scopes.is_empty() {
                continue;
            }
            let _ = writeln!(html, "<h3>{heading}</h3>");
            html.push_str(&scope_table(kind, scopes));
        }
        Some(html)
    }
}

/// The scenario's key inputs, from the copy kept in the folder.
struct KeyInputs;

impl Section for KeyInputs {
    fn title(&self) -> String {
        "Key inputs".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let summary = &context.input.results.summary;
        let Some(scenario) = &context.input.scenario else {
            return Some(format!(
                "<p class=\"note\">The results folder keeps no copy of the scenario ({}), so only what <code>summary.json</code> says is known: seed {}, {} replications.</p>",
                switchboard_results::SCENARIO_COPY,
                summary.seed,
                summary.replications
            ));
        };
        let settings = &scenario.settings;
        let center = &scenario.center;
        let mut html = String::from("<table class=\"inputs\">\n<tbody>\n");
        let mut row = |key: &str, value: String| {
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(key),
                escape(&value)
            );
        };
        let timeline = crate::views::timeline(context.input);
        // On the clock the charts use, so that a time read here is a time found there.
        let start = match &timeline.axis {
            crate::chart::HorizontalAxis::LocalTime { clock, .. } => format!(
                "{}, local time of {} as on the charts (written {} in the file)",
                clock.describe_start(),
                clock.zone_name(),
                center.center.start
            ),
            _ => center.center.start.clone(),
        };
        row("start", start);
        let ran_ms = timeline.span_ms;
        row(
            "duration",
            if ran_ms < settings.duration.as_ms() {
                format!(
                    "{} in the file; this run stopped after {} (--duration), warmup {}",
                    settings.duration,
                    switchboard_engine::units::DurationMs(ran_ms),
                    settings.warmup
                )
            } else {
                format!("{}, warmup {}", settings.duration, settings.warmup)
            },
        );
        row("reporting interval", settings.interval.to_string());
        row(
            "replications, seed",
            format!(
                "{} (file: {}), seed {}",
                summary.replications, settings.replications, summary.seed
            ),
        );
        row(
            "service level",
            format!(
                "definition {}, default target {}, short abandon under {}",
                settings.service_level.definition.name(),
                settings
                    .service_level
                    .target
                    .map_or("per queue".to_string(), |target| target.to_string()),
                settings.service_level.short_abandon
            ),
        );
        let total_agents: u32 = center
            .agents
            .iter()
            .map(|group| group.agent_ids().len() as u32)
            .sum();
        row(
            "agents",
            format!(
                "{} in {} groups",
                format_number(f64::from(total_agents)),
                center.agents.len()
            ),
        );
        html.push_str("</tbody>\n</table>\n");

        if !center.sites.is_empty() {
            html.push_str("<h3>Sites</h3>\n<table><thead><tr><th>site</th><th>time zone</th></tr></thead><tbody>\n");
            for site in &center.sites {
                let _ = writeln!(
                    html,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(&site.name),
                    escape(&site.timezone)
                );
            }
            html.push_str("</tbody></table>\n");
        }

        html.push_str("<h3>Queues</h3>\n<table><thead><tr><th>queue</th><th>channel</th><th>priority</th><th>target</th><th>languages</th><th>site</th></tr></thead><tbody>\n");
        for queue in &center.queues {
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&queue.name),
                queue.channel.name(),
                queue.priority,
                queue.service_level_target,
                escape(&queue.languages.join(", ")),
                escape(queue.site.as_deref().unwrap_or("–"))
            );
        }
        html.push_str("</tbody></table>\n");

        html.push_str("<h3>Agent groups</h3>\n<table><thead><tr><th>group</th><th>agents</th><th>skills</th><th>languages</th><th>site</th></tr></thead><tbody>\n");
        for group in &center.agents {
            let skills = group
                .skills
                .with_levels(5)
                .into_iter()
                .map(|(skill, level)| format!("{skill} {level}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&group.name),
                group.agent_ids().len(),
                escape(&skills),
                escape(&group.languages.join(", ")),
                escape(group.site.as_deref().unwrap_or("–"))
            );
        }
        html.push_str("</tbody></table>\n");

        html.push_str("<h3>Traffic</h3>\n<table><thead><tr><th>into</th><th>channel</th><th>volume</th><th>handle time</th><th>patience</th><th>retrials</th></tr></thead><tbody>\n");
        for traffic in &scenario.traffic {
            let into = match (&traffic.queue, &traffic.flow) {
                (Some(queue), _) => format!("queue {}", queue.get_ref()),
                (None, Some(flow)) => format!("IVR flow {}", flow.get_ref()),
                (None, None) => "–".to_string(),
            };
            let channel = traffic
                .channel
                .map_or("(queue's)".to_string(), |c| c.name().to_string());
            let mut volume = match (&traffic.rate, &traffic.profile, &traffic.profile_file) {
                (Some(rate), _, _) => format!("{} per hour", format_number(rate.per_hour())),
                (None, Some(profile), _) => format!(
                    "profile of {} intervals, {} contacts in all",
                    profile.len(),
                    format_number(profile.iter().map(|entry| entry.volume).sum())
                ),
                (None, None, Some(file)) => format!("profile from {file}"),
                _ => "–".to_string(),
            };
            if !traffic.bursts.is_empty() {
                let _ = write!(volume, "; {} surges", traffic.bursts.len());
            }
            let patience = traffic
                .patience
                .as_ref()
                .map_or("waits forever".to_string(), |patience| patience.describe());
            let retrial = traffic
                .retrial
                .as_ref()
                .map_or("none".to_string(), |retrial| {
                    format!(
                        "{:.0} % retry after {}",
                        retrial.probability * 100.0,
                        retrial.delay.describe()
                    )
                });
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&into),
                escape(&channel),
                escape(&volume),
                escape(&traffic.handle_time.describe()),
                escape(&patience),
                escape(&retrial)
            );
        }
        html.push_str("</tbody></table>\n");
        Some(html)
    }
}

/// The whole page.
pub fn render_page(context: &PageContext) -> String {
    let summary = &context.input.results.summary;
    let rendered: Vec<(String, String)> = sections()
        .iter()
        .filter_map(|section| section.render(context).map(|html| (section.title(), html)))
        .collect();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — Switchboard report</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
        escape(&summary.scenario),
        STYLE
    );
    let _ = writeln!(html, "<h1>{}</h1>", escape(&summary.scenario));
    let _ = writeln!(
        html,
        "<p class=\"subtitle\">Switchboard simulation report · {} replications · seed {} · service level: {} · trace {}</p>",
        summary.replications,
        summary.seed,
        escape(definition_short(summary.service_level_definition)),
        escape(summary.trace_hash.get(..16).unwrap_or(&summary.trace_hash))
    );
    html.push_str("<nav><ol>\n");
    for (index, (title, _)) in rendered.iter().enumerate() {
        let _ = writeln!(
            html,
            "<li><a href=\"#section-{index}\">{}</a></li>",
            escape(title)
        );
    }
    html.push_str("</ol></nav>\n");
    for (index, (title, body)) in rendered.iter().enumerate() {
        let _ = writeln!(
            html,
            "<section id=\"section-{index}\">\n<h2>{}</h2>\n{}</section>",
            escape(title),
            body
        );
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

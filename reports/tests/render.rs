//! The report rendered from a real results folder: a small two-site scenario is simulated
//! with the simulator's library, its results written as `switchboard sim --out` writes them,
//! and the page and charts are checked for what a reader needs to see.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use switchboard_plan::required::required_agents;
use switchboard_reports::chart::{Chart, PALETTE};
use switchboard_reports::{render_folder, RenderOptions, Rendered};
use switchboard_sim::run::{prepare, RunOptions};

const SCENARIO: &str = "tests/two_sites.toml";
const INTERVALS: usize = 8;

/// One simulated results folder shared by every test (simulating is the slow part).
fn results_folder() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| simulated_folder(SCENARIO, "render"))
}

/// Simulates `scenario` (relative to the crate) into a new results folder and renders it.
fn simulated_folder(scenario: &str, label: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!(
        "switchboard-reports-{label}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&folder);
    let scenario_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario);
    let scenario = switchboard_sim::load_scenario(&scenario_path).expect("the scenario reads");
    let model = prepare(&scenario).expect("the scenario compiles");
    let result = switchboard_sim::run(
        &model,
        &RunOptions {
            threads: 2,
            ..RunOptions::default()
        },
        &|_| {},
    )
    .expect("the simulation runs");
    let mut results = result.to_results(&model, required_agents);
    results.scenario_copy = Some(scenario.text.clone());
    results.write_folder(&folder).expect("results are written");
    render_folder(&folder, &RenderOptions::default()).expect("the report renders");
    folder
}

fn render(png: bool) -> Rendered {
    render_folder(
        results_folder(),
        &RenderOptions {
            png,
            ..RenderOptions::default()
        },
    )
    .expect("the folder renders")
}

fn chart<'a>(rendered: &'a Rendered, id: &str) -> &'a Chart {
    rendered
        .charts
        .iter()
        .find(|chart| chart.id == id)
        .unwrap_or_else(|| panic!("no chart `{id}`"))
}

/// The `points` attribute of every polyline drawn in `colour`, as point counts.
fn polyline_point_counts(svg: &str, colour: plotters::style::RGBColor) -> Vec<usize> {
    let stroke = format!(
        "stroke=\"#{:02X}{:02X}{:02X}\"",
        colour.0, colour.1, colour.2
    );
    svg.split("<polyline")
        .skip(1)
        .filter(|element| {
            let end = element.find("/>").unwrap_or(element.len());
            element[..end].contains(&stroke)
        })
        .map(|element| {
            let start = element.find("points=\"").expect("a polyline has points") + 8;
            let end = start + element[start..].find('"').expect("closed attribute");
            element[start..end].split_whitespace().count()
        })
        .collect()
}

#[test]
fn the_page_is_self_contained_and_has_every_section() {
    let rendered = render(false);
    let html = std::fs::read_to_string(&rendered.html).unwrap();
    for heading in [
        "Headline",
        "Through the day",
        "How long answered contacts waited",
        "Per queue, channel and site",
        "Key inputs",
    ] {
        assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    assert!(!html.contains("<script"), "the page needs no script");
    // The start among the key inputs is on the charts' clock.
    assert!(
        html.contains("<tr><th>start</th><td>2026-11-10 20:00 (UTC+08:00), local time of Asia/Shanghai as on the charts (written 2026-11-10T20:00:00+08:00 in the file)</td></tr>"),
        "the start is local"
    );
    let without_namespaces = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_namespaces.contains("http://") && !without_namespaces.contains("https://"));
    assert!(!html.contains("<link"), "nothing is loaded from elsewhere");
    assert_eq!(html.matches("<svg").count(), rendered.charts.len());
    assert!(rendered.charts.len() >= 8, "{}", rendered.charts.len());
    // The page says which service-level definition it shows.
    assert!(html.contains("excluding_short_abandons"));
    assert!(html.contains("answered in target / (offered − abandoned in target)"));
    // Confidence intervals with three replications.
    assert!(html.contains("95 % CI"));
    // Tables per queue, channel and site, and the inputs.
    for name in ["orders", "chat", "voice", "hangzhou", "chengdu"] {
        assert!(html.contains(&format!("<th>{name}</th>")), "{name}");
    }
    assert!(html.contains("<td>Asia/Shanghai</td>"));
}

#[test]
fn every_series_is_one_line_through_every_interval() {
    let rendered = render(false);
    let contacts = chart(&rendered, "contacts");
    let svg = contacts.to_svg().unwrap();
    let names: Vec<&str> = contacts.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["offered to queues", "answered", "abandoned"]);
    for (index, series) in contacts.series.iter().enumerate() {
        assert_eq!(series.points.len(), INTERVALS, "{}", series.name);
        let counts = polyline_point_counts(&svg, PALETTE[index]);
        // The line itself, and its two-point sample in the legend.
        assert!(counts.contains(&INTERVALS), "{}: {counts:?}", series.name);
        assert!(counts.contains(&2), "{}: legend {counts:?}", series.name);
    }
    // The service-level chart: the whole center and both queues, and the goal line.
    let service_level = chart(&rendered, "service-level");
    assert_eq!(service_level.series.len(), 3);
    assert_eq!(service_level.reference_lines[0].value, 0.8);
    let svg = service_level.to_svg().unwrap();
    assert!(svg.contains("goal 80 %"));
}

#[test]
fn axes_cover_the_data_and_say_their_units() {
    let rendered = render(false);
    for chart in &rendered.charts {
        let range = chart.vertical_range();
        for series in &chart.series {
            for &(_, y) in &series.points {
                if chart.id == "wait-distribution" {
                    assert!(y > 0.0 && y <= 1.0);
                }
                assert!(
                    range.start <= y && y <= range.end,
                    "{}: {y} outside {range:?}",
                    chart.id
                );
            }
        }
        let svg = chart.to_svg().unwrap();
        assert!(svg.contains(&chart.title), "{} has its title", chart.id);
        assert!(
            svg.contains(&chart.y_label),
            "{} has its vertical label",
            chart.id
        );
    }
    let contacts = chart(&rendered, "contacts");
    assert_eq!(contacts.y_label, "contacts per 30 min");
    let svg = contacts.to_svg().unwrap();
    assert!(svg.contains("local time, Asia/Shanghai"));
    // The run starts at 20:00 in Shanghai and crosses midnight.
    assert!(
        svg.contains("\n20:00\n"),
        "the time axis starts at 20:00 local"
    );
    assert!(svg.contains("\n00:00\n"), "midnight is labelled");
    let waits = chart(&rendered, "wait-distribution");
    assert!(waits.x_label.contains("seconds"));
    assert!(waits.series[0].points.first().unwrap().1 < 1.0);
}

#[test]
fn charts_export_as_png_pictures() {
    let rendered = render(true);
    assert_eq!(rendered.pngs.len(), rendered.charts.len());
    for path in &rendered.pngs {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (frame.width, frame.height),
            (960, 420),
            "{}",
            path.display()
        );
        let bytes_per_pixel = frame.line_size / frame.width as usize;
        let pixels = &pixels[..frame.buffer_size()];
        let non_white = pixels
            .chunks(bytes_per_pixel)
            .filter(|pixel| pixel.iter().take(3).any(|&channel| channel < 200))
            .count();
        // Text, axes and lines: a few per cent of the picture, never nothing.
        let share = non_white as f64 / (frame.width * frame.height) as f64;
        assert!(share > 0.01, "{}: {share}", path.display());
    }
}

#[test]
fn rendering_a_folder_again_gives_the_same_page() {
    let first = std::fs::read(render(false).html).unwrap();
    let second = std::fs::read(render(false).html).unwrap();
    assert_eq!(first, second);
}

#[test]
fn the_new_interval_charts_carry_their_series_and_axes() {
    let rendered = render(false);
    // Waits: the average and three percentiles of the whole center, ordered at every point,
    // and the two queues' different thresholds leave no single target line.
    let waits = chart(&rendered, "wait-percentiles");
    let names: Vec<&str> = waits.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["average (ASA)", "median (p50)", "p90", "p99"]);
    assert!(
        waits.reference_lines.is_empty(),
        "orders 20 s and chat 60 s"
    );
    for series in &waits.series {
        assert_eq!(series.points.len(), INTERVALS, "{}", series.name);
    }
    for index in 0..INTERVALS {
        let at = |series: usize| waits.series[series].points[index].1;
        assert!(at(1) <= at(2) && at(2) <= at(3), "interval {index}");
    }
    assert!(
        waits.series[3].points.iter().any(|&(_, y)| y > 0.0),
        "someone waited"
    );
    let range = waits.vertical_range();
    let highest = waits.series[3]
        .points
        .iter()
        .map(|p| p.1)
        .fold(0.0, f64::max);
    assert!(range.start == 0.0 && range.end >= highest);
    assert!(waits.y_label.contains("seconds"));

    // Staffing: both sites, the whole center, and what Erlang C requires for the load.
    let staffed = chart(&rendered, "staffed-agents");
    let required = staffed
        .series
        .iter()
        .find(|s| s.name.starts_with("required"))
        .expect("a required-agents line");
    assert_eq!(required.points.len(), INTERVALS);
    // 300 calls/h of 2 min is 10 erlangs on voice, 240 chats/h of 4 min 16 erlangs over 3
    // chats an agent: the requirement is well above 10 and below the load's double.
    assert!(
        required
            .points
            .iter()
            .all(|&(_, y)| (12.0..=40.0).contains(&y)),
        "{:?}",
        required.points
    );

    // Queue length: the time-average beside the peak, never above it.
    let queue_length = chart(&rendered, "queue-length");
    assert_eq!(queue_length.series[0].name, "whole center, average");
    assert_eq!(queue_length.series[1].name, "whole center, peak");
    for (average, peak) in queue_length.series[0]
        .points
        .iter()
        .zip(&queue_length.series[1].points)
    {
        assert!(average.1 <= peak.1, "{average:?} vs {peak:?}");
    }

    // Offered per queue: both queues, adding up to the center's offered contacts.
    let per_queue = chart(&rendered, "offered-per-queue");
    let contacts = chart(&rendered, "contacts");
    let offered = &contacts.series[0];
    assert_eq!(offered.name, "offered to queues");
    for index in 0..INTERVALS {
        let sum: f64 = per_queue.series.iter().map(|s| s.points[index].1).sum();
        assert!(
            (sum - offered.points[index].1).abs() < 1e-6,
            "interval {index}"
        );
    }
}

/// A run whose warmup covers its first interval: that interval was not measured, and no
/// chart may draw it as a 0.
#[test]
fn the_warmup_interval_is_not_drawn_as_zero() {
    let folder =
        std::env::temp_dir().join(format!("switchboard-reports-warmup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO);
    let text = std::fs::read_to_string(&original)
        .unwrap()
        .replace("interval = \"30m\"", "interval = \"30m\"\nwarmup = \"30m\"");
    let scenario_path = folder.join("warmup.toml");
    std::fs::write(&scenario_path, text).unwrap();
    let scenario = switchboard_sim::load_scenario(&scenario_path).unwrap();
    let model = prepare(&scenario).unwrap();
    let result = switchboard_sim::run(&model, &RunOptions::default(), &|_| {}).unwrap();
    let out = folder.join("out");
    let mut results = result.to_results(&model, required_agents);
    results.scenario_copy = Some(scenario.text.clone());
    results.write_folder(&out).unwrap();
    let rendered = render_folder(&out, &RenderOptions::default()).unwrap();
    let mut checked = 0;
    for chart in rendered
        .charts
        .iter()
        .filter(|chart| chart.id != "wait-distribution")
    {
        for series in &chart.series {
            // Points sit at the middle of their interval: the first measured one at 0.75 h.
            assert_eq!(
                series.points.len(),
                INTERVALS - 1,
                "{}: {}",
                chart.id,
                series.name
            );
            assert!(
                series.points.iter().all(|&(x, _)| x > 0.5),
                "{}: {} starts at {:?}",
                chart.id,
                series.name,
                series.points.first()
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} series checked");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn tickets_get_their_sla_attainment_and_backlog_age_charted() {
    let folder = simulated_folder("tests/inbox.toml", "inbox");
    let rendered = render_folder(&folder, &RenderOptions::default()).expect("the folder renders");
    // Every e-mail arrives on Friday from 21:00 to 22:00 and is due on Monday from 11:00 to
    // 12:00 (the interval from 60 h); two agents start at 60 h (Monday 08:00) and answer
    // them all before 11:00: 100 % in that one interval, none due in any other.
    let attainment = chart(&rendered, "due-attainment");
    assert_eq!(attainment.series[0].points.len(), 1);
    assert_eq!(attainment.series[0].points[0].1, 1.0);
    // The oldest ticket ages 6 h per 6-hour interval over the weekend, drawn in hours.
    let ages = chart(&rendered, "backlog-age");
    let names: Vec<&str> = ages.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["p90", "oldest"]);
    let oldest = &ages.series[1].points;
    assert_eq!(
        oldest.len(),
        10,
        "open from Saturday 02:00 to Monday 08:00: {oldest:?}"
    );
    for pair in oldest.windows(2) {
        assert!((pair[1].1 - pair[0].1 - 6.0).abs() < 1e-9, "{oldest:?}");
    }
    let html = std::fs::read_to_string(&rendered.html).unwrap();
    assert!(html.contains("SLA attainment"));
    let _ = std::fs::remove_dir_all(&folder);
}

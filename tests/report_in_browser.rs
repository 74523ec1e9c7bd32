//! `switchboard sim --out DIR` writes a report that a real browser (Debian's `chromium`,
//! headless) renders: the screenshot is not blank, the page logs no script error, and the DOM
//! holds the chart SVGs. `switchboard report DIR --png` renders the same folder again.

use std::path::{Path, PathBuf};
use std::process::Command;

const SWITCHBOARD: &str = env!("CARGO_BIN_EXE_switchboard");

fn fresh_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn simulate(scenario: &str, out: &Path) {
    let output = Command::new(SWITCHBOARD)
        .args(["sim", scenario, "--replications", "2", "--quiet", "--out"])
        .arg(out)
        .output()
        .expect("switchboard runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.join("report.html").exists());
}

fn chromium(arguments: &[&str], profile: &Path) -> std::process::Output {
    let found = Command::new("chromium").arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "chromium is needed to check the report in a browser: apt-get install -y chromium"
    );
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .output()
        .expect("chromium runs")
}

#[test]
fn the_report_renders_in_a_browser() {
    let folder = fresh_folder("browser");
    let results = folder.join("results");
    simulate("scenarios/mmc.toml", &results);
    let rerender = Command::new(SWITCHBOARD)
        .args(["report", "--png"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(rerender.status.success());
    assert!(results.join("charts/contacts.png").exists());

    let page = format!("file://{}", results.join("report.html").display());
    let screenshot = folder.join("screenshot.png");
    let shot = chromium(
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000",
            &page,
        ],
        &folder.join("profile-1"),
    );
    let log = String::from_utf8_lossy(&shot.stderr);
    assert!(!log.contains("Uncaught"), "{log}");
    assert!(!log.contains("ERROR:CONSOLE"), "{log}");

    let decoder = png::Decoder::new(std::fs::File::open(&screenshot).expect("a screenshot"));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let bytes_per_pixel = frame.line_size / frame.width as usize;
    let pixels = &pixels[..frame.buffer_size()];
    let mut colours = std::collections::BTreeSet::new();
    let mut non_white = 0usize;
    for pixel in pixels.chunks(bytes_per_pixel) {
        colours.insert((pixel[0], pixel[1], pixel[2]));
        if pixel.iter().take(3).any(|&channel| channel < 235) {
            non_white += 1;
        }
    }
    let share = non_white as f64 / (frame.width * frame.height) as f64;
    assert!(colours.len() > 20, "{} colours", colours.len());
    assert!(share > 0.05, "only {share} of the screenshot is not white");

    let dom = chromium(&["--dump-dom", &page], &folder.join("profile-2"));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.matches("<svg").count() >= 8, "the DOM holds the charts");
    assert!(dom.contains("chart-service-level"));
    // Shares end at 100 %: the service-level and occupancy axes have no label above it.
    for chart in ["chart-service-level", "chart-occupancy"] {
        let labels = percent_labels(&dom, chart);
        assert_eq!(
            labels.iter().copied().fold(0, u32::max),
            100,
            "{chart}: {labels:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&folder);
}

/// The whole percentages written on the chart `figure_id` as the browser holds it (`80 %`).
fn percent_labels(dom: &str, figure_id: &str) -> Vec<u32> {
    let start = dom
        .find(&format!("id=\"{figure_id}\""))
        .unwrap_or_else(|| panic!("{figure_id} is on the page"));
    let figure = &dom[start..];
    let figure = &figure[..figure.find("</figure>").expect("the figure ends")];
    figure
        .split('>')
        .filter_map(|piece| piece.split('<').next())
        .filter_map(|text| text.trim().strip_suffix(" %"))
        .filter_map(|number| number.parse().ok())
        .collect()
}

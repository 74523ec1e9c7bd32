//! Runs one replication of a scenario on one thread and prints its event and contact counts,
//! its trace hash and one BLAKE3 digest of every figure it produced: the per-scope values, the
//! interval counters, the interval wait buckets and the whole-run wait histograms (their
//! quantiles and their serialized form, as `hdr` files hold them).
//!
//! A change meant only to make the simulator faster must leave every line this prints
//! unchanged; `docs/performance.md` uses it with `valgrind --tool=callgrind` to count the
//! instructions of the simulation without the work of writing results.
//!
//! ```sh
//! cargo run --release -p switchboard-sim --example replication_figures -- scenarios/large-mmc.toml 7
//! ```
//!
//! The second argument cuts the scenario to that many simulated hours (0 or absent: the
//! scenario's own duration).

use std::path::Path;
use std::process::ExitCode;

use hdrhistogram::serialization::{Serializer, V2Serializer};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let Some(scenario_path) = arguments.first() else {
        eprintln!("usage: replication_figures SCENARIO.toml [HOURS]");
        return ExitCode::FAILURE;
    };
    let hours: u64 = match arguments.get(1).map(|text| text.parse()) {
        None => 0,
        Some(Ok(hours)) => hours,
        Some(Err(error)) => {
            eprintln!("the number of hours is a whole number: {error}");
            return ExitCode::FAILURE;
        }
    };
    let scenario = match switchboard_sim::load_scenario(Path::new(scenario_path)) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let mut model = match switchboard_sim::run::prepare(&scenario) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    if hours > 0 {
        model.duration_ms = hours * 3_600_000;
    }
    let options = switchboard_sim::RunOptions {
        replications: Some(1),
        threads: 1,
        ..Default::default()
    };
    let result = match switchboard_sim::run(&model, &options, &|_| {}) {
        Ok(result) => result,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let mut serialized_histograms = Vec::new();
    let mut serializer = V2Serializer::new();
    for histogram in &result.answered_waits_ms {
        serializer
            .serialize(histogram, &mut serialized_histograms)
            .expect("a histogram serializes into memory");
    }
    let figures = format!(
        "{:?}|{:?}|{:?}|{:?}",
        result
            .figures
            .iter()
            .map(|figures| (&figures.values, &figures.intervals, figures.still_inside))
            .collect::<Vec<_>>(),
        result.interval_answered_waits,
        result
            .answered_waits_ms
            .iter()
            .map(|histogram| (
                histogram.len(),
                histogram.value_at_quantile(0.5),
                histogram.value_at_quantile(0.99),
                histogram.max()
            ))
            .collect::<Vec<_>>(),
        blake3::hash(&serialized_histograms).to_hex(),
    );
    println!(
        "events {} contacts {} trace {} figures {}",
        result.summary.events,
        result.summary.contacts,
        &result.trace_hash[..16],
        &blake3::hash(figures.as_bytes()).to_hex()[..16]
    );
    ExitCode::SUCCESS
}

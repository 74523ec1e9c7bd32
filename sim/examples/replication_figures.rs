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

use std::process::ExitCode;

use hdrhistogram::serialization::{Serializer, V2Serializer};

mod common;

fn main() -> ExitCode {
    let model = match common::model_from_arguments("replication_figures") {
        Ok(model) => model,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
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

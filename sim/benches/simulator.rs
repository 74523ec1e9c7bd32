//! Simulator speed on the large M/M/c+M center of `scenarios/large-mmc.toml` (1,000 agents,
//! 28,500 calls per hour, 95 % load): simulated contacts per second of one replication on one
//! thread, and the same work split over two threads. `docs/performance.md` records figures.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard_sim::load_scenario;
use switchboard_sim::run::{prepare, RunOptions};

/// The large scenario, cut to `hours` of simulated time so one iteration stays short.
fn large_model(hours: u64) -> switchboard_sim::model::Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/large-mmc.toml");
    let scenario = load_scenario(&path).expect("the bundled scenario reads");
    let mut model = prepare(&scenario).expect("the bundled scenario is valid");
    model.duration_ms = hours * 3_600_000;
    model
}

fn contacts_per_second(criterion: &mut Criterion) {
    let model = large_model(7);
    // 28,500 per hour for 7 hours: the expected number of contacts per replication.
    let contacts_per_replication = 28_500 * 7;
    let mut group = criterion.benchmark_group("large-mmc");
    group.sample_size(10);
    group.throughput(Throughput::Elements(contacts_per_replication));
    group.bench_function("one replication, one thread", |bencher| {
        let options = RunOptions {
            replications: Some(1),
            threads: 1,
            ..RunOptions::default()
        };
        bencher.iter(|| {
            switchboard_sim::run(&model, &options, &|_| {})
                .unwrap()
                .summary
                .events
        })
    });
    group.throughput(Throughput::Elements(2 * contacts_per_replication));
    for threads in [1, 2] {
        group.bench_function(format!("two replications, {threads} threads"), |bencher| {
            let options = RunOptions {
                replications: Some(2),
                threads,
                ..RunOptions::default()
            };
            bencher.iter(|| {
                switchboard_sim::run(&model, &options, &|_| {})
                    .unwrap()
                    .summary
                    .events
            })
        });
    }
    group.finish();
}

criterion_group!(benches, contacts_per_second);
criterion_main!(benches);

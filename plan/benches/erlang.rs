//! Speed of the planning hot paths. Targets (docs/performance.md, "Planning"): Erlang C at
//! 10,000 agents ≤ 50 µs, Erlang A at 10,000 agents ≤ 5 ms, staffing 96 intervals ≤ 10 ms.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard_engine::units::DurationMs;
use switchboard_plan::erlang::{erlang_a, erlang_c, Workload};
use switchboard_plan::schedule::{read_shifts, schedule_shifts};
use switchboard_plan::staffing::{staff_intervals, IntervalDemand, QueueModel, StaffingOptions};
use switchboard_plan::targets::Targets;

fn erlang_at_ten_thousand_agents(c: &mut Criterion) {
    // 9,900 erlangs on 10,000 agents: the QED regime where both formulas do the most work.
    let workload = Workload::new(9_900.0 / 180.0, 180.0);
    c.bench_function("erlang_c_10000_agents", |b| {
        b.iter(|| erlang_c(black_box(workload), black_box(10_000), 20.0))
    });
    c.bench_function("erlang_a_10000_agents", |b| {
        b.iter(|| erlang_a(black_box(workload), black_box(10_000), 60.0, 20.0))
    });
}

/// A day of 15-minute intervals with a morning and an evening peak (40 to 1,240 contacts).
fn day_of_96_intervals() -> Vec<IntervalDemand> {
    (0..96_u64)
        .map(|i| {
            let hour = i as f64 / 4.0;
            let peak = |center: f64| (-((hour - center) / 2.0).powi(2)).exp();
            IntervalDemand {
                start: DurationMs::from_s(i * 900),
                volume: (40.0 + 1_200.0 * peak(11.0) + 900.0 * peak(20.0)).round(),
                handle_time_s: 240.0,
            }
        })
        .collect()
}

fn staffing_a_day(c: &mut Criterion) {
    let demands = day_of_96_intervals();
    let interval = DurationMs::from_s(900);
    let targets = Targets {
        service_level: Some("80/20".parse().unwrap()),
        ..Targets::default()
    };
    for (name, model) in [
        ("staff_96_intervals_erlang_c", QueueModel::ErlangC),
        (
            "staff_96_intervals_erlang_a",
            QueueModel::ErlangA { patience_s: 60.0 },
        ),
    ] {
        let options = StaffingOptions {
            model,
            targets: targets.clone(),
            reporting_threshold_s: 20.0,
            shrinkage: 0.3,
            concurrency: 1,
        };
        c.bench_function(name, |b| {
            b.iter(|| staff_intervals(black_box(&demands), interval, &options).unwrap())
        });
    }
}

/// The bundled day: staff per half hour (Erlang A, 80/20, 30 % shrinkage, as printed by
/// `plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --patience 1m --shrinkage 30%`)
/// covered with templates like `scenarios/shifts.toml`.
fn scheduling_a_day(c: &mut Criterion) {
    let staff: [u64; 48] = [
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 6, 9, 15, 20, 28, 32, 32, 28, 20, 16, 16,
        19, 25, 28, 28, 25, 19, 15, 13, 13, 13, 13, 15, 20, 28, 35, 35, 28, 20, 15, 5, 3,
    ];
    let shifts = read_shifts(SHIFTS, "shifts.toml").unwrap();
    let interval = DurationMs::from_s(1_800);
    let mut group = c.benchmark_group("schedule");
    group.sample_size(10);
    group.bench_function("schedule_48_intervals_38_options", |b| {
        b.iter(|| schedule_shifts(black_box(&staff), interval, &shifts).unwrap())
    });
    group.finish();
}

const SHIFTS: &str = r#"
[[shift]]
name = "night"
starts = ["0h"]
length = "6h"
breaks = [{ offset = "3h", duration = "15m", paid = true }]

[[shift]]
name = "early"
start_window = { from = "6h", to = "10h", step = "30m" }
length = "8h30m"
breaks = [{ offset = "2h", duration = "15m", paid = true }, { offset = "4h", duration = "30m" }]

[[shift]]
name = "late"
start_window = { from = "12h", to = "15h30m", step = "30m" }
length = "8h30m"
breaks = [{ offset = "2h", duration = "15m", paid = true }, { offset = "4h30m", duration = "30m" }]

[[shift]]
name = "evening"
start_window = { from = "16h", to = "18h", step = "30m" }
length = "6h"
breaks = [{ offset = "3h", duration = "15m", paid = true }]

[[shift]]
name = "close"
starts = ["20h", "21h", "22h"]
length = "4h"

[[shift]]
name = "part-time"
start_window = { from = "8h", to = "19h", step = "1h" }
length = "4h"
max_count = 12

[limits]
max_shifts = 200
"#;

criterion_group!(
    benches,
    erlang_at_ten_thousand_agents,
    staffing_a_day,
    scheduling_a_day
);
criterion_main!(benches);

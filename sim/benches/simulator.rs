//! Simulator speed on the large M/M/c+M center of `scenarios/large-mmc.toml` (1,000 agents,
//! 28,500 calls per hour, 95 % load): simulated contacts per second of one replication on one
//! thread, and the same work split over two threads. Three parts of the loop are also measured
//! alone: the trace hash per engine event, the metrics recorder per engine event, and the
//! future-event list in the pattern of the large scenario. `docs/performance.md` records figures.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use switchboard_engine::{AgentId, AgentState, Channel, ContactId, Event, EventKind, QueueId};
use switchboard_sim::event_queue::EventQueue;
use switchboard_sim::load_scenario;
use switchboard_sim::metrics::{ContactFacts, MetricsRecorder};
use switchboard_sim::run::{prepare, RunOptions};
use switchboard_sim::trace::TraceSink;

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

/// The events of one answered contact, as the engine emits them in the large scenario.
fn events_of_one_contact(contact: u64, time_ms: u64) -> Vec<Event> {
    let (contact, agent, queue) = (ContactId(contact), AgentId(7), QueueId(0));
    [
        EventKind::ContactArrived {
            contact,
            channel: Channel::Voice,
            entry: switchboard_engine::Entry::Queue(queue),
        },
        EventKind::ContactQueued {
            contact,
            queue,
            priority: 0,
            waited_ms: 0,
        },
        EventKind::ContactOffered {
            contact,
            agent,
            queue,
        },
        EventKind::AgentStateChanged {
            agent,
            from: AgentState::Available,
            to: AgentState::Reserved,
        },
        EventKind::ContactAnswered {
            contact,
            agent,
            queue,
            channel: Channel::Voice,
            wait_ms: 1_250,
        },
        EventKind::AgentStateChanged {
            agent,
            from: AgentState::Reserved,
            to: AgentState::Busy,
        },
        EventKind::ConversationEnded {
            contact,
            agent,
            queue,
            by: switchboard_engine::Party::Agent,
            talk_ms: 118_000,
        },
        EventKind::ContactEnded {
            contact,
            outcome: switchboard_engine::Outcome::Completed,
            channel: Channel::Voice,
            queue: Some(queue),
            agent: Some(agent),
            wait_ms: 1_250,
            block_reason: None,
        },
    ]
    .into_iter()
    .map(|kind| Event { time_ms, kind })
    .collect()
}

fn loop_parts(criterion: &mut Criterion) {
    let events: Vec<Event> = (0..125)
        .flat_map(|contact| events_of_one_contact(contact, contact * 126))
        .collect();
    let mut group = criterion.benchmark_group("loop-parts");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("trace hash, 1,000 events", |bencher| {
        bencher.iter(|| {
            let mut sink = TraceSink::new(0, None);
            for event in &events {
                sink.record(black_box(event)).expect("no trace file");
            }
            sink.finish().expect("no trace file")
        })
    });

    // The recorder of the large scenario (7 hours, 30-minute intervals) taking the events of
    // 125 answered contacts after the warmup (before it, contacts are not counted); building
    // the recorder (and closing its books) is left out.
    let model = large_model(7);
    let events: Vec<Event> = (0..125)
        .flat_map(|contact| events_of_one_contact(contact, model.warmup_ms + contact * 126))
        .collect();
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("metrics recorder, 1,000 events", |bencher| {
        bencher.iter_batched(
            || MetricsRecorder::new(&model),
            |mut recorder| {
                for event in &events {
                    let facts = ContactFacts {
                        arrival_ms: event.time_ms,
                        arrival_channel: Channel::Voice,
                        is_retrial: false,
                        conversation_ended_ms: Some(event.time_ms),
                        due_ms: None,
                    };
                    recorder.record(black_box(event), Some(&facts));
                }
                recorder
            },
            BatchSize::SmallInput,
        )
    });

    // The pattern of the large scenario: an arrival every 126 ms on average schedules its
    // answer at the same instant and the next arrival; an answer schedules the end of the
    // conversation 2 minutes later on average (about 950 pending). Payloads of 24 bytes, as
    // the simulator's actions.
    const STEPS: usize = 30_000;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
    let exponential = |rng: &mut rand_pcg::Pcg64, mean_ms: f64| {
        (-mean_ms * (1.0 - rng.random::<f64>()).ln()) as u64
    };
    let gaps_ms: Vec<(u64, u64)> = (0..STEPS)
        .map(|_| {
            (
                exponential(&mut rng, 126.0),
                exponential(&mut rng, 120_000.0),
            )
        })
        .collect();
    group.throughput(Throughput::Elements(STEPS as u64));
    // Kinds of event in the payload [kind, contact, spare].
    const ARRIVAL: u64 = 0;
    const ANSWER: u64 = 1;
    group.bench_function("event list, busy center, 30,000 events", |bencher| {
        bencher.iter(|| {
            let mut queue = EventQueue::new();
            queue.schedule(0, [ARRIVAL, 0u64, 0u64]);
            for &(arrival_gap_ms, talk_ms) in &gaps_ms {
                let (now_ms, [kind, contact, spare]) = queue.pop().expect("arrivals never stop");
                match kind {
                    ARRIVAL => {
                        queue.schedule(now_ms, [ANSWER, contact, spare]);
                        queue.schedule_in_order(
                            now_ms + arrival_gap_ms,
                            [ARRIVAL, contact + 1, spare],
                        );
                    }
                    ANSWER => queue.schedule(now_ms + talk_ms, [2, contact, spare]),
                    _ => {}
                }
            }
            queue.len()
        })
    });
    group.finish();
}

criterion_group!(benches, contacts_per_second, loop_parts);
criterion_main!(benches);

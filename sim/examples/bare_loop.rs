//! The yardstick of the simulator's speed: a bare event loop of the M/M/c+M model of
//! `scenarios/large-mmc.toml`, with no engine, no metrics and no trace hash. One binary heap of
//! (time, sequence, event), a first-come first-served line of waiting callers, and the same
//! arrival process, handle-time and patience distributions (the scenario's own samplers and
//! random streams), so the work left is the least any simulation of this model must do.
//!
//! `docs/performance.md` compares the whole-process time of this program with `switchboard sim`
//! on the same scenario: the simulator's contacts per second as a share of this loop's.
//!
//! ```sh
//! cargo run --release -p switchboard-sim --example bare_loop -- scenarios/large-mmc.toml
//! ```
//!
//! The second argument cuts the scenario to that many simulated hours, as in
//! `replication_figures`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::process::ExitCode;

use switchboard_sim::model::{ArrivalCursor, Model};
use switchboard_sim::random::stream;

mod common;

/// What happens at an instant of the bare loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Arrival,
    ServiceEnd,
    /// The caller's patience runs out, if it still waits.
    Patience {
        caller: u32,
    },
}

/// Where a caller stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    Waiting,
    Served,
    Abandoned,
}

/// What a run of the bare loop counted.
#[derive(Debug, Default, PartialEq, Eq)]
struct BareCounts {
    arrived: u64,
    answered: u64,
    abandoned: u64,
    events: u64,
}

/// Runs replication 0 of `model` (one `[[traffic]]` table, one `[[agents]]` group, all agents
/// logged in from the start, arrivals straight into the queue) as a bare event loop.
fn run_bare_loop(model: &Model, seed: u64) -> Result<BareCounts, String> {
    let [traffic] = model.traffic.as_slice() else {
        return Err("the bare loop models one [[traffic]] table".to_string());
    };
    let patience = traffic
        .patience
        .as_ref()
        .ok_or("the bare loop models callers with patience")?;
    let agents = model.agent_count() as usize;
    let named = |source: &str| stream(seed, 0, &format!("{source}/{}", traffic.label));
    let mut arrivals = named("arrivals");
    let mut handle_times = named("handle-time");
    let mut patiences = named("patience");
    let mut cursor = ArrivalCursor::default();

    let mut heap: BinaryHeap<Reverse<(u64, u64, Happening)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, time_ms: u64, happening: Happening| {
        sequence += 1;
        heap.push(Reverse((time_ms, sequence, happening)));
    };
    let mut next_arrival = |cursor: &mut ArrivalCursor| {
        traffic
            .arrivals
            .next_arrival_ms(cursor, 1.0, &mut arrivals)
            .map(|time_ms| time_ms as u64)
            .filter(|&time_ms| time_ms < model.duration_ms)
    };
    if let Some(first_ms) = next_arrival(&mut cursor) {
        push(&mut heap, first_ms, Happening::Arrival);
    }
    let mut callers: Vec<Caller> = Vec::new();
    let mut line: VecDeque<u32> = VecDeque::new();
    let mut free_agents = agents;
    let mut counts = BareCounts::default();
    while let Some(Reverse((now_ms, _, happening))) = heap.pop() {
        if now_ms >= model.duration_ms {
            break;
        }
        counts.events += 1;
        match happening {
            Happening::Arrival => {
                counts.arrived += 1;
                let caller = callers.len() as u32;
                if free_agents > 0 {
                    free_agents -= 1;
                    counts.answered += 1;
                    callers.push(Caller::Served);
                    let handle_ms = traffic.handle_time.sample_ms(&mut handle_times);
                    push(&mut heap, now_ms + handle_ms, Happening::ServiceEnd);
                } else {
                    callers.push(Caller::Waiting);
                    line.push_back(caller);
                    let patience_ms = patience.sample_ms(&mut patiences);
                    push(
                        &mut heap,
                        now_ms + patience_ms,
                        Happening::Patience { caller },
                    );
                }
                if let Some(next_ms) = next_arrival(&mut cursor) {
                    push(&mut heap, next_ms, Happening::Arrival);
                }
            }
            Happening::ServiceEnd => {
                // The agent takes the longest-waiting caller still there, or becomes free.
                let mut found_work = false;
                while let Some(caller) = line.pop_front() {
                    if callers[caller as usize] == Caller::Waiting {
                        callers[caller as usize] = Caller::Served;
                        counts.answered += 1;
                        let handle_ms = traffic.handle_time.sample_ms(&mut handle_times);
                        push(&mut heap, now_ms + handle_ms, Happening::ServiceEnd);
                        found_work = true;
                        break;
                    }
                }
                if !found_work {
                    free_agents += 1;
                }
            }
            Happening::Patience { caller } => {
                if callers[caller as usize] == Caller::Waiting {
                    callers[caller as usize] = Caller::Abandoned;
                    counts.abandoned += 1;
                }
            }
        }
    }
    Ok(counts)
}

fn main() -> ExitCode {
    let model = match common::model_from_arguments("bare_loop") {
        Ok(model) => model,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match run_bare_loop(&model, model.settings.seed) {
        Ok(counts) => {
            println!(
                "contacts {} answered {} abandoned {} events {}",
                counts.arrived, counts.answered, counts.abandoned, counts.events
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

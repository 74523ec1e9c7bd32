//! Sensitive-word matching, for counting its cost outside criterion: checks the benchmark's
//! 5,000 messages (the same seeded words and messages as `benches/sensitive_words.rs`)
//! `ROUNDS` times and prints the characters checked, and the CPU time the checking thread
//! spent on the rounds (its own CPU clock, `CLOCK_THREAD_CPUTIME_ID`: the time it ran, not
//! the time it waited for a core the machine's other work held, and without compiling the
//! list): on average, and in the fastest and the median tenth of a round, as characters per
//! CPU-millisecond. Run it as it is for those, or under
//! `valgrind --tool=callgrind` for instructions:
//!
//! ```text
//! cargo build --release -p switchboard-compliance --example sensitive_words_cost
//! target/release/examples/sensitive_words_cost 200
//! valgrind --tool=callgrind --toggle-collect='*check_message*' target/release/examples/sensitive_words_cost 3
//! ```

use std::time::Duration;

use nix::time::{clock_gettime, ClockId};
use switchboard_compliance::words::{Direction, SensitiveWords};

#[path = "../benches/word_data.rs"]
mod word_data;

/// CPU time this thread has run.
fn thread_cpu_time() -> Duration {
    Duration::from(clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).expect("Linux has the clock"))
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|text| text.parse().expect("ROUNDS is a number"))
        .unwrap_or(10);
    let (list_text, messages) = word_data::benchmark_data();
    let list = SensitiveWords::parse(&list_text, "bench.txt").unwrap();
    let characters: usize = messages.iter().map(|message| message.chars().count()).sum();
    let mut hits = 0usize;
    // CPU time of each batch of a tenth of the messages (about half a millisecond): on a
    // shared machine the fastest batches are those that other work did not interrupt (its
    // cache lines and branch history evicted), the median what a busy machine gives.
    let batch = messages.len().div_ceil(10);
    let mut batch_rates = Vec::with_capacity(rounds * 10);
    let mut total = Duration::ZERO;
    for _ in 0..rounds {
        for messages in messages.chunks(batch) {
            let cpu_before = thread_cpu_time();
            for message in messages {
                hits += list
                    .check_message(Direction::FromCustomer, message)
                    .hits
                    .len();
            }
            let cpu = thread_cpu_time() - cpu_before;
            total += cpu;
            let batch_characters: usize = messages.iter().map(|text| text.chars().count()).sum();
            batch_rates.push(batch_characters as f64 / (cpu.as_secs_f64() * 1e3));
        }
    }
    let checked = characters * rounds;
    println!(
        "{checked} characters checked in {rounds} rounds ({characters} per round), {hits} hits"
    );
    if rounds == 0 {
        return;
    }
    batch_rates.sort_unstable_by(f64::total_cmp);
    println!(
        "CPU time {:.1} ms: {:.0} characters per CPU-millisecond on average; per tenth of a \
         round: fastest {:.0}, median {:.0}",
        total.as_secs_f64() * 1e3,
        checked as f64 / (total.as_secs_f64() * 1e3),
        batch_rates[batch_rates.len() - 1],
        batch_rates[batch_rates.len() / 2],
    );
}

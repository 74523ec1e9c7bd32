//! Sensitive-word matching, for counting its cost outside criterion: checks the benchmark's
//! 5,000 messages (the same seeded words and messages as `benches/sensitive_words.rs`)
//! `ROUNDS` times and prints the characters checked, and the CPU time the checking thread
//! spent on the rounds (its own CPU clock, `CLOCK_THREAD_CPUTIME_ID`: the time it ran, not
//! the time it waited for a core the machine's other work held, and without compiling the
//! list): on average, in the fastest round and in the median round, as characters per
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
    // CPU time of each round: on a shared machine the fastest rounds are those that other
    // work did not interrupt (its cache lines and branch history evicted), the median what
    // a busy machine gives.
    let mut round_times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let cpu_before = thread_cpu_time();
        for message in &messages {
            hits += list
                .check_message(Direction::FromCustomer, message)
                .hits
                .len();
        }
        round_times.push(thread_cpu_time() - cpu_before);
    }
    let total: Duration = round_times.iter().sum();
    let checked = characters * rounds;
    println!(
        "{checked} characters checked in {rounds} rounds ({characters} per round), {hits} hits"
    );
    if rounds == 0 {
        return;
    }
    round_times.sort_unstable();
    let rate = |time: Duration| characters as f64 / (time.as_secs_f64() * 1e3);
    println!(
        "CPU time {:.1} ms: {:.0} characters per CPU-millisecond on average; per round: \
         fastest {:.0}, median {:.0}",
        total.as_secs_f64() * 1e3,
        checked as f64 / (total.as_secs_f64() * 1e3),
        rate(round_times[0]),
        rate(round_times[rounds / 2]),
    );
}

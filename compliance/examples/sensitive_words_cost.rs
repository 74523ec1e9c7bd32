//! Sensitive-word matching, for counting its cost outside criterion: checks the benchmark's
//! 5,000 messages (the same seeded words and messages as `benches/sensitive_words.rs`)
//! `ROUNDS` times and prints the characters checked. Run it under `perf stat -e task-clock`
//! (CPU time actually spent, whatever else the machine runs) or `valgrind --tool=callgrind`
//! (instructions) and divide:
//!
//! ```text
//! cargo build --release -p switchboard-compliance --example sensitive_words_cost
//! perf stat -e task-clock target/release/examples/sensitive_words_cost 20
//! ```

use switchboard_compliance::words::{Direction, SensitiveWords};

#[path = "../benches/word_data.rs"]
mod word_data;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|text| text.parse().expect("ROUNDS is a number"))
        .unwrap_or(10);
    let (list_text, messages) = word_data::benchmark_data();
    let list = SensitiveWords::parse(&list_text, "bench.txt").unwrap();
    let characters: usize = messages.iter().map(|message| message.chars().count()).sum();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for message in &messages {
            hits += list
                .check_message(Direction::FromCustomer, message)
                .hits
                .len();
        }
    }
    println!(
        "{} characters checked in {rounds} rounds ({characters} per round), {hits} hits",
        characters * rounds
    );
}

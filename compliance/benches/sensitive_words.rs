//! Sensitive-word matching throughput: 15,000 words, chat messages checked one by one on one
//! core (the data: `word_data.rs`). The target (docs/performance.md) is 200,000 characters
//! per millisecond.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard_compliance::words::{Direction, SensitiveWords};

mod word_data;

fn sensitive_words(criterion: &mut Criterion) {
    let (list_text, messages) = word_data::benchmark_data();
    let list = SensitiveWords::parse(&list_text, "bench.txt").unwrap();
    let characters: usize = messages.iter().map(|message| message.chars().count()).sum();

    let mut group = criterion.benchmark_group("sensitive_words");
    group.throughput(Throughput::Elements(characters as u64));
    group.bench_function("check_message_15000_words", |bench| {
        bench.iter(|| {
            let mut hits = 0usize;
            for message in &messages {
                hits += list
                    .check_message(Direction::FromCustomer, message)
                    .hits
                    .len();
            }
            hits
        })
    });
    // The same characters as one long text (a transcript): no per-message overhead.
    let transcript: String = messages.concat();
    group.bench_function("check_transcript_15000_words", |bench| {
        bench.iter(|| {
            list.check_message(Direction::ToCustomer, &transcript)
                .hits
                .len()
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group("sensitive_words_compile");
    group.sample_size(10);
    group.bench_function("parse_15000_words", |bench| {
        bench.iter(|| {
            SensitiveWords::parse(&list_text, "bench.txt")
                .unwrap()
                .word_count()
        })
    });
    group.finish();
}

criterion_group!(benches, sensitive_words);
criterion_main!(benches);

//! The seeded data of the sensitive-word benchmark, shared by `benches/sensitive_words.rs` and
//! `examples/sensitive_words_cost.rs`: 15,000 words and 5,000 messages drawn from one pool of
//! 3,500 Chinese characters (the size of the common-character list of the 2013 General
//! Standard Chinese Characters table) plus English words, so nearly every character of a
//! message occurs in some word: the matcher's shortcut for characters that occur in no word
//! does not apply, which is the hard case.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const WORDS: usize = 15_000;
pub const MESSAGES: usize = 5_000;

pub fn pool() -> Vec<char> {
    (0..3_500u32)
        .map(|index| char::from_u32(0x4E00 + index * 5).unwrap())
        .collect()
}

fn english_word(random: &mut StdRng) -> String {
    let length = random.gen_range(4..9);
    (0..length)
        .map(|_| char::from(b'a' + random.gen_range(0..26)))
        .collect()
}

pub fn word_list(random: &mut StdRng, pool: &[char]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut words = Vec::with_capacity(WORDS);
    for index in 0..WORDS {
        let word: String = if index % 10 == 0 {
            english_word(random)
        } else {
            let length = random.gen_range(2..5);
            (0..length)
                .map(|_| pool[random.gen_range(0..pool.len())])
                .collect()
        };
        let section = match index % 3 {
            0 => "[block]",
            1 => "[mask]",
            _ => "[flag]",
        };
        text.push_str(section);
        text.push('\n');
        text.push_str(&word);
        text.push('\n');
        words.push(word);
    }
    (text, words)
}

pub fn messages(random: &mut StdRng, pool: &[char], words: &[String]) -> Vec<String> {
    (0..MESSAGES)
        .map(|_| {
            let length = random.gen_range(20..200);
            let mut message = String::new();
            for _ in 0..length {
                match random.gen_range(0..100) {
                    0..=7 => message.push('，'),
                    8..=13 => message.push_str(&english_word(random)),
                    14..=15 => message.push(' '),
                    _ => message.push(pool[random.gen_range(0..pool.len())]),
                }
            }
            // One message in five carries a listed word.
            if random.gen_range(0..5) == 0 {
                message.push_str(&words[random.gen_range(0..words.len())]);
            }
            message
        })
        .collect()
}

/// The list's text, its words, and the messages, from the benchmark's seed.
pub fn benchmark_data() -> (String, Vec<String>) {
    let mut random = StdRng::seed_from_u64(19);
    let pool = pool();
    let (list_text, words) = word_list(&mut random, &pool);
    let messages = messages(&mut random, &pool, &words);
    (list_text, messages)
}

//! Retrials: callers who try again after an attempt that failed (abandoned or blocked, the
//! simulator's default `after`). Recognised by the caller's number, so only sources that
//! record it (Asterisk's `queue_log`, a CDR database with a `caller` column) can say.

use std::collections::BTreeMap;

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};
use switchboard_engine::Outcome;

use crate::patience::exponential_from_totals;
use crate::records::ContactRecord;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetrialFit {
    /// Failed attempts by callers whose number is known.
    pub failed_attempts: u64,
    /// Of those, attempts followed by another from the same caller within the window.
    pub retried: u64,
    /// `retried / failed_attempts`, the scenario's `retrial.probability`, with its Wilson
    /// 95 % interval.
    pub probability: f64,
    pub probability_ci95: [f64; 2],
    /// Mean time from the failed attempt's end to the next attempt, and the exact 95 %
    /// interval of an exponential delay's mean (none without a retrial).
    pub mean_delay_s: f64,
    pub mean_delay_ci95_s: Option<[f64; 2]>,
    /// Share of all contacts with a known caller that were retrials.
    pub retrial_share: f64,
    pub window_s: f64,
}

/// `contacts` are one stream's, in any order; `window_ms` bounds how late a second attempt
/// still counts as a retrial of the first.
pub fn fit_retrials(contacts: &[&ContactRecord], window_ms: i64) -> Option<RetrialFit> {
    let mut by_caller: BTreeMap<&str, Vec<&ContactRecord>> = BTreeMap::new();
    for contact in contacts {
        if let Some(caller) = &contact.caller {
            by_caller.entry(caller).or_default().push(contact);
        }
    }
    let known: u64 = by_caller.values().map(|v| v.len() as u64).sum();
    if known == 0 {
        return None;
    }
    let mut failed = 0u64;
    let mut retried = 0u64;
    let mut delays_ms = 0i64;
    let retrials = retrial_marks(contacts, window_ms)
        .iter()
        .filter(|&&retrial| retrial)
        .count() as u64;
    for attempts in by_caller.values_mut() {
        attempts.sort_by_key(|c| c.arrived_unix_ms);
        for (index, attempt) in attempts.iter().enumerate() {
            if !matches!(attempt.outcome, Outcome::Abandoned | Outcome::Blocked) {
                continue;
            }
            failed += 1;
            if let Some(next) = attempts.get(index + 1) {
                let gap = next.arrived_unix_ms - attempt.ended_unix_ms;
                if (0..=window_ms).contains(&gap) {
                    retried += 1;
                    delays_ms += gap;
                }
            }
        }
    }
    if failed == 0 {
        return None;
    }
    let delay_fit = exponential_from_totals(delays_ms as f64 / 1000.0, retried as f64);
    Some(RetrialFit {
        failed_attempts: failed,
        retried,
        probability: retried as f64 / failed as f64,
        probability_ci95: wilson_interval(retried, failed),
        mean_delay_s: delay_fit.map_or(0.0, |(mean_s, _)| mean_s),
        mean_delay_ci95_s: delay_fit.map(|(_, interval)| interval),
        retrial_share: retrials as f64 / known as f64,
        window_s: window_ms as f64 / 1000.0,
    })
}

/// For each of `contacts` (one stream's), whether it is a retrial: the same caller's next
/// attempt after an attempt that failed (abandoned or blocked), arriving within `window_ms` of
/// that attempt's end.
pub fn retrial_marks(contacts: &[&ContactRecord], window_ms: i64) -> Vec<bool> {
    let mut by_caller: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, contact) in contacts.iter().enumerate() {
        if let Some(caller) = &contact.caller {
            by_caller.entry(caller).or_default().push(index);
        }
    }
    let mut marks = vec![false; contacts.len()];
    for attempts in by_caller.values_mut() {
        attempts.sort_by_key(|&index| (contacts[index].arrived_unix_ms, index));
        for pair in attempts.windows(2) {
            let (first, next) = (contacts[pair[0]], contacts[pair[1]]);
            if matches!(first.outcome, Outcome::Abandoned | Outcome::Blocked) {
                let gap = next.arrived_unix_ms - first.ended_unix_ms;
                marks[pair[1]] = (0..=window_ms).contains(&gap);
            }
        }
    }
    marks
}

/// The Wilson 95 % interval of a proportion, `successes` of `trials` (at least one).
pub fn wilson_interval(successes: u64, trials: u64) -> [f64; 2] {
    debug_assert!(trials > 0 && successes <= trials);
    let p = successes as f64 / trials as f64;
    let n = trials as f64;
    let z = Normal::new(0.0, 1.0).expect("standard").inverse_cdf(0.975);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(caller: &str, arrived_s: i64, outcome: Outcome) -> ContactRecord {
        ContactRecord {
            arrived_unix_ms: arrived_s * 1000,
            entry_point: "sales".into(),
            queue: Some("sales".into()),
            agent: None,
            caller: Some(caller.into()),
            outcome,
            answered_unix_ms: None,
            ended_unix_ms: arrived_s * 1000 + 30_000,
            talk_ms: 0,
            menu_choices: Vec::new(),
        }
    }

    #[test]
    fn a_retry_within_the_window_counts_and_a_late_one_does_not() {
        let contacts = [
            attempt("a", 0, Outcome::Abandoned),
            attempt("a", 330, Outcome::Completed),
            attempt("b", 0, Outcome::Abandoned),
            attempt("b", 30 + 7_201, Outcome::Completed),
            attempt("c", 0, Outcome::Completed),
        ];
        let references: Vec<&ContactRecord> = contacts.iter().collect();
        let fit = fit_retrials(&references, 7_200_000).unwrap();
        assert_eq!((fit.failed_attempts, fit.retried), (2, 1));
        assert_eq!(fit.probability, 0.5);
        assert_eq!(fit.mean_delay_s, 300.0);
        assert_eq!(fit.retrial_share, 0.2);
        assert!(fit.probability_ci95[0] < 0.5 && 0.5 < fit.probability_ci95[1]);
    }
}

//! Patience from waits that mostly did not end in abandonment.
//!
//! Every caller who was answered (or blocked, or served by the IVR) would have waited at least
//! as long as it did: a right-censored observation of its patience. Averaging only the waits
//! of callers who hung up would say patience is short because the patient ones were answered.
//! So the fit treats answered waits as censored: the Kaplan–Meier estimate of the survival
//! curve (no model at all), and censored maximum likelihood for the exponential and Weibull
//! families (chosen by AIC), with a 95 % interval of the mean patience (exact chi-square for
//! the exponential, the delta method on the observed information for the Weibull).

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};
use statrs::function::gamma::{digamma, gamma};

use crate::handle_time::{solve_increasing, Family};

/// One step of the Kaplan–Meier curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SurvivalPoint {
    pub time_s: f64,
    /// Share of callers still willing to wait after `time_s`.
    pub survival: f64,
    pub at_risk: u64,
}

/// One parametric family fitted to censored patience.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatienceCandidate {
    pub distribution: Family,
    pub log_likelihood: f64,
    pub aic: f64,
    /// 95 % interval of the mean patience under this family.
    pub mean_ci95_s: [f64; 2],
}

/// What the waits say about patience.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatienceFit {
    /// Waits that ended in abandonment (observed patience).
    pub abandoned: u64,
    /// Waits that ended otherwise (censored).
    pub censored: u64,
    /// The Kaplan–Meier curve, thinned to at most 200 steps for the report.
    pub kaplan_meier: Vec<SurvivalPoint>,
    /// Where the Kaplan–Meier curve falls to one half, if it does within the observed waits.
    pub median_s: Option<f64>,
    /// The area under the Kaplan–Meier curve up to the longest wait: a lower bound of the
    /// mean that needs no model.
    pub restricted_mean_s: f64,
    /// Best (lowest AIC) first.
    pub candidates: Vec<PatienceCandidate>,
    pub chosen: Family,
    pub mean_s: f64,
    pub mean_ci95_s: [f64; 2],
}

/// Waits in seconds, each with whether it ended by abandonment. `None` without a single
/// abandonment: then nothing bounds patience and the scenario leaves it infinite.
pub fn fit_patience(observations: &[(f64, bool)]) -> Option<PatienceFit> {
    // A wait of zero says nothing about patience (no caller can abandon before it waits).
    let mut waits: Vec<(f64, bool)> = observations
        .iter()
        .copied()
        .filter(|(time, _)| time.is_finite() && *time > 0.0)
        .collect();
    let abandoned = waits.iter().filter(|(_, event)| *event).count() as u64;
    if abandoned == 0 {
        return None;
    }
    let censored = waits.len() as u64 - abandoned;
    // Events before censorings at the same time, as Kaplan and Meier did.
    waits.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let (curve, median_s, restricted_mean_s) = kaplan_meier(&waits);
    let mut candidates: Vec<PatienceCandidate> = [exponential(&waits), weibull(&waits)]
        .into_iter()
        .flatten()
        .filter(|candidate| candidate.log_likelihood.is_finite())
        .collect();
    candidates.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    let best = candidates.first()?.clone();
    Some(PatienceFit {
        abandoned,
        censored,
        kaplan_meier: thin(&curve, 200),
        median_s,
        restricted_mean_s,
        chosen: best.distribution,
        mean_s: best.distribution.mean_s(),
        mean_ci95_s: best.mean_ci95_s,
        candidates,
    })
}

/// Exponential patience from totals alone (an interval export's abandons and waits): the
/// censored maximum-likelihood mean is the total time callers waited over the abandons.
pub fn exponential_from_totals(total_wait_s: f64, abandoned: f64) -> Option<(f64, [f64; 2])> {
    if !(abandoned >= 1.0 && total_wait_s > 0.0) {
        return None;
    }
    Some((
        total_wait_s / abandoned,
        exponential_mean_interval(total_wait_s, abandoned),
    ))
}

/// The exact 95 % interval of an exponential mean from `events` over `exposure`: 2T/θ is
/// chi-square with 2d degrees of freedom.
fn exponential_mean_interval(exposure: f64, events: f64) -> [f64; 2] {
    let chi = ChiSquared::new(2.0 * events).expect("positive degrees of freedom");
    [
        2.0 * exposure / chi.inverse_cdf(0.975),
        2.0 * exposure / chi.inverse_cdf(0.025),
    ]
}

fn kaplan_meier(sorted: &[(f64, bool)]) -> (Vec<SurvivalPoint>, Option<f64>, f64) {
    let mut survival = 1.0;
    let mut at_risk = sorted.len() as u64;
    let mut curve = Vec::new();
    let mut median = None;
    let mut area = 0.0;
    let mut last_time = 0.0;
    let mut index = 0;
    while index < sorted.len() {
        let time = sorted[index].0;
        let mut events = 0u64;
        let mut leaving = 0u64;
        while index < sorted.len() && sorted[index].0 == time {
            events += u64::from(sorted[index].1);
            leaving += 1;
            index += 1;
        }
        area += survival * (time - last_time);
        last_time = time;
        if events > 0 {
            survival *= 1.0 - events as f64 / at_risk as f64;
            curve.push(SurvivalPoint {
                time_s: time,
                survival,
                at_risk,
            });
            if median.is_none() && survival <= 0.5 {
                median = Some(time);
            }
        }
        at_risk -= leaving;
    }
    (curve, median, area)
}

/// At most `limit` points, evenly spread over the curve, the last one kept.
fn thin(curve: &[SurvivalPoint], limit: usize) -> Vec<SurvivalPoint> {
    if curve.len() <= limit {
        return curve.to_vec();
    }
    let step = curve.len() as f64 / limit as f64;
    let mut thinned: Vec<SurvivalPoint> = (0..limit)
        .map(|i| curve[((i as f64 + 1.0) * step) as usize - 1])
        .collect();
    if thinned.last() != curve.last() {
        thinned.push(*curve.last().expect("not empty"));
    }
    thinned
}

fn exponential(waits: &[(f64, bool)]) -> Option<PatienceCandidate> {
    let exposure: f64 = waits.iter().map(|(time, _)| time).sum();
    let events = waits.iter().filter(|(_, event)| *event).count() as f64;
    let mean = exposure / events;
    let log_likelihood = -events * mean.ln() - exposure / mean;
    Some(PatienceCandidate {
        distribution: Family::Exponential { mean_s: mean },
        log_likelihood,
        aic: 2.0 - 2.0 * log_likelihood,
        mean_ci95_s: exponential_mean_interval(exposure, events),
    })
}

/// Censored Weibull log-likelihood at (ln scale, ln shape), times scaled by `unit`.
fn weibull_log_likelihood(waits: &[(f64, bool)], log_scale: f64, log_shape: f64) -> f64 {
    let shape = log_shape.exp();
    waits
        .iter()
        .map(|&(time, event)| {
            let log_ratio = time.ln() - log_scale;
            let hazard_part = if event {
                log_shape - log_scale + (shape - 1.0) * log_ratio
            } else {
                0.0
            };
            hazard_part - (shape * log_ratio).exp()
        })
        .sum()
}

fn weibull(waits: &[(f64, bool)]) -> Option<PatienceCandidate> {
    // Times in units of the longest wait, so powers stay in range for any shape.
    let unit = waits.last()?.0;
    let scaled: Vec<(f64, bool)> = waits.iter().map(|&(t, e)| (t / unit, e)).collect();
    let events = scaled.iter().filter(|(_, event)| *event).count() as f64;
    let event_log_sum: f64 = scaled
        .iter()
        .filter(|(_, event)| *event)
        .map(|(time, _)| time.ln())
        .sum();
    // Profile score of the shape (scale at its optimum given the shape), decreasing in k:
    // d/k + Σ_events ln t − d Σ t^k ln t / Σ t^k.
    let score = |k: f64| {
        let (weighted, total) = scaled.iter().fold((0.0, 0.0), |(w, s), &(t, _)| {
            let power = (k * t.ln()).exp();
            (w + power * t.ln(), s + power)
        });
        -(events / k + event_log_sum - events * weighted / total)
    };
    let shape = solve_increasing(1e-3, 1e3, score);
    let total_power: f64 = scaled.iter().map(|(t, _)| (shape * t.ln()).exp()).sum();
    let scaled_scale = (total_power / events).powf(1.0 / shape);
    let log_scale = scaled_scale.ln() + unit.ln();
    let log_shape = shape.ln();
    let log_likelihood = weibull_log_likelihood(waits, log_scale, log_shape);
    let mean = log_scale.exp() * gamma(1.0 + 1.0 / shape);
    // Observed information by central differences, then the delta method for ln(mean).
    let h = 1e-4;
    let f = |a: f64, b: f64| weibull_log_likelihood(waits, a, b);
    let (a, b) = (log_scale, log_shape);
    let faa = (f(a + h, b) - 2.0 * f(a, b) + f(a - h, b)) / (h * h);
    let fbb = (f(a, b + h) - 2.0 * f(a, b) + f(a, b - h)) / (h * h);
    let fab =
        (f(a + h, b + h) - f(a + h, b - h) - f(a - h, b + h) + f(a - h, b - h)) / (4.0 * h * h);
    // Covariance = inverse of the information matrix [[-faa, -fab], [-fab, -fbb]].
    let determinant = faa * fbb - fab * fab;
    if !(determinant > 0.0 && faa < 0.0) {
        return None;
    }
    let (var_a, var_b, cov_ab) = (-fbb / determinant, -faa / determinant, fab / determinant);
    // ln mean = a + ln Γ(1 + e^{−b}); its gradient is (1, −e^{−b} ψ(1 + e^{−b})).
    let gradient_b = -(1.0 / shape) * digamma(1.0 + 1.0 / shape);
    let variance = var_a + gradient_b * gradient_b * var_b + 2.0 * gradient_b * cov_ab;
    let z = Normal::new(0.0, 1.0).expect("standard").inverse_cdf(0.975);
    let spread = (z * variance.max(0.0).sqrt()).exp();
    Some(PatienceCandidate {
        distribution: Family::Weibull {
            mean_s: mean,
            shape,
        },
        log_likelihood,
        aic: 4.0 - 2.0 * log_likelihood,
        mean_ci95_s: [mean / spread, mean * spread],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaplan_meier_of_a_textbook_sample() {
        // Times 1, 2+, 3, 3, 4+ (+ censored): S(1) = 4/5, S(3) = 4/5 · (1 − 2/3) = 4/15.
        let fit = fit_patience(&[
            (1.0, true),
            (2.0, false),
            (3.0, true),
            (3.0, true),
            (4.0, false),
        ])
        .unwrap();
        assert_eq!(fit.abandoned, 3);
        assert_eq!(fit.censored, 2);
        let points: Vec<(f64, f64)> = fit
            .kaplan_meier
            .iter()
            .map(|point| (point.time_s, point.survival))
            .collect();
        assert_eq!(points.len(), 2);
        assert!((points[0].1 - 0.8).abs() < 1e-12 && (points[1].1 - 4.0 / 15.0).abs() < 1e-12);
        assert_eq!(fit.median_s, Some(3.0));
        // Area: 1·1 + 0.8·2 + (4/15)·1.
        assert!((fit.restricted_mean_s - (1.0 + 1.6 + 4.0 / 15.0)).abs() < 1e-12);
    }

    #[test]
    fn censored_exponential_recovers_the_mean_the_abandons_alone_understate() {
        // Patience: exponential quantiles with mean 60 s. Each caller is answered after a
        // wait drawn independently (the same quantiles in a scrambled order): it abandons if
        // its patience runs out first. The mean of the abandons alone is about 30 s; the
        // censored estimate must land near 60 s.
        let count = 4_000;
        let quantile = |i: usize| -60.0 * (1.0 - (i as f64 + 0.5) / count as f64).ln();
        let waits: Vec<(f64, bool)> = (0..count)
            .map(|i| {
                let patience = quantile(i);
                let answered_after = quantile(i * 7_919 % count);
                if patience < answered_after {
                    (patience, true)
                } else {
                    (answered_after, false)
                }
            })
            .collect();
        let abandons: Vec<f64> = waits.iter().filter(|w| w.1).map(|w| w.0).collect();
        let naive = abandons.iter().sum::<f64>() / abandons.len() as f64;
        assert!(naive < 40.0, "naive mean {naive}");
        let fit = fit_patience(&waits).unwrap();
        let exponential = fit
            .candidates
            .iter()
            .find(|c| matches!(c.distribution, Family::Exponential { .. }))
            .unwrap();
        let mean = exponential.distribution.mean_s();
        assert!((mean / 60.0 - 1.0).abs() < 0.05, "censored mean {mean}");
        assert!(exponential.mean_ci95_s[0] < mean && mean < exponential.mean_ci95_s[1]);
        let weibull = fit
            .candidates
            .iter()
            .find(|c| matches!(c.distribution, Family::Weibull { shape, .. } if (shape - 1.0).abs() < 0.1))
            .expect("an exponential sample fits a Weibull of shape near 1");
        assert!(weibull.mean_ci95_s[0] < 60.0 && 60.0 < weibull.mean_ci95_s[1] * 1.05);
        assert!(fit_patience(&[(5.0, false)]).is_none());
        let (mean, interval) = exponential_from_totals(6_000.0, 100.0).unwrap();
        assert_eq!(mean, 60.0);
        assert!(interval[0] < 60.0 && 60.0 < interval[1]);
    }
}

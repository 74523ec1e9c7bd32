//! Handle-time distributions fitted by maximum likelihood and chosen by AIC.
//!
//! Three families the simulator samples (`docs/scenario.md`): lognormal (closed-form
//! estimates), gamma and Weibull (the shape solves a one-dimensional score equation, found by
//! bisection because the score is monotone in the shape, so there is no starting point to get
//! wrong). Log-likelihoods are summed with `statrs`'s densities; AIC = 2k − 2 ln L with k = 2
//! for all three, so the choice is the largest likelihood.

use serde::Serialize;
use statrs::distribution::{Continuous, Gamma, LogNormal, Weibull};
use statrs::function::gamma::{digamma, gamma};
use switchboard_results::Estimate;

/// A distribution the simulator can sample, with its parameters in the scenario's terms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum Family {
    /// Every observed value was the same.
    Constant {
        value_s: f64,
    },
    Exponential {
        mean_s: f64,
    },
    Lognormal {
        mean_s: f64,
        cv: f64,
    },
    Gamma {
        mean_s: f64,
        shape: f64,
    },
    Weibull {
        mean_s: f64,
        shape: f64,
    },
}

impl Family {
    pub fn mean_s(&self) -> f64 {
        match *self {
            Family::Constant { value_s } => value_s,
            Family::Exponential { mean_s }
            | Family::Lognormal { mean_s, .. }
            | Family::Gamma { mean_s, .. }
            | Family::Weibull { mean_s, .. } => mean_s,
        }
    }

    /// The scenario file's inline table (`docs/scenario.md`, "Distributions").
    pub fn to_scenario(&self) -> String {
        match *self {
            Family::Constant { value_s } => {
                format!("{{ dist = \"constant\", value = \"{value_s:.1}s\" }}")
            }
            Family::Exponential { mean_s } => {
                format!("{{ dist = \"exponential\", mean = \"{mean_s:.1}s\" }}")
            }
            Family::Lognormal { mean_s, cv } => {
                format!("{{ dist = \"lognormal\", mean = \"{mean_s:.1}s\", cv = {cv:.4} }}")
            }
            Family::Gamma { mean_s, shape } => {
                format!("{{ dist = \"gamma\", mean = \"{mean_s:.1}s\", shape = {shape:.4} }}")
            }
            Family::Weibull { mean_s, shape } => {
                format!("{{ dist = \"weibull\", mean = \"{mean_s:.1}s\", shape = {shape:.4} }}")
            }
        }
    }
}

/// One candidate family's fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub distribution: Family,
    pub log_likelihood: f64,
    pub aic: f64,
}

/// What the handle times say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandleTimeFit {
    pub observations: usize,
    /// The sample mean with its 95 % interval (Student t): what the chosen family's mean is
    /// checked against, whatever the family.
    pub mean_s: Estimate,
    /// Every family that could be fitted, best (lowest AIC) first.
    pub candidates: Vec<Candidate>,
    /// The family written into the scenario.
    pub chosen: Family,
}

/// Solves `score(x) = 0` for an increasing `score` on `[low, high]` by bisection in log space.
pub(crate) fn solve_increasing(mut low: f64, mut high: f64, score: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let middle = (low * high).sqrt();
        if score(middle) > 0.0 {
            high = middle;
        } else {
            low = middle;
        }
        if high / low < 1.0 + 1e-12 {
            break;
        }
    }
    (low * high).sqrt()
}

fn aic(log_likelihood: f64) -> f64 {
    2.0 * 2.0 - 2.0 * log_likelihood
}

fn lognormal(values: &[f64], logs: &[f64]) -> Option<Candidate> {
    let n = values.len() as f64;
    let location = logs.iter().sum::<f64>() / n;
    let variance = logs.iter().map(|l| (l - location).powi(2)).sum::<f64>() / n;
    let scale = variance.sqrt();
    let density = LogNormal::new(location, scale).ok()?;
    let log_likelihood = values.iter().map(|&x| density.ln_pdf(x)).sum::<f64>();
    Some(Candidate {
        distribution: Family::Lognormal {
            mean_s: (location + variance / 2.0).exp(),
            cv: (variance.exp() - 1.0).sqrt(),
        },
        log_likelihood,
        aic: aic(log_likelihood),
    })
}

fn gamma_fit(values: &[f64], logs: &[f64]) -> Option<Candidate> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    // ln(mean) − mean(ln x) > 0 unless every value is the same (Jensen).
    let gap = mean.ln() - logs.iter().sum::<f64>() / n;
    if gap <= 0.0 {
        return None;
    }
    // The shape k solves ln k − ψ(k) = gap; ln k − ψ(k) decreases in k.
    let shape = solve_increasing(1e-4, 1e7, |k| gap - (k.ln() - digamma(k)));
    let density = Gamma::new(shape, shape / mean).ok()?;
    let log_likelihood = values.iter().map(|&x| density.ln_pdf(x)).sum::<f64>();
    Some(Candidate {
        distribution: Family::Gamma {
            mean_s: mean,
            shape,
        },
        log_likelihood,
        aic: aic(log_likelihood),
    })
}

fn weibull_fit(values: &[f64], logs: &[f64]) -> Option<Candidate> {
    let n = values.len() as f64;
    // Scaled by the largest value so that x^k cannot overflow for any shape tried.
    let largest = values.iter().cloned().fold(0.0_f64, f64::max);
    let scaled_logs: Vec<f64> = logs.iter().map(|l| l - largest.ln()).collect();
    let mean_log = scaled_logs.iter().sum::<f64>() / n;
    // Score of the shape: Σ x^k ln x / Σ x^k − 1/k − mean(ln x), increasing in k.
    let score = |k: f64| {
        let (weighted, total) = scaled_logs.iter().fold((0.0, 0.0), |(w, t), &l| {
            let power = (k * l).exp();
            (w + power * l, t + power)
        });
        weighted / total - 1.0 / k - mean_log
    };
    let shape = solve_increasing(1e-3, 1e3, score);
    let scaled_scale =
        (scaled_logs.iter().map(|&l| (shape * l).exp()).sum::<f64>() / n).powf(1.0 / shape);
    let scale = scaled_scale * largest;
    let density = Weibull::new(shape, scale).ok()?;
    let log_likelihood = values.iter().map(|&x| density.ln_pdf(x)).sum::<f64>();
    Some(Candidate {
        distribution: Family::Weibull {
            mean_s: scale * gamma(1.0 + 1.0 / shape),
            shape,
        },
        log_likelihood,
        aic: aic(log_likelihood),
    })
}

/// Fits every family to positive handle times (seconds); `None` with fewer than two values
/// or when every value is the same.
pub fn fit_handle_times(values_s: &[f64]) -> Option<HandleTimeFit> {
    let values: Vec<f64> = values_s
        .iter()
        .copied()
        .filter(|value| value.is_finite() && *value > 0.0)
        .collect();
    if values.len() < 2 {
        return None;
    }
    if values.iter().all(|&value| value == values[0]) {
        // No spread to fit a family to (a test system, or a recording of a fixed script).
        return Some(HandleTimeFit {
            observations: values.len(),
            mean_s: Estimate::of(values.iter().copied()),
            candidates: Vec::new(),
            chosen: Family::Constant { value_s: values[0] },
        });
    }
    let logs: Vec<f64> = values.iter().map(|x| x.ln()).collect();
    let mut candidates: Vec<Candidate> = [
        lognormal(&values, &logs),
        gamma_fit(&values, &logs),
        weibull_fit(&values, &logs),
    ]
    .into_iter()
    .flatten()
    .filter(|candidate| candidate.log_likelihood.is_finite())
    .collect();
    candidates.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    let chosen = candidates.first()?.distribution;
    Some(HandleTimeFit {
        observations: values.len(),
        mean_s: Estimate::of(values.iter().copied()),
        candidates,
        chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::ContinuousCDF;

    /// Quantiles at evenly spaced probabilities: a deterministic "sample" of a distribution.
    fn quantiles(distribution: &impl ContinuousCDF<f64, f64>, count: usize) -> Vec<f64> {
        (0..count)
            .map(|i| distribution.inverse_cdf((i as f64 + 0.5) / count as f64))
            .collect()
    }

    #[test]
    fn each_family_is_recognised_with_its_parameters() {
        let lognormal = quantiles(&LogNormal::new(5.0, 0.7).unwrap(), 4_000);
        let fit = fit_handle_times(&lognormal).unwrap();
        let Family::Lognormal { mean_s, cv } = fit.chosen else {
            panic!("expected lognormal, chose {:?}", fit.chosen)
        };
        assert!(
            (mean_s / (5.0f64 + 0.245).exp() - 1.0).abs() < 0.01,
            "{mean_s}"
        );
        assert!((cv - (0.49f64.exp() - 1.0).sqrt()).abs() < 0.01, "{cv}");

        let gamma_values = quantiles(&Gamma::new(3.0, 1.0 / 60.0).unwrap(), 4_000);
        let fit = fit_handle_times(&gamma_values).unwrap();
        let Family::Gamma { mean_s, shape } = fit.chosen else {
            panic!("expected gamma, chose {:?}", fit.chosen)
        };
        assert!((mean_s - 180.0).abs() < 1.0, "{mean_s}");
        assert!((shape - 3.0).abs() < 0.05, "{shape}");

        let weibull_values = quantiles(&Weibull::new(0.7, 90.0).unwrap(), 4_000);
        let fit = fit_handle_times(&weibull_values).unwrap();
        let Family::Weibull { shape, .. } = fit.chosen else {
            panic!("expected Weibull, chose {:?}", fit.chosen)
        };
        assert!((shape - 0.7).abs() < 0.01, "{shape}");
        assert_eq!(fit.candidates.len(), 3);
    }

    #[test]
    fn one_value_fits_nothing_and_identical_values_are_a_constant() {
        assert!(fit_handle_times(&[120.0]).is_none());
        let fit = fit_handle_times(&[120.0, 120.0, 120.0]).unwrap();
        assert_eq!(fit.chosen, Family::Constant { value_s: 120.0 });
        assert_eq!(
            fit.chosen.to_scenario(),
            "{ dist = \"constant\", value = \"120.0s\" }"
        );
    }
}

//! A figure across replications: its mean and the 95 % confidence interval of that mean
//! (Student t with n − 1 degrees of freedom), as every file of a results folder holds it.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::{Data, Max, Median};

/// A metric across replications: the mean and its 95 % confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// `null` when no replication defined the metric (say, a service level without contacts).
    pub mean: Option<f64>,
    /// `null` with fewer than two replications defining the metric.
    pub ci95: Option<[f64; 2]>,
    /// How many replications defined the metric (not written; 0 when read from a file).
    #[serde(skip)]
    pub count: usize,
}

/// The Student-t quantile for a two-sided interval of `confidence` with `count` values.
pub fn t_quantile(confidence: f64, count: usize) -> f64 {
    assert!(
        count >= 2,
        "a confidence interval needs two values at least"
    );
    StudentsT::new(0.0, 1.0, (count - 1) as f64)
        .expect("degrees of freedom are positive")
        .inverse_cdf(0.5 + confidence / 2.0)
}

impl Estimate {
    /// Mean and 95 % interval of the values that are defined (finite).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Estimate {
        Self::with_confidence(values, 0.95)
    }

    /// Mean and interval at `confidence` (0.95 for 95 %) of the values that are defined.
    pub fn with_confidence(values: impl IntoIterator<Item = f64>, confidence: f64) -> Estimate {
        let values: Vec<f64> = values
            .into_iter()
            .filter(|value| value.is_finite())
            .collect();
        let count = values.len();
        if count == 0 {
            return Estimate {
                mean: None,
                ci95: None,
                count,
            };
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        if count < 2 {
            return Estimate {
                mean: Some(mean),
                ci95: None,
                count,
            };
        }
        let variance = values
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / (count - 1) as f64;
        let half_width = t_quantile(confidence, count) * (variance / count as f64).sqrt();
        Estimate {
            mean: Some(mean),
            ci95: Some([mean - half_width, mean + half_width]),
            count,
        }
    }

    /// Mean and 95 % interval of a quantity that is never negative (a count, a time): the
    /// Student t interval clipped at 0, so that `6.0 ± 8.6 s` reads `6.0 [0, 14.6] s`.
    pub fn of_nonnegative(values: impl IntoIterator<Item = f64>) -> Estimate {
        Self::of(values).clipped(0.0, f64::INFINITY)
    }

    /// The same estimate with its interval clipped to `[low, high]`, the values the quantity
    /// can take (the mean stays as it is).
    pub fn clipped(self, low: f64, high: f64) -> Estimate {
        Estimate {
            ci95: self
                .ci95
                .map(|[lower, upper]| [lower.clamp(low, high), upper.clamp(low, high)]),
            ..self
        }
    }

    /// The interval's half-width, when there is an interval.
    pub fn half_width(&self) -> Option<f64> {
        match (self.mean, self.ci95) {
            (Some(mean), Some([_, high])) => Some(high - mean),
            _ => None,
        }
    }
}

/// The median and the worst (largest) value of a figure across the replications that define
/// it: what a test of many live kills reports beside a mean, so the simulator's figure can be
/// read the same way (a mean hides one slow recovery among twenty quick ones).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub worst: f64,
}

impl Spread {
    /// The spread of the defined (finite) values; none without any.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let values: Vec<f64> = values
            .into_iter()
            .filter(|value| value.is_finite())
            .collect();
        if values.is_empty() {
            return None;
        }
        let data = Data::new(values);
        Some(Spread {
            median: data.median(),
            worst: data.max(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_uses_the_student_t_quantile() {
        // Two values 0 and 2: mean 1, s = sqrt(2), t(0.975, 1) = 12.706.
        let estimate = Estimate::of([0.0, 2.0]);
        assert_eq!(estimate.mean, Some(1.0));
        let half = estimate.half_width().unwrap();
        assert!((half - 12.7062 * 1.0).abs() < 1e-3, "{half}");
        assert_eq!(Estimate::of([f64::NAN, 3.0]).ci95, None);
        assert_eq!(Estimate::of([]).mean, None);
    }

    #[test]
    fn an_interval_is_clipped_to_what_the_quantity_can_take() {
        // 0, 0 and 18: mean 6, half-width 4.303 × 6 = 25.8; a time is never negative.
        let estimate = Estimate::of_nonnegative([0.0, 0.0, 18.0]);
        assert_eq!(estimate.mean, Some(6.0));
        let [low, high] = estimate.ci95.unwrap();
        assert_eq!(low, 0.0);
        assert!((high - (6.0 + 4.3027 * 6.0)).abs() < 1e-3, "{high}");
        assert_eq!(Estimate::of_nonnegative([2.0, 2.0]).ci95, Some([2.0, 2.0]));
        let share = Estimate::of([0.9, 1.0]).clipped(0.0, 1.0);
        assert_eq!(share.ci95.unwrap()[1], 1.0);
    }

    #[test]
    fn a_spread_is_the_median_and_the_largest_defined_value() {
        // An even count's median is the mean of the middle two; undefined values are left out.
        let spread = Spread::of([4.0, f64::NAN, 1.0, 30.0, 2.0]).unwrap();
        assert_eq!(
            spread,
            Spread {
                median: 3.0,
                worst: 30.0
            }
        );
        assert_eq!(
            Spread::of([5.0]),
            Some(Spread {
                median: 5.0,
                worst: 5.0
            })
        );
        assert_eq!(Spread::of([f64::NAN]), None);
    }

    #[test]
    fn a_file_holds_the_mean_and_interval_only() {
        let json = serde_json::to_string(&Estimate::of([1.0])).unwrap();
        assert_eq!(json, r#"{"mean":1.0,"ci95":null}"#);
        let read: Estimate = serde_json::from_str(&json).unwrap();
        assert_eq!((read.mean, read.ci95, read.count), (Some(1.0), None, 0));
    }
}

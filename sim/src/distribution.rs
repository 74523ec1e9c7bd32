//! Distributions of durations (handle times, patience, retrial delays, answer delays, aux
//! lengths), written in scenario files as `{ dist = "exponential", mean = "2m" }` and sampled
//! in whole milliseconds.

use std::path::Path;

use rand::Rng;
use rand_distr::{Distribution as _, Exp, Gamma, LogNormal, Weibull};
use serde::Deserialize;
use switchboard_engine::units::DurationMs;

/// A distribution of durations as written in a scenario file.
///
/// ```toml
/// handle_time = { dist = "exponential", mean = "2m" }
/// handle_time = { dist = "lognormal", mean = "3m", cv = 0.8 }
/// handle_time = { dist = "gamma", mean = "3m", cv = 0.5 }        # or shape = 4.0
/// patience    = { dist = "weibull", mean = "90s", shape = 0.7 }   # or scale = "80s"
/// handle_time = { dist = "constant", value = "3m" }
/// handle_time = { dist = "empirical", file = "handle_times.csv" } # one duration per row
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DistributionConfig {
    Exponential {
        mean: DurationMs,
    },
    Lognormal {
        mean: DurationMs,
        /// Coefficient of variation: standard deviation / mean.
        cv: f64,
    },
    Gamma {
        mean: DurationMs,
        #[serde(default)]
        cv: Option<f64>,
        #[serde(default)]
        shape: Option<f64>,
    },
    Weibull {
        shape: f64,
        #[serde(default)]
        mean: Option<DurationMs>,
        #[serde(default)]
        scale: Option<DurationMs>,
    },
    Constant {
        value: DurationMs,
    },
    /// Resampled from observed durations: a CSV file (relative to the scenario file) whose
    /// first column holds durations (`"3m20s"`) or seconds (`200`), under a header row.
    Empirical {
        file: String,
    },
}

impl DistributionConfig {
    /// The distribution as a person reads it: `exponential, mean 2m`.
    pub fn describe(&self) -> String {
        match self {
            DistributionConfig::Exponential { mean } => format!("exponential, mean {mean}"),
            DistributionConfig::Lognormal { mean, cv } => {
                format!("lognormal, mean {mean}, cv {cv}")
            }
            DistributionConfig::Gamma { mean, cv, shape } => match (cv, shape) {
                (Some(cv), _) => format!("gamma, mean {mean}, cv {cv}"),
                (None, Some(shape)) => format!("gamma, mean {mean}, shape {shape}"),
                (None, None) => format!("gamma, mean {mean}"),
            },
            DistributionConfig::Weibull { shape, mean, scale } => match (mean, scale) {
                (Some(mean), _) => format!("Weibull, mean {mean}, shape {shape}"),
                (None, Some(scale)) => format!("Weibull, scale {scale}, shape {shape}"),
                (None, None) => format!("Weibull, shape {shape}"),
            },
            DistributionConfig::Constant { value } => format!("constant {value}"),
            DistributionConfig::Empirical { file } => format!("observed values from {file}"),
        }
    }
}

/// A distribution ready to sample, with its parameters in milliseconds.
#[derive(Clone, Debug)]
pub enum Sampler {
    Constant(u64),
    Exponential(Exp<f64>),
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
    Weibull(Weibull<f64>),
    /// Observed values, each equally likely.
    Empirical(Vec<u64>),
}

impl Sampler {
    /// Checks the parameters and prepares the distribution; `base` is the folder that
    /// relative file names are read from.
    pub fn new(config: &DistributionConfig, base: &Path) -> Result<Sampler, String> {
        let positive = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(format!("{name} must be a positive number, found {value}"))
            }
        };
        Ok(match config {
            DistributionConfig::Exponential { mean } => {
                let mean_ms = positive("mean", mean.as_ms() as f64)?;
                Sampler::Exponential(Exp::new(1.0 / mean_ms).map_err(|e| e.to_string())?)
            }
            DistributionConfig::Lognormal { mean, cv } => {
                let mean_ms = positive("mean", mean.as_ms() as f64)?;
                let cv = positive("cv", *cv)?;
                let sigma_squared = (1.0 + cv * cv).ln();
                let mu = mean_ms.ln() - sigma_squared / 2.0;
                Sampler::LogNormal(
                    LogNormal::new(mu, sigma_squared.sqrt()).map_err(|e| e.to_string())?,
                )
            }
            DistributionConfig::Gamma { mean, cv, shape } => {
                let mean_ms = positive("mean", mean.as_ms() as f64)?;
                let shape = match (cv, shape) {
                    (Some(cv), None) => 1.0 / (positive("cv", *cv)?.powi(2)),
                    (None, Some(shape)) => positive("shape", *shape)?,
                    _ => {
                        return Err("a gamma distribution needs exactly one of cv and shape".into())
                    }
                };
                Sampler::Gamma(Gamma::new(shape, mean_ms / shape).map_err(|e| e.to_string())?)
            }
            DistributionConfig::Weibull { shape, mean, scale } => {
                let shape = positive("shape", *shape)?;
                let scale_ms = match (mean, scale) {
                    (Some(mean), None) => {
                        positive("mean", mean.as_ms() as f64)?
                            / statrs::function::gamma::gamma(1.0 + 1.0 / shape)
                    }
                    (None, Some(scale)) => positive("scale", scale.as_ms() as f64)?,
                    _ => {
                        return Err(
                            "a weibull distribution needs exactly one of mean and scale".into()
                        )
                    }
                };
                Sampler::Weibull(Weibull::new(scale_ms, shape).map_err(|e| e.to_string())?)
            }
            DistributionConfig::Constant { value } => Sampler::Constant(value.as_ms()),
            DistributionConfig::Empirical { file } => {
                Sampler::Empirical(read_durations(&base.join(file))?)
            }
        })
    }

    /// One duration in milliseconds.
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let value_ms = match self {
            Sampler::Constant(value_ms) => return *value_ms,
            Sampler::Empirical(values_ms) => {
                return values_ms[rng.random_range(0..values_ms.len())]
            }
            Sampler::Exponential(exp) => exp.sample(rng),
            Sampler::LogNormal(lognormal) => lognormal.sample(rng),
            Sampler::Gamma(gamma) => gamma.sample(rng),
            Sampler::Weibull(weibull) => weibull.sample(rng),
        };
        // Rounding to the millisecond is the simulator's resolution; clamping keeps an
        // absurd tail draw from overflowing the clock.
        value_ms.round().clamp(0.0, 1e15) as u64
    }
}

/// Reads the first column of a CSV file with a header row as durations.
fn read_durations(path: &Path) -> Result<Vec<u64>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut values_ms = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| format!("{}: {error}", path.display()))?;
        let field = record.get(0).unwrap_or("");
        let value_ms = parse_duration_or_seconds(field).ok_or_else(|| {
            format!(
                "{}: row {}: expected a duration such as \"3m20s\" or a number of seconds, found {field:?}",
                path.display(),
                index + 2
            )
        })?;
        values_ms.push(value_ms);
    }
    if values_ms.is_empty() {
        return Err(format!("{}: no values", path.display()));
    }
    Ok(values_ms)
}

/// A duration string (`"3m"`) or a plain number of seconds (`180`, `2.5`).
pub fn parse_duration_or_seconds(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64);
    }
    text.parse::<DurationMs>().ok().map(DurationMs::as_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    fn sampler(text: &str) -> Sampler {
        #[derive(Deserialize)]
        struct Holder {
            d: DistributionConfig,
        }
        let holder: Holder = toml::from_str(&format!("d = {text}")).unwrap();
        Sampler::new(&holder.d, Path::new(".")).unwrap()
    }

    /// The sample mean lies within 5 standard errors of the intended mean.
    fn assert_mean(text: &str, mean_ms: f64, standard_deviation_ms: f64) {
        let sampler = sampler(text);
        let mut rng = stream(11, 0, text);
        let count = 200_000;
        let sum: f64 = (0..count).map(|_| sampler.sample_ms(&mut rng) as f64).sum();
        let standard_error = standard_deviation_ms / (count as f64).sqrt();
        let sample_mean = sum / count as f64;
        assert!(
            (sample_mean - mean_ms).abs() < 5.0 * standard_error + 0.5,
            "{text}: sample mean {sample_mean} vs {mean_ms}"
        );
    }

    #[test]
    fn every_distribution_has_the_mean_it_was_given() {
        assert_mean(
            r#"{ dist = "exponential", mean = "2m" }"#,
            120_000.0,
            120_000.0,
        );
        assert_mean(
            r#"{ dist = "lognormal", mean = "3m", cv = 0.8 }"#,
            180_000.0,
            144_000.0,
        );
        assert_mean(
            r#"{ dist = "gamma", mean = "3m", cv = 0.5 }"#,
            180_000.0,
            90_000.0,
        );
        assert_mean(
            r#"{ dist = "gamma", mean = "3m", shape = 4.0 }"#,
            180_000.0,
            90_000.0,
        );
        // Weibull with shape 2: cv = sqrt(Γ(2)/Γ(1.5)² − 1) ≈ 0.5227.
        assert_mean(
            r#"{ dist = "weibull", mean = "90s", shape = 2.0 }"#,
            90_000.0,
            47_044.0,
        );
        assert_mean(r#"{ dist = "constant", value = "3m" }"#, 180_000.0, 0.0);
    }

    #[test]
    fn bad_parameters_are_refused_with_the_reason() {
        #[derive(Deserialize)]
        struct Holder {
            d: DistributionConfig,
        }
        let holder: Holder =
            toml::from_str(r#"d = { dist = "lognormal", mean = "3m", cv = -1.0 }"#).unwrap();
        let error = Sampler::new(&holder.d, Path::new(".")).unwrap_err();
        assert!(error.contains("cv must be a positive number"), "{error}");
        assert!(
            toml::from_str::<Holder>(r#"d = { dist = "exponential", mean = "3m", sd = 1 }"#)
                .is_err()
        );
    }

    #[test]
    fn numbers_and_duration_strings_both_read_as_durations() {
        assert_eq!(parse_duration_or_seconds("200"), Some(200_000));
        assert_eq!(parse_duration_or_seconds("3m20s"), Some(200_000));
        assert_eq!(parse_duration_or_seconds("soon"), None);
    }
}

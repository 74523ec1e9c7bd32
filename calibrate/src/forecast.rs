//! The next days' volumes per interval, forecast with MSTL (a daily and a weekly seasonal
//! component, by LOESS) whose trend is forecast by AutoETS: `augurs`, not a home-made model.
//!
//! Special days are replaced by their weekday's ordinary shape before fitting, so a Singles'
//! Day in the history neither bends the seasonality nor drags the trend. Only point forecasts
//! are asked for: `augurs-ets` simulates prediction intervals of some model types with an
//! unseeded generator, and the calibration must give the same file on every run. How good the
//! method is on these data is measured, not assumed: the last week is held out, forecast from
//! the weeks before it, and its error reported beside a seasonal-naive forecast's.

use augurs_core::{Fit, Predict};
use augurs_ets::trend::AutoETSTrendModel;
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;
use serde::Serialize;

use crate::arrivals::{weekday_profile, DailyCounts, SpecialDay};
use crate::CalibrationError;

/// Days held out to measure the forecast error.
pub const HOLDOUT_DAYS: usize = 7;

/// How far the held-out week's forecast was from what happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Holdout {
    pub days: usize,
    /// Mean absolute percentage error over the intervals that had contacts.
    pub interval_mape: f64,
    /// The same over whole days.
    pub daily_mape: f64,
    /// Σ|actual − forecast| / Σ actual over the intervals.
    pub interval_wape: f64,
    /// The errors of the seasonal-naive forecast (the same interval one week earlier, or one
    /// day earlier with less than two weeks of training), the bar any method should clear.
    pub seasonal_naive_interval_mape: f64,
    pub seasonal_naive_daily_mape: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForecastFit {
    pub method: String,
    pub holdout: Option<Holdout>,
    pub horizon_days: usize,
    /// The first forecast day (the day after the last observed one).
    pub first_date: String,
    /// Contacts per interval, `horizon_days × intervals per day` values.
    pub volumes: Vec<f64>,
}

/// The history as one series, special days filled with their weekday's ordinary shape.
fn series(counts: &DailyCounts, special: &[SpecialDay]) -> Vec<f64> {
    let profiles: Vec<Vec<f64>> = (0..7)
        .map(|weekday| weekday_profile(counts, special, weekday))
        .collect();
    (0..counts.days.len())
        .flat_map(|day| {
            let date = counts.date(day).to_string();
            if special.iter().any(|s| s.date == date) {
                profiles[counts.weekday(day)].clone()
            } else {
                counts.days[day].clone()
            }
        })
        .collect()
}

fn periods(length: usize, slots: usize) -> Vec<usize> {
    // STL needs at least two whole periods of each seasonality.
    [slots, 7 * slots]
        .into_iter()
        .filter(|period| length >= 2 * period)
        .collect()
}

fn method_name(periods: &[usize]) -> String {
    let periods: Vec<String> = periods.iter().map(usize::to_string).collect();
    format!("MSTL(periods {}) + AutoETS trend", periods.join(", "))
}

/// Point forecast of `horizon` values after `history`, never negative.
fn forecast_series(
    history: &[f64],
    slots: usize,
    horizon: usize,
) -> Result<Vec<f64>, CalibrationError> {
    let periods = periods(history.len(), slots);
    if periods.is_empty() {
        return Err(CalibrationError::new(format!(
            "a forecast needs at least two days of history, found {:.1}",
            history.len() as f64 / slots as f64
        )));
    }
    let trend: AutoETSTrendModel = AutoETS::non_seasonal().into();
    let fitted = MSTLModel::new(periods, trend)
        .fit(history)
        .map_err(|error| CalibrationError::new(format!("the forecast model failed: {error}")))?;
    let forecast = fitted
        .predict(horizon, None)
        .map_err(|error| CalibrationError::new(format!("the forecast failed: {error}")))?;
    Ok(forecast.point.into_iter().map(|v| v.max(0.0)).collect())
}

fn mape(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (sum, count) = pairs
        .filter(|(actual, _)| *actual > 0.0)
        .fold((0.0, 0usize), |(sum, count), (actual, forecast)| {
            (sum + (actual - forecast).abs() / actual, count + 1)
        });
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

fn daily(values: &[f64], slots: usize) -> Vec<f64> {
    values.chunks(slots).map(|day| day.iter().sum()).collect()
}

/// Measures the error on the last week and forecasts `horizon_days` after the history.
pub fn forecast(
    counts: &DailyCounts,
    special: &[SpecialDay],
    horizon_days: usize,
) -> Result<ForecastFit, CalibrationError> {
    let slots = counts.slots_per_day();
    let history = series(counts, special);
    let holdout = if counts.days.len() >= HOLDOUT_DAYS + 2 {
        let split = history.len() - HOLDOUT_DAYS * slots;
        let (training, actual) = history.split_at(split);
        let predicted = forecast_series(training, slots, actual.len())?;
        let lag = if training.len() >= 14 * slots {
            7 * slots
        } else {
            slots
        };
        let naive: Vec<f64> = (0..actual.len())
            .map(|i| {
                let back = split + i - lag;
                // Beyond the training data the naive forecast repeats itself.
                if back < split {
                    training[back]
                } else {
                    training[split - lag + (back - split) % lag]
                }
            })
            .collect();
        let actual_days = daily(actual, slots);
        let wape = actual
            .iter()
            .zip(&predicted)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / actual.iter().sum::<f64>();
        Some(Holdout {
            days: HOLDOUT_DAYS,
            interval_mape: mape(actual.iter().copied().zip(predicted.iter().copied())),
            daily_mape: mape(actual_days.iter().copied().zip(daily(&predicted, slots))),
            interval_wape: wape,
            seasonal_naive_interval_mape: mape(actual.iter().copied().zip(naive.iter().copied())),
            seasonal_naive_daily_mape: mape(actual_days.into_iter().zip(daily(&naive, slots))),
        })
    } else {
        None
    };
    let volumes = forecast_series(&history, slots, horizon_days * slots)?;
    Ok(ForecastFit {
        method: method_name(&periods(history.len(), slots)),
        holdout,
        horizon_days,
        first_date: counts.date(counts.days.len()).to_string(),
        volumes,
    })
}

//! Arrivals per interval: counts by local date and time of day, rates per day of the week and
//! interval with exact Poisson intervals, the intraday shape, special days, and the day-level
//! overdispersion the simulator's `overdispersion` key models.

use jiff::civil::Date;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Contacts per local day and interval of the day, for one stream.
#[derive(Clone, Debug, PartialEq)]
pub struct DailyCounts {
    pub first_date: Date,
    pub interval_ms: i64,
    /// `days[d][s]`: contacts arriving on `first_date + d` in the day's interval `s`.
    pub days: Vec<Vec<f64>>,
}

impl DailyCounts {
    pub fn slots_per_day(&self) -> usize {
        (86_400_000 / self.interval_ms) as usize
    }

    pub fn date(&self, day: usize) -> Date {
        self.first_date
            .checked_add(jiff::Span::new().days(day as i64))
            .expect("dates within range")
    }

    /// Monday 0 … Sunday 6.
    pub fn weekday(&self, day: usize) -> usize {
        self.date(day).weekday().to_monday_zero_offset() as usize
    }

    pub fn day_total(&self, day: usize) -> f64 {
        self.days[day].iter().sum()
    }

    /// Adds `count` contacts at local `date` and time of day; days before the first are not
    /// expected (the caller starts from the earliest date).
    pub fn add(&mut self, date: Date, time_of_day_ms: i64, count: f64) {
        let day = self
            .first_date
            .until(date)
            .map(|span| span.get_days())
            .unwrap_or(0)
            .max(0) as usize;
        let slots = self.slots_per_day();
        while self.days.len() <= day {
            self.days.push(vec![0.0; slots]);
        }
        let slot = ((time_of_day_ms / self.interval_ms) as usize).min(slots - 1);
        self.days[day][slot] += count;
    }
}

/// A rate with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateEstimate {
    pub rate_per_hour: f64,
    pub ci95_per_hour: [f64; 2],
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeekdayFit {
    pub weekday: &'static str,
    /// Ordinary days of this weekday in the data (special days left out).
    pub days: usize,
    pub mean_daily_volume: f64,
    pub ci95: [f64; 2],
}

/// The rate of one interval of one weekday.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CellRate {
    pub weekday: &'static str,
    /// Local time the interval starts, `HH:MM`.
    pub start: String,
    #[serde(flatten)]
    pub rate: RateEstimate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpecialDay {
    pub date: String,
    pub weekday: &'static str,
    pub volume: f64,
    /// The median volume of the other days of its weekday.
    pub expected: f64,
    pub ratio: f64,
    /// Named with `--special-day` rather than found.
    pub declared: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArrivalFit {
    pub interval_s: f64,
    pub first_date: String,
    pub days: usize,
    pub contacts: f64,
    /// Over every ordinary day, all day long.
    pub mean_rate: RateEstimate,
    pub weekdays: Vec<WeekdayFit>,
    /// Share of a day's contacts in each interval (ordinary days pooled).
    pub intraday_share: Vec<f64>,
    pub cells: Vec<CellRate>,
    pub special_days: Vec<SpecialDay>,
    /// Coefficient of variation of a day-level rate multiplier beyond Poisson noise
    /// (method of moments per weekday, 0 when the days vary no more than Poisson allows).
    pub overdispersion_cv: f64,
}

/// The exact (Garwood) interval of a Poisson mean from one `count`, at `confidence`.
pub fn poisson_interval(count: f64, confidence: f64) -> [f64; 2] {
    let tail = (1.0 - confidence) / 2.0;
    let lower = if count <= 0.0 {
        0.0
    } else {
        ChiSquared::new(2.0 * count)
            .expect("positive")
            .inverse_cdf(tail)
            / 2.0
    };
    let upper = ChiSquared::new(2.0 * count + 2.0)
        .expect("positive")
        .inverse_cdf(1.0 - tail)
        / 2.0;
    [lower, upper]
}

fn rate(count: f64, hours: f64) -> RateEstimate {
    let [low, high] = poisson_interval(count, 0.95);
    RateEstimate {
        rate_per_hour: count / hours,
        ci95_per_hour: [low / hours, high / hours],
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// The days that are not ordinary: declared ones, and those far from the median of the other
/// days of their weekday (more than 25 % away and more than four Poisson standard deviations).
pub fn special_days(counts: &DailyCounts, declared: &[Date]) -> Vec<SpecialDay> {
    let totals: Vec<f64> = (0..counts.days.len())
        .map(|d| counts.day_total(d))
        .collect();
    let is_declared = |day: usize| declared.contains(&counts.date(day));
    let mut found = Vec::new();
    for day in 0..totals.len() {
        let mut others: Vec<f64> = (0..totals.len())
            .filter(|&other| {
                other != day && counts.weekday(other) == counts.weekday(day) && !is_declared(other)
            })
            .map(|other| totals[other])
            .collect();
        let expected = if others.is_empty() {
            f64::NAN
        } else {
            median(&mut others)
        };
        let declared_day = is_declared(day);
        let unusual = others.len() >= 2
            && expected > 0.0
            && (totals[day] - expected).abs() > 4.0 * expected.sqrt()
            && (totals[day] / expected - 1.0).abs() > 0.25;
        if declared_day || unusual {
            found.push(SpecialDay {
                date: counts.date(day).to_string(),
                weekday: WEEKDAY_NAMES[counts.weekday(day)],
                volume: totals[day],
                expected,
                ratio: totals[day] / expected,
                declared: declared_day,
            });
        }
    }
    found
}

/// Fits the arrival model of one stream; `special` are the days left out of every figure
/// (and replaced by their weekday's mean shape in the forecast).
pub fn fit_arrivals(counts: &DailyCounts, special: &[SpecialDay]) -> ArrivalFit {
    let slots = counts.slots_per_day();
    let interval_hours = counts.interval_ms as f64 / 3_600_000.0;
    let ordinary: Vec<usize> = (0..counts.days.len())
        .filter(|&day| {
            let date = counts.date(day).to_string();
            !special.iter().any(|s| s.date == date)
        })
        .collect();
    let total: f64 = ordinary.iter().map(|&d| counts.day_total(d)).sum();
    let mean_rate = rate(total, ordinary.len() as f64 * 24.0);
    let mut weekdays = Vec::new();
    let mut cells = Vec::new();
    let mut dispersion_numerator = 0.0;
    let mut dispersion_denominator = 0.0;
    for (weekday, weekday_name) in WEEKDAY_NAMES.iter().enumerate() {
        let days: Vec<usize> = ordinary
            .iter()
            .copied()
            .filter(|&d| counts.weekday(d) == weekday)
            .collect();
        if days.is_empty() {
            continue;
        }
        let k = days.len() as f64;
        let totals: Vec<f64> = days.iter().map(|&d| counts.day_total(d)).collect();
        let sum: f64 = totals.iter().sum();
        let [low, high] = poisson_interval(sum, 0.95);
        weekdays.push(WeekdayFit {
            weekday: weekday_name,
            days: days.len(),
            mean_daily_volume: sum / k,
            ci95: [low / k, high / k],
        });
        if days.len() >= 2 {
            let mean = sum / k;
            let variance = totals.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (k - 1.0);
            dispersion_numerator += (variance - mean) * k;
            dispersion_denominator += mean * mean * k;
        }
        for slot in 0..slots {
            let count: f64 = days.iter().map(|&d| counts.days[d][slot]).sum();
            let minutes = slot as i64 * counts.interval_ms / 60_000;
            cells.push(CellRate {
                weekday: weekday_name,
                start: format!("{:02}:{:02}", minutes / 60, minutes % 60),
                rate: rate(count, k * interval_hours),
            });
        }
    }
    let intraday_share: Vec<f64> = (0..slots)
        .map(|slot| {
            let in_slot: f64 = ordinary.iter().map(|&d| counts.days[d][slot]).sum();
            if total > 0.0 {
                in_slot / total
            } else {
                0.0
            }
        })
        .collect();
    let overdispersion_cv = if dispersion_denominator > 0.0 {
        (dispersion_numerator / dispersion_denominator)
            .max(0.0)
            .sqrt()
    } else {
        0.0
    };
    ArrivalFit {
        interval_s: counts.interval_ms as f64 / 1000.0,
        first_date: counts.first_date.to_string(),
        days: counts.days.len(),
        contacts: (0..counts.days.len()).map(|d| counts.day_total(d)).sum(),
        mean_rate,
        weekdays,
        intraday_share,
        cells,
        special_days: special.to_vec(),
        overdispersion_cv,
    }
}

/// The expected count of every interval of an ordinary `weekday`: the mean over its ordinary
/// days, for filling special days before a forecast.
pub fn weekday_profile(counts: &DailyCounts, special: &[SpecialDay], weekday: usize) -> Vec<f64> {
    let slots = counts.slots_per_day();
    let days: Vec<usize> = (0..counts.days.len())
        .filter(|&d| counts.weekday(d) == weekday)
        .filter(|&d| {
            let date = counts.date(d).to_string();
            !special.iter().any(|s| s.date == date)
        })
        .collect();
    (0..slots)
        .map(|slot| {
            if days.is_empty() {
                0.0
            } else {
                days.iter().map(|&d| counts.days[d][slot]).sum::<f64>() / days.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garwood_interval_matches_published_values() {
        // Garwood (1936) 95 % limits for 10 events: 4.795 and 18.390.
        let [low, high] = poisson_interval(10.0, 0.95);
        assert!(
            (low - 4.795).abs() < 1e-3 && (high - 18.390).abs() < 1e-3,
            "{low} {high}"
        );
        assert_eq!(poisson_interval(0.0, 0.95)[0], 0.0);
    }

    #[test]
    fn weekdays_cells_and_a_special_day() {
        // Four weeks from Monday 2026-11-02, one-hour intervals, 10 contacts an hour on
        // weekdays and 5 on weekends; 11 November carries five times the load.
        let mut counts = DailyCounts {
            first_date: jiff::civil::date(2026, 11, 2),
            interval_ms: 3_600_000,
            days: Vec::new(),
        };
        for day in 0..28 {
            let date = counts.date(day);
            let weekend = counts.weekday(day) >= 5;
            for hour in 0..24 {
                let mut volume = if weekend { 5.0 } else { 10.0 };
                if date == jiff::civil::date(2026, 11, 11) {
                    volume *= 5.0;
                }
                counts.add(date, hour * 3_600_000, volume);
            }
        }
        let special = special_days(&counts, &[]);
        assert_eq!(special.len(), 1);
        assert_eq!(special[0].date, "2026-11-11");
        assert!((special[0].ratio - 5.0).abs() < 1e-9);
        let fit = fit_arrivals(&counts, &special);
        let wednesday = fit.weekdays.iter().find(|w| w.weekday == "wed").unwrap();
        assert_eq!(wednesday.days, 3);
        assert_eq!(wednesday.mean_daily_volume, 240.0);
        let sunday_noon = fit
            .cells
            .iter()
            .find(|c| c.weekday == "sun" && c.start == "12:00")
            .unwrap();
        assert_eq!(sunday_noon.rate.rate_per_hour, 5.0);
        assert!(sunday_noon.rate.ci95_per_hour[0] < 5.0 && 5.0 < sunday_noon.rate.ci95_per_hour[1]);
        assert_eq!(
            fit.overdispersion_cv, 0.0,
            "identical days vary less than Poisson"
        );
        assert!((fit.intraday_share.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

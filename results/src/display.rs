//! How figures are written for a reader, in one place for every command's tables: rates as
//! percent, as many digits as the confidence interval justifies (no float noise such as
//! `11.97 ± 0.000000000000001776`), intervals clipped to the range the quantity can take, and
//! tables that fit a terminal ([`TEXT_WIDTH`] columns) by splitting their columns into blocks.
//!
//! ```
//! use switchboard_results::display::{estimate_text, Range};
//! use switchboard_results::{Estimate, Unit};
//! let service_level = Estimate { mean: Some(0.999), ci95: Some([0.9982, 0.9998]), count: 5 };
//! assert_eq!(estimate_text(&service_level, Unit::Fraction), "99.90 ± 0.08 %");
//! let aht = Estimate { mean: Some(11.97), ci95: Some([11.97 - 1.776e-15, 11.97 + 1.776e-15]), count: 5 };
//! assert_eq!(estimate_text(&aht, Unit::Seconds), "11.97 s");
//! // An interval that would go below zero is clipped: a count cannot be negative.
//! let dropped = Estimate { mean: Some(0.4), ci95: Some([-0.3, 1.1]), count: 5 };
//! assert_eq!(estimate_text(&dropped, Unit::Contacts), "0.4 [0.0, 1.1]");
//! // So is one clipped already, when the estimate was made.
//! let clipped = Estimate { mean: Some(0.4), ci95: Some([0.0, 1.1]), count: 5 };
//! assert_eq!(estimate_text(&clipped, Unit::Contacts), "0.4 [0.0, 1.1]");
//! assert_eq!(Range::of(Unit::Fraction), Range { low: 0.0, high: Some(1.0) });
//! ```

use crate::estimate::Estimate;
use crate::metric::Unit;

/// Columns a terminal table fits in unless the reader asks for more (`--wide`).
pub const TEXT_WIDTH: usize = 100;

/// The values a quantity can take: counts, times and agents are never negative, shares lie
/// between 0 and 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub low: f64,
    pub high: Option<f64>,
}

impl Range {
    pub fn of(unit: Unit) -> Range {
        match unit {
            Unit::Fraction => Range {
                low: 0.0,
                high: Some(1.0),
            },
            Unit::Contacts | Unit::Seconds | Unit::Agents => Range {
                low: 0.0,
                high: None,
            },
        }
    }

    fn clip(self, value: f64) -> f64 {
        let value = value.max(self.low);
        match self.high {
            Some(high) => value.min(high),
            None => value,
        }
    }
}

/// The number of decimals that shows `half_width` to one significant digit, or two when its
/// first digit is 1 or 2 (0.08, 0.15, 3, 12): the digits the interval justifies.
pub fn decimals_for(half_width: f64) -> usize {
    if !(half_width > 0.0 && half_width.is_finite()) {
        return 0;
    }
    let exponent = half_width.log10().floor() as i32;
    let leading = half_width / 10f64.powi(exponent);
    let significant = if leading < 2.95 { 2 } else { 1 };
    (significant - 1 - exponent).clamp(0, 9) as usize
}

/// Four significant digits, no exponent for everyday magnitudes, no trailing zeros: 1234,
/// 12.35, 0.1235, 0.002; whole numbers as they are.
pub fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value == 0.0 {
            "0".to_string()
        } else {
            format!("{value}")
        };
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let digits = (3 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn trimmed(text: String) -> String {
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

/// A figure across replications as a reader wants it: `mean ± half-width` with the digits the
/// interval justifies, the unit after it (`%` for shares, shown as percent, `s` for seconds);
/// `mean [low, high]` when the interval had to be clipped to the quantity's range (here, or
/// where the estimate was made: [`Estimate::of_nonnegative`]); the mean
/// alone (four significant digits) without an interval or when it is zero; `-` when no
/// replication defined it.
pub fn estimate_text(estimate: &Estimate, unit: Unit) -> String {
    let (scale, suffix) = match unit {
        Unit::Fraction => (100.0, " %"),
        Unit::Seconds => (1.0, " s"),
        Unit::Contacts | Unit::Agents => (1.0, ""),
    };
    let Some(mean) = estimate.mean else {
        return "-".to_string();
    };
    let range = Range::of(unit);
    let Some([low, high]) = estimate.ci95 else {
        return format!("{}{suffix}", significant(mean * scale));
    };
    let half = (high - mean) * scale;
    // Differences far below the mean's fourth digit are rounding, not spread.
    let spread = half > mean.abs() * scale * 1e-9;
    if !spread {
        return format!("{}{suffix}", significant(mean * scale));
    }
    let decimals = decimals_for(half);
    let number = |value: f64| trimmed(format!("{:.decimals$}", value * scale));
    let (clipped_low, clipped_high) = (range.clip(low), range.clip(high));
    // An interval clipped where it was computed is no longer centred on the mean.
    let lopsided = ((mean - low) * scale - half).abs() > half.max(mean.abs() * scale) * 1e-9;
    if clipped_low != low || clipped_high != high || lopsided {
        return format!(
            "{} [{}, {}]{suffix}",
            number(mean),
            number(clipped_low),
            number(clipped_high)
        );
    }
    format!(
        "{} ± {}{suffix}",
        number(mean),
        trimmed(format!("{half:.decimals$}"))
    )
}

/// A paired difference with its interval, signed, never clipped (a difference may be
/// negative): `+1.2 [+0.4, +2.0] %` (percentage points for shares).
pub fn difference_text(estimate: &Estimate, unit: Unit) -> String {
    let (scale, suffix) = match unit {
        Unit::Fraction => (100.0, " pp"),
        Unit::Seconds => (1.0, " s"),
        Unit::Contacts | Unit::Agents => (1.0, ""),
    };
    let Some(mean) = estimate.mean else {
        return "-".to_string();
    };
    match estimate.ci95 {
        Some([low, high]) if (high - mean) * scale > mean.abs() * scale * 1e-9 => {
            let decimals = decimals_for((high - mean) * scale);
            // A bound that rounds to zero is 0, never "-0" or "+0".
            let signed = |value: f64| {
                let text = format!("{:+.decimals$}", value * scale);
                if text[1..].chars().all(|c| c == '0' || c == '.') {
                    text[1..].to_string()
                } else {
                    text
                }
            };
            format!(
                "{} [{}, {}]{suffix}",
                signed(mean),
                signed(low),
                signed(high)
            )
        }
        _ if mean == 0.0 => format!("0{suffix}"),
        _ => {
            let text = significant(mean * scale);
            let sign = if mean > 0.0 { "+" } else { "" };
            format!("{sign}{text}{suffix}")
        }
    }
}

/// A share as percent with four significant digits: 0.8848 → `88.48 %`, 1 → `100 %`,
/// 0.000123 → `0.0123 %`.
pub fn percent_text(fraction: f64) -> String {
    format!("{} %", significant(fraction * 100.0))
}

/// "s" after a noun counted `count` times, unless once.
pub fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// A time of day for a file without a date (a forecast whose starts are durations from
/// midnight): `00:30`, `08:15:30` when seconds matter, `day 2 00:30` from the second day on.
pub fn day_clock_text(ms: u64) -> String {
    const DAY_MS: u64 = 86_400_000;
    let (day, within) = (ms / DAY_MS, ms % DAY_MS);
    let (hours, minutes, seconds) = (
        within / 3_600_000,
        within / 60_000 % 60,
        within as f64 / 1_000.0 % 60.0,
    );
    let clock = if seconds == 0.0 {
        format!("{hours:02}:{minutes:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{:02}", seconds.floor() as u64)
    };
    if day == 0 {
        clock
    } else {
        format!("day {} {clock}", day + 1)
    }
}

/// `text` wrapped to `width` columns, the first line after `first_indent`, the others after
/// `indent` spaces; words are never split, not even at their own hyphens.
pub fn wrapped(text: &str, first_indent: &str, indent: usize, width: usize) -> String {
    let rest = " ".repeat(indent);
    let options = textwrap::Options::new(width)
        .initial_indent(first_indent)
        .subsequent_indent(&rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::fill(text, options) + "\n"
}

/// A table as text: the first column left-aligned, the others right-aligned, two spaces
/// between. When the table is wider than `width`, its value columns are split into blocks
/// that each fit, every block repeating the first column.
pub fn table_text(rows: &[Vec<String>], width: usize) -> String {
    assert!(
        rows.iter().all(|row| row.len() == rows[0].len()),
        "every row of a table has the same number of cells"
    );
    let Some(header) = rows.first() else {
        return String::new();
    };
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut used = widths[0];
    for (column, column_width) in widths.iter().enumerate().skip(1) {
        if !current.is_empty() && used + 2 + column_width > width {
            blocks.push(std::mem::take(&mut current));
            used = widths[0];
        }
        current.push(column);
        used += 2 + column_width;
    }
    if !current.is_empty() || blocks.is_empty() {
        blocks.push(current);
    }
    let mut out = String::new();
    for (index, block) in blocks.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for row in rows {
            let mut line = format!("{:<width$}", row[0], width = widths[0]);
            for &column in block {
                let pad = widths[column] - row[column].chars().count();
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(&row[column]);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(mean: f64, half: f64) -> Estimate {
        Estimate {
            mean: Some(mean),
            ci95: Some([mean - half, mean + half]),
            count: 10,
        }
    }

    #[test]
    fn the_interval_decides_the_digits() {
        assert_eq!(
            estimate_text(&estimate(1234.56, 12.3), Unit::Contacts),
            "1235 ± 12"
        );
        assert_eq!(
            estimate_text(&estimate(1234.56, 45.0), Unit::Contacts),
            "1235 ± 45"
        );
        assert_eq!(
            estimate_text(&estimate(31.04, 0.17), Unit::Seconds),
            "31.04 ± 0.17 s"
        );
        assert_eq!(
            estimate_text(&estimate(0.8848, 0.012), Unit::Fraction),
            "88.5 ± 1.2 %"
        );
        assert_eq!(estimate_text(&estimate(0.5, 0.0), Unit::Fraction), "50 %");
    }

    #[test]
    fn lone_figures_have_four_significant_digits_and_no_trailing_zeros() {
        assert_eq!(significant(0.002), "0.002");
        assert_eq!(significant(6.3333333), "6.333");
        assert_eq!(significant(1234.5678), "1235");
        assert_eq!(significant(55.0), "55");
        assert_eq!(significant(0.0), "0");
    }

    #[test]
    fn intervals_stay_inside_the_range_of_the_quantity() {
        assert_eq!(
            estimate_text(&estimate(0.995, 0.01), Unit::Fraction),
            "99.5 [98.5, 100.0] %"
        );
        assert_eq!(
            estimate_text(&estimate(2.0, 3.0), Unit::Seconds),
            "2 [0, 5] s"
        );
    }

    #[test]
    fn differences_keep_their_sign_and_use_percentage_points() {
        assert_eq!(
            difference_text(&estimate(-0.012, 0.004), Unit::Fraction),
            "-1.2 [-1.6, -0.8] pp"
        );
        assert_eq!(difference_text(&estimate(0.0, 0.0), Unit::Contacts), "0");
        assert_eq!(
            difference_text(&estimate(-15.0, 15.2), Unit::Contacts),
            "-15 [-30, 0]"
        );
        assert_eq!(difference_text(&estimate(3.0, 0.0), Unit::Seconds), "+3 s");
    }

    #[test]
    fn percent_and_clock_times_of_days_without_a_date() {
        assert_eq!(percent_text(0.88476), "88.48 %");
        assert_eq!(percent_text(1.0), "100 %");
        assert_eq!(percent_text(0.0), "0 %");
        assert_eq!(day_clock_text(0), "00:00");
        assert_eq!(day_clock_text(30 * 60_000), "00:30");
        assert_eq!(
            day_clock_text(8 * 3_600_000 + 15 * 60_000 + 30_000),
            "08:15:30"
        );
        assert_eq!(day_clock_text(86_400_000 + 30 * 60_000), "day 2 00:30");
    }

    #[test]
    fn a_wide_table_is_split_into_blocks_that_fit() {
        let rows: Vec<Vec<String>> = (0..3)
            .map(|row| {
                (0..8)
                    .map(|column| format!("r{row}c{column}-{}", "x".repeat(12)))
                    .collect()
            })
            .collect();
        let text = table_text(&rows, 60);
        assert!(
            text.lines().all(|line| line.chars().count() <= 60),
            "{text}"
        );
        // Every block repeats the first column.
        assert_eq!(text.matches("r0c0").count(), text.split("\n\n").count());
        assert!(text.contains("r2c7"));
        let wide = table_text(&rows, 1000);
        assert_eq!(wide.lines().count(), 3);
    }
}

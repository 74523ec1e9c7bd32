//! How planning answers are written for a terminal, in the style of every command's tables
//! (`switchboard_results::display`): shares as percent and durations in seconds, each with
//! four significant digits.

use switchboard_results::display::{percent_text, significant};

/// `0.8841` → `88.41 %`.
pub fn percent(fraction: f64) -> String {
    percent_text(fraction)
}

/// `7.8412` → `7.841 s`; an infinite time (an unstable queue) is written as `infinite`.
pub fn seconds(value_s: f64) -> String {
    if value_s.is_finite() {
        format!("{} s", significant(value_s))
    } else {
        "infinite".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_seconds_have_four_significant_digits() {
        assert_eq!(percent(0.88841), "88.84 %");
        assert_eq!(percent(0.5), "50 %");
        assert_eq!(seconds(7.8412), "7.841 s");
        assert_eq!(seconds(20.0), "20 s");
        assert_eq!(seconds(f64::INFINITY), "infinite");
    }
}

//! How planning answers are written for a terminal: shares as percentages, durations in
//! seconds, with the precision every table of `switchboard plan` uses.

/// `0.8841` → `88.41 %`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

/// `7.84` → `7.84 s`; an infinite time (an unstable queue) is written as `infinite`.
pub fn seconds(value_s: f64) -> String {
    if value_s.is_finite() {
        format!("{value_s:.2} s")
    } else {
        "infinite".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_seconds_have_two_decimals() {
        assert_eq!(percent(0.88841), "88.84 %");
        assert_eq!(seconds(7.8412), "7.84 s");
        assert_eq!(seconds(f64::INFINITY), "infinite");
    }
}

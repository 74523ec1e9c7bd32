//! Human-readable quantities used by every configuration file: durations such as
//! `"20s"` or `"1h30m"` and rates such as `"252/h"` or `"200/30m"`.
//!
//! They live in the engine crate because the engine's own configuration uses durations and
//! every other crate (simulator, planning, live runtime) depends on the engine; one parser
//! means one set of rules and one set of error messages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time in whole milliseconds, written in files as `"250ms"`, `"20s"`, `"1.5m"`,
/// `"8h"`, `"1h30m"` or `"2d"`.
///
/// ```
/// use switchboard_engine::units::DurationMs;
/// let d: DurationMs = "1h30m".parse().unwrap();
/// assert_eq!(d.as_ms(), 5_400_000);
/// assert_eq!(d.to_string(), "1h30m");
/// assert!("20 parsecs".parse::<DurationMs>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationMs(pub u64);

impl DurationMs {
    pub const ZERO: DurationMs = DurationMs(0);

    pub const fn from_ms(ms: u64) -> Self {
        DurationMs(ms)
    }
    pub const fn from_s(s: u64) -> Self {
        DurationMs(s * 1_000)
    }
    pub const fn as_ms(self) -> u64 {
        self.0
    }
    pub fn as_s_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
}

/// Milliseconds in one unit, for the units a duration may be written in.
fn unit_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0,
        "s" | "sec" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    })
}

/// Why a quantity could not be read; the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError {
    pub message: String,
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UnitError {}

fn duration_error(text: &str) -> UnitError {
    UnitError {
        message: format!(
            "expected a duration such as \"250ms\", \"20s\", \"3m\", \"1h30m\" or \"2d\", found {text:?}"
        ),
    }
}

impl FromStr for DurationMs {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(duration_error(text));
        }
        let mut total_ms = 0.0_f64;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let number_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if number_end == 0 {
                return Err(duration_error(text));
            }
            let number: f64 = rest[..number_end]
                .parse()
                .map_err(|_| duration_error(text))?;
            rest = rest[number_end..].trim_start();
            let unit_end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let factor = unit_ms(&rest[..unit_end]).ok_or_else(|| duration_error(text))?;
            rest = rest[unit_end..].trim_start();
            total_ms += number * factor;
        }
        if !total_ms.is_finite() || total_ms > u64::MAX as f64 / 2.0 {
            return Err(duration_error(text));
        }
        Ok(DurationMs(total_ms.round() as u64))
    }
}

impl fmt::Display for DurationMs {
    /// Writes the shortest exact form: `1h30m`, `20s`, `250ms`, `1m0s500ms` never appears
    /// because units are only used while they divide the remainder exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut remaining_ms = self.0;
        if remaining_ms == 0 {
            return f.write_str("0s");
        }
        for (unit, ms) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if remaining_ms >= ms {
                let whole = remaining_ms / ms;
                // Only write "1m" if what is left is still expressible without a leftover
                // smaller than a millisecond, which is always true for integer ms.
                write!(f, "{whole}{unit}")?;
                remaining_ms -= whole * ms;
            }
        }
        if remaining_ms > 0 {
            write!(f, "{remaining_ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for DurationMs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DurationMs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"20s\", \"3m\" or \"1h30m\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DurationMs, E> {
                text.parse()
                    .map_err(|error: UnitError| E::custom(error.message))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// An arrival rate, stored per hour, written as `"252/h"`, `"200/30m"`, `"4.2/min"` or
/// `"1.2M/d"` (suffixes k and M scale the count).
///
/// ```
/// use switchboard_engine::units::Rate;
/// let r: Rate = "200/30m".parse().unwrap();
/// assert_eq!(r.per_hour(), 400.0);
/// assert_eq!("1.2M/d".parse::<Rate>().unwrap().per_hour(), 50_000.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate {
    per_hour: f64,
}

impl Rate {
    pub fn from_per_hour(per_hour: f64) -> Self {
        assert!(
            per_hour.is_finite() && per_hour >= 0.0,
            "a rate is finite and not negative"
        );
        Rate { per_hour }
    }
    pub fn per_hour(self) -> f64 {
        self.per_hour
    }
    pub fn per_ms(self) -> f64 {
        self.per_hour / 3_600_000.0
    }
}

fn rate_error(text: &str) -> UnitError {
    UnitError {
        message: format!(
            "expected a rate such as \"252/h\", \"200/30m\", \"4/min\" or \"1.2M/d\", found {text:?}"
        ),
    }
}

impl FromStr for Rate {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (count_text, per_text) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| rate_error(text))?;
        let count_text = count_text.trim();
        let (number_text, scale) = match count_text.strip_suffix('k') {
            Some(number) => (number, 1e3),
            None => match count_text.strip_suffix('M') {
                Some(number) => (number, 1e6),
                None => (count_text, 1.0),
            },
        };
        let count: f64 = number_text.trim().parse().map_err(|_| rate_error(text))?;
        let per_text = per_text.trim();
        // "/h" means one hour; "/30m" means thirty minutes.
        let period = if per_text.starts_with(|c: char| c.is_ascii_digit()) {
            per_text
                .parse::<DurationMs>()
                .map_err(|_| rate_error(text))?
        } else {
            DurationMs(unit_ms(per_text).ok_or_else(|| rate_error(text))? as u64)
        };
        let per_hour = count * scale * 3_600_000.0 / period.0 as f64;
        if period.0 == 0 || !per_hour.is_finite() || per_hour < 0.0 {
            return Err(rate_error(text));
        }
        Ok(Rate { per_hour })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/h", self.per_hour)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate such as \"252/h\" or \"200/30m\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Rate, E> {
                text.parse()
                    .map_err(|error: UnitError| E::custom(error.message))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        for (text, ms) in [
            ("250ms", 250),
            ("20s", 20_000),
            ("3m", 180_000),
            ("1.5m", 90_000),
            ("8h", 28_800_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("0s", 0),
            (" 7 s", 7_000),
        ] {
            assert_eq!(text.parse::<DurationMs>().unwrap().as_ms(), ms, "{text}");
        }
    }

    #[test]
    fn durations_reject_nonsense_with_a_helpful_message() {
        for text in ["", "20", "s", "20 parsecs", "-5s", "1..5s"] {
            let error = text.parse::<DurationMs>().unwrap_err();
            assert!(
                error.message.contains("expected a duration"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn durations_round_trip_through_display() {
        for ms in [0, 1, 999, 1_000, 61_500, 5_400_000, 90_061_001] {
            let shown = DurationMs(ms).to_string();
            assert_eq!(shown.parse::<DurationMs>().unwrap().as_ms(), ms, "{shown}");
        }
    }

    #[test]
    fn rates_parse_with_periods_and_scales() {
        for (text, per_hour) in [
            ("252/h", 252.0),
            ("200/30m", 400.0),
            ("4/min", 240.0),
            ("1.2M/d", 50_000.0),
            ("3k/h", 3_000.0),
            ("1/s", 3_600.0),
        ] {
            assert_eq!(text.parse::<Rate>().unwrap().per_hour(), per_hour, "{text}");
        }
        for text in ["252", "x/h", "5/parsec", "5/0s"] {
            assert!(text.parse::<Rate>().is_err(), "{text}");
        }
    }
}

//! The local time of a site at a moment of a run: time 0 is the scenario's `[center] start`
//! instant, and a person reading a chart of a Shanghai site thinks in Shanghai's clock.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Turns hours since the scenario's start into the wall-clock time of one time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalClock {
    start: Timestamp,
    zone: TimeZone,
    zone_name: String,
}

impl LocalClock {
    /// `start` in RFC 3339 (`2026-11-10T20:00:00+08:00`), `zone_name` an IANA time zone.
    pub fn new(start: &str, zone_name: &str) -> Result<LocalClock, String> {
        let start: Timestamp = start.parse().map_err(|error| {
            format!("`[center] start` {start:?} is not an RFC 3339 instant: {error}")
        })?;
        let zone = TimeZone::get(zone_name)
            .map_err(|error| format!("unknown time zone {zone_name:?}: {error}"))?;
        Ok(LocalClock {
            start,
            zone,
            zone_name: zone_name.to_string(),
        })
    }

    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    fn at(&self, hours_since_start: f64) -> jiff::ZonedDateTime {
        let offset = SignedDuration::from_millis((hours_since_start * 3_600_000.0).round() as i64);
        self.start
            .checked_add(offset)
            .unwrap_or(self.start)
            .to_zoned_datetime(self.zone.clone())
    }

    /// `HH:MM` local time, `hours_since_start` after the start.
    pub fn label(&self, hours_since_start: f64) -> String {
        self.at(hours_since_start).strftime("%H:%M").to_string()
    }

    /// The start as a reader wants it: `2026-11-10 20:00 (UTC+08:00)`.
    pub fn describe_start(&self) -> String {
        self.at(0.0).strftime("%Y-%m-%d %H:%M (UTC%:z)").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_midnight_comes_four_hours_after_a_20_00_start() {
        let clock = LocalClock::new("2026-11-10T20:00:00+08:00", "Asia/Shanghai").unwrap();
        assert_eq!(clock.label(0.0), "20:00");
        assert_eq!(clock.label(4.0), "00:00");
        assert_eq!(clock.label(4.5), "00:30");
        assert_eq!(clock.describe_start(), "2026-11-10 20:00 (UTC+08:00)");
    }

    #[test]
    fn the_same_instant_reads_differently_in_berlin() {
        let clock = LocalClock::new("2026-11-10T20:00:00+08:00", "Europe/Berlin").unwrap();
        assert_eq!(clock.label(0.0), "13:00");
    }

    #[test]
    fn a_bad_zone_is_named() {
        let error = LocalClock::new("2026-11-10T20:00:00Z", "Mars/Olympus").unwrap_err();
        assert!(error.contains("Mars/Olympus"), "{error}");
    }
}

//! Instants to the center's local calendar and back, with the time-zone database bundled into
//! the program (the same one the engine's business hours use), so a calibration gives the same
//! answer on every machine.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::CalibrationError;

/// The center's time zone, for days of the week and times of day.
#[derive(Clone, Debug)]
pub struct LocalClock {
    zone: TimeZone,
    name: String,
}

/// Where an instant falls on the local calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalInstant {
    pub date: Date,
    /// Milliseconds since local midnight.
    pub time_of_day_ms: i64,
}

impl LocalClock {
    pub fn new(zone_name: &str) -> Result<LocalClock, CalibrationError> {
        let zone = TimeZone::get(zone_name).map_err(|_| {
            CalibrationError::new(format!(
                "unknown time zone {zone_name:?}: expected an IANA name such as \
                 \"Asia/Shanghai\" or \"UTC\""
            ))
        })?;
        Ok(LocalClock {
            zone,
            name: zone_name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn local(&self, unix_ms: i64) -> LocalInstant {
        let timestamp = Timestamp::from_millisecond(unix_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let civil = self.zone.to_datetime(timestamp);
        let time = civil.time();
        LocalInstant {
            date: civil.date(),
            time_of_day_ms: i64::from(time.hour()) * 3_600_000
                + i64::from(time.minute()) * 60_000
                + i64::from(time.second()) * 1_000
                + i64::from(time.subsec_nanosecond()) / 1_000_000,
        }
    }

    /// The instant of local midnight starting `date` (the earliest instant of that day where a
    /// time-zone change skips midnight).
    pub fn midnight_unix_ms(&self, date: Date) -> i64 {
        self.zone
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .map(|timestamp| timestamp.as_millisecond())
            .unwrap_or(0)
    }

    /// The RFC 3339 form of an instant, with the zone's offset (`2026-11-02T00:00:00+08:00`).
    pub fn rfc3339(&self, unix_ms: i64) -> String {
        let timestamp = Timestamp::from_millisecond(unix_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let civil = self.zone.to_datetime(timestamp);
        let seconds = self.zone.to_offset(timestamp).seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        format!(
            "{}{}{:02}:{:02}",
            civil.strftime("%Y-%m-%dT%H:%M:%S"),
            sign,
            seconds.abs() / 3600,
            seconds.abs() % 3600 / 60
        )
    }

    /// Reads an instant: RFC 3339 with an offset (`2026-11-02T08:30:00+08:00`), or a local date
    /// and time in this zone (`2026-11-02 08:30`, `2026-11-02T08:30:00`).
    pub fn parse(&self, text: &str) -> Option<i64> {
        let text = text.trim();
        if let Ok(timestamp) = text.parse::<Timestamp>() {
            return Some(timestamp.as_millisecond());
        }
        let civil: DateTime = text.replacen(' ', "T", 1).parse().ok()?;
        self.zone
            .to_timestamp(civil)
            .ok()
            .map(|timestamp| timestamp.as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dates_times_and_offsets_in_shanghai() {
        let clock = LocalClock::new("Asia/Shanghai").unwrap();
        let instant = clock.parse("2026-11-11 20:00").unwrap();
        assert_eq!(Some(instant), clock.parse("2026-11-11T12:00:00Z"));
        let local = clock.local(instant);
        assert_eq!(local.date, jiff::civil::date(2026, 11, 11));
        assert_eq!(local.time_of_day_ms, 20 * 3_600_000);
        assert_eq!(clock.rfc3339(instant), "2026-11-11T20:00:00+08:00");
        assert_eq!(
            clock.midnight_unix_ms(local.date),
            clock.parse("2026-11-11T00:00:00+08:00").unwrap()
        );
        assert!(LocalClock::new("Mars/Olympus").is_err());
        assert_eq!(clock.parse("half past eight"), None);
    }
}

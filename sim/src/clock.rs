//! Times of day as a reader of a run reads them: time 0 is `[center] start`, and a moment of
//! the run is shown on the clock that instant is written in (`2026-11-11T20:00:00+08:00`
//! puts a fault 5 s in at 20:00:05), never as seconds since the start.

use jiff::fmt::temporal::{Pieces, PiecesOffset};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// The clock of `[center] start`: its instant and the UTC offset it is written with.
#[derive(Clone, Debug, PartialEq)]
pub struct RunClock {
    start: Timestamp,
    zone: TimeZone,
}

impl RunClock {
    /// `start` in RFC 3339, as `[center] start` holds it.
    pub fn new(start: &str) -> Result<RunClock, String> {
        let instant: Timestamp = start.parse().map_err(|error| {
            format!("`[center] start` {start:?} is not an RFC 3339 instant: {error}")
        })?;
        let offset = match Pieces::parse(start).ok().and_then(|pieces| pieces.offset()) {
            Some(PiecesOffset::Numeric(numeric)) => numeric.offset(),
            _ => Offset::UTC,
        };
        Ok(RunClock {
            start: instant,
            zone: TimeZone::fixed(offset),
        })
    }

    /// `HH:MM:SS` at `ms` after the start, with the date (`11-12 02:00:00`) once the run has
    /// crossed midnight.
    pub fn time_of_day(&self, ms: u64) -> String {
        let first_day = self.start.to_zoned_datetime(self.zone.clone()).date();
        let at = self
            .start
            .checked_add(SignedDuration::from_millis(ms as i64))
            .unwrap_or(self.start)
            .to_zoned_datetime(self.zone.clone());
        if at.date() == first_day {
            at.strftime("%H:%M:%S").to_string()
        } else {
            at.strftime("%m-%d %H:%M:%S").to_string()
        }
    }

    /// [`time_of_day`](Self::time_of_day) without the seconds when they are zero, as the
    /// start of a reporting interval is written: `20:30`, `11-12 00:00`.
    pub fn interval_start(&self, ms: u64) -> String {
        let text = self.time_of_day(ms);
        match text.strip_suffix(":00") {
            Some(minutes) => minutes.to_string(),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_read_on_the_clock_the_start_is_written_in() {
        let clock = RunClock::new("2026-11-11T20:00:00+08:00").unwrap();
        assert_eq!(clock.time_of_day(5_000), "20:00:05");
        assert_eq!(clock.time_of_day(4 * 3_600_000 + 60_000), "11-12 00:01:00");
        let utc = RunClock::new("2026-11-11T00:00:00Z").unwrap();
        assert_eq!(utc.time_of_day(7_200_000), "02:00:00");
        assert_eq!(clock.interval_start(30 * 60_000), "20:30");
        assert_eq!(clock.interval_start(4 * 3_600_000), "11-12 00:00");
        assert_eq!(clock.interval_start(15_000), "20:00:15");
        assert!(RunClock::new("yesterday")
            .unwrap_err()
            .contains("yesterday"));
    }
}

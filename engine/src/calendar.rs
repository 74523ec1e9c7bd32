//! Business hours: weekly opening hours in a time zone, with holidays.
//!
//! The engine has no clock; it knows the instant that time 0 stands for (`[center] start`) and
//! turns `now` into the local date and time of the calendar's zone with the time-zone database
//! bundled into the program, so a run gives the same answer on every machine.

use std::collections::BTreeSet;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::CalendarConfig;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u32 = 24 * 60;

/// A calendar ready to answer "open at this instant?".
#[derive(Clone, Debug)]
pub(crate) struct Calendar {
    time_zone: TimeZone,
    /// Per weekday (Monday first), open ranges in minutes since local midnight, end exclusive.
    open_minutes: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Builds a calendar; `default_zone` is used when the calendar names none. Errors say
    /// which key is wrong and what was expected.
    pub(crate) fn new(
        config: &CalendarConfig,
        default_zone: &str,
    ) -> Result<Calendar, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let zone_name = config.timezone.as_deref().unwrap_or(default_zone);
        let time_zone = match TimeZone::get(zone_name) {
            Ok(zone) => zone,
            Err(_) => {
                problems.push((
                    "timezone".to_string(),
                    format!(
                        "expected an IANA time zone such as \"Asia/Shanghai\", found {zone_name:?}"
                    ),
                ));
                TimeZone::UTC
            }
        };
        let mut open_minutes: [Vec<(u32, u32)>; 7] = Default::default();
        for (days, hours) in &config.hours {
            let day_indexes = match parse_days(days) {
                Some(indexes) => indexes,
                None => {
                    problems.push((
                        format!("hours.{days}"),
                        "expected a day or day range such as \"mon\", \"mon-fri\", \"sat-sun\" or \"every-day\"".to_string(),
                    ));
                    continue;
                }
            };
            let ranges = match parse_hours(hours) {
                Some(ranges) => ranges,
                None => {
                    problems.push((
                        format!("hours.{days}"),
                        format!("expected opening hours such as \"08:00-22:00\" (several separated by commas; \"closed\" for none), found {hours:?}"),
                    ));
                    continue;
                }
            };
            for day in day_indexes {
                for &(open, close) in &ranges {
                    if close > open {
                        open_minutes[day].push((open, close));
                    } else {
                        // Past midnight: the part after midnight belongs to the next day.
                        open_minutes[day].push((open, MINUTES_PER_DAY));
                        if close > 0 {
                            open_minutes[(day + 1) % 7].push((0, close));
                        }
                    }
                }
            }
        }
        for ranges in &mut open_minutes {
            ranges.sort_unstable();
        }
        let mut holidays = BTreeSet::new();
        for (index, text) in config.holidays.iter().enumerate() {
            match text.parse::<Date>() {
                Ok(date) => {
                    holidays.insert(date);
                }
                Err(_) => problems.push((
                    format!("holidays[{index}]"),
                    format!("expected a date such as \"2026-10-01\", found {text:?}"),
                )),
            }
        }
        if problems.is_empty() {
            Ok(Calendar {
                time_zone,
                open_minutes,
                holidays,
            })
        } else {
            Err(problems)
        }
    }

    /// Whether the calendar is open at `instant`.
    pub(crate) fn is_open(&self, instant: Timestamp) -> bool {
        let local = self.time_zone.to_datetime(instant);
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let day = (local.weekday().to_monday_one_offset() - 1) as usize;
        let minute = local.time().hour() as u32 * 60 + local.time().minute() as u32;
        self.open_minutes[day]
            .iter()
            .any(|&(open, close)| open <= minute && minute < close)
    }

    /// Whether the calendar opens at all in a week (holidays aside).
    pub(crate) fn opens_every_week(&self) -> bool {
        self.open_minutes.iter().any(|ranges| !ranges.is_empty())
    }

    /// The instant at which `open_ms` of open time have passed since `from`: time outside the
    /// opening hours and on holidays does not count, so an hour asked for at closing time is
    /// the first hour of the next opening. `None` when the calendar never opens again within
    /// a century (it has no opening hours).
    pub(crate) fn after_open_time(&self, from: Timestamp, open_ms: u64) -> Option<Timestamp> {
        const DAYS_SEARCHED: u32 = 36_525;
        let mut remaining_ms = i64::try_from(open_ms).ok()?;
        let mut cursor = from;
        let mut date = self.time_zone.to_datetime(from).date();
        for _ in 0..DAYS_SEARCHED {
            if !self.holidays.contains(&date) {
                let day = (date.weekday().to_monday_one_offset() - 1) as usize;
                for &(open, close) in &self.open_minutes[day] {
                    // Ranges may overlap: what the cursor passed counts once.
                    let start = self.instant_on(date, open)?.max(cursor);
                    let end = self.instant_on(date, close)?;
                    if end <= start {
                        continue;
                    }
                    let span_ms = end.as_millisecond() - start.as_millisecond();
                    if span_ms >= remaining_ms {
                        return Timestamp::from_millisecond(start.as_millisecond() + remaining_ms)
                            .ok();
                    }
                    remaining_ms -= span_ms;
                    cursor = end;
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The instant of `minute` minutes after local midnight on `date` (1440: the next
    /// midnight). A local time skipped by a daylight-saving change is read as the one after.
    fn instant_on(&self, date: Date, minute: u32) -> Option<Timestamp> {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let local = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        self.time_zone.to_timestamp(local).ok()
    }
}

fn day_index(name: &str) -> Option<usize> {
    DAY_NAMES.iter().position(|day| *day == name)
}

fn parse_days(text: &str) -> Option<Vec<usize>> {
    let text = text.trim().to_ascii_lowercase();
    if text == "every-day" || text == "daily" {
        return Some((0..7).collect());
    }
    if let Some((first, last)) = text.split_once('-') {
        let (first, last) = (day_index(first)?, day_index(last)?);
        let mut days = vec![first];
        let mut day = first;
        while day != last {
            day = (day + 1) % 7;
            days.push(day);
        }
        return Some(days);
    }
    Some(vec![day_index(&text)?])
}

fn parse_clock(text: &str) -> Option<u32> {
    let (hour, minute) = text.trim().split_once(':')?;
    let (hour, minute): (u32, u32) = (hour.parse().ok()?, minute.parse().ok()?);
    if minute >= 60 || hour > 24 || (hour == 24 && minute != 0) {
        return None;
    }
    Some(hour * 60 + minute)
}

fn parse_hours(text: &str) -> Option<Vec<(u32, u32)>> {
    if text.trim() == "closed" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|range| {
            let (open, close) = range.split_once('-')?;
            let (open, close) = (parse_clock(open)?, parse_clock(close)?);
            (open < MINUTES_PER_DAY && open != close).then_some((open, close % MINUTES_PER_DAY))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn calendar(hours: &[(&str, &str)], holidays: &[&str], zone: &str) -> Calendar {
        let config = CalendarConfig {
            name: "test".into(),
            timezone: Some(zone.into()),
            site: None,
            hours: hours
                .iter()
                .map(|(days, range)| (days.to_string(), range.to_string()))
                .collect::<BTreeMap<_, _>>(),
            holidays: holidays.iter().map(|day| day.to_string()).collect(),
        };
        Calendar::new(&config, "UTC").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn weekday_hours_in_the_local_zone() {
        let shanghai = calendar(&[("mon-fri", "08:00-22:00")], &[], "Asia/Shanghai");
        // 2026-11-10 is a Tuesday. 00:30 UTC is 08:30 in Shanghai.
        assert!(shanghai.is_open(at("2026-11-10T00:30:00Z")));
        assert!(!shanghai.is_open(at("2026-11-09T23:30:00Z")), "07:30 local");
        assert!(
            !shanghai.is_open(at("2026-11-10T14:00:00Z")),
            "22:00 local is closed"
        );
        // 2026-11-14 is a Saturday.
        assert!(!shanghai.is_open(at("2026-11-14T04:00:00Z")));
    }

    #[test]
    fn holidays_close_the_whole_day() {
        let cal = calendar(
            &[("every-day", "00:00-24:00")],
            &["2026-10-01"],
            "Asia/Shanghai",
        );
        assert!(!cal.is_open(at("2026-10-01T04:00:00Z")));
        assert!(cal.is_open(at("2026-10-02T04:00:00Z")));
    }

    #[test]
    fn daylight_saving_time_moves_opening_in_utc() {
        let berlin = calendar(&[("every-day", "09:00-17:00")], &[], "Europe/Berlin");
        // Summer (UTC+2): 07:30 UTC is 09:30 local. Winter (UTC+1): 07:30 UTC is 08:30 local.
        assert!(berlin.is_open(at("2026-07-01T07:30:00Z")));
        assert!(!berlin.is_open(at("2026-12-01T07:30:00Z")));
    }

    #[test]
    fn ranges_past_midnight_continue_on_the_next_day() {
        let night = calendar(&[("fri", "22:00-02:00")], &[], "UTC");
        // 2026-11-13 is a Friday.
        assert!(night.is_open(at("2026-11-13T23:00:00Z")));
        assert!(night.is_open(at("2026-11-14T01:59:00Z")));
        assert!(!night.is_open(at("2026-11-14T02:00:00Z")));
    }

    /// Checks each case `(from, open time, expected local due time)` of `cal`.
    fn assert_due_times(cal: &Calendar, cases: &[(&str, &str, &str)]) {
        for &(from, open, expected) in cases {
            let open_ms = open.parse::<crate::units::DurationMs>().unwrap().as_ms();
            let due = cal.after_open_time(at(from), open_ms).unwrap();
            let due = cal.time_zone.to_datetime(due).to_string();
            assert_eq!(due, expected, "{open} of open time from {from}");
        }
    }

    #[test]
    fn open_time_stops_at_closing_and_goes_on_at_the_next_opening() {
        let shop = calendar(&[("mon-fri", "08:00-22:00")], &[], "Asia/Shanghai");
        assert_due_times(
            &shop,
            &[
                // Tuesday 21:50 local: ten minutes today, 3 h 50 min from Wednesday 08:00.
                ("2026-11-10T21:50:00+08:00", "4h", "2026-11-11T11:50:00"),
                // Friday 21:00 local: an hour on Friday, three from Monday 08:00.
                ("2026-11-13T21:00:00+08:00", "4h", "2026-11-16T11:00:00"),
                // Saturday: nothing counts until Monday's opening.
                ("2026-11-14T12:00:00+08:00", "30m", "2026-11-16T08:30:00"),
                // Inside the hours it is wall time.
                ("2026-11-10T09:15:00+08:00", "4h", "2026-11-10T13:15:00"),
                // Exactly the rest of the day ends at closing time.
                ("2026-11-10T18:00:00+08:00", "4h", "2026-11-10T22:00:00"),
            ],
        );
    }

    #[test]
    fn open_time_skips_holidays_and_counts_overlapping_ranges_once() {
        let cal = calendar(
            &[("every-day", "09:00-12:00,11:00-13:00")],
            &["2026-10-01", "2026-10-02"],
            "UTC",
        );
        assert_due_times(
            &cal,
            &[("2026-09-30T12:00:00Z", "2h", "2026-10-03T10:00:00")],
        );
        let closed = calendar(&[("mon", "closed")], &[], "UTC");
        assert!(!closed.opens_every_week());
        assert_eq!(closed.after_open_time(at("2026-11-10T00:00:00Z"), 1), None);
    }

    #[test]
    fn open_time_runs_on_through_ranges_past_midnight_and_daylight_saving() {
        let night = calendar(&[("fri", "22:00-02:00")], &[], "UTC");
        assert_due_times(
            &night,
            &[
                // Friday 23:00 UTC: 3 h of open time, 3 h this week (to Saturday 02:00).
                ("2026-11-13T23:00:00Z", "3h", "2026-11-14T02:00:00"),
                ("2026-11-13T23:00:00Z", "4h", "2026-11-20T23:00:00"),
            ],
        );
        // Berlin leaves summer time on 2026-10-25 at 03:00: that Sunday has 25 hours.
        let berlin = calendar(&[("every-day", "00:00-24:00")], &[], "Europe/Berlin");
        assert_due_times(
            &berlin,
            &[("2026-10-25T00:00:00+02:00", "24h", "2026-10-25T23:00:00")],
        );
    }

    #[test]
    fn bad_calendars_name_the_key() {
        let config = CalendarConfig {
            name: "bad".into(),
            timezone: Some("Mars/Olympus".into()),
            site: None,
            hours: BTreeMap::from([
                ("funday".into(), "08:00-09:00".into()),
                ("mon".into(), "8-9".into()),
            ]),
            holidays: vec!["tomorrow".into()],
        };
        let problems = Calendar::new(&config, "UTC").unwrap_err();
        let keys: Vec<_> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            ["timezone", "hours.funday", "hours.mon", "holidays[0]"]
        );
    }
}

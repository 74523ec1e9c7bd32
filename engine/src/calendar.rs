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

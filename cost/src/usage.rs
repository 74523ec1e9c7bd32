//! What a contact center uses in a year, in the units price books charge for.
//!
//! A year is a set of day types (a normal weekday, a weekend day, the 11.11 promotion day) and
//! how many days of each type it holds. Each day type lists its usage per reporting interval
//! as one array per quantity, starting at 00:00: the shape the simulator reports, and short
//! enough to write by hand. `docs/cost.md` documents every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use switchboard_engine::units::DurationMs;

use crate::source_error::{load_document, SourceError};

const DAY_MS: u64 = 86_400_000;
const MONTHS_PER_YEAR: usize = 12;

/// A year of usage, from a usage file, with day types given inline or simulated
/// ([`crate::simulated::resolve`]).
///
/// ```
/// use switchboard_cost::Usage;
/// let usage: Usage = toml::from_str(r#"
///     name = "tiny"
///     interval = "1h"
///     named_agents = 3
///     [[day_type]]
///     name = "weekday"
///     days_per_year = 250
///     agents_staffed = [2, 3]
///     voice_inbound_minutes = [60, 90]
/// "#).unwrap();
/// usage.validate().unwrap();
/// assert_eq!(usage.day_types[0].active_user_hours(usage.interval), 5.0);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// What this usage describes, shown in reports.
    pub name: String,
    /// Length of one reporting interval; every per-interval array uses it.
    #[serde(default = "thirty_minutes")]
    pub interval: DurationMs,
    /// People with a login (the roster), billed by named-seat items. May be left out when a
    /// day type is simulated: then the largest roster of the simulated scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_agents: Option<f64>,
    /// People who log in at least once a month; defaults to `named_agents`.
    #[serde(default)]
    pub monthly_active_users: Option<f64>,
    /// Simulated day types only: chat messages per minute of chat conversation (default
    /// [`crate::simulated::DEFAULT_MESSAGES_PER_CHAT_MINUTE`], an assumption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_chat_minute: Option<f64>,
    /// Simulated day types only: bit rate of call recordings in kbit/s (default
    /// [`crate::simulated::DEFAULT_RECORDING_KBIT_PER_S`], one channel of G.711).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_kbit_per_s: Option<f64>,
    /// The day types that make up the year.
    #[serde(rename = "day_type")]
    pub day_types: Vec<DayUsage>,
}

fn thirty_minutes() -> DurationMs {
    DurationMs::from_s(1_800)
}

/// One kind of day and its usage per interval. An array left out means zero throughout; an
/// array shorter than a day means the center is closed after its last interval.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DayUsage {
    pub name: String,
    /// How many days of this type a year holds (a fraction is allowed for averages).
    pub days_per_year: f64,
    /// Months (1–12) the days fall in; empty means spread evenly over the year. Concurrent
    /// seats are billed on each month's peak, so a promotion day belongs in its month.
    #[serde(default)]
    pub months: Vec<u8>,
    /// Take this day's usage from simulating a scenario (or from a results folder) instead of
    /// the arrays below, which are then left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<SimulateDay>,
    /// Agents logged in throughout each interval: the level a staffing plan holds.
    #[serde(default)]
    pub agents_staffed: Vec<f64>,
    /// Most agents logged in at any moment of each interval; defaults to `agents_staffed`.
    #[serde(default)]
    pub peak_concurrent_agents: Vec<f64>,
    #[serde(default)]
    pub offered_contacts: Vec<f64>,
    #[serde(default)]
    pub answered_contacts: Vec<f64>,
    #[serde(default)]
    pub voice_inbound_minutes: Vec<f64>,
    #[serde(default)]
    pub voice_outbound_minutes: Vec<f64>,
    #[serde(default)]
    pub chat_messages: Vec<f64>,
    #[serde(default)]
    pub emails: Vec<f64>,
    #[serde(default)]
    pub automated_resolutions: Vec<f64>,
    /// Most trunk lines (concurrent voice calls, all sites) in use at any moment of each interval.
    #[serde(default)]
    pub peak_trunk_lines: Vec<f64>,
    /// Most concurrent calls at each site in each interval; when empty, private servers are
    /// sized as one site carrying `peak_trunk_lines`.
    #[serde(default)]
    pub peak_concurrent_calls_by_site: BTreeMap<String, Vec<f64>>,
    /// Call recordings written on one such day, in GB.
    #[serde(default)]
    pub recording_gb: f64,
}

/// One reporting interval as a driver reports it: the shape the simulator adapter fills in,
/// one record per interval, before [`DayUsage::from_intervals`] turns the records into arrays.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalUsage {
    pub agents_staffed: f64,
    pub peak_concurrent_agents: f64,
    pub offered_contacts: f64,
    pub answered_contacts: f64,
    pub voice_inbound_minutes: f64,
    pub voice_outbound_minutes: f64,
    pub chat_messages: f64,
    pub emails: f64,
    pub automated_resolutions: f64,
    pub peak_trunk_lines: f64,
    pub peak_concurrent_calls_by_site: BTreeMap<String, f64>,
}

impl DayUsage {
    /// A day type from per-interval records, starting at 00:00.
    ///
    /// ```
    /// use switchboard_cost::usage::{DayUsage, IntervalUsage};
    /// let intervals = vec![
    ///     IntervalUsage { agents_staffed: 4.0, peak_concurrent_agents: 5.0, ..Default::default() },
    ///     IntervalUsage { agents_staffed: 6.0, peak_concurrent_agents: 6.0, ..Default::default() },
    /// ];
    /// let day = DayUsage::from_intervals("11.11", 1.0, vec![11], &intervals, 12.5);
    /// assert_eq!(day.agents_staffed, vec![4.0, 6.0]);
    /// assert_eq!(day.peak_concurrent_agents, vec![5.0, 6.0]);
    /// ```
    pub fn from_intervals(
        name: &str,
        days_per_year: f64,
        months: Vec<u8>,
        intervals: &[IntervalUsage],
        recording_gb: f64,
    ) -> DayUsage {
        let column = |field: fn(&IntervalUsage) -> f64| intervals.iter().map(field).collect();
        let mut sites: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for interval in intervals {
            for site in interval.peak_concurrent_calls_by_site.keys() {
                sites.entry(site.clone()).or_default();
            }
        }
        for (site, values) in &mut sites {
            *values = intervals
                .iter()
                .map(|i| {
                    i.peak_concurrent_calls_by_site
                        .get(site)
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
        }
        DayUsage {
            name: name.to_string(),
            days_per_year,
            months,
            simulate: None,
            agents_staffed: column(|i| i.agents_staffed),
            peak_concurrent_agents: column(|i| i.peak_concurrent_agents),
            offered_contacts: column(|i| i.offered_contacts),
            answered_contacts: column(|i| i.answered_contacts),
            voice_inbound_minutes: column(|i| i.voice_inbound_minutes),
            voice_outbound_minutes: column(|i| i.voice_outbound_minutes),
            chat_messages: column(|i| i.chat_messages),
            emails: column(|i| i.emails),
            automated_resolutions: column(|i| i.automated_resolutions),
            peak_trunk_lines: column(|i| i.peak_trunk_lines),
            peak_concurrent_calls_by_site: sites,
            recording_gb,
        }
    }
}

/// What `switchboard cost INPUT` was given, recognised by its content, not its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageSource {
    /// A scenario to simulate (a `[scenario]` table).
    Scenario,
    /// A usage file (`[[day_type]]`, or a `.json` file).
    UsageFile,
    /// The results folder of a finished run (`summary.json` and `intervals.csv`).
    ResultsFolder,
}

impl UsageSource {
    /// Recognises `path`: a folder must be a results folder; a file that is not TOML is left
    /// to the usage reader, which places its error.
    pub fn recognise(path: &Path) -> Result<UsageSource, String> {
        if path.is_dir() {
            let missing: Vec<&str> = ["summary.json", "intervals.csv"]
                .into_iter()
                .filter(|file| !path.join(file).is_file())
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{}: a folder, but not a results folder of `switchboard sim --out DIR` ({} missing)",
                    path.display(),
                    missing.join(" and ")
                ));
            }
            return Ok(UsageSource::ResultsFolder);
        }
        if !path.exists() {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            return Ok(UsageSource::UsageFile);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let Ok(table) = text.parse::<toml::Table>() else {
            return Ok(UsageSource::UsageFile);
        };
        if table.contains_key("scenario") {
            Ok(UsageSource::Scenario)
        } else if table.contains_key("day_type") {
            Ok(UsageSource::UsageFile)
        } else {
            Err(format!(
                "{}: neither a simulation scenario (no [scenario] table) nor a usage file (no [[day_type]]); see docs/cost.md",
                path.display()
            ))
        }
    }
}

/// Why a usage file cannot be used.
pub type UsageError = SourceError;

impl Usage {
    /// Reads a usage file: TOML, or JSON when the name ends in `.json`. Simulated day types are
    /// left as they are (see `simulated::load_and_simulate`).
    pub fn load(path: &Path) -> Result<Usage, UsageError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| SourceError::unreadable(path, &error))?;
        let usage: Usage = load_document(path, &text)?;
        usage
            .validate()
            .map_err(|message| SourceError::whole_file(path, message))?;
        Ok(usage)
    }

    /// Checks what serde cannot: array lengths, months, signs.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.as_ms() == 0 || DAY_MS % self.interval.as_ms() != 0 {
            return Err(format!(
                "interval: expected a duration that divides a day (such as \"15m\", \"30m\", \"1h\"), found \"{}\"",
                self.interval
            ));
        }
        let intervals_per_day = (DAY_MS / self.interval.as_ms()) as usize;
        match self.named_agents {
            Some(named) if !(named >= 0.0 && named.is_finite()) => {
                return Err("named_agents: expected a number of zero or more".into());
            }
            None if !self.day_types.iter().any(|day| day.simulate.is_some()) => {
                return Err(
                    "named_agents: expected the roster (people with a login); it may be left out only when a day type is simulated".into(),
                );
            }
            _ => {}
        }
        for (key, value) in [
            ("messages_per_chat_minute", self.messages_per_chat_minute),
            ("recording_kbit_per_s", self.recording_kbit_per_s),
        ] {
            if let Some(value) = value {
                if !(value >= 0.0 && value.is_finite()) {
                    return Err(format!(
                        "{key}: expected a number of zero or more, found {value}"
                    ));
                }
            }
        }
        if self.day_types.is_empty() {
            return Err("expected at least one [[day_type]]".into());
        }
        for day in &self.day_types {
            let context = format!("day_type \"{}\"", day.name);
            if !(day.days_per_year >= 0.0 && day.days_per_year <= 366.0) {
                return Err(format!(
                    "{context}: days_per_year: expected 0 to 366, found {}",
                    day.days_per_year
                ));
            }
            if let Some(month) = day.months.iter().find(|m| !(1..=12).contains(*m)) {
                return Err(format!(
                    "{context}: months: expected months 1 to 12, found {month}"
                ));
            }
            if let Some(simulate) = &day.simulate {
                let mut inline: Vec<&str> = day
                    .named_arrays()
                    .into_iter()
                    .filter(|(_, values)| !values.is_empty())
                    .map(|(name, _)| name)
                    .collect();
                if !day.agents_staffed.is_empty() {
                    inline.insert(0, "agents_staffed");
                }
                if !day.peak_concurrent_calls_by_site.is_empty() {
                    inline.push("peak_concurrent_calls_by_site");
                }
                if day.recording_gb != 0.0 {
                    inline.push("recording_gb");
                }
                if let Some(first) = inline.first() {
                    return Err(format!(
                        "{context}: {first}: a simulated day type takes its usage from {}; leave out the arrays",
                        simulate.scenario.display()
                    ));
                }
                if !(simulate.traffic_scale >= 0.0 && simulate.traffic_scale.is_finite()) {
                    return Err(format!(
                        "{context}: simulate.traffic_scale: expected a number of zero or more, found {}",
                        simulate.traffic_scale
                    ));
                }
                if simulate.replications == Some(0) {
                    return Err(format!(
                        "{context}: simulate.replications: expected at least 1"
                    ));
                }
                continue;
            }
            if day.agents_staffed.is_empty()
                && day
                    .named_arrays()
                    .iter()
                    .all(|(_, values)| values.is_empty())
            {
                return Err(format!(
                    "{context}: expected agents_staffed (one value per interval) or simulate = {{ scenario = \"...\" }}"
                ));
            }
            let length = day.agents_staffed.len();
            if length > intervals_per_day {
                return Err(format!(
                    "{context}: agents_staffed has {length} intervals but a day holds {intervals_per_day} of {}",
                    self.interval
                ));
            }
            let mut arrays: Vec<(&str, &Vec<f64>)> = day.named_arrays();
            let by_site: Vec<(String, &Vec<f64>)> = day
                .peak_concurrent_calls_by_site
                .iter()
                .map(|(site, values)| (format!("peak_concurrent_calls_by_site.{site}"), values))
                .collect();
            for (name, values) in &by_site {
                arrays.push((name.as_str(), values));
            }
            for (name, values) in arrays {
                if !values.is_empty() && values.len() != length {
                    return Err(format!(
                        "{context}: {name} has {} values; expected one per interval like agents_staffed ({length})",
                        values.len()
                    ));
                }
                if let Some(bad) = values.iter().find(|v| !(**v >= 0.0 && v.is_finite())) {
                    return Err(format!(
                        "{context}: {name}: expected numbers of zero or more, found {bad}"
                    ));
                }
            }
            if !(day.recording_gb >= 0.0 && day.recording_gb.is_finite()) {
                return Err(format!("{context}: recording_gb: expected zero or more"));
            }
        }
        Ok(())
    }

    /// Days of each day type in each month (index 0 = January).
    pub fn days_by_month(&self, day: &DayUsage) -> [f64; MONTHS_PER_YEAR] {
        let mut days = [0.0; MONTHS_PER_YEAR];
        if day.months.is_empty() {
            days.iter_mut()
                .for_each(|d| *d = day.days_per_year / MONTHS_PER_YEAR as f64);
        } else {
            let mut months = day.months.clone();
            months.sort_unstable();
            months.dedup();
            for month in &months {
                days[*month as usize - 1] = day.days_per_year / months.len() as f64;
            }
        }
        days
    }

    /// The roster; 0 until simulated day types are resolved when the file leaves it out.
    pub fn named_agents(&self) -> f64 {
        self.named_agents.unwrap_or(0.0)
    }

    pub fn monthly_active_users(&self) -> f64 {
        self.monthly_active_users.unwrap_or(self.named_agents())
    }

    /// Whether some day type still waits to be simulated ([`crate::simulated::resolve`]).
    pub fn has_unsimulated_day_types(&self) -> bool {
        self.day_types.iter().any(|day| day.simulate.is_some())
    }

    /// This usage with every quantity multiplied by `factor` (traffic growth, sensitivity).
    pub fn scaled(&self, factor: f64) -> Usage {
        let mut usage = self.clone();
        usage.named_agents = self.named_agents.map(|n| n * factor);
        usage.monthly_active_users = self.monthly_active_users.map(|m| m * factor);
        for day in &mut usage.day_types {
            day.scale(Quantity::ALL, factor);
        }
        usage
    }
}

/// Families of usage quantities that sensitivity analysis moves together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    Agents,
    VoiceMinutes,
    ChatMessages,
    Emails,
    AutomatedResolutions,
    TrunkLinesAndCalls,
    RecordingGb,
    Contacts,
}

impl Quantity {
    pub const ALL: &'static [Quantity] = &[
        Quantity::Agents,
        Quantity::VoiceMinutes,
        Quantity::ChatMessages,
        Quantity::Emails,
        Quantity::AutomatedResolutions,
        Quantity::TrunkLinesAndCalls,
        Quantity::RecordingGb,
        Quantity::Contacts,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Quantity::Agents => "agents (staffed, concurrent, named)",
            Quantity::VoiceMinutes => "voice minutes",
            Quantity::ChatMessages => "chat messages",
            Quantity::Emails => "emails",
            Quantity::AutomatedResolutions => "automated resolutions",
            Quantity::TrunkLinesAndCalls => "peak trunk lines and concurrent calls",
            Quantity::RecordingGb => "recording GB",
            Quantity::Contacts => "contacts (cost per contact only)",
        }
    }
}

impl Usage {
    /// This usage with one family of quantities multiplied by `factor`.
    pub fn with_quantity_scaled(&self, quantity: Quantity, factor: f64) -> Usage {
        let mut usage = self.clone();
        if quantity == Quantity::Agents {
            usage.named_agents = self.named_agents.map(|n| n * factor);
            usage.monthly_active_users = self.monthly_active_users.map(|m| m * factor);
        }
        for day in &mut usage.day_types {
            day.scale(&[quantity], factor);
        }
        usage
    }
}

fn scale_all(values: &mut [f64], factor: f64) {
    values.iter_mut().for_each(|v| *v *= factor);
}

fn sum(values: &[f64]) -> f64 {
    values.iter().sum()
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

impl DayUsage {
    fn named_arrays(&self) -> Vec<(&'static str, &Vec<f64>)> {
        vec![
            ("peak_concurrent_agents", &self.peak_concurrent_agents),
            ("offered_contacts", &self.offered_contacts),
            ("answered_contacts", &self.answered_contacts),
            ("voice_inbound_minutes", &self.voice_inbound_minutes),
            ("voice_outbound_minutes", &self.voice_outbound_minutes),
            ("chat_messages", &self.chat_messages),
            ("emails", &self.emails),
            ("automated_resolutions", &self.automated_resolutions),
            ("peak_trunk_lines", &self.peak_trunk_lines),
        ]
    }

    fn scale(&mut self, quantities: &[Quantity], factor: f64) {
        for quantity in quantities {
            match quantity {
                Quantity::Agents => {
                    scale_all(&mut self.agents_staffed, factor);
                    scale_all(&mut self.peak_concurrent_agents, factor);
                }
                Quantity::VoiceMinutes => {
                    scale_all(&mut self.voice_inbound_minutes, factor);
                    scale_all(&mut self.voice_outbound_minutes, factor);
                }
                Quantity::ChatMessages => scale_all(&mut self.chat_messages, factor),
                Quantity::Emails => scale_all(&mut self.emails, factor),
                Quantity::AutomatedResolutions => {
                    scale_all(&mut self.automated_resolutions, factor)
                }
                Quantity::TrunkLinesAndCalls => {
                    scale_all(&mut self.peak_trunk_lines, factor);
                    for values in self.peak_concurrent_calls_by_site.values_mut() {
                        scale_all(values, factor);
                    }
                }
                Quantity::RecordingGb => self.recording_gb *= factor,
                Quantity::Contacts => {
                    scale_all(&mut self.offered_contacts, factor);
                    scale_all(&mut self.answered_contacts, factor);
                }
            }
        }
    }

    /// Agent-hours logged in on one such day: the sum of `agents_staffed` × interval length.
    pub fn active_user_hours(&self, interval: DurationMs) -> f64 {
        sum(&self.agents_staffed) * interval.as_ms() as f64 / 3_600_000.0
    }
    pub fn voice_inbound_minutes(&self) -> f64 {
        sum(&self.voice_inbound_minutes)
    }
    pub fn voice_outbound_minutes(&self) -> f64 {
        sum(&self.voice_outbound_minutes)
    }
    pub fn chat_messages(&self) -> f64 {
        sum(&self.chat_messages)
    }
    pub fn emails(&self) -> f64 {
        sum(&self.emails)
    }
    pub fn automated_resolutions(&self) -> f64 {
        sum(&self.automated_resolutions)
    }
    pub fn offered_contacts(&self) -> f64 {
        sum(&self.offered_contacts)
    }
    pub fn answered_contacts(&self) -> f64 {
        sum(&self.answered_contacts)
    }
    pub fn peak_trunk_lines(&self) -> f64 {
        max(&self.peak_trunk_lines)
    }

    /// The most concurrent agents a vendor bills for this day when it ignores peaks shorter
    /// than `minimum_peak_duration`.
    ///
    /// With no minimum, the momentary peak counts (`peak_concurrent_agents`). With a minimum,
    /// only a level held that long counts: the level held throughout an interval is
    /// `agents_staffed`, so the billable peak is the highest level held through every interval
    /// of any run of `ceil(minimum / interval)` consecutive intervals.
    pub fn billable_concurrent_agents(
        &self,
        interval: DurationMs,
        minimum_peak_duration: DurationMs,
    ) -> f64 {
        if minimum_peak_duration.as_ms() == 0 {
            return if self.peak_concurrent_agents.is_empty() {
                max(&self.agents_staffed)
            } else {
                max(&self.peak_concurrent_agents)
            };
        }
        let run = minimum_peak_duration.as_ms().div_ceil(interval.as_ms()) as usize;
        self.agents_staffed
            .windows(run)
            .map(|window| window.iter().copied().fold(f64::INFINITY, f64::min))
            .fold(0.0, f64::max)
    }

    /// Most concurrent calls per site; one site named "main" carrying the trunk-line peak when
    /// the usage has no per-site figures.
    pub fn peak_concurrent_calls_by_site(&self) -> BTreeMap<String, f64> {
        if self.peak_concurrent_calls_by_site.is_empty() {
            return BTreeMap::from([("main".to_string(), self.peak_trunk_lines())]);
        }
        self.peak_concurrent_calls_by_site
            .iter()
            .map(|(site, values)| (site.clone(), max(values)))
            .collect()
    }
}

/// `simulate = { scenario = "…", traffic_scale = 1.2 }` in a usage file's `[[day_type]]`: the
/// day's usage comes from simulating a scenario instead of inline arrays.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimulateDay {
    /// The scenario file, relative to the usage file; or a results folder written by
    /// `switchboard sim --out DIR` (then nothing is simulated).
    pub scenario: PathBuf,
    /// Multiplies every arrival rate of the scenario (1 = as written). Staffing is not scaled.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub traffic_scale: f64,
    /// Replaces the scenario's number of replications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replications: Option<u32>,
    /// Replaces the scenario's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn one() -> f64 {
    1.0
}

fn is_one(value: &f64) -> bool {
    *value == 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(agents_staffed: &[f64], peak: &[f64]) -> DayUsage {
        DayUsage {
            name: "d".into(),
            days_per_year: 1.0,
            agents_staffed: agents_staffed.to_vec(),
            peak_concurrent_agents: peak.to_vec(),
            ..DayUsage::default()
        }
    }

    #[test]
    fn a_short_peak_is_not_billed_under_the_thirty_minute_rule() {
        // 15-minute intervals: 10 agents all day, 40 logged in for one 15-minute interval
        // (a momentary peak of 45 inside it), 20 held for two intervals (30 minutes).
        let d = day(
            &[10.0, 40.0, 10.0, 20.0, 20.0, 10.0],
            &[10.0, 45.0, 10.0, 20.0, 20.0, 10.0],
        );
        let quarter = DurationMs::from_s(900);
        // No rule: the momentary peak, 45.
        assert_eq!(
            d.billable_concurrent_agents(quarter, DurationMs::ZERO),
            45.0
        );
        // 30-minute rule = runs of 2 intervals: min(10,40)=10, min(40,10)=10, min(20,20)=20.
        assert_eq!(
            d.billable_concurrent_agents(quarter, DurationMs::from_s(1_800)),
            20.0
        );
        // 45-minute rule = runs of 3: best is min(10,20,20)=10.
        assert_eq!(
            d.billable_concurrent_agents(quarter, DurationMs::from_s(2_700)),
            10.0
        );
    }

    #[test]
    fn a_usage_file_with_arrays_of_different_lengths_is_refused_by_name() {
        let usage: Usage = toml::from_str(
            r#"
            name = "u"
            named_agents = 1
            [[day_type]]
            name = "weekday"
            days_per_year = 5
            agents_staffed = [1, 2, 3]
            emails = [1, 2]
        "#,
        )
        .unwrap();
        let message = usage.validate().unwrap_err();
        assert_eq!(
            message,
            "day_type \"weekday\": emails has 2 values; expected one per interval like agents_staffed (3)"
        );
    }

    #[test]
    fn an_unknown_usage_key_is_refused_with_its_position() {
        let error = crate::source_error::load_document::<Usage>(
            Path::new("usage.toml"),
            "name = \"u\"\nnamed_agents = 1\nagents = 3\n",
        )
        .unwrap_err();
        assert_eq!((error.line, error.column), (Some(3), Some(1)));
        assert!(error.message.contains("unknown field `agents`"), "{error}");
    }

    #[test]
    fn days_fall_in_their_months_or_spread_evenly() {
        let usage = Usage {
            name: "u".into(),
            interval: thirty_minutes(),
            named_agents: Some(1.0),
            monthly_active_users: None,
            messages_per_chat_minute: None,
            recording_kbit_per_s: None,
            day_types: vec![],
        };
        let mut promotion = day(&[1.0], &[]);
        promotion.days_per_year = 2.0;
        promotion.months = vec![6, 11];
        let by_month = usage.days_by_month(&promotion);
        assert_eq!(by_month[5], 1.0);
        assert_eq!(by_month[10], 1.0);
        assert_eq!(by_month.iter().sum::<f64>(), 2.0);
        let mut normal = day(&[1.0], &[]);
        normal.days_per_year = 240.0;
        assert_eq!(usage.days_by_month(&normal), [20.0; 12]);
    }
}

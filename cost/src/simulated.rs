//! Usage from the simulator: a simulated day (a fresh run of a scenario, or the results folder
//! of a finished `switchboard sim --out DIR`) turned into one [`DayUsage`].
//!
//! This is the one place where the cost crate meets the simulator. Pricing never simulates; this
//! module only runs a scenario when asked to and translates the simulator's per-interval figures
//! into the units price books charge for. `docs/cost.md` ("Usage from the simulator") defines
//! every quantity and the assumptions behind the ones no simulator measures (chat messages,
//! recording size).

use std::collections::BTreeMap;
use std::path::Path;

use switchboard_engine::units::DurationMs;
use switchboard_engine::Channel;
use switchboard_results::{Metric, Scope as ResultScope};
use switchboard_sim::metrics::{Counters, Scope};
use switchboard_sim::model::{Model, Staffing};
use switchboard_sim::run::{prepare, RunOptions, RunResult};
use switchboard_sim::scenario::parse_scenario;

use crate::source_error::SourceError;
use crate::usage::{DayUsage, IntervalUsage, Usage};
// Where a usage file's day type names its scenario; defined with the usage file's format.
pub use crate::usage::SimulateDay;

const DAY_MS: u64 = 86_400_000;
const MS_PER_MINUTE: f64 = 60_000.0;
const BYTES_PER_GB: f64 = 1e9;

/// Chat messages per minute of chat conversation when a usage file does not say.
///
/// ASSUMPTION, not a measurement: one message from each side per minute. No public benchmark
/// of messages per chat was found; per-message price books (Amazon Connect-style, USD 0.010 per
/// message) are sensitive to it, so the tornado moves it with the other chat quantities.
pub const DEFAULT_MESSAGES_PER_CHAT_MINUTE: f64 = 2.0;

/// Bit rate of a call recording when a usage file does not say: 64 kbit/s, one channel of
/// G.711 (ITU-T G.711: 8,000 samples per second of 8 bits), stored as plain PCM/WAV.
pub const DEFAULT_RECORDING_KBIT_PER_S: f64 = 64.0;

/// What turns simulated contacts into billable units that no simulator measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Derivation {
    /// Chat messages per minute of chat conversation (both sides together).
    pub messages_per_chat_minute: f64,
    /// Bit rate of call recordings (kbit/s); recordings cover the conversation.
    pub recording_kbit_per_s: f64,
}

impl Default for Derivation {
    fn default() -> Self {
        Derivation {
            messages_per_chat_minute: DEFAULT_MESSAGES_PER_CHAT_MINUTE,
            recording_kbit_per_s: DEFAULT_RECORDING_KBIT_PER_S,
        }
    }
}

impl Derivation {
    fn recording_gb_per_minute(&self) -> f64 {
        self.recording_kbit_per_s * 1_000.0 / 8.0 * 60.0 / BYTES_PER_GB
    }
}

/// One simulated day, ready to be a day type of a [`crate::Usage`].
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedDay {
    /// The scenario's name.
    pub scenario_name: String,
    /// The simulator's reporting interval; `day.*` arrays use it.
    pub interval: DurationMs,
    /// The roster: every agent of the scenario's groups.
    pub named_agents: f64,
    /// Usage per interval from 00:00 local time (the clock time of `[center] start`).
    pub day: DayUsage,
}

impl SimulatedDay {
    /// A year of one day type, this day, named `name` (the day's `days_per_year` times).
    pub fn into_usage(self, name: String) -> Result<Usage, String> {
        let usage = Usage {
            name,
            interval: self.interval,
            named_agents: Some(self.named_agents),
            monthly_active_users: None,
            messages_per_chat_minute: None,
            recording_kbit_per_s: None,
            day_types: vec![self.day],
        };
        usage.validate()?;
        Ok(usage)
    }
}

/// How to run a scenario for its usage.
#[derive(Clone, Debug)]
pub struct SimulationRequest {
    pub traffic_scale: f64,
    pub replications: Option<u32>,
    pub seed: Option<u64>,
    /// Threads for replications; results do not depend on it.
    pub threads: usize,
}

impl Default for SimulationRequest {
    fn default() -> Self {
        SimulationRequest {
            traffic_scale: 1.0,
            replications: None,
            seed: None,
            threads: 1,
        }
    }
}

/// A scenario loaded, checked and run, with its model (the traffic already scaled).
pub struct SimulationRun {
    pub model: Model,
    pub result: RunResult,
    /// The scenario file's text, for the copy a results folder keeps.
    pub scenario_text: String,
}

/// Loads, checks and runs a scenario. Errors name the scenario file, line and column.
pub fn simulate_scenario(
    scenario: &Path,
    request: &SimulationRequest,
) -> Result<SimulationRun, String> {
    simulate_scenario_with_progress(scenario, request, &|_| {})
}

/// [`simulate_scenario`], calling `progress` with the number of finished replications.
pub fn simulate_scenario_with_progress(
    scenario: &Path,
    request: &SimulationRequest,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<SimulationRun, String> {
    let loaded = switchboard_sim::load_scenario(scenario).map_err(|error| error.to_string())?;
    let mut model = prepare(&loaded).map_err(|error| error.to_string())?;
    if !(request.traffic_scale >= 0.0 && request.traffic_scale.is_finite()) {
        return Err(format!(
            "traffic_scale: expected a number of zero or more, found {}",
            request.traffic_scale
        ));
    }
    // Refuse a run that cannot be one day type before spending time on it.
    first_slot_of_day(&model)?;
    scale_traffic(&mut model, request.traffic_scale);
    if request.replications == Some(0) {
        return Err("replications: expected at least 1".into());
    }
    let options = RunOptions {
        seed: request.seed,
        replications: request.replications,
        threads: request.threads.max(1),
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, progress)
        .map_err(|error| format!("{}: the simulation stopped: {error}", scenario.display()))?;
    Ok(SimulationRun {
        model,
        result,
        scenario_text: loaded.text,
    })
}

/// Multiplies every arrival rate; bursts are relative to the rate, so they scale with it.
fn scale_traffic(model: &mut Model, factor: f64) {
    for traffic in &mut model.traffic {
        for piece in &mut traffic.arrivals.pieces {
            piece.rate_per_ms *= factor;
        }
    }
}

/// A day type from a finished run: means over its replications.
pub fn day_from_run(
    run: &SimulationRun,
    name: &str,
    days_per_year: f64,
    months: Vec<u8>,
    derivation: &Derivation,
) -> Result<SimulatedDay, String> {
    let model = &run.model;
    let figures = &run.result.figures;
    assert!(!figures.is_empty(), "a run has at least one replication");
    let interval_count = model.interval_count();
    let scope_index = |wanted: &Scope| run.result.scopes.iter().position(|s| s == wanted);
    let total = scope_index(&Scope::Total);
    assert!(
        total.is_some(),
        "the simulator always measures the whole center"
    );
    let voice = scope_index(&Scope::Channel(Channel::Voice));
    let callback = scope_index(&Scope::Channel(Channel::Callback));
    let chat = scope_index(&Scope::Channel(Channel::Chat));
    let email = scope_index(&Scope::Channel(Channel::Email));
    // Sites that own queues, with their scope; the others must carry every call when their
    // peer fails, so they are sized for the center's voice peak.
    let sites: Vec<(String, Option<usize>)> = model
        .site_names
        .iter()
        .enumerate()
        .map(|(site, name)| {
            let scope = scope_index(&Scope::Site(site)).filter(|_| model.site_owns_queues(site));
            (name.clone(), scope)
        })
        .collect();
    let logins = peak_logins_per_interval(model);
    let replications = figures.len() as f64;
    let mut records = Vec::with_capacity(interval_count);
    let mut talk_minutes_voice = 0.0;
    for (interval, &peak_logins) in logins.iter().enumerate() {
        // The mean over replications of one figure of one scope in this interval.
        let mean = |scope: Option<usize>, figure: fn(&Counters) -> f64| -> f64 {
            scope.map_or(0.0, |scope| {
                figures
                    .iter()
                    .map(|f| figure(&f.intervals[scope * interval_count + interval]))
                    .sum::<f64>()
                    / replications
            })
        };
        let voice_talk = mean(voice, |c| c.talk_ms as f64 / MS_PER_MINUTE);
        talk_minutes_voice += voice_talk + mean(callback, |c| c.talk_ms as f64 / MS_PER_MINUTE);
        let center_peak =
            mean(voice, |c| c.max_concurrent as f64) + mean(callback, |c| c.max_concurrent as f64);
        records.push(IntervalUsage {
            agents_staffed: mean(total, |c| (c.ready_ms + c.busy_ms + c.aux_ms) as f64)
                / model.interval_ms as f64,
            peak_concurrent_agents: peak_logins,
            offered_contacts: mean(total, |c| c.offered as f64),
            answered_contacts: mean(total, |c| c.answered as f64),
            // The caller holds a line from the queue to the hang-up: wait and talk.
            voice_inbound_minutes: voice_talk
                + mean(voice, |c| c.total_wait_ms as f64 / MS_PER_MINUTE),
            // A callback is a call the center places: its conversation is outbound.
            voice_outbound_minutes: mean(callback, |c| c.talk_ms as f64 / MS_PER_MINUTE),
            chat_messages: mean(chat, |c| c.talk_ms as f64 / MS_PER_MINUTE)
                * derivation.messages_per_chat_minute,
            emails: mean(email, |c| c.arrived as f64),
            automated_resolutions: mean(total, |c| c.self_served as f64),
            peak_trunk_lines: center_peak,
            peak_concurrent_calls_by_site: sites
                .iter()
                .map(|(site, scope)| {
                    let peak = match scope {
                        Some(index) => mean(Some(*index), |c| c.max_concurrent as f64),
                        None => center_peak,
                    };
                    (site.clone(), peak)
                })
                .collect(),
        });
    }
    let recording_gb = talk_minutes_voice * derivation.recording_gb_per_minute();
    into_day(model, name, days_per_year, months, records, recording_gb)
}

/// A day type from a results folder written by `switchboard sim --out DIR`: `intervals.csv`
/// (means over replications), and the scenario copy kept beside it for the roster, the staffing
/// plan and the clock. `intervals.csv` carries fewer figures than a fresh run; `docs/cost.md`
/// lists what each quantity is derived from in both cases.
pub fn day_from_results_folder(
    folder: &Path,
    name: &str,
    days_per_year: f64,
    months: Vec<u8>,
    derivation: &Derivation,
) -> Result<SimulatedDay, String> {
    for required in ["summary.json", "intervals.csv", "scenario.toml"] {
        if !folder.join(required).is_file() {
            return Err(format!(
                "{}: not a results folder of `switchboard sim --out DIR`: {required} is missing",
                folder.display()
            ));
        }
    }
    let results = switchboard_results::read_folder(folder).map_err(|error| error.to_string())?;
    let scenario_path = folder.join(switchboard_results::SCENARIO_COPY);
    let scenario = parse_scenario(
        &scenario_path.display().to_string(),
        results.scenario_copy.as_deref().unwrap_or_default(),
        folder,
    )
    .map_err(|error| error.to_string())?;
    let model = prepare(&scenario).map_err(|error| error.to_string())?;
    let intervals = &results.intervals;
    let interval_count = model.interval_count();
    let starts = intervals.interval_starts_ms();
    if starts.len() != interval_count {
        return Err(format!(
            "{}: {} intervals, but its scenario copy makes {interval_count}: the folder mixes two runs",
            folder.join("intervals.csv").display(),
            starts.len()
        ));
    }
    let logins = peak_logins_per_interval(&model);
    let mut records = Vec::with_capacity(interval_count);
    let mut talk_minutes_voice = 0.0;
    for (interval, &peak_logins) in logins.iter().enumerate() {
        let start_ms = interval as u64 * model.interval_ms;
        // intervals.csv divides agent time by the measured part of the interval.
        let span_ms = model
            .duration_ms
            .min(start_ms + model.interval_ms)
            .saturating_sub(start_ms.max(model.warmup_ms));
        // An empty cell (a figure no replication defined, such as the handle time of an
        // interval without answers) counts as 0.
        let value = |scope: &ResultScope, metric: Metric| {
            intervals
                .value(starts[interval], scope, metric)
                .filter(|value| value.is_finite())
                .unwrap_or(0.0)
        };
        // intervals.csv has handle time (talk and wrap-up); wrap-up is a fixed time per queue,
        // so the answers of each queue of a channel tell how much of it was wrap-up.
        let talk_minutes = |channel: Channel| {
            let scope = ResultScope::Channel(channel);
            let handle = value(&scope, Metric::Answered) * value(&scope, Metric::AverageHandleTime);
            let wrap_up: f64 = model
                .center
                .queues
                .iter()
                .filter(|queue| queue.channel == channel)
                .map(|queue| {
                    value(&ResultScope::Queue(queue.name.clone()), Metric::Answered)
                        * queue.wrap_up.as_s_f64()
                })
                .sum();
            (handle - wrap_up).max(0.0) / 60.0
        };
        let voice_talk = talk_minutes(Channel::Voice);
        let callback_talk = talk_minutes(Channel::Callback);
        talk_minutes_voice += voice_talk + callback_talk;
        let voice = ResultScope::Channel(Channel::Voice);
        let center_peak = value(&voice, Metric::MaxConcurrent)
            + value(
                &ResultScope::Channel(Channel::Callback),
                Metric::MaxConcurrent,
            );
        let mut sites = BTreeMap::new();
        for (index, site) in model.site_names.iter().enumerate() {
            let peak = if model.site_owns_queues(index) {
                value(&ResultScope::Site(site.clone()), Metric::MaxConcurrent)
            } else {
                center_peak
            };
            sites.insert(site.clone(), peak);
        }
        records.push(IntervalUsage {
            agents_staffed: value(&ResultScope::Total, Metric::StaffedAgents) * span_ms as f64
                / model.interval_ms as f64,
            peak_concurrent_agents: peak_logins,
            offered_contacts: value(&ResultScope::Total, Metric::Offered),
            answered_contacts: value(&ResultScope::Total, Metric::Answered),
            voice_inbound_minutes: voice_talk
                + value(&voice, Metric::Answered) * value(&voice, Metric::AverageSpeedOfAnswer)
                    / 60.0,
            voice_outbound_minutes: callback_talk,
            chat_messages: talk_minutes(Channel::Chat) * derivation.messages_per_chat_minute,
            emails: value(&ResultScope::Channel(Channel::Email), Metric::Arrived),
            automated_resolutions: (value(&ResultScope::Total, Metric::Arrived)
                - value(&ResultScope::Total, Metric::Offered))
            .max(0.0),
            peak_trunk_lines: center_peak,
            peak_concurrent_calls_by_site: sites,
        });
    }
    let recording_gb = talk_minutes_voice * derivation.recording_gb_per_minute();
    into_day(&model, name, days_per_year, months, records, recording_gb)
}

/// Reads a usage file and simulates its simulated day types (`threads` for replications;
/// results do not depend on it).
pub fn load_and_simulate(path: &Path, threads: usize) -> Result<Usage, SourceError> {
    let usage = Usage::load(path)?;
    if !usage.has_unsimulated_day_types() {
        return Ok(usage);
    }
    let base = path.parent().unwrap_or(Path::new(""));
    resolve(usage, base, threads).map_err(|message| SourceError::whole_file(path, message))
}

/// Replaces every simulated day type of `usage` by the usage of its simulated day. Paths are
/// relative to `base` (the usage file's folder). When the file leaves `named_agents` out, the
/// roster is the largest of the simulated scenarios' rosters.
pub fn resolve(usage: Usage, base: &Path, threads: usize) -> Result<Usage, String> {
    resolve_with_progress(usage, base, threads, &|_, _| {})
}

/// [`resolve`], calling `progress(done, total)` with the day types simulated so far.
pub fn resolve_with_progress(
    mut usage: Usage,
    base: &Path,
    threads: usize,
    progress: &dyn Fn(usize, usize),
) -> Result<Usage, String> {
    let to_simulate = usage
        .day_types
        .iter()
        .filter(|day| day.simulate.is_some())
        .count();
    let mut simulated_so_far = 0;
    let derivation = Derivation {
        messages_per_chat_minute: usage
            .messages_per_chat_minute
            .unwrap_or(DEFAULT_MESSAGES_PER_CHAT_MINUTE),
        recording_kbit_per_s: usage
            .recording_kbit_per_s
            .unwrap_or(DEFAULT_RECORDING_KBIT_PER_S),
    };
    let mut largest_roster: Option<f64> = None;
    for day in &mut usage.day_types {
        let Some(simulate) = day.simulate.clone() else {
            continue;
        };
        let context = format!("day_type \"{}\": simulate.scenario", day.name);
        let path = base.join(&simulate.scenario);
        let months = day.months.clone();
        let simulated = if path.is_dir() {
            if simulate.traffic_scale != 1.0
                || simulate.replications.is_some()
                || simulate.seed.is_some()
            {
                return Err(format!(
                    "{context}: {} is a results folder: traffic_scale, replications and seed apply only to a scenario file",
                    path.display()
                ));
            }
            day_from_results_folder(&path, &day.name, day.days_per_year, months, &derivation)
        } else {
            let request = SimulationRequest {
                traffic_scale: simulate.traffic_scale,
                replications: simulate.replications,
                seed: simulate.seed,
                threads,
            };
            simulate_scenario(&path, &request).and_then(|run| {
                day_from_run(&run, &day.name, day.days_per_year, months, &derivation)
            })
        }
        .map_err(|message| format!("{context}: {message}"))?;
        let simulated_ms = simulated.interval.as_ms();
        let wanted_ms = usage.interval.as_ms();
        if wanted_ms % simulated_ms != 0 {
            return Err(format!(
                "{context}: the scenario reports every {} and the usage file's interval {} is not a whole number of them; set interval = \"{}\" in the usage file",
                simulated.interval, usage.interval, simulated.interval
            ));
        }
        *day = coarsen(&simulated.day, (wanted_ms / simulated_ms) as usize);
        largest_roster = Some(largest_roster.map_or(simulated.named_agents, |r: f64| {
            r.max(simulated.named_agents)
        }));
        simulated_so_far += 1;
        progress(simulated_so_far, to_simulate);
    }
    if usage.named_agents.is_none() {
        usage.named_agents = largest_roster;
    }
    usage.validate()?;
    Ok(usage)
}

/// The most agents the scenario's people plan logs in at any moment of each interval: every
/// agent for groups without a plan, the largest step of a plan in effect, the most overlapping
/// shifts. (A logout asked for while an agent holds a contact waits for the contact to end;
/// that tail is not counted.)
pub fn peak_logins_per_interval(model: &Model) -> Vec<f64> {
    let interval_count = model.interval_count();
    let interval_ms = model.interval_ms;
    let mut peaks = vec![0.0; interval_count];
    for group in &model.groups {
        // (time, logged in from then on) for this group, in time order.
        let mut steps: Vec<(u64, u32)> = match &group.staffing {
            Staffing::AllFromStart => vec![(0, group.agent_count)],
            Staffing::Plan(steps) => steps
                .iter()
                .map(|&(start_ms, agents)| (start_ms, agents.min(group.agent_count)))
                .collect(),
            Staffing::Shifts(shifts) => {
                let mut changes: BTreeMap<u64, i64> = BTreeMap::new();
                for shift in shifts {
                    *changes.entry(shift.start_ms).or_default() += 1;
                    *changes.entry(shift.end_ms).or_default() -= 1;
                }
                let mut logged_in = 0i64;
                changes
                    .into_iter()
                    .map(|(time_ms, change)| {
                        logged_in += change;
                        (time_ms, logged_in.max(0) as u32)
                    })
                    .collect()
            }
        };
        steps.sort_by_key(|&(time_ms, _)| time_ms);
        let mut group_peaks = vec![0u32; interval_count];
        for (index, &(start_ms, agents)) in steps.iter().enumerate() {
            let end_ms = steps
                .get(index + 1)
                .map_or(model.duration_ms, |&(next_ms, _)| next_ms)
                .min(model.duration_ms);
            if end_ms <= start_ms {
                continue;
            }
            let first = (start_ms / interval_ms) as usize;
            let last = (end_ms.saturating_sub(1).max(start_ms) / interval_ms) as usize;
            for peak in group_peaks
                .iter_mut()
                .take(last.min(interval_count - 1) + 1)
                .skip(first)
            {
                *peak = (*peak).max(agents);
            }
        }
        for (peak, group_peak) in peaks.iter_mut().zip(group_peaks) {
            *peak += f64::from(group_peak);
        }
    }
    peaks
}

/// Places a run's intervals on the clock (interval 0 at the time of day of `[center] start`)
/// and builds the day type.
fn into_day(
    model: &Model,
    name: &str,
    days_per_year: f64,
    months: Vec<u8>,
    records: Vec<IntervalUsage>,
    recording_gb: f64,
) -> Result<SimulatedDay, String> {
    let first_slot = first_slot_of_day(model)?;
    let slots = (DAY_MS / model.interval_ms) as usize;
    let mut placed = vec![IntervalUsage::default(); slots];
    let mut used = 0;
    for (index, record) in records.into_iter().enumerate() {
        // A run that crosses midnight folds its morning into the start of the same day type.
        let slot = (first_slot + index) % slots;
        used = used.max(slot + 1);
        placed[slot] = record;
    }
    placed.truncate(used);
    Ok(SimulatedDay {
        scenario_name: model.name.clone(),
        interval: DurationMs(model.interval_ms),
        named_agents: f64::from(model.agent_count()),
        day: DayUsage::from_intervals(name, days_per_year, months, &placed, recording_gb),
    })
}

/// The interval of the day (from 00:00) that the run's interval 0 falls in, or why the run
/// cannot be one day type: an interval that does not divide a day, a run longer than a day, a
/// start between interval boundaries.
fn first_slot_of_day(model: &Model) -> Result<usize, String> {
    let interval_ms = model.interval_ms;
    if DAY_MS % interval_ms != 0 {
        return Err(format!(
            "the scenario's interval {} does not divide a day; use 15m, 30m or 1h to price it",
            DurationMs(interval_ms)
        ));
    }
    let slots = (DAY_MS / interval_ms) as usize;
    if model.interval_count() > slots {
        return Err(format!(
            "the scenario runs {} but a day type is one day: simulate one day per day type",
            DurationMs(model.duration_ms)
        ));
    }
    let offset_ms = time_of_day_ms(&model.center.center.start)?;
    if offset_ms % interval_ms != 0 {
        return Err(format!(
            "[center] start {:?} is not on an interval boundary of {}: its usage cannot be placed in a day",
            model.center.center.start,
            DurationMs(interval_ms)
        ));
    }
    Ok((offset_ms / interval_ms) as usize)
}

/// The clock time of an RFC 3339 instant in its own offset (`2026-11-10T20:00:00+08:00` →
/// 20:00), in ms after midnight; 0 when the scenario sets no start.
fn time_of_day_ms(start: &str) -> Result<u64, String> {
    if start.is_empty() {
        return Ok(0);
    }
    let expected = || {
        format!("[center] start {start:?}: expected an RFC 3339 instant such as \"2026-11-11T00:00:00+08:00\"")
    };
    let time = start.get(11..19).ok_or_else(expected)?;
    let parts: Vec<&str> = time.split(':').collect();
    let [hours, minutes, seconds] = parts[..] else {
        return Err(expected());
    };
    let number = |text: &str, limit: u64| -> Result<u64, String> {
        text.parse::<u64>()
            .ok()
            .filter(|value| *value < limit)
            .ok_or_else(expected)
    };
    Ok(((number(hours, 24)? * 60 + number(minutes, 60)?) * 60 + number(seconds, 61)?) * 1_000)
}

/// Makes `day` coarser: `factor` intervals of the simulator become one of the usage file.
/// Levels held (`agents_staffed`) are averaged, peaks take the highest, counts add up.
pub fn coarsen(day: &DayUsage, factor: usize) -> DayUsage {
    assert!(factor >= 1, "a factor of at least 1");
    if factor == 1 {
        return day.clone();
    }
    let mean = |values: &[f64]| -> Vec<f64> {
        values
            .chunks(factor)
            .map(|chunk| chunk.iter().sum::<f64>() / factor as f64)
            .collect()
    };
    let total = |values: &[f64]| -> Vec<f64> {
        values
            .chunks(factor)
            .map(|chunk| chunk.iter().sum())
            .collect()
    };
    let peak = |values: &[f64]| -> Vec<f64> {
        values
            .chunks(factor)
            .map(|chunk| chunk.iter().copied().fold(0.0, f64::max))
            .collect()
    };
    DayUsage {
        name: day.name.clone(),
        days_per_year: day.days_per_year,
        months: day.months.clone(),
        simulate: day.simulate.clone(),
        agents_staffed: mean(&day.agents_staffed),
        peak_concurrent_agents: peak(&day.peak_concurrent_agents),
        offered_contacts: total(&day.offered_contacts),
        answered_contacts: total(&day.answered_contacts),
        voice_inbound_minutes: total(&day.voice_inbound_minutes),
        voice_outbound_minutes: total(&day.voice_outbound_minutes),
        chat_messages: total(&day.chat_messages),
        emails: total(&day.emails),
        automated_resolutions: total(&day.automated_resolutions),
        peak_trunk_lines: peak(&day.peak_trunk_lines),
        peak_concurrent_calls_by_site: day
            .peak_concurrent_calls_by_site
            .iter()
            .map(|(site, values)| (site.clone(), peak(values)))
            .collect(),
        recording_gb: day.recording_gb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_time_of_the_start_places_interval_zero() {
        assert_eq!(time_of_day_ms("").unwrap(), 0);
        assert_eq!(
            time_of_day_ms("2026-11-10T20:00:00+08:00").unwrap(),
            20 * 3_600_000
        );
        assert_eq!(time_of_day_ms("2026-06-18T00:30:00Z").unwrap(), 30 * 60_000);
        assert!(time_of_day_ms("tomorrow").unwrap_err().contains("RFC 3339"));
    }

    fn model(start: &str, duration: &str, people: &str) -> Model {
        switchboard_sim::run::model_from_text(&format!(
            r#"
            [scenario]
            duration = "{duration}"
            interval = "1h"
            [center]
            start = "{start}"
            [[queue]]
            name = "q"
            channel = "voice"
            skills = ["s"]
            [[agents]]
            name = "team"
            count = 6
            skills = ["s"]
            {people}
            [[traffic]]
            queue = "q"
            rate = "10/h"
            handle_time = {{ dist = "exponential", mean = "4m" }}
        "#
        ))
        .unwrap()
    }

    #[test]
    fn a_run_across_midnight_folds_its_morning_into_the_same_day() {
        let evening = model("2026-11-10T22:00:00+08:00", "4h", "");
        let records: Vec<IntervalUsage> = (1..=4)
            .map(|agents| IntervalUsage {
                agents_staffed: f64::from(agents),
                ..IntervalUsage::default()
            })
            .collect();
        let day = into_day(&evening, "d", 1.0, vec![], records, 0.0)
            .unwrap()
            .day;
        let mut expected = vec![0.0; 24];
        expected[22] = 1.0;
        expected[23] = 2.0;
        expected[0] = 3.0;
        expected[1] = 4.0;
        assert_eq!(day.agents_staffed, expected);
        let late = model("2026-11-10T22:30:00+08:00", "4h", "");
        assert!(first_slot_of_day(&late)
            .unwrap_err()
            .contains("not on an interval boundary of 1h"));
        let long = model("2026-11-10T00:00:00+08:00", "25h", "");
        assert!(first_slot_of_day(&long)
            .unwrap_err()
            .contains("simulate one day per day type"));
    }

    #[test]
    fn peak_logins_follow_plans_and_overlapping_shifts() {
        let planned = model(
            "2026-11-10T00:00:00+08:00",
            "3h",
            r#"[[people]]
            agents = "team"
            plan = [{ start = "0m", agents = 2 }, { start = "1h30m", agents = 9 }, { start = "2h", agents = 1 }]"#,
        );
        // The plan asks for 9 but the group has 6; 6 are logged in during 01:30–02:00.
        assert_eq!(peak_logins_per_interval(&planned), vec![2.0, 6.0, 1.0]);
        let shifts = model(
            "2026-11-10T00:00:00+08:00",
            "3h",
            r#"[[people]]
            agents = "team"
            shifts = [{ starts = ["0m"], length = "2h", agents = 3 }, { starts = ["1h"], length = "2h", agents = 2 }]"#,
        );
        assert_eq!(peak_logins_per_interval(&shifts), vec![3.0, 5.0, 2.0]);
    }

    #[test]
    fn coarser_intervals_average_levels_keep_peaks_and_add_counts() {
        let day = DayUsage {
            name: "d".into(),
            days_per_year: 1.0,
            agents_staffed: vec![10.0, 20.0, 4.0, 4.0],
            peak_concurrent_agents: vec![12.0, 25.0, 4.0, 5.0],
            emails: vec![1.0, 2.0, 3.0, 4.0],
            peak_trunk_lines: vec![3.0, 9.0, 1.0, 0.0],
            ..DayUsage::default()
        };
        let hourly = coarsen(&day, 2);
        assert_eq!(hourly.agents_staffed, vec![15.0, 4.0]);
        assert_eq!(hourly.peak_concurrent_agents, vec![25.0, 5.0]);
        assert_eq!(hourly.emails, vec![3.0, 7.0]);
        assert_eq!(hourly.peak_trunk_lines, vec![9.0, 1.0]);
        // Agent-hours are kept: (10 + 20 + 4 + 4) × 0.5 h = (15 + 4) × 1 h.
        assert_eq!(
            day.active_user_hours(DurationMs::from_s(1_800)),
            hourly.active_user_hours(DurationMs::from_s(3_600))
        );
    }

    #[test]
    fn a_recording_minute_of_g711_is_480_kilobytes() {
        let gb = Derivation::default().recording_gb_per_minute();
        assert!((gb - 0.00048).abs() < 1e-15, "{gb}");
    }
}

//! # switchboard-calibrate
//!
//! Turns what a contact center recorded into the scenario that simulates it: the CDR database
//! `switchboard serve` writes, a workforce-management interval export, or Asterisk's
//! `queue_log` go in; a scenario file (arrivals per interval forecast for the next days,
//! handle times, patience, retrials, IVR choices), the forecast CSV `switchboard plan staff`
//! reads, and a JSON report of every fitted figure with its 95 % interval come out.
//!
//! The models: arrivals are counted per local interval and weekday (rates with exact Poisson
//! intervals, the intraday shape, special days found or declared, day-level overdispersion),
//! and forecast with `augurs`' MSTL and AutoETS, its error measured on a held-out week; handle
//! times are fitted by maximum likelihood (lognormal, gamma, Weibull; AIC chooses); patience
//! treats every answered wait as a censored observation (Kaplan–Meier, and censored maximum
//! likelihood for the exponential and Weibull). `docs/calibration.md` describes each.
//!
//! What it never does: change its input (the database is opened read-only), draw a random
//! number, or read the clock: the same files give the same scenario byte for byte.

pub mod arrivals;
pub mod cdr_file;
pub mod forecast;
pub mod handle_time;
pub mod interval_csv;
pub mod ivr_choices;
pub mod local_time;
pub mod patience;
pub mod queue_log;
pub mod records;
pub mod retrial;
pub mod scenario_file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::arrivals::{fit_arrivals, special_days, ArrivalFit, DailyCounts};
use crate::forecast::ForecastFit;
use crate::handle_time::{fit_handle_times, Family, HandleTimeFit};
use crate::ivr_choices::{fit_ivr_choices, NodeChoices};
use crate::local_time::LocalClock;
use crate::patience::{exponential_from_totals, fit_patience, PatienceFit};
use crate::records::{ContactRecord, IntervalRow, Observations};
use crate::retrial::{fit_retrials, retrial_marks, RetrialFit};

/// Why a calibration could not be made; the message names the file and place when there is
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalibrationError(pub String);

impl CalibrationError {
    pub fn new(message: impl Into<String>) -> Self {
        CalibrationError(message.into())
    }
}

impl std::fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CalibrationError {}

/// Reads an input file, telling the three formats apart by content: an SQLite database is a
/// CDR store, a first line with `|` separators is a `queue_log`, anything else an interval CSV.
pub fn read_observations(
    path: &Path,
    clock: &LocalClock,
) -> Result<Observations, CalibrationError> {
    let bytes = std::fs::read(path).map_err(|error| {
        CalibrationError::new(format!("cannot read {}: {error}", path.display()))
    })?;
    if bytes.starts_with(b"SQLite format 3\0") {
        return cdr_file::read_cdr_database(path).map(Observations::Contacts);
    }
    let file = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| {
        CalibrationError::new(format!("{file}: not UTF-8 text, nor an SQLite database"))
    })?;
    let first_line = text
        .lines()
        .find(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .unwrap_or("");
    if first_line.split('|').count() >= 5 {
        return queue_log::read_queue_log(&text, &file).map(Observations::Contacts);
    }
    let (interval_ms, rows) = interval_csv::read_interval_csv(&text, &file, clock)?;
    Ok(Observations::Intervals { interval_ms, rows })
}

/// How to calibrate.
#[derive(Clone, Debug)]
pub struct CalibrationOptions {
    pub clock: LocalClock,
    /// Interval of the arrival counts and of the forecast (contacts only; an interval export
    /// keeps its own).
    pub interval_ms: i64,
    /// Days to forecast after the last observed day.
    pub horizon_days: usize,
    /// Days known to be unusual (promotions, holidays), left out of the ordinary figures.
    pub special_days: Vec<jiff::civil::Date>,
    /// How late a caller's next attempt still counts as a retrial.
    pub retrial_window_ms: i64,
    /// Queue and flow names of the center the data came from, so that contacts are grouped
    /// by where they entered (see [`scenario_file::CenterNames`]).
    pub center: Option<scenario_file::CenterNames>,
}

/// Where a stream of contacts enters the center.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum StreamEntry {
    Queue(String),
    Flow(String),
}

impl StreamEntry {
    pub fn name(&self) -> &str {
        match self {
            StreamEntry::Queue(name) | StreamEntry::Flow(name) => name,
        }
    }
}

/// Handle times: fitted per contact, or only a mean from an interval export.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum HandleTime {
    Contacts(HandleTimeFit),
    /// An interval export's answered-weighted mean handle time: the family cannot be seen,
    /// so the scenario gets an exponential with this mean.
    IntervalMeans {
        answered: f64,
        mean_s: f64,
    },
}

impl HandleTime {
    pub fn distribution(&self) -> Family {
        match self {
            HandleTime::Contacts(fit) => fit.chosen,
            HandleTime::IntervalMeans { mean_s, .. } => Family::Exponential { mean_s: *mean_s },
        }
    }
}

/// Patience: censored fits per contact, or the exponential from an export's totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum Patience {
    Contacts(PatienceFit),
    IntervalTotals {
        abandoned: f64,
        mean_s: f64,
        mean_ci95_s: [f64; 2],
    },
}

impl Patience {
    pub fn distribution(&self) -> Family {
        match self {
            Patience::Contacts(fit) => fit.chosen,
            Patience::IntervalTotals { mean_s, .. } => Family::Exponential { mean_s: *mean_s },
        }
    }
}

/// Everything fitted for one stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamCalibration {
    pub entry: StreamEntry,
    pub contacts: f64,
    pub arrivals: ArrivalFit,
    pub handle_time: Option<HandleTime>,
    /// None when nobody abandoned: patience is left infinite.
    pub patience: Option<Patience>,
    /// None when the source does not record callers, or nobody failed.
    pub retrial: Option<RetrialFit>,
    /// Per menu or callback offer node the stream's callers met, the share of each key;
    /// empty when they met none or the source does not record choices.
    pub ivr_choices: Vec<NodeChoices>,
    pub forecast: ForecastFit,
}

/// The whole calibration, as the JSON report holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    pub timezone: String,
    pub interval_s: f64,
    /// Contacts (or interval rows) read, and those no stream could take.
    pub records_read: usize,
    pub records_skipped: usize,
    pub streams: Vec<StreamCalibration>,
    /// Per queue, the distinct agents who answered it (contacts only).
    pub agents_seen: BTreeMap<String, usize>,
    /// The instant the forecast (and the calibrated scenario) starts: local midnight after the
    /// last observed day.
    pub forecast_start_unix_ms: i64,
    pub notes: Vec<String>,
}

/// Fits everything the observations allow.
pub fn calibrate(
    observations: &Observations,
    options: &CalibrationOptions,
) -> Result<Calibration, CalibrationError> {
    match observations {
        Observations::Contacts(contacts) => calibrate_contacts(contacts, options),
        Observations::Intervals { interval_ms, rows } => {
            calibrate_intervals(*interval_ms, rows, options)
        }
    }
}

fn check_interval(interval_ms: i64) -> Result<(), CalibrationError> {
    if interval_ms <= 0 || 86_400_000 % interval_ms != 0 {
        return Err(CalibrationError::new(format!(
            "the interval ({} s) must divide a day evenly (15m, 30m, 1h ...)",
            interval_ms / 1000
        )));
    }
    Ok(())
}

fn empty_counts(first_date: jiff::civil::Date, interval_ms: i64) -> DailyCounts {
    DailyCounts {
        first_date,
        interval_ms,
        days: Vec::new(),
    }
}

/// The stream a contact belongs to: where it entered, when the center is known and names the
/// entry point; otherwise the queue it reached.
fn stream_of(contact: &ContactRecord, options: &CalibrationOptions) -> Option<StreamEntry> {
    if let Some(center) = &options.center {
        if center.flows.contains(&contact.entry_point) {
            return Some(StreamEntry::Flow(contact.entry_point.clone()));
        }
        if center.queues.contains(&contact.entry_point) {
            return Some(StreamEntry::Queue(contact.entry_point.clone()));
        }
    }
    contact.queue.clone().map(StreamEntry::Queue)
}

fn calibrate_contacts(
    contacts: &[ContactRecord],
    options: &CalibrationOptions,
) -> Result<Calibration, CalibrationError> {
    check_interval(options.interval_ms)?;
    let clock = &options.clock;
    let Some(first) = contacts.iter().map(|c| c.arrived_unix_ms).min() else {
        return Err(CalibrationError::new("no contacts to calibrate from"));
    };
    let last = contacts
        .iter()
        .map(|c| c.arrived_unix_ms)
        .max()
        .unwrap_or(first);
    let first_date = clock.local(first).date;
    let last_date = clock.local(last).date;
    let mut streams: BTreeMap<StreamEntry, Vec<&ContactRecord>> = BTreeMap::new();
    let mut skipped = 0;
    for contact in contacts {
        match stream_of(contact, options) {
            Some(entry) => streams.entry(entry).or_default().push(contact),
            None => skipped += 1,
        }
    }
    let mut notes = Vec::new();
    if skipped > 0 {
        notes.push(format!(
            "{skipped} contacts reached no queue and entered no known flow; give --center to \
             count IVR-only contacts under their flow"
        ));
    }
    if !contacts.iter().any(|c| c.caller.is_some()) {
        notes.push(
            "the source records no caller numbers, so retrials cannot be told from first \
             attempts; the scenario has no retrial table"
                .into(),
        );
    }
    let mut agents: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for contact in contacts {
        if let (Some(queue), Some(agent)) = (&contact.queue, &contact.agent) {
            if contact.answered_unix_ms.is_some() {
                agents.entry(queue.clone()).or_default().insert(agent);
            }
        }
    }
    let days_total = first_date
        .until(last_date)
        .map(|span| span.get_days() as usize + 1)
        .unwrap_or(1);
    let mut fitted = Vec::new();
    for (entry, members) in &streams {
        let retrial = fit_retrials(members, options.retrial_window_ms);
        // When the scenario gets a retrial table the simulator makes the retrials itself: the
        // arrivals (and the forecast) are then the first attempts only, or each retrial would
        // arrive twice.
        let marks = match &retrial {
            Some(fit) if fit.retried > 0 => retrial_marks(members, options.retrial_window_ms),
            _ => vec![false; members.len()],
        };
        let left_out = marks.iter().filter(|&&retrial| retrial).count();
        if left_out > 0 {
            notes.push(format!(
                "stream {}: arrivals and the forecast count first attempts only ({left_out} \
                 retrials left out); the scenario's retrial table makes the retrials",
                entry.name()
            ));
        }
        let mut counts = empty_counts(first_date, options.interval_ms);
        for (contact, _) in members.iter().zip(&marks).filter(|(_, &retrial)| !retrial) {
            let local = clock.local(contact.arrived_unix_ms);
            counts.add(local.date, local.time_of_day_ms, 1.0);
        }
        // Every stream covers the same days, also those it had no contact on.
        let slots = counts.slots_per_day();
        counts.days.resize(days_total, vec![0.0; slots]);
        let handle_times: Vec<f64> = members
            .iter()
            .filter(|c| c.answered_unix_ms.is_some() && c.talk_ms > 0)
            .map(|c| c.talk_ms as f64 / 1000.0)
            .collect();
        let waits: Vec<(f64, bool)> = members
            .iter()
            .map(|c| {
                let (wait_ms, abandoned) = c.patience_observation_ms();
                (wait_ms as f64 / 1000.0, abandoned)
            })
            .collect();
        fitted.push(fit_stream(
            entry.clone(),
            members.len() as f64,
            counts,
            fit_handle_times(&handle_times).map(HandleTime::Contacts),
            fit_patience(&waits).map(Patience::Contacts),
            retrial,
            options,
        )?);
        fitted.last_mut().expect("just pushed").ivr_choices = fit_ivr_choices(members);
    }
    for stream in &fitted {
        if matches!(stream.entry, StreamEntry::Flow(_)) && stream.ivr_choices.is_empty() {
            notes.push(format!(
                "flow {}: no IVR choices recorded (a flow without menus, or a CDR database \
                 written before `serve` recorded them), so its [[traffic]] has no choices",
                stream.entry.name()
            ));
        }
    }
    Ok(Calibration {
        timezone: clock.name().to_string(),
        interval_s: options.interval_ms as f64 / 1000.0,
        records_read: contacts.len(),
        records_skipped: skipped,
        streams: fitted,
        agents_seen: agents
            .into_iter()
            .map(|(queue, names)| (queue, names.len()))
            .collect(),
        forecast_start_unix_ms: clock.midnight_unix_ms(last_date.tomorrow().unwrap_or(last_date)),
        notes,
    })
}

fn fit_stream(
    entry: StreamEntry,
    contacts: f64,
    counts: DailyCounts,
    handle_time: Option<HandleTime>,
    patience: Option<Patience>,
    retrial: Option<RetrialFit>,
    options: &CalibrationOptions,
) -> Result<StreamCalibration, CalibrationError> {
    let special = special_days(&counts, &options.special_days);
    let arrivals = fit_arrivals(&counts, &special);
    let forecast = forecast::forecast(&counts, &special, options.horizon_days)
        .map_err(|error| CalibrationError::new(format!("stream {}: {error}", entry.name())))?;
    Ok(StreamCalibration {
        entry,
        contacts,
        arrivals,
        handle_time,
        patience,
        retrial,
        ivr_choices: Vec::new(),
        forecast,
    })
}

fn calibrate_intervals(
    interval_ms: i64,
    rows: &[IntervalRow],
    options: &CalibrationOptions,
) -> Result<Calibration, CalibrationError> {
    check_interval(interval_ms)?;
    let clock = &options.clock;
    let Some(first) = rows.iter().map(|r| r.start_unix_ms).min() else {
        return Err(CalibrationError::new("no interval rows to calibrate from"));
    };
    let last = rows.iter().map(|r| r.start_unix_ms).max().unwrap_or(first);
    let first_date = clock.local(first).date;
    let last_date = clock.local(last).date;
    let days_total = first_date
        .until(last_date)
        .map(|span| span.get_days() as usize + 1)
        .unwrap_or(1);
    let mut by_queue: BTreeMap<&str, Vec<&IntervalRow>> = BTreeMap::new();
    for row in rows {
        by_queue.entry(&row.queue).or_default().push(row);
    }
    let mut notes = vec![
        "an interval export gives mean handle times only: the scenario's handle time is an \
         exponential with that mean"
            .to_string(),
    ];
    let mut fitted = Vec::new();
    for (queue, members) in by_queue {
        let mut counts = empty_counts(first_date, interval_ms);
        let mut answered_total = 0.0;
        let mut handle_total_s = 0.0;
        let mut wait_total_s = 0.0;
        let mut abandoned_total = 0.0;
        let mut waits_complete = true;
        for row in &members {
            let local = clock.local(row.start_unix_ms);
            counts.add(local.date, local.time_of_day_ms, row.offered);
            let answered = row.answered.unwrap_or(0.0);
            if let Some(handle_time_s) = row.handle_time_s {
                answered_total += answered;
                handle_total_s += answered * handle_time_s;
            }
            let abandoned = row.abandoned.unwrap_or(0.0);
            abandoned_total += abandoned;
            match (row.answer_wait_s, row.abandon_wait_s) {
                (Some(asa), Some(abandon_wait)) => {
                    wait_total_s += answered * asa + abandoned * abandon_wait;
                }
                _ if answered + abandoned == 0.0 => {}
                _ => waits_complete = false,
            }
        }
        let slots = counts.slots_per_day();
        counts.days.resize(days_total, vec![0.0; slots]);
        let handle_time = (answered_total > 0.0).then(|| HandleTime::IntervalMeans {
            answered: answered_total,
            mean_s: handle_total_s / answered_total,
        });
        let patience = if waits_complete {
            exponential_from_totals(wait_total_s, abandoned_total).map(|(mean_s, mean_ci95_s)| {
                Patience::IntervalTotals {
                    abandoned: abandoned_total,
                    mean_s,
                    mean_ci95_s,
                }
            })
        } else {
            notes.push(format!(
                "queue {queue}: rows without asa and abandon_time, so patience is not fitted"
            ));
            None
        };
        let contacts: f64 = members.iter().map(|r| r.offered).sum();
        fitted.push(fit_stream(
            StreamEntry::Queue(queue.to_string()),
            contacts,
            counts,
            handle_time,
            patience,
            None,
            options,
        )?);
    }
    Ok(Calibration {
        timezone: clock.name().to_string(),
        interval_s: interval_ms as f64 / 1000.0,
        records_read: rows.len(),
        records_skipped: 0,
        streams: fitted,
        agents_seen: BTreeMap::new(),
        forecast_start_unix_ms: clock.midnight_unix_ms(last_date.tomorrow().unwrap_or(last_date)),
        notes,
    })
}

//! The calibration round trip: a known scenario is simulated for a synthetic month, its
//! contacts are written as CDR rows by the live runtime's own CDR assembly and writer (the
//! rows `switchboard serve` would write), the database is calibrated, and the known parameters
//! must lie inside the 95 % intervals the calibration gives. The held-out week's forecast
//! error is printed (`cargo test -p switchboard-calibrate --test round_trip -- --nocapture`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use switchboard_calibrate::arrivals::poisson_interval;
use switchboard_calibrate::handle_time::Family;
use switchboard_calibrate::local_time::LocalClock;
use switchboard_calibrate::scenario_file::{forecast_csv, forecast_file_name, scenario_text};
use switchboard_calibrate::{
    calibrate, read_observations, CalibrationOptions, HandleTime, Patience,
};
use switchboard_engine::{Center, Entry, Event, EventKind, Outcome};
use switchboard_live::call_record::{event_contact, CallRecord, HangupSide};
use switchboard_live::cdr::CdrWriter;
use switchboard_sim::replication::{run_replication, ReplicationObserver, ReplicationOptions};

const START: &str = "2026-11-02T00:00:00+08:00"; // a Monday
const DAYS: usize = 30;
const INTERVAL_MIN: usize = 30;
const SLOTS: usize = 24 * 60 / INTERVAL_MIN;
/// Monday first.
const WEEKDAY_FACTOR: [f64; 7] = [1.0, 0.95, 0.95, 1.0, 1.1, 0.7, 0.6];
/// Singles' Day: day 9 of the month carries three times its weekday's traffic.
const SPECIAL_DAY: usize = 9;
const SPECIAL_FACTOR: f64 = 3.0;
const HANDLE_MEAN_S: f64 = 180.0;
const HANDLE_CV: f64 = 0.8;
const PATIENCE_MEAN_S: f64 = 90.0;

/// Expected contacts in interval `slot` of an ordinary Monday: open 08:00-22:00 with a
/// morning and an evening peak.
fn monday_volume(slot: usize) -> f64 {
    let hour = slot as f64 / 2.0;
    if !(8.0..22.0).contains(&hour) {
        return 0.0;
    }
    let bump = |centre: f64, width: f64| (-((hour - centre) / width).powi(2)).exp();
    20.0 + 30.0 * bump(10.5, 1.5) + 35.0 * bump(20.0, 1.2)
}

fn true_volume(day: usize, slot: usize) -> f64 {
    let special = if day == SPECIAL_DAY {
        SPECIAL_FACTOR
    } else {
        1.0
    };
    monday_volume(slot) * WEEKDAY_FACTOR[day % 7] * special
}

/// Engine events to CDR rows, as the B2BUA does, for contacts of the simulator.
struct CdrRecorder {
    center: Center,
    start_unix_ms: i64,
    calls: BTreeMap<u64, CallRecord>,
    writer: Option<CdrWriter>,
}

impl ReplicationObserver for CdrRecorder {
    fn event(&mut self, event: &Event) {
        let unix_ms = self.start_unix_ms + event.time_ms as i64;
        let Some(contact) = event_contact(&event.kind) else {
            return;
        };
        if let EventKind::ContactArrived { entry, .. } = &event.kind {
            let entry_point = match *entry {
                Entry::Queue(queue) => self.center.queue_name(queue).to_string(),
                Entry::Flow(flow) => self.center.flow_name(flow).to_string(),
            };
            self.calls.insert(
                contact.0,
                CallRecord::new(
                    &format!("sim-{}", contact.0),
                    contact.0,
                    &entry_point,
                    unix_ms,
                ),
            );
        }
        let Some(call) = self.calls.get_mut(&contact.0) else {
            return;
        };
        if call.apply(&self.center, event.time_ms, unix_ms, &event.kind) {
            let mut call = self.calls.remove(&contact.0).expect("present");
            let outcome = match &event.kind {
                EventKind::ContactEnded { outcome, .. } => *outcome,
                _ => Outcome::Dropped,
            };
            call.hangup_side = Some(match outcome {
                Outcome::Abandoned => HangupSide::Customer,
                Outcome::Completed => HangupSide::Agent,
                _ => HangupSide::Center,
            });
            let status = if outcome == Outcome::Abandoned {
                487
            } else {
                200
            };
            let start = self.start_unix_ms;
            let row = call.finish(status, event.time_ms, |ms| start + ms as i64);
            self.writer.as_mut().expect("open").record(row);
        }
    }
}

fn write_known_scenario(directory: &Path) -> std::path::PathBuf {
    let mut profile = String::from("start,volume\n");
    for day in 0..DAYS {
        for slot in 0..SLOTS {
            let start_min = (day * SLOTS + slot) * INTERVAL_MIN;
            let _ = writeln!(profile, "{}m,{:.4}", start_min, true_volume(day, slot));
        }
    }
    std::fs::write(directory.join("profile.csv"), profile).unwrap();
    let scenario = format!(
        r#"[scenario]
name = "calibration round trip"
seed = 2026
duration = "{DAYS}d"
interval = "30m"
replications = 1

[center]
start = "{START}"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[traffic]]
queue = "sales"
profile_file = "profile.csv"
profile_interval = "30m"
handle_time = {{ dist = "lognormal", mean = "{HANDLE_MEAN_S}s", cv = {HANDLE_CV} }}
patience = {{ dist = "exponential", mean = "{PATIENCE_MEAN_S}s" }}

[[agents]]
name = "sales-team"
count = 7
skills = ["sales"]
"#
    );
    let path = directory.join("known.toml");
    std::fs::write(&path, scenario).unwrap();
    path
}

#[test]
fn a_simulated_month_calibrates_back_to_its_parameters() {
    let directory = tempfile::tempdir().unwrap();
    let scenario_path = write_known_scenario(directory.path());
    let scenario = switchboard_sim::load_scenario(&scenario_path).unwrap();
    let model = switchboard_sim::run::prepare(&scenario).unwrap();
    let clock = LocalClock::new("Asia/Shanghai").unwrap();
    let database = directory.path().join("cdr.sqlite");
    let mut recorder = CdrRecorder {
        center: Center::new(model.center.clone()).unwrap(),
        start_unix_ms: clock.parse(START).unwrap(),
        calls: BTreeMap::new(),
        writer: Some(CdrWriter::open(&database).unwrap()),
    };
    let output = run_replication(
        &model,
        2026,
        0,
        ReplicationOptions {
            observer: Some(&mut recorder),
            ..ReplicationOptions::default()
        },
    )
    .unwrap();
    let rows = recorder.writer.take().unwrap().close().unwrap();
    assert_eq!(output.rejected_inputs, 0);
    assert!(rows > 20_000, "{rows} CDR rows");

    let observations = read_observations(&database, &clock).unwrap();
    let options = CalibrationOptions {
        clock: clock.clone(),
        interval_ms: INTERVAL_MIN as i64 * 60_000,
        horizon_days: 7,
        special_days: Vec::new(),
        retrial_window_ms: 7_200_000,
        center: None,
    };
    let calibration = calibrate(&observations, &options).unwrap();
    assert_eq!(calibration.streams.len(), 1);
    let stream = &calibration.streams[0];
    let arrivals = &stream.arrivals;
    assert_eq!(arrivals.days, DAYS);

    // The planted special day is found, with its ratio.
    assert_eq!(
        arrivals.special_days.len(),
        1,
        "{:?}",
        arrivals.special_days
    );
    assert_eq!(arrivals.special_days[0].date, "2026-11-11");
    let ratio = arrivals.special_days[0].ratio;
    assert!((ratio / SPECIAL_FACTOR - 1.0).abs() < 0.1, "ratio {ratio}");

    // The mean rate over ordinary days, within its 95 % interval.
    let ordinary: Vec<usize> = (0..DAYS).filter(|&d| d != SPECIAL_DAY).collect();
    let true_total: f64 = ordinary
        .iter()
        .map(|&d| (0..SLOTS).map(|s| true_volume(d, s)).sum::<f64>())
        .sum();
    let true_rate = true_total / (ordinary.len() as f64 * 24.0);
    let [low, high] = arrivals.mean_rate.ci95_per_hour;
    println!(
        "mean arrival rate: true {true_rate:.3}/h, fitted {:.3}/h [{low:.3}, {high:.3}]",
        arrivals.mean_rate.rate_per_hour
    );
    assert!(low <= true_rate && true_rate <= high);

    // Each weekday's mean daily volume, in its interval (Bonferroni over the seven, so the
    // family is at 95 %).
    for weekday in &arrivals.weekdays {
        let index = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|name| *name == weekday.weekday)
            .unwrap();
        let days: Vec<usize> = ordinary
            .iter()
            .copied()
            .filter(|d| d % 7 == index)
            .collect();
        assert_eq!(days.len(), weekday.days);
        let truth = days
            .iter()
            .map(|&d| (0..SLOTS).map(|s| true_volume(d, s)).sum::<f64>())
            .sum::<f64>()
            / days.len() as f64;
        let k = days.len() as f64;
        let [low, high] = poisson_interval(weekday.mean_daily_volume * k, 1.0 - 0.05 / 7.0);
        println!(
            "{}: true {truth:.1}/day, fitted {:.1} [{:.1}, {:.1}]",
            weekday.weekday,
            weekday.mean_daily_volume,
            low / k,
            high / k
        );
        assert!(low / k <= truth && truth <= high / k, "{}", weekday.weekday);
    }

    // Every interval of every weekday: the share of 95 % intervals that cover the true rate
    // must be what 95 % intervals give (at most 5 % missed, plus 3.29 binomial standard
    // deviations: a one-sided 99.95 % bound, so the test does not depend on luck).
    let mut open_cells = 0usize;
    let mut missed = 0usize;
    for cell in &arrivals.cells {
        let weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|name| *name == cell.weekday)
            .unwrap();
        let hours: usize = cell.start[..2].parse().unwrap();
        let minutes: usize = cell.start[3..].parse().unwrap();
        let slot = (hours * 60 + minutes) / INTERVAL_MIN;
        let truth = monday_volume(slot) * WEEKDAY_FACTOR[weekday] * 2.0;
        if truth == 0.0 {
            assert_eq!(cell.rate.rate_per_hour, 0.0);
            continue;
        }
        open_cells += 1;
        let [low, high] = cell.rate.ci95_per_hour;
        if !(low <= truth && truth <= high) {
            missed += 1;
        }
    }
    let n = open_cells as f64;
    let allowed = 0.05 * n + 3.29 * (n * 0.05 * 0.95).sqrt();
    println!("interval rates: {missed} of {open_cells} 95 % intervals miss the truth (allowed {allowed:.1})");
    assert_eq!(open_cells, 7 * 28);
    assert!((missed as f64) <= allowed);

    // Handle time: lognormal chosen by AIC, the true mean inside the 95 % interval.
    let Some(HandleTime::Contacts(handle)) = &stream.handle_time else {
        panic!("handle times fitted per contact")
    };
    let [low, high] = handle.mean_s.ci95.unwrap();
    println!(
        "handle time: {} chosen; mean {:.2} s [{low:.2}, {high:.2}] (true {HANDLE_MEAN_S})",
        handle.chosen.to_scenario(),
        handle.mean_s.mean.unwrap()
    );
    let Family::Lognormal { cv, .. } = handle.chosen else {
        panic!("lognormal expected, chose {:?}", handle.chosen)
    };
    assert!(low <= HANDLE_MEAN_S && HANDLE_MEAN_S <= high);
    assert!((cv / HANDLE_CV - 1.0).abs() < 0.05, "cv {cv}");

    // Patience, with answered waits censored: the true mean inside the chosen fit's interval.
    let Some(Patience::Contacts(patience)) = &stream.patience else {
        panic!("patience fitted per contact")
    };
    let [low, high] = patience.mean_ci95_s;
    println!(
        "patience: {} abandoned, {} censored; {} chosen; mean {:.2} s [{low:.2}, {high:.2}] \
         (true {PATIENCE_MEAN_S}); Kaplan-Meier median {:?} s",
        patience.abandoned,
        patience.censored,
        patience.chosen.to_scenario(),
        patience.mean_s,
        patience.median_s
    );
    assert!(patience.abandoned > 1_000, "the month must see abandonment");
    assert!(low <= PATIENCE_MEAN_S && PATIENCE_MEAN_S <= high);

    // The forecast's error on the held-out week, reported.
    let holdout = stream
        .forecast
        .holdout
        .as_ref()
        .expect("a month has a hold-out week");
    println!(
        "forecast ({}): hold-out week MAPE {:.2} % per interval, {:.2} % per day, WAPE {:.2} %; \
         seasonal naive {:.2} % per interval, {:.2} % per day",
        stream.forecast.method,
        holdout.interval_mape * 100.0,
        holdout.daily_mape * 100.0,
        holdout.interval_wape * 100.0,
        holdout.seasonal_naive_interval_mape * 100.0,
        holdout.seasonal_naive_daily_mape * 100.0
    );
    assert!(holdout.daily_mape.is_finite() && holdout.interval_mape.is_finite());
    assert_eq!(stream.forecast.volumes.len(), 7 * SLOTS);

    // The calibrated scenario runs in the simulator as written.
    let out = directory.path().join("calibrated.toml");
    std::fs::write(
        &out,
        scenario_text(&calibration, None, "calibrated", "cdr.sqlite").unwrap(),
    )
    .unwrap();
    std::fs::write(
        directory
            .path()
            .join(forecast_file_name("calibrated", stream)),
        forecast_csv(&calibration, stream),
    )
    .unwrap();
    let calibrated = switchboard_sim::load_scenario(&out).unwrap();
    let calibrated_model = switchboard_sim::run::prepare(&calibrated).unwrap();
    let replay = run_replication(&calibrated_model, 1, 0, ReplicationOptions::default()).unwrap();
    let forecast_total: f64 = stream.forecast.volumes.iter().sum();
    println!(
        "calibrated scenario: {} contacts simulated over 7 days, forecast {forecast_total:.0}",
        replay.contacts
    );
    let [low, high] = poisson_interval(forecast_total, 0.999);
    assert!((low..=high).contains(&(replay.contacts as f64)));
}

/// Outbound calls (click-to-dial) share the CDR table but are no demand on the center: the
/// calibration reads the inbound rows only, callbacks among them.
#[test]
fn outbound_rows_of_the_cdr_table_are_left_out() {
    use switchboard_live::cdr::{CdrRecord, Direction};
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("cdr.sqlite");
    let mut writer = CdrWriter::open(&database).unwrap();
    let row = |direction: Direction, outcome: &str| CdrRecord {
        call_id: format!("{}-call", direction.as_str()),
        entry_point: "sales".into(),
        queue: Some("sales".into()),
        agent: Some("sales-1".into()),
        arrived_unix_ms: 1_762_000_000_000,
        answered_unix_ms: Some(1_762_000_010_000),
        ended_unix_ms: 1_762_000_100_000,
        outcome: outcome.into(),
        talk_ms: 90_000,
        hangup_side: "customer".into(),
        sip_status: 200,
        direction,
        ..CdrRecord::default()
    };
    writer.record(row(Direction::Inbound, "completed"));
    writer.record(row(Direction::Outbound, "failed"));
    writer.record(row(Direction::Callback, "completed"));
    assert_eq!(writer.close().unwrap(), 3);
    let clock = LocalClock::new("Asia/Shanghai").unwrap();
    match read_observations(&database, &clock).unwrap() {
        switchboard_calibrate::records::Observations::Contacts(records) => {
            // The callback arrived as a call: it is demand, the click-to-dial is not.
            assert_eq!(records.len(), 2, "{records:?}");
            assert!(records.iter().all(|record| record.entry_point == "sales"));
        }
        _ => panic!("a CDR database gives contacts"),
    }
}

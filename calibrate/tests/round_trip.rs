//! The calibration round trip: a known scenario is simulated for a synthetic month, its
//! contacts are written as CDR rows by the live runtime's own CDR assembly and writer (the
//! rows `switchboard serve` would write), the database is calibrated, and the known parameters
//! must lie inside the 95 % intervals the calibration gives. The held-out week's forecast
//! error is printed (`cargo test -p switchboard-calibrate --test round_trip -- --nocapture`).
//! A second stream enters an IVR menu and its callers try again after abandoning: its key
//! probabilities and retrial probability are recovered from the CDR's `ivr_choices` and
//! `caller` columns.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use switchboard_calibrate::arrivals::poisson_interval;
use switchboard_calibrate::handle_time::Family;
use switchboard_calibrate::local_time::LocalClock;
use switchboard_calibrate::scenario_file::{
    forecast_csv, forecast_file_name, scenario_text, CenterNames,
};
use switchboard_calibrate::{
    calibrate, read_observations, CalibrationOptions, HandleTime, Patience, StreamEntry,
};
use switchboard_engine::{Center, Entry, Event, EventKind, Input, Outcome};
use switchboard_live::call_record::{event_contact, CallRecord, HangupSide};
use switchboard_live::cdr::CdrWriter;
use switchboard_sim::replication::{
    run_replication, Draw, ReplicationObserver, ReplicationOptions,
};

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
/// The IVR stream's menu: the share of callers who press each key when its prompt has played.
const MENU_KEYS: [(&str, f64); 2] = [("1", 0.5), ("2", 0.2)];
/// The IVR stream's callers who abandoned try again with this probability.
const RETRIAL_PROBABILITY: f64 = 0.4;
const RETRIAL_DELAY_MEAN_S: f64 = 300.0;

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
/// Each contact's caller is its customer: a retrial has the caller of its first attempt (the
/// simulator says which that was), as a caller's number does on a trunk.
struct CdrRecorder {
    center: Center,
    start_unix_ms: i64,
    calls: BTreeMap<u64, CallRecord>,
    customer_of_retrial: BTreeMap<u64, u64>,
    /// Every key the simulator's callers pressed, per contact until its row is written, then
    /// counted: to check that the CDRs hold each one.
    keys_of_call: BTreeMap<u64, Vec<String>>,
    keys_pressed: BTreeMap<String, u64>,
    writer: Option<CdrWriter>,
}

impl ReplicationObserver for CdrRecorder {
    fn drew(&mut self, draw: Draw) {
        if let Draw::Retrial { contact, customer } = draw {
            self.customer_of_retrial.insert(contact, customer);
        }
    }

    /// A key reaches the engine: the switch notes it on the call's record before the engine's
    /// events move the caller on (`live/src/switch/keys.rs`); the simulator's keys are all
    /// menu keys the engine takes.
    fn input(&mut self, _time_ms: u64, input: &Input) {
        if let Input::Digits { contact, digits } = input {
            self.keys_of_call
                .entry(contact.0)
                .or_default()
                .push(digits.clone());
            if let Some(call) = self.calls.get_mut(&contact.0) {
                call.menu_key(digits);
            }
        }
    }

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
            let mut call = CallRecord::new(
                &format!("sim-{}", contact.0),
                contact.0,
                &entry_point,
                unix_ms,
            );
            let customer = self
                .customer_of_retrial
                .remove(&contact.0)
                .unwrap_or(contact.0);
            call.set_caller(Some(format!("customer-{customer}")));
            self.calls.insert(contact.0, call);
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
            for key in self.keys_of_call.remove(&contact.0).unwrap_or_default() {
                *self.keys_pressed.entry(key).or_default() += 1;
            }
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

[[queue]]
name = "billing"
channel = "voice"
skills = ["billing"]

[[agents]]
name = "billing-team"
count = 1
skills = ["billing"]

[[ivr]]
name = "service"
start = "main-menu"

[[ivr.node]]
kind = "menu"
id = "main-menu"
prompt = "For billing press 1, for your balance press 2"
duration = "8s"
options = {{ "1" = "to-billing", "2" = "balance" }}
timeout = "5s"
retries = 1
on_fail = "to-billing"

[[ivr.node]]
kind = "self-service"
id = "balance"
prompt = "Your balance is"
duration = "20s"

[[ivr.node]]
kind = "queue"
id = "to-billing"
queue = "billing"

[[traffic]]
flow = "service"
rate = "15/h"
handle_time = {{ dist = "exponential", mean = "240s" }}
patience = {{ dist = "exponential", mean = "60s" }}
choices = {{ main-menu = {{ "1" = {one}, "2" = {two} }} }}
retrial = {{ probability = {RETRIAL_PROBABILITY}, delay = {{ dist = "exponential", mean = "{RETRIAL_DELAY_MEAN_S}s" }}, max_retrials = 50 }}
"#,
        one = MENU_KEYS[0].1,
        two = MENU_KEYS[1].1,
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
        customer_of_retrial: BTreeMap::new(),
        keys_of_call: BTreeMap::new(),
        keys_pressed: BTreeMap::new(),
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
    let center = CenterNames::from_toml(
        &std::fs::read_to_string(&scenario_path).unwrap(),
        "known.toml",
    )
    .unwrap();
    let options = CalibrationOptions {
        clock: clock.clone(),
        interval_ms: INTERVAL_MIN as i64 * 60_000,
        horizon_days: 7,
        special_days: Vec::new(),
        retrial_window_ms: 7_200_000,
        center: Some(center.clone()),
    };
    let calibration = calibrate(&observations, &options).unwrap();
    assert_eq!(calibration.streams.len(), 2);
    let stream = calibration
        .streams
        .iter()
        .find(|stream| stream.entry == StreamEntry::Queue("sales".into()))
        .unwrap();
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

    // The IVR stream: each key's probability inside its interval, and the retrials.
    let service = calibration
        .streams
        .iter()
        .find(|stream| stream.entry == StreamEntry::Flow("service".into()))
        .unwrap();
    assert_eq!(service.ivr_choices.len(), 1, "{:?}", service.ivr_choices);
    let menu = &service.ivr_choices[0];
    assert_eq!(menu.node, "main-menu");
    assert!(menu.visits > 5_000, "{} visits", menu.visits);
    assert_eq!(menu.keys.len(), MENU_KEYS.len());
    for ((key, truth), fitted) in MENU_KEYS.iter().zip(&menu.keys) {
        let [low, high] = fitted.probability_ci95;
        println!(
            "main-menu key {key}: true {truth}, fitted {:.4} [{low:.4}, {high:.4}] over {} visits",
            fitted.probability, menu.visits
        );
        assert_eq!(fitted.key, *key);
        // Every key pressed is in the CDRs: the interval is about the callers, not the record.
        assert_eq!(fitted.visits, recorder.keys_pressed[*key], "key {key}");
        assert!(low <= *truth && *truth <= high, "key {key}");
    }
    let retrial = service.retrial.as_ref().expect("callers are recorded");
    let [low, high] = retrial.probability_ci95;
    println!(
        "retrials: {} of {} failed attempts retried; probability true {RETRIAL_PROBABILITY}, \
         fitted {:.4} [{low:.4}, {high:.4}]; share of contacts {:.4}",
        retrial.retried, retrial.failed_attempts, retrial.probability, retrial.retrial_share
    );
    assert!(retrial.failed_attempts > 1_000);
    assert!(low <= RETRIAL_PROBABILITY && RETRIAL_PROBABILITY <= high);
    let [low, high] = retrial.mean_delay_ci95_s.unwrap();
    println!(
        "retrial delay: true mean {RETRIAL_DELAY_MEAN_S} s, fitted {:.1} s [{low:.1}, {high:.1}]",
        retrial.mean_delay_s
    );
    assert!(low <= RETRIAL_DELAY_MEAN_S && RETRIAL_DELAY_MEAN_S <= high);
    // The sales stream records callers too, who never try again: nothing to leave out.
    assert!(stream.retrial.as_ref().is_none_or(|fit| fit.retried == 0));

    // The calibrated scenario runs in the simulator as written, on the center it came from.
    let text = scenario_text(&calibration, Some(&center), "calibrated", "cdr.sqlite").unwrap();
    assert!(
        text.contains("choices = { \"main-menu\" = { \"1\" = 0."),
        "{text}"
    );
    let out = directory.path().join("calibrated.toml");
    std::fs::write(&out, text).unwrap();
    for stream in &calibration.streams {
        std::fs::write(
            directory
                .path()
                .join(forecast_file_name("calibrated", stream)),
            forecast_csv(&calibration, stream),
        )
        .unwrap();
    }
    let calibrated = switchboard_sim::load_scenario(&out).unwrap();
    let calibrated_model = switchboard_sim::run::prepare(&calibrated).unwrap();
    let replay = run_replication(&calibrated_model, 1, 0, ReplicationOptions::default()).unwrap();
    // The forecasts are first attempts; the IVR stream's retrials come on top, as many per
    // first attempt as the month had.
    let sales_forecast: f64 = stream.forecast.volumes.iter().sum();
    let service_forecast: f64 = service.forecast.volumes.iter().sum();
    let attempts_per_first = 1.0 / (1.0 - retrial.retrial_share);
    let expected = sales_forecast + service_forecast * attempts_per_first;
    println!(
        "calibrated scenario: {} contacts simulated over 7 days, expected {expected:.0} \
         (forecast {sales_forecast:.0} sales, {service_forecast:.0} IVR first attempts, \
         {attempts_per_first:.3} attempts each)",
        replay.contacts
    );
    let [low, high] = poisson_interval(expected, 0.999);
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

/// A database `serve` wrote before it recorded IVR choices is read as it is (its contacts give
/// no choices), `serve` adds the column to it on start-up keeping every row, and a value that
/// is not the column's JSON is refused at its row.
#[test]
fn an_older_database_gains_the_choices_column_and_a_bad_value_is_refused_at_its_row() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("cdr.sqlite");
    let old = rusqlite::Connection::open(&database).unwrap();
    old.execute_batch(
        "CREATE TABLE cdr (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL,
             contact_id INTEGER NOT NULL, entry_point TEXT NOT NULL, queue TEXT, agent TEXT,
             arrived_unix_ms INTEGER NOT NULL, queued_unix_ms INTEGER, offered_unix_ms INTEGER,
             answered_unix_ms INTEGER, ended_unix_ms INTEGER NOT NULL, outcome TEXT NOT NULL,
             wait_ms INTEGER NOT NULL, talk_ms INTEGER NOT NULL, hangup_side TEXT NOT NULL,
             sip_status INTEGER NOT NULL, offers_unanswered INTEGER NOT NULL, caller TEXT);
         INSERT INTO cdr VALUES (1, 'old-call', 1, 'service', NULL, NULL, 1762000000000, NULL,
             NULL, NULL, 1762000030000, 'self-served', 0, 0, 'center', 200, 0, '180****1999');",
    )
    .unwrap();
    drop(old);
    let clock = LocalClock::new("Asia/Shanghai").unwrap();
    let contacts = |observations| match observations {
        switchboard_calibrate::records::Observations::Contacts(records) => records,
        _ => panic!("a CDR database gives contacts"),
    };
    let before = contacts(read_observations(&database, &clock).unwrap());
    assert_eq!(before.len(), 1);
    assert!(before[0].menu_choices.is_empty());

    let mut writer = CdrWriter::open(&database).unwrap();
    writer.record(switchboard_live::cdr::CdrRecord {
        call_id: "new-call".into(),
        contact_id: 2,
        entry_point: "service".into(),
        arrived_unix_ms: 1_762_000_100_000,
        ended_unix_ms: 1_762_000_130_000,
        outcome: "self-served".into(),
        hangup_side: "center".into(),
        ivr_choices: Some(r#"[["main-menu",null],["main-menu","2"]]"#.into()),
        ..switchboard_live::cdr::CdrRecord::default()
    });
    assert_eq!(writer.close().unwrap(), 1);
    let after = contacts(read_observations(&database, &clock).unwrap());
    assert_eq!(after.len(), 2, "the old row is kept");
    assert!(after[0].menu_choices.is_empty());
    assert_eq!(
        after[1].menu_choices,
        vec![
            ("main-menu".to_string(), None),
            ("main-menu".to_string(), Some("2".to_string()))
        ]
    );

    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE cdr SET ivr_choices = 'main-menu=2' WHERE id = 2",
            [],
        )
        .unwrap();
    let error = read_observations(&database, &clock)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("row id 2: column `ivr_choices`") && error.contains("expected a JSON array"),
        "{error}"
    );
}

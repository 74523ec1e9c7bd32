//! E-mail tickets (and callback promises) carried across intervals: the `backlog` metric
//! counts the contacts still waiting as each interval ends, and constant handle times give
//! exact answers.

use switchboard_results::Metric;
use switchboard_sim::metrics::Scope;
use switchboard_sim::run::{model_from_text, RunOptions, RunResult};

/// E-mails for the first hour only, nobody logged in until 2 h, then one agent who writes one
/// e-mail at a time, each in exactly 10 minutes; nobody gives up on an e-mail.
const INBOX: &str = r#"
[scenario]
name = "inbox"
seed = 20261207
duration = "3h"
interval = "1h"
replications = 4

[[queue]]
name = "email"
channel = "email"
service_level_target = "4h"

[[agents]]
name = "writer"
count = 1
capacity = { email = 1 }

[[people]]
agents = "writer"
plan = [{ start = "0h", agents = 0 }, { start = "2h", agents = 1 }]

[[traffic]]
queue = "email"
profile = [{ start = "0h", volume = 30 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

fn simulate() -> RunResult {
    simulate_text(INBOX, 1)
}

#[test]
fn the_backlog_is_carried_across_intervals_until_an_agent_works_it_off() {
    let result = simulate();
    let center = 0;
    assert_eq!(result.scopes[center], Scope::Total);
    let queue = result
        .scopes
        .iter()
        .position(|scope| *scope == Scope::Queue(0))
        .unwrap();
    for figures in &result.figures {
        let interval = |scope: usize, hour: usize| figures.intervals[scope * 3 + hour].clone();
        let arrived = interval(center, 0).arrived;
        assert!(arrived > 6, "{arrived} e-mails");
        assert_eq!(interval(center, 1).arrived + interval(center, 2).arrived, 0);
        for scope in [center, queue] {
            // Nobody works the first two hours: every e-mail is still open at their ends.
            assert_eq!(interval(scope, 0).backlog, arrived);
            assert_eq!(interval(scope, 1).backlog, arrived);
            // From 2 h one agent finishes an e-mail every 10 minutes: six by 3 h.
            assert_eq!(interval(scope, 2).backlog, arrived - 6);
        }
    }
    // The whole run's backlog is the last interval's, in the summary too.
    let backlog = result.values(center, Metric::Backlog);
    let arrived = result.values(center, Metric::Arrived);
    for (backlog, arrived) in backlog.iter().zip(&arrived) {
        assert_eq!(*backlog, arrived - 6.0);
    }
}

#[test]
fn every_answered_ticket_met_its_four_hour_due_time() {
    let result = simulate();
    // Answered from 2 h on, each within 3 h of arriving in the first hour: all within 4 h.
    let answered = result.values(0, Metric::Answered);
    let within = result.values(0, Metric::AnsweredWithinTarget);
    assert_eq!(answered, within);
    // The first answer is at 2 h sharp: at least an hour after the last arrival.
    for wait_p50_s in result.values(0, Metric::WaitP50) {
        assert!(wait_p50_s >= 3_600.0, "{wait_p50_s}");
    }
}

/// Runs `scenario` with its invariants checked, on `threads` threads.
fn simulate_text(scenario: &str, threads: usize) -> RunResult {
    let model = model_from_text(scenario).expect("a valid scenario");
    let options = RunOptions {
        check_invariants: true,
        threads,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    assert_eq!(result.summary.rejected_inputs, 0);
    result
}

fn scope_of(result: &RunResult, wanted: Scope) -> usize {
    result
        .scopes
        .iter()
        .position(|scope| *scope == wanted)
        .unwrap()
}

/// A shop open 08:00–22:00 on weekdays, Shanghai time. The run starts on Friday 2026-11-13 at
/// 20:00 and lasts to Monday 14:00 (66 hourly intervals); e-mails arrive on Friday from 21:00
/// to 22:00, each due within 4 business hours: one hour of it, at most, on Friday evening, the
/// rest from Monday 08:00, so every one is due on Monday from 11:00 to 12:00 (interval 63).
/// Three agents, one e-mail at a time each, log in on Monday at `LOGIN`.
const WEEKEND: &str = r#"
[scenario]
name = "weekend inbox"
seed = 20261113
duration = "66h"
interval = "1h"
replications = 3

[center]
start = "2026-11-13T20:00:00+08:00"

[[calendar]]
name = "office"
timezone = "Asia/Shanghai"
hours = { mon-fri = "08:00-22:00" }

[[queue]]
name = "email"
channel = "email"
due = { within = "4h", calendar = "office" }

[[agents]]
name = "writer"
count = 3
capacity = { email = 1 }

[[people]]
agents = "writer"
plan = [{ start = "0h", agents = 0 }, { start = "LOGIN", agents = 3 }]

[[traffic]]
queue = "email"
profile = [{ start = "1h", volume = 12 }, { start = "2h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

/// Monday 11:00–12:00, when every ticket of [`WEEKEND`] is due.
const MONDAY_ELEVEN: usize = 63;
const WEEKEND_INTERVALS: usize = 66;

fn weekend(login: &str, threads: usize) -> RunResult {
    simulate_text(&WEEKEND.replace("LOGIN", login), threads)
}

#[test]
fn business_hours_carry_a_friday_evening_ticket_over_the_weekend_to_monday() {
    // Agents from Monday 08:00 (60 h): three of them answer every ticket by 08:40, long
    // before its due time.
    let result = weekend("60h", 1);
    let center = 0;
    let queue = scope_of(&result, Scope::Queue(0));
    let channel = scope_of(&result, Scope::Channel(switchboard_engine::Channel::Email));
    for figures in &result.figures {
        let at = |scope: usize, interval: usize| {
            &figures.intervals[scope * WEEKEND_INTERVALS + interval]
        };
        let arrived = at(center, 1).arrived;
        assert!((4..=18).contains(&arrived), "{arrived} e-mails");
        for scope in [center, queue, channel] {
            for interval in 0..WEEKEND_INTERVALS {
                let expected_due = if interval == MONDAY_ELEVEN {
                    arrived
                } else {
                    0
                };
                assert_eq!(
                    at(scope, interval).tickets_due,
                    expected_due,
                    "interval {interval}"
                );
                assert_eq!(at(scope, interval).tickets_met, expected_due);
                assert_eq!(at(scope, interval).overdue, 0);
            }
            // Open over the weekend: the oldest ages by exactly the time that passes.
            let oldest_at_22 = at(scope, 1).backlog_age_max_ms.unwrap();
            assert!(oldest_at_22 <= 3_600_000, "{oldest_at_22}");
            for interval in 1..60 {
                if scope != channel {
                    // Channels have no backlog of their own; their tickets' ages they have.
                    assert_eq!(at(scope, interval).backlog, arrived);
                }
                assert_eq!(
                    at(scope, interval).backlog_age_max_ms,
                    Some(oldest_at_22 + (interval as u64 - 1) * 3_600_000)
                );
                let p90_ms = at(scope, interval).backlog_age_p90_ms.unwrap();
                assert!(p90_ms <= oldest_at_22 + (interval as u64 - 1) * 3_600_000);
            }
            // Nothing waits once Monday's agents are through.
            assert_eq!(at(scope, 60).backlog_age_max_ms, None);
        }
    }
    for due_attainment in result.values(center, Metric::DueAttainment) {
        assert_eq!(due_attainment, 1.0);
    }
    for overdue in result.values(center, Metric::Overdue) {
        assert_eq!(overdue, 0.0);
    }
}

#[test]
fn tickets_nobody_answers_by_their_due_time_are_missed_and_overdue() {
    // Agents only from Monday 12:00 (64 h): every ticket is overdue as 11:00–12:00 ends, none
    // before, and none met its due time.
    let result = weekend("64h", 1);
    let center = 0;
    for figures in &result.figures {
        let at = |interval: usize| &figures.intervals[center * WEEKEND_INTERVALS + interval];
        let arrived = at(1).arrived;
        assert_eq!(at(MONDAY_ELEVEN).tickets_due, arrived);
        assert_eq!(at(MONDAY_ELEVEN).tickets_met, 0);
        assert_eq!(at(MONDAY_ELEVEN - 1).overdue, 0);
        assert_eq!(at(MONDAY_ELEVEN).overdue, arrived);
        // Monday 12:00 is 62 h after the first hour's end.
        assert_eq!(
            at(MONDAY_ELEVEN).backlog_age_max_ms,
            Some(at(1).backlog_age_max_ms.unwrap() + 62 * 3_600_000)
        );
    }
    for due_attainment in result.values(center, Metric::DueAttainment) {
        assert_eq!(due_attainment, 0.0);
    }
}

/// Runs `scenario` on one thread and on two: the same trace and the same figures.
fn assert_the_same_on_one_and_two_threads(scenario: &str) {
    let one = simulate_text(scenario, 1);
    let two = simulate_text(scenario, 2);
    assert_eq!(one.trace_hash, two.trace_hash);
    for (one, two) in one.figures.iter().zip(&two.figures) {
        assert_eq!(one.intervals, two.intervals);
    }
}

#[test]
fn the_same_weekend_gives_the_same_trace_on_one_and_two_threads() {
    assert_the_same_on_one_and_two_threads(&WEEKEND.replace("LOGIN", "64h"));
}

/// A weekday night: the run starts on Tuesday 2026-11-10 at 20:00 Shanghai time, e-mails
/// arrive from 21:30 to 22:00 and are due within 4 business hours (08:00–22:00): what is left
/// of Tuesday's hours (at most 30 minutes) plus the rest from Wednesday 08:00, so every one is
/// due on Wednesday from 11:30 to 12:00, interval 31 of the 30-minute intervals. Nobody works.
const NIGHT: &str = r#"
[scenario]
name = "night inbox"
seed = 20261110
duration = "17h"
interval = "30m"
replications = 3

[center]
start = "2026-11-10T20:00:00+08:00"

[[site]]
name = "hangzhou"
timezone = "Asia/Shanghai"

[[calendar]]
name = "office"
site = "hangzhou"
hours = { mon-fri = "08:00-22:00" }

[[queue]]
name = "email"
channel = "email"
site = "hangzhou"
due = { within = "4h", calendar = "office" }

[[agents]]
name = "writer"
count = 1
site = "hangzhou"

[[people]]
agents = "writer"
plan = [{ start = "0h", agents = 0 }]

[[traffic]]
queue = "email"
profile = [{ start = "1h30m", volume = 10 }, { start = "2h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

#[test]
fn a_ticket_arriving_before_closing_is_due_the_next_morning() {
    let result = simulate_text(NIGHT, 1);
    let intervals = 34;
    let site = scope_of(&result, Scope::Site(0));
    for figures in &result.figures {
        for scope in [0, site] {
            let at = |interval: usize| &figures.intervals[scope * intervals + interval];
            let arrived = at(3).arrived;
            assert!(arrived > 0);
            for interval in 0..intervals {
                let expected_due = if interval == 31 { arrived } else { 0 };
                assert_eq!(
                    at(interval).tickets_due,
                    expected_due,
                    "interval {interval}"
                );
                let expected_overdue = if interval >= 31 { arrived } else { 0 };
                assert_eq!(
                    at(interval).overdue,
                    expected_overdue,
                    "interval {interval}"
                );
            }
        }
    }
}

/// Due times in wall time (no calendar): e-mails of two queues arrive in the first hour,
/// `reply` due within 1 h, `case` within 4 h; two agents log in at 2 h and answer every
/// ticket within minutes. Every `reply` ticket is due from 1 h to 2 h and missed, every
/// `case` ticket due from 4 h to 5 h and met.
const TWO_QUEUES: &str = r#"
[scenario]
name = "two inboxes"
seed = 7
duration = "6h"
interval = "1h"
replications = 4

[[queue]]
name = "reply"
channel = "email"
due = { within = "1h" }

[[queue]]
name = "case"
channel = "email"
due = { within = "4h" }

[[agents]]
name = "writer"
count = 2

[[people]]
agents = "writer"
plan = [{ start = "0h", agents = 0 }, { start = "2h", agents = 2 }]

[[traffic]]
queue = "reply"
profile = [{ start = "0h", volume = 8 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }

[[traffic]]
queue = "case"
profile = [{ start = "0h", volume = 8 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

#[test]
fn attainment_counts_each_ticket_in_the_interval_it_is_due() {
    let result = simulate_text(TWO_QUEUES, 1);
    let intervals = 6;
    let (reply, case) = (
        scope_of(&result, Scope::Queue(0)),
        scope_of(&result, Scope::Queue(1)),
    );
    let mut expected_attainment = Vec::new();
    for figures in &result.figures {
        let at = |scope: usize, interval: usize| &figures.intervals[scope * intervals + interval];
        let (replies, cases) = (at(reply, 0).arrived, at(case, 0).arrived);
        assert_eq!(at(reply, 1).tickets_due, replies);
        assert_eq!(at(reply, 1).tickets_met, 0);
        assert_eq!(at(reply, 1).overdue, replies);
        assert_eq!(at(case, 4).tickets_due, cases);
        assert_eq!(at(case, 4).tickets_met, cases);
        assert_eq!(at(0, 1).tickets_due, replies);
        assert_eq!(at(0, 4).tickets_met, cases);
        for interval in [0, 2, 3, 5] {
            assert_eq!(at(0, interval).tickets_due, 0);
        }
        // Every ticket is answered by 3 h.
        assert_eq!(at(0, 2).backlog + at(0, 2).overdue, 0);
        expected_attainment.push(cases as f64 / (replies + cases) as f64);
    }
    assert_eq!(result.values(0, Metric::DueAttainment), expected_attainment);
    assert_eq!(
        result.values(reply, Metric::DueAttainment),
        vec![0.0; result.figures.len()]
    );
}

/// Calls and e-mails arrive in the first hour; one agent, logged in from 1 h, takes one call
/// (exactly 1 minute) or one e-mail (exactly 10 minutes) at a time, and a call blocks e-mail.
/// With `deferrable = true` on the e-mail queue the agent answers every call first.
const BLENDED: &str = r#"
[scenario]
name = "calls before e-mail"
seed = 4
duration = "3h"
interval = "1m"
replications = 3

ONE_BLENDED_AGENT

[[traffic]]
queue = "calls"
profile = [{ start = "0h", volume = 10 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "1m" }

[[traffic]]
queue = "email"
profile = [{ start = "0h", volume = 10 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

/// One agent, logged in from 1 h, who takes calls (queue `calls`) and e-mails (queue `email`,
/// with `email_keys`), one of each at a time: the center of [`BLENDED`] and [`PREEMPTION`],
/// in place of their `ONE_BLENDED_AGENT`.
fn with_one_blended_agent(scenario: &str, email_keys: &str) -> String {
    let center = format!(
        r#"[[queue]]
name = "calls"
channel = "voice"

[[queue]]
name = "email"
channel = "email"
{email_keys}

[[agents]]
name = "blended"
count = 1
capacity = {{ voice = 1, email = 1 }}

[[people]]
agents = "blended"
plan = [{{ start = "0h", agents = 0 }}, {{ start = "1h", agents = 1 }}]"#
    );
    scenario.replace("ONE_BLENDED_AGENT", &center)
}

/// One replication of [`BLENDED`]: per minute interval, (calls waiting, e-mails waiting) as it
/// ends; and the calls and e-mails that arrived.
struct Backlogs {
    per_minute: Vec<(u64, u64)>,
    calls: u64,
    emails: u64,
}

fn blended_backlogs(deferrable: bool) -> Vec<Backlogs> {
    let line = if deferrable { "deferrable = true" } else { "" };
    let result = simulate_text(&with_one_blended_agent(BLENDED, line), 1);
    let (calls, email) = (
        scope_of(&result, Scope::Queue(0)),
        scope_of(&result, Scope::Queue(1)),
    );
    let intervals = 180;
    result
        .figures
        .iter()
        .map(|figures| {
            let at = |scope: usize, minute: usize| &figures.intervals[scope * intervals + minute];
            let arrived = |scope: usize| (0..60).map(|minute| at(scope, minute).arrived).sum();
            Backlogs {
                per_minute: (0..intervals)
                    .map(|minute| (at(calls, minute).backlog, at(email, minute).backlog))
                    .collect(),
                calls: arrived(calls),
                emails: arrived(email),
            }
        })
        .collect()
}

#[test]
fn deferrable_email_waits_until_no_call_does() {
    for Backlogs {
        per_minute: backlogs,
        calls,
        emails,
    } in blended_backlogs(true)
    {
        assert!(calls > 0 && emails > 0);
        // From 1 h the agent answers a call a minute: as minute 60 + k ends, k + 1 calls are
        // answered, and not one e-mail until every call is.
        for (answered_calls, waiting) in (1..).zip(&backlogs[60..60 + calls as usize]) {
            assert_eq!(
                *waiting,
                (calls - answered_calls, emails),
                "{answered_calls} answered"
            );
        }
        // Then an e-mail every 10 minutes.
        let first_email_minute = 60 + calls as usize;
        assert_eq!(backlogs[first_email_minute], (0, emails - 1));
        assert_eq!(
            backlogs[first_email_minute + 10],
            (0, emails.saturating_sub(2))
        );
    }
}

#[test]
fn without_deferral_the_oldest_contact_goes_first_whatever_its_channel() {
    for Backlogs {
        per_minute: backlogs,
        calls,
        emails,
    } in blended_backlogs(false)
    {
        // Some e-mail is answered while calls still wait.
        let interleaved = backlogs
            .iter()
            .any(|&(calls_waiting, emails_waiting)| calls_waiting > 0 && emails_waiting < emails);
        assert!(interleaved, "{calls} calls, {emails} e-mails: {backlogs:?}");
    }
}

/// Calls answered by a team with time to spare; with probability `P` an answered call leaves
/// a follow-up ticket in `back-office`, due within 24 h, which nobody works in the run.
const FOLLOW_UPS: &str = r#"
[scenario]
name = "follow-ups"
seed = 99
duration = "2h"
interval = "1h"
replications = 4

[[queue]]
name = "calls"
channel = "voice"

[[queue]]
name = "back-office"
channel = "email"
skills = ["back-office"]
due = { within = "24h" }

[[agents]]
name = "phones"
count = 10

[[traffic]]
queue = "calls"
rate = "120/h"
handle_time = { dist = "constant", value = "2m" }
follow_up = { probability = P, queue = "back-office" }

[[traffic]]
queue = "back-office"
rate = "0/h"
handle_time = { dist = "constant", value = "20m" }
"#;

fn follow_ups(probability: &str) -> (RunResult, usize) {
    let result = simulate_text(&FOLLOW_UPS.replace("= P,", &format!("= {probability},")), 1);
    let back_office = scope_of(&result, Scope::Queue(1));
    (result, back_office)
}

#[test]
fn every_answered_call_leaves_a_follow_up_ticket_when_the_probability_is_one() {
    let (result, back_office) = follow_ups("1.0");
    let calls = scope_of(&result, Scope::Queue(0));
    for figures in &result.figures {
        let answered: u64 = (0..2)
            .map(|hour| figures.intervals[calls * 2 + hour].answered)
            .sum();
        let tickets: u64 = (0..2)
            .map(|hour| figures.intervals[back_office * 2 + hour].arrived)
            .sum();
        assert!(answered > 100, "{answered}");
        // Calls still talking as the run ends are not answered yet and have left nothing.
        assert_eq!(tickets, answered);
        // Nobody works the back office: every ticket is still open as the run ends.
        assert_eq!(figures.intervals[back_office * 2 + 1].backlog, tickets);
    }
    let (none, back_office) = follow_ups("0.0");
    for arrived in none.values(back_office, Metric::Arrived) {
        assert_eq!(arrived, 0.0);
    }
}

#[test]
fn a_quarter_of_answered_calls_leave_a_ticket_within_the_binomial_interval() {
    let (result, back_office) = follow_ups("0.25");
    let calls = scope_of(&result, Scope::Queue(0));
    let answered: f64 = result.values(calls, Metric::Answered).iter().sum();
    let tickets: f64 = result.values(back_office, Metric::Arrived).iter().sum();
    // 95 % interval of a binomial share: p ± 1.96·√(p(1 − p)/n).
    let half_width = 1.96 * (0.25_f64 * 0.75 / answered).sqrt();
    let share = tickets / answered;
    assert!((share - 0.25).abs() < half_width, "{share} of {answered}");
}

/// The error a scenario that must be refused gives.
fn refusal(scenario: &str) -> String {
    match model_from_text(scenario) {
        Ok(_) => panic!("the scenario should be refused"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_follow_up_to_a_queue_without_traffic_or_with_a_bad_probability_is_refused() {
    let without_traffic = FOLLOW_UPS.replace("= P,", "= 0.5,").replace(
        "[[traffic]]\nqueue = \"back-office\"\nrate = \"0/h\"\nhandle_time = { dist = \"constant\", value = \"20m\" }\n",
        "",
    );
    let error = refusal(&without_traffic);
    assert!(
        error.contains("follow-ups need a [[traffic]] table with queue = \"back-office\""),
        "{error}"
    );
    let error = refusal(&FOLLOW_UPS.replace("= P,", "= 1.5,"));
    assert!(
        error.contains("expected a probability between 0 and 1, found 1.5"),
        "{error}"
    );
}

/// One agent, logged in from 1 h, who writes one e-mail at a time (exactly 60 minutes each)
/// and is kept off the phone by it (`email = ["voice"]`) unless a call would wait: the e-mail
/// queue is pre-emptable. E-mails arrive in the first hour, due 90 minutes after; calls of
/// exactly 5 minutes arrive from 1 h 10 to 1 h 20 only, while the first e-mail is in work.
const PREEMPTION: &str = r#"
[scenario]
name = "calls pre-empt e-mail"
seed = 18
duration = "12h"
interval = "30m"
replications = 6

[center.blocks]
voice = ["callback", "chat", "email"]
callback = ["voice", "chat", "email"]
email = ["voice"]

ONE_BLENDED_AGENT

[[traffic]]
queue = "calls"
profile = [{ start = "0h", volume = 0 }, { start = "1h10m", volume = 2 }, { start = "1h20m", volume = 0 }]
handle_time = { dist = "constant", value = "5m" }

[[traffic]]
queue = "email"
profile = [{ start = "0h", volume = 3 }, { start = "1h", volume = 0 }]
handle_time = { dist = "constant", value = "60m" }
"#;

fn preemption() -> String {
    with_one_blended_agent(PREEMPTION, "preemptable = true\ndue = { within = \"90m\" }")
}

/// Every event of a replication, in order.
#[derive(Default)]
struct EventLog(Vec<switchboard_engine::Event>);

impl switchboard_sim::replication::ReplicationObserver for EventLog {
    fn event(&mut self, event: &switchboard_engine::Event) {
        self.0.push(event.clone());
    }
}

#[test]
fn a_call_preempts_the_ticket_in_work_which_ends_late_by_the_calls_it_gave_way_to() {
    use switchboard_engine::{Channel, EventKind, Outcome};
    const MINUTE_MS: u64 = 60_000;
    let model = model_from_text(&preemption()).expect("a valid scenario");
    let mut replications_with_preemption = 0;
    for replication in 0..6 {
        let (output, log) = replication_log(&model, replication);
        let arrivals = |wanted: Channel| -> Vec<(u64, u64)> {
            log.0
                .iter()
                .filter_map(|event| match event.kind {
                    EventKind::ContactArrived {
                        contact, channel, ..
                    } if channel == wanted => Some((contact.0, event.time_ms)),
                    _ => None,
                })
                .collect()
        };
        let calls = arrivals(Channel::Voice);
        let tickets = arrivals(Channel::Email);
        if tickets.is_empty() {
            continue;
        }
        // The calls keep the agent busy from the first one's arrival, back to back.
        let first_call_ms = calls.first().map(|&(_, at_ms)| at_ms);
        let calls_done_ms = calls.iter().fold(0, |busy_until_ms, &(_, at_ms)| {
            busy_until_ms.max(at_ms) + 5 * MINUTE_MS
        });
        let given_way_ms = first_call_ms.map_or(0, |first_ms| calls_done_ms - first_ms);
        // The first e-mail, answered at 1 h, gives way to the calls and then takes its 60
        // minutes in all: it ends an hour after 1 h, plus the time the calls took.
        let first_ticket = tickets[0].0;
        let ended_ms = |contact: u64| {
            log.0.iter().find_map(|event| match event.kind {
                EventKind::ContactEnded {
                    contact: c,
                    outcome: Outcome::Completed,
                    ..
                } if c.0 == contact => Some(event.time_ms),
                _ => None,
            })
        };
        let first_done_ms = 120 * MINUTE_MS + given_way_ms;
        assert_eq!(ended_ms(first_ticket), Some(first_done_ms), "{calls:?}");
        let talk_ms = log.0.iter().find_map(|event| match event.kind {
            EventKind::ConversationEnded {
                contact, talk_ms, ..
            } if contact.0 == first_ticket => Some(talk_ms),
            _ => None,
        });
        assert_eq!(talk_ms, Some(60 * MINUTE_MS));
        let preempted = log
            .0
            .iter()
            .filter(|event| matches!(event.kind, EventKind::ContactPreempted { .. }))
            .count();
        assert_eq!(preempted, usize::from(!calls.is_empty()));
        replications_with_preemption += preempted;
        // The others follow, an hour each; a ticket is met when answered within 90 minutes.
        let answered_ms = |index: usize| match index {
            0 => 60 * MINUTE_MS,
            _ => first_done_ms + (index as u64 - 1) * 60 * MINUTE_MS,
        };
        for (index, &(ticket, _)) in tickets.iter().enumerate() {
            assert_eq!(
                ended_ms(ticket),
                Some(
                    answered_ms(index) + 60 * MINUTE_MS + if index == 0 { given_way_ms } else { 0 }
                )
            );
        }
        let met = tickets
            .iter()
            .enumerate()
            .filter(|&(index, &(_, arrived_ms))| answered_ms(index) <= arrived_ms + 90 * MINUTE_MS)
            .count() as u64;
        let center = &output.metrics.whole[0];
        assert_eq!(center.tickets_due, tickets.len() as u64);
        assert_eq!(center.tickets_met, met);
    }
    assert!(
        replications_with_preemption >= 2,
        "{replications_with_preemption}"
    );
}

#[test]
fn preemption_gives_the_same_trace_on_one_and_two_threads() {
    assert_the_same_on_one_and_two_threads(&preemption());
}

/// Callback promises: calls arrive in the first 20 minutes while nobody is logged in; each
/// waits `max_wait` (10 minutes) and becomes a callback request, promised within the hour
/// (`callback_due`). One agent logs in at 1 h and calls the customers back in their order of
/// arrival, each call exactly 10 minutes. Nobody hangs up.
const PROMISES: &str = r#"
[scenario]
name = "callback promises"
seed = 1
duration = "3h"
interval = "30m"
replications = 6

[[queue]]
name = "calls"
channel = "voice"
max_wait = "10m"
on_max_wait = "callback"
CALLBACK_DUE

[[agents]]
name = "phones"
count = 1

[[people]]
agents = "phones"
plan = [{ start = "0h", agents = 0 }, { start = "1h", agents = 1 }]

[[traffic]]
queue = "calls"
profile = [{ start = "0h", volume = 7 }, { start = "20m", volume = 0 }]
handle_time = { dist = "constant", value = "10m" }
"#;

fn promises(callback_due: &str) -> switchboard_sim::model::Model {
    model_from_text(&PROMISES.replace("CALLBACK_DUE", callback_due)).expect("a valid scenario")
}

/// Runs one replication of `model`, its invariants checked; returns its output and its
/// events.
fn replication_log(
    model: &switchboard_sim::model::Model,
    replication: u32,
) -> (switchboard_sim::replication::ReplicationOutput, EventLog) {
    use switchboard_sim::replication::{run_replication, ReplicationOptions};
    let mut log = EventLog::default();
    let output = run_replication(
        model,
        model.settings.seed,
        replication,
        ReplicationOptions {
            check_invariants: true,
            observer: Some(&mut log),
            ..ReplicationOptions::default()
        },
    )
    .expect("invariants hold");
    assert_eq!(output.rejected_inputs, 0);
    (output, log)
}

#[test]
fn a_callback_promise_is_a_ticket_due_an_hour_after_the_request_and_met_if_called_back_by_then() {
    check_promises(
        &promises(r#"callback_due = { within = "1h" }"#),
        10 * 60_000,
    );
}

#[test]
fn a_callback_offer_accepted_in_the_ivr_is_a_promise_from_the_request() {
    // Every caller presses 1 once the offer's 30-second prompt has played.
    let text = PROMISES
        .replace("max_wait = \"10m\"\non_max_wait = \"callback\"\n", "")
        .replace(
            "CALLBACK_DUE",
            r#"callback_due = { within = "1h" }

[[ivr]]
name = "main"
start = "offer"

[[ivr.node]]
id = "offer"
kind = "callback"
queue = "calls"
prompt = "we-call-you-back"
duration = "30s"
declined = "join"

[[ivr.node]]
id = "join"
kind = "queue"
queue = "calls""#,
        )
        .replace(
            "[[traffic]]\nqueue = \"calls\"",
            "[[traffic]]\nflow = \"main\"\nchoices = { offer = { \"1\" = 1.0 } }",
        );
    check_promises(&model_from_text(&text).expect("a valid scenario"), 30_000);
}

/// Checks [`PROMISES`] (or a variant) exactly: each caller's callback is requested
/// `request_delay_ms` after arrival and due an hour later; one agent from 1 h calls the
/// customers back in their order of arrival, 10 minutes each.
fn check_promises(model: &switchboard_sim::model::Model, request_delay_ms: u64) {
    use switchboard_engine::EventKind;
    const MINUTE_MS: u64 = 60_000;
    let mut missed_somewhere = false;
    for replication in 0..6 {
        let (output, log) = replication_log(model, replication);
        let arrivals: Vec<(u64, u64)> = log
            .0
            .iter()
            .filter_map(|event| match event.kind {
                EventKind::ContactArrived { contact, .. } => Some((contact.0, event.time_ms)),
                _ => None,
            })
            .collect();
        let time_of = |wanted: fn(&EventKind) -> Option<u64>, contact: u64| {
            log.0
                .iter()
                .find(|event| wanted(&event.kind) == Some(contact))
                .map(|event| event.time_ms)
        };
        let requested = |kind: &EventKind| match kind {
            EventKind::CallbackRequested { contact, .. } => Some(contact.0),
            _ => None,
        };
        let answered = |kind: &EventKind| match kind {
            EventKind::ContactAnswered { contact, .. } => Some(contact.0),
            _ => None,
        };
        // The k-th caller (from 0) is a request `request_delay_ms` after arriving, due an hour
        // later, and is called back at 1 h + 10k min.
        let mut expected_met = 0;
        let mut expected_overdue_at_90_minutes = 0;
        for (k, &(contact, arrived_ms)) in arrivals.iter().enumerate() {
            let requested_ms = arrived_ms + request_delay_ms;
            let due_ms = requested_ms + 60 * MINUTE_MS;
            let answered_ms = 60 * MINUTE_MS + 10 * MINUTE_MS * k as u64;
            assert_eq!(time_of(requested, contact), Some(requested_ms));
            let answer = time_of(answered, contact);
            assert_eq!(answer, Some(answered_ms).filter(|&at| at < 180 * MINUTE_MS));
            expected_met += u64::from(answered_ms <= due_ms);
            // Due by 90 min (every one is: arrival < 20 min), not yet called back just before.
            expected_overdue_at_90_minutes += u64::from(answered_ms >= 90 * MINUTE_MS);
        }
        let calls = arrivals.len() as u64;
        assert!(calls > 0);
        missed_somewhere |= expected_met < calls;
        // Arrived in the first 20 minutes, requested at most 10 minutes later, every request
        // is due in the interval 1 h – 1 h 30.
        let center = &output.metrics.whole[0];
        assert_eq!(center.callbacks, calls);
        assert_eq!(center.tickets_due, calls);
        assert_eq!(center.tickets_met, expected_met);
        let queue = output
            .metrics
            .scopes
            .iter()
            .position(|scope| *scope == Scope::Queue(0))
            .unwrap();
        let intervals = output.metrics.interval_count;
        assert_eq!(intervals, 6);
        let at =
            |scope: usize, interval: usize| &output.metrics.intervals[scope * intervals + interval];
        for scope in [0, queue] {
            for interval in 0..intervals {
                let expected_due = if interval == 2 { calls } else { 0 };
                assert_eq!(
                    at(scope, interval).tickets_due,
                    expected_due,
                    "interval {interval}"
                );
            }
            assert_eq!(at(scope, 2).tickets_met, expected_met);
            assert_eq!(at(scope, 1).overdue, 0);
            assert_eq!(at(scope, 2).overdue, expected_overdue_at_90_minutes);
        }
    }
    assert!(missed_somewhere, "some replication has a promise broken");
}

#[test]
fn without_callback_due_a_callback_request_is_no_ticket() {
    for replication in 0..2 {
        let (output, _) = replication_log(&promises(""), replication);
        let center = &output.metrics.whole[0];
        assert!(center.callbacks > 0);
        assert_eq!(
            (center.tickets_due, center.tickets_met, center.overdue),
            (0, 0, 0)
        );
    }
}

#[test]
fn callback_promises_give_the_same_trace_on_one_and_two_threads() {
    assert_the_same_on_one_and_two_threads(
        &PROMISES.replace("CALLBACK_DUE", r#"callback_due = { within = "1h" }"#),
    );
}

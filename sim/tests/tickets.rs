//! E-mail tickets carried across intervals: the `backlog` metric counts the contacts still
//! waiting as each interval ends, and constant handle times give exact answers.

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
    let model = model_from_text(INBOX).expect("a valid scenario");
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    assert_eq!(result.summary.rejected_inputs, 0);
    result
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

//! Sites as datacenters and the faults played on them: the accounting stays exact under every
//! fault type, replication decides exactly what a failed site loses, and runs with faults stay
//! deterministic.

use proptest::prelude::*;
use switchboard_results::Metric;
use switchboard_sim::failover::{FailoverOutput, Ledger};
use switchboard_sim::model::Model;
use switchboard_sim::run::{model_from_text, RunOptions, RunResult};
use switchboard_sim::topology::{Fault, FaultKind, PartitionPolicy, ReplicationMode};

/// Two datacenters, an IVR, a voice queue that turns long waits into callback requests, a chat
/// queue, staffing plans with shrinkage, breaks, retrials: everything a fault can meet. The
/// center is overloaded so that queues are long when a fault strikes.
fn scenario(replication: &str, faults: &str) -> String {
    format!(
        r#"
[scenario]
seed = 5
duration = "90m"
warmup = "0s"
interval = "15m"
replications = 3

[center]
offer_timeout = "15s"

[[site]]
name = "north"

[[site]]
name = "south"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]
wrap_up = "10s"
max_wait = "4m"
on_max_wait = "callback"

[[queue]]
name = "chat"
channel = "chat"
skills = ["chat"]

[[ivr]]
name = "main"
start = "menu"
node = [
  {{ kind = "menu", id = "menu", prompt = "welcome", duration = "8s", options = {{ "1" = "to-sales", "2" = "status" }}, on_fail = "to-sales" }},
  {{ kind = "queue", id = "to-sales", queue = "sales" }},
  {{ kind = "self-service", id = "status", prompt = "your order", duration = "30s" }},
]

[[traffic]]
flow = "main"
rate = "260/h"
handle_time = {{ dist = "exponential", mean = "4m" }}
patience = {{ dist = "exponential", mean = "6m" }}
retrial = {{ probability = 0.5, delay = {{ dist = "exponential", mean = "2m" }} }}
choices = {{ menu = {{ "1" = 0.8, "2" = 0.15 }} }}

[[traffic]]
queue = "chat"
rate = "60/h"
handle_time = {{ dist = "exponential", mean = "6m" }}
patience = {{ dist = "exponential", mean = "5m" }}

[[agents]]
name = "north-voice"
count = 8
skills = ["sales"]
site = "north"

[[agents]]
name = "south-voice"
count = 8
skills = ["sales"]
site = "south"

[[agents]]
name = "chat-team"
count = 3
skills = ["chat"]
site = "south"

[[people]]
agents = "north-voice"
plan = [{{ start = "0m", agents = 6 }}, {{ start = "30m", agents = 8 }}, {{ start = "60m", agents = 5 }}]
shrinkage = {{ fraction = 0.1, length = {{ dist = "exponential", mean = "3m" }} }}
answer_delay = {{ dist = "constant", value = "2s" }}
no_answer = 0.05

[[people]]
agents = "chat-team"
shifts = [{{ starts = ["0m"], length = "90m", agents = 3, breaks = [{{ offset = "40m", duration = "10m" }}] }}]

[topology]
mode = "active-active"
detection = {{ options_interval = "5s", misses = 3 }}
reroute_delay = "1s"
reregistration_delay = "20s"
cross_site_latency = "5ms"
replication = {replication}

[[topology.site]]
name = "north"
trunk_lines = 40
weight = 2
backup = "south"

[[topology.site]]
name = "south"
trunk_lines = 30
weight = 1
backup = "north"
{faults}
"#
    )
}

const OUTAGE: &str = r#"
[[fault]]
kind = "site-outage"
site = "north"
start = "45m"
duration = "20m"
"#;

fn run(model: &Model, threads: usize) -> RunResult {
    let options = RunOptions {
        threads,
        check_invariants: true,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(model, &options, &|_| {}).expect("invariants hold");
    assert_eq!(
        result.summary.rejected_inputs,
        0,
        "the engine accepted every input: {:?}",
        result
            .figures
            .iter()
            .find_map(|figures| figures.first_rejection.clone())
    );
    result
}

/// The accounting identity, and the engine's own counts agree with the ledger.
fn assert_exact(result: &RunResult) {
    assert_eq!(result.failover_outputs.len(), result.figures.len());
    let dropped = result.values(0, Metric::Dropped);
    let answered_or_wrapping = result.values(0, Metric::Answered);
    for (index, output) in result.failover_outputs.iter().enumerate() {
        let ledger: &Ledger = &output.ledger;
        assert_eq!(
            ledger.offered,
            ledger.ended_or_inside(),
            "offered = answered + abandoned + blocked + dropped + lost + self-served + still inside: {ledger:?}"
        );
        assert_eq!(ledger.offered, result.figures[index].contacts);
        assert_eq!(ledger.still_inside, result.figures[index].still_inside);
        assert_eq!(ledger.dropped_other, 0, "only faults drop contacts");
        assert_eq!(
            dropped[index],
            (ledger.dropped + ledger.lost_queued + ledger.lost_callbacks) as f64,
            "the engine ended as dropped exactly what the faults dropped or lost"
        );
        assert!(ledger.answered as f64 <= answered_or_wrapping[index]);
        let harmed: u64 = output.windows.iter().map(|window| window.harmed).sum();
        assert_eq!(
            harmed,
            ledger.dropped
                + ledger.lost_queued
                + ledger.lost_callbacks
                + ledger.failed_during_detection
                + ledger.no_site_up
                + ledger.trunk_blocked,
            "the timeline places every harmed contact in a window"
        );
        let offered: u64 = output.windows.iter().map(|window| window.offered).sum();
        assert_eq!(offered, ledger.offered);
    }
}

#[test]
fn a_site_outage_drops_calls_and_fails_calls_until_the_carrier_notices() {
    let model = model_from_text(&scenario(r#"{ mode = "none" }"#, OUTAGE)).unwrap();
    let result = run(&model, 2);
    assert_exact(&result);
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert!(outcome.dropped > 0, "calls in conversation at north drop");
        assert!(
            outcome.waiting_at_site > 0,
            "the overloaded queue had callers at north"
        );
        assert!(outcome.time_to_answer_ms.is_some());
    }
    let failed: u64 = result
        .failover_outputs
        .iter()
        .map(|output| output.outcomes[0].failed_during_detection)
        .sum();
    // North takes 2/3 of about 320 contacts an hour; the carrier is blind for 16 s, so some
    // replications see no failed call: over three the sum is positive.
    assert!(
        failed > 0,
        "calls reach the dead site while the carrier is blind"
    );
    let json = serde_json::to_value(&result.summary).unwrap();
    let fault = &json["failover"]["faults"][0];
    assert_eq!(fault["kind"], "site-outage");
    assert_eq!(fault["site"], "north");
    assert!(json["failover"]["totals"]["offered"]["ci95"].is_array());
}

#[test]
fn without_replication_a_failed_site_loses_exactly_what_was_waiting_there() {
    let model = model_from_text(&scenario(r#"{ mode = "none" }"#, OUTAGE)).unwrap();
    let result = run(&model, 1);
    assert_exact(&result);
    let mut waiting = 0;
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert_eq!(outcome.taken_over, 0);
        assert_eq!(
            outcome.lost_queued + outcome.lost_callbacks,
            outcome.waiting_at_site
        );
        assert_eq!(
            output.ledger.lost_queued + output.ledger.lost_callbacks,
            outcome.waiting_at_site,
            "nothing else is lost in the run"
        );
        waiting += outcome.waiting_at_site;
    }
    assert!(waiting > 0);
}

#[test]
fn with_synchronous_replication_nothing_waiting_is_lost() {
    let model =
        model_from_text(&scenario(r#"{ mode = "sync", latency = "2ms" }"#, OUTAGE)).unwrap();
    let result = run(&model, 2);
    assert_exact(&result);
    let mut taken_over = 0;
    let mut callbacks_taken_over = false;
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert_eq!(outcome.lost_queued, 0);
        assert_eq!(outcome.lost_callbacks, 0);
        assert_eq!(output.ledger.lost_queued + output.ledger.lost_callbacks, 0);
        assert_eq!(outcome.taken_over, outcome.waiting_at_site);
        assert!(
            outcome.dropped > 0,
            "replication does not save calls in conversation"
        );
        taken_over += outcome.taken_over;
        callbacks_taken_over |= outcome.waiting_at_site > 0;
    }
    assert!(
        taken_over > 0,
        "the check is not vacuous: contacts were waiting at north"
    );
    assert!(callbacks_taken_over);
}

#[test]
fn with_asynchronous_replication_only_the_changes_younger_than_the_lag_are_lost() {
    let none = run(
        &model_from_text(&scenario(r#"{ mode = "none" }"#, OUTAGE)).unwrap(),
        1,
    );
    let lagging = run(
        &model_from_text(&scenario(r#"{ mode = "async", lag = "30s" }"#, OUTAGE)).unwrap(),
        1,
    );
    assert_exact(&lagging);
    for (without, with) in none.failover_outputs.iter().zip(&lagging.failover_outputs) {
        let (without, with) = (&without.outcomes[0], &with.outcomes[0]);
        // Common random numbers: the same contacts wait at north when it fails.
        assert_eq!(with.waiting_at_site, without.waiting_at_site);
        assert_eq!(
            with.lost_queued + with.lost_callbacks + with.taken_over,
            with.waiting_at_site
        );
        assert!(
            with.lost_queued + with.lost_callbacks < without.lost_queued + without.lost_callbacks
        );
    }
}

#[test]
fn runs_with_faults_are_deterministic_on_any_number_of_threads() {
    let faults = format!(
        "{OUTAGE}\n[[fault]]\nkind = \"trunk-outage\"\nsite = \"south\"\nstart = \"20m\"\nduration = \"10m\"\ncapacity = 0.3\n"
    );
    let model = model_from_text(&scenario(r#"{ mode = "async", lag = "1s" }"#, &faults)).unwrap();
    let one = run(&model, 1);
    let two = run(&model, 2);
    assert_eq!(one.trace_hash, two.trace_hash);
    assert_eq!(one.failover_outputs, two.failover_outputs);
}

fn kind_name(kind: FaultKind) -> &'static str {
    kind.name()
}

fn fault_tables(faults: &[Fault]) -> String {
    let site = |index: usize| ["north", "south"][index];
    faults
        .iter()
        .map(|fault| {
            let mut table = format!(
                "\n[[fault]]\nkind = \"{}\"\nsite = \"{}\"\nstart = \"{}ms\"\nduration = \"{}ms\"\n",
                kind_name(fault.kind),
                site(fault.site),
                fault.start_ms,
                fault.duration_ms
            );
            if let Some(peer) = fault.peer {
                table += &format!("peer = \"{}\"\n", site(peer));
            }
            if fault.kind == FaultKind::TrunkOutage {
                table += &format!("capacity = {}\n", fault.capacity);
            }
            if let Some(policy) = fault.policy {
                table += &format!("policy = \"{}\"\n", policy.name());
            }
            table
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Conservation holds under every fault type: random schedules of one to three faults of
    /// any kind, under every replication mode, checked after every step of every replication.
    #[test]
    fn accounting_is_exact_under_random_fault_schedules(
        schedule_seed in any::<u64>(),
        replication in 0usize..3,
        standby in any::<bool>(),
        trunk_lines in 8u32..40,
        fence in any::<bool>(),
    ) {
        let replication = [
            r#"{ mode = "none" }"#,
            r#"{ mode = "async", lag = "3s" }"#,
            r#"{ mode = "sync", latency = "2ms" }"#,
        ][replication];
        // Either architecture, and trunks from scarce to ample.
        let variant = |faults: &str| {
            let text = scenario(replication, faults)
                .replace("trunk_lines = 40", &format!("trunk_lines = {trunk_lines}"));
            if standby {
                text.replace("mode = \"active-active\"", "mode = \"active-standby\"")
                    .replace(
                        "trunk_lines = 30\nweight = 1\n",
                        "trunk_lines = 30\nweight = 1\nstandby = true\n",
                    )
            } else {
                text
            }
        };
        let base = model_from_text(&variant("")).unwrap();
        let topology = base.topology.as_ref().unwrap();
        let mut faults = topology.random_faults(base.duration_ms, schedule_seed);
        // Either way of settling a partition.
        let policy = if fence { PartitionPolicy::Fence } else { PartitionPolicy::SplitBrain };
        for fault in &mut faults {
            if fault.kind == FaultKind::Partition {
                fault.policy = Some(policy);
            }
        }
        // Through the file, so that every fault drawn is one a user could write.
        let model = model_from_text(&variant(&fault_tables(&faults))).unwrap();
        prop_assert_eq!(
            model.topology.as_ref().unwrap().mode == switchboard_sim::topology::SiteMode::ActiveStandby,
            standby
        );
        prop_assert_eq!(&model.topology.as_ref().unwrap().faults, &faults);
        let mut short = model.clone();
        short.settings.replications = 2;
        let result = run(&short, 1);
        assert_exact(&result);
        let synchronous = matches!(
            short.topology.as_ref().unwrap().replication,
            ReplicationMode::Synchronous { .. }
        );
        let site_down = |fault: &Fault| {
            matches!(fault.kind, FaultKind::SiteOutage | FaultKind::EngineRestart)
                || fault.fences()
        };
        for output in &result.failover_outputs {
            for (fault, outcome) in faults.iter().zip(&output.outcomes) {
                prop_assert_eq!(
                    outcome.lost_queued + outcome.lost_callbacks + outcome.taken_over,
                    outcome.waiting_at_site
                );
                // Synchronous replication loses state only across a partition, or when the
                // other datacenter is down too.
                let no_peer = faults.iter().any(|other| {
                    other.site != fault.site
                        && site_down(other)
                        && other.start_ms <= fault.start_ms
                        && fault.start_ms < other.start_ms + other.duration_ms
                });
                let partitioned = faults.iter().any(|other| other.kind == FaultKind::Partition);
                if synchronous && !no_peer && !partitioned {
                    prop_assert_eq!(outcome.lost_queued + outcome.lost_callbacks, 0);
                }
                if fault.fences() {
                    prop_assert_eq!(outcome.answered_across_partition, 0);
                }
            }
            let FailoverOutput { ledger, outcomes, .. } = output;
            let lost_by_faults: u64 = outcomes
                .iter()
                .map(|outcome| outcome.lost_queued + outcome.lost_callbacks)
                .sum();
            prop_assert_eq!(ledger.lost_queued + ledger.lost_callbacks, lost_by_faults);
        }
    }
}

#[test]
fn topology_mistakes_are_placed_in_the_file() {
    let text = scenario(
        r#"{ mode = "none" }"#,
        "\n[[fault]]\nkind = \"site-outage\"\nsite = \"west\"\nstart = \"1m\"\nduration = \"1m\"\n",
    );
    let shown = model_from_text(&text).unwrap_err().to_string();
    let line = text
        .lines()
        .position(|line| line == "site = \"west\"")
        .unwrap()
        + 1;
    assert!(
        shown.starts_with(&format!("<scenario>:{line}:8: unknown site `west`")),
        "{shown}"
    );
    let text = scenario(r#"{ mode = "async" }"#, "");
    let shown = model_from_text(&text).unwrap_err().to_string();
    assert!(shown.contains("`mode = \"async\"` with `lag`"), "{shown}");
    let text = scenario(r#"{ mode = "none" }"#, "").replace("misses = 3", "misses = 0");
    let shown = model_from_text(&text).unwrap_err().to_string();
    assert!(shown.contains("`misses` ≥ 1"), "{shown}");
    let text =
        scenario(r#"{ mode = "none" }"#, "").replace("trunk_lines = 40", "trunk_lines = \"many\"");
    let shown = model_from_text(&text).unwrap_err().to_string();
    assert!(
        shown.contains("trunk_lines") || shown.contains("invalid type"),
        "{shown}"
    );
}

#[test]
fn an_agent_group_may_name_its_own_backup_site() {
    // North has no backup site: its agents wait for it to come back, unless their group
    // names one.
    let without = scenario(r#"{ mode = "none" }"#, OUTAGE).replacen("backup = \"south\"\n", "", 1);
    let with = format!(
        "{without}\n[[topology.agents]]\nname = \"north-voice\"\nbackup_site = \"south\"\n"
    );
    let answered = |text: &str| -> u64 {
        let result = run(&model_from_text(text).unwrap(), 2);
        assert_exact(&result);
        result
            .failover_outputs
            .iter()
            .map(|output| output.ledger.answered)
            .sum()
    };
    assert!(answered(&with) > answered(&without));
    let wrong =
        format!("{without}\n[[topology.agents]]\nname = \"north-vice\"\nbackup_site = \"south\"\n");
    let shown = model_from_text(&wrong).unwrap_err().to_string();
    assert!(
        shown.contains("no `[[agents]]` group is named `north-vice`"),
        "{shown}"
    );
}

#[test]
fn a_queue_owned_by_a_site_keeps_its_waiting_contacts_state_there() {
    // Every queue belongs to south: calls that arrive by north's trunk wait in south's engine,
    // so north's outage drops the calls on its lines but loses no waiting state.
    let text = scenario(r#"{ mode = "none" }"#, OUTAGE)
        .replace(
            "name = \"sales\"\nchannel = \"voice\"",
            "name = \"sales\"\nsite = \"south\"\nchannel = \"voice\"",
        )
        .replace(
            "name = \"chat\"\nchannel = \"chat\"",
            "name = \"chat\"\nsite = \"south\"\nchannel = \"chat\"",
        );
    let result = run(&model_from_text(&text).unwrap(), 2);
    assert_exact(&result);
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        // Only contacts still in the IVR (no queue yet) wait at north.
        assert!(outcome.waiting_at_site <= 3, "{outcome:?}");
        assert!(outcome.dropped > 0);
    }
    let unowned = run(
        &model_from_text(&scenario(r#"{ mode = "none" }"#, OUTAGE)).unwrap(),
        2,
    );
    let waiting = |result: &switchboard_sim::run::RunResult| -> u64 {
        result
            .failover_outputs
            .iter()
            .map(|output| output.outcomes[0].waiting_at_site)
            .sum()
    };
    assert!(waiting(&result) * 5 < waiting(&unowned));
}

const PARTITION: &str = r#"
[[fault]]
kind = "partition"
site = "north"
peer = "south"
start = "30m"
duration = "30m"
"#;

#[test]
fn answers_across_a_partition_are_counted_because_routing_does_not_split() {
    // Agents at both sites, calls held at both: the one engine routes across the partition,
    // and the failover counts each such answer.
    let model = model_from_text(&scenario(
        r#"{ mode = "sync", latency = "2ms" }"#,
        PARTITION,
    ))
    .unwrap();
    let result = run(&model, 2);
    assert_exact(&result);
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert!(outcome.answered_across_partition > 0, "{outcome:?}");
        assert!(
            outcome.answered_across_partition
                <= output.ledger.answered + output.ledger.still_inside
        );
        assert_eq!(
            (
                outcome.dropped,
                outcome.lost_queued,
                outcome.waiting_at_site
            ),
            (0, 0, 0)
        );
    }
    let json = serde_json::to_value(&result.summary).unwrap();
    assert!(
        json["failover"]["faults"][0]["answered_across_partition"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // Every agent at north and every call sent there: nothing crosses, exactly.
    let one_sided = scenario(r#"{ mode = "sync", latency = "2ms" }"#, PARTITION)
        .replace("site = \"south\"", "site = \"north\"")
        .replace(
            "weight = 1\nbackup = \"north\"",
            "weight = 0\nbackup = \"north\"",
        );
    let result = run(&model_from_text(&one_sided).unwrap(), 2);
    assert_exact(&result);
    for output in &result.failover_outputs {
        assert_eq!(output.outcomes[0].answered_across_partition, 0);
    }
    // Other kinds of fault have no such figure.
    let json = serde_json::to_value(
        run(
            &model_from_text(&scenario(r#"{ mode = "none" }"#, OUTAGE)).unwrap(),
            2,
        )
        .summary,
    )
    .unwrap();
    assert!(json["failover"]["faults"][0]
        .get("answered_across_partition")
        .is_none());
}

/// The trace of replication 0 as JSON values, one per event.
fn traced_events(model: &Model) -> Vec<serde_json::Value> {
    #[derive(Clone, Default)]
    struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = SharedBuffer::default();
    let output = switchboard_sim::replication::run_replication(
        model,
        7,
        0,
        switchboard_sim::replication::ReplicationOptions {
            check_invariants: true,
            trace: Some(Box::new(buffer.clone())),
            observer: None,
            quantum_ms: 0,
        },
    )
    .expect("invariants hold");
    assert_eq!(output.rejected_inputs, 0, "the engine accepted every input");
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn synchronous_replication_delays_each_change_the_simulator_drives_by_its_commit() {
    // No retrials and no faults, so that contact k is the same caller in both runs: arrival
    // streams do not depend on the replication mode.
    let center = |replication: &str| {
        format!(
            r#"
[scenario]
seed = 7
duration = "1h"
warmup = "0s"
replications = 1

[[site]]
name = "north"

[[site]]
name = "south"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[traffic]]
queue = "sales"
rate = "120/h"
handle_time = {{ dist = "exponential", mean = "4m" }}
patience = {{ dist = "exponential", mean = "2m" }}

[[agents]]
name = "north-voice"
count = 5
skills = ["sales"]
site = "north"

[[agents]]
name = "south-voice"
count = 5
skills = ["sales"]
site = "south"

[topology]
detection = {{ options_interval = "5s", misses = 3 }}
reregistration_delay = "20s"
replication = {replication}

[[topology.site]]
name = "north"
backup = "south"

[[topology.site]]
name = "south"
backup = "north"
"#
        )
    };
    // A commit far slower than a real one makes the shift plain in the trace.
    let commit_ms = 3_000;
    let synchronous = model_from_text(&center(r#"{ mode = "sync", latency = "3s" }"#)).unwrap();
    let asynchronous = model_from_text(&center(r#"{ mode = "async", lag = "2s" }"#)).unwrap();
    let times = |events: &[serde_json::Value], kind: &str, key: &str| {
        let mut first = std::collections::BTreeMap::new();
        for event in events.iter().filter(|event| event["event"] == kind) {
            first
                .entry(event[key].to_string())
                .or_insert(event["time_ms"].as_u64().unwrap());
        }
        first
    };
    let sync_events = traced_events(&synchronous);
    let async_events = traced_events(&asynchronous);
    // Each arrival reaches the engine once committed.
    let sync_arrivals = times(&sync_events, "contact-arrived", "contact");
    let async_arrivals = times(&async_events, "contact-arrived", "contact");
    assert!(sync_arrivals.len() > 60, "{}", sync_arrivals.len());
    for (contact, &time_ms) in &sync_arrivals {
        assert_eq!(
            time_ms,
            async_arrivals[contact] + commit_ms,
            "contact {contact}"
        );
    }
    // Only callers arriving in the last `commit_ms` of the run never reach the engine.
    for (contact, &time_ms) in &async_arrivals {
        assert!(
            sync_arrivals.contains_key(contact) || time_ms + commit_ms >= 3_600_000,
            "contact {contact} arrived at {time_ms} ms"
        );
    }
    // Each agent's login is committed before the engine makes it ready.
    let sync_logins = times(&sync_events, "agent-state-changed", "agent");
    let async_logins = times(&async_events, "agent-state-changed", "agent");
    assert_eq!(sync_logins.len(), 10);
    assert!(async_logins.values().all(|&time_ms| time_ms == 0));
    assert!(sync_logins.values().all(|&time_ms| time_ms == commit_ms));
    // The accounting stays exact, and the run is the same on any number of threads.
    let result = run(&synchronous, 1);
    assert_exact(&result);
    assert_eq!(result.trace_hash, run(&synchronous, 2).trace_hash);
    // A commit slower than the IVR menu's 5 s timeout: callers' digits come too late and are
    // not heard, and the engine refuses no input (`run` checks it) under an outage.
    let slow = model_from_text(&scenario(r#"{ mode = "sync", latency = "6s" }"#, OUTAGE)).unwrap();
    assert_exact(&run(&slow, 2));
}

#[test]
fn a_contact_moved_to_another_sites_queue_is_answered_only_once_its_state_got_there() {
    // Every call comes in by north's trunk and joins a queue owned by south, whose agents take
    // it: its state crosses the network first. Asynchronous replication commits nothing before
    // acting, so the cross-site latency is the only delay between offer and answer.
    let center = |latency: &str| {
        format!(
            r#"
[scenario]
seed = 7
duration = "1h"
warmup = "0s"
replications = 1

[[site]]
name = "north"

[[site]]
name = "south"

[[queue]]
name = "sales"
site = "south"
channel = "voice"
skills = ["sales"]

[[traffic]]
queue = "sales"
rate = "120/h"
handle_time = {{ dist = "exponential", mean = "4m" }}
patience = {{ dist = "exponential", mean = "2m" }}

[[agents]]
name = "south-voice"
count = 10
skills = ["sales"]
site = "south"

[topology]
detection = {{ options_interval = "5s", misses = 3 }}
reregistration_delay = "20s"
cross_site_latency = "{latency}"
replication = {{ mode = "async", lag = "2s" }}

[[topology.site]]
name = "north"
backup = "south"

[[topology.site]]
name = "south"
weight = 0
backup = "north"
"#
        )
    };
    let delays = |latency: &str| {
        let events = traced_events(&model_from_text(&center(latency)).unwrap());
        let mut queued = std::collections::BTreeMap::new();
        let mut delays = Vec::new();
        for event in &events {
            let contact = event["contact"].to_string();
            let time_ms = event["time_ms"].as_u64().unwrap();
            if event["event"] == "contact-queued" {
                queued.insert(contact, time_ms);
            } else if event["event"] == "contact-answered" {
                delays.push(time_ms - queued[&contact]);
            }
        }
        delays
    };
    // A latency far above a real one makes the hold plain in the trace.
    let held = delays("3s");
    let immediate = delays("0s");
    assert!(held.len() > 60, "{}", held.len());
    assert!(held.iter().all(|&delay_ms| delay_ms >= 3_000), "{held:?}");
    // Ten agents for two calls a minute: most are offered as they join, and then answered
    // exactly when their state arrives.
    assert!(held.iter().filter(|&&delay_ms| delay_ms == 3_000).count() * 2 > held.len());
    assert!(immediate.iter().filter(|&&delay_ms| delay_ms == 0).count() * 2 > immediate.len());
    let result = run(&model_from_text(&center("3s")).unwrap(), 1);
    assert_exact(&result);
}

fn fenced(replication: &str) -> RunResult {
    let faults = format!("{PARTITION}policy = \"fence\"\n");
    let model = model_from_text(&scenario(replication, &faults)).unwrap();
    assert_eq!(
        model.topology.as_ref().unwrap().faults[0].policy,
        Some(PartitionPolicy::Fence)
    );
    run(&model, 2)
}

#[test]
fn a_fenced_side_serves_nobody_and_its_waiting_contacts_go_to_the_peer_under_sync() {
    let result = fenced(r#"{ mode = "sync", latency = "2ms" }"#);
    assert_exact(&result);
    let mut taken_over = 0;
    let mut failed = 0;
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert_eq!(outcome.answered_across_partition, 0, "{outcome:?}");
        assert_eq!((outcome.lost_queued, outcome.lost_callbacks), (0, 0));
        assert_eq!(output.ledger.lost_queued + output.ledger.lost_callbacks, 0);
        assert_eq!(outcome.taken_over, outcome.waiting_at_site);
        // Its media path is up: calls in conversation at the fenced side continue.
        assert_eq!(outcome.dropped, 0);
        assert_eq!(output.ledger.dropped, 0);
        taken_over += outcome.taken_over;
        failed += outcome.failed_during_detection;
    }
    assert!(
        taken_over > 0,
        "contacts were waiting at north when it fenced"
    );
    // North takes 2/3 of the calls; the carrier keeps sending them there until its health
    // check fails (16 s at most), so over three replications some fail.
    assert!(
        failed > 0,
        "calls reach the fenced side until the carrier notices"
    );
    let json = serde_json::to_value(&result.summary).unwrap();
    assert_eq!(json["failover"]["faults"][0]["policy"], "fence");
    assert_eq!(
        json["failover"]["faults"][0]["answered_across_partition"]["mean"],
        0.0
    );
}

#[test]
fn a_fenced_side_without_replication_loses_exactly_what_was_waiting_there() {
    let result = fenced(r#"{ mode = "none" }"#);
    assert_exact(&result);
    let mut waiting = 0;
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert_eq!(outcome.answered_across_partition, 0);
        assert_eq!(outcome.taken_over, 0);
        assert_eq!(
            outcome.lost_queued + outcome.lost_callbacks,
            outcome.waiting_at_site
        );
        assert_eq!(
            output.ledger.lost_queued + output.ledger.lost_callbacks,
            outcome.waiting_at_site,
            "nothing else is lost in the run"
        );
        waiting += outcome.waiting_at_site;
    }
    assert!(waiting > 0);
    // The same contacts wait at north when it fences as when it fails, whatever the policy
    // does afterwards: the schedule up to the fault is the same traffic.
    let outage = run(
        &model_from_text(&scenario(
            r#"{ mode = "none" }"#,
            &PARTITION
                .replace("partition", "site-outage")
                .replace("peer = \"south\"\n", ""),
        ))
        .unwrap(),
        1,
    );
    for (fence, outage) in result.failover_outputs.iter().zip(&outage.failover_outputs) {
        assert_eq!(
            fence.outcomes[0].waiting_at_site,
            outage.outcomes[0].waiting_at_site
        );
    }
}

#[test]
fn fenced_runs_are_deterministic_on_any_number_of_threads() {
    let faults = format!("{PARTITION}policy = \"fence\"\n");
    let model = model_from_text(&scenario(r#"{ mode = "async", lag = "5s" }"#, &faults)).unwrap();
    let one = run(&model, 1);
    let two = run(&model, 2);
    assert_exact(&one);
    assert_eq!(one.trace_hash, two.trace_hash);
    assert_eq!(one.failover_outputs, two.failover_outputs);
    // The policy changes what happens: split-brain leaves the same traffic a different trace.
    let split = run(
        &model_from_text(&scenario(r#"{ mode = "async", lag = "5s" }"#, PARTITION)).unwrap(),
        1,
    );
    assert_ne!(split.trace_hash, one.trace_hash);
    assert_eq!(
        split.failover_outputs[0].faults[0].policy,
        Some(PartitionPolicy::SplitBrain),
        "split-brain is the default"
    );
}

#[test]
fn a_policy_on_another_kind_of_fault_is_placed_in_the_file() {
    let text = scenario(
        r#"{ mode = "none" }"#,
        &format!("{OUTAGE}policy = \"fence\"\n"),
    );
    let shown = model_from_text(&text).unwrap_err().to_string();
    let line = text
        .lines()
        .position(|line| line == "policy = \"fence\"")
        .unwrap()
        + 1;
    assert!(
        shown.starts_with(&format!(
            "<scenario>:{line}:10: `policy` belongs to `partition` faults only"
        )),
        "{shown}"
    );
    let text = scenario(
        r#"{ mode = "none" }"#,
        &format!("{PARTITION}policy = \"witness\"\n"),
    );
    let shown = model_from_text(&text).unwrap_err().to_string();
    assert!(
        shown.contains("split-brain") && shown.contains("fence"),
        "{shown}"
    );
}

#[test]
fn a_fault_late_in_a_minute_is_not_recovered_before_the_carrier_notices() {
    // The active-standby bank loses dc-north 59 s into a minute: the RTO's windows start at
    // the fault and after it, so calls from before the fault cannot make it look recovered.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/bank-failover-active-standby.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let fault = "kind = \"site-outage\"\nsite = \"dc-north\"\nstart = \"2h\"";
    assert!(text.contains(fault));
    let late = text.replace(fault, &fault.replace("\"2h\"", "\"2h59s\""));
    let result = run(&model_from_text(&late).unwrap(), 2);
    for output in &result.failover_outputs {
        let rto_ms = output.outcomes[0].rto_ms;
        // Calls fail for the 25 s × 3 the carrier needs to notice: never back at once.
        assert!(rto_ms.is_none_or(|rto_ms| rto_ms >= 60_000), "{rto_ms:?}");
    }
}

#[test]
fn a_standby_site_of_weight_zero_is_refused_at_its_name() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/bank-failover-active-standby.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let standby = "name = \"dc-south\"\ntrunk_lines = 120\nweight = 1\nstandby = true";
    assert!(text.contains(standby));
    let broken = text.replace(standby, &standby.replace("weight = 1", "weight = 0"));
    let shown = model_from_text(&broken).unwrap_err().to_string();
    // The topology's `[[topology.site]]` comes after the center's `[[site]]` of the same name.
    let line = broken
        .lines()
        .enumerate()
        .filter(|(_, line)| *line == "name = \"dc-south\"")
        .last()
        .unwrap()
        .0
        + 1;
    assert!(
        shown.starts_with(&format!(
            "<scenario>:{line}:8: a standby site needs a positive `weight`"
        )),
        "{shown}"
    );
}

/// One active site taking every call and a standby site whose agents answer each call at once:
/// a site outage of `dc-north` fails every call until the carrier re-routes (1 s × 3 detection:
/// between 2 s and 3 s), and every call after that is answered within target.
const SWITCHOVER: &str = r#"
[scenario]
seed = 7
duration = "1h"
warmup = "0s"
replications = 4
service_level = { target = "20s" }

[[site]]
name = "dc-north"

[[site]]
name = "dc-south"

[[queue]]
name = "hotline"
channel = "voice"
skills = ["hotline"]

[[traffic]]
queue = "hotline"
rate = "3600/h"
handle_time = { dist = "constant", value = "10s" }

[[agents]]
name = "south"
count = 40
skills = ["hotline"]
site = "dc-south"

[topology]
mode = "active-standby"
detection = { options_interval = "1s", misses = 3 }
reregistration_delay = "30s"
replication = { mode = "none" }
measure_window = "10s"

[[topology.site]]
name = "dc-north"

[[topology.site]]
name = "dc-south"
standby = true

[[fault]]
kind = "site-outage"
site = "dc-north"
start = "30m"
duration = "10m"
"#;

#[test]
fn a_switchover_in_seconds_has_its_rto_to_the_millisecond() {
    let model = model_from_text(SWITCHOVER).unwrap();
    let result = run(&model, 2);
    assert_exact(&result);
    let fault_ms = 30 * 60_000;
    for output in &result.failover_outputs {
        let outcome = &output.outcomes[0];
        assert_eq!(outcome.baseline_service_level, Some(1.0));
        assert!(outcome.failed_during_detection > 0, "{outcome:?}");
        // The first call after the re-route is answered on arrival and every later one too: the
        // first 10 s window of only good calls starts with it, so the RTO is its arrival, and
        // its answer is the first after the fault. The carrier cannot re-route before 2 s.
        let rto_ms = outcome.rto_ms.expect("the standby site takes over");
        assert_eq!(outcome.time_to_answer_ms, Some(rto_ms));
        assert!((2_000..10_000).contains(&rto_ms), "{rto_ms}");
    }
    // The same figure read from the trace of replication 0: calls that failed never reached
    // the engine, so the first arrival it saw after the fault is the first call re-routed.
    let events = traced_events(&model);
    let first_arrival_ms = events
        .iter()
        .filter(|event| event["event"] == "contact-arrived")
        .map(|event| event["time_ms"].as_u64().unwrap())
        .find(|&time_ms| time_ms >= fault_ms)
        .unwrap();
    assert_eq!(
        result.failover_outputs[0].outcomes[0].rto_ms,
        Some(first_arrival_ms - fault_ms)
    );
    // The summary has it in seconds, its interval never below 0.
    let summary = &result.summary.failover.as_ref().unwrap().faults[0];
    let rtos_s: Vec<f64> = result
        .failover_outputs
        .iter()
        .map(|output| output.outcomes[0].rto_ms.unwrap() as f64 / 1000.0)
        .collect();
    assert_eq!(summary.rto_s.mean, Some(rtos_s.iter().sum::<f64>() / 4.0));
    assert!(summary.rto_s.ci95.unwrap()[0] >= 0.0);
    // Beside the mean, the median (of four: the middle two's mean) and the worst.
    let mut sorted = rtos_s.clone();
    sorted.sort_by(f64::total_cmp);
    let spread = summary.rto_spread_s.unwrap();
    assert_eq!(spread.median, (sorted[1] + sorted[2]) / 2.0);
    assert_eq!(spread.worst, sorted[3]);
    assert_eq!(summary.unrecovered, 0);
}

/// [`SWITCHOVER`] made active-active with agents at both sites and two overlapping engine
/// restarts: dc-north's from 10 min to 15 min, dc-south's from 12 min to 17 min.
fn overlapping_restarts() -> String {
    SWITCHOVER
        .replace("mode = \"active-standby\"", "mode = \"active-active\"")
        .replace("standby = true\n", "")
        .replace(
            "[[agents]]\nname = \"south\"\ncount = 40",
            "[[agents]]\nname = \"north\"\ncount = 20\nskills = [\"hotline\"]\nsite = \"dc-north\"\n\n[[agents]]\nname = \"south\"\ncount = 20",
        )
        .replace(
            "[[fault]]\nkind = \"site-outage\"\nsite = \"dc-north\"\nstart = \"30m\"\nduration = \"10m\"\n",
            "[[fault]]\nkind = \"engine-restart\"\nsite = \"dc-north\"\nstart = \"10m\"\nduration = \"5m\"\n\n\
             [[fault]]\nkind = \"engine-restart\"\nsite = \"dc-south\"\nstart = \"12m\"\nduration = \"5m\"\n",
        )
}

#[test]
fn calls_refused_while_no_site_is_up_are_not_failures_during_detection() {
    let text = overlapping_restarts();
    assert!(text.contains("kind = \"engine-restart\"\nsite = \"dc-south\""));
    let model = model_from_text(&text).unwrap();
    let result = run(&model, 2);
    assert_exact(&result);
    // Per replication, (failed during detection, no site up) of dc-north's restart, then of
    // dc-south's. dc-north's restart fails the calls sent there for its 2 to 3 s of
    // detection; dc-south's fails those sent to dc-south for its own, and then the carrier
    // believes both sites down and refuses every call until dc-north is believed up again,
    // one health check after its restart: 15 min + 1 s. Those are refused, not failed during
    // detection, and belong to dc-south's restart, which took down the last site.
    let counts: Vec<[(u64, u64); 2]> = result
        .failover_outputs
        .iter()
        .map(|output| {
            [0, 1].map(|fault| {
                let outcome = &output.outcomes[fault];
                (outcome.failed_during_detection, outcome.no_site_up)
            })
        })
        .collect();
    assert_eq!(
        counts,
        [
            [(5, 0), (1, 179)],
            [(3, 0), (2, 182)],
            [(4, 0), (2, 187)],
            [(0, 0), (2, 174)],
        ]
    );
    for output in &result.failover_outputs {
        let ledger = &output.ledger;
        let [north, south] = [&output.outcomes[0], &output.outcomes[1]];
        assert_eq!(
            ledger.failed_during_detection,
            north.failed_during_detection + south.failed_during_detection
        );
        assert_eq!(ledger.no_site_up, south.no_site_up);
    }
    // Read from the trace of replication 0: no call reached an engine from dc-south's restart
    // (dc-north's engine was down already) until dc-north was believed up, and the contacts
    // created meanwhile, which never reached the engine, are exactly dc-south's failed and
    // refused calls.
    let arrivals: Vec<(u64, u64)> = traced_events(&model)
        .iter()
        .filter(|event| event["event"] == "contact-arrived")
        .map(|event| {
            (
                event["time_ms"].as_u64().unwrap(),
                event["contact"].as_u64().unwrap(),
            )
        })
        .collect();
    let (both_down_ms, believed_up_ms) = (12 * 60_000, 15 * 60_000 + 1_000);
    let before = arrivals
        .iter()
        .rfind(|(time_ms, _)| *time_ms < both_down_ms)
        .unwrap();
    let after = arrivals
        .iter()
        .find(|(time_ms, _)| *time_ms >= both_down_ms)
        .unwrap();
    assert!(after.0 >= believed_up_ms, "{after:?}");
    let [_, south] = counts[0];
    assert_eq!(after.1 - before.1 - 1, south.0 + south.1);
}

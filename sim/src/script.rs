//! One replication written as a script of its exogenous inputs, with the engine's decisions
//! in it (`switchboard sim --export-script`, `docs/agreement.md`).
//!
//! A [`ScriptRecorder`] watches a replication as a [`ReplicationObserver`]: it numbers every
//! input the driver gives the engine (the `order` of a script line), keeps what the driver
//! drew about each contact (patience, how each offer is answered, handle time) and turns the
//! engine's events into [`Decision`]s. It changes nothing: the replication draws and decides
//! exactly what it would without it.

use std::collections::BTreeMap;

use switchboard_engine::{AgentId, AuxReason, Center, Entry, Event, Input, Party};
use switchboard_results::script::{decision_of, AgentAction, Decision, ScriptLine, SCRIPT_FORMAT};

use crate::model::Model;
use crate::replication::{run_replication, Draw, ReplicationObserver, ReplicationOptions};

/// A replication that cannot be written as a script a live runtime could replay.
#[derive(Debug)]
pub struct ScriptExportError(pub String);

impl std::fmt::Display for ScriptExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScriptExportError {}

/// What one contact's lines say, gathered as the replication goes.
#[derive(Default)]
struct ContactLines {
    arrival: Option<ScriptLine>,
    patience_ms: Option<u64>,
    abandon_order: Option<u64>,
    /// Per offer, in order: the agent, the answer delay (none: no answer), the accept's order.
    answers: Vec<(u32, Option<u64>, Option<u64>)>,
    handle_ms: Option<u64>,
    hangup_order: Option<u64>,
    digits: Vec<ScriptLine>,
}

/// Watches a replication and writes it down; see the module documentation.
pub struct ScriptRecorder {
    /// The replication's center, for names only (it is never driven).
    names: Center,
    inputs: u64,
    contacts: BTreeMap<u64, ContactLines>,
    agents: Vec<ScriptLine>,
    decisions: Vec<Decision>,
    /// The first input no script line can say (a fault dropping a contact, say).
    unscriptable: Option<String>,
}

impl ScriptRecorder {
    pub fn new(model: &Model) -> ScriptRecorder {
        ScriptRecorder {
            names: Center::new(model.center.clone())
                .expect("the configuration was checked when the scenario was compiled"),
            inputs: 0,
            contacts: BTreeMap::new(),
            agents: Vec::new(),
            decisions: Vec::new(),
            unscriptable: None,
        }
    }

    fn contact(&mut self, contact: u64) -> &mut ContactLines {
        self.contacts.entry(contact).or_default()
    }

    fn agent_line(&mut self, time_ms: u64, order: u64, agent: AgentId, action: AgentAction) {
        self.agent_line_with(time_ms, order, agent, action, None);
    }

    fn agent_line_with(
        &mut self,
        time_ms: u64,
        order: u64,
        agent: AgentId,
        action: AgentAction,
        reason: Option<AuxReason>,
    ) {
        let agent = self.names.agent_name(agent).to_string();
        self.agents.push(ScriptLine::Agent {
            time_ms,
            order,
            agent,
            action,
            reason,
        });
    }

    /// The script's lines: the header, the agents' actions in time order, then each contact's
    /// lines in contact order; and the decisions in the order the engine made them.
    pub fn finish(
        self,
        seed: u64,
        replication: u32,
        duration_ms: u64,
        quantum_ms: u64,
    ) -> Result<(Vec<ScriptLine>, Vec<Decision>), ScriptExportError> {
        if let Some(input) = self.unscriptable {
            return Err(ScriptExportError(format!(
                "the replication gave the engine an input a script cannot hold: {input}"
            )));
        }
        let mut lines = vec![ScriptLine::Header {
            format: SCRIPT_FORMAT,
            seed,
            replication,
            duration_ms,
            quantum_ms,
        }];
        if quantum_ms > 0 {
            if let Some(decision) = self
                .decisions
                .iter()
                .find(|decision| decision.time_ms % quantum_ms != 0)
            {
                return Err(ScriptExportError(format!(
                    "with a quantum of {quantum_ms} ms every decision must fall on its grid, \
                     but {decision}: give the center's durations (wrap-up, timeouts, prompts, \
                     staffing and shift times) in whole multiples of the quantum"
                )));
            }
        }
        lines.extend(self.agents);
        for (contact, gathered) in self.contacts {
            let Some(arrival) = gathered.arrival else {
                continue;
            };
            lines.push(arrival);
            if let Some(patience_ms) = gathered.patience_ms {
                lines.push(ScriptLine::Patience {
                    contact,
                    patience_ms,
                    order: gathered.abandon_order,
                });
            }
            for (index, (agent, delay_ms, order)) in gathered.answers.into_iter().enumerate() {
                lines.push(ScriptLine::Answer {
                    contact,
                    offer: index as u32 + 1,
                    agent: self.names.agent_name(AgentId(agent)).to_string(),
                    delay_ms,
                    order,
                });
            }
            if let Some(handle_ms) = gathered.handle_ms {
                lines.push(ScriptLine::Handle {
                    contact,
                    handle_ms,
                    order: gathered.hangup_order,
                });
            }
            lines.extend(gathered.digits);
        }
        Ok((lines, self.decisions))
    }
}

impl ReplicationObserver for ScriptRecorder {
    fn event(&mut self, event: &Event) {
        if let Some(decision) = decision_of(&self.names, event) {
            self.decisions.push(decision);
        }
    }

    fn input(&mut self, time_ms: u64, input: &Input) {
        let order = self.inputs;
        self.inputs += 1;
        match input {
            Input::ContactArrived {
                contact,
                channel,
                entry,
                attributes,
            } => {
                let entry = match *entry {
                    Entry::Queue(queue) => self.names.queue_name(queue).to_string(),
                    Entry::Flow(flow) => self.names.flow_name(flow).to_string(),
                };
                self.contact(contact.0).arrival = Some(ScriptLine::Arrival {
                    time_ms,
                    order,
                    contact: contact.0,
                    entry,
                    channel: channel.name().to_string(),
                    attributes: attributes.clone(),
                });
            }
            Input::Digits { contact, digits } => {
                self.contact(contact.0).digits.push(ScriptLine::Digits {
                    time_ms,
                    order,
                    contact: contact.0,
                    digits: digits.clone(),
                })
            }
            Input::ContactAbandoned { contact } => {
                self.contact(contact.0).abandon_order.get_or_insert(order);
            }
            Input::OfferAccepted { contact, agent } => {
                let gathered = self.contact(contact.0);
                // The answer of the latest offer to this agent.
                if let Some(answer) = gathered
                    .answers
                    .iter_mut()
                    .rev()
                    .find(|(offered, _, _)| offered == &agent.0)
                {
                    answer.2.get_or_insert(order);
                }
            }
            Input::ContactEnded {
                contact,
                by: Party::Agent,
            } => {
                self.contact(contact.0).hangup_order.get_or_insert(order);
            }
            Input::AgentLogin { agent } => {
                self.agent_line(time_ms, order, *agent, AgentAction::Login)
            }
            Input::AgentLogout { agent } => {
                self.agent_line(time_ms, order, *agent, AgentAction::Logout)
            }
            Input::AgentReady { agent } => {
                self.agent_line(time_ms, order, *agent, AgentAction::Ready)
            }
            Input::AgentAux { agent, reason } => {
                self.agent_line_with(time_ms, order, *agent, AgentAction::Aux, Some(*reason))
            }
            other => {
                self.unscriptable
                    .get_or_insert_with(|| format!("at {time_ms} ms, {other:?}"));
            }
        }
    }

    fn drew(&mut self, draw: Draw) {
        match draw {
            Draw::Patience {
                contact,
                patience_ms,
            } => self.contact(contact).patience_ms = Some(patience_ms),
            Draw::Answer {
                contact,
                agent,
                delay_ms,
            } => self.contact(contact).answers.push((agent, delay_ms, None)),
            Draw::HandleTime { contact, handle_ms } => {
                self.contact(contact).handle_ms = Some(handle_ms)
            }
            // A retrial is an arrival line of its own; who it was is not the live runtime's
            // input.
            Draw::Retrial { .. } => {}
        }
    }
}

/// Runs replication `replication` of `model` with `seed` and writes it down: the script's
/// lines and the engine's decisions. Scenarios with sites and faults cannot be written (a
/// fault's effects are the simulator's, not the world's).
pub fn export_script(
    model: &Model,
    seed: u64,
    replication: u32,
    quantum_ms: u64,
) -> Result<(Vec<ScriptLine>, Vec<Decision>), ScriptExportError> {
    if model.topology.is_some() {
        return Err(ScriptExportError(
            "a scenario with [topology] cannot be written as a script: its faults are the \
             simulator's model, not inputs a live runtime could be given"
                .into(),
        ));
    }
    let mut recorder = ScriptRecorder::new(model);
    run_replication(
        model,
        seed,
        replication,
        ReplicationOptions {
            observer: Some(&mut recorder),
            quantum_ms,
            ..ReplicationOptions::default()
        },
    )
    .map_err(|error| ScriptExportError(error.to_string()))?;
    recorder.finish(seed, replication, model.duration_ms, quantum_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_results::script::decision_hash;

    fn bundled(name: &str) -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(name);
        let scenario = crate::scenario::load_scenario(&path).unwrap();
        crate::run::prepare(&scenario).unwrap()
    }

    fn model() -> Model {
        bundled("agreement.toml")
    }

    #[test]
    fn writing_a_script_changes_nothing_in_the_replication() {
        let model = model();
        let plain = run_replication(&model, 11, 0, ReplicationOptions::default()).unwrap();
        let mut recorder = ScriptRecorder::new(&model);
        let watched = run_replication(
            &model,
            11,
            0,
            ReplicationOptions {
                observer: Some(&mut recorder),
                ..ReplicationOptions::default()
            },
        )
        .unwrap();
        assert_eq!(plain.trace_hash, watched.trace_hash);
        let (lines, decisions) = recorder.finish(11, 0, model.duration_ms, 0).unwrap();
        // Every contact created has its arrival line; every one of them was decided about.
        let arrivals = lines
            .iter()
            .filter(|line| matches!(line, ScriptLine::Arrival { .. }))
            .count() as u64;
        assert_eq!(arrivals, plain.contacts);
        assert!(decisions.len() as u64 > arrivals);
        // The same replication writes the same script and decisions again.
        let (again_lines, again) = export_script(&model, 11, 0, 0).unwrap();
        assert_eq!(again_lines, lines);
        assert_eq!(decision_hash(&again), decision_hash(&decisions));
    }

    #[test]
    fn inputs_of_one_millisecond_keep_the_simulators_order() {
        let (lines, _) = export_script(&model(), 3, 0, 0).unwrap();
        let mut orders: Vec<u64> = lines
            .iter()
            .filter_map(|line| match line {
                ScriptLine::Arrival { order, .. }
                | ScriptLine::Digits { order, .. }
                | ScriptLine::Agent { order, .. } => Some(*order),
                ScriptLine::Patience { order, .. }
                | ScriptLine::Answer { order, .. }
                | ScriptLine::Handle { order, .. } => *order,
                ScriptLine::Header { .. } => None,
            })
            .collect();
        let count = orders.len();
        orders.sort_unstable();
        orders.dedup();
        assert_eq!(orders.len(), count, "no two inputs share an order");
    }

    #[test]
    fn a_scenario_with_faults_is_refused() {
        let model = bundled("bank-failover.toml");
        let error = export_script(&model, 1, 0, 0).unwrap_err();
        assert!(error.0.contains("[topology]"), "{error}");
    }

    #[test]
    fn on_a_grid_every_input_and_decision_falls_on_it() {
        let model = model();
        let (lines, decisions) = export_script(&model, 11, 0, 100).unwrap();
        let (plain, _) = export_script(&model, 11, 0, 0).unwrap();
        assert_ne!(lines, plain, "the grid moves the draws");
        assert!(decisions.iter().all(|decision| decision.time_ms % 100 == 0));
        for line in &lines {
            let times = match line {
                ScriptLine::Arrival { time_ms, .. }
                | ScriptLine::Digits { time_ms, .. }
                | ScriptLine::Agent { time_ms, .. } => vec![*time_ms],
                ScriptLine::Patience { patience_ms, .. } => vec![*patience_ms],
                ScriptLine::Handle { handle_ms, .. } => vec![*handle_ms],
                ScriptLine::Answer { delay_ms, .. } => delay_ms.iter().copied().collect(),
                ScriptLine::Header { quantum_ms, .. } => vec![*quantum_ms],
            };
            assert!(times.iter().all(|time| time % 100 == 0), "{line:?}");
        }
        // A grid the center's durations are not multiples of is refused, naming a decision.
        let error = export_script(&model, 11, 0, 300).unwrap_err();
        assert!(error.0.contains("multiples of the quantum"), "{error}");
    }
}

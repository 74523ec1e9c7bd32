//! A script read for replaying: each contact's lines gathered, the agents' actions in order.

use std::collections::BTreeMap;

use switchboard_results::script::{AgentAction, ScriptLine};

/// What the script says about one contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactPlan {
    pub arrival_ms: u64,
    pub order: u64,
    /// A queue or an IVR flow, by name: the user part of the INVITE's Request-URI.
    pub entry: String,
    pub channel: String,
    pub attributes: Vec<(String, String)>,
    /// How long the caller waits, and the order of its hang-up if it became an input.
    pub patience: Option<(u64, Option<u64>)>,
    /// Per offer of the contact (1-based), the phone's answer delay (none: never answers) and
    /// the order of the answer.
    pub answers: BTreeMap<u32, (Option<u64>, Option<u64>)>,
    /// How long the agent talks, and the order of its hang-up.
    pub handle: Option<(u64, Option<u64>)>,
    /// Keys pressed: time, order, digits.
    pub digits: Vec<(u64, u64, String)>,
}

/// An agent's action at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStep {
    pub time_ms: u64,
    pub order: u64,
    pub agent: String,
    pub action: AgentAction,
    pub reason: Option<switchboard_engine::AuxReason>,
}

/// A whole script, ready to be played.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayPlan {
    pub seed: u64,
    pub replication: u32,
    pub duration_ms: u64,
    /// The grid the script's times lie on (0: none).
    pub quantum_ms: u64,
    pub contacts: BTreeMap<u64, ContactPlan>,
    pub agents: Vec<AgentStep>,
    /// The handle time of a contact the script has none for (one the simulator never
    /// connected): the mean of the script's handle times.
    pub fallback_handle_ms: u64,
}

impl ReplayPlan {
    /// Gathers the lines; a script without a header, a line about a contact that never
    /// arrived, or a contact that is not a voice call (the live runtime answers calls only) is
    /// refused with the line's number.
    pub fn from_lines(lines: &[ScriptLine]) -> Result<ReplayPlan, String> {
        let mut plan = ReplayPlan::default();
        let Some(ScriptLine::Header {
            seed,
            replication,
            duration_ms,
            quantum_ms,
            ..
        }) = lines.first()
        else {
            return Err("line 1: expected the header line of a script".into());
        };
        plan.seed = *seed;
        plan.replication = *replication;
        plan.duration_ms = *duration_ms;
        plan.quantum_ms = *quantum_ms;
        for (index, line) in lines.iter().enumerate().skip(1) {
            let number = index + 1;
            let known = |contacts: &BTreeMap<u64, ContactPlan>, contact: u64| {
                if contacts.contains_key(&contact) {
                    Ok(())
                } else {
                    Err(format!(
                        "line {number}: contact {contact} has no arrival line before it"
                    ))
                }
            };
            match line {
                ScriptLine::Header { .. } => {
                    return Err(format!("line {number}: a second header line"));
                }
                ScriptLine::Arrival {
                    time_ms,
                    order,
                    contact,
                    entry,
                    channel,
                    attributes,
                } => {
                    if channel != "voice" && channel != "chat" {
                        return Err(format!(
                            "line {number}: contact {contact} is a {channel} contact; the live \
                             runtime replays voice calls and chats only"
                        ));
                    }
                    plan.contacts.insert(
                        *contact,
                        ContactPlan {
                            arrival_ms: *time_ms,
                            order: *order,
                            entry: entry.clone(),
                            channel: channel.clone(),
                            attributes: attributes.clone(),
                            ..ContactPlan::default()
                        },
                    );
                }
                ScriptLine::Patience {
                    contact,
                    patience_ms,
                    order,
                } => {
                    known(&plan.contacts, *contact)?;
                    plan.contacts.get_mut(contact).expect("known").patience =
                        Some((*patience_ms, *order));
                }
                ScriptLine::Answer {
                    contact,
                    offer,
                    delay_ms,
                    order,
                    ..
                } => {
                    known(&plan.contacts, *contact)?;
                    plan.contacts
                        .get_mut(contact)
                        .expect("known")
                        .answers
                        .insert(*offer, (*delay_ms, *order));
                }
                ScriptLine::Handle {
                    contact,
                    handle_ms,
                    order,
                } => {
                    known(&plan.contacts, *contact)?;
                    plan.contacts.get_mut(contact).expect("known").handle =
                        Some((*handle_ms, *order));
                }
                ScriptLine::Digits {
                    time_ms,
                    order,
                    contact,
                    digits,
                } => {
                    known(&plan.contacts, *contact)?;
                    plan.contacts.get_mut(contact).expect("known").digits.push((
                        *time_ms,
                        *order,
                        digits.clone(),
                    ));
                }
                ScriptLine::Agent {
                    time_ms,
                    order,
                    agent,
                    action,
                    reason,
                } => plan.agents.push(AgentStep {
                    time_ms: *time_ms,
                    order: *order,
                    agent: agent.clone(),
                    action: *action,
                    reason: *reason,
                }),
            }
        }
        let handles: Vec<u64> = plan
            .contacts
            .values()
            .filter_map(|contact| contact.handle.map(|(handle_ms, _)| handle_ms))
            .collect();
        plan.fallback_handle_ms = if handles.is_empty() {
            1_000
        } else {
            handles.iter().sum::<u64>() / handles.len() as u64
        };
        plan.agents.sort_by_key(|step| (step.time_ms, step.order));
        Ok(plan)
    }

    /// The agents the script names, in the order it first names them.
    pub fn agent_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for step in &self.agents {
            if !names.contains(&step.agent) {
                names.push(step.agent.clone());
            }
        }
        names
    }
}

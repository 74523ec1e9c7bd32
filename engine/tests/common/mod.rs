//! A small driver for engine tests: builds a center from TOML, feeds inputs, keeps every
//! output, and checks the engine's invariants after every step (as the simulator does).

#![allow(dead_code)]

use switchboard_engine::*;

pub struct Harness {
    pub center: Center,
    pub now_ms: u64,
    pub outputs: Vec<Output>,
    next_contact: u64,
}

impl Harness {
    pub fn new(toml_text: &str) -> Harness {
        let config: CenterConfig = toml::from_str(toml_text).expect("test configuration parses");
        let center = Center::new(config).expect("test configuration is valid");
        Harness {
            center,
            now_ms: 0,
            outputs: Vec::new(),
            next_contact: 1,
        }
    }

    /// Advances virtual time to `ms`, firing every engine timer on the way.
    pub fn advance_to(&mut self, ms: u64) {
        while let Some(at) = self.center.poll_timeout() {
            if at > ms {
                break;
            }
            self.now_ms = at.max(self.now_ms);
            self.center.handle_timeout(self.now_ms);
            self.drain();
        }
        self.now_ms = ms.max(self.now_ms);
    }

    pub fn input(&mut self, input: Input) {
        let result = self.center.handle(self.now_ms, input.clone());
        assert!(result.is_ok(), "input {input:?} refused: {result:?}");
        self.drain();
    }

    pub fn try_input(&mut self, input: Input) -> Result<(), InputError> {
        let result = self.center.handle(self.now_ms, input);
        self.drain();
        result
    }

    fn drain(&mut self) {
        while let Some(output) = self.center.poll_output() {
            self.outputs.push(output);
        }
        self.center
            .check_invariants()
            .expect("engine invariants hold");
    }

    pub fn agent(&self, name: &str) -> AgentId {
        self.center
            .agent_id(name)
            .unwrap_or_else(|| panic!("no agent {name}"))
    }

    pub fn queue(&self, name: &str) -> QueueId {
        self.center
            .queue_id(name)
            .unwrap_or_else(|| panic!("no queue {name}"))
    }

    pub fn login(&mut self, names: &[&str]) {
        for name in names {
            let agent = self.agent(name);
            self.input(Input::AgentLogin { agent });
        }
    }

    pub fn login_all(&mut self) {
        for index in 0..self.center.agent_count() {
            self.input(Input::AgentLogin {
                agent: AgentId(index as u32),
            });
        }
    }

    /// A new contact at a queue; returns its id.
    pub fn arrive(&mut self, queue: &str, channel: Channel) -> ContactId {
        self.arrive_with(queue, channel, &[])
    }

    pub fn arrive_with(
        &mut self,
        queue: &str,
        channel: Channel,
        attributes: &[(&str, &str)],
    ) -> ContactId {
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        let entry = Entry::Queue(self.queue(queue));
        self.input(Input::ContactArrived {
            contact,
            channel,
            entry,
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        contact
    }

    pub fn arrive_in_flow(&mut self, flow: &str, attributes: &[(&str, &str)]) -> ContactId {
        self.arrive_in_flow_on(flow, Channel::Voice, attributes)
    }

    /// A new contact of `channel` at the start of `flow`; returns its id.
    pub fn arrive_in_flow_on(
        &mut self,
        flow: &str,
        channel: Channel,
        attributes: &[(&str, &str)],
    ) -> ContactId {
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        let entry = Entry::Flow(self.center.flow_id(flow).expect("flow exists"));
        self.input(Input::ContactArrived {
            contact,
            channel,
            entry,
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        contact
    }

    /// Offers made so far, in order, as (contact, agent).
    pub fn offers(&self) -> Vec<(ContactId, AgentId)> {
        self.outputs
            .iter()
            .filter_map(|output| match output {
                Output::Offer { contact, agent, .. } => Some((*contact, *agent)),
                _ => None,
            })
            .collect()
    }

    /// The agent the contact was last offered to.
    pub fn offered_to(&self, contact: ContactId) -> Option<AgentId> {
        self.offers()
            .into_iter()
            .rev()
            .find(|(c, _)| *c == contact)
            .map(|(_, agent)| agent)
    }

    pub fn events(&self) -> Vec<&EventKind> {
        self.outputs
            .iter()
            .filter_map(|output| match output {
                Output::Event(event) => Some(&event.kind),
                _ => None,
            })
            .collect()
    }

    /// How often the contact was answered (`ContactAnswered`; a resumption is not one).
    pub fn answers_of(&self, contact: ContactId) -> usize {
        self.events()
            .into_iter()
            .filter(|event| matches!(event, EventKind::ContactAnswered { contact: c, .. } if *c == contact))
            .count()
    }

    /// The terminal event of a contact, if it ended.
    pub fn ended(&self, contact: ContactId) -> Option<(Outcome, u64, Option<AgentId>)> {
        self.outputs.iter().find_map(|output| match output {
            Output::Event(Event {
                kind:
                    EventKind::ContactEnded {
                        contact: c,
                        outcome,
                        wait_ms,
                        agent,
                        ..
                    },
                ..
            }) if *c == contact => Some((*outcome, *wait_ms, *agent)),
            _ => None,
        })
    }

    /// Answers the contact's current offer, talks for `talk_ms`, and ends it.
    pub fn answer(&mut self, contact: ContactId) -> AgentId {
        let agent = self.offered_to(contact).expect("the contact was offered");
        self.input(Input::OfferAccepted { contact, agent });
        agent
    }

    pub fn hang_up(&mut self, contact: ContactId) {
        self.input(Input::ContactEnded {
            contact,
            by: Party::Customer,
        });
    }

    pub fn clear_outputs(&mut self) {
        self.outputs.clear();
    }
}

/// The problems `Center::new` finds in a configuration, as (key path, message); empty when it
/// is valid.
pub fn config_problems(text: &str) -> Vec<(String, String)> {
    let config: CenterConfig = toml::from_str(text).expect("parses");
    match Center::new(config) {
        Ok(_) => Vec::new(),
        Err(error) => error
            .problems
            .into_iter()
            .map(|problem| (problem.path, problem.message))
            .collect(),
    }
}

/// A blended center: a voice queue `calls`, an e-mail queue `mail` with `mail_keys`, and a
/// group of `agents` agents named `blended` who serve both, with `agent_keys`. The set-up of
/// the deferral and pre-emption tests.
pub fn blended_center(mail_keys: &str, agents: u32, agent_keys: &str) -> String {
    format!(
        r#"
[[queue]]
name = "calls"
channel = "voice"

[[queue]]
name = "mail"
channel = "email"
{mail_keys}

[[agents]]
name = "blended"
count = {agents}
{agent_keys}
"#
    )
}

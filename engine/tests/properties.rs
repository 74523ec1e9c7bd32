//! Property tests over random input sequences: whatever a driver does, the engine keeps its
//! promises.

use std::collections::BTreeMap;

use proptest::prelude::*;
use switchboard_engine::*;

const CENTER: &str = r#"
    [center]
    offer_timeout = "10s"
    max_no_answers = 2

    [[queue]]
    name = "sales"
    channel = "voice"
    skills = { sales = 4 }
    wrap_up = "5s"
    max_size = 6
    relax = [
        { after = "20s", min_proficiency = 2 },
        { after = "40s", overflow = "general" },
    ]

    [[queue]]
    name = "general"
    channel = "voice"
    skills = ["general"]
    priority = 2
    max_wait = "90s"
    on_max_wait = "callback"

    [[queue]]
    name = "chat"
    channel = "chat"
    skills = ["sales"]

    [[rule]]
    when = { attribute = "tier", equals = "vip" }
    raise_priority = 3

    [[agents]]
    name = "expert"
    count = 2
    skills = { sales = 5, general = 3 }

    [[agents]]
    name = "junior"
    count = 2
    skills = { sales = 2 }

    [[agents]]
    name = "generalist"
    count = 2
    skills = ["general"]
"#;

/// The minimum proficiency in `sales` a queue asks for at a relaxation level; `None`: no such
/// requirement.
fn required(queue: &str, level: u32) -> Vec<(&'static str, u8)> {
    match (queue, level) {
        ("sales", 0) => vec![("sales", 4)],
        ("sales", _) => vec![("sales", 2)],
        ("general", _) => vec![("general", 1)],
        ("chat", _) => vec![("sales", 1)],
        _ => unreachable!(),
    }
}

fn agent_skill(agent: &str, skill: &str) -> u8 {
    let group = agent.rsplit_once('-').unwrap().0;
    match (group, skill) {
        ("expert", "sales") => 5,
        ("expert", "general") => 3,
        ("junior", "sales") => 2,
        ("generalist", "general") => 5,
        _ => 0,
    }
}

#[derive(Clone, Debug)]
enum Action {
    Wait(u64),
    Arrive { queue: u8, vip: bool },
    Accept(u8),
    Decline(u8),
    End(u8),
    WrapUpDone(u8),
    Abandon(u8),
    Callback(u8),
    Login(u8),
    Logout(u8),
    Aux(u8),
    Ready(u8),
    Drop(u8),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (1u64..30_000).prop_map(Action::Wait),
        5 => (0u8..3, any::<bool>()).prop_map(|(queue, vip)| Action::Arrive { queue, vip }),
        5 => any::<u8>().prop_map(Action::Accept),
        1 => any::<u8>().prop_map(Action::Decline),
        4 => any::<u8>().prop_map(Action::End),
        1 => any::<u8>().prop_map(Action::WrapUpDone),
        2 => any::<u8>().prop_map(Action::Abandon),
        1 => any::<u8>().prop_map(Action::Callback),
        2 => any::<u8>().prop_map(Action::Login),
        1 => any::<u8>().prop_map(Action::Logout),
        1 => any::<u8>().prop_map(Action::Aux),
        2 => any::<u8>().prop_map(Action::Ready),
        1 => any::<u8>().prop_map(Action::Drop),
    ]
}

/// What the test knows about the world, from the outputs alone.
struct Observer {
    center: Center,
    now_ms: u64,
    next_contact: u64,
    /// Contact → (queue name, level) while it waits or is offered.
    placement: BTreeMap<ContactId, (String, u32)>,
    ringing: BTreeMap<ContactId, AgentId>,
    connected: Vec<ContactId>,
    wrapping: Vec<ContactId>,
    alive: Vec<ContactId>,
    terminal_events: BTreeMap<ContactId, u32>,
    arrived: u64,
    held: BTreeMap<(AgentId, Media), u32>,
    first_offers: Vec<ContactId>,
    arrival_order: BTreeMap<ContactId, u64>,
    /// What happened, for the message of a failing case.
    log: Vec<String>,
}

impl Observer {
    fn new() -> Observer {
        let config: CenterConfig = toml::from_str(CENTER).unwrap();
        Observer {
            center: Center::new(config).unwrap(),
            now_ms: 0,
            next_contact: 1,
            placement: BTreeMap::new(),
            ringing: BTreeMap::new(),
            connected: Vec::new(),
            wrapping: Vec::new(),
            alive: Vec::new(),
            terminal_events: BTreeMap::new(),
            arrived: 0,
            held: BTreeMap::new(),
            first_offers: Vec::new(),
            arrival_order: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    fn pick<T: Copy>(list: &[T], index: u8) -> Option<T> {
        (!list.is_empty()).then(|| list[index as usize % list.len()])
    }

    fn observe(&mut self) -> Result<(), TestCaseError> {
        while let Some(output) = self.center.poll_output() {
            if !matches!(
                output,
                Output::Event(Event {
                    kind: EventKind::AgentStateChanged { .. },
                    ..
                })
            ) {
                self.log.push(format!("  {output:?}"));
            }
            match output {
                Output::Offer {
                    contact,
                    agent,
                    channel,
                } => {
                    let (queue, level) = self
                        .placement
                        .get(&contact)
                        .cloned()
                        .expect("offered contacts are placed");
                    let name = self.center.agent_name(agent).to_string();
                    for (skill, minimum) in required(&queue, level) {
                        prop_assert!(
                            agent_skill(&name, skill) >= minimum,
                            "{name} offered a {queue} contact at level {level} without {skill} ≥ {minimum}"
                        );
                    }
                    prop_assert!(!self.ringing.contains_key(&contact));
                    prop_assert!(
                        !self
                            .ringing
                            .values()
                            .any(|ringing_agent| *ringing_agent == agent),
                        "one offer per agent"
                    );
                    prop_assert_eq!(
                        channel.media(),
                        if queue == "chat" {
                            Media::Chat
                        } else {
                            Media::Voice
                        }
                    );
                    self.ringing.insert(contact, agent);
                    if !self.first_offers.contains(&contact) {
                        self.first_offers.push(contact);
                    }
                }
                Output::CancelOffer { contact, .. } => {
                    self.ringing.remove(&contact);
                }
                Output::Event(Event { kind, .. }) => match kind {
                    EventKind::ContactArrived { .. } => self.arrived += 1,
                    EventKind::ContactQueued { contact, queue, .. } => {
                        self.placement
                            .insert(contact, (self.center.queue_name(queue).to_string(), 0));
                    }
                    // Step 1 of `sales` widens; step 2 overflows (a ContactQueued follows).
                    EventKind::ContactRelaxed {
                        contact,
                        queue,
                        step: 1,
                    } if self.center.queue_name(queue) == "sales" => {
                        self.placement.insert(contact, ("sales".into(), 1));
                    }
                    EventKind::OfferEnded { contact, .. } => {
                        self.ringing.remove(&contact);
                    }
                    EventKind::ContactAnswered {
                        contact,
                        agent,
                        channel,
                        ..
                    } => {
                        self.ringing.remove(&contact);
                        self.connected.push(contact);
                        let held = self.held.entry((agent, channel.media())).or_insert(0);
                        *held += 1;
                        let capacity = if channel.media() == Media::Chat { 3 } else { 1 };
                        prop_assert!(*held <= capacity, "agent over capacity");
                        if channel.media() == Media::Voice {
                            let chats = self.held.get(&(agent, Media::Chat)).copied().unwrap_or(0);
                            let _ = chats; // chats may continue while a call starts (chat does not block voice)
                        } else {
                            let calls = self.held.get(&(agent, Media::Voice)).copied().unwrap_or(0);
                            prop_assert_eq!(calls, 0, "a voice call blocks new chats");
                        }
                    }
                    EventKind::ConversationEnded { contact, .. } => {
                        self.connected.retain(|c| *c != contact);
                        self.wrapping.push(contact);
                    }
                    EventKind::ContactEnded {
                        contact,
                        agent,
                        channel,
                        outcome,
                        ..
                    } => {
                        *self.terminal_events.entry(contact).or_insert(0) += 1;
                        self.alive.retain(|c| *c != contact);
                        self.connected.retain(|c| *c != contact);
                        self.wrapping.retain(|c| *c != contact);
                        self.ringing.remove(&contact);
                        self.placement.remove(&contact);
                        if let (Some(agent), Outcome::Completed | Outcome::Dropped) =
                            (agent, outcome)
                        {
                            if let Some(held) = self.held.get_mut(&(agent, channel.media())) {
                                *held = held.saturating_sub(1);
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        self.center.check_invariants().map_err(|violation| {
            TestCaseError::fail(format!("{}\n{}", violation.0, self.log.join("\n")))
        })?;
        Ok(())
    }

    fn advance(&mut self, to_ms: u64) -> Result<(), TestCaseError> {
        while let Some(at) = self.center.poll_timeout() {
            if at > to_ms {
                break;
            }
            self.now_ms = self.now_ms.max(at);
            self.center.handle_timeout(self.now_ms);
            self.observe()?;
        }
        self.now_ms = to_ms;
        Ok(())
    }

    fn apply(&mut self, action: Action) -> Result<(), TestCaseError> {
        let agents = self.center.agent_count() as u32;
        let input = match action {
            Action::Wait(ms) => return self.advance(self.now_ms + ms),
            Action::Arrive { queue, vip } => {
                let contact = ContactId(self.next_contact);
                self.next_contact += 1;
                self.alive.push(contact);
                self.arrival_order.insert(contact, contact.0);
                let (name, channel) = [
                    ("sales", Channel::Voice),
                    ("general", Channel::Voice),
                    ("chat", Channel::Chat),
                ][queue as usize];
                Input::ContactArrived {
                    contact,
                    channel,
                    entry: Entry::Queue(self.center.queue_id(name).unwrap()),
                    attributes: if vip {
                        vec![("tier".into(), "vip".into())]
                    } else {
                        vec![]
                    },
                }
            }
            Action::Accept(index) | Action::Decline(index) => {
                let ringing: Vec<(ContactId, AgentId)> =
                    self.ringing.iter().map(|(c, a)| (*c, *a)).collect();
                let Some((contact, agent)) = Self::pick(&ringing, index) else {
                    return Ok(());
                };
                if matches!(action, Action::Accept(_)) {
                    Input::OfferAccepted { contact, agent }
                } else {
                    Input::OfferDeclined { contact, agent }
                }
            }
            Action::End(index) => {
                let Some(contact) = Self::pick(&self.connected, index) else {
                    return Ok(());
                };
                Input::ContactEnded {
                    contact,
                    by: Party::Customer,
                }
            }
            Action::WrapUpDone(index) => {
                let Some(contact) = Self::pick(&self.wrapping, index) else {
                    return Ok(());
                };
                Input::WrapUpDone { contact }
            }
            Action::Abandon(index) | Action::Callback(index) | Action::Drop(index) => {
                let Some(contact) = Self::pick(&self.alive, index) else {
                    return Ok(());
                };
                match action {
                    Action::Abandon(_) => Input::ContactAbandoned { contact },
                    Action::Callback(_) => Input::CallbackRequested { contact },
                    _ => Input::ContactDropped { contact },
                }
            }
            Action::Login(index) => Input::AgentLogin {
                agent: AgentId(u32::from(index) % agents),
            },
            Action::Logout(index) => Input::AgentLogout {
                agent: AgentId(u32::from(index) % agents),
            },
            Action::Aux(index) => Input::AgentAux {
                agent: AgentId(u32::from(index) % agents),
                reason: AuxReason::Break,
            },
            Action::Ready(index) => Input::AgentReady {
                agent: AgentId(u32::from(index) % agents),
            },
        };
        // Refused inputs (wrong phase) are fine: they must change nothing, which the
        // invariants and the observer check.
        let result = self.center.handle(self.now_ms, input.clone());
        self.log
            .push(format!("{} {input:?} -> {result:?}", self.now_ms));
        self.observe()
    }

    /// Ends everything still inside so every contact reaches its terminal state.
    fn wind_down(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..1_000 {
            if self.alive.is_empty() {
                return Ok(());
            }
            let contact = self.alive[0];
            let input = match self.center.contact_phase(contact) {
                Some(ContactPhase::Connected) => Input::ContactEnded {
                    contact,
                    by: Party::Agent,
                },
                Some(ContactPhase::WrapUp) => Input::WrapUpDone { contact },
                Some(_) => Input::ContactAbandoned { contact },
                None => {
                    return Err(TestCaseError::fail(format!(
                        "contact {contact:?} vanished without a terminal event"
                    )))
                }
            };
            self.center
                .handle(self.now_ms, input)
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
            self.observe()?;
        }
        Err(TestCaseError::fail("could not wind down"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_keeps_its_promises(actions in proptest::collection::vec(action(), 1..250)) {
        let mut observer = Observer::new();
        for action in actions {
            observer.apply(action)?;
            let counts = observer.center.counts();
            let ended: u64 = counts.ended.values().sum();
            prop_assert_eq!(counts.arrived, ended + observer.center.contacts_inside() as u64);
            prop_assert_eq!(counts.arrived, observer.arrived);
        }
        observer.wind_down()?;
        prop_assert_eq!(observer.center.contacts_inside(), 0);
        prop_assert_eq!(observer.terminal_events.len() as u64, observer.arrived, "every contact ended");
        prop_assert!(observer.terminal_events.values().all(|count| *count == 1), "exactly one terminal event each");
    }
}

// FIFO: a single queue, everyone eligible, equal priorities. Whatever happens, contacts are
// first offered in the order they arrived.
proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn equal_priority_contacts_are_offered_first_come_first_served(
        actions in proptest::collection::vec(action(), 1..250)
    ) {
        let config: CenterConfig = toml::from_str(r#"
            [[queue]]
            name = "sales"
            channel = "voice"
            [[queue]]
            name = "general"
            channel = "voice"
            [[queue]]
            name = "chat"
            channel = "chat"
            [[agents]]
            name = "expert"
            count = 3
        "#).unwrap();
        let mut observer = Observer::new();
        observer.center = Center::new(config).unwrap();
        for action in actions {
            // Only the voice queue "sales", no callbacks (they keep order too, but change channel).
            let action = match action {
                Action::Arrive { .. } => Action::Arrive { queue: 0, vip: false },
                Action::Callback(index) => Action::Abandon(index),
                other => other,
            };
            observer.apply(action)?;
        }
        let offered: Vec<u64> = observer.first_offers.iter().map(|contact| observer.arrival_order[contact]).collect();
        let mut sorted = offered.clone();
        sorted.sort();
        prop_assert_eq!(offered, sorted);
    }
}

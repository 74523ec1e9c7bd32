//! Cost of routing one contact through the public API (arrive → offer → answer → complete),
//! for centers of 100 to 10,000 agents and 1 to 20 skills.
//!
//! The center is kept in a steady state: every agent is logged in, about half of them are in
//! a conversation, and each measured step adds one contact and ends the oldest conversation, so
//! every step exercises both the "contact finds an agent" and the "agent finds a contact" paths
//! at a constant load. The claim under test (see docs/performance.md) is that the cost per
//! contact barely grows with the number of agents, because routing uses ordered indexes and
//! never scans agents.

use std::collections::VecDeque;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchboard_engine::config::{AgentGroupConfig, QueueConfig, SkillList};
use switchboard_engine::{
    AgentId, Center, CenterConfig, Channel, ContactId, Entry, Input, Output, Party, QueueId,
};

/// A tiny deterministic generator (xorshift64*) so every run builds the same center and the
/// same arrivals without a random-number dependency.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn skill_name(skill: u64) -> String {
    format!("skill-{skill}")
}

/// One voice queue per skill; each agent has 1–3 distinct skills at proficiency 1–5.
/// Returns the configuration and, per agent, the skills it has (to draw arrivals from).
fn center_config(agent_count: u64, skill_count: u64) -> (CenterConfig, Vec<Vec<u64>>) {
    let mut random = Xorshift(0x5EED_CAFE_F00D_0001);
    let mut config = CenterConfig::default();
    for skill in 0..skill_count {
        let queue: QueueConfig = toml::from_str(&format!(
            "name = \"{}\"\nchannel = \"voice\"\nskills = [\"{}\"]",
            skill_name(skill),
            skill_name(skill)
        ))
        .expect("a valid queue");
        config.queues.push(queue);
    }
    let mut skills_per_agent = Vec::new();
    for agent in 0..agent_count {
        let wanted = (1 + random.below(3)).min(skill_count) as usize;
        let mut skills: Vec<u64> = Vec::new();
        while skills.len() < wanted {
            let skill = random.below(skill_count);
            if !skills.contains(&skill) {
                skills.push(skill);
            }
        }
        let levels = skills
            .iter()
            .map(|skill| (skill_name(*skill), 1 + random.below(5) as u8))
            .collect();
        config.agents.push(AgentGroupConfig {
            name: format!("agent-{agent}"),
            count: None,
            ids: None,
            skills: SkillList::Levels(levels),
            languages: Vec::new(),
            site: None,
            capacity: None,
        });
        skills_per_agent.push(skills);
    }
    (config, skills_per_agent)
}

/// Arrivals drawn in advance; the sequence repeats after this many contacts.
const ARRIVAL_CYCLE: usize = 1 << 16;

/// Drives a center the way the simulator does: one input, then drain every output, answer
/// every offer at once, and fire timers that fall due.
struct SteadyLoad {
    center: Center,
    /// The queue of each arrival, drawn before anything is measured and used in a cycle: the
    /// measured step reads the next one from this array, in order, instead of looking up a
    /// random agent's skills (a cache miss or two per contact in a center of 10,000 agents,
    /// which would be the benchmark's cost, not the engine's).
    arrival_queues: Vec<QueueId>,
    now_ms: u64,
    next_contact: u64,
    /// Contacts in conversation, oldest first.
    in_conversation: VecDeque<ContactId>,
    /// Conversations kept going at once: about half the agents.
    target_busy: usize,
    offers: Vec<(ContactId, AgentId)>,
}

impl SteadyLoad {
    fn new(agent_count: u64, skill_count: u64) -> SteadyLoad {
        let (config, skills_per_agent) = center_config(agent_count, skill_count);
        let mut center = Center::new(config).expect("the benchmark center is valid");
        for agent in 0..agent_count {
            center
                .handle(
                    0,
                    Input::AgentLogin {
                        agent: AgentId(agent as u32),
                    },
                )
                .expect("every agent logs in");
        }
        while center.poll_output().is_some() {}
        // Arrivals follow the agents: a random agent's random skill picks the queue, so each
        // queue's load is proportional to the agents who can serve it and no queue piles up.
        let mut random = Xorshift(0xA11C_E5ED_0000_0002);
        let arrival_queues = (0..ARRIVAL_CYCLE)
            .map(|_| {
                let agent = random.below(skills_per_agent.len() as u64) as usize;
                let skills = &skills_per_agent[agent];
                let skill = skills[random.below(skills.len() as u64) as usize];
                QueueId(skill as u32)
            })
            .collect();
        let mut load = SteadyLoad {
            center,
            arrival_queues,
            now_ms: 0,
            next_contact: 0,
            in_conversation: VecDeque::new(),
            target_busy: (agent_count / 2) as usize,
            offers: Vec::new(),
        };
        // Fill the center up to the steady state before anything is measured.
        for _ in 0..agent_count * 2 {
            load.step();
        }
        load
    }

    /// Drains outputs, then answers every offer (which may produce more outputs).
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.center.poll_output() {
                if let Output::Offer { contact, agent, .. } = output {
                    self.offers.push((contact, agent));
                }
            }
            let Some((contact, agent)) = self.offers.pop() else {
                break;
            };
            self.center
                .handle(self.now_ms, Input::OfferAccepted { contact, agent })
                .expect("an offer is answered while it rings");
            self.in_conversation.push_back(contact);
        }
    }

    /// One contact arrives; when enough agents are busy, the oldest conversation ends.
    /// Never inlined, so that a profiler can count the cost of one step by its name.
    #[inline(never)]
    fn step(&mut self) {
        self.now_ms += 1_000;
        while let Some(due_ms) = self.center.poll_timeout() {
            if due_ms > self.now_ms {
                break;
            }
            self.center.handle_timeout(self.now_ms);
            self.drain();
        }
        let queue = self.arrival_queues[self.next_contact as usize % ARRIVAL_CYCLE];
        self.next_contact += 1;
        self.center
            .handle(
                self.now_ms,
                Input::ContactArrived {
                    contact: ContactId(self.next_contact),
                    channel: Channel::Voice,
                    entry: Entry::Queue(queue),
                    attributes: Vec::new(),
                },
            )
            .expect("a new contact is accepted");
        self.drain();
        if self.in_conversation.len() > self.target_busy {
            let contact = self
                .in_conversation
                .pop_front()
                .expect("a conversation is going on");
            self.center
                .handle(
                    self.now_ms,
                    Input::ContactEnded {
                        contact,
                        by: Party::Customer,
                    },
                )
                .expect("a conversation ends");
            self.drain();
        }
    }
}

fn routing(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("contact");
    group.throughput(Throughput::Elements(1));
    for agent_count in [100u64, 1_000, 10_000] {
        for skill_count in [1u64, 5, 20] {
            // Built on first use, so that a filtered run (`-- contact/20-skills/10000`) builds
            // only the center it measures; criterion calls the closure more than once.
            let mut load: Option<SteadyLoad> = None;
            group.bench_function(
                BenchmarkId::new(format!("{skill_count}-skills"), agent_count),
                |bencher| {
                    let load =
                        load.get_or_insert_with(|| SteadyLoad::new(agent_count, skill_count));
                    bencher.iter(|| load.step())
                },
            );
            // The measured steps must have left the center consistent and still loaded.
            if let Some(load) = load {
                load.center
                    .check_invariants()
                    .expect("the center stays consistent");
                assert!(load.in_conversation.len() >= load.target_busy / 2);
            }
        }
    }
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);

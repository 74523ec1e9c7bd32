//! The center's configuration as it is written in a scenario file: sites, queues, agent
//! groups, routing rules, IVR flows and business-hours calendars.
//!
//! These are plain serde types. A scenario file holds them beside tables that belong to a
//! driver (`[scenario]` and `[[traffic]]` for the simulator, `[live]` for the live runtime), so
//! the top level accepts tables it does not know; every table below the top level rejects
//! unknown keys, so a misspelt key is an error and never silently ignored. [`crate::Center::new`]
//! checks the meaning (names that refer to each other, reachable IVR nodes, ranges) and
//! reports every problem with the path of the offending key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::DurationMs;

/// The part of a scenario file that configures the engine.
///
/// ```
/// let text = r#"
/// [[queue]]
/// name = "sales"
/// channel = "voice"
/// skills = ["sales"]
///
/// [[agents]]
/// name = "sales-team"
/// count = 12
/// skills = ["sales"]
/// "#;
/// let config: switchboard_engine::CenterConfig = toml::from_str(text).unwrap();
/// assert_eq!(config.queues[0].name, "sales");
/// assert_eq!(config.agents[0].count, Some(12));
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CenterConfig {
    /// Settings that apply to the whole center.
    #[serde(default)]
    pub center: CenterSettings,
    /// Datacenters or contact-center sites, with their time zones.
    #[serde(default, rename = "site")]
    pub sites: Vec<SiteConfig>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<QueueConfig>,
    #[serde(default)]
    pub agents: Vec<AgentGroupConfig>,
    /// Rules applied when a contact enters a queue: raise its priority or send it elsewhere.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
    #[serde(default)]
    pub ivr: Vec<IvrFlowConfig>,
    #[serde(default, rename = "calendar")]
    pub calendars: Vec<CalendarConfig>,
}

/// `[center]`: settings for the whole center.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CenterSettings {
    /// The instant that time 0 stands for, in RFC 3339 (`"2026-11-10T20:00:00+08:00"`).
    /// Business hours are evaluated in each site's time zone from this instant.
    pub start: String,
    /// How long an offer rings before it counts as not answered.
    pub offer_timeout: DurationMs,
    /// After this many offers in a row not answered, the agent is put into aux
    /// `no-answer` (Asterisk's autopause, FreeSWITCH's max-no-answer). 0 disables it.
    pub max_no_answers: u32,
    /// How waiting contacts of different priorities are ordered; see [`PriorityAging`].
    pub priority_aging: PriorityAging,
    /// Contacts an agent may hold at once, per channel; agent groups may override.
    pub capacity: ChannelCapacity,
    /// Which channels a contact of one channel keeps an agent from being offered.
    /// Default: a voice call or a callback blocks every other offer; chats and emails
    /// block nothing but their own capacity.
    pub blocks: BTreeMap<Channel, Vec<Channel>>,
    /// The handle time assumed for expected-wait estimates until a queue has seen contacts.
    pub expected_handle_time: DurationMs,
}

impl Default for CenterSettings {
    fn default() -> Self {
        CenterSettings {
            start: "2026-01-05T00:00:00Z".to_string(),
            offer_timeout: DurationMs::from_s(20),
            max_no_answers: 3,
            priority_aging: PriorityAging::default(),
            capacity: ChannelCapacity::default(),
            blocks: default_blocks(),
            expected_handle_time: DurationMs::from_s(180),
        }
    }
}

fn default_blocks() -> BTreeMap<Channel, Vec<Channel>> {
    BTreeMap::from([
        (
            Channel::Voice,
            vec![Channel::Callback, Channel::Chat, Channel::Email],
        ),
        (
            Channel::Callback,
            vec![Channel::Voice, Channel::Chat, Channel::Email],
        ),
    ])
}

/// How priority and waiting time combine when an agent picks the next contact.
///
/// `"strict"`: a higher priority always goes first; within a priority, the longest waiting.
/// A duration such as `"60s"` (the default): one priority level is worth that much waiting,
/// so a priority-1 contact that has waited 61 s more than a priority-2 contact goes first.
/// Aging never reorders contacts of equal priority: they are served first come, first served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityAging {
    Strict,
    PerLevel(DurationMs),
}

impl Default for PriorityAging {
    fn default() -> Self {
        PriorityAging::PerLevel(DurationMs::from_s(60))
    }
}

impl Serialize for PriorityAging {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PriorityAging::Strict => serializer.serialize_str("strict"),
            PriorityAging::PerLevel(duration) => duration.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for PriorityAging {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "strict" {
            return Ok(PriorityAging::Strict);
        }
        text.parse::<DurationMs>()
            .map(PriorityAging::PerLevel)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "expected \"strict\" or a duration per priority level such as \"60s\", found {text:?}"
                ))
            })
    }
}

/// The kinds of contact. A callback is an outbound voice call to a customer who asked for one,
/// so it uses the agent's voice capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Voice,
    /// WeChat, web chat and in-app messaging.
    #[serde(alias = "wechat", alias = "webchat", alias = "app-chat")]
    Chat,
    Email,
    Callback,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Voice,
        Channel::Chat,
        Channel::Email,
        Channel::Callback,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Callback => "callback",
        }
    }

    /// The capacity a contact of this channel takes from an agent: callbacks are voice calls.
    pub fn media(self) -> Media {
        match self {
            Channel::Voice | Channel::Callback => Media::Voice,
            Channel::Chat => Media::Chat,
            Channel::Email => Media::Email,
        }
    }
}

/// What an agent's capacity is counted in: a callback and a voice call take the same line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Media {
    Voice = 0,
    Chat = 1,
    Email = 2,
}

impl Media {
    pub const COUNT: usize = 3;
    pub const ALL: [Media; 3] = [Media::Voice, Media::Chat, Media::Email];
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Contacts an agent may hold at once, per medium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelCapacity {
    pub voice: u32,
    pub chat: u32,
    pub email: u32,
}

impl Default for ChannelCapacity {
    fn default() -> Self {
        ChannelCapacity {
            voice: 1,
            chat: 3,
            email: 5,
        }
    }
}

impl ChannelCapacity {
    pub fn of(&self, media: Media) -> u32 {
        match media {
            Media::Voice => self.voice,
            Media::Chat => self.chat,
            Media::Email => self.email,
        }
    }
}

/// A group's capacity per medium; a medium left out keeps `[center] capacity`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityOverride {
    #[serde(default)]
    pub voice: Option<u32>,
    #[serde(default)]
    pub chat: Option<u32>,
    #[serde(default)]
    pub email: Option<u32>,
}

impl CapacityOverride {
    /// The capacity with these overrides applied over `base`.
    pub fn over(self, base: ChannelCapacity) -> ChannelCapacity {
        ChannelCapacity {
            voice: self.voice.unwrap_or(base.voice),
            chat: self.chat.unwrap_or(base.chat),
            email: self.email.unwrap_or(base.email),
        }
    }
}

/// `[[site]]`: a datacenter or contact-center site.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    /// IANA time zone, such as `"Asia/Shanghai"`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "UTC".to_string()
}

/// Skills with a proficiency: written as a list (`["sales", "billing"]`) or a table
/// (`{ sales = 5, billing = 2 }`). In a queue a list means "proficiency 1 or better"; for an
/// agent a list means "proficiency 5".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SkillList {
    #[default]
    None,
    Names(Vec<String>),
    Levels(BTreeMap<String, u8>),
}

impl<'de> Deserialize<'de> for SkillList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SkillList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "skills as a list of names (`[\"sales\"]`) or a table of proficiencies from 1 to 5 (`{ sales = 4 }`)",
                )
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SkillList, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(SkillList::Names(names))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SkillList, A::Error> {
                let mut levels = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let level: u8 = map.next_value().map_err(|_| {
                        serde::de::Error::custom(format!(
                            "expected the proficiency of skill {name:?} as a whole number from 1 to 5"
                        ))
                    })?;
                    levels.insert(name, level);
                }
                Ok(SkillList::Levels(levels))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl SkillList {
    /// Each skill with its proficiency, where a bare name stands for `level_of_bare_name`.
    pub fn with_levels(&self, level_of_bare_name: u8) -> Vec<(String, u8)> {
        match self {
            SkillList::None => Vec::new(),
            SkillList::Names(names) => names
                .iter()
                .map(|name| (name.clone(), level_of_bare_name))
                .collect(),
            SkillList::Levels(levels) => levels
                .iter()
                .map(|(name, level)| (name.clone(), *level))
                .collect(),
        }
    }
}

/// `[[queue]]`: where contacts wait for an agent with the right skills.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    pub channel: Channel,
    /// Skills an agent needs, with the minimum proficiency (1–5).
    #[serde(default)]
    pub skills: SkillList,
    /// Languages an agent must speak (all of them).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Higher is served first (see `[center] priority_aging`).
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// Contacts waiting at most; one more is blocked.
    #[serde(default)]
    pub max_size: Option<u32>,
    /// Longest a contact waits before `on_max_wait` happens to it.
    #[serde(default)]
    pub max_wait: Option<DurationMs>,
    #[serde(default)]
    pub on_max_wait: MaxWaitAction,
    /// The service-level threshold T ("answered within T").
    #[serde(default = "default_service_level_target")]
    pub service_level_target: DurationMs,
    /// After-contact work an agent does after each contact of this queue.
    #[serde(default)]
    pub wrap_up: DurationMs,
    #[serde(default)]
    pub strategy: StrategyName,
    /// Steps that widen the pool of agents or move the contact as it waits.
    #[serde(default)]
    pub relax: Vec<RelaxStepConfig>,
    /// What happens to a contact arriving while no agent who could serve the queue is logged in.
    #[serde(default)]
    pub when_no_agents: NoAgentsTreatment,
    /// The site that owns the queue (for reports and business hours).
    #[serde(default)]
    pub site: Option<String>,
    /// When a contact of this queue must be answered, for tickets (e-mails, web forms): it is
    /// due `within` after it joins, counted in open hours of `calendar` when one is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DueConfig>,
    /// When a callback request of this voice queue must be answered: the promise made to the
    /// customer is a ticket, due `within` after the request, counted in open hours of
    /// `calendar` when one is named. For a queue that takes callbacks (`channel =
    /// "callback"`, `on_max_wait = "callback"`, or named by an IVR callback offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_due: Option<DueConfig>,
    /// Deferrable work (tickets): an agent is offered a contact of this queue only when no
    /// contact of a queue that is not deferrable waits that the agent could take, whatever the
    /// priorities and waiting times, so e-mails fill the time calls and chats leave idle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deferrable: bool,
    /// Pre-emptable work (e-mail tickets): when a voice contact waits and no agent is free for
    /// it, an agent who could take it and holds only contacts of pre-emptable queues, all in
    /// conversation, is given the call; each of those contacts goes back to the head of its
    /// queue, to be resumed (by any agent) with the work done so far kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preemptable: bool,
}

/// A queue's due time: `due = { within = "4h", calendar = "office" }` makes a contact due 4
/// open hours of the `[[calendar]]` named `office` after it joins the queue (time outside the
/// calendar's hours and on its holidays does not count); without `calendar`, 4 hours of wall
/// time. `callback_due` has the same shape, counted from a callback request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueConfig {
    pub within: DurationMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

fn default_priority() -> i32 {
    1
}

fn default_service_level_target() -> DurationMs {
    DurationMs::from_s(20)
}

/// What happens when a contact has waited `max_wait`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum MaxWaitAction {
    /// The contact is ended; it counts as timed out.
    #[default]
    Disconnect,
    /// The contact moves to another queue, keeping its place in time.
    Overflow { queue: String },
    /// The contact becomes a callback request, keeping its place in line.
    Callback,
}

/// What happens to a contact that arrives while nobody who could serve the queue is logged in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoAgentsTreatment {
    /// It waits, as usual (agents may log in).
    #[default]
    Queue,
    /// It is blocked at once.
    Block,
}

/// A routing strategy chosen per queue: which available agent gets the next contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// The agent idle the longest.
    #[default]
    LongestIdle,
    /// The agent with the fewest contacts handled today (ties: longest idle).
    LeastOccupied,
    /// The agent with the least talk time today (ties: longest idle).
    LeastTalkTime,
    /// The agent with the highest proficiency in the queue's skills (ties: longest idle).
    BestProficiency,
    /// Agents in turn: the one offered a contact the longest ago.
    RoundRobin,
    /// A strategy registered by the program embedding the engine, by name.
    Custom(String),
}

/// One relaxation step: after a contact has waited `after`, widen who may serve it, or move it.
///
/// ```toml
/// relax = [
///   { after = "30s", min_proficiency = 2 },
///   { after = "60s", overflow = "sales-backup" },
/// ]
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaxStepConfig {
    pub after: DurationMs,
    /// Accept agents with at least this proficiency in every required skill.
    #[serde(default)]
    pub min_proficiency: Option<u8>,
    /// Stop requiring the queue's languages.
    #[serde(default)]
    pub drop_languages: bool,
    /// Move the contact to another queue (it keeps the time it started waiting).
    #[serde(default)]
    pub overflow: Option<String>,
    /// Transfer the contact to another site.
    #[serde(default)]
    pub site: Option<String>,
}

/// `[[agents]]`: a group of agents with the same skills. Agent ids are `NAME-1` … `NAME-COUNT`
/// unless `ids` lists them one by one.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroupConfig {
    pub name: String,
    /// Agents `NAME-1` … `NAME-COUNT`; 0 is a group with no agents.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    pub skills: SkillList,
    #[serde(default)]
    pub languages: Vec<String>,
    /// The agents' home site.
    #[serde(default)]
    pub site: Option<String>,
    /// Overrides `[center] capacity` for this group; channels not named keep the center's.
    #[serde(default)]
    pub capacity: Option<CapacityOverride>,
}

impl AgentGroupConfig {
    /// The ids of the group's agents, in order.
    pub fn agent_ids(&self) -> Vec<String> {
        match (&self.ids, self.count) {
            (Some(ids), _) => ids.clone(),
            (None, Some(count)) => (1..=count)
                .map(|number| format!("{}-{number}", self.name))
                .collect(),
            (None, None) => vec![self.name.clone()],
        }
    }
}

/// `[[rule]]`: when a contact enters a queue and matches `when`, raise its priority and/or
/// send it to another queue (VIP tiers, languages, an anxious customer upgraded).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub when: AttributeCondition,
    /// Only when entering one of these queues (every queue when empty).
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub raise_priority: i32,
    #[serde(default)]
    pub route_to: Option<String>,
}

/// A test on a contact attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeCondition {
    pub attribute: String,
    /// Matches when the attribute has this value; when absent, when it is present at all.
    #[serde(default)]
    pub equals: Option<String>,
}

/// `[[calendar]]`: opening hours in a time zone, with holidays.
///
/// ```toml
/// [[calendar]]
/// name = "cn-retail"
/// timezone = "Asia/Shanghai"
/// hours = { mon-fri = "08:00-22:00", sat-sun = "09:00-18:00" }
/// holidays = ["2026-10-01", "2026-10-02"]
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    pub name: String,
    /// IANA time zone; when absent, the site's.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    /// Day or day range (`mon`, `mon-fri`, `sat-sun`, `every-day`) → `"HH:MM-HH:MM"`.
    pub hours: BTreeMap<String, String>,
    /// Dates (`YYYY-MM-DD`, local) on which the center is closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// `[[ivr]]`: a flow as data (a voice-response flow, or a chat flow with a bot in front of the
/// agents). Contacts enter at `start`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IvrFlowConfig {
    pub name: String,
    pub start: String,
    /// The channel of the contacts the flow serves: `"voice"` (absent) or `"chat"`/`"email"`.
    /// Its queue nodes take that channel; a callback offer is voice only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Where the IVR editor draws each node (node id → `[x, y]`, in pixels of its canvas).
    /// Only the editor reads it: the engine ignores it, and a node without a position is
    /// placed by the editor.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, [i32; 2]>,
    #[serde(rename = "node")]
    pub nodes: Vec<IvrNodeConfig>,
}

/// One node of an IVR flow; `kind` says which.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IvrNodeConfig {
    /// Play a prompt, then go on.
    Play {
        id: String,
        prompt: String,
        duration: DurationMs,
        next: String,
    },
    /// Play a menu and wait for one digit; no digit or an unknown digit repeats the menu up to
    /// `retries` times, then goes to `on_fail`.
    Menu {
        id: String,
        prompt: String,
        duration: DurationMs,
        options: BTreeMap<String, String>,
        #[serde(default = "default_digit_timeout")]
        timeout: DurationMs,
        #[serde(default = "default_retries")]
        retries: u32,
        on_fail: String,
    },
    /// Collect up to `max_digits` digits into a contact attribute.
    Collect {
        id: String,
        prompt: String,
        duration: DurationMs,
        max_digits: u32,
        #[serde(default = "default_digit_timeout")]
        timeout: DurationMs,
        attribute: String,
        next: String,
        /// The digits are a secret (a card or an ID number): the live runtime hides them from
        /// the agent and pauses the call's recording while the node collects. The simulator
        /// has no audio and ignores it.
        #[serde(default)]
        secure: bool,
    },
    /// Branch on a business-hours calendar.
    BusinessHours {
        id: String,
        calendar: String,
        open: String,
        closed: String,
    },
    /// Branch on the state of a queue or an attribute of the contact.
    Condition {
        id: String,
        when: FlowCondition,
        then: String,
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// The caller's need is met by the machine (order status, balance ...).
    SelfService {
        id: String,
        prompt: String,
        duration: DurationMs,
    },
    /// Join a queue, optionally with a priority that replaces the queue's.
    Queue {
        id: String,
        queue: String,
        #[serde(default)]
        priority: Option<i32>,
    },
    /// Offer a callback: pressing `accept_digit` leaves a request in `queue`; anything else
    /// (or nothing) goes to `declined`.
    Callback {
        id: String,
        queue: String,
        prompt: String,
        duration: DurationMs,
        #[serde(default = "default_accept_digit")]
        accept_digit: String,
        #[serde(default = "default_digit_timeout")]
        timeout: DurationMs,
        declined: String,
    },
    /// A bot (a voice bot, a chat FAQ bot) converses with the customer. The driver runs it and
    /// says how it ended with [`crate::Input::BotFinished`]: contained (the contact ends
    /// self-served) or escalated (the flow goes on at `escalate`, usually a queue node). The
    /// customer's patience keeps running meanwhile: it runs from arrival.
    Bot { id: String, escalate: String },
    /// Hand the contact to another site.
    Transfer { id: String, site: String },
    /// End the call, optionally after a prompt (a closed message, say). Counts as blocked.
    Hangup {
        id: String,
        #[serde(default)]
        prompt: Option<String>,
        #[serde(default)]
        duration: DurationMs,
    },
}

fn default_digit_timeout() -> DurationMs {
    DurationMs::from_s(5)
}

fn default_retries() -> u32 {
    2
}

fn default_accept_digit() -> String {
    "1".to_string()
}

impl IvrNodeConfig {
    /// The node's `kind`, as a scenario file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            IvrNodeConfig::Play { .. } => "play",
            IvrNodeConfig::Menu { .. } => "menu",
            IvrNodeConfig::Collect { .. } => "collect",
            IvrNodeConfig::BusinessHours { .. } => "business-hours",
            IvrNodeConfig::Condition { .. } => "condition",
            IvrNodeConfig::SelfService { .. } => "self-service",
            IvrNodeConfig::Queue { .. } => "queue",
            IvrNodeConfig::Callback { .. } => "callback",
            IvrNodeConfig::Transfer { .. } => "transfer",
            IvrNodeConfig::Bot { .. } => "bot",
            IvrNodeConfig::Hangup { .. } => "hangup",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            IvrNodeConfig::Play { id, .. }
            | IvrNodeConfig::Menu { id, .. }
            | IvrNodeConfig::Collect { id, .. }
            | IvrNodeConfig::BusinessHours { id, .. }
            | IvrNodeConfig::Condition { id, .. }
            | IvrNodeConfig::SelfService { id, .. }
            | IvrNodeConfig::Queue { id, .. }
            | IvrNodeConfig::Callback { id, .. }
            | IvrNodeConfig::Transfer { id, .. }
            | IvrNodeConfig::Bot { id, .. }
            | IvrNodeConfig::Hangup { id, .. } => id,
        }
    }

    /// The prompt the node plays, if it plays one (a hang-up may end the call without one).
    pub fn prompt(&self) -> Option<&str> {
        match self {
            IvrNodeConfig::Play { prompt, .. }
            | IvrNodeConfig::Menu { prompt, .. }
            | IvrNodeConfig::Collect { prompt, .. }
            | IvrNodeConfig::SelfService { prompt, .. }
            | IvrNodeConfig::Callback { prompt, .. } => Some(prompt),
            IvrNodeConfig::Hangup { prompt, .. } => prompt.as_deref(),
            IvrNodeConfig::BusinessHours { .. }
            | IvrNodeConfig::Condition { .. }
            | IvrNodeConfig::Queue { .. }
            | IvrNodeConfig::Bot { .. }
            | IvrNodeConfig::Transfer { .. } => None,
        }
    }

    /// The nodes this node may go to next.
    pub fn successors(&self) -> Vec<&str> {
        match self {
            IvrNodeConfig::Play { next, .. } | IvrNodeConfig::Collect { next, .. } => {
                vec![next]
            }
            IvrNodeConfig::Bot { escalate, .. } => vec![escalate],
            IvrNodeConfig::Menu {
                options, on_fail, ..
            } => options
                .values()
                .map(String::as_str)
                .chain(std::iter::once(on_fail.as_str()))
                .collect(),
            IvrNodeConfig::BusinessHours { open, closed, .. } => vec![open, closed],
            IvrNodeConfig::Condition {
                then, otherwise, ..
            } => vec![then, otherwise],
            IvrNodeConfig::Callback { declined, .. } => vec![declined],
            IvrNodeConfig::SelfService { .. }
            | IvrNodeConfig::Queue { .. }
            | IvrNodeConfig::Transfer { .. }
            | IvrNodeConfig::Hangup { .. } => Vec::new(),
        }
    }

    /// Whether the node waits for the caller or the driver's bot (so a loop through it is
    /// driven from outside, not endless).
    pub fn waits_for_caller(&self) -> bool {
        matches!(
            self,
            IvrNodeConfig::Menu { .. }
                | IvrNodeConfig::Collect { .. }
                | IvrNodeConfig::Callback { .. }
                | IvrNodeConfig::Bot { .. }
        )
    }
}

impl IvrFlowConfig {
    /// The channel of the contacts the flow serves (voice when not said).
    pub fn channel(&self) -> Channel {
        self.channel.unwrap_or(Channel::Voice)
    }
}

/// A condition an IVR `condition` node tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum FlowCondition {
    /// The queue's expected wait is longer than `above`.
    ExpectedWait { queue: String, above: DurationMs },
    /// More than `above` contacts wait in the queue.
    QueueLength { queue: String, above: u32 },
    /// The contact has the attribute (with the value, when given).
    Attribute {
        attribute: String,
        #[serde(default)]
        equals: Option<String>,
    },
}

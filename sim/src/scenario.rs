//! Reading a scenario file: the simulator's own tables (`[scenario]`, `[[traffic]]`,
//! `[[people]]`) beside the engine's center tables, with errors that name the file, the line
//! and the column. `docs/scenario.md` documents every key.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;
use switchboard_engine::source_text::line_and_column;
use switchboard_engine::units::{DurationMs, Rate};
use switchboard_engine::{AuxReason, CenterConfig, Channel, ConfigError};
use toml::Spanned;

use crate::distribution::DistributionConfig;

/// Top-level tables read by the engine (`CenterConfig`), which every driver reads.
pub const CENTER_TABLES: &[&str] = &[
    "center", "site", "queue", "agents", "rule", "ivr", "calendar",
];

/// The simulator's own top-level tables:
///
/// - `scenario`: the run itself (duration, seed, replications, reporting interval);
/// - `traffic`: arrival rates or profiles, handle times, patience, retrials;
/// - `people`: staffing plans, shifts, shrinkage, agent behaviour;
/// - `fault`: failures injected at a time (a site down, a trunk lost);
/// - `topology`: datacenters, trunks and the network between them;
/// - `chaos`: rates and durations of random faults for chaos runs.
///
/// A scenario file may hold other programs' tables beside them (the live runtime's `[live]`):
/// [`parse_scenario`] leaves those alone, and the program that reads the file for all of its
/// readers checks the whole list with [`check_top_level_tables`].
pub const SIMULATOR_TABLES: &[&str] = &[
    "scenario", "traffic", "people", "fault", "topology", "chaos",
];

/// Refuses the first top-level table of `text` that is not in `known`, at its line and column,
/// with the known table it most likely stands for. `known` is every table the program's
/// readers take (the engine's, the simulator's, the live runtime's ...).
pub fn check_top_level_tables(file: &str, text: &str, known: &[&str]) -> Result<(), ScenarioError> {
    let top: BTreeMap<Spanned<String>, IgnoredAny> =
        toml::from_str(text).map_err(|error| toml_error(file, text, &error))?;
    for key in top.keys() {
        if !known.contains(&key.get_ref().as_str()) {
            let hint =
                switchboard_engine::source_text::did_you_mean(key.get_ref(), known.iter().copied());
            return Err(ScenarioError::at(
                file,
                text,
                Some(key.span()),
                format!(
                    "unknown table `{}`, expected one of: {}{hint}",
                    key.get_ref(),
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The candidate closest to `word` by edit distance, when the distance is small for its
/// length (a plural, a swapped or missing letter), never a wild guess.
pub fn closest_name<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    switchboard_engine::source_text::closest_name(word, candidates)
}

/// `[scenario]`: what to run and how to measure it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSettings {
    #[serde(default)]
    pub name: String,
    /// The seed every random stream is derived from.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long each replication runs, from time 0.
    pub duration: DurationMs,
    /// Contacts arriving before this time are not counted in statistics.
    #[serde(default)]
    pub warmup: DurationMs,
    /// The length of a reporting interval in `intervals.csv`.
    #[serde(default = "default_interval")]
    pub interval: DurationMs,
    #[serde(default = "default_replications")]
    pub replications: u32,
    #[serde(default)]
    pub service_level: ServiceLevelSettings,
    /// Call the engine's invariant checks after every step (slow; for tests).
    #[serde(default)]
    pub check_invariants: bool,
}

fn default_seed() -> u64 {
    1
}
fn default_interval() -> DurationMs {
    DurationMs::from_s(1_800)
}
fn default_replications() -> u32 {
    10
}

/// `service_level = { target = "20s", definition = "excluding_short_abandons", short_abandon = "5s" }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelSettings {
    /// T in "answered within T", for queues that do not set `service_level_target`.
    #[serde(default)]
    pub target: Option<DurationMs>,
    #[serde(default)]
    pub definition: ServiceLevelDefinition,
    /// Abandons after waiting less than this are short abandons.
    #[serde(default = "default_short_abandon")]
    pub short_abandon: DurationMs,
}

impl Default for ServiceLevelSettings {
    fn default() -> Self {
        ServiceLevelSettings {
            target: None,
            definition: ServiceLevelDefinition::default(),
            short_abandon: default_short_abandon(),
        }
    }
}

fn default_short_abandon() -> DurationMs {
    DurationMs::from_s(5)
}

/// The three common definitions of service level, as results also name them.
pub use switchboard_results::ServiceLevelDefinition;

/// `[[traffic]]`: one stream of contacts entering a queue or an IVR flow.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    #[serde(default)]
    pub queue: Option<Spanned<String>>,
    #[serde(default)]
    pub flow: Option<Spanned<String>>,
    /// Defaults to the queue's channel, or voice for a flow.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// A constant arrival rate.
    #[serde(default)]
    pub rate: Option<Rate>,
    /// Volumes per interval: `[{ start = "0m", volume = 120 }, { start = "30m", volume = 180 }]`.
    #[serde(default)]
    pub profile: Option<Vec<ProfileEntry>>,
    /// The same as a CSV file with the header `start,volume`.
    #[serde(default)]
    pub profile_file: Option<String>,
    /// The length of the last profile interval (default: the spacing of the entries before).
    #[serde(default)]
    pub profile_interval: Option<DurationMs>,
    /// Coefficient of variation of a day-level gamma multiplier of the rate, drawn once per
    /// replication (gamma-Poisson overdispersion). 0 or absent: plain Poisson.
    #[serde(default)]
    pub overdispersion: Option<f64>,
    #[serde(default)]
    pub bursts: Vec<BurstConfig>,
    /// Mutually exclusive attribute sets with their shares:
    /// `[{ tier = "vip", share = 0.05 }]`; the remaining share gets no attributes.
    #[serde(default)]
    pub attributes: Vec<BTreeMap<String, toml::Value>>,
    /// Probability that a contact's customer turns negative: the contact gets the attribute
    /// `sentiment = "negative"` (besides its attribute mix), which `[[rule]]` tables act on.
    /// The simulator's model of the live sentiment escalation (docs/compliance.md).
    #[serde(default)]
    pub negative_sentiment: Option<f64>,
    pub handle_time: DistributionConfig,
    /// Absent: infinite patience.
    #[serde(default)]
    pub patience: Option<DistributionConfig>,
    #[serde(default)]
    pub retrial: Option<RetrialConfig>,
    /// IVR choices: node id → digit → probability; the remainder presses nothing.
    #[serde(default)]
    pub choices: BTreeMap<String, BTreeMap<String, f64>>,
    /// How the bots of the flow's `bot` nodes fare with these customers: node id → model.
    /// Every `bot` node of the traffic's flow needs one.
    #[serde(default)]
    pub bot: BTreeMap<String, BotConfig>,
    /// Work an agent leaves after answering: with `probability`, a contact answered and
    /// completed creates a ticket in `queue`, whose own `[[traffic]]` table gives its handle
    /// time (and patience).
    #[serde(default)]
    pub follow_up: Option<FollowUpConfig>,
}

/// `follow_up = { probability = 0.2, queue = "back-office" }`: tickets agents create after
/// answering.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpConfig {
    pub probability: f64,
    pub queue: Spanned<String>,
}

/// `bot.NODE = { containment = 0.9, handle_time = { ... } }`: one bot node's model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Probability that the bot meets the customer's need: the contact ends self-served;
    /// otherwise it escalates to the node's `escalate`.
    pub containment: f64,
    /// How long the bot converses before it contains or escalates (either way).
    pub handle_time: DistributionConfig,
}

/// One interval of a traffic profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    pub start: DurationMs,
    pub volume: f64,
}

/// A burst: from `at`, the rate is multiplied by `1 + (multiplier − 1)·exp(−(t − at)/decay)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstConfig {
    pub at: DurationMs,
    pub multiplier: f64,
    pub decay: DurationMs,
}

/// `retrial = { probability = 0.5, delay = { dist = "exponential", mean = "5m" } }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrialConfig {
    pub probability: f64,
    pub delay: DistributionConfig,
    /// Retrials per original contact at most.
    #[serde(default = "default_max_retrials")]
    pub max_retrials: u32,
    /// Which outcomes lead to a retrial.
    #[serde(default = "default_retrial_after")]
    pub after: Vec<RetrialCause>,
}

fn default_max_retrials() -> u32 {
    3
}
fn default_retrial_after() -> Vec<RetrialCause> {
    vec![RetrialCause::Abandoned, RetrialCause::Blocked]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetrialCause {
    Abandoned,
    Blocked,
}

/// `[[people]]`: how the agents of one `[[agents]]` group behave. A group without one has all
/// its agents logged in from time 0, answering at once.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleConfig {
    /// The `[[agents]]` group.
    pub agents: Spanned<String>,
    /// Agents logged in per interval: `[{ start = "0m", agents = 10 }, ...]`.
    #[serde(default)]
    pub plan: Option<Vec<PlanEntry>>,
    /// The same as a CSV file `start,agents[,staff]`.
    #[serde(default)]
    pub plan_file: Option<String>,
    #[serde(default)]
    pub shifts: Vec<ShiftConfig>,
    /// The same shifts read from a TOML file of `[[shifts]]` tables, relative to the scenario.
    #[serde(default)]
    pub shifts_file: Option<String>,
    #[serde(default)]
    pub shrinkage: Option<ShrinkageConfig>,
    /// Time from an offer to the answer.
    #[serde(default)]
    pub answer_delay: Option<DistributionConfig>,
    /// Probability that an offer is not answered (the engine's offer timeout ends it).
    #[serde(default)]
    pub no_answer: f64,
}

/// One step of a staffing plan.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry {
    pub start: DurationMs,
    pub agents: u32,
    /// Agents to schedule including shrinkage; used instead of `agents` when the group
    /// simulates shrinkage.
    #[serde(default)]
    pub staff: Option<u32>,
}

/// A shift: at each of `starts`, `agents` agents log in for `length`, with breaks. The keys
/// are those of `plan schedule`'s shift templates (`starts`, `length`, breaks with `offset`
/// and `duration`), so that one vocabulary describes a shift wherever it is written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftConfig {
    #[serde(default)]
    pub starts: Vec<DurationMs>,
    /// The former key: one start (read with a deprecation warning naming `starts`).
    #[serde(default)]
    pub start: Option<DurationMs>,
    pub length: DurationMs,
    pub agents: u32,
    #[serde(default)]
    pub breaks: Vec<BreakConfig>,
}

/// The contents of a `[[people]] shifts_file`: `[[shifts]]` tables with the keys of an inline
/// `shifts` entry, so that a shift is written the same way in a scenario and in a file
/// (`plan schedule --out` writes these files).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftsFileConfig {
    pub shifts: Vec<ShiftConfig>,
}

/// Reads a shifts file; `file` names it in messages, which carry the line and column.
pub fn read_shifts_file(file: &str, text: &str) -> Result<Vec<ShiftConfig>, ScenarioError> {
    let contents: ShiftsFileConfig =
        toml::from_str(text).map_err(|error| toml_error(file, text, &error))?;
    if contents.shifts.is_empty() {
        return Err(ScenarioError::at(
            file,
            text,
            Some(0..0),
            "no shift: expected `[[shifts]]` tables",
        ));
    }
    Ok(contents.shifts)
}

/// A break `offset` from the shift's start, lasting `duration`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakConfig {
    #[serde(default)]
    pub offset: Option<DurationMs>,
    #[serde(default)]
    pub duration: Option<DurationMs>,
    /// The former name of `offset` (read with a deprecation warning).
    #[serde(default)]
    pub after: Option<DurationMs>,
    /// The former name of `duration` (read with a deprecation warning).
    #[serde(default)]
    pub length: Option<DurationMs>,
    #[serde(default = "default_break_reason")]
    pub reason: AuxReason,
}

/// A key of a shift or break under its current name or its former one: the value, and
/// whether the former name was used. Both, or neither, is an error naming the current key.
pub fn current_or_former<T: Copy>(
    current: (&str, Option<T>),
    former: (&str, Option<T>),
) -> Result<(T, bool), String> {
    match (current.1, former.1) {
        (Some(value), None) => Ok((value, false)),
        (None, Some(value)) => Ok((value, true)),
        (Some(_), Some(_)) => Err(format!(
            "`{}` is the former name of `{}`: give only `{}`",
            former.0, current.0, current.0
        )),
        (None, None) => Err(format!("expected `{}`", current.0)),
    }
}

fn default_break_reason() -> AuxReason {
    AuxReason::Break
}

/// Random aux time: a `fraction` of logged-in time, in spells whose lengths follow `length`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShrinkageConfig {
    pub fraction: f64,
    pub length: DistributionConfig,
}

/// The simulator's own tables; the engine's are read separately.
#[derive(Clone, Debug, Deserialize)]
struct SimulatorTables {
    scenario: ScenarioSettings,
    #[serde(default)]
    traffic: Vec<TrafficConfig>,
    #[serde(default)]
    people: Vec<PeopleConfig>,
}

/// A scenario file as read, before it is compiled into a model.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file's name as given (for messages).
    pub file: String,
    /// The folder relative file names inside the scenario are read from.
    pub base: PathBuf,
    pub text: String,
    pub settings: ScenarioSettings,
    pub center: CenterConfig,
    pub traffic: Vec<TrafficConfig>,
    pub people: Vec<PeopleConfig>,
    /// Per queue: whether the file sets `service_level_target` itself.
    pub queue_sets_target: Vec<bool>,
}

/// One problem with a scenario, where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// For engine problems that could not be placed: the dotted path of the key.
    pub path: Option<String>,
    pub message: String,
    /// The line of the file with a caret under the column, shown under the message
    /// (`switchboard_engine::source_text::snippet`); empty when the problem has no place.
    pub snippet: String,
}

/// Everything wrong with a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let (Some(line), Some(column)) = (problem.line, problem.column) {
                write!(f, ":{line}:{column}")?;
            }
            if let Some(path) = &problem.path {
                write!(f, ": {path}")?;
            }
            write!(f, ": {}{}", problem.message, problem.snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// One problem at a byte span of `text` (or nowhere in particular).
    pub fn at(
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        let message = switchboard_engine::source_text::plain_message(&message.into());
        // A message that shows a line of another file already (a plan CSV's) keeps only that.
        let snippet = match (line, column) {
            (Some(line), Some(column)) if !message.contains('\n') => {
                switchboard_engine::source_text::snippet(text, line, column)
            }
            _ => String::new(),
        };
        ScenarioError {
            file: file.to_string(),
            problems: vec![Problem {
                line,
                column,
                path: None,
                message,
                snippet,
            }],
        }
    }
}

/// Reads and checks the syntax and the shape of a scenario file (its simulator and center
/// tables; see [`load_scenario_with_tables`] to check its top-level tables too).
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    load_scenario_with_tables(path, None)
}

/// [`load_scenario`], refusing first any top-level table not in `known` when it is given (see
/// [`check_top_level_tables`]).
pub fn load_scenario_with_tables(
    path: &Path,
    known: Option<&[&str]>,
) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: file.clone(),
        problems: vec![Problem {
            line: None,
            column: None,
            path: None,
            message: format!("cannot read the file: {error}"),
            snippet: String::new(),
        }],
    })?;
    if let Some(known) = known {
        check_top_level_tables(&file, &text, known)?;
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_scenario(&file, &text, &base)
}

/// A TOML reader's error at its place in `text`.
fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> ScenarioError {
    ScenarioError::at(
        file,
        text,
        error.span(),
        error.message().trim_end().to_string(),
    )
}

/// Reads a scenario from its text; `file` names it in messages. Top-level tables of other
/// programs are left alone (see [`check_top_level_tables`]).
pub fn parse_scenario(file: &str, text: &str, base: &Path) -> Result<Scenario, ScenarioError> {
    let toml_error = |error: toml::de::Error| toml_error(file, text, &error);
    let top: BTreeMap<Spanned<String>, IgnoredAny> = toml::from_str(text).map_err(toml_error)?;
    if !top.keys().any(|key| key.get_ref() == "scenario") {
        return Err(ScenarioError::at(
            file,
            text,
            Some(0..0),
            "missing table `[scenario]` (with at least `duration`)",
        ));
    }
    let center: CenterConfig = toml::from_str(text).map_err(toml_error)?;
    let tables: SimulatorTables = toml::from_str(text).map_err(toml_error)?;
    let raw: toml::Table = toml::from_str(text).map_err(toml_error)?;
    let queue_sets_target = match raw.get("queue") {
        Some(toml::Value::Array(queues)) => queues
            .iter()
            .map(|queue| queue.get("service_level_target").is_some())
            .collect(),
        _ => Vec::new(),
    };
    Ok(Scenario {
        file: file.to_string(),
        base: base.to_path_buf(),
        text: text.to_string(),
        settings: tables.scenario,
        center,
        traffic: tables.traffic,
        people: tables.people,
        queue_sets_target,
    })
}

impl Scenario {
    /// The `[[agents]]` groups' names, in file order.
    pub fn group_names(&self) -> Vec<String> {
        self.center
            .agents
            .iter()
            .map(|group| group.name.clone())
            .collect()
    }

    /// The `[[queue]]` names, in file order.
    pub fn queue_names(&self) -> Vec<String> {
        self.center
            .queues
            .iter()
            .map(|queue| queue.name.clone())
            .collect()
    }

    /// An error at a span of this scenario's text.
    pub fn error_at(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::at(&self.file, &self.text, span, message)
    }

    /// An error at the key of a dotted path such as `traffic[1].patience`.
    pub fn error_at_path(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        let span = span_of_path(&self.text, path);
        let mut error = self.error_at(span.clone(), message);
        if span.is_none() {
            error.problems[0].path = Some(path.to_string());
        }
        error
    }

    /// The engine's verdict on the center tables, with each problem placed in the file.
    pub fn engine_error(&self, error: &ConfigError) -> ScenarioError {
        let problems = error
            .problems
            .iter()
            .map(|problem| {
                let mut placed = self.error_at_path(&problem.path, problem.message.clone());
                let mut first = placed.problems.remove(0);
                if first.path.is_none() {
                    first.message = format!("{}: {}", problem.path, problem.message);
                }
                first
            })
            .collect();
        ScenarioError {
            file: self.file.clone(),
            problems,
        }
    }
}

/// The byte span of the item a dotted path (`queue[2].relax[0].overflow`) names, if the
/// document has it.
pub fn span_of_path(text: &str, path: &str) -> Option<Range<usize>> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = document.as_item();
    let mut span = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let key_span = item
            .as_table_like()
            .and_then(|table| table.get_key_value(name))
            .and_then(|(key, _)| key.span());
        item = item.get(name)?;
        // The key is where a reader looks; a table header or a value will do otherwise.
        span = key_span.or(item.span()).or(span);
        if let Some(index) = index {
            item = item.get(index)?;
            span = item.span().or(span);
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKELETON: &str = r#"
[scenario]
name = "M/M/12 with abandonment"
seed = 7
duration = "8h"
warmup = "0s"
interval = "30m"
replications = 1000
service_level = { target = "20s", definition = "excluding_short_abandons" }

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[traffic]]
queue = "sales"
rate = "252/h"
handle_time = { dist = "exponential", mean = "2m" }
patience = { dist = "exponential", mean = "1m" }

[[agents]]
name = "sales-team"
count = 12
skills = ["sales"]
"#;

    #[test]
    fn the_documented_skeleton_reads() {
        let scenario = parse_scenario("mmc.toml", SKELETON, Path::new(".")).unwrap();
        assert_eq!(scenario.settings.seed, 7);
        assert_eq!(scenario.settings.duration.as_ms(), 8 * 3_600_000);
        assert_eq!(scenario.settings.replications, 1000);
        assert_eq!(scenario.traffic[0].rate.unwrap().per_hour(), 252.0);
        assert_eq!(scenario.center.queues[0].name, "sales");
        assert_eq!(scenario.queue_sets_target, vec![false]);
    }

    #[test]
    fn line_and_column_count_from_one_in_characters() {
        let text = "a = 1\nname = \"é\" x\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_and_column(text, x), (2, 12));
        // Inside "é" (two bytes): its own column.
        let e = text.find('é').unwrap();
        assert_eq!(line_and_column(text, e + 1), (2, 9));
        assert_eq!(line_and_column(text, text.len() + 5), (3, 1));
    }

    #[test]
    fn an_unknown_table_is_named_with_its_line_and_column() {
        let text = format!("{SKELETON}\n[[trafic]]\nqueue = \"sales\"\n");
        let known: Vec<&str> = CENTER_TABLES
            .iter()
            .chain(SIMULATOR_TABLES)
            .copied()
            .collect();
        let error = check_top_level_tables("x.toml", &text, &known).unwrap_err();
        let shown = error.to_string();
        assert!(
            shown.starts_with("x.toml:27:3: unknown table `trafic`"),
            "{shown}"
        );
        assert!(
            shown.contains("; did you mean `traffic`?\n   |\n27 | [[trafic]]\n   |   ^"),
            "{shown}"
        );
        assert!(check_top_level_tables("x.toml", SKELETON, &known).is_ok());
    }

    #[test]
    fn a_misspelt_key_is_placed() {
        let text = SKELETON.replace("handle_time =", "handle_tme =");
        let error = parse_scenario("x.toml", &text, Path::new(".")).unwrap_err();
        let shown = error.to_string();
        assert!(shown.starts_with("x.toml:19:1:"), "{shown}");
        assert!(shown.contains("handle_tme"), "{shown}");
    }

    #[test]
    fn a_bad_duration_is_placed_and_explained() {
        let text = SKELETON.replace("duration = \"8h\"", "duration = \"8 hours\"");
        let shown = parse_scenario("x.toml", &text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(shown.starts_with("x.toml:5:12:"), "{shown}");
        assert!(shown.contains("expected a duration"), "{shown}");
    }

    #[test]
    fn dotted_paths_find_their_keys() {
        let span = span_of_path(SKELETON, "traffic[0].patience").unwrap();
        assert_eq!(line_and_column(SKELETON, span.start), (20, 1));
        let span = span_of_path(SKELETON, "agents[0].count").unwrap();
        assert_eq!(line_and_column(SKELETON, span.start), (24, 1));
        assert!(span_of_path(SKELETON, "queue[5].name").is_none());
    }
}

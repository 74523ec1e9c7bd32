//! The metrics of a results folder: one enum, so that a metric is named, given a unit and
//! defined in one place, and a misspelt one does not compile. `docs/metrics.md` gives the same
//! definitions (a test below checks that the two agree).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a metric's values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A number of contacts (a count, a peak, or a time-average of contacts waiting).
    Contacts,
    /// A share between 0 and 1.
    Fraction,
    /// Seconds.
    Seconds,
    /// A number of agents (a time-average, or a requirement).
    Agents,
}

/// One metric of `summary.json` or column of `intervals.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    Arrived,
    Offered,
    Answered,
    Abandoned,
    AbandonedInIvr,
    ShortAbandoned,
    Blocked,
    Dropped,
    TimedOut,
    SelfServed,
    BotContained,
    BotEscalated,
    Transferred,
    Callbacks,
    Retrials,
    AnsweredWithinTarget,
    AbandonedWithinTarget,
    TicketsDue,
    TicketsMet,
    ServiceLevel,
    AverageSpeedOfAnswer,
    AbandonRate,
    ProbabilityOfWait,
    AverageWait,
    WaitP50,
    WaitP90,
    WaitP99,
    AverageHandleTime,
    DueAttainment,
    Occupancy,
    Utilization,
    StaffedAgents,
    AverageQueueLength,
    MaxQueueLength,
    Backlog,
    Overdue,
    BacklogAgeP90,
    BacklogAgeMax,
    MaxConcurrent,
    RequiredAgents,
}
impl Metric {
    /// Every metric, in the order tables show them.
    pub const ALL: [Metric; 40] = [
        Metric::Arrived,
        Metric::Offered,
        Metric::Answered,
        Metric::Abandoned,
        Metric::AbandonedInIvr,
        Metric::ShortAbandoned,
        Metric::Blocked,
        Metric::Dropped,
        Metric::TimedOut,
        Metric::SelfServed,
        Metric::BotContained,
        Metric::BotEscalated,
        Metric::Transferred,
        Metric::Callbacks,
        Metric::Retrials,
        Metric::AnsweredWithinTarget,
        Metric::AbandonedWithinTarget,
        Metric::TicketsDue,
        Metric::TicketsMet,
        Metric::ServiceLevel,
        Metric::AverageSpeedOfAnswer,
        Metric::AbandonRate,
        Metric::ProbabilityOfWait,
        Metric::AverageWait,
        Metric::WaitP50,
        Metric::WaitP90,
        Metric::WaitP99,
        Metric::AverageHandleTime,
        Metric::DueAttainment,
        Metric::Occupancy,
        Metric::Utilization,
        Metric::StaffedAgents,
        Metric::AverageQueueLength,
        Metric::MaxQueueLength,
        Metric::Backlog,
        Metric::Overdue,
        Metric::BacklogAgeP90,
        Metric::BacklogAgeMax,
        Metric::MaxConcurrent,
        Metric::RequiredAgents,
    ];

    /// The name in files and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Arrived => "arrived",
            Metric::Offered => "offered",
            Metric::Answered => "answered",
            Metric::Abandoned => "abandoned",
            Metric::AbandonedInIvr => "abandoned_in_ivr",
            Metric::ShortAbandoned => "short_abandoned",
            Metric::Blocked => "blocked",
            Metric::Dropped => "dropped",
            Metric::TimedOut => "timed_out",
            Metric::SelfServed => "self_served",
            Metric::BotContained => "bot_contained",
            Metric::BotEscalated => "bot_escalated",
            Metric::Transferred => "transferred",
            Metric::Callbacks => "callbacks",
            Metric::Retrials => "retrials",
            Metric::AnsweredWithinTarget => "answered_within_target",
            Metric::AbandonedWithinTarget => "abandoned_within_target",
            Metric::TicketsDue => "tickets_due",
            Metric::TicketsMet => "tickets_met",
            Metric::ServiceLevel => "service_level",
            Metric::AverageSpeedOfAnswer => "asa_s",
            Metric::AbandonRate => "abandon_rate",
            Metric::ProbabilityOfWait => "probability_of_wait",
            Metric::AverageWait => "average_wait_s",
            Metric::WaitP50 => "wait_p50_s",
            Metric::WaitP90 => "wait_p90_s",
            Metric::WaitP99 => "wait_p99_s",
            Metric::AverageHandleTime => "aht_s",
            Metric::DueAttainment => "due_attainment",
            Metric::Occupancy => "occupancy",
            Metric::Utilization => "utilization",
            Metric::StaffedAgents => "staffed_agents",
            Metric::AverageQueueLength => "average_queue_length",
            Metric::MaxQueueLength => "max_queue_length",
            Metric::Backlog => "backlog",
            Metric::Overdue => "overdue",
            Metric::BacklogAgeP90 => "backlog_age_p90_s",
            Metric::BacklogAgeMax => "backlog_age_max_s",
            Metric::MaxConcurrent => "max_concurrent",
            Metric::RequiredAgents => "required_agents",
        }
    }

    /// What the metric counts or measures.
    pub const fn unit(self) -> Unit {
        match self {
            Metric::Arrived => Unit::Contacts,
            Metric::Offered => Unit::Contacts,
            Metric::Answered => Unit::Contacts,
            Metric::Abandoned => Unit::Contacts,
            Metric::AbandonedInIvr => Unit::Contacts,
            Metric::ShortAbandoned => Unit::Contacts,
            Metric::Blocked => Unit::Contacts,
            Metric::Dropped => Unit::Contacts,
            Metric::TimedOut => Unit::Contacts,
            Metric::SelfServed => Unit::Contacts,
            Metric::BotContained => Unit::Contacts,
            Metric::BotEscalated => Unit::Contacts,
            Metric::Transferred => Unit::Contacts,
            Metric::Callbacks => Unit::Contacts,
            Metric::Retrials => Unit::Contacts,
            Metric::AnsweredWithinTarget => Unit::Contacts,
            Metric::AbandonedWithinTarget => Unit::Contacts,
            Metric::TicketsDue => Unit::Contacts,
            Metric::TicketsMet => Unit::Contacts,
            Metric::ServiceLevel => Unit::Fraction,
            Metric::AverageSpeedOfAnswer => Unit::Seconds,
            Metric::AbandonRate => Unit::Fraction,
            Metric::ProbabilityOfWait => Unit::Fraction,
            Metric::AverageWait => Unit::Seconds,
            Metric::WaitP50 => Unit::Seconds,
            Metric::WaitP90 => Unit::Seconds,
            Metric::WaitP99 => Unit::Seconds,
            Metric::AverageHandleTime => Unit::Seconds,
            Metric::DueAttainment => Unit::Fraction,
            Metric::Occupancy => Unit::Fraction,
            Metric::Utilization => Unit::Fraction,
            Metric::StaffedAgents => Unit::Agents,
            Metric::AverageQueueLength => Unit::Contacts,
            Metric::MaxQueueLength => Unit::Contacts,
            Metric::Backlog => Unit::Contacts,
            Metric::Overdue => Unit::Contacts,
            Metric::BacklogAgeP90 => Unit::Seconds,
            Metric::BacklogAgeMax => Unit::Seconds,
            Metric::MaxConcurrent => Unit::Contacts,
            Metric::RequiredAgents => Unit::Agents,
        }
    }

    /// The definition, as `docs/metrics.md` gives it (Markdown; a test checks that the two agree).
    pub const fn definition(self) -> &'static str {
        match self {
            Metric::Arrived => {
                r#"center and channels: contacts that arrived (every entry: queue or IVR); queues and sites: contacts that reached the queue (joined it or were blocked at its door), counted in the interval they reached it, so a contact that overflows counts in each queue it reaches"#
            }
            Metric::Offered => {
                r#"contacts that ended after reaching a queue, plus contacts blocked anywhere"#
            }
            Metric::Answered => {
                r#"contacts answered by an agent and completed (outcome `completed`)"#
            }
            Metric::Abandoned => {
                r#"customers who hung up after reaching a queue, before being answered (waiting or while ringing); the center's count is the sum of its queues'"#
            }
            Metric::AbandonedInIvr => {
                r#"customers who hung up in an IVR flow before reaching any queue: never offered, so outside `offered`, `abandon_rate` and every service level (center and channel scopes only)"#
            }
            Metric::ShortAbandoned => {
                r#"abandoned (after reaching a queue) after waiting less than `service_level.short_abandon` (default 5 s)"#
            }
            Metric::Blocked => {
                r#"refused at once: queue full (`max_size`), no agents (`when_no_agents = "block"`), IVR hang-up node"#
            }
            Metric::Dropped => r#"lost by a fault"#,
            Metric::TimedOut => {
                r#"ended by the queue's `max_wait` with `on_max_wait = "disconnect"`"#
            }
            Metric::SelfServed => {
                r#"ended in an IVR self-service node, or contained by a bot (`bot_contained` gives those apart)"#
            }
            Metric::BotContained => {
                r#"contacts an IVR `bot` node contained: their need met by the bot, they end self-served (center and channel scopes, counted in the interval the contact arrived)"#
            }
            Metric::BotEscalated => {
                r#"contacts an IVR `bot` node escalated to its `escalate` node, usually a queue; the bot's time counts in the customer's patience, which runs from arrival (center and channel scopes, counted in the interval the contact arrived)"#
            }
            Metric::Transferred => r#"handed to another site"#,
            Metric::Callbacks => {
                r#"waiting callers turned into callback requests (the queue's `max_wait` with `on_max_wait = "callback"`, or an IVR callback offer accepted), counted in the interval the request was made, in the queue, its site, the voice channel and the center; a request keeps its place in line and its customer no longer abandons, and the contact still ends in one of the outcomes above"#
            }
            Metric::Retrials => {
                r#"ended contacts that were a customer's retrial (also counted in the figures above)"#
            }
            Metric::AnsweredWithinTarget => r#"answered with a wait ≤ T"#,
            Metric::AbandonedWithinTarget => {
                r#"abandoned (after reaching a queue) with a wait ≤ T"#
            }
            Metric::TicketsDue => {
                r#"tickets (contacts of a queue with a `due` time, and callback requests of a queue with a `callback_due` time) whose due time fell in the interval, counted in that interval (not the arrival's) in the queue the ticket was in when it was answered or ended; a due time after the run's end counts in no interval"#
            }
            Metric::TicketsMet => {
                r#"of `tickets_due`, those an agent answered by their due time (answered: taken up by the agent, whose wait then ends, as for calls; writing the reply, or calling the customer back, is the handle time; a ticket a call pre-empts counts its first answer, however often it is suspended and resumed)"#
            }
            Metric::ServiceLevel => {
                r#"by `service_level.definition`: `offered` = answered within T / offered; `answered` = answered within T / answered; `excluding_short_abandons` (default) = answered within T / (offered − abandoned within T)"#
            }
            Metric::AverageSpeedOfAnswer => {
                r#"average speed of answer: mean wait of answered contacts, seconds"#
            }
            Metric::AbandonRate => {
                r#"abandoned / offered (short abandons included; `short_abandoned` gives them apart)"#
            }
            Metric::ProbabilityOfWait => {
                r#"contacts that waited at all (wait > 0) / offered. Under synchronous replication (`docs/failover.md`) every answer waits for the commit, so every contact waits a few milliseconds and this reads 1: look at the wait percentiles instead"#
            }
            Metric::AverageWait => r#"mean wait of offered contacts, whatever their outcome"#,
            Metric::WaitP50 => {
                r#"percentiles of the waits of answered contacts (HDR histogram, 3 significant digits)"#
            }
            Metric::WaitP90 => {
                r#"percentiles of the waits of answered contacts (HDR histogram, 3 significant digits)"#
            }
            Metric::WaitP99 => {
                r#"percentiles of the waits of answered contacts (HDR histogram, 3 significant digits)"#
            }
            Metric::AverageHandleTime => {
                r#"average handle time: (talk + wrap-up) / answered; talk from `ConversationEnded.talk_ms`, wrap-up from the end of the conversation to the contact's end"#
            }
            Metric::DueAttainment => {
                r#"SLA attainment of tickets: `tickets_met` / `tickets_due` (tickets due in the interval; a ticket answered late, withdrawn, or still waiting counts as missed)"#
            }
            Metric::Occupancy => {
                r#"(busy + wrap-up time) / (logged-in time not in aux); "available" and "ringing" count as idle"#
            }
            Metric::Utilization => r#"(busy + wrap-up time) / logged-in time, aux included"#,
            Metric::StaffedAgents => {
                r#"logged-in agent time / measured time: the average number of agents logged in"#
            }
            Metric::AverageQueueLength => {
                r#"time-average of the number of contacts waiting (the engine's `queue_length`; a contact ringing at an agent is not waiting)"#
            }
            Metric::MaxQueueLength => {
                r#"the largest number of contacts waiting at once (the center: summed over queues)"#
            }
            Metric::Backlog => {
                r#"contacts waiting in queues as the interval ends (for the whole run: as it ends), carried into the next interval: for e-mail and tickets, the open backlog; the center's is the sum of its queues'"#
            }
            Metric::Overdue => {
                r#"tickets not answered yet as the interval ends (waiting, or ringing at an agent; for the whole run: as it ends) whose due time has passed"#
            }
            Metric::BacklogAgeP90 => {
                r#"age of the tickets not answered yet as the interval ends (for the whole run: as it ends), in wall-clock seconds since they arrived: the 90th percentile (the ⌈0.9·n⌉-th youngest of n); empty when none is open"#
            }
            Metric::BacklogAgeMax => {
                r#"age of the oldest ticket not answered yet as the interval ends (for the whole run: as it ends), in wall-clock seconds since it arrived; empty when none is open"#
            }
            Metric::MaxConcurrent => {
                r#"the most contacts inside at once: for a voice channel, the trunk lines needed. A queue's count runs from joining it to the end of the contact (IVR time is counted for the center and the channel only)"#
            }
            Metric::RequiredAgents => {
                r#"agents an Erlang C model (M/M/n, nobody abandons) needs to answer 80 % of the interval's offered contacts within the queue's threshold T, each interval taken as its own steady state. Per queue: arrival rate = offered contacts (mean over replications) / the interval's measured length; handle time = (talk + wrap-up) / answered over the interval, pooled over replications (the queue's whole-run AHT when nobody was answered in the interval, the center's when the queue answered nobody in the whole run); servers = the fewest that meet 80/T, found by `switchboard-plan`'s `minimum_agents` (as `switchboard plan` does); agents = servers / the `[center] capacity` of the queue's channel, rounded up. A site's figure is the sum over its queues, the center's the sum over every queue (queues sized apart, an upper bound of what agents pooled across queues need); channels have none. It counts productive agents: compare it with `staffed_agents` (logged in, aux included) knowing the shrinkage"#
            }
        }
    }
    /// The metrics `summary.json` gives for every scope, in the order tables show them.
    pub const SUMMARY: [Metric; 39] = {
        let mut metrics = [Metric::Arrived; 39];
        let mut index = 0;
        while index < 39 {
            metrics[index] = Metric::ALL[index];
            index += 1;
        }
        metrics
    };

    /// The columns of `intervals.csv` after `interval_start,scope`, in order.
    pub const INTERVAL_COLUMNS: [Metric; 29] = [
        Metric::Arrived,
        Metric::Offered,
        Metric::Answered,
        Metric::Abandoned,
        Metric::AbandonedInIvr,
        Metric::BotContained,
        Metric::BotEscalated,
        Metric::Blocked,
        Metric::Callbacks,
        Metric::AnsweredWithinTarget,
        Metric::TicketsDue,
        Metric::TicketsMet,
        Metric::ServiceLevel,
        Metric::AverageSpeedOfAnswer,
        Metric::WaitP50,
        Metric::WaitP90,
        Metric::WaitP99,
        Metric::AverageHandleTime,
        Metric::DueAttainment,
        Metric::Occupancy,
        Metric::StaffedAgents,
        Metric::RequiredAgents,
        Metric::AverageQueueLength,
        Metric::MaxQueueLength,
        Metric::Backlog,
        Metric::Overdue,
        Metric::BacklogAgeP90,
        Metric::BacklogAgeMax,
        Metric::MaxConcurrent,
    ];

    /// The figures a site has from its agent groups alone, whether or not it owns queues
    /// (and the ones a channel lacks: agents belong to queues and sites, not to channels).
    pub const AGENT_METRICS: [Metric; 3] = [
        Metric::Occupancy,
        Metric::Utilization,
        Metric::StaffedAgents,
    ];

    /// The position in [`Metric::ALL`] (and in [`Metric::SUMMARY`] for the metrics it holds).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The metric of a name, if there is one.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.name() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no metric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMetric(pub String);

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no metric is named `{}` (docs/metrics.md lists them)",
            self.0
        )
    }
}

impl std::error::Error for UnknownMetric {}

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Metric::from_name(name).ok_or_else(|| UnknownMetric(name.to_string()))
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS_GUIDE: &str = include_str!("../../docs/metrics.md");

    /// The rows `| `name`, `name` | definition |` of the tables under a `## heading`.
    fn rows_under(heading: &str) -> Vec<(Vec<String>, String)> {
        let section = METRICS_GUIDE
            .split("\n## ")
            .find(|section| section.starts_with(heading))
            .unwrap_or_else(|| panic!("docs/metrics.md has a section {heading}"));
        section
            .lines()
            .filter_map(|line| {
                let inner = line.strip_prefix("| `")?.strip_suffix(" |")?;
                let (names, definition) = inner.split_once("` | ")?;
                let names = names.split("`, `").map(str::to_string).collect();
                Some((names, definition.to_string()))
            })
            .collect()
    }

    #[test]
    fn the_metrics_guide_defines_every_summary_metric_as_the_enum_does() {
        let mut documented = Vec::new();
        for heading in ["Counts", "Service", "Agents and capacity"] {
            for (names, definition) in rows_under(heading) {
                for name in names {
                    let metric: Metric = name.parse().unwrap();
                    assert_eq!(metric.definition(), definition, "{name}");
                    documented.push(metric);
                }
            }
        }
        assert_eq!(
            documented,
            Metric::SUMMARY,
            "the guide's order is the tables' order"
        );
    }

    #[test]
    fn the_metrics_guide_lists_every_interval_column() {
        let rows = rows_under("`intervals.csv`");
        let mut columns: Vec<Metric> = rows
            .iter()
            .flat_map(|(names, _)| names.iter().map(|name| name.parse::<Metric>().unwrap()))
            .collect();
        columns.sort();
        let mut expected = Metric::INTERVAL_COLUMNS.to_vec();
        expected.sort();
        assert_eq!(columns, expected);
        let (_, required) = rows
            .iter()
            .find(|(names, _)| names == &["required_agents"])
            .unwrap();
        assert_eq!(Metric::RequiredAgents.definition(), required);
    }

    #[test]
    fn names_read_back_and_misspelt_ones_are_refused() {
        for metric in Metric::ALL {
            assert_eq!(metric.name().parse::<Metric>(), Ok(metric));
            assert_eq!(Metric::ALL[metric.index()], metric);
        }
        let error = "aht".parse::<Metric>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "no metric is named `aht` (docs/metrics.md lists them)"
        );
        assert_eq!(
            serde_json::to_string(&Metric::WaitP90).unwrap(),
            "\"wait_p90_s\""
        );
    }
}

//! Shift scheduling: cover a per-interval staff requirement with shifts drawn from templates
//! at the fewest paid hours, as an integer program.
//!
//! The program is solved in two passes so that under-coverage always comes first: pass one
//! finds the least uncovered staff-time the templates and caps allow; pass two keeps that
//! and minimises paid hours. Without caps pass one finds zero and the result is a full cover.

use std::collections::BTreeSet;

use good_lp::{
    constraint, microlp, variable, Expression, ProblemVariables, Solution, SolverModel, Variable,
    WithInitialSolution, WithMipGap,
};
use serde::{Deserialize, Serialize};
use switchboard_engine::units::DurationMs;

use crate::PlanError;

const DAY_MS: u64 = 86_400_000;

/// A break inside a shift: when it starts (from the shift's start) and how long it lasts.
/// With `offsets` the break may start at any of them and the schedule picks one per shift,
/// so that breaks are staggered where staying on the phones matters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Break {
    /// From the start of the shift (this or `offsets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<DurationMs>,
    /// Offsets from the start of the shift the break may start at (this or `offset`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<DurationMs>,
    /// Length of the break.
    pub duration: DurationMs,
    /// Whether the break is paid (counts towards paid hours). Unpaid by default.
    #[serde(default)]
    pub paid: bool,
}

/// Allowed start times written as a window: every `step` from `from` to `to` inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StartWindow {
    /// Earliest start, from the start of the day.
    pub from: DurationMs,
    /// Latest start, from the start of the day.
    pub to: DurationMs,
    /// Spacing between allowed starts.
    pub step: DurationMs,
}

/// A shift template: when a shift may start, how long it is, its breaks and on which days.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftTemplate {
    /// A name for reports.
    pub name: String,
    /// Allowed start times from the start of each day (use this or `start_window`).
    #[serde(default)]
    pub starts: Vec<DurationMs>,
    /// Allowed start times as a window with a step (use this or `starts`).
    pub start_window: Option<StartWindow>,
    /// Length of the shift, breaks included.
    pub length: DurationMs,
    /// Breaks, during which the agent covers nothing.
    #[serde(default)]
    pub breaks: Vec<Break>,
    /// Day numbers counted from the plan's start (0 = the first day) on which the template
    /// may be used; every day the plan covers if absent.
    pub days: Option<Vec<u32>>,
    /// At most this many shifts of this template in the whole schedule (of each group).
    pub max_count: Option<u32>,
    /// The `[[agents]]` groups of a multi-group plan that may work this template; every group
    /// if absent.
    pub groups: Option<Vec<String>>,
}

impl Break {
    /// The offsets the break may start at, sorted and without repeats.
    pub fn allowed_offsets(&self) -> Vec<DurationMs> {
        let set: BTreeSet<DurationMs> = self.offset.iter().chain(&self.offsets).copied().collect();
        set.into_iter().collect()
    }
}

/// A break of a shift option: where it starts and how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PlacedBreak {
    /// From the start of the shift.
    pub offset: DurationMs,
    /// Length of the break.
    pub duration: DurationMs,
}

/// Limits over the whole schedule.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleLimits {
    /// At most this many shifts in total.
    pub max_shifts: Option<u32>,
}

/// The contents of a shifts file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftsFile {
    /// The templates, written as `[[shift]]` tables.
    #[serde(rename = "shift")]
    pub shifts: Vec<ShiftTemplate>,
    /// Optional `[limits]` table.
    #[serde(default)]
    pub limits: ScheduleLimits,
}

impl ShiftTemplate {
    /// Paid hours of one shift: its length less its unpaid breaks.
    pub fn paid_hours(&self) -> f64 {
        let unpaid_ms: u64 = self
            .breaks
            .iter()
            .filter(|b| !b.paid)
            .map(|b| b.duration.as_ms())
            .sum();
        (self.length.as_ms() - unpaid_ms) as f64 / 3_600_000.0
    }

    /// Allowed start times within a day, sorted and without repeats.
    fn start_times(&self) -> Vec<DurationMs> {
        let mut starts: BTreeSet<DurationMs> = self.starts.iter().copied().collect();
        if let Some(window) = self.start_window {
            let mut start = window.from.as_ms();
            while start <= window.to.as_ms() {
                starts.insert(DurationMs(start));
                start += window.step.as_ms();
            }
        }
        starts.into_iter().collect()
    }

    /// Every way to place the breaks: one list per combination of their allowed offsets, in
    /// the order of the offsets (the first break's first offset first).
    fn break_placements(&self) -> Vec<Vec<PlacedBreak>> {
        let mut placements: Vec<Vec<PlacedBreak>> = vec![Vec::new()];
        for pause in &self.breaks {
            placements = placements
                .into_iter()
                .flat_map(|placed| {
                    pause.allowed_offsets().into_iter().map(move |offset| {
                        let mut placed = placed.clone();
                        placed.push(PlacedBreak {
                            offset,
                            duration: pause.duration,
                        });
                        placed
                    })
                })
                .collect();
        }
        placements
    }
}

/// Working periods `[from, to)` relative to a shift's start: its `length` less its breaks.
fn working_periods_ms(length: DurationMs, breaks: &[PlacedBreak]) -> Vec<(u64, u64)> {
    let mut breaks: Vec<&PlacedBreak> = breaks.iter().collect();
    breaks.sort_by_key(|b| b.offset);
    let mut periods = Vec::new();
    let mut cursor = 0;
    for pause in breaks {
        if pause.offset.as_ms() > cursor {
            periods.push((cursor, pause.offset.as_ms()));
        }
        cursor = cursor.max(pause.offset.as_ms() + pause.duration.as_ms());
    }
    if length.as_ms() > cursor {
        periods.push((cursor, length.as_ms()));
    }
    periods
}

/// Reads and checks a shifts file (TOML). `file` names it in error messages, which carry the
/// line and column of the problem where the TOML reader knows them.
pub fn read_shifts(text: &str, file: &str) -> Result<ShiftsFile, PlanError> {
    let shifts: ShiftsFile =
        toml::from_str(text).map_err(|error| crate::toml_error(file, text, &error))?;
    if shifts.shifts.is_empty() {
        return Err(PlanError::new(format!("{file}: no [[shift]] template")));
    }
    let mut names = BTreeSet::new();
    for template in &shifts.shifts {
        // At the template's name, the one place a template is known by.
        let problem = |message: String| {
            let quoted = format!("{:?}", template.name);
            let offset = text
                .match_indices(&quoted)
                .map(|(offset, _)| offset)
                .find(|&offset| text[..offset].trim_end().ends_with('='))
                .unwrap_or(0);
            let (line, column) = switchboard_engine::source_text::line_and_column(text, offset);
            PlanError::at(file, line, column, format!("shift {quoted}: {message}")).in_text(text)
        };
        if !names.insert(template.name.as_str()) {
            return Err(problem("the name is used twice".into()));
        }
        if template.length.as_ms() == 0 || template.length.as_ms() > DAY_MS {
            return Err(problem(format!(
                "length must be above 0 s and at most 1d, found {}",
                template.length
            )));
        }
        if template.starts.is_empty() && template.start_window.is_none() {
            return Err(problem(
                "give `starts = [...]` or `start_window = {...}`".into(),
            ));
        }
        if let Some(window) = template.start_window {
            if window.step.as_ms() == 0 || window.from > window.to {
                return Err(problem(format!(
                    "start_window needs from ≤ to and a step above 0 s, found from {} to {} step {}",
                    window.from, window.to, window.step
                )));
            }
        }
        if let Some(start) = template
            .start_times()
            .iter()
            .find(|start| start.as_ms() >= DAY_MS)
        {
            return Err(problem(format!(
                "start {start} is not within a day (below 1d)"
            )));
        }
        for pause in &template.breaks {
            if pause.offset.is_some() != pause.offsets.is_empty() {
                return Err(problem(
                    "a break takes `offset = \"4h\"` or `offsets = [\"3h30m\", \"4h\"]`".into(),
                ));
            }
            for offset in pause.allowed_offsets() {
                if pause.duration.as_ms() == 0
                    || offset.as_ms() + pause.duration.as_ms() > template.length.as_ms()
                {
                    return Err(problem(format!(
                        "break at {offset} for {} must last above 0 s and end within the shift ({})",
                        pause.duration, template.length
                    )));
                }
            }
        }
    }
    Ok(shifts)
}

/// One shift the schedule may use: a template on a given day at a given start, with its
/// breaks at given offsets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftOption {
    /// Template name.
    pub template: String,
    /// Start, measured from the start of the plan.
    pub start: DurationMs,
    /// Length of the shift, breaks included.
    pub length: DurationMs,
    /// The breaks, placed.
    pub breaks: Vec<PlacedBreak>,
    /// Paid hours of one such shift.
    pub paid_hours: f64,
}

/// How many of one shift option the schedule uses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChosenShift {
    /// The shift.
    #[serde(flatten)]
    pub shift: ShiftOption,
    /// How many people work it.
    pub count: u64,
}

/// Required against scheduled staff in one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalCoverage {
    /// Start, measured from the start of the plan.
    pub start: DurationMs,
    /// Staff the plan requires.
    pub required: u64,
    /// Staff the schedule provides (fractional where a break covers part of the interval).
    pub scheduled: f64,
    /// `max(required − scheduled, 0)`.
    pub under: f64,
    /// `max(scheduled − required, 0)`.
    pub over: f64,
}

/// A schedule and how well it covers the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    /// Shifts used, in start order.
    pub shifts: Vec<ChosenShift>,
    /// Coverage of every interval of the plan.
    pub coverage: Vec<IntervalCoverage>,
    /// Σ paid hours of the shifts used.
    pub paid_hours: f64,
    /// Σ under-coverage × interval length, in staff-hours.
    pub under_staff_hours: f64,
    /// Σ over-coverage × interval length, in staff-hours.
    pub over_staff_hours: f64,
    /// Starts of the intervals left under-covered (empty for a full cover).
    pub uncovered_intervals: Vec<DurationMs>,
    /// True when the solver proved the schedule optimal; false when it stopped within
    /// [`PAID_HOURS_RELATIVE_GAP`] of the proven lower bound on paid hours (the under-coverage
    /// is still the least possible).
    pub proven_optimal: bool,
}

/// Every shift option the templates allow within `horizon` (the plan's length).
pub fn shift_options(shifts: &ShiftsFile, horizon: DurationMs) -> Vec<(usize, ShiftOption)> {
    let days_covered = horizon.as_ms().div_ceil(DAY_MS).max(1) as u32;
    let mut options = Vec::new();
    for (template_index, template) in shifts.shifts.iter().enumerate() {
        let days: Vec<u32> = match &template.days {
            Some(days) => days
                .iter()
                .copied()
                .filter(|day| *day < days_covered)
                .collect(),
            None => (0..days_covered).collect(),
        };
        let placements = template.break_placements();
        for day in days {
            for start in template.start_times() {
                let start = DurationMs(u64::from(day) * DAY_MS + start.as_ms());
                if start < horizon {
                    for breaks in &placements {
                        options.push((
                            template_index,
                            ShiftOption {
                                template: template.name.clone(),
                                start,
                                length: template.length,
                                breaks: breaks.clone(),
                                paid_hours: template.paid_hours(),
                            },
                        ));
                    }
                }
            }
        }
    }
    options
}

/// Share of the interval `[interval_start, interval_start + interval)` that the shift
/// `option` spends working.
fn coverage_share(option: &ShiftOption, interval_start: DurationMs, interval: DurationMs) -> f64 {
    let shift_start = option.start;
    let interval_from = interval_start.as_ms();
    let interval_to = interval_from + interval.as_ms();
    let worked_ms: u64 = working_periods_ms(option.length, &option.breaks)
        .iter()
        .map(|(from, to)| {
            let from = shift_start.as_ms() + from;
            let to = shift_start.as_ms() + to;
            to.min(interval_to).saturating_sub(from.max(interval_from))
        })
        .sum();
    worked_ms as f64 / interval.as_ms() as f64
}

/// Covers `required[i]` staff in each interval `i` (interval `i` starts at `i × interval`)
/// with shifts from `shifts`, minimising under-coverage first and paid hours second.
pub fn schedule_shifts(
    required: &[u64],
    interval: DurationMs,
    shifts: &ShiftsFile,
) -> Result<Schedule, PlanError> {
    assert!(interval.as_ms() > 0, "an interval has a length");
    let horizon = DurationMs(interval.as_ms() * required.len() as u64);
    let options = shift_options(shifts, horizon);
    if options.is_empty() {
        return Err(PlanError::new(
            "no shift template has a start within the plan's days and hours",
        ));
    }
    let interval_h = interval.as_s_f64() / 3_600.0;
    let starts: Vec<DurationMs> = (0..required.len() as u64)
        .map(|i| DurationMs(i * interval.as_ms()))
        .collect();
    // coverage[o][i]: share of interval i worked by one person on option o (mostly zeros).
    let coverage: Vec<Vec<(usize, f64)>> = options
        .iter()
        .map(|(_, option)| {
            starts
                .iter()
                .enumerate()
                .filter_map(|(i, start)| {
                    let share = coverage_share(option, *start, interval);
                    (share > 0.0).then_some((i, share))
                })
                .collect()
        })
        .collect();
    let peak = required.iter().copied().max().unwrap_or(0);

    let program = Program {
        required,
        options: &options,
        coverage: &coverage,
        shifts,
        peak,
        interval_h,
    };
    let (counts, optimal) = program.solve_lexicographic()?;

    let mut scheduled = vec![0.0_f64; required.len()];
    for (option_index, count) in counts.iter().enumerate() {
        for (i, share) in &coverage[option_index] {
            scheduled[*i] += *count as f64 * share;
        }
    }
    let coverage_rows: Vec<IntervalCoverage> = starts
        .iter()
        .zip(required)
        .zip(&scheduled)
        .map(|((start, required), scheduled)| {
            // Shares are multiples of 1/interval_ms; rounding removes float noise.
            let scheduled = (scheduled * 1e9).round() / 1e9;
            let required_f64 = *required as f64;
            IntervalCoverage {
                start: *start,
                required: *required,
                scheduled,
                under: (required_f64 - scheduled).max(0.0),
                over: (scheduled - required_f64).max(0.0),
            }
        })
        .collect();
    let chosen: Vec<ChosenShift> = options
        .iter()
        .zip(&counts)
        .filter(|(_, count)| **count > 0)
        .map(|((_, option), count)| ChosenShift {
            shift: option.clone(),
            count: *count,
        })
        .collect();
    let under_staff_hours = coverage_rows.iter().map(|row| row.under).sum::<f64>() * interval_h;
    let over_staff_hours = coverage_rows.iter().map(|row| row.over).sum::<f64>() * interval_h;
    Ok(Schedule {
        paid_hours: chosen
            .iter()
            .map(|c| c.shift.paid_hours * c.count as f64)
            .sum(),
        uncovered_intervals: coverage_rows
            .iter()
            .filter(|row| row.under > 1e-9)
            .map(|row| row.start)
            .collect(),
        shifts: chosen,
        coverage: coverage_rows,
        under_staff_hours,
        over_staff_hours,
        proven_optimal: optimal,
    })
}

/// One group's rows of a multi-group plan: agents required per interval, and the group's size
/// where known (every shift is worked by its own agents in the simulator, so the group's
/// shifts are at most its size).
#[derive(Clone, Debug)]
pub struct GroupRequirement {
    pub group: String,
    pub required: Vec<u64>,
    pub max_agents: Option<u64>,
}

/// The schedule of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupSchedule {
    pub group: String,
    #[serde(flatten)]
    pub schedule: Schedule,
}

/// Schedules every group of a multi-group plan with the templates meant for it (`groups`, or
/// every template without it). `[limits] max_shifts` and `max_count` hold per group.
pub fn schedule_groups(
    groups: &[GroupRequirement],
    interval: DurationMs,
    shifts: &ShiftsFile,
) -> Result<Vec<GroupSchedule>, PlanError> {
    for template in &shifts.shifts {
        for named in template.groups.iter().flatten() {
            if !groups.iter().any(|group| &group.group == named) {
                let hint = switchboard_engine::source_text::did_you_mean(
                    named,
                    groups.iter().map(|group| group.group.as_str()),
                );
                return Err(PlanError::new(format!(
                    "shift {:?}: `groups` names {named:?}, which the plan does not staff{hint}",
                    template.name
                )));
            }
        }
    }
    groups
        .iter()
        .map(|group| {
            let templates: Vec<ShiftTemplate> = shifts
                .shifts
                .iter()
                .filter(|template| {
                    template
                        .groups
                        .as_ref()
                        .is_none_or(|names| names.contains(&group.group))
                })
                .cloned()
                .collect();
            if templates.is_empty() {
                return Err(PlanError::new(format!(
                    "no [[shift]] template is for the group {:?} (every template's `groups` leaves it out)",
                    group.group
                )));
            }
            let max_shifts = match (shifts.limits.max_shifts, group.max_agents) {
                (Some(limit), Some(size)) => Some(limit.min(size.min(u64::from(u32::MAX)) as u32)),
                (limit, size) => limit.or(size.map(|size| size.min(u64::from(u32::MAX)) as u32)),
            };
            let group_shifts = ShiftsFile {
                shifts: templates,
                limits: ScheduleLimits { max_shifts },
            };
            let schedule = schedule_shifts(&group.required, interval, &group_shifts)
                .map_err(|error| PlanError::new(format!("group {:?}: {error}", group.group)))?;
            Ok(GroupSchedule {
                group: group.group.clone(),
                schedule,
            })
        })
        .collect()
}

/// A schedule as a simulator shifts file: one `[[shifts]]` table per shift used, the keys of a
/// scenario's `[[people]] shifts`, which `[[people]] shifts_file` reads as it is.
pub fn simulator_shifts_text(group: &str, schedule: &Schedule) -> String {
    use std::fmt::Write as _;
    let mut text =
        format!("# The shifts of the group {group:?}: read with `[[people]] shifts_file`.\n");
    for chosen in &schedule.shifts {
        let shift = &chosen.shift;
        let breaks: Vec<String> = shift
            .breaks
            .iter()
            .map(|pause| {
                format!(
                    "{{ offset = \"{}\", duration = \"{}\" }}",
                    pause.offset, pause.duration
                )
            })
            .collect();
        let _ = write!(
            text,
            "\n[[shifts]] # {}\nstarts = [\"{}\"]\nlength = \"{}\"\nagents = {}\nbreaks = [{}]\n",
            shift.template,
            shift.start,
            shift.length,
            chosen.count,
            breaks.join(", ")
        );
    }
    text
}

/// The integer program: one integer count per shift option, one continuous under-coverage
/// per interval.
struct Program<'a> {
    required: &'a [u64],
    options: &'a [(usize, ShiftOption)],
    coverage: &'a [Vec<(usize, f64)>],
    shifts: &'a ShiftsFile,
    peak: u64,
    interval_h: f64,
}

/// What one solve found.
struct Pass {
    counts: Vec<f64>,
    under_staff_hours: f64,
    optimal: bool,
}

/// What a pass minimises.
#[derive(Clone, Copy, PartialEq)]
enum Goal {
    /// Under-coverage in staff-hours.
    LeastUnder,
    /// Paid hours, keeping under-coverage at most this many staff-hours.
    LeastPaid { under_limit: f64 },
}

/// Paid hours may end this far (relative) above the proven lower bound. Branch and bound
/// with a zero gap can take hours on a day of half-hour intervals; 0.5 % is a fraction of
/// one shift in practice, and the bound is deterministic (no time limit, so every machine
/// gives the same schedule).
pub const PAID_HOURS_RELATIVE_GAP: f32 = 0.005;

/// Slack on the under-coverage carried from pass one, so rounding cannot make pass two
/// infeasible.
const UNDER_SLACK_STAFF_HOURS: f64 = 1e-6;

impl Program<'_> {
    /// Pass one finds the least under-coverage, pass two the fewest paid hours with it.
    /// Each pass starts from its linear relaxation: rounding the relaxed counts gives a
    /// starting schedule, and when that already matches the relaxation's bound it is optimal
    /// without branching.
    fn solve_lexicographic(&self) -> Result<(Vec<u64>, bool), PlanError> {
        let relaxed_under = self.solve(Goal::LeastUnder, false, None)?;
        let start = self.rounded(&relaxed_under.counts);
        let start_under = self.under_staff_hours_of(&start);
        let (least_under, first_optimal) =
            if start_under <= relaxed_under.under_staff_hours + UNDER_SLACK_STAFF_HOURS {
                (start_under, true)
            } else {
                let pass = self.solve(Goal::LeastUnder, true, Some(&start))?;
                (pass.under_staff_hours, pass.optimal)
            };
        let goal = Goal::LeastPaid {
            under_limit: least_under + UNDER_SLACK_STAFF_HOURS,
        };
        let relaxed_paid = self.solve(goal, false, None)?;
        let mut start_paid = self.rounded(&relaxed_paid.counts);
        if self.under_staff_hours_of(&start_paid) > least_under + UNDER_SLACK_STAFF_HOURS {
            start_paid = start;
        }
        let pass = self.solve(goal, true, Some(&start_paid))?;
        let counts = pass
            .counts
            .iter()
            .map(|count| count.round().max(0.0) as u64)
            .collect();
        Ok((counts, first_optimal && pass.optimal))
    }

    /// Rounds relaxed counts up where the caps allow it and down otherwise: rounding up only
    /// adds cover, and rounding down always keeps within the caps.
    fn rounded(&self, counts: &[f64]) -> Vec<u64> {
        let up: Vec<u64> = counts
            .iter()
            .map(|c| (c - 1e-9).ceil().max(0.0) as u64)
            .collect();
        if self.within_caps(&up) {
            up
        } else {
            counts
                .iter()
                .map(|c| (c + 1e-9).floor().max(0.0) as u64)
                .collect()
        }
    }

    fn within_caps(&self, counts: &[u64]) -> bool {
        let total: u64 = counts.iter().sum();
        if self
            .shifts
            .limits
            .max_shifts
            .is_some_and(|max| total > u64::from(max))
        {
            return false;
        }
        self.shifts
            .shifts
            .iter()
            .enumerate()
            .all(|(template_index, template)| {
                let used: u64 = self
                    .options
                    .iter()
                    .zip(counts)
                    .filter(|((index, _), _)| *index == template_index)
                    .map(|(_, count)| *count)
                    .sum();
                template.max_count.is_none_or(|max| used <= u64::from(max))
            })
    }

    fn under_staff_hours_of(&self, counts: &[u64]) -> f64 {
        let mut scheduled = vec![0.0_f64; self.required.len()];
        for (shares, count) in self.coverage.iter().zip(counts) {
            for (i, share) in shares {
                scheduled[*i] += *count as f64 * share;
            }
        }
        self.required
            .iter()
            .zip(&scheduled)
            .map(|(required, scheduled)| (*required as f64 - scheduled).max(0.0))
            .sum::<f64>()
            * self.interval_h
    }

    fn solve(&self, goal: Goal, integer: bool, start: Option<&[u64]>) -> Result<Pass, PlanError> {
        let mut variables = ProblemVariables::new();
        // No option is worth more people than the peak requirement; the bound helps branching.
        let counts: Vec<Variable> = self
            .options
            .iter()
            .map(|_| {
                let definition = variable().min(0).max(self.peak as f64);
                variables.add(if integer {
                    definition.integer()
                } else {
                    definition
                })
            })
            .collect();
        let under: Vec<Variable> = self
            .required
            .iter()
            .map(|required| variables.add(variable().min(0).max(*required as f64)))
            .collect();
        let under_total: Expression = under.iter().map(|u| self.interval_h * *u).sum();
        let paid_total: Expression = self
            .options
            .iter()
            .zip(&counts)
            .map(|((_, option), count)| option.paid_hours * *count)
            .sum();
        let objective = match goal {
            Goal::LeastUnder => under_total.clone(),
            Goal::LeastPaid { .. } => paid_total,
        };
        let mut problem = variables.minimise(objective).using(microlp);
        let mut covering: Vec<Expression> = under.iter().map(|u| Expression::from(*u)).collect();
        for (option_index, shares) in self.coverage.iter().enumerate() {
            for (i, share) in shares {
                covering[*i] += *share * counts[option_index];
            }
        }
        for (expression, required) in covering.into_iter().zip(self.required) {
            problem = problem.with(constraint!(expression >= *required as f64));
        }
        for (template_index, template) in self.shifts.shifts.iter().enumerate() {
            if let Some(max_count) = template.max_count {
                let used: Expression = self
                    .options
                    .iter()
                    .zip(&counts)
                    .filter(|((index, _), _)| *index == template_index)
                    .map(|(_, count)| Expression::from(*count))
                    .sum();
                problem = problem.with(constraint!(used <= max_count as f64));
            }
        }
        if let Some(max_shifts) = self.shifts.limits.max_shifts {
            let used: Expression = counts.iter().map(|count| Expression::from(*count)).sum();
            problem = problem.with(constraint!(used <= max_shifts as f64));
        }
        if let Goal::LeastPaid { under_limit } = goal {
            problem = problem.with(constraint!(under_total <= under_limit));
        }
        if let Some(start) = start {
            let mut initial: Vec<(Variable, f64)> = counts
                .iter()
                .zip(start)
                .map(|(v, count)| (*v, *count as f64))
                .collect();
            let mut scheduled = vec![0.0_f64; self.required.len()];
            for (shares, count) in self.coverage.iter().zip(start) {
                for (i, share) in shares {
                    scheduled[*i] += *count as f64 * share;
                }
            }
            for ((variable, required), scheduled) in under.iter().zip(self.required).zip(&scheduled)
            {
                initial.push((*variable, (*required as f64 - scheduled).max(0.0)));
            }
            problem = problem.with_initial_solution(initial);
        }
        if integer && matches!(goal, Goal::LeastPaid { .. }) {
            problem = problem
                .with_mip_gap(PAID_HOURS_RELATIVE_GAP)
                .map_err(|error| PlanError::new(format!("invalid gap: {error}")))?;
        }
        let solution = problem.solve().map_err(|error| {
            PlanError::new(format!("the shift scheduling program failed: {error}"))
        })?;
        let optimal = matches!(solution.status(), good_lp::SolutionStatus::Optimal);
        Ok(Pass {
            counts: counts.iter().map(|count| solution.value(*count)).collect(),
            under_staff_hours: under.iter().map(|u| solution.value(*u)).sum::<f64>()
                * self.interval_h,
            optimal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, starts: &[&str], length: &str) -> ShiftTemplate {
        ShiftTemplate {
            name: name.into(),
            starts: starts.iter().map(|s| s.parse().unwrap()).collect(),
            start_window: None,
            length: length.parse().unwrap(),
            breaks: Vec::new(),
            days: None,
            max_count: None,
            groups: None,
        }
    }

    #[test]
    fn a_flat_requirement_is_covered_exactly_by_back_to_back_shifts() {
        let shifts = ShiftsFile {
            shifts: vec![template("four hours", &["0h", "2h", "4h"], "4h")],
            limits: ScheduleLimits::default(),
        };
        let schedule = schedule_shifts(&[3; 16], "30m".parse().unwrap(), &shifts).unwrap();
        assert!(schedule.uncovered_intervals.is_empty());
        assert_eq!(
            schedule.paid_hours, 24.0,
            "3 people × 8 hours, no overlap needed"
        );
        assert_eq!(schedule.over_staff_hours, 0.0);
        assert!(schedule.proven_optimal || schedule.paid_hours <= 24.0 * 1.005);
    }

    #[test]
    fn templates_repeat_on_their_days_within_the_plan() {
        let mut weekdays = template("day", &["8h"], "8h");
        weekdays.days = Some(vec![0, 2, 9]);
        let every_day = template("night", &["0h"], "8h");
        let shifts = ShiftsFile {
            shifts: vec![weekdays, every_day],
            limits: ScheduleLimits::default(),
        };
        // Three days of plan: day 9 is outside it.
        let options = shift_options(&shifts, "3d".parse().unwrap());
        let starts: Vec<String> = options
            .iter()
            .map(|(_, option)| option.start.to_string())
            .collect();
        assert_eq!(starts, ["8h", "2d8h", "0s", "1d", "2d"]);
    }

    #[test]
    fn breaks_take_their_share_of_an_interval() {
        let mut with_break = template("with break", &["0h"], "2h");
        with_break.breaks = vec![Break {
            offset: Some("1h".parse().unwrap()),
            offsets: Vec::new(),
            duration: "15m".parse().unwrap(),
            paid: false,
        }];
        let interval: DurationMs = "30m".parse().unwrap();
        let options = shift_options(
            &ShiftsFile {
                shifts: vec![with_break.clone()],
                limits: ScheduleLimits::default(),
            },
            "2h".parse().unwrap(),
        );
        let share = |start: &str| coverage_share(&options[0].1, start.parse().unwrap(), interval);
        assert_eq!(share("0m"), 1.0);
        assert_eq!(share("1h"), 0.5);
        assert_eq!(share("2h"), 0.0);
        assert_eq!(with_break.paid_hours(), 1.75);
    }

    #[test]
    fn caps_give_the_best_partial_cover_and_name_the_gaps() {
        let mut capped = template("capped", &["0h", "1h", "2h"], "2h");
        capped.max_count = Some(2);
        let shifts = ShiftsFile {
            shifts: vec![capped],
            limits: ScheduleLimits::default(),
        };
        // Needs 2 people for 4 hours but only 2 two-hour shifts exist in total.
        let schedule = schedule_shifts(&[2; 8], "30m".parse().unwrap(), &shifts).unwrap();
        assert!(
            (schedule.under_staff_hours - 4.0).abs() < 1e-6,
            "{schedule:?}"
        );
        assert_eq!(schedule.uncovered_intervals.len(), 4);
        assert_eq!(schedule.shifts.iter().map(|s| s.count).sum::<u64>(), 2);
    }

    #[test]
    fn shifts_files_are_checked_with_their_location() {
        let error = read_shifts(
            "[[shift]]\nname = \"a\"\nlength = \"8 hours\"\nstarts = [\"0h\"]\n",
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("s.toml:3:10: expected a duration")
                && error.ends_with("\n3 | length = \"8 hours\"\n  |          ^"),
            "{error}"
        );
        let error =
            read_shifts("[[shift]]\nname = \"a\"\nlength = \"8h\"\n", "s.toml").unwrap_err();
        assert!(error.to_string().contains("starts"), "{error}");
        let both = "[[shift]]\nname = \"b\"\nlength = \"4h\"\nstarts = [\"0h\"]\nbreaks = [{ offset = \"1h\", offsets = [\"2h\"], duration = \"15m\" }]\n";
        let error = read_shifts(both, "s.toml").unwrap_err().to_string();
        assert!(
            error.starts_with("s.toml:2:8: shift \"b\": a break takes `offset"),
            "{error}"
        );
        let window = "[[shift]]\nname = \"w\"\nlength = \"4h\"\nstart_window = { from = \"6h\", to = \"8h\", step = \"1h\" }\n";
        let shifts = read_shifts(window, "s.toml").unwrap();
        let starts: Vec<String> = shifts.shifts[0]
            .start_times()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(starts, ["6h", "7h", "8h"]);
    }
    #[test]
    fn breaks_with_several_offsets_are_staggered_to_keep_the_cover() {
        let mut staggered = template("four hours", &["0h"], "4h");
        staggered.breaks = vec![Break {
            offset: None,
            offsets: ["1h", "1h30m", "2h", "2h30m"]
                .iter()
                .map(|offset| offset.parse().unwrap())
                .collect(),
            duration: "30m".parse().unwrap(),
            paid: true,
        }];
        let shifts = ShiftsFile {
            shifts: vec![staggered],
            limits: ScheduleLimits::default(),
        };
        let schedule = schedule_shifts(&[4; 8], "30m".parse().unwrap(), &shifts).unwrap();
        assert!(schedule.uncovered_intervals.is_empty(), "{schedule:?}");
        let offsets: BTreeSet<DurationMs> = schedule
            .shifts
            .iter()
            .flat_map(|chosen| chosen.shift.breaks.iter().map(|pause| pause.offset))
            .collect();
        assert!(offsets.len() > 1, "breaks at one offset: {schedule:?}");
        // Everyone on break at one offset would take 8 people (4 on, 4 off); staggered, 6:
        // at most 2 are away in any half hour.
        let people: u64 = schedule.shifts.iter().map(|chosen| chosen.count).sum();
        assert_eq!(people, 6, "{schedule:?}");
    }
}

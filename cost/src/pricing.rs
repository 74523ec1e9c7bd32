//! Prices one year-by-year usage under one price book, line by line.
//!
//! Every line is computed per contract year from that year's usage (the base usage grown by
//! the growth rate), in the book's own currency. The rules for each item kind are written out
//! in `docs/cost.md`; the comments here say why a rule is the way it is.

use std::collections::BTreeMap;

use serde::Serialize;
use switchboard_engine::units::DurationMs;

use crate::money::Money;
use crate::pricebook::{
    Direction, Item, ItemKind, Licensing, Per, Period, PriceBook, WorkforceRate,
};
use crate::usage::Usage;

const MONTHS_PER_YEAR: usize = 12;
const DAYS_PER_YEAR: f64 = 365.0;

/// How far to look and how usage moves over the years.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Horizon {
    pub years: u32,
    /// Yearly growth of every usage quantity, 0.3 for +30 % a year, compounding from year 2.
    pub growth_per_year: f64,
}

/// One line of a breakdown: an item, or a hidden part of one, year by year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub label: String,
    /// The item kind, or `discount` / `workforce`.
    pub kind: String,
    /// Why this is a fee buyers tend to miss; `None` for the charge as listed.
    pub hidden_fee: Option<String>,
    /// Why another vendor's price stands in for the option's own (the item's `proxy`).
    pub proxy: Option<String>,
    /// The `source` the book gives for the figure behind this line.
    pub source: String,
    pub cash_by_year: Vec<Money>,
}

impl Line {
    pub fn total(&self) -> Money {
        self.cash_by_year.iter().copied().sum()
    }
    pub fn is_workforce(&self) -> bool {
        self.kind == "workforce"
    }
}

/// One option priced in its book's currency.
#[derive(Clone, Debug, PartialEq)]
pub struct PricedOption {
    pub lines: Vec<Line>,
    /// Straight-line depreciation of hardware bought within the horizon (an accounting view;
    /// cash totals count purchases when paid).
    pub depreciation_by_year: Vec<Money>,
    pub answered_contacts_by_year: Vec<f64>,
    pub agent_hours_by_year: Vec<f64>,
}

impl PricedOption {
    pub fn cash_by_year(&self, include_workforce: bool) -> Vec<Money> {
        let years = self.answered_contacts_by_year.len();
        (0..years)
            .map(|year| {
                self.lines
                    .iter()
                    .filter(|line| include_workforce || !line.is_workforce())
                    .map(|line| line.cash_by_year[year])
                    .sum()
            })
            .collect()
    }

    /// Every amount multiplied by an exchange rate.
    pub fn converted(&self, rate: f64) -> PricedOption {
        let convert = |amounts: &Vec<Money>| amounts.iter().map(|m| m.times(rate)).collect();
        PricedOption {
            lines: self
                .lines
                .iter()
                .map(|line| Line {
                    cash_by_year: convert(&line.cash_by_year),
                    ..line.clone()
                })
                .collect(),
            depreciation_by_year: convert(&self.depreciation_by_year),
            ..self.clone()
        }
    }
}

/// Usage totals of one month of one contract year.
#[derive(Clone, Debug, Default)]
struct MonthUsage {
    active_user_hours: f64,
    voice_inbound_minutes: f64,
    voice_outbound_minutes: f64,
    chat_messages: f64,
    emails: f64,
    automated_resolutions: f64,
    recording_gb: f64,
    answered_contacts: f64,
    /// Day types with days in this month: their peaks are this month's peaks.
    day_types_present: Vec<usize>,
}

/// One contract year's usage, grown.
struct YearUsage {
    usage: Usage,
    months: Vec<MonthUsage>,
}

impl YearUsage {
    fn new(base: &Usage, growth_factor: f64) -> YearUsage {
        let usage = base.scaled(growth_factor);
        let mut months = vec![MonthUsage::default(); MONTHS_PER_YEAR];
        for (index, day) in usage.day_types.iter().enumerate() {
            for (month, days) in usage.days_by_month(day).into_iter().enumerate() {
                if days <= 0.0 {
                    continue;
                }
                let m = &mut months[month];
                m.active_user_hours += days * day.active_user_hours(usage.interval);
                m.voice_inbound_minutes += days * day.voice_inbound_minutes();
                m.voice_outbound_minutes += days * day.voice_outbound_minutes();
                m.chat_messages += days * day.chat_messages();
                m.emails += days * day.emails();
                m.automated_resolutions += days * day.automated_resolutions();
                m.recording_gb += days * day.recording_gb;
                m.answered_contacts += days * day.answered_contacts();
                m.day_types_present.push(index);
            }
        }
        YearUsage { usage, months }
    }

    fn total(&self, field: impl Fn(&MonthUsage) -> f64) -> f64 {
        self.months.iter().map(field).sum()
    }

    fn named_agents(&self) -> f64 {
        whole(self.usage.named_agents())
    }

    fn billable_concurrent_agents_by_month(&self, minimum_peak_duration: DurationMs) -> Vec<f64> {
        self.months
            .iter()
            .map(|month| {
                let peak = month
                    .day_types_present
                    .iter()
                    .map(|&index| {
                        self.usage.day_types[index]
                            .billable_concurrent_agents(self.usage.interval, minimum_peak_duration)
                    })
                    .fold(0.0, f64::max);
                whole(peak)
            })
            .collect()
    }

    fn peak_trunk_lines(&self) -> f64 {
        self.usage
            .day_types
            .iter()
            .map(|day| day.peak_trunk_lines())
            .fold(0.0, f64::max)
    }

    fn peak_concurrent_calls_by_site(&self) -> BTreeMap<String, f64> {
        let mut peaks: BTreeMap<String, f64> = BTreeMap::new();
        for day in &self.usage.day_types {
            for (site, peak) in day.peak_concurrent_calls_by_site() {
                let entry = peaks.entry(site).or_insert(0.0);
                *entry = entry.max(peak);
            }
        }
        peaks
    }
}

/// Seats, servers and lines come in whole units; the 1e-9 keeps 10.000000001 (an artefact of
/// growth arithmetic) from becoming 11.
fn whole(quantity: f64) -> f64 {
    (quantity - 1e-9).ceil().max(0.0)
}

/// Units of hardware or perpetual licenses bought in one year and still owned.
#[derive(Clone, Debug)]
struct Cohort {
    bought_in_year: usize,
    units: f64,
}

/// What an item carries from one year to the next.
#[derive(Clone, Debug, Default)]
struct ItemState {
    cohorts: Vec<Cohort>,
    highest_seats_so_far: f64,
    recording_gb_by_contract_month: Vec<f64>,
}

impl ItemState {
    fn owned_units(&self) -> f64 {
        self.cohorts.iter().map(|c| c.units).sum()
    }
}

struct Ledger {
    years: usize,
    lines: Vec<Line>,
}

/// What a ledger line is, besides its amounts.
struct LineKey<'a> {
    label: &'a str,
    kind: &'a str,
    hidden_fee: Option<&'a str>,
    proxy: Option<&'a str>,
    source: &'a str,
}

impl Ledger {
    fn add(&mut self, key: LineKey<'_>, year: usize, amount: Money) {
        let LineKey {
            label,
            kind,
            hidden_fee,
            proxy,
            source,
        } = key;
        let position = self.lines.iter().position(|line| {
            line.label == label && line.kind == kind && line.hidden_fee.as_deref() == hidden_fee
        });
        let index = position.unwrap_or_else(|| {
            self.lines.push(Line {
                label: label.to_string(),
                kind: kind.to_string(),
                hidden_fee: hidden_fee.map(str::to_string),
                proxy: proxy.map(str::to_string),
                source: source.to_string(),
                cash_by_year: vec![Money::ZERO; self.years],
            });
            self.lines.len() - 1
        });
        self.lines[index].cash_by_year[year] += amount;
    }
}

const HIDDEN_MINIMUM_SEATS: &str = "minimum seats billed above use";
const HIDDEN_COMMITMENT: &str = "annual commitment bills every month at the year's peak month";
const HIDDEN_EXPANSION: &str = "fee for each seat added above the highest count so far";
const HIDDEN_UNLOCK: &str = "feature unlock not in the headline seat price";
const HIDDEN_STORAGE: &str = "recording storage beyond the allowance";
const HIDDEN_REFRESH: &str = "hardware bought again at the end of its life";

fn is_subscription(kind: ItemKind) -> bool {
    matches!(
        kind,
        ItemKind::NamedSeat
            | ItemKind::ConcurrentSeat
            | ItemKind::ActiveUserHour
            | ItemKind::MonthlyActiveUser
            | ItemKind::FeatureUnlock
    )
}

/// Prices `usage` under `book` for `horizon.years` contract years, in the book's currency.
pub fn price_option(usage: &Usage, book: &PriceBook, horizon: Horizon) -> PricedOption {
    let years = horizon.years as usize;
    let mut ledger = Ledger {
        years,
        lines: Vec::new(),
    };
    let mut depreciation_by_year = vec![Money::ZERO; years];
    let mut answered_contacts_by_year = Vec::with_capacity(years);
    let mut agent_hours_by_year = Vec::with_capacity(years);
    let items: Vec<&Item> = book.items().collect();
    let mut states = vec![ItemState::default(); items.len()];
    let depreciation_years = book.terms.depreciation_years.unwrap_or(1).max(1) as usize;
    let refresh_years = book
        .terms
        .refresh_years
        .unwrap_or(depreciation_years as u32)
        .max(1) as usize;
    let minimum_seats = book.terms.minimum_seats;

    for year in 0..years {
        let growth_factor = (1.0 + horizon.growth_per_year).powi(year as i32);
        let year_usage = YearUsage::new(usage, growth_factor);
        answered_contacts_by_year.push(year_usage.total(|m| m.answered_contacts));
        let agent_hours = year_usage.total(|m| m.active_user_hours);
        agent_hours_by_year.push(agent_hours);
        let escalation = (1.0 + book.terms.escalation_percent_per_year / 100.0).powi(year as i32);
        // Installed value at list price, the base that maintenance percentages apply to.
        let mut license_value = Money::ZERO;
        let mut hardware_value = Money::ZERO;
        let mut hardware_units = 0.0;
        let mut subscription_total = Money::ZERO;

        for (item, state) in items.iter().zip(states.iter_mut()) {
            let label = item.display_label();
            let kind = item.kind.name();
            let price = item.price();
            let mut charge = |hidden: Option<&str>, amount: Money| {
                if is_subscription(item.kind) {
                    subscription_total += amount;
                }
                let key = LineKey {
                    label: &label,
                    kind: &kind,
                    hidden_fee: hidden,
                    proxy: item.proxy.as_deref(),
                    source: &item.source,
                };
                ledger.add(key, year, amount);
            };
            match item.kind {
                ItemKind::NamedSeat => {
                    let seats = year_usage.named_agents();
                    let billed = seats.max(minimum_seats);
                    let months = MONTHS_PER_YEAR as f64;
                    charge(None, price.times(seats * months * escalation));
                    charge(
                        Some(HIDDEN_MINIMUM_SEATS),
                        price.times((billed - seats) * months * escalation),
                    );
                }
                ItemKind::ConcurrentSeat => {
                    let by_month = year_usage.billable_concurrent_agents_by_month(
                        item.minimum_peak_duration.unwrap_or(DurationMs::ZERO),
                    );
                    let year_peak = by_month.iter().copied().fold(0.0, f64::max);
                    let used: f64 = by_month.iter().sum();
                    let committed: f64 = if book.terms.annual_commitment {
                        year_peak * MONTHS_PER_YEAR as f64
                    } else {
                        used
                    };
                    let billed: f64 = by_month
                        .iter()
                        .map(|&seats| {
                            let committed_seats = if book.terms.annual_commitment {
                                year_peak
                            } else {
                                seats
                            };
                            committed_seats.max(minimum_seats)
                        })
                        .sum();
                    charge(None, price.times(used * escalation));
                    charge(
                        Some(HIDDEN_COMMITMENT),
                        price.times((committed - used) * escalation),
                    );
                    charge(
                        Some(HIDDEN_MINIMUM_SEATS),
                        price.times((billed - committed) * escalation),
                    );
                }
                ItemKind::ActiveUserHour => charge(None, price.times(agent_hours * escalation)),
                ItemKind::MonthlyActiveUser => {
                    let users = whole(year_usage.usage.monthly_active_users());
                    charge(
                        None,
                        price.times(users * MONTHS_PER_YEAR as f64 * escalation),
                    );
                }
                ItemKind::VoiceMinute | ItemKind::TelephonyMinute => {
                    let inbound = year_usage.total(|m| m.voice_inbound_minutes);
                    let outbound = year_usage.total(|m| m.voice_outbound_minutes);
                    let minutes = match item.direction.unwrap_or(Direction::Both) {
                        Direction::Inbound => inbound,
                        Direction::Outbound => outbound,
                        Direction::Both => inbound + outbound,
                    };
                    let share = item.share_of_minutes.unwrap_or(1.0);
                    charge(None, price.times(minutes * share * escalation));
                }
                ItemKind::ChatMessage => charge(
                    None,
                    price.times(year_usage.total(|m| m.chat_messages) * escalation),
                ),
                ItemKind::Email => charge(
                    None,
                    price.times(year_usage.total(|m| m.emails) * escalation),
                ),
                ItemKind::AutomatedResolution => charge(
                    None,
                    price.times(year_usage.total(|m| m.automated_resolutions) * escalation),
                ),
                ItemKind::NumberRental => {
                    let periods = match item.period {
                        Some(Period::Day) => DAYS_PER_YEAR,
                        _ => MONTHS_PER_YEAR as f64,
                    };
                    let numbers = item.numbers.unwrap_or(0.0);
                    charge(None, price.times(numbers * periods * escalation));
                }
                ItemKind::RecordingStorage => {
                    // Recordings pile up for `retention_months`; the bill is on what is stored
                    // each month, so storage keeps growing through the first retention period.
                    let retention = item.retention_months.unwrap_or(1) as usize;
                    let mut overage_gb_months = 0.0;
                    for month in &year_usage.months {
                        let history = &mut state.recording_gb_by_contract_month;
                        history.push(month.recording_gb);
                        let stored: f64 = history.iter().rev().take(retention).sum();
                        let allowance = item.allowance_gb.unwrap_or(0.0)
                            + item.allowance_gb_per_active_user_hour.unwrap_or(0.0)
                                * month.active_user_hours;
                        overage_gb_months += (stored - allowance).max(0.0);
                    }
                    charge(
                        Some(HIDDEN_STORAGE),
                        price.times(overage_gb_months * escalation),
                    );
                }
                ItemKind::FeatureUnlock => {
                    let seats = year_usage.named_agents();
                    let units = match item.per {
                        Some(Per::Seat) => seats,
                        _ => 1.0,
                    };
                    let amount = match item.period {
                        Some(Period::Month) => price.times(units * 12.0 * escalation),
                        Some(Period::Year) => price.times(units * escalation),
                        Some(Period::Day) => price.times(units * DAYS_PER_YEAR * escalation),
                        // Paid once per unit: in year 1, then for seats added later.
                        _ => {
                            let new_units = (units - state.highest_seats_so_far).max(0.0);
                            price.times(new_units)
                        }
                    };
                    state.highest_seats_so_far = state.highest_seats_so_far.max(units);
                    charge(Some(HIDDEN_UNLOCK), amount);
                }
                ItemKind::SeatExpansion => {
                    let seats = year_usage.named_agents();
                    let added = if year == 0 {
                        0.0
                    } else {
                        (seats - state.highest_seats_so_far).max(0.0)
                    };
                    state.highest_seats_so_far = state.highest_seats_so_far.max(seats);
                    charge(Some(HIDDEN_EXPANSION), price.times(added));
                }
                ItemKind::Server | ItemKind::Sbc => {
                    let needed = servers_needed(item, &year_usage);
                    let (bought, refreshed) = buy_units(state, year, needed, Some(refresh_years));
                    charge(None, price.times(bought));
                    charge(Some(HIDDEN_REFRESH), price.times(refreshed));
                    let spent = price.times(bought + refreshed);
                    let yearly = spent.times(1.0 / depreciation_years as f64);
                    for later in depreciation_by_year
                        .iter_mut()
                        .skip(year)
                        .take(depreciation_years)
                    {
                        *later += yearly;
                    }
                    hardware_units += state.owned_units();
                    hardware_value += price.times(state.owned_units());
                }
                ItemKind::License => {
                    let units = match item.per {
                        Some(Per::Port) => whole(year_usage.peak_trunk_lines()),
                        _ => year_usage.named_agents(),
                    };
                    match item.licensing {
                        Some(Licensing::Perpetual) => {
                            let (bought, _) = buy_units(state, year, units, None);
                            charge(None, price.times(bought));
                            license_value += price.times(state.owned_units());
                        }
                        _ => charge(
                            None,
                            price.times(units * MONTHS_PER_YEAR as f64 * escalation),
                        ),
                    }
                }
                ItemKind::OperationsStaff => charge(
                    None,
                    price.times(item.full_time_equivalents.unwrap_or(0.0) * escalation),
                ),
                ItemKind::TrunkLine => {
                    let headroom = 1.0 + item.headroom_percent.unwrap_or(0.0) / 100.0;
                    let lines = whole(year_usage.peak_trunk_lines() * headroom);
                    charge(
                        None,
                        price.times(lines * MONTHS_PER_YEAR as f64 * escalation),
                    );
                }
                ItemKind::Implementation => {
                    if year == 0 {
                        charge(None, price);
                    }
                }
                // Priced below, once this year's installed base is known.
                ItemKind::SoftwareMaintenance | ItemKind::HardwareMaintenance | ItemKind::Rack => {}
            }
        }

        for item in &items {
            let label = item.display_label();
            let kind = item.kind.name();
            let percent = item.percent_per_year.unwrap_or(0.0) / 100.0;
            let amount = match item.kind {
                ItemKind::SoftwareMaintenance => license_value.times(percent * escalation),
                ItemKind::HardwareMaintenance => hardware_value.times(percent * escalation),
                ItemKind::Rack => {
                    let racks = whole(hardware_units / item.servers_per_rack.unwrap_or(1.0));
                    item.price()
                        .times(racks * MONTHS_PER_YEAR as f64 * escalation)
                }
                _ => continue,
            };
            let key = LineKey {
                label: &label,
                kind: &kind,
                hidden_fee: None,
                proxy: item.proxy.as_deref(),
                source: &item.source,
            };
            ledger.add(key, year, amount);
        }

        if book.terms.discount_percent > 0.0 {
            let key = LineKey {
                label: "discount on subscriptions",
                kind: "discount",
                hidden_fee: None,
                proxy: None,
                source: "[terms] discount_percent",
            };
            ledger.add(
                key,
                year,
                -subscription_total.times(book.terms.discount_percent / 100.0),
            );
        }
    }

    let mut lines = ledger.lines;
    lines.extend(workforce_lines(&book.workforce, 1.0, &agent_hours_by_year));
    PricedOption {
        lines,
        depreciation_by_year,
        answered_contacts_by_year,
        agent_hours_by_year,
    }
}

/// Labour: each site's rate × its share of each year's agent-hours, one line per site. The
/// rates are multiplied by `rate_factor` first (an exchange rate when they are not in the
/// currency of the lines they join).
pub fn workforce_lines(
    rates: &[WorkforceRate],
    rate_factor: f64,
    agent_hours_by_year: &[f64],
) -> Vec<Line> {
    rates
        .iter()
        .map(|rate| {
            let per_hour = rate.price_per_agent_hour.0.times(rate_factor);
            Line {
                label: format!("workforce, {}", rate.site),
                kind: "workforce".to_string(),
                hidden_fee: None,
                proxy: None,
                source: rate.source.clone(),
                cash_by_year: agent_hours_by_year
                    .iter()
                    .map(|hours| per_hour.times(hours * rate.share_of_agent_hours))
                    .collect(),
            }
        })
        .collect()
}

/// Servers (or SBCs) for this year's peak: each site carries its own peak with
/// `spare_servers_per_site` spares (N+1 is one spare), and a disaster-recovery site is sized to
/// carry every site's peak at once.
fn servers_needed(item: &Item, year_usage: &YearUsage) -> f64 {
    let per_server = item.concurrent_calls_per_server.unwrap_or(1.0);
    let spares = item.spare_servers_per_site.unwrap_or(0) as f64;
    let peaks = year_usage.peak_concurrent_calls_by_site();
    let mut servers: f64 = peaks
        .values()
        .map(|peak| whole(peak / per_server) + spares)
        .sum();
    if item.disaster_recovery_site.unwrap_or(false) {
        let all_sites: f64 = peaks.values().sum();
        servers += whole(all_sites / per_server) + spares;
    }
    servers
}

/// Buys what this year needs beyond what is owned, and, with a refresh cycle, buys again the
/// cohorts that reach the end of their life. Units are never sold when need falls: the
/// hardware is already paid for. Returns (units bought for growth, units bought as refresh).
fn buy_units(
    state: &mut ItemState,
    year: usize,
    needed: f64,
    refresh_years: Option<usize>,
) -> (f64, f64) {
    let mut refreshed = 0.0;
    if let Some(life) = refresh_years {
        for cohort in &mut state.cohorts {
            if year > cohort.bought_in_year && year - cohort.bought_in_year >= life {
                refreshed += cohort.units;
                cohort.bought_in_year = year;
            }
        }
    }
    let bought = (needed - state.owned_units()).max(0.0);
    if bought > 0.0 {
        state.cohorts.push(Cohort {
            bought_in_year: year,
            units: bought,
        });
    }
    (bought, refreshed)
}

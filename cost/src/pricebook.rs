//! Price books: what each option charges, item by item, in one currency.
//!
//! A book is a TOML file: a header (name, kind, currency), `[terms]` (minimums, commitment,
//! discount, escalation, depreciation) and a list of `[[item]]`s, each a `kind` of charge with
//! its price and the few keys that kind needs, plus optional `[[workforce]]` rates.
//! `docs/cost.md` documents every key and what each kind counts.

use std::path::Path;

// The words a price book shares with `cost.json`.
use serde::{Deserialize, Serialize};
use switchboard_engine::units::DurationMs;
pub use switchboard_results::cost::{Currency, DeploymentKind};
use toml::Spanned;

use crate::money::Price;
use crate::source_error::SourceError;

/// One option's prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceBook {
    pub name: String,
    pub kind: DeploymentKind,
    pub currency: Currency,
    /// True for list prices that stand in for a real quote; reports say so.
    #[serde(default)]
    pub illustrative: bool,
    #[serde(default)]
    pub note: String,
    /// Why this option's agents cost what its own `[[workforce]]` says rather than what every
    /// other option's agents cost (an outsourcer whose offer includes its agents, a site only
    /// this option can use). Without it a comparison prices every option's labour at the same
    /// rates, so that the options differ by what they charge, not by where agents are paid.
    #[serde(default)]
    pub workforce_differs_because: Option<String>,
    #[serde(default)]
    pub terms: Terms,
    #[serde(rename = "item", default)]
    pub items: Vec<Spanned<Item>>,
    #[serde(default)]
    pub workforce: Vec<WorkforceRate>,
}

/// Contract terms that apply across items.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// Seats billed at least, by `named_seat` and `concurrent_seat` items, each month.
    #[serde(default)]
    pub minimum_seats: f64,
    /// When true, seat items bill every month of a contract year at that year's highest month:
    /// a seasonal peak is paid for all year.
    #[serde(default)]
    pub annual_commitment: bool,
    /// Discount on seat and user subscription items (named, concurrent, active hour, monthly
    /// active user, feature unlocks), in percent.
    #[serde(default)]
    pub discount_percent: f64,
    /// Yearly rise of every recurring price, in percent, compounding from year 2.
    #[serde(default)]
    pub escalation_percent_per_year: f64,
    /// Straight-line depreciation of hardware (servers, SBCs), in years.
    #[serde(default)]
    pub depreciation_years: Option<u32>,
    /// Hardware is bought again this many years after purchase; defaults to
    /// `depreciation_years`.
    #[serde(default)]
    pub refresh_years: Option<u32>,
}

/// What an item charges for. The price's unit follows from the kind (see `docs/cost.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    NamedSeat,
    ConcurrentSeat,
    ActiveUserHour,
    MonthlyActiveUser,
    VoiceMinute,
    TelephonyMinute,
    ChatMessage,
    Email,
    AutomatedResolution,
    NumberRental,
    RecordingStorage,
    FeatureUnlock,
    SeatExpansion,
    Server,
    Sbc,
    License,
    SoftwareMaintenance,
    HardwareMaintenance,
    OperationsStaff,
    Rack,
    TrunkLine,
    Implementation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
    Year,
    OneOff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Seat,
    Flat,
    Agent,
    Port,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Licensing {
    Perpetual,
    Subscription,
}

/// One charge. Only `kind`, `source` and the keys that kind takes may be present.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub kind: ItemKind,
    /// Name shown in breakdowns; defaults to the kind.
    #[serde(default)]
    pub label: Option<String>,
    /// Where the figure comes from and when it was seen, or that it is a placeholder.
    pub source: String,
    /// Set when the price is another vendor's (or another product's) standing in for one this
    /// option does not publish: why it stands in. Reports label the line as a proxy.
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub share_of_minutes: Option<f64>,
    #[serde(default)]
    pub minimum_peak_duration: Option<DurationMs>,
    #[serde(default)]
    pub numbers: Option<f64>,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub allowance_gb: Option<f64>,
    #[serde(default)]
    pub allowance_gb_per_active_user_hour: Option<f64>,
    #[serde(default)]
    pub retention_months: Option<u32>,
    #[serde(default)]
    pub per: Option<Per>,
    #[serde(default)]
    pub licensing: Option<Licensing>,
    #[serde(default)]
    pub concurrent_calls_per_server: Option<f64>,
    #[serde(default)]
    pub spare_servers_per_site: Option<u32>,
    #[serde(default)]
    pub disaster_recovery_site: Option<bool>,
    #[serde(default)]
    pub percent_per_year: Option<f64>,
    #[serde(default)]
    pub full_time_equivalents: Option<f64>,
    #[serde(default)]
    pub servers_per_rack: Option<f64>,
    #[serde(default)]
    pub headroom_percent: Option<f64>,
}

/// Loaded cost of an agent-hour at one site, priced as its own line so options compare with
/// and without labour.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkforceRate {
    pub site: String,
    /// Fraction of all agent-hours worked at this site; the shares of a book add up to 1.
    pub share_of_agent_hours: f64,
    pub price_per_agent_hour: Price,
    pub source: String,
}

/// (required keys, optional keys) of each kind, besides `kind`, `label` and `source`.
fn keys_of(kind: ItemKind) -> (&'static [&'static str], &'static [&'static str]) {
    use ItemKind::*;
    match kind {
        NamedSeat | ActiveUserHour | MonthlyActiveUser | ChatMessage | Email
        | AutomatedResolution | SeatExpansion | Implementation => (&["price"], &[]),
        ConcurrentSeat => (&["price"], &["minimum_peak_duration"]),
        VoiceMinute => (&["price"], &["direction"]),
        TelephonyMinute => (&["price"], &["direction", "share_of_minutes"]),
        NumberRental => (&["price", "numbers", "period"], &[]),
        RecordingStorage => (
            &["price", "retention_months"],
            &["allowance_gb", "allowance_gb_per_active_user_hour"],
        ),
        FeatureUnlock => (&["price", "per", "period"], &[]),
        Server | Sbc => (
            &["price", "concurrent_calls_per_server"],
            &["spare_servers_per_site", "disaster_recovery_site"],
        ),
        License => (&["price", "per", "licensing"], &[]),
        SoftwareMaintenance | HardwareMaintenance => (&["percent_per_year"], &[]),
        OperationsStaff => (&["price", "full_time_equivalents"], &[]),
        Rack => (&["price", "servers_per_rack"], &[]),
        TrunkLine => (&["price"], &["headroom_percent"]),
    }
}

impl ItemKind {
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

impl Item {
    fn present_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut note = |present: bool, key: &'static str| {
            if present {
                keys.push(key);
            }
        };
        note(self.price.is_some(), "price");
        note(self.direction.is_some(), "direction");
        note(self.share_of_minutes.is_some(), "share_of_minutes");
        note(
            self.minimum_peak_duration.is_some(),
            "minimum_peak_duration",
        );
        note(self.numbers.is_some(), "numbers");
        note(self.period.is_some(), "period");
        note(self.allowance_gb.is_some(), "allowance_gb");
        note(
            self.allowance_gb_per_active_user_hour.is_some(),
            "allowance_gb_per_active_user_hour",
        );
        note(self.retention_months.is_some(), "retention_months");
        note(self.per.is_some(), "per");
        note(self.licensing.is_some(), "licensing");
        note(
            self.concurrent_calls_per_server.is_some(),
            "concurrent_calls_per_server",
        );
        note(
            self.spare_servers_per_site.is_some(),
            "spare_servers_per_site",
        );
        note(
            self.disaster_recovery_site.is_some(),
            "disaster_recovery_site",
        );
        note(self.percent_per_year.is_some(), "percent_per_year");
        note(
            self.full_time_equivalents.is_some(),
            "full_time_equivalents",
        );
        note(self.servers_per_rack.is_some(), "servers_per_rack");
        note(self.headroom_percent.is_some(), "headroom_percent");
        keys
    }

    /// The label shown in breakdowns.
    pub fn display_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.kind.name())
    }

    /// The price; validation guarantees it for every kind that needs one.
    pub fn price(&self) -> crate::Money {
        self.price.map(|p| p.0).unwrap_or_default()
    }

    fn check(&self) -> Result<(), String> {
        let (required, optional) = keys_of(self.kind);
        let kind = self.kind.name();
        let present = self.present_keys();
        for key in required {
            if !present.contains(key) {
                return Err(format!(
                    "item of kind \"{kind}\" needs `{key}`; it takes {}",
                    describe_keys(required, optional)
                ));
            }
        }
        for key in &present {
            if !required.contains(key) && !optional.contains(key) {
                return Err(format!(
                    "`{key}` does not apply to an item of kind \"{kind}\"; it takes {}",
                    describe_keys(required, optional)
                ));
            }
        }
        let fraction_ok =
            |value: Option<f64>| !matches!(value, Some(v) if !(0.0..=1.0).contains(&v));
        let non_negative =
            |value: Option<f64>| !matches!(value, Some(v) if !(v >= 0.0 && v.is_finite()));
        if !fraction_ok(self.share_of_minutes) {
            return Err("share_of_minutes: expected a fraction from 0 to 1".into());
        }
        for (key, value) in [
            ("numbers", self.numbers),
            ("allowance_gb", self.allowance_gb),
            (
                "allowance_gb_per_active_user_hour",
                self.allowance_gb_per_active_user_hour,
            ),
            ("percent_per_year", self.percent_per_year),
            ("full_time_equivalents", self.full_time_equivalents),
            ("headroom_percent", self.headroom_percent),
        ] {
            if !non_negative(value) {
                return Err(format!("{key}: expected a number of zero or more"));
            }
        }
        for (key, value) in [
            (
                "concurrent_calls_per_server",
                self.concurrent_calls_per_server,
            ),
            ("servers_per_rack", self.servers_per_rack),
        ] {
            if value.is_some_and(|v| !(v >= 1.0 && v.is_finite())) {
                return Err(format!("{key}: expected a number of 1 or more"));
            }
        }
        if self.retention_months == Some(0) {
            return Err("retention_months: expected 1 or more".into());
        }
        let per_allowed: &[Per] = match self.kind {
            ItemKind::FeatureUnlock => &[Per::Seat, Per::Flat],
            ItemKind::License => &[Per::Agent, Per::Port],
            _ => &[Per::Seat, Per::Flat, Per::Agent, Per::Port],
        };
        if let Some(per) = self.per {
            if !per_allowed.contains(&per) {
                return Err(format!(
                    "per: \"{}\" does not apply to kind \"{kind}\"; expected one of {}",
                    serde_json::to_value(per).unwrap_or_default(),
                    per_allowed
                        .iter()
                        .map(|p| serde_json::to_value(p).unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if self.kind == ItemKind::NumberRental
            && matches!(self.period, Some(Period::Year | Period::OneOff))
        {
            return Err("period: a number rental is charged per \"day\" or \"month\"".into());
        }
        Ok(())
    }
}

fn describe_keys(required: &[&str], optional: &[&str]) -> String {
    let mut text = required
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if !optional.is_empty() {
        text.push_str(" and optionally ");
        text.push_str(
            &optional
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    text
}

impl PriceBook {
    /// Reads and checks a price book file.
    pub fn load(path: &Path) -> Result<PriceBook, SourceError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| SourceError::unreadable(path, &error))?;
        PriceBook::parse(path, &text)
    }

    /// Parses and checks a price book; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<PriceBook, SourceError> {
        let book: PriceBook =
            crate::source_error::load_document(path, text).map_err(|mut error| {
                if error.message.contains("missing field `currency`") {
                    error.message.push_str(
                        ": expected currency = \"CNY\", \"USD\" or another ISO 4217 code at the top of the book",
                    );
                }
                error
            })?;
        for item in &book.items {
            item.get_ref().check().map_err(|message| {
                SourceError::at_offset(path, text, item.span().start, message)
            })?;
        }
        if book
            .workforce_differs_because
            .as_ref()
            .is_some_and(|reason| reason.trim().is_empty())
        {
            return Err(SourceError::whole_file(
                path,
                "workforce_differs_because: expected the reason this book's labour rates differ, found an empty text",
            ));
        }
        if book.workforce_differs_because.is_some() && book.workforce.is_empty() {
            return Err(SourceError::whole_file(
                path,
                "workforce_differs_because: the book has no [[workforce]] rates of its own to use",
            ));
        }
        for rate in &book.workforce {
            if !(0.0..=1.0).contains(&rate.share_of_agent_hours) {
                return Err(SourceError::whole_file(
                    path,
                    format!(
                        "workforce site \"{}\": share_of_agent_hours: expected a fraction from 0 to 1",
                        rate.site
                    ),
                ));
            }
        }
        if !book.workforce.is_empty() {
            let shares: f64 = book.workforce.iter().map(|r| r.share_of_agent_hours).sum();
            if (shares - 1.0).abs() > 1e-9 {
                return Err(SourceError::whole_file(
                    path,
                    format!("[[workforce]]: share_of_agent_hours adds up to {shares}; expected 1"),
                ));
            }
        }
        let terms = &book.terms;
        for (key, value) in [
            ("minimum_seats", terms.minimum_seats),
            ("discount_percent", terms.discount_percent),
            (
                "escalation_percent_per_year",
                terms.escalation_percent_per_year,
            ),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(SourceError::whole_file(
                    path,
                    format!("[terms] {key}: expected a number of zero or more, found {value}"),
                ));
            }
        }
        if terms.discount_percent > 100.0 {
            return Err(SourceError::whole_file(
                path,
                "[terms] discount_percent: expected at most 100",
            ));
        }
        let has_hardware = book
            .items
            .iter()
            .any(|i| matches!(i.get_ref().kind, ItemKind::Server | ItemKind::Sbc));
        if has_hardware && terms.depreciation_years.unwrap_or(0) == 0 {
            return Err(SourceError::whole_file(
                path,
                "[terms] depreciation_years: expected 1 or more years when the book buys servers or SBCs",
            ));
        }
        if terms.refresh_years == Some(0) {
            return Err(SourceError::whole_file(
                path,
                "[terms] refresh_years: expected 1 or more",
            ));
        }
        Ok(book)
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().map(|item| item.get_ref())
    }
}

/// The price books shipped in `scenarios/pricebooks/`, as (path in the repository, text).
pub fn bundled_price_books() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "scenarios/pricebooks/per-minute-cloud.toml",
            include_str!("../../scenarios/pricebooks/per-minute-cloud.toml"),
        ),
        (
            "scenarios/pricebooks/named-seat-tiers.toml",
            include_str!("../../scenarios/pricebooks/named-seat-tiers.toml"),
        ),
        (
            "scenarios/pricebooks/concurrent-seat-30-minute-rule.toml",
            include_str!("../../scenarios/pricebooks/concurrent-seat-30-minute-rule.toml"),
        ),
        (
            "scenarios/pricebooks/concurrent-seat-50-minimum.toml",
            include_str!("../../scenarios/pricebooks/concurrent-seat-50-minimum.toml"),
        ),
        (
            "scenarios/pricebooks/per-active-hour.toml",
            include_str!("../../scenarios/pricebooks/per-active-hour.toml"),
        ),
        (
            "scenarios/pricebooks/china-seat-rent.toml",
            include_str!("../../scenarios/pricebooks/china-seat-rent.toml"),
        ),
        (
            "scenarios/pricebooks/private-freeswitch.toml",
            include_str!("../../scenarios/pricebooks/private-freeswitch.toml"),
        ),
        (
            "scenarios/pricebooks/private-commercial-license.toml",
            include_str!("../../scenarios/pricebooks/private-commercial-license.toml"),
        ),
        (
            "scenarios/pricebooks/hybrid-private-core-saas-analytics.toml",
            include_str!("../../scenarios/pricebooks/hybrid-private-core-saas-analytics.toml"),
        ),
    ]
}

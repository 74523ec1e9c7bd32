//! `cost.json`, the costs `switchboard cost` priced ([`CostReport`]), and the words it is made
//! of: [`Money`] (whole millionths of a currency unit in an `i64`), [`Currency`], the kind of
//! deployment, exchange rates. Pricing is `switchboard-cost`'s; this module only holds what it
//! wrote, so that a page can show it and a program can read it back.
//!
//! Per-minute prices are fractions of a cent (USD 0.038 per minute), so cents or fen are too
//! coarse to hold a price; millionths hold every bundled price exactly. Each priced line is
//! rounded once to the millionth when a price meets a quantity, and from there on amounts are
//! added as integers, so totals do not drift the way repeated `f64` sums do. An `i64` of
//! millionths reaches 9.2 trillion currency units, far beyond any contact center's budget.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ResultsError;

/// The file `switchboard cost --out DIR` writes the report into.
pub const COST_FILE: &str = "cost.json";

/// Millionths of a currency unit per unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An amount of money in millionths of the currency unit of whatever book or report holds it.
///
/// ```
/// use switchboard_results::cost::Money;
/// let per_minute = Money::from_units(0.038);
/// assert_eq!(per_minute.micros(), 38_000);
/// assert_eq!(per_minute.times(1_000.0), Money::from_units(38.0));
/// assert_eq!(Money::from_units(1234.5).to_string(), "1,234.50");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    micros: i64,
}

impl Money {
    pub const ZERO: Money = Money { micros: 0 };

    pub const fn from_micros(micros: i64) -> Self {
        Money { micros }
    }

    /// Rounds to the nearest millionth (half away from zero).
    pub fn from_units(units: f64) -> Self {
        assert!(units.is_finite(), "an amount of money is finite");
        Money {
            micros: (units * MICROS_PER_UNIT as f64).round() as i64,
        }
    }

    pub const fn micros(self) -> i64 {
        self.micros
    }

    pub fn as_units(self) -> f64 {
        self.micros as f64 / MICROS_PER_UNIT as f64
    }

    /// This amount multiplied by a quantity (minutes, seats × months, a factor), rounded once
    /// to the millionth. Quantities are `f64` because usage is measured, not counted in money.
    pub fn times(self, quantity: f64) -> Money {
        assert!(quantity.is_finite(), "a quantity is finite");
        Money {
            micros: (self.micros as f64 * quantity).round() as i64,
        }
    }

    /// The amount rounded to hundredths (cents, fen), for display and for `cost.json`.
    pub fn rounded_to_hundredths(self) -> f64 {
        let hundredths = (self.micros as f64 / 10_000.0).round();
        hundredths / 100.0
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money {
            micros: self
                .micros
                .checked_add(other.micros)
                .expect("money never overflows 9.2 trillion units"),
        }
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        *self = *self + other;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        self + (-other)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money {
            micros: -self.micros,
        }
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// Hundredths with thousands separators: `-1,234,567.89`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = (self.micros as f64 / 10_000.0).round() as i64;
        let sign = if hundredths < 0 { "-" } else { "" };
        let hundredths = hundredths.unsigned_abs();
        let whole = (hundredths / 100).to_string();
        let mut grouped = String::new();
        for (index, digit) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}{grouped}.{:02}", hundredths % 100)
    }
}

/// In `cost.json` an amount is a number of currency units rounded to hundredths.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.rounded_to_hundredths())
    }
}

/// An amount read back from `cost.json`: its currency units, to the millionth.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let units = f64::deserialize(deserializer)?;
        if !units.is_finite() {
            return Err(serde::de::Error::custom(format!(
                "expected an amount of money, found {units}"
            )));
        }
        Ok(Money::from_units(units))
    }
}

/// The currency a book or a report is written in: any ISO 4217 currency (the codes and their
/// names come from the `iso_currency` crate, kept to the standard's list), written as its
/// three-letter code. Funds, precious metals and superseded codes are refused: nobody prices a
/// contact center in them.
///
/// ```
/// use switchboard_results::cost::Currency;
/// assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
/// assert_eq!(Currency::parse("RMB"), Ok(Currency::CNY));
/// assert!(Currency::parse("XAU").is_err());
/// assert!(Currency::parse("ABC").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub const CNY: Currency = Currency(iso_currency::Currency::CNY);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    /// The ISO 4217 code, `"USD"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// The currency's name in the standard, `"United States dollar"`.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// An ISO 4217 code in any case; `RMB`, the name often written for the renminbi, is CNY.
    pub fn parse(code: &str) -> Result<Currency, String> {
        let upper = code.trim().to_ascii_uppercase();
        let upper = if upper == "RMB" {
            "CNY".to_string()
        } else {
            upper
        };
        let Some(currency) = iso_currency::Currency::from_code(&upper) else {
            return Err(format!(
                "expected an ISO 4217 currency code such as CNY, USD or EUR, found {code:?}"
            ));
        };
        if let Some(successor) = currency.is_superseded() {
            return Err(format!(
                "{upper} is superseded by {}; expected a current ISO 4217 currency code",
                successor.code()
            ));
        }
        if currency.is_fund() || currency.is_special() {
            return Err(format!(
                "{upper} ({}) is a fund or special code, not a currency to price in; expected a code such as CNY, USD or EUR",
                currency.name()
            ));
        }
        Ok(Currency(currency))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = String;
    fn from_str(code: &str) -> Result<Self, String> {
        Currency::parse(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// How the option is deployed; informs the report, the pricing rules are per item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    Saas,
    Private,
    Hybrid,
}

/// Version of the `cost.json` layout; bumped whenever a field changes meaning or goes away.
pub const SCHEMA: &str = "switchboard-cost/1";

/// `1 FROM = rate TO`, as given on the command line: `USD_CNY=7.1`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub from: Currency,
    pub to: Currency,
    pub rate: f64,
}

impl std::str::FromStr for ExchangeRate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected an exchange rate such as USD_CNY=7.1 (1 USD = 7.1 CNY), found {text:?}"
            )
        };
        let (pair, rate) = text.split_once('=').ok_or_else(expected)?;
        let (from, to) = pair.split_once('_').ok_or_else(expected)?;
        let from = Currency::parse(from).map_err(|error| format!("{}: {error}", expected()))?;
        let to = Currency::parse(to).map_err(|error| format!("{}: {error}", expected()))?;
        if from == to {
            return Err(format!("{}: both sides are {from}", expected()));
        }
        let rate: f64 = rate.trim().parse().map_err(|_| expected())?;
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(expected());
        }
        Ok(ExchangeRate { from, to, rate })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// `cost.json`: every option priced over the years, break-even years, the tornado and the
/// growth what-ifs.
pub struct CostReport {
    /// [`SCHEMA`].
    pub schema: String,
    pub usage: String,
    pub currency: Currency,
    pub years: u32,
    pub discount_rate: f64,
    pub growth_per_year: f64,
    pub exchange_rates: Vec<ExchangeRate>,
    /// Whose agent-hour rates price labour.
    #[serde(default)]
    pub workforce_basis: WorkforceBasis,
    /// The file whose `[[workforce]]` rates every option shares (basis `common`).
    #[serde(default)]
    pub workforce_file: Option<String>,
    /// What a reader should know before trusting the figures (an assumed number of days, a
    /// workforce that differs between options).
    #[serde(default)]
    pub warnings: Vec<String>,
    pub options: Vec<OptionReport>,
    pub break_even: Vec<BreakEven>,
    pub tornado: Vec<Tornado>,
    pub growth_what_ifs: Vec<GrowthWhatIf>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionReport {
    pub name: String,
    pub file: String,
    pub kind: DeploymentKind,
    pub book_currency: Currency,
    pub illustrative: bool,
    /// The agent-hour rates this option's labour is priced at, in the report's currency.
    #[serde(default)]
    pub workforce_rates: Vec<WorkforceRateReport>,
    /// Why the book prices labour at its own rates rather than the common ones; `None` when it
    /// shares them (or when every book uses its own, basis `each_book`).
    #[serde(default)]
    pub workforce_differs_because: Option<String>,
    pub years: Vec<YearReport>,
    pub total_cash: Money,
    pub total_npv: Money,
    pub total_cash_excluding_workforce: Money,
    pub total_npv_excluding_workforce: Money,
    /// Hidden fees summed: minimums, commitment, expansion, unlocks, storage, refresh.
    pub hidden_fees_total: Money,
    pub answered_contacts: f64,
    pub agent_hours: f64,
    pub cost_per_answered_contact: Option<Money>,
    pub cost_per_answered_contact_excluding_workforce: Option<Money>,
    pub cost_per_agent_hour: Option<Money>,
    pub cost_per_agent_hour_excluding_workforce: Option<Money>,
    pub breakdown: Vec<LineReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct YearReport {
    pub year: u32,
    pub cash: Money,
    pub cash_excluding_workforce: Money,
    pub cumulative_cash: Money,
    pub discounted_cash: Money,
    pub depreciation: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineReport {
    pub label: String,
    pub kind: String,
    pub hidden_fee: Option<String>,
    /// Why another vendor's price stands in for this one (a proxy), or `None` for the
    /// option's own price.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Where the book says the figure comes from.
    pub source: String,
    pub cash_by_year: Vec<Money>,
    pub total: Money,
}

/// Whose agent-hour rates price each option's labour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkforceBasis {
    /// The same agents at the same rates in every option (like with like), except a book that
    /// says why its own rates differ (`workforce_differs_because`).
    Common,
    /// Every book's own rates: labour differs between options by whatever the books assume.
    #[default]
    EachBook,
}

/// One site's loaded cost of an agent-hour, converted to the report's currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkforceRateReport {
    pub site: String,
    pub share_of_agent_hours: f64,
    pub price_per_agent_hour: Money,
    pub source: String,
}

/// Between two options: which is cheaper in year 1, and from which year the other one's
/// cumulative cash is lower (`None`: never within the horizon).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    pub cheaper_in_year_one: String,
    pub other: String,
    pub other_cheaper_from_year: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    pub option: String,
    pub base_npv: Money,
    /// Sorted by swing, largest first.
    pub inputs: Vec<TornadoInput>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TornadoInput {
    pub input: String,
    pub npv_at_minus_20_percent: Money,
    pub npv_at_plus_20_percent: Money,
    pub swing: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthWhatIf {
    pub growth_per_year: f64,
    pub options: Vec<GrowthOutcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthOutcome {
    pub option: String,
    pub total_cash: Money,
    pub total_npv: Money,
}

impl CostReport {
    /// The text of `cost.json`: pretty-printed, fields in the order declared, a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("cost reports serialize") + "\n"
    }

    /// Reads `cost.json`.
    pub fn read(path: &Path) -> Result<CostReport, ResultsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ResultsError::new(path, format!("cannot read: {error}")))?;
        serde_json::from_str(&text).map_err(|error| {
            ResultsError::new(
                path,
                format!("not a cost report of `switchboard cost`: {error}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_below_a_cent_are_held_exactly() {
        assert_eq!(Money::from_units(0.038).micros(), 38_000);
        assert_eq!(Money::from_units(0.010).micros(), 10_000);
        // 0.1 + 0.2 is not 0.3 in f64; in millionths it is.
        assert_eq!(
            Money::from_units(0.1) + Money::from_units(0.2),
            Money::from_units(0.3)
        );
    }

    #[test]
    fn display_groups_thousands_and_keeps_the_sign() {
        assert_eq!(Money::from_units(0.0).to_string(), "0.00");
        assert_eq!(Money::from_units(999.994).to_string(), "999.99");
        assert_eq!(Money::from_units(1_000_000.5).to_string(), "1,000,000.50");
        assert_eq!(Money::from_units(-12_345.678).to_string(), "-12,345.68");
    }
}

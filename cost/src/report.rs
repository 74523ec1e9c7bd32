//! Compares options: N-year cash and NPV, cost per contact and per agent-hour, break-even
//! years, a sensitivity tornado and growth what-ifs, gathered in [`CostReport`], the content of
//! `cost.json`.

pub use switchboard_results::cost::{
    BreakEven, CostReport, ExchangeRate, GrowthOutcome, GrowthWhatIf, LineReport, OptionReport,
    Tornado, TornadoInput, YearReport, SCHEMA,
};

use crate::money::Money;
use crate::pricebook::{Currency, ItemKind, PriceBook};
use crate::pricing::{price_option, Horizon, Line, PricedOption};
use crate::usage::{Quantity, Usage};

/// How much each tornado input moves: ±20 %.
pub const TORNADO_SWING: f64 = 0.2;

/// The traffic growth always shown among the what-ifs: +30 % a year.
pub const GROWTH_WHAT_IF: f64 = 0.3;

/// A price book and the name of the file it came from.
#[derive(Clone, Debug)]
pub struct NamedBook {
    pub file: String,
    pub book: PriceBook,
}

/// Everything a comparison needs.
#[derive(Clone, Debug)]
pub struct CostRequest {
    pub usage: Usage,
    pub books: Vec<NamedBook>,
    pub years: u32,
    /// Yearly discount rate for NPV, 0.08 for 8 %.
    pub discount_rate: f64,
    pub growth_per_year: f64,
    pub currency: Currency,
    pub exchange_rates: Vec<ExchangeRate>,
}

/// Present value of yearly cash paid at the start of each year: year 1 is not discounted,
/// year `y` is divided by `(1 + rate)^(y-1)`.
pub fn discounted_by_year(cash_by_year: &[Money], discount_rate: f64) -> Vec<Money> {
    cash_by_year
        .iter()
        .enumerate()
        .map(|(index, cash)| cash.times(1.0 / (1.0 + discount_rate).powi(index as i32)))
        .collect()
}

pub fn net_present_value(cash_by_year: &[Money], discount_rate: f64) -> Money {
    discounted_by_year(cash_by_year, discount_rate)
        .into_iter()
        .sum()
}

impl CostRequest {
    /// Report-currency units per unit of `from`.
    pub fn rate_to_report(&self, from: Currency) -> Result<f64, String> {
        if from == self.currency {
            return Ok(1.0);
        }
        for rate in &self.exchange_rates {
            if rate.from == from && rate.to == self.currency {
                return Ok(rate.rate);
            }
            if rate.from == self.currency && rate.to == from {
                return Ok(1.0 / rate.rate);
            }
        }
        Err(format!(
            "a price book is in {from} and the report is in {}: give --exchange-rate {from}_{}=RATE (1 {from} = RATE {})",
            self.currency, self.currency, self.currency
        ))
    }

    fn horizon(&self, growth_per_year: f64) -> Horizon {
        Horizon {
            years: self.years,
            growth_per_year,
        }
    }

    fn priced(&self, usage: &Usage, book: &PriceBook, growth: f64, rate: f64) -> PricedOption {
        price_option(usage, book, self.horizon(growth)).converted(rate)
    }
}

/// Prices every book and compares them.
pub fn compare(request: &CostRequest) -> Result<CostReport, String> {
    if request.years == 0 || request.years > 50 {
        return Err(format!("years: expected 1 to 50, found {}", request.years));
    }
    if !(request.discount_rate > -1.0 && request.discount_rate.is_finite()) {
        return Err("discount rate: expected a number above -1, such as 0.08".into());
    }
    if !(request.growth_per_year > -1.0 && request.growth_per_year.is_finite()) {
        return Err("growth: expected a number above -1, such as 0.3".into());
    }
    if request.books.is_empty() {
        return Err("expected at least one price book".into());
    }
    if request.usage.has_unsimulated_day_types() {
        // Pricing the empty arrays of a day type not yet simulated would show a free day.
        return Err(
            "the usage has day types still to simulate (simulated::load_and_simulate)".into(),
        );
    }
    let mut options = Vec::new();
    let mut tornado = Vec::new();
    for named in &request.books {
        let rate = request.rate_to_report(named.book.currency)?;
        let priced = request.priced(&request.usage, &named.book, request.growth_per_year, rate);
        let option = option_report(request, named, &priced);
        tornado.push(tornado_for(request, named, rate, option.total_npv));
        options.push(option);
    }
    let break_even = break_even_pairs(&options);
    let mut growth_values = vec![0.0, request.growth_per_year, GROWTH_WHAT_IF];
    growth_values.sort_by(f64::total_cmp);
    growth_values.dedup();
    let mut growth_what_ifs = Vec::new();
    for growth in growth_values {
        let mut outcomes = Vec::new();
        for named in &request.books {
            let rate = request.rate_to_report(named.book.currency)?;
            let cash = request
                .priced(&request.usage, &named.book, growth, rate)
                .cash_by_year(true);
            outcomes.push(GrowthOutcome {
                option: named.book.name.clone(),
                total_cash: cash.iter().copied().sum(),
                total_npv: net_present_value(&cash, request.discount_rate),
            });
        }
        growth_what_ifs.push(GrowthWhatIf {
            growth_per_year: growth,
            options: outcomes,
        });
    }
    Ok(CostReport {
        schema: SCHEMA.to_string(),
        usage: request.usage.name.clone(),
        currency: request.currency,
        years: request.years,
        discount_rate: request.discount_rate,
        growth_per_year: request.growth_per_year,
        exchange_rates: request.exchange_rates.clone(),
        options,
        break_even,
        tornado,
        growth_what_ifs,
    })
}

fn per_unit(total: Money, units: f64) -> Option<Money> {
    (units > 0.0).then(|| total.times(1.0 / units))
}

fn option_report(request: &CostRequest, named: &NamedBook, priced: &PricedOption) -> OptionReport {
    let cash = priced.cash_by_year(true);
    let cash_without_workforce = priced.cash_by_year(false);
    let discounted = discounted_by_year(&cash, request.discount_rate);
    let mut cumulative = Money::ZERO;
    let years = (0..request.years as usize)
        .map(|index| {
            cumulative += cash[index];
            YearReport {
                year: index as u32 + 1,
                cash: cash[index],
                cash_excluding_workforce: cash_without_workforce[index],
                cumulative_cash: cumulative,
                discounted_cash: discounted[index],
                depreciation: priced.depreciation_by_year[index],
            }
        })
        .collect();
    let total_cash: Money = cash.iter().copied().sum();
    let total_cash_excluding_workforce: Money = cash_without_workforce.iter().copied().sum();
    let answered_contacts: f64 = priced.answered_contacts_by_year.iter().sum();
    let agent_hours: f64 = priced.agent_hours_by_year.iter().sum();
    let breakdown: Vec<LineReport> = priced
        .lines
        .iter()
        .filter(|line| line.cash_by_year.iter().any(|m| *m != Money::ZERO))
        .map(|line: &Line| LineReport {
            label: line.label.clone(),
            kind: line.kind.clone(),
            hidden_fee: line.hidden_fee.clone(),
            source: line.source.clone(),
            cash_by_year: line.cash_by_year.clone(),
            total: line.total(),
        })
        .collect();
    OptionReport {
        name: named.book.name.clone(),
        file: named.file.clone(),
        kind: named.book.kind,
        book_currency: named.book.currency,
        illustrative: named.book.illustrative,
        years,
        total_cash,
        total_npv: discounted.iter().copied().sum(),
        total_cash_excluding_workforce,
        total_npv_excluding_workforce: net_present_value(
            &cash_without_workforce,
            request.discount_rate,
        ),
        hidden_fees_total: breakdown
            .iter()
            .filter(|line| line.hidden_fee.is_some())
            .map(|line| line.total)
            .sum(),
        answered_contacts,
        agent_hours,
        cost_per_answered_contact: per_unit(total_cash, answered_contacts),
        cost_per_answered_contact_excluding_workforce: per_unit(
            total_cash_excluding_workforce,
            answered_contacts,
        ),
        cost_per_agent_hour: per_unit(total_cash, agent_hours),
        cost_per_agent_hour_excluding_workforce: per_unit(
            total_cash_excluding_workforce,
            agent_hours,
        ),
        breakdown,
    }
}

fn break_even_pairs(options: &[OptionReport]) -> Vec<BreakEven> {
    let mut pairs = Vec::new();
    for (index, first) in options.iter().enumerate() {
        for second in &options[index + 1..] {
            let (cheaper, other) =
                if first.years[0].cumulative_cash <= second.years[0].cumulative_cash {
                    (first, second)
                } else {
                    (second, first)
                };
            let from_year = cheaper
                .years
                .iter()
                .zip(&other.years)
                .find(|(a, b)| b.cumulative_cash < a.cumulative_cash)
                .map(|(a, _)| a.year);
            pairs.push(BreakEven {
                cheaper_in_year_one: cheaper.name.clone(),
                other: other.name.clone(),
                other_cheaper_from_year: from_year,
            });
        }
    }
    pairs
}

/// Each input moved ±20 % alone, everything else held: item prices (or maintenance
/// percentages), workforce rates, usage families, the discount rate, growth and the exchange
/// rate. Inputs that move nothing are left out.
fn tornado_for(request: &CostRequest, named: &NamedBook, rate: f64, base_npv: Money) -> Tornado {
    let npv_of = |usage: &Usage, book: &PriceBook, growth: f64, rate: f64, discount: f64| {
        let cash = request.priced(usage, book, growth, rate).cash_by_year(true);
        net_present_value(&cash, discount)
    };
    let mut inputs = Vec::new();
    let mut consider = |input: String, npv_at: &dyn Fn(f64) -> Money| {
        let low = npv_at(1.0 - TORNADO_SWING);
        let high = npv_at(1.0 + TORNADO_SWING);
        let swing = if high > low { high - low } else { low - high };
        if swing != Money::ZERO {
            inputs.push(TornadoInput {
                input,
                npv_at_minus_20_percent: low,
                npv_at_plus_20_percent: high,
                swing,
            });
        }
    };
    let usage = &request.usage;
    let growth = request.growth_per_year;
    let discount = request.discount_rate;
    for (index, item) in named.book.items().enumerate() {
        let what = if matches!(
            item.kind,
            ItemKind::SoftwareMaintenance | ItemKind::HardwareMaintenance
        ) {
            "percentage"
        } else {
            "price"
        };
        consider(format!("{} of {}", what, item.display_label()), &|factor| {
            let mut book = named.book.clone();
            let changed = book.items[index].get_mut();
            if let Some(price) = changed.price.as_mut() {
                price.0 = price.0.times(factor);
            }
            if let Some(percent) = changed.percent_per_year.as_mut() {
                *percent *= factor;
            }
            npv_of(usage, &book, growth, rate, discount)
        });
    }
    for (index, workforce) in named.book.workforce.iter().enumerate() {
        consider(
            format!("workforce cost per agent-hour, {}", workforce.site),
            &|factor| {
                let mut book = named.book.clone();
                let price = &mut book.workforce[index].price_per_agent_hour.0;
                *price = price.times(factor);
                npv_of(usage, &book, growth, rate, discount)
            },
        );
    }
    for quantity in Quantity::ALL {
        consider(format!("usage: {}", quantity.label()), &|factor| {
            npv_of(
                &usage.with_quantity_scaled(*quantity, factor),
                &named.book,
                growth,
                rate,
                discount,
            )
        });
    }
    consider("discount rate".into(), &|factor| {
        npv_of(usage, &named.book, growth, rate, discount * factor)
    });
    consider("traffic growth per year".into(), &|factor| {
        npv_of(usage, &named.book, growth * factor, rate, discount)
    });
    if rate != 1.0 {
        consider(
            format!("exchange rate {}→{}", named.book.currency, request.currency),
            &|factor| npv_of(usage, &named.book, growth, rate * factor, discount),
        );
    }
    inputs.sort_by(|a, b| b.swing.cmp(&a.swing).then_with(|| a.input.cmp(&b.input)));
    Tornado {
        option: named.book.name.clone(),
        base_npv,
        inputs,
    }
}

//! Compares options: N-year cash and NPV, cost per contact and per agent-hour, break-even
//! years, a sensitivity tornado and growth what-ifs, gathered in [`CostReport`], the content of
//! `cost.json`.

pub use switchboard_results::cost::{
    BreakEven, CostReport, ExchangeRate, GrowthOutcome, GrowthWhatIf, LineReport, OptionReport,
    Tornado, TornadoInput, WorkforceBasis, WorkforceRateReport, YearReport, SCHEMA,
};

use crate::money::Money;
use crate::pricebook::{Currency, ItemKind, PriceBook, WorkforceRate};
use crate::pricing::{price_option, workforce_lines, Horizon, Line, PricedOption};
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

/// Agent-hour rates that price the labour of every option alike.
#[derive(Clone, Debug)]
pub struct CommonWorkforce {
    /// The file the rates come from (a price book's `[[workforce]]`).
    pub file: String,
    pub currency: Currency,
    pub rates: Vec<WorkforceRate>,
}

/// Whose rates price each option's labour.
///
/// Agents are paid where they sit, whichever platform they log in to: comparing a US vendor's
/// book (US wages) with a Chinese book (Chinese wages) would credit the platform with the wage
/// gap. So by default every option's labour is priced at one set of rates, and a book that
/// really changes who the agents are says why (`workforce_differs_because`) and is flagged.
#[derive(Clone, Debug)]
pub enum Workforce {
    /// The same rates for every option, except books that say why theirs differ.
    Common(CommonWorkforce),
    /// Every book's own `[[workforce]]` rates, flagged in the report as not like with like.
    EachBook,
}

impl Workforce {
    /// The default: the rates of the first book that has any (every option's labour then costs
    /// what the first option's does); each book's own when none has rates.
    pub fn of_first_book(books: &[NamedBook]) -> Workforce {
        match books.iter().find(|named| !named.book.workforce.is_empty()) {
            Some(named) => Workforce::Common(CommonWorkforce::of_book(named)),
            None => Workforce::EachBook,
        }
    }
}

impl CommonWorkforce {
    pub fn of_book(named: &NamedBook) -> CommonWorkforce {
        CommonWorkforce {
            file: named.file.clone(),
            currency: named.book.currency,
            rates: named.book.workforce.clone(),
        }
    }
}

/// The labour one option is priced with.
#[derive(Clone, Debug)]
struct Labour {
    currency: Currency,
    rates: Vec<WorkforceRate>,
    differs_because: Option<String>,
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
    pub workforce: Workforce,
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
    /// Report-currency units per unit of `from`. A rate is given in either direction:
    /// `USD_CNY=7.1` and `CNY_USD=0.1408` both convert USD and CNY, whichever the report is in;
    /// and rates chain: with `EUR_USD=1.08` and `USD_CNY=7.1` a CNY book is reported in EUR
    /// through USD (the fewest conversions, the rates taken in the order given).
    pub fn rate_to_report(&self, from: Currency) -> Result<f64, String> {
        // Breadth first from the report's currency: each currency reached is reached by the
        // fewest conversions, and `reached` keeps the report units per unit of it.
        let mut reached: Vec<(Currency, f64)> = vec![(self.currency, 1.0)];
        let mut next = 0;
        while next < reached.len() {
            let (currency, per_unit) = reached[next];
            next += 1;
            if currency == from {
                return Ok(per_unit);
            }
            for rate in &self.exchange_rates {
                // 1 rate.from = rate.rate rate.to
                let step = if rate.to == currency {
                    Some((rate.from, per_unit * rate.rate))
                } else if rate.from == currency {
                    Some((rate.to, per_unit / rate.rate))
                } else {
                    None
                };
                if let Some((other, value)) = step {
                    if !reached.iter().any(|(seen, _)| *seen == other) {
                        reached.push((other, value));
                    }
                }
            }
        }
        let to = self.currency;
        Err(format!(
            "a price book is in {from} and the report is in {to}: give --exchange-rate {from}_{to}=RATE (1 {from} = RATE {to}) or {to}_{from}=RATE (1 {to} = RATE {from})"
        ))
    }

    /// The same pair of currencies given twice is refused: two rates would leave the report's
    /// figures depending on which one a line happened to use.
    fn check_exchange_rates(&self) -> Result<(), String> {
        for (index, first) in self.exchange_rates.iter().enumerate() {
            for second in &self.exchange_rates[index + 1..] {
                let same_pair = (first.from == second.from && first.to == second.to)
                    || (first.from == second.to && first.to == second.from);
                if same_pair {
                    return Err(format!(
                        "--exchange-rate: {}_{}={} and {}_{}={} both convert {} and {}; give one",
                        first.from,
                        first.to,
                        first.rate,
                        second.from,
                        second.to,
                        second.rate,
                        first.from,
                        first.to
                    ));
                }
            }
        }
        Ok(())
    }

    fn horizon(&self, growth_per_year: f64) -> Horizon {
        Horizon {
            years: self.years,
            growth_per_year,
        }
    }

    fn labour_for(&self, book: &PriceBook) -> Labour {
        match (&self.workforce, &book.workforce_differs_because) {
            (Workforce::Common(common), None) => Labour {
                currency: common.currency,
                rates: common.rates.clone(),
                differs_because: None,
            },
            (_, differs_because) => Labour {
                currency: book.currency,
                rates: book.workforce.clone(),
                differs_because: differs_because.clone(),
            },
        }
    }

    /// The book's own items at `rate` (report units per book unit), then its labour at
    /// `labour_rate` (report units per unit of the labour's currency).
    fn priced(
        &self,
        usage: &Usage,
        book: &PriceBook,
        growth: f64,
        rate: f64,
        labour: &Labour,
        labour_rate: f64,
    ) -> PricedOption {
        let mut platform = book.clone();
        platform.workforce.clear();
        let mut priced = price_option(usage, &platform, self.horizon(growth)).converted(rate);
        let labour_lines = workforce_lines(&labour.rates, labour_rate, &priced.agent_hours_by_year);
        priced.lines.extend(labour_lines);
        priced
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
    request.check_exchange_rates()?;
    let mut options = Vec::new();
    let mut tornado = Vec::new();
    let mut warnings = Vec::new();
    for named in &request.books {
        let rate = request.rate_to_report(named.book.currency)?;
        let labour = request.labour_for(&named.book);
        let labour_rate = request.rate_to_report(labour.currency)?;
        let priced = request.priced(
            &request.usage,
            &named.book,
            request.growth_per_year,
            rate,
            &labour,
            labour_rate,
        );
        if let (Workforce::Common(_), Some(reason)) = (&request.workforce, &labour.differs_because)
        {
            warnings.push(format!(
                "{} prices its labour at its own rates, not the ones every other option shares: {reason}",
                named.book.name
            ));
        }
        let option = option_report(request, named, &priced, &labour, labour_rate);
        tornado.push(tornado_for(
            request,
            named,
            rate,
            &labour,
            labour_rate,
            option.total_npv,
        ));
        options.push(option);
    }
    if matches!(request.workforce, Workforce::EachBook) {
        let mut rates: Vec<&Vec<WorkforceRateReport>> = options
            .iter()
            .map(|option| &option.workforce_rates)
            .collect();
        rates.dedup();
        if rates.len() > 1 {
            warnings.push(
                "labour is priced at each book's own rates, which differ: the options differ by where agents are paid as well as by what the platforms charge".to_string(),
            );
        }
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
            let labour = request.labour_for(&named.book);
            let labour_rate = request.rate_to_report(labour.currency)?;
            let cash = request
                .priced(
                    &request.usage,
                    &named.book,
                    growth,
                    rate,
                    &labour,
                    labour_rate,
                )
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
        workforce_basis: match request.workforce {
            Workforce::Common(_) => WorkforceBasis::Common,
            Workforce::EachBook => WorkforceBasis::EachBook,
        },
        workforce_file: match &request.workforce {
            Workforce::Common(common) => Some(common.file.clone()),
            Workforce::EachBook => None,
        },
        warnings,
        options,
        break_even,
        tornado,
        growth_what_ifs,
    })
}

fn per_unit(total: Money, units: f64) -> Option<Money> {
    (units > 0.0).then(|| total.times(1.0 / units))
}

fn option_report(
    request: &CostRequest,
    named: &NamedBook,
    priced: &PricedOption,
    labour: &Labour,
    labour_rate: f64,
) -> OptionReport {
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
            proxy: line.proxy.clone(),
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
        workforce_rates: labour
            .rates
            .iter()
            .map(|rate| WorkforceRateReport {
                site: rate.site.clone(),
                share_of_agent_hours: rate.share_of_agent_hours,
                price_per_agent_hour: rate.price_per_agent_hour.0.times(labour_rate),
                source: rate.source.clone(),
            })
            .collect(),
        workforce_differs_because: labour.differs_because.clone(),
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
fn tornado_for(
    request: &CostRequest,
    named: &NamedBook,
    rate: f64,
    labour: &Labour,
    labour_rate: f64,
    base_npv: Money,
) -> Tornado {
    // (usage, book, labour, growth, book's exchange rate, labour's exchange rate, discount)
    let npv_of = |usage: &Usage,
                  book: &PriceBook,
                  labour: &Labour,
                  growth: f64,
                  rates: (f64, f64),
                  discount: f64| {
        let cash = request
            .priced(usage, book, growth, rates.0, labour, rates.1)
            .cash_by_year(true);
        net_present_value(&cash, discount)
    };
    let rates = (rate, labour_rate);
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
            npv_of(usage, &book, labour, growth, rates, discount)
        });
    }
    for (index, workforce) in labour.rates.iter().enumerate() {
        consider(
            format!("workforce cost per agent-hour, {}", workforce.site),
            &|factor| {
                let mut changed = labour.clone();
                let price = &mut changed.rates[index].price_per_agent_hour.0;
                *price = price.times(factor);
                npv_of(usage, &named.book, &changed, growth, rates, discount)
            },
        );
    }
    for quantity in Quantity::ALL {
        consider(format!("usage: {}", quantity.label()), &|factor| {
            npv_of(
                &usage.with_quantity_scaled(*quantity, factor),
                &named.book,
                labour,
                growth,
                rates,
                discount,
            )
        });
    }
    consider("discount rate".into(), &|factor| {
        npv_of(usage, &named.book, labour, growth, rates, discount * factor)
    });
    consider("traffic growth per year".into(), &|factor| {
        npv_of(usage, &named.book, labour, growth * factor, rates, discount)
    });
    // An exchange rate moves every amount in the currency it converts: the book's items, and
    // its labour when that is in the same currency.
    let book_currency = named.book.currency;
    if book_currency != request.currency {
        consider(
            format!("exchange rate {book_currency}→{}", request.currency),
            &|factor| {
                let labour_factor = if labour.currency == book_currency {
                    factor
                } else {
                    1.0
                };
                let moved = (rate * factor, labour_rate * labour_factor);
                npv_of(usage, &named.book, labour, growth, moved, discount)
            },
        );
    }
    if labour.currency != request.currency && labour.currency != book_currency {
        consider(
            format!(
                "exchange rate {}→{} (labour)",
                labour.currency, request.currency
            ),
            &|factor| {
                let moved = (rate, labour_rate * factor);
                npv_of(usage, &named.book, labour, growth, moved, discount)
            },
        );
    }
    inputs.sort_by(|a, b| b.swing.cmp(&a.swing).then_with(|| a.input.cmp(&b.input)));
    Tornado {
        option: named.book.name.clone(),
        base_npv,
        inputs,
    }
}

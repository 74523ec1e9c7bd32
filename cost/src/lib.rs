//! # switchboard-cost
//!
//! What a contact center costs under each way of running it: SaaS seats, concurrent seats,
//! per-minute clouds, active-hour plans, China seat rent, private builds on FreeSWITCH or on
//! commercial licenses, and hybrids of the two. It takes a year of [`Usage`] (day types ×
//! their counts, usage per interval) and a set of [`PriceBook`]s, and produces the N-year
//! cash and net present value of each option, cost per contact and per agent-hour, break-even
//! years, a breakdown that shows the fees nobody lists on the pricing page, a ±20 %
//! sensitivity tornado and growth what-ifs ([`CostReport`], written as `cost.json`), plus a
//! plain-text table (the HTML section a report embeds is drawn by `switchboard-reports`).
//!
//! What pricing never does: simulate, guess traffic, staffing or prices. It prices the usage
//! it is given: a usage file, or a simulated day that the [`simulated`] module (the one part
//! that calls the simulator) turns into the same [`Usage`] — from a fresh run of a scenario or
//! from a results folder. Money is whole millionths of a currency unit in an `i64`
//! ([`Money`]), never a running `f64` sum.

mod money;
pub mod pricebook;
pub mod pricing;
pub mod report;
pub mod simulated;
pub mod source_error;
pub mod text;
pub mod usage;

pub use money::{Money, Price, MICROS_PER_UNIT};
pub use pricebook::{bundled_price_books, Currency, ItemKind, PriceBook};
pub use pricing::{price_option, Horizon, Line, PricedOption};
pub use report::{compare, CostReport, CostRequest, ExchangeRate, NamedBook};
pub use source_error::SourceError;
pub use usage::{DayUsage, IntervalUsage, Usage};

//! Money as whole millionths of a currency unit in an `i64`.
//!
//! Per-minute prices are fractions of a cent (USD 0.038 per minute), so cents or fen are too
//! coarse to hold a price; millionths hold every bundled price exactly. Each priced line is
//! rounded once to the millionth when a price meets a quantity, and from there on amounts are
//! added as integers, so totals do not drift the way repeated `f64` sums do. An `i64` of
//! millionths reaches 9.2 trillion currency units, far beyond any contact center's budget.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Millionths of a currency unit per unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An amount of money in millionths of the currency unit of whatever book or report holds it.
///
/// ```
/// use switchboard_cost::Money;
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
            if index > 0 && (whole.len() - index) % 3 == 0 {
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

/// A price as written in a price book: a number of currency units, never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Price(pub Money);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let units = f64::deserialize(deserializer)?;
        if !units.is_finite() || units < 0.0 {
            return Err(serde::de::Error::custom(format!(
                "expected a price of zero or more currency units, found {units}"
            )));
        }
        Ok(Price(Money::from_units(units)))
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0.as_units())
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

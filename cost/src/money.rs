//! Prices as price books write them. Amounts are [`Money`], whole millionths of a currency unit
//! (defined with `cost.json` in `switchboard-results`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use switchboard_results::cost::{Money, MICROS_PER_UNIT};

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

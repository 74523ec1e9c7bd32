//! Staffing targets and the way people write them: `80/20`, `5%`, `0.05`, `30s`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use switchboard_engine::units::DurationMs;
use switchboard_results::staffing::QueueTargets;

use crate::PlanError;

/// A fraction in [0, 1], written as `"5%"`, `"0.05"` or `"85%"`.
///
/// ```
/// use switchboard_plan::targets::Fraction;
/// assert_eq!("5%".parse::<Fraction>().unwrap().0, 0.05);
/// assert_eq!("0.3".parse::<Fraction>().unwrap().0, 0.3);
/// assert!("130%".parse::<Fraction>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fraction(pub f64);

impl FromStr for Fraction {
    type Err = PlanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || {
            PlanError::new(format!(
                "expected a fraction such as \"5%\" or \"0.05\" (between 0 and 1), found {text:?}"
            ))
        };
        let trimmed = text.trim();
        let value = match trimmed.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map_err(|_| error())? / 100.0,
            None => trimmed.parse::<f64>().map_err(|_| error())?,
        };
        if !(0.0..=1.0).contains(&value) {
            return Err(error());
        }
        Ok(Fraction(value))
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// "X % of contacts answered within Y seconds", written `"80/20"` (80 % within 20 s),
/// `"80%/20s"`, `"0.8/20s"` or `"90/1m"`.
///
/// ```
/// use switchboard_plan::targets::ServiceLevelTarget;
/// let target: ServiceLevelTarget = "80/20".parse().unwrap();
/// assert_eq!((target.fraction, target.within_s), (0.8, 20.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ServiceLevelTarget {
    /// Fraction of contacts, in (0, 1).
    pub fraction: f64,
    /// The threshold in seconds.
    pub within_s: f64,
}

impl ServiceLevelTarget {
    /// The threshold as the simulator counts it, to the millisecond.
    pub fn threshold(&self) -> DurationMs {
        DurationMs((self.within_s * 1_000.0).round() as u64)
    }
}

impl FromStr for ServiceLevelTarget {
    type Err = PlanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || {
            PlanError::new(format!(
                "expected a service level such as \"80/20\" (80 % within 20 s), \"80%/20s\" or \
                 \"0.9/1m\", found {text:?}"
            ))
        };
        let (fraction_text, within_text) = text.trim().split_once('/').ok_or_else(error)?;
        let fraction_text = fraction_text.trim();
        // "80" means 80 %; "0.8" and "80%" say it outright.
        let fraction = match fraction_text.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map_err(|_| error())? / 100.0,
            None => {
                let number = fraction_text.parse::<f64>().map_err(|_| error())?;
                if number > 1.0 {
                    number / 100.0
                } else {
                    number
                }
            }
        };
        let within_text = within_text.trim();
        let within_s = match within_text.parse::<f64>() {
            Ok(seconds) => seconds,
            Err(_) => within_text
                .parse::<DurationMs>()
                .map_err(|_| error())?
                .as_s_f64(),
        };
        if !(fraction > 0.0 && fraction < 1.0 && within_s >= 0.0 && within_s.is_finite()) {
            return Err(PlanError::new(format!(
                "a service level needs a fraction strictly between 0 and 100 % (no finite staff \
                 answers everyone within a threshold) and a threshold of 0 s or more, found {text:?}"
            )));
        }
        Ok(ServiceLevelTarget { fraction, within_s })
    }
}

/// Which contacts the service level is counted over. Both are in use; reports must say which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceLevelDefinition {
    /// Answered within the threshold / offered: an abandoned contact is a miss.
    #[default]
    Offered,
    /// Answered within the threshold / answered: abandoned contacts are left out.
    Answered,
}

impl FromStr for ServiceLevelDefinition {
    type Err = PlanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "offered" => Ok(ServiceLevelDefinition::Offered),
            "answered" => Ok(ServiceLevelDefinition::Answered),
            _ => Err(PlanError::new(format!(
                "expected a service-level definition \"offered\" or \"answered\", found {text:?}"
            ))),
        }
    }
}

/// What a staffing must achieve; every target given must hold at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Targets {
    /// Service level, e.g. 80 % within 20 s.
    pub service_level: Option<ServiceLevelTarget>,
    /// Which contacts the service level counts (matters only with abandonment).
    pub service_level_definition: ServiceLevelDefinition,
    /// Highest acceptable average speed of answer, in seconds.
    pub max_asa_s: Option<f64>,
    /// Highest acceptable share of contacts abandoning.
    pub max_abandon: Option<f64>,
    /// Highest acceptable agent occupancy.
    pub max_occupancy: Option<f64>,
}

impl Targets {
    /// The targets as a plan's or a sweep's files record them for one queue.
    pub fn recorded(&self) -> QueueTargets {
        QueueTargets {
            service_level: self.service_level.map(|target| target.fraction),
            service_level_threshold_s: self.service_level.map(|target| target.within_s),
            max_asa_s: self.max_asa_s,
            max_abandon: self.max_abandon,
            max_occupancy: self.max_occupancy,
        }
    }

    /// The targets a queue's record names, as the verdicts take them. The record keeps no
    /// definition: the simulator counts it, and the verdicts read the limits only.
    pub fn from_recorded(recorded: &QueueTargets) -> Targets {
        Targets {
            service_level: recorded
                .service_level
                .zip(recorded.service_level_threshold_s)
                .map(|(fraction, within_s)| ServiceLevelTarget { fraction, within_s }),
            service_level_definition: ServiceLevelDefinition::Offered,
            max_asa_s: recorded.max_asa_s,
            max_abandon: recorded.max_abandon,
            max_occupancy: recorded.max_occupancy,
        }
    }

    /// True when no target is set.
    pub fn is_empty(&self) -> bool {
        self.service_level.is_none()
            && self.max_asa_s.is_none()
            && self.max_abandon.is_none()
            && self.max_occupancy.is_none()
    }

    /// Checks that every target can be met by some finite staff.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.is_empty() {
            return Err(PlanError::new(
                "no target given: set a service level (--sl 80/20), --asa, --max-abandon or \
                 --max-occupancy",
            ));
        }
        if let Some(asa_s) = self.max_asa_s {
            if !(asa_s > 0.0 && asa_s.is_finite()) {
                return Err(PlanError::new(format!(
                    "a maximum average speed of answer must be above 0 s, found {asa_s} s"
                )));
            }
        }
        if let Some(abandon) = self.max_abandon {
            if abandon <= 0.0 {
                return Err(PlanError::new(
                    "a maximum abandonment must be above 0 %: some contact always runs out of \
                     patience",
                ));
            }
        }
        if let Some(occupancy) = self.max_occupancy {
            if occupancy <= 0.0 {
                return Err(PlanError::new("a maximum occupancy must be above 0 %"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_levels_parse_in_every_written_form() {
        for (text, fraction, within_s) in [
            ("80/20", 0.8, 20.0),
            ("80%/20s", 0.8, 20.0),
            ("0.9/1m", 0.9, 60.0),
            (" 95 / 30s ", 0.95, 30.0),
        ] {
            let target: ServiceLevelTarget = text.parse().unwrap();
            assert!((target.fraction - fraction).abs() < 1e-15, "{text}");
            assert_eq!(target.within_s, within_s, "{text}");
        }
        for text in ["80", "100/20", "80/soon", "/20", "0/20"] {
            let error = text.parse::<ServiceLevelTarget>().unwrap_err();
            assert!(
                error.to_string().contains("service level"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn fractions_take_percent_or_decimal() {
        assert_eq!("85%".parse::<Fraction>().unwrap().0, 0.85);
        assert_eq!("0.05".parse::<Fraction>().unwrap().0, 0.05);
        for text in ["-1%", "1.5", "lots"] {
            assert!(text.parse::<Fraction>().is_err(), "{text}");
        }
    }
}

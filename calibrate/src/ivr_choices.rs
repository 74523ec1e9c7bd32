//! IVR choice probabilities: per menu (or callback offer) node, the share of visits in which
//! the caller pressed each key, as the simulator's `choices` table has them (node → key →
//! probability; the rest press nothing).
//!
//! A visit counts once its prompt has played (the CDR's `ivr_choices` column holds exactly
//! those, `docs/cdr.md`): the simulator draws the caller's key when the prompt ends, so a
//! caller who hung up during the prompt was never asked, and leaving those visits out loses
//! nothing but their number.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::records::ContactRecord;
use crate::retrial::wilson_interval;

/// One key of one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyShare {
    pub key: String,
    pub visits: u64,
    /// `visits / node visits`, with its Wilson 95 % interval.
    pub probability: f64,
    pub probability_ci95: [f64; 2],
}

/// One node's visits and the share of each key pressed in them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeChoices {
    pub node: String,
    /// Visits whose prompt had played.
    pub visits: u64,
    /// Keys in key order.
    pub keys: Vec<KeyShare>,
    /// Visits in which nothing was pressed.
    pub no_key: u64,
}

/// The choices made by `contacts` (one stream's), per node in name order; empty when no
/// contact met a menu (or the source does not record choices).
pub fn fit_ivr_choices(contacts: &[&ContactRecord]) -> Vec<NodeChoices> {
    let mut nodes: BTreeMap<&str, (u64, BTreeMap<&str, u64>)> = BTreeMap::new();
    for contact in contacts {
        for (node, key) in &contact.menu_choices {
            let (visits, keys) = nodes.entry(node).or_default();
            *visits += 1;
            if let Some(key) = key {
                *keys.entry(key).or_default() += 1;
            }
        }
    }
    nodes
        .into_iter()
        .map(|(node, (visits, keys))| {
            let pressed: u64 = keys.values().sum();
            NodeChoices {
                node: node.to_string(),
                visits,
                no_key: visits - pressed,
                keys: keys
                    .into_iter()
                    .map(|(key, count)| KeyShare {
                        key: key.to_string(),
                        visits: count,
                        probability: count as f64 / visits as f64,
                        probability_ci95: wilson_interval(count, visits),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_engine::Outcome;

    fn contact(choices: &[(&str, Option<&str>)]) -> ContactRecord {
        ContactRecord {
            arrived_unix_ms: 0,
            entry_point: "service".into(),
            queue: None,
            agent: None,
            caller: None,
            outcome: Outcome::SelfServed,
            answered_unix_ms: None,
            ended_unix_ms: 10_000,
            talk_ms: 0,
            menu_choices: choices
                .iter()
                .map(|(node, key)| (node.to_string(), key.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn each_visit_counts_once_with_its_key_or_none() {
        let contacts = [
            contact(&[("main", Some("1"))]),
            contact(&[("main", None), ("main", Some("2"))]),
            contact(&[("main", Some("1")), ("offer", None)]),
            contact(&[]),
        ];
        let references: Vec<&ContactRecord> = contacts.iter().collect();
        let fit = fit_ivr_choices(&references);
        assert_eq!(fit.len(), 2);
        let main = &fit[0];
        assert_eq!(
            (main.node.as_str(), main.visits, main.no_key),
            ("main", 4, 1)
        );
        assert_eq!(main.keys.len(), 2);
        assert_eq!((main.keys[0].key.as_str(), main.keys[0].visits), ("1", 2));
        assert_eq!(main.keys[0].probability, 0.5);
        assert_eq!(main.keys[1].probability, 0.25);
        let [low, high] = main.keys[0].probability_ci95;
        assert!(low < 0.5 && 0.5 < high);
        assert_eq!((fit[1].visits, fit[1].no_key, fit[1].keys.len()), (1, 1, 0));
    }
}

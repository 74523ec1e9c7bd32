//! Keys the caller presses, gathered into the engine's `Digits` input. RFC 4733 events (and
//! most INFO requests) carry one key each, but a `collect` node takes its entry whole: while
//! the caller is in one, keys are kept until the entry has the node's `max_digits` or the
//! caller presses `#`, which ends a shorter entry and is not part of it. A menu or a callback
//! offer takes the first key as it comes. Kept keys are never logged: a secure node's are a
//! card or an ID number.

use switchboard_engine::config::IvrNodeConfig;
use switchboard_engine::{ContactId, EventKind, Input};

use super::Switch;

/// The entry a `collect` node is taking.
#[derive(Clone, Debug, Default)]
pub(super) struct DigitEntry {
    max_digits: usize,
    keyed: String,
}

impl Switch {
    /// The engine event's consequences for the keys kept: a `collect` node starts an entry,
    /// any other node or a queue ends it (keys kept then are dropped, as the engine's timeout
    /// would).
    pub(super) fn keys_on_event(&mut self, kind: &EventKind) {
        let (contact, entry) = match kind {
            EventKind::IvrNodeEntered {
                contact,
                flow,
                node,
            } => {
                let entry = match self.center.ivr_node(*flow, *node) {
                    IvrNodeConfig::Collect { max_digits, .. } => Some(DigitEntry {
                        max_digits: (*max_digits).max(1) as usize,
                        keyed: String::new(),
                    }),
                    _ => None,
                };
                (*contact, entry)
            }
            EventKind::ContactQueued { contact, .. } => (*contact, None),
            _ => return,
        };
        if let Some(call) = self.calls.get_mut(&contact) {
            call.digit_entry = entry;
        }
    }

    /// The caller pressed `keys` (one RFC 4733 event, or an INFO's digits).
    pub(super) fn caller_keyed(&mut self, contact: ContactId, keys: &str) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let in_collect = call.digit_entry.is_some();
        let digits = match call.digit_entry.as_mut() {
            None => keys.to_string(),
            Some(entry) => {
                let mut complete = false;
                for key in keys.chars() {
                    if key == '#' {
                        complete = true;
                        break;
                    }
                    entry.keyed.push(key);
                    if entry.keyed.len() >= entry.max_digits {
                        complete = true;
                        break;
                    }
                }
                if !complete {
                    return;
                }
                let digits = std::mem::take(&mut entry.keyed);
                call.digit_entry = None;
                if digits.is_empty() {
                    return; // `#` alone: the node waits on, or times out
                }
                digits
            }
        };
        let key = digits.clone();
        match self
            .center
            .handle(self.now_ms, Input::Digits { contact, digits })
        {
            // The CDR keeps a menu's key (before the events it caused end the menu's visit);
            // a collect node's entry is never kept.
            Ok(()) if !in_collect => {
                if let Some(call) = self.calls.get_mut(&contact) {
                    call.record.menu_key(&key);
                }
            }
            Ok(()) => {}
            Err(error) => tracing::debug!(%error, contact = contact.0, "keys ignored"),
        }
        self.drain_engine();
    }
}

//! Reads Asterisk's `queue_log` (app_queue's per-call trace, `/var/log/asterisk/queue_log`):
//! lines `time|callid|queue|agent|event|data1|data2|...`, time in Unix seconds. A contact is an
//! `ENTERQUEUE` and the event that ends it; `docs/calibration.md` lists how each event is read.

use std::collections::BTreeMap;

use switchboard_engine::Outcome;

use crate::records::ContactRecord;
use crate::CalibrationError;

/// A contact whose ending has not been read yet.
struct OpenContact {
    record: ContactRecord,
    line: usize,
}

/// Every contact of a `queue_log` text, in the order they entered their queue. Contacts that
/// entered but never ended (the log stops mid-call) are left out. `file` names the file in
/// error messages.
pub fn read_queue_log(text: &str, file: &str) -> Result<Vec<ContactRecord>, CalibrationError> {
    let mut open: BTreeMap<String, OpenContact> = BTreeMap::new();
    let mut finished: Vec<(usize, ContactRecord)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        let column_of = |field: usize| -> usize {
            fields[..field.min(fields.len())]
                .iter()
                .map(|text| text.chars().count() + 1)
                .sum::<usize>()
                + 1
        };
        let fail = |field: usize, message: String| {
            CalibrationError::new(format!(
                "{file}:{line_number}:{}: {message}",
                column_of(field)
            ))
        };
        if fields.len() < 5 {
            return Err(fail(
                fields.len(),
                format!(
                    "expected at least 5 fields time|callid|queue|agent|event, found {}",
                    fields.len()
                ),
            ));
        }
        let time_s: f64 = fields[0]
            .trim()
            .parse()
            .ok()
            .filter(|time: &f64| time.is_finite() && *time >= 0.0)
            .ok_or_else(|| {
                fail(
                    0,
                    format!("expected a Unix time in seconds, found {:?}", fields[0]),
                )
            })?;
        let time_ms = (time_s * 1000.0).round() as i64;
        let call_id = fields[1];
        let queue = fields[2];
        let agent = fields[3];
        let event = fields[4];
        let data = |position: usize| fields.get(5 + position).copied().unwrap_or("");
        let seconds = |position: usize, what: &str| -> Result<i64, CalibrationError> {
            let text = data(position).trim();
            text.parse::<f64>()
                .ok()
                .filter(|value| value.is_finite() && *value >= 0.0)
                .map(|value| (value * 1000.0).round() as i64)
                .ok_or_else(|| {
                    fail(
                        5 + position,
                        format!("{event}: expected the {what} in seconds, found {text:?}"),
                    )
                })
        };
        match event {
            "ENTERQUEUE" => {
                let caller = data(1).trim();
                let known_caller = !caller.is_empty()
                    && !["anonymous", "unknown", "restricted"]
                        .contains(&caller.to_ascii_lowercase().as_str());
                open.insert(
                    call_id.to_string(),
                    OpenContact {
                        record: ContactRecord {
                            arrived_unix_ms: time_ms,
                            entry_point: queue.to_string(),
                            queue: Some(queue.to_string()),
                            agent: None,
                            caller: known_caller.then(|| caller.to_string()),
                            outcome: Outcome::Dropped,
                            answered_unix_ms: None,
                            ended_unix_ms: time_ms,
                            talk_ms: 0,
                            // app_queue does not see the IVR.
                            menu_choices: Vec::new(),
                        },
                        line: line_number,
                    },
                );
            }
            "CONNECT" => {
                let hold_ms = seconds(0, "hold time")?;
                if let Some(contact) = open.get_mut(call_id) {
                    // The hold time is exact where the clock of ENTERQUEUE was coarse.
                    contact.record.answered_unix_ms =
                        Some(contact.record.arrived_unix_ms + hold_ms);
                    contact.record.agent = Some(agent.to_string());
                }
            }
            "COMPLETECALLER" | "COMPLETEAGENT" | "TRANSFER" => {
                // TRANSFER(extension|context|holdtime|calltime|origposition): the agent
                // passed the call on after talking; the talk is still a handle time.
                let (hold_at, talk_at) = if event == "TRANSFER" { (2, 3) } else { (0, 1) };
                let hold_ms = seconds(hold_at, "hold time")?;
                let talk_ms = seconds(talk_at, "call time")?;
                if let Some(mut contact) = open.remove(call_id) {
                    let answered = contact.record.arrived_unix_ms + hold_ms.max(0);
                    contact.record.answered_unix_ms = Some(answered);
                    contact
                        .record
                        .agent
                        .get_or_insert_with(|| agent.to_string());
                    contact.record.talk_ms = talk_ms;
                    contact.record.ended_unix_ms = answered + talk_ms;
                    contact.record.outcome = Outcome::Completed;
                    finished.push((contact.line, contact.record));
                }
            }
            "ABANDON" | "EXITWITHTIMEOUT" | "EXITEMPTY" | "EXITWITHKEY" => {
                // ABANDON, EXITWITHTIMEOUT, EXITEMPTY: (position|origposition|waittime);
                // EXITWITHKEY: (key|position|origposition|waittime). Old Asterisk versions
                // write no wait time; the event's own time stands in.
                let wait_at = if event == "EXITWITHKEY" { 3 } else { 2 };
                let wait_ms = if data(wait_at).trim().is_empty() {
                    None
                } else {
                    Some(seconds(wait_at, "wait time")?)
                };
                if let Some(mut contact) = open.remove(call_id) {
                    contact.record.ended_unix_ms =
                        wait_ms.map_or(time_ms, |wait| contact.record.arrived_unix_ms + wait);
                    contact.record.outcome = match event {
                        "ABANDON" => Outcome::Abandoned,
                        "EXITWITHTIMEOUT" => Outcome::TimedOut,
                        "EXITEMPTY" => Outcome::Blocked,
                        _ => Outcome::Transferred,
                    };
                    finished.push((contact.line, contact.record));
                }
            }
            // Agent and queue events (AGENTLOGIN, ADDMEMBER, PAUSE, RINGNOANSWER,
            // CONFIGRELOAD, QUEUESTART, ...) say nothing about customers.
            _ => {}
        }
    }
    finished.sort_by_key(|(line, record)| (record.arrived_unix_ms, *line));
    Ok(finished.into_iter().map(|(_, record)| record).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
1762300800|1762300800.1|support|NONE|ENTERQUEUE||13800138000|1
1762300812|1762300800.1|support|SIP/agent-7|CONNECT|12|1762300812.9|3
1762300992|1762300800.1|support|SIP/agent-7|COMPLETECALLER|12|180|1
1762300900|1762300900.2|support|NONE|ENTERQUEUE||13900139000|1
1762300945|1762300900.2|support|NONE|ABANDON|1|1|45
1762300950|1762300950.3|support|NONE|ENTERQUEUE||anonymous|1
1762300950|NONE|support|SIP/agent-7|PAUSE|lunch
";

    #[test]
    fn a_completed_call_an_abandon_and_an_unfinished_entry() {
        let records = read_queue_log(LOG, "queue_log").unwrap();
        assert_eq!(records.len(), 2, "the unfinished third call is left out");
        let answered = &records[0];
        assert_eq!(answered.outcome, Outcome::Completed);
        assert_eq!(answered.talk_ms, 180_000);
        assert_eq!(answered.patience_observation_ms(), (12_000, false));
        assert_eq!(answered.caller.as_deref(), Some("13800138000"));
        assert_eq!(answered.agent.as_deref(), Some("SIP/agent-7"));
        let abandoned = &records[1];
        assert_eq!(abandoned.outcome, Outcome::Abandoned);
        assert_eq!(abandoned.patience_observation_ms(), (45_000, true));
    }

    #[test]
    fn a_bad_time_is_placed_at_its_line_and_column() {
        let error = read_queue_log(
            "1762300800|a|q|NONE|ENTERQUEUE||1|1\nsoon|a|q|NONE|ABANDON|1|1|4\n",
            "queue_log",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("queue_log:2:1: expected a Unix time"),
            "{error}"
        );
        let error = read_queue_log("1762300800|a|q|NONE|CONNECT|x\n", "queue_log")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("queue_log:1:29: CONNECT: expected the hold time"),
            "{error}"
        );
    }
}

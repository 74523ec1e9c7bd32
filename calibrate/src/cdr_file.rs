//! Reads the CDR database `switchboard serve` writes (`docs/cdr.md`): the `cdr` table, one row
//! per accepted INVITE.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::records::{outcome_from_name, ContactRecord};
use crate::CalibrationError;

/// Every row of the `cdr` table, in arrival order. The database is opened read-only, so a
/// running `serve` is not disturbed (SQLite's WAL lets it go on writing).
pub fn read_cdr_database(path: &Path) -> Result<Vec<ContactRecord>, CalibrationError> {
    let file = path.display().to_string();
    let fail = |message: String| CalibrationError::new(format!("{file}: {message}"));
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| fail(format!("cannot open the database: {error}")))?;
    let columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('cdr')")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|error| fail(format!("cannot read the table list: {error}")))?;
    if columns.is_empty() {
        return Err(fail(
            "no table `cdr`: expected the database `switchboard serve` writes (docs/cdr.md)".into(),
        ));
    }
    for required in [
        "id",
        "entry_point",
        "queue",
        "agent",
        "arrived_unix_ms",
        "answered_unix_ms",
        "ended_unix_ms",
        "outcome",
        "talk_ms",
    ] {
        if !columns.iter().any(|column| column == required) {
            return Err(fail(format!(
                "the table `cdr` has no column `{required}` (docs/cdr.md lists the columns)"
            )));
        }
    }
    // A caller column is read where the database has one; without it retrials cannot be told
    // from first attempts.
    let caller = if columns.iter().any(|column| column == "caller") {
        "caller"
    } else {
        "NULL"
    };
    // A database written before `serve` recorded IVR choices has no such column: its contacts
    // give no choices (the calibration says so), and nothing else changes.
    let ivr_choices = if columns.iter().any(|column| column == "ivr_choices") {
        "ivr_choices"
    } else {
        "NULL"
    };
    // Outbound calls (click-to-dial) are no demand on the center: only inbound rows count,
    // callbacks among them (each arrived as a call and asked to be called back).
    let inbound = if columns.iter().any(|column| column == "direction") {
        "WHERE direction IN ('inbound', 'callback')"
    } else {
        ""
    };
    let mut statement = connection
        .prepare(&format!(
            "SELECT id, entry_point, queue, agent, {caller}, arrived_unix_ms, answered_unix_ms,
                    ended_unix_ms, outcome, talk_ms, {ivr_choices}
             FROM cdr {inbound} ORDER BY arrived_unix_ms, id"
        ))
        .map_err(|error| fail(format!("cannot query the table `cdr`: {error}")))?;
    let mut rows = statement
        .query([])
        .map_err(|error| fail(format!("cannot query the table `cdr`: {error}")))?;
    let mut records = Vec::new();
    while let Some(row) = rows
        .next()
        .map_err(|error| fail(format!("cannot read a row: {error}")))?
    {
        let id: i64 = row.get(0).map_err(|error| fail(error.to_string()))?;
        let at_row = |error: rusqlite::Error| fail(format!("row id {id}: {error}"));
        let outcome_text: String = row.get(8).map_err(at_row)?;
        let outcome = outcome_from_name(&outcome_text).ok_or_else(|| {
            fail(format!(
                "row id {id}: unknown outcome {outcome_text:?}: expected completed, abandoned, \
                 blocked, timed-out, self-served, transferred or dropped"
            ))
        })?;
        let record = ContactRecord {
            entry_point: row.get(1).map_err(at_row)?,
            queue: row.get(2).map_err(at_row)?,
            agent: row.get(3).map_err(at_row)?,
            caller: row.get(4).map_err(at_row)?,
            arrived_unix_ms: row.get(5).map_err(at_row)?,
            answered_unix_ms: row.get(6).map_err(at_row)?,
            ended_unix_ms: row.get(7).map_err(at_row)?,
            outcome,
            talk_ms: row.get(9).map_err(at_row)?,
            menu_choices: match row.get::<_, Option<String>>(10).map_err(at_row)? {
                None => Vec::new(),
                Some(text) => serde_json::from_str(&text).map_err(|error| {
                    fail(format!(
                        "row id {id}: column `ivr_choices`: {error} in {text:?}: expected a JSON \
                         array of [node, key] pairs, key a string or null \
                         ([[\"main-menu\", \"2\"]])"
                    ))
                })?,
            },
        };
        if record.ended_unix_ms < record.arrived_unix_ms {
            return Err(fail(format!(
                "row id {id}: ended_unix_ms {} is before arrived_unix_ms {}",
                record.ended_unix_ms, record.arrived_unix_ms
            )));
        }
        records.push(record);
    }
    Ok(records)
}

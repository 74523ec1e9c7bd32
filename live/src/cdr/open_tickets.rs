//! Open e-mail/ticket contacts on disk, so that they outlive a stop of `serve` (a SIGTERM or a
//! `kill -9`): the table `open_ticket` of the data folder's SQLite database, beside the CDRs.
//!
//! A ticket's row is written when the ticket is created and again when an agent replies to
//! it, and it goes in the same transaction as the ticket's CDR row when it ends; both go
//! through the CDR writer's one thread and connection (the parent module), so a row is never
//! written after its ticket's end, and a ticket never has both an open row and a CDR row. On
//! start, [`read_open_tickets`] reads them back and the switch puts them in their queues again
//! (`Switch::restore_tickets`). What this module never does: write from the switch's task, or
//! skip a row it cannot read (the error names it and nothing is deleted). The table is
//! documented in `docs/cdr.md`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TranscriptLine;

/// The table of open tickets, made with the CDR tables when the database is opened.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS open_ticket (
    contact_id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    customer TEXT,
    subject TEXT NOT NULL,
    attributes TEXT NOT NULL,
    transcript TEXT NOT NULL,
    arrived_unix_ms INTEGER NOT NULL,
    due_unix_ms INTEGER,
    first_reply_unix_ms INTEGER
);";

/// One open ticket as its row keeps it: what a restart needs to offer it again as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTicket {
    /// The engine's contact id, kept across restarts (the CDR's `contact_id` when it ends).
    pub contact_id: u64,
    /// The queue it waits or is worked in; a restart puts it back there.
    pub queue: String,
    /// Who wrote, in clear as the offer shows it to the agent; none when not given.
    pub customer: Option<String>,
    /// Masked, as the CDR keeps it.
    pub subject: String,
    /// The attributes given at creation, in their order (not `entry_point` or `customer`).
    pub attributes: Vec<(String, String)>,
    /// The body (line 0) and every reply so far, masked.
    pub transcript: Vec<TranscriptLine>,
    pub arrived_unix_ms: i64,
    pub due_unix_ms: Option<i64>,
    pub first_reply_unix_ms: Option<i64>,
}

/// A transcript line as the `transcript` column's JSON holds it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredLine {
    sequence: u32,
    from: String,
    sent_unix_ms: i64,
    text: String,
}

/// The senders a transcript line may name (`TranscriptLine::from`).
const SENDERS: [&str; 3] = ["customer", "agent", "bot"];

/// Write (or rewrite) the ticket's row inside the caller's transaction.
pub(crate) fn upsert(
    transaction: &rusqlite::Transaction<'_>,
    ticket: &OpenTicket,
) -> rusqlite::Result<()> {
    let attributes: Vec<[&str; 2]> = ticket
        .attributes
        .iter()
        .map(|(key, value)| [key.as_str(), value.as_str()])
        .collect();
    let transcript: Vec<StoredLine> = ticket
        .transcript
        .iter()
        .map(|line| StoredLine {
            sequence: line.sequence,
            from: line.from.to_string(),
            sent_unix_ms: line.sent_unix_ms,
            text: line.text.clone(),
        })
        .collect();
    let mut statement = transaction.prepare_cached(
        "INSERT OR REPLACE INTO open_ticket (contact_id, queue, customer, subject, attributes,
         transcript, arrived_unix_ms, due_unix_ms, first_reply_unix_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    statement.execute(rusqlite::params![
        ticket.contact_id as i64,
        ticket.queue,
        ticket.customer,
        ticket.subject,
        serde_json::to_string(&attributes).expect("strings serialise"),
        serde_json::to_string(&transcript).expect("strings serialise"),
        ticket.arrived_unix_ms,
        ticket.due_unix_ms,
        ticket.first_reply_unix_ms,
    ])?;
    Ok(())
}

/// The ticket ended: its row goes, inside the transaction that writes its CDR row.
pub(crate) fn remove(
    transaction: &rusqlite::Transaction<'_>,
    contact_id: u64,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached("DELETE FROM open_ticket WHERE contact_id = ?1")?
        .execute([contact_id as i64])?;
    Ok(())
}

/// Every open ticket of the database at `path`, by contact id. A database without the table
/// has none. A row that cannot be read is an error naming its contact id, its column and what
/// was expected; nothing is changed in the database either way.
pub fn read_open_tickets(path: &Path) -> Result<Vec<OpenTicket>, String> {
    let connection = rusqlite::Connection::open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let table_exists: bool = connection
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'open_ticket'",
            [],
            |row| row.get(0),
        )
        .map_err(|error| format!("{}: {error}", path.display()))?;
    if !table_exists {
        return Ok(Vec::new());
    }
    let mut statement = connection
        .prepare(
            "SELECT contact_id, queue, customer, subject, attributes, transcript,
             arrived_unix_ms, due_unix_ms, first_reply_unix_ms
             FROM open_ticket ORDER BY contact_id",
        )
        .map_err(|error| format!("{}: table open_ticket: {error}", path.display()))?;
    let mut rows = statement
        .query([])
        .map_err(|error| format!("{}: table open_ticket: {error}", path.display()))?;
    let mut tickets = Vec::new();
    let mut row_number = 0usize;
    loop {
        let row = rows.next().map_err(|error| {
            format!(
                "{}: table open_ticket, after row {row_number}: {error}",
                path.display()
            )
        })?;
        let Some(row) = row else {
            break;
        };
        row_number += 1;
        tickets.push(read_row(row).map_err(|problem| {
            format!(
                "{}: table open_ticket, row {row_number}{problem}",
                path.display()
            )
        })?);
    }
    Ok(tickets)
}

/// One row, or what is wrong with it (starting with the row's contact id when it has one).
fn read_row(row: &rusqlite::Row<'_>) -> Result<OpenTicket, String> {
    let contact_id: i64 = row
        .get("contact_id")
        .map_err(|error| format!(": column `contact_id`: {error}"))?;
    let named = |column: &str, what: String| {
        format!(" (contact_id {contact_id}): column `{column}`: {what}")
    };
    let column = |name: &str| -> Result<rusqlite::types::Value, String> {
        row.get(name)
            .map_err(|error| named(name, error.to_string()))
    };
    let text = |name: &str| match column(name)? {
        rusqlite::types::Value::Text(text) => Ok(text),
        other => Err(named(name, format!("expected text, found {other:?}"))),
    };
    let optional_text = |name: &str| match column(name)? {
        rusqlite::types::Value::Null => Ok(None),
        rusqlite::types::Value::Text(text) => Ok(Some(text)),
        other => Err(named(
            name,
            format!("expected text or null, found {other:?}"),
        )),
    };
    let optional_integer = |name: &str| match column(name)? {
        rusqlite::types::Value::Null => Ok(None),
        rusqlite::types::Value::Integer(value) => Ok(Some(value)),
        other => Err(named(
            name,
            format!("expected an integer (Unix ms) or null, found {other:?}"),
        )),
    };
    let contact_id = u64::try_from(contact_id)
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| named("contact_id", "expected a contact id of 1 or more".into()))?;
    let attributes: Vec<[String; 2]> =
        serde_json::from_str(&text("attributes")?).map_err(|error| {
            named(
                "attributes",
                format!(r#"expected a JSON array of [name, value] pairs: {error}"#),
            )
        })?;
    let lines: Vec<StoredLine> = serde_json::from_str(&text("transcript")?).map_err(|error| {
        named(
            "transcript",
            format!(
                r#"expected a JSON array of {{"sequence", "from", "sent_unix_ms", "text"}} lines: {error}"#
            ),
        )
    })?;
    let mut transcript = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let from = SENDERS
            .into_iter()
            .find(|sender| *sender == line.from)
            .ok_or_else(|| {
                named(
                    "transcript",
                    format!(
                        "line {index}: expected `from` to be one of {}, found {:?}",
                        SENDERS.join(", "),
                        line.from
                    ),
                )
            })?;
        if line.sequence as usize != index {
            return Err(named(
                "transcript",
                format!(
                    "line {index}: expected sequence {index}, found {}",
                    line.sequence
                ),
            ));
        }
        transcript.push(TranscriptLine {
            sequence: line.sequence,
            from,
            sent_unix_ms: line.sent_unix_ms,
            text: line.text,
        });
    }
    let arrived_unix_ms = optional_integer("arrived_unix_ms")?
        .ok_or_else(|| named("arrived_unix_ms", "expected an integer (Unix ms)".into()))?;
    Ok(OpenTicket {
        contact_id,
        queue: text("queue")?,
        customer: optional_text("customer")?,
        subject: text("subject")?,
        attributes: attributes
            .into_iter()
            .map(|[key, value]| (key, value))
            .collect(),
        transcript,
        arrived_unix_ms,
        due_unix_ms: optional_integer("due_unix_ms")?,
        first_reply_unix_ms: optional_integer("first_reply_unix_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(contact_id: u64) -> OpenTicket {
        OpenTicket {
            contact_id,
            queue: "support-email".into(),
            customer: Some("alice@example.com".into()),
            subject: "Broken box".into(),
            attributes: vec![("order".into(), "1234".into()), ("a".into(), "b".into())],
            transcript: vec![
                TranscriptLine {
                    sequence: 0,
                    from: "customer",
                    sent_unix_ms: 1_000,
                    text: "It came crushed.".into(),
                },
                TranscriptLine {
                    sequence: 1,
                    from: "agent",
                    sent_unix_ms: 2_000,
                    text: "Sorry!".into(),
                },
            ],
            arrived_unix_ms: 1_000,
            due_unix_ms: Some(15_401_000),
            first_reply_unix_ms: Some(2_000),
        }
    }

    fn database_with(tickets: &[OpenTicket]) -> (tempfile::TempDir, std::path::PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("cdr.sqlite");
        let mut connection = rusqlite::Connection::open(&path).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        let transaction = connection.transaction().unwrap();
        for ticket in tickets {
            upsert(&transaction, ticket).unwrap();
        }
        transaction.commit().unwrap();
        (directory, path)
    }

    #[test]
    fn tickets_read_back_as_they_were_written_and_a_rewrite_replaces_the_row() {
        let mut replied = ticket(7);
        replied.transcript.truncate(1);
        replied.first_reply_unix_ms = None;
        let (_directory, path) = database_with(&[replied, ticket(3), ticket(7)]);
        assert_eq!(read_open_tickets(&path).unwrap(), [ticket(3), ticket(7)]);
        let mut connection = rusqlite::Connection::open(&path).unwrap();
        let transaction = connection.transaction().unwrap();
        remove(&transaction, 3).unwrap();
        transaction.commit().unwrap();
        assert_eq!(read_open_tickets(&path).unwrap(), [ticket(7)]);
    }

    #[test]
    fn a_database_without_the_table_has_no_open_tickets() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(
            read_open_tickets(&directory.path().join("new.sqlite")).unwrap(),
            []
        );
    }

    #[test]
    fn a_row_that_cannot_be_read_is_named_and_left_in_place() {
        let (_directory, path) = database_with(&[ticket(3), ticket(9)]);
        let connection = rusqlite::Connection::open(&path).unwrap();
        for (change, expected) in [
            (
                "UPDATE open_ticket SET transcript = '[{\"sequence\": 0' WHERE contact_id = 9",
                "table open_ticket, row 2 (contact_id 9): column `transcript`: expected a JSON \
                 array of {\"sequence\", \"from\", \"sent_unix_ms\", \"text\"} lines: EOF while \
                 parsing an object at line 1 column 15",
            ),
            (
                "UPDATE open_ticket SET transcript = '[{\"sequence\": 0, \"from\": \"robot\", \
                 \"sent_unix_ms\": 1, \"text\": \"\"}]' WHERE contact_id = 9",
                "(contact_id 9): column `transcript`: line 0: expected `from` to be one of \
                 customer, agent, bot, found \"robot\"",
            ),
            (
                "UPDATE open_ticket SET transcript = '[]', due_unix_ms = 'soon' \
                 WHERE contact_id = 9",
                "(contact_id 9): column `due_unix_ms`: expected an integer (Unix ms) or null, \
                 found Text(\"soon\")",
            ),
            (
                "UPDATE open_ticket SET due_unix_ms = NULL, attributes = '{}' \
                 WHERE contact_id = 9",
                "(contact_id 9): column `attributes`: expected a JSON array of [name, value] \
                 pairs",
            ),
        ] {
            connection.execute_batch(change).unwrap();
            let error = read_open_tickets(&path).unwrap_err();
            assert!(error.contains(expected), "{error}\nexpected: {expected}");
        }
        let rows: i64 = connection
            .query_row("SELECT COUNT(*) FROM open_ticket", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2, "nothing was deleted");
    }
}

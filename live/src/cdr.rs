//! Call detail records: one row per accepted INVITE, written to SQLite by a thread of its own.
//!
//! The B2BUA builds a [`CdrRecord`] from the engine's events and the SIP facts it alone knows
//! (Call-ID, entry point, final status) and hands it to [`CdrWriter::record`], which never
//! blocks: rows go through a bounded channel to a writer thread that inserts them in batches,
//! one transaction per batch. When the channel is full the rows wait in a local backlog that
//! is retried on every call, so no row is lost and call handling never waits for the disk.
//! Closing the writer flushes every row before it returns. The schema is in `docs/cdr.md`.
//!
//! The same thread keeps the table of open e-mail/ticket contacts (`open_tickets`): a
//! ticket's row is written through [`CdrWriter::keep_open_ticket`] and removed in the
//! transaction of the ticket's CDR row, so the two never disagree after a crash; and
//! [`CdrWriter::after_commit`] runs a step (an HTTP answer saying a ticket was created) once
//! everything handed over before it is on disk.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

pub mod open_tickets;

use open_tickets::OpenTicket;

/// Rows the channel holds; beyond, rows wait in the caller's backlog.
const CHANNEL_ROWS: usize = 8_192;
/// Rows written in one SQLite transaction at most.
const BATCH_ROWS: usize = 1_000;

/// Which way a call went, as the CDR's `direction` column says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// A call from a trunk that became a contact of the engine.
    #[default]
    Inbound,
    /// A click-to-dial call an agent placed through a trunk (`POST /agents/{agent}/dial`).
    Outbound,
    /// A caller's callback request, called back through a trunk once an agent took it.
    Callback,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Callback => "callback",
        }
    }
}

/// One call, as the CDR table stores it. Times are Unix epoch milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct CdrRecord {
    pub call_id: String,
    pub contact_id: u64,
    pub entry_point: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub arrived_unix_ms: i64,
    pub queued_unix_ms: Option<i64>,
    pub offered_unix_ms: Option<i64>,
    pub answered_unix_ms: Option<i64>,
    pub ended_unix_ms: i64,
    /// The engine's outcome: completed, abandoned, blocked, timed-out, self-served, ...
    pub outcome: String,
    pub wait_ms: i64,
    pub talk_ms: i64,
    /// `customer`, `agent` or `center`.
    pub hangup_side: String,
    /// The final status sent to the caller's INVITE.
    pub sip_status: u16,
    /// Offers that rang an agent without a conversation (declined, not answered).
    pub offers_unanswered: u32,
    /// `customer` or `agent` when that side's RTP stopped for the media timeout and ended the
    /// call (anchored media only).
    pub media_timeout: Option<String>,
    /// The caller's number (the user part of its From), with personal data masked as
    /// `[live.compliance] mask` says (`180****1999`); for an outbound call, the number dialled.
    pub caller: Option<String>,
    pub direction: Direction,
    /// The call's recording: its file name in the recordings folder; none when not recorded.
    pub recording: Option<String>,
    /// The recording's secure pauses, in ms from its start: `12000-19500;31000-33250`; none
    /// when it has none.
    pub recording_paused_ms: Option<String>,
    /// The trunk an outbound call or a callback was dialled through; none for inbound calls.
    pub trunk: Option<String>,
    /// Where the agent of this row's conversation handed the call over (a blind transfer):
    /// `queue:billing` or `agent:billing-team-1`; none when the conversation was not
    /// transferred.
    pub transferred_to: Option<String>,
    /// For the row of a call after a transfer: the `contact_id` of the row of the
    /// conversation before it (same `call_id`).
    pub transfer_of: Option<u64>,
    /// `voice` (calls), `chat` or `email`.
    pub channel: &'static str,
    /// A chat's messages, in order; written to the `chat_message` table beside the row.
    pub transcript: Vec<TranscriptLine>,
    /// An e-mail/ticket contact's subject (masked); none for calls and chats.
    pub subject: Option<String>,
    /// When an e-mail/ticket contact was due to be answered; none without a due time.
    pub due_unix_ms: Option<i64>,
    /// Whether the agent's first reply came by the due time; none without a due time.
    pub due_met: Option<bool>,
    /// The caller's choices in IVR menus and callback offers, in order, as a JSON array of
    /// `[node, key]` pairs, `key` null when nothing was pressed (`[["main-menu", "2"]]`);
    /// none for a contact that met no menu. Never a `collect` node's digits.
    pub ivr_choices: Option<String>,
}

impl Default for CdrRecord {
    fn default() -> Self {
        CdrRecord {
            call_id: String::new(),
            contact_id: 0,
            entry_point: String::new(),
            queue: None,
            agent: None,
            arrived_unix_ms: 0,
            queued_unix_ms: None,
            offered_unix_ms: None,
            answered_unix_ms: None,
            ended_unix_ms: 0,
            outcome: String::new(),
            wait_ms: 0,
            talk_ms: 0,
            hangup_side: String::new(),
            sip_status: 0,
            offers_unanswered: 0,
            media_timeout: None,
            caller: None,
            direction: Direction::Inbound,
            recording: None,
            recording_paused_ms: None,
            trunk: None,
            transferred_to: None,
            transfer_of: None,
            channel: "voice",
            transcript: Vec::new(),
            subject: None,
            due_unix_ms: None,
            due_met: None,
            ivr_choices: None,
        }
    }
}

/// One message of a chat's transcript (its text masked as `[live.compliance] mask` says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptLine {
    /// 0 for the chat's first message.
    pub sequence: u32,
    /// `customer`, `agent` or `bot` (the FAQ bot of a `bot` node).
    pub from: &'static str,
    pub sent_unix_ms: i64,
    pub text: String,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS cdr (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    entry_point TEXT NOT NULL,
    queue TEXT,
    agent TEXT,
    arrived_unix_ms INTEGER NOT NULL,
    queued_unix_ms INTEGER,
    offered_unix_ms INTEGER,
    answered_unix_ms INTEGER,
    ended_unix_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    wait_ms INTEGER NOT NULL,
    talk_ms INTEGER NOT NULL,
    hangup_side TEXT NOT NULL,
    sip_status INTEGER NOT NULL,
    offers_unanswered INTEGER NOT NULL,
    media_timeout TEXT,
    caller TEXT,
    direction TEXT NOT NULL DEFAULT 'inbound',
    recording TEXT,
    recording_paused_ms TEXT,
    trunk TEXT,
    transferred_to TEXT,
    transfer_of INTEGER,
    channel TEXT NOT NULL DEFAULT 'voice',
    subject TEXT,
    due_unix_ms INTEGER,
    due_met INTEGER,
    ivr_choices TEXT
);
CREATE TABLE IF NOT EXISTS chat_message (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    sender TEXT NOT NULL,
    sent_unix_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_message_contact ON chat_message (contact_id, sequence);
CREATE INDEX IF NOT EXISTS cdr_call_id ON cdr (call_id);
CREATE INDEX IF NOT EXISTS cdr_agent_answered ON cdr (agent, answered_unix_ms);";

/// What the writer thread is handed, in order.
enum Write {
    Cdr(Box<CdrRecord>),
    OpenTicket(Box<OpenTicket>),
    /// Run once everything before it is committed.
    AfterCommit(Box<dyn FnOnce() + Send>),
}

/// The sending side of the CDR store; see the module documentation.
pub struct CdrWriter {
    sender: Option<SyncSender<Write>>,
    backlog: VecDeque<Write>,
    thread: Option<JoinHandle<rusqlite::Result<u64>>>,
}

impl CdrWriter {
    /// Open (or create) the database and start the writer thread.
    pub fn open(path: &Path) -> Result<CdrWriter, String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        let connection = rusqlite::Connection::open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .and_then(|()| connection.execute_batch(SCHEMA))
            .and_then(|()| connection.execute_batch(open_tickets::SCHEMA))
            .map_err(|error| format!("cannot create the CDR table: {error}"))?;
        // A table made before the media_timeout column existed gets it (the error when it is
        // there already is expected and ignored).
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN media_timeout TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN caller TEXT");
        let _ = connection
            .execute_batch("ALTER TABLE cdr ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN recording TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN recording_paused_ms TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN trunk TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN transferred_to TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN transfer_of INTEGER");
        let _ = connection
            .execute_batch("ALTER TABLE cdr ADD COLUMN channel TEXT NOT NULL DEFAULT 'voice'");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN subject TEXT");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN due_unix_ms INTEGER");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN due_met INTEGER");
        let _ = connection.execute_batch("ALTER TABLE cdr ADD COLUMN ivr_choices TEXT");
        let (sender, receiver) = sync_channel(CHANNEL_ROWS);
        let thread = std::thread::Builder::new()
            .name("cdr-writer".into())
            .spawn(move || write_rows(connection, receiver))
            .map_err(|error| format!("cannot start the CDR writer: {error}"))?;
        Ok(CdrWriter {
            sender: Some(sender),
            backlog: VecDeque::new(),
            thread: Some(thread),
        })
    }

    /// Queue a row; never blocks.
    pub fn record(&mut self, record: CdrRecord) {
        self.hand_over(Write::Cdr(Box::new(record)));
    }

    /// Queue the row of an open ticket (created, or replied to); never blocks.
    pub fn keep_open_ticket(&mut self, ticket: OpenTicket) {
        self.hand_over(Write::OpenTicket(Box::new(ticket)));
    }

    /// Run `step` on the writer's thread once every row queued before it is committed. Should
    /// that transaction fail, the step is dropped unrun (a reply it would send then fails, and
    /// nobody waits for ever) and the writer stops with the error. Never blocks.
    pub fn after_commit(&mut self, step: impl FnOnce() + Send + 'static) {
        self.hand_over(Write::AfterCommit(Box::new(step)));
    }

    fn hand_over(&mut self, write: Write) {
        self.backlog.push_back(write);
        self.flush_backlog();
    }

    /// Rows waiting because the channel was full.
    pub fn backlog_rows(&self) -> usize {
        self.backlog.len()
    }

    fn flush_backlog(&mut self) {
        let Some(sender) = &self.sender else {
            return;
        };
        while let Some(write) = self.backlog.pop_front() {
            match sender.try_send(write) {
                Ok(()) => {}
                Err(TrySendError::Full(write)) => {
                    self.backlog.push_front(write);
                    return;
                }
                Err(TrySendError::Disconnected(write)) => {
                    tracing::error!("CDR writer is gone; rows kept in memory");
                    self.backlog.push_front(write);
                    return;
                }
            }
        }
    }

    /// Write every row still queued, stop the thread and say how many rows it wrote.
    pub fn close(mut self) -> Result<u64, String> {
        if let Some(sender) = self.sender.take() {
            for write in self.backlog.drain(..) {
                // Blocking is fine now: calls are no longer being handled.
                if sender.send(write).is_err() {
                    break;
                }
            }
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(rows))) => Ok(rows),
            Some(Ok(Err(error))) => Err(format!("CDR writer failed: {error}")),
            Some(Err(_)) => Err("CDR writer panicked".into()),
            None => Ok(0),
        }
    }
}

fn write_rows(
    mut connection: rusqlite::Connection,
    receiver: Receiver<Write>,
) -> rusqlite::Result<u64> {
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        while batch.len() < BATCH_ROWS {
            match receiver.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let mut after_commit = Vec::new();
        written += write_batch(&mut connection, &mut batch, &mut after_commit)?;
        for step in after_commit {
            step();
        }
    }
    Ok(written)
}

/// One transaction: the batch's rows, in order. Returns the CDR rows written.
fn write_batch(
    connection: &mut rusqlite::Connection,
    batch: &mut Vec<Write>,
    after_commit: &mut Vec<Box<dyn FnOnce() + Send>>,
) -> rusqlite::Result<u64> {
    let mut written = 0u64;
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO cdr (call_id, contact_id, entry_point, queue, agent, arrived_unix_ms,
                 queued_unix_ms, offered_unix_ms, answered_unix_ms, ended_unix_ms, outcome, wait_ms,
                 talk_ms, hangup_side, sip_status, offers_unanswered, media_timeout, caller,
                 direction, recording, recording_paused_ms, trunk, transferred_to, transfer_of,
                 channel, subject, due_unix_ms, due_met, ivr_choices)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
        )?;
        let mut insert_line = transaction.prepare_cached(
            "INSERT INTO chat_message (contact_id, sequence, sender, sent_unix_ms, text)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for write in batch.drain(..) {
            let record = match write {
                Write::Cdr(record) => record,
                Write::OpenTicket(ticket) => {
                    open_tickets::upsert(&transaction, &ticket)?;
                    continue;
                }
                Write::AfterCommit(step) => {
                    after_commit.push(step);
                    continue;
                }
            };
            // Every e-mail contact is a ticket: its open row ends with its CDR row.
            if record.channel == "email" {
                open_tickets::remove(&transaction, record.contact_id)?;
            }
            insert.execute(rusqlite::params![
                record.call_id,
                record.contact_id as i64,
                record.entry_point,
                record.queue,
                record.agent,
                record.arrived_unix_ms,
                record.queued_unix_ms,
                record.offered_unix_ms,
                record.answered_unix_ms,
                record.ended_unix_ms,
                record.outcome,
                record.wait_ms,
                record.talk_ms,
                record.hangup_side,
                record.sip_status,
                record.offers_unanswered,
                record.media_timeout,
                record.caller,
                record.direction.as_str(),
                record.recording,
                record.recording_paused_ms,
                record.trunk,
                record.transferred_to,
                record.transfer_of.map(|contact| contact as i64),
                record.channel,
                record.subject,
                record.due_unix_ms,
                record.due_met,
                record.ivr_choices,
            ])?;
            for line in &record.transcript {
                insert_line.execute(rusqlite::params![
                    record.contact_id as i64,
                    line.sequence,
                    line.from,
                    line.sent_unix_ms,
                    line.text,
                ])?;
            }
            written += 1;
        }
    }
    transaction.commit()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_row_is_written_before_close_returns() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("cdr.sqlite");
        let mut writer = CdrWriter::open(&path).unwrap();
        for contact_id in 0..2_500 {
            writer.record(CdrRecord {
                call_id: format!("call-{contact_id}"),
                contact_id,
                outcome: "completed".into(),
                ..CdrRecord::default()
            });
        }
        assert_eq!(writer.close().unwrap(), 2_500);
        let connection = rusqlite::Connection::open(&path).unwrap();
        let rows: i64 = connection
            .query_row("SELECT COUNT(*) FROM cdr", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2_500);
    }
}

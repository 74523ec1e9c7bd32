//! The one check in front of every request: authenticate the token, authorize the action,
//! and audit what must be audited — the seam the live HTTP API and the command-line program
//! call, so that no caller can forget the audit.
//!
//! Audited: every refusal (a bad token, a missing right), the first use of each token since
//! a server started (`token.login`, with the user's role, see [`Guard::auditing_logins`]),
//! and every allowed action that
//! changes something or touches recorded data (agent state changes, configuration changes,
//! barge-in, the audit log, recordings' metadata, playback, export). Plain reads of status,
//! agents and queues are not audited, so that a wallboard polling every second does not bury
//! the log. When a record cannot be written the request is refused: what cannot be audited is
//! not done.

use std::sync::Mutex;

use crate::audit::{AuditLog, Entry, Outcome};
use crate::roles::{Action, Denial, Principal, Tokens};

/// Why a request is refused, with the HTTP status it maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that is unknown or wrong: 401.
    Unauthenticated(Denial),
    /// A good token without the right: 403.
    Forbidden(Denial),
    /// The audit log could not record the request: 503, nothing done.
    AuditUnavailable(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Unauthenticated(_) => 401,
            Refusal::Forbidden(_) => 403,
            Refusal::AuditUnavailable(_) => 503,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::Unauthenticated(denial) | Refusal::Forbidden(denial) => &denial.0,
            Refusal::AuditUnavailable(problem) => problem,
        }
    }
}

impl Action<'_> {
    /// Whether an allowed action is audited (refusals always are).
    pub fn is_audited_when_allowed(&self) -> bool {
        !matches!(
            self,
            Action::ReadStatus
                | Action::ListAgents
                | Action::ReadAgent { .. }
                | Action::ReadAgentContacts { .. }
                | Action::ListQueues
                | Action::ReadQueue { .. }
                | Action::ReadConfiguration
        )
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Action::PlayRecording { reason, .. } | Action::ExportRecording { reason, .. } => {
                *reason
            }
            _ => None,
        }
    }
}

/// The action name of a token's first use since the program started.
pub const LOGIN: &str = "token.login";

/// Tokens and the audit log, shared by every request.
#[derive(Debug)]
pub struct Guard {
    tokens: Tokens,
    audit: Mutex<AuditLog>,
    audit_logins: bool,
}

impl Guard {
    pub fn new(tokens: Tokens, audit: AuditLog) -> Guard {
        Guard {
            tokens,
            audit: Mutex::new(audit),
            audit_logins: false,
        }
    }

    /// Also audit the first use of each token since the program started (`token.login`, with
    /// the user's role): what a long-running server does. A one-shot command leaves it off,
    /// its one record already names the user and the role.
    pub fn auditing_logins(mut self) -> Guard {
        self.audit_logins = true;
        self
    }

    /// Check a request: `token` is the bearer token (without `Bearer `), `target` names what
    /// is acted on for the audit log (`agent/sales-1`), `now_unix_ms` is the caller's clock.
    pub fn check(
        &self,
        token: Option<&str>,
        action: Action<'_>,
        target: &str,
        now_unix_ms: i64,
    ) -> Result<Principal, Refusal> {
        let principal = self.check_before_trying(token, action, target, now_unix_ms)?;
        if action.is_audited_when_allowed() {
            self.report_carried_out(&principal, action, target, None, now_unix_ms)?;
        }
        Ok(principal)
    }

    /// Audit an allowed request as carried out (`failure` none: `allowed`) or as failed
    /// (`failed`, with why in the detail). A record that cannot be written refuses the request.
    pub fn report_carried_out(
        &self,
        principal: &Principal,
        action: Action<'_>,
        target: &str,
        failure: Option<&str>,
        now_unix_ms: i64,
    ) -> Result<(), Refusal> {
        let outcome = match failure {
            None => (Outcome::Allowed, None),
            Some(problem) => (Outcome::Failed, Some(("failed", problem))),
        };
        self.record(
            &principal.user,
            Some(principal.role.name()),
            action,
            target,
            outcome,
            now_unix_ms,
        )
    }

    /// [`Guard::check`] for a request whose outcome is known only once it is tried (an export
    /// that may not decrypt): refusals are audited at once, an allowed request not yet. The
    /// caller tries it, then reports the outcome with [`Guard::report_carried_out`] before
    /// giving anything out, so that the record says what happened.
    pub fn check_before_trying(
        &self,
        token: Option<&str>,
        action: Action<'_>,
        target: &str,
        now_unix_ms: i64,
    ) -> Result<Principal, Refusal> {
        let authenticated = match token {
            Some(token) => self.tokens.authenticate_remembered(token),
            None => Err(Denial("missing bearer token".into())),
        };
        let principal = match authenticated {
            Ok((principal, remembered)) if remembered || !self.audit_logins => principal,
            Ok((principal, _)) => {
                // The first use of a token since the program started: a login, with its role.
                self.append(Entry {
                    time_unix_ms: now_unix_ms,
                    actor: principal.user.clone(),
                    role: Some(principal.role.name().to_string()),
                    action: LOGIN.to_string(),
                    target: target.to_string(),
                    outcome: Outcome::Allowed,
                    detail: serde_json::json!({}),
                })?;
                principal
            }
            Err(denial) => {
                let denied = (Outcome::Denied, Some(("denied", denial.0.as_str())));
                self.record("unknown", None, action, target, denied, now_unix_ms)?;
                return Err(Refusal::Unauthenticated(denial));
            }
        };
        if let Err(denial) = principal.authorize(action) {
            let denied = (Outcome::Denied, Some(("denied", denial.0.as_str())));
            let role = Some(principal.role.name());
            self.record(&principal.user, role, action, target, denied, now_unix_ms)?;
            return Err(Refusal::Forbidden(denial));
        }
        Ok(principal)
    }

    /// Append one record with its outcome and, for a refusal or a failure, the detail's key
    /// (`denied`, `failed`) and why; a record that cannot be written refuses the request.
    fn record(
        &self,
        actor: &str,
        role: Option<&str>,
        action: Action<'_>,
        target: &str,
        (outcome, why): (Outcome, Option<(&str, &str)>),
        now_unix_ms: i64,
    ) -> Result<(), Refusal> {
        let mut detail = serde_json::Map::new();
        if let Some(reason) = action.reason() {
            detail.insert("reason".into(), reason.into());
        }
        if let Some((key, why)) = why {
            detail.insert(key.into(), why.into());
        }
        let entry = Entry {
            time_unix_ms: now_unix_ms,
            actor: actor.to_string(),
            role: role.map(str::to_string),
            action: action.name().to_string(),
            target: target.to_string(),
            outcome,
            detail: serde_json::Value::Object(detail),
        };
        self.append(entry)
    }

    fn append(&self, entry: Entry) -> Result<(), Refusal> {
        self.record_event(entry)
            .map(|_| ())
            .map_err(Refusal::AuditUnavailable)
    }

    /// Append a record of something that is not a request checked here (a phone's
    /// registration, a configuration change carried out); returns its index.
    pub fn record_event(&self, entry: Entry) -> Result<u64, String> {
        self.audit
            .lock()
            .map_err(|_| "the audit log is unavailable".to_string())?
            .append(entry)
            .map_err(|problem| format!("cannot audit: {problem}"))
    }

    /// Sign a checkpoint of every record so far (a periodic checkpoint, so that records do
    /// not wait for the next [`AuditOptions::checkpoint_every`](crate::audit::AuditOptions)).
    pub fn checkpoint(&self) -> Result<(), String> {
        self.audit
            .lock()
            .map_err(|_| "the audit log is unavailable".to_string())?
            .checkpoint()
            .map_err(|problem| problem.to_string())
    }

    /// Delete what `policy` no longer keeps under `folder`, each deletion appended to this
    /// audit log before the file goes (a server's retention timer).
    pub fn sweep_retention(
        &self,
        folder: &std::path::Path,
        policy: crate::retention::RetentionPolicy,
        now_unix_ms: i64,
    ) -> Result<crate::retention::SweepReport, String> {
        let mut audit = self
            .audit
            .lock()
            .map_err(|_| "the audit log is unavailable".to_string())?;
        crate::retention::sweep(folder, policy, now_unix_ms, &mut audit)
            .map_err(|problem| problem.to_string())
    }

    /// The audit log's folder (to read records back).
    pub fn audit_folder(&self) -> std::path::PathBuf {
        self.audit
            .lock()
            .map(|log| log.folder().to_path_buf())
            .unwrap_or_default()
    }

    /// Close the audit log (signing a last checkpoint).
    pub fn close(self) -> Result<u64, String> {
        self.audit
            .into_inner()
            .map_err(|_| "the audit log is unavailable".to_string())?
            .close()
            .map_err(|problem| problem.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{verify, AuditOptions};
    use crate::note::NoteSigner;
    use crate::roles::tests::CHEAP;
    use crate::roles::{new_token, with_user, Place, Role, UserEntry};

    #[test]
    fn refusals_and_changes_are_audited_reads_are_not() {
        let folder = tempfile::tempdir().unwrap();
        let signer = NoteSigner::generate("audit.test/guard").unwrap();
        let key = signer.verifier();
        let mut text = String::new();
        let mut tokens = Vec::new();
        for (name, role) in [("alice", Role::Supervisor), ("carol", Role::Auditor)] {
            let entry = UserEntry {
                name: name.into(),
                role,
                sites: None,
                queues: None,
                agent: None,
                token_hash: String::new(),
            };
            let (token, entry) = new_token(entry, CHEAP).unwrap();
            text = with_user(&text, "tokens.toml", entry).unwrap();
            tokens.push(token);
        }
        let audit = AuditLog::open(folder.path(), signer, AuditOptions::default()).unwrap();
        let guard =
            Guard::new(Tokens::parse(&text, "tokens.toml").unwrap(), audit).auditing_logins();
        let place = Place {
            site: None,
            queues: &["sales"],
        };
        let change = Action::ChangeAgentState {
            agent: "sales-1",
            place,
        };
        let (supervisor, auditor) = (tokens[0].as_str(), tokens[1].as_str());

        assert_eq!(
            guard
                .check(None, change, "agent/sales-1", 1)
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(
            guard
                .check(Some("sb1.alice.nope"), change, "agent/sales-1", 2)
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(
            guard
                .check(Some(auditor), change, "agent/sales-1", 3)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            guard
                .check(Some(supervisor), change, "agent/sales-1", 4)
                .unwrap()
                .user,
            "alice"
        );
        assert!(guard
            .check(Some(supervisor), Action::ListQueues, "queues", 5)
            .is_ok());
        assert!(guard
            .check(
                Some(auditor),
                Action::PlayRecording {
                    place,
                    reason: Some("dispute 7")
                },
                "recording/r1",
                6
            )
            .is_ok());
        assert_eq!(
            guard.close().unwrap(),
            7,
            "four refusals or changes, one playback and two logins"
        );

        verify(folder.path(), &key, None).unwrap();
        let log = std::fs::read_to_string(folder.path().join("log.jsonl")).unwrap();
        let records: Vec<serde_json::Value> = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let outline: Vec<(&str, &str, &str)> = records
            .iter()
            .map(|record| {
                (
                    record["actor"].as_str().unwrap(),
                    record["action"].as_str().unwrap(),
                    record["outcome"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            outline,
            [
                ("unknown", "agent.state", "denied"),
                ("unknown", "agent.state", "denied"),
                ("carol", "token.login", "allowed"),
                ("carol", "agent.state", "denied"),
                ("alice", "token.login", "allowed"),
                ("alice", "agent.state", "allowed"),
                ("carol", "recording.play", "allowed"),
            ]
        );
        assert_eq!(records[2]["role"], "auditor", "a login names the role");
        assert_eq!(records[6]["detail"]["reason"], "dispute 7");
        assert_eq!(records[0]["detail"]["denied"], "missing bearer token");
    }
}

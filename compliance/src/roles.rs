//! Who may do what: users with a role and an optional scope, and their tokens, hashed at rest
//! with Argon2id.
//!
//! | role | may |
//! |---|---|
//! | `agent` | read and change its own state; read its own contacts |
//! | `supervisor` | read queues, agents and the wallboard; change agents' states; barge in; create e-mail/ticket contacts — within its scope |
//! | `admin` | read and change the configuration; read queues and agents, change agents' states and create e-mail/ticket contacts — within its scope |
//! | `auditor` | read the audit log and recordings' metadata; play or export a recording only with a reason, which is recorded |
//!
//! Every role may read the runtime's health and metrics. Nobody but an auditor reads the audit
//! log or recordings: an administrator who changes the configuration cannot also read what
//! the log says about it (separation of duties).
//!
//! # The token file
//!
//! ```toml
//! [[user]]
//! name = "alice"
//! role = "supervisor"
//! sites = ["shanghai"]            # optional: only these sites (every site when absent)
//! queues = ["sales", "vip"]       # optional: only these queues (every queue when absent)
//! token_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//!
//! [[user]]
//! name = "sales-team-1"
//! role = "agent"
//! agent = "sales-team-1"          # required for the agent role: which agent this user is
//! token_hash = "$argon2id$..."
//! ```
//!
//! A token reads `sb1.<user name>.<secret>`: the name says which hash to check, so one request
//! costs one Argon2 verification, and a verified token is remembered (by its SHA-256, in
//! memory only) so the next request of the same token costs none. `switchboard token add`
//! makes a token, prints it once and stores only its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64_URL;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_engine::source_text;

/// The four roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Admin, Role::Auditor];

    pub fn name(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Where an agent, a queue or a recording belongs, for scope checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place<'a> {
    pub site: Option<&'a str>,
    /// The queues it serves or belongs to.
    pub queues: &'a [&'a str],
}

/// What a request asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Health and metrics.
    ReadStatus,
    /// The list of agents (each shown only when [`Principal::sees`] its place).
    ListAgents,
    ReadAgent {
        agent: &'a str,
        place: Place<'a>,
    },
    ChangeAgentState {
        agent: &'a str,
        place: Place<'a>,
    },
    /// The contacts an agent handles.
    ReadAgentContacts {
        agent: &'a str,
        place: Place<'a>,
    },
    /// The list of queues, the wallboard.
    ListQueues,
    ReadQueue {
        place: Place<'a>,
    },
    Barge {
        agent: &'a str,
        place: Place<'a>,
    },
    /// Read the runtime's changeable configuration (entry points).
    ReadConfiguration,
    ChangeConfiguration,
    ReadAuditLog,
    ReadRecordingMetadata {
        place: Place<'a>,
    },
    PlayRecording {
        place: Place<'a>,
        reason: Option<&'a str>,
    },
    ExportRecording {
        place: Place<'a>,
        reason: Option<&'a str>,
    },
    /// Turn a call's recording on or off; `place` is the call's queue.
    SwitchRecording {
        place: Place<'a>,
    },
    /// Hand a connected call over to a queue or an agent (a blind transfer); `agent` is the
    /// agent on the call, `place` the call's queue.
    TransferCall {
        agent: &'a str,
        place: Place<'a>,
    },
    /// Put an e-mail or ticket contact into a queue (an integration, a supervisor filing one);
    /// `place` is the queue's.
    CreateContact {
        place: Place<'a>,
    },
}

impl Action<'_> {
    /// A short name for the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Action::ReadStatus => "status.read",
            Action::ListAgents => "agents.list",
            Action::ReadAgent { .. } => "agent.read",
            Action::ChangeAgentState { .. } => "agent.state",
            Action::ReadAgentContacts { .. } => "agent.contacts",
            Action::ListQueues => "queues.list",
            Action::ReadQueue { .. } => "queue.read",
            Action::Barge { .. } => "barge",
            Action::ReadConfiguration => "config.read",
            Action::ChangeConfiguration => "config.change",
            Action::ReadAuditLog => "audit.read",
            Action::ReadRecordingMetadata { .. } => "recording.metadata",
            Action::PlayRecording { .. } => "recording.play",
            Action::ExportRecording { .. } => "recording.export",
            Action::SwitchRecording { .. } => "recording.switch",
            Action::TransferCall { .. } => "call.transfer",
            Action::CreateContact { .. } => "contact.create",
        }
    }
}

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// `None`: every site.
    pub sites: Option<BTreeSet<String>>,
    /// `None`: every queue.
    pub queues: Option<BTreeSet<String>>,
    /// The agent an `agent` user is.
    pub agent: Option<String>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial(pub String);

impl fmt::Display for Denial {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl Principal {
    /// Whether a place is inside this user's scope: its site is one of the user's sites, and
    /// it serves at least one of the user's queues (a place with no site or no queues is
    /// inside a scope that does not restrict that dimension only).
    pub fn sees(&self, place: Place<'_>) -> bool {
        let site_ok = match (&self.sites, place.site) {
            (None, _) => true,
            (Some(sites), Some(site)) => sites.contains(site),
            (Some(_), None) => false,
        };
        let queue_ok = match &self.queues {
            None => true,
            Some(queues) => place.queues.iter().any(|queue| queues.contains(*queue)),
        };
        site_ok && queue_ok
    }

    fn is_agent(&self, agent: &str) -> bool {
        self.agent.as_deref() == Some(agent)
    }

    /// Whether the user may do `action`; the reason when not.
    pub fn authorize(&self, action: Action<'_>) -> Result<(), Denial> {
        let role = self.role;
        let refuse = || {
            Err(Denial(format!(
                "the {role} role may not {}",
                match action {
                    Action::ReadAgent { .. }
                    | Action::ChangeAgentState { .. }
                    | Action::ReadAgentContacts { .. }
                    | Action::TransferCall { .. }
                        if role == Role::Agent =>
                        "act for another agent".to_string(),
                    _ => format!("do {}", action.name()),
                }
            )))
        };
        let in_scope = |place: Place<'_>| {
            if self.sees(place) {
                Ok(())
            } else {
                Err(Denial(format!(
                    "{} is outside the scope of user {} (sites {}, queues {})",
                    action.name(),
                    self.user,
                    describe(&self.sites),
                    describe(&self.queues)
                )))
            }
        };
        let with_reason = |reason: Option<&str>| match reason.map(str::trim) {
            Some(reason) if !reason.is_empty() => Ok(()),
            _ => Err(Denial(format!(
                "{} needs a reason, which is recorded in the audit log",
                action.name()
            ))),
        };
        match (role, action) {
            (_, Action::ReadStatus) => Ok(()),
            (
                Role::Agent,
                Action::ReadAgent { agent, .. }
                | Action::ChangeAgentState { agent, .. }
                | Action::ReadAgentContacts { agent, .. }
                // An agent transfers the calls it talks on, no others.
                | Action::TransferCall { agent, .. },
            ) => {
                if self.is_agent(agent) {
                    Ok(())
                } else {
                    refuse()
                }
            }
            (
                Role::Supervisor | Role::Admin,
                Action::ReadAgent { place, .. }
                | Action::ChangeAgentState { place, .. }
                | Action::ReadQueue { place },
            ) => in_scope(place),
            (
                Role::Supervisor,
                Action::ReadAgentContacts { place, .. } | Action::Barge { place, .. },
            ) => in_scope(place),
            (Role::Supervisor | Role::Admin, Action::ListAgents | Action::ListQueues) => Ok(()),
            (
                Role::Supervisor | Role::Admin,
                Action::SwitchRecording { place }
                | Action::TransferCall { place, .. }
                | Action::CreateContact { place },
            ) => in_scope(place),
            (Role::Admin, Action::ReadConfiguration | Action::ChangeConfiguration) => Ok(()),
            (Role::Auditor, Action::ReadAuditLog) => Ok(()),
            (Role::Auditor, Action::ReadRecordingMetadata { place }) => in_scope(place),
            (
                Role::Auditor,
                Action::PlayRecording { place, reason } | Action::ExportRecording { place, reason },
            ) => {
                in_scope(place)?;
                with_reason(reason)
            }
            _ => refuse(),
        }
    }
}

fn describe(set: &Option<BTreeSet<String>>) -> String {
    match set {
        None => "all".into(),
        Some(items) => items.iter().cloned().collect::<Vec<_>>().join(", "),
    }
}

/// A problem with the token file, or with a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError(pub String);

impl fmt::Display for TokenError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for TokenError {}

/// One `[[user]]` of the token file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The token's Argon2id hash in PHC form; the token itself is never stored.
    pub token_hash: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFileText {
    #[serde(default, rename = "user")]
    users: Vec<UserEntry>,
}

/// Where each user's values are in a token file, to point at the one with a problem.
#[derive(Deserialize)]
struct TokenFilePlaces {
    #[serde(default, rename = "user")]
    users: Vec<UserPlaces>,
}

#[derive(Deserialize)]
struct UserPlaces {
    name: toml::Spanned<String>,
    role: toml::Spanned<String>,
    agent: Option<toml::Spanned<String>>,
    token_hash: toml::Spanned<String>,
}

/// A token file's TOML problem in the style of every reader (`FILE:LINE:COLUMN`, the line with
/// a caret, "did you mean" for a misspelt key, no type names).
fn token_file_syntax(file: &str, text: &str, problem: &toml::de::Error) -> TokenError {
    TokenError(source_text::located(
        file,
        text,
        problem.span().map_or(0, |span| span.start),
        &source_text::plain_message(problem.message()),
    ))
}

const TOKEN_PREFIX: &str = "sb1";
/// Verified tokens remembered at most; the memory is emptied when full.
const REMEMBERED_TOKENS: usize = 4_096;

fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'@'))
}

/// The users of a token file, ready to authenticate tokens.
#[derive(Debug)]
pub struct Tokens {
    users: BTreeMap<String, UserEntry>,
    remembered: Mutex<BTreeMap<[u8; 32], Principal>>,
}

impl Tokens {
    /// Read a token file; `file` names it in errors. Every problem is reported at once, each
    /// at its place in the file with the user it concerns.
    pub fn parse(text: &str, file: &str) -> Result<Tokens, TokenError> {
        let parsed: TokenFileText =
            toml::from_str(text).map_err(|problem| token_file_syntax(file, text, &problem))?;
        let places: TokenFilePlaces =
            toml::from_str(text).map_err(|problem| token_file_syntax(file, text, &problem))?;
        let mut users = BTreeMap::new();
        let mut problems = Vec::new();
        for (user, place) in parsed.users.into_iter().zip(&places.users) {
            let mut problem = |span: std::ops::Range<usize>, message: String| {
                let message = format!("user {:?}: {message}", user.name);
                problems.push(source_text::located(file, text, span.start, &message));
            };
            if !valid_user_name(&user.name) {
                problem(
                    place.name.span(),
                    "a name is letters, digits, '-', '_' or '@'".into(),
                );
            }
            if user.role == Role::Agent && user.agent.is_none() {
                problem(
                    place.role.span(),
                    "role = \"agent\" needs agent = \"AGENT-ID\" (which agent this user is)".into(),
                );
            }
            if let (false, Some(agent)) = (user.role == Role::Agent, &place.agent) {
                problem(
                    agent.span(),
                    "only the agent role takes an agent key".into(),
                );
            }
            if PasswordHash::new(&user.token_hash).is_err() {
                problem(
                    place.token_hash.span(),
                    "token_hash is not an Argon2 hash in PHC form ($argon2id$...)".into(),
                );
            }
            if users.contains_key(&user.name) {
                problem(place.name.span(), "the name is listed twice".into());
            }
            users.insert(user.name.clone(), user);
        }
        if !problems.is_empty() {
            return Err(TokenError(problems.join("\n")));
        }
        Ok(Tokens {
            users,
            remembered: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn load(path: &Path) -> Result<Tokens, TokenError> {
        let text = std::fs::read_to_string(path)
            .map_err(|problem| TokenError(format!("{}: cannot read: {problem}", path.display())))?;
        Tokens::parse(&text, &path.display().to_string())
    }

    pub fn users(&self) -> impl Iterator<Item = &UserEntry> {
        self.users.values()
    }

    /// The user a token belongs to, or why it is refused (the same words for an unknown user
    /// and a wrong secret, so a refusal does not tell which names exist).
    pub fn authenticate(&self, token: &str) -> Result<Principal, Denial> {
        self.authenticate_remembered(token)
            .map(|(principal, _remembered)| principal)
    }

    /// [`Tokens::authenticate`], and whether the token was remembered from an earlier
    /// request (`false`: its hash was verified now, the first use of the token since the
    /// program started — a login).
    pub fn authenticate_remembered(&self, token: &str) -> Result<(Principal, bool), Denial> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(principal) = self.remembered.lock().expect("not poisoned").get(&digest) {
            return Ok((principal.clone(), true));
        }
        let refused = || Denial("unknown or wrong token".into());
        let mut parts = token.splitn(3, '.');
        let (Some(TOKEN_PREFIX), Some(name), Some(_secret)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        let Some(user) = self.users.get(name) else {
            return Err(refused());
        };
        let hash = PasswordHash::new(&user.token_hash).map_err(|_| refused())?;
        Argon2::default()
            .verify_password(token.as_bytes(), &hash)
            .map_err(|_| refused())?;
        let principal = Principal {
            user: user.name.clone(),
            role: user.role,
            sites: user
                .sites
                .as_ref()
                .map(|sites| sites.iter().cloned().collect()),
            queues: user
                .queues
                .as_ref()
                .map(|queues| queues.iter().cloned().collect()),
            agent: user.agent.clone(),
        };
        let mut remembered = self.remembered.lock().expect("not poisoned");
        if remembered.len() >= REMEMBERED_TOKENS {
            remembered.clear();
        }
        remembered.insert(digest, principal.clone());
        Ok((principal, false))
    }
}

/// Argon2id parameters for new token hashes. The default is OWASP's recommendation
/// (19 MiB, 2 passes, 1 lane); tests use cheaper ones.
#[derive(Clone, Copy, Debug)]
pub struct HashCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            passes: 2,
        }
    }
}

/// A new random token for `user` and its hash: `(token, entry)`. The token is shown once;
/// only the entry is stored.
pub fn new_token(mut entry: UserEntry, cost: HashCost) -> Result<(String, UserEntry), TokenError> {
    if !valid_user_name(&entry.name) {
        return Err(TokenError(format!(
            "user name {:?}: letters, digits, '-', '_' or '@'",
            entry.name
        )));
    }
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{TOKEN_PREFIX}.{}.{}",
        entry.name,
        BASE64_URL.encode(secret)
    );
    let params = argon2::Params::new(cost.memory_kib, cost.passes, 1, None)
        .map_err(|problem| TokenError(format!("Argon2 parameters: {problem}")))?;
    let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    entry.token_hash = hasher
        .hash_password(token.as_bytes(), &salt)
        .map_err(|problem| TokenError(format!("cannot hash the token: {problem}")))?
        .to_string();
    Ok((token, entry))
}

/// The token file's text with `entry` added (or replacing the user of the same name, whose
/// old token then stops working).
pub fn with_user(text: &str, file: &str, entry: UserEntry) -> Result<String, TokenError> {
    let mut parsed: TokenFileText =
        toml::from_str(text).map_err(|problem| token_file_syntax(file, text, &problem))?;
    parsed.users.retain(|user| user.name != entry.name);
    parsed.users.push(entry);
    let text = format!(
        "# Users and their tokens' Argon2id hashes (docs/compliance.md). Tokens are never stored.\n{}",
        toml::to_string(&parsed).map_err(|problem| TokenError(problem.to_string()))?
    );
    // What is written must read back.
    Tokens::parse(&text, file)?;
    Ok(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        passes: 1,
    };

    fn user(name: &str, role: Role) -> UserEntry {
        UserEntry {
            name: name.into(),
            role,
            sites: None,
            queues: None,
            agent: (role == Role::Agent).then(|| name.to_string()),
            token_hash: String::new(),
        }
    }

    #[test]
    fn tokens_are_hashed_at_rest_and_authenticate_their_user() {
        let (token, entry) = new_token(user("alice", Role::Supervisor), CHEAP).unwrap();
        assert!(entry.token_hash.starts_with("$argon2id$"));
        let text = with_user("", "tokens.toml", entry).unwrap();
        assert!(
            !text.contains(token.split('.').nth(2).unwrap()),
            "the secret is not stored"
        );
        let tokens = Tokens::parse(&text, "tokens.toml").unwrap();
        let principal = tokens.authenticate(&token).unwrap();
        assert_eq!(
            (principal.user.as_str(), principal.role),
            ("alice", Role::Supervisor)
        );
        // Remembered: the same answer again.
        assert_eq!(tokens.authenticate(&token).unwrap(), principal);
        for wrong in [
            format!("{token}x"),
            token.replace("alice", "bob"),
            "sb1.alice".into(),
            String::new(),
            "Bearer x".into(),
        ] {
            assert_eq!(
                tokens.authenticate(&wrong).unwrap_err().0,
                "unknown or wrong token",
                "{wrong}"
            );
        }
    }

    #[test]
    fn token_file_mistakes_are_all_reported() {
        let text = "[[user]]\nname = \"a b\"\nrole = \"agent\"\ntoken_hash = \"plain\"\n\
                    [[user]]\nname = \"c\"\nrole = \"admin\"\nagent = \"x\"\ntoken_hash = \"plain\"\n";
        let problem = Tokens::parse(text, "tokens.toml").unwrap_err().0;
        assert!(
            problem.contains("tokens.toml:2:8: user \"a b\": a name is"),
            "{problem}"
        );
        assert!(
            problem.contains("tokens.toml:3:8: user \"a b\": role = \"agent\" needs agent = "),
            "{problem}"
        );
        assert!(
            problem.contains("tokens.toml:8:9: user \"c\": only the agent role"),
            "{problem}"
        );
        assert!(
            problem.contains("tokens.toml:9:14: user \"c\": token_hash is not"),
            "{problem}"
        );
        assert!(Tokens::parse(
            "[[user]]\nname = \"a\"\nrole = \"boss\"\ntoken_hash = \"x\"\n",
            "t"
        )
        .is_err());
    }

    fn principal(role: Role, queues: Option<&[&str]>) -> Principal {
        Principal {
            user: "u".into(),
            role,
            sites: None,
            queues: queues.map(|queues| queues.iter().map(|queue| queue.to_string()).collect()),
            agent: (role == Role::Agent).then(|| "sales-1".to_string()),
        }
    }

    #[test]
    fn each_role_gets_exactly_its_rights() {
        let sales = Place {
            site: Some("shanghai"),
            queues: &["sales"],
        };
        let own = Action::ChangeAgentState {
            agent: "sales-1",
            place: sales,
        };
        let other = Action::ChangeAgentState {
            agent: "sales-2",
            place: sales,
        };
        let reasoned = Action::ExportRecording {
            place: sales,
            reason: Some("complaint 2026-118"),
        };
        let unreasoned = Action::ExportRecording {
            place: sales,
            reason: Some("  "),
        };
        let barge = Action::Barge {
            agent: "sales-2",
            place: sales,
        };
        let transfer_own = Action::TransferCall {
            agent: "sales-1",
            place: sales,
        };
        let transfer_other = Action::TransferCall {
            agent: "sales-2",
            place: sales,
        };
        // (action, agent, supervisor, admin, auditor)
        let table = [
            (Action::ReadStatus, true, true, true, true),
            (own, true, true, true, false),
            (other, false, true, true, false),
            (barge, false, true, false, false),
            (Action::ListQueues, false, true, true, false),
            (Action::ReadConfiguration, false, false, true, false),
            (Action::ChangeConfiguration, false, false, true, false),
            (Action::ReadAuditLog, false, false, false, true),
            (
                Action::SwitchRecording { place: sales },
                false,
                true,
                true,
                false,
            ),
            (
                Action::ReadRecordingMetadata { place: sales },
                false,
                false,
                false,
                true,
            ),
            (reasoned, false, false, false, true),
            (unreasoned, false, false, false, false),
            (transfer_own, true, true, true, false),
            (transfer_other, false, true, true, false),
            (
                Action::CreateContact { place: sales },
                false,
                true,
                true,
                false,
            ),
        ];
        for (action, agent, supervisor, admin, auditor) in table {
            for (role, expected) in [
                (Role::Agent, agent),
                (Role::Supervisor, supervisor),
                (Role::Admin, admin),
                (Role::Auditor, auditor),
            ] {
                assert_eq!(
                    principal(role, None).authorize(action).is_ok(),
                    expected,
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn scopes_limit_supervisors_and_auditors() {
        let support = Place {
            site: Some("beijing"),
            queues: &["support"],
        };
        let supervisor = principal(Role::Supervisor, Some(&["sales"]));
        let denial = supervisor
            .authorize(Action::ReadQueue { place: support })
            .unwrap_err();
        assert!(denial.0.contains("outside the scope"), "{denial}");
        assert!(supervisor
            .authorize(Action::ReadQueue {
                place: Place {
                    site: None,
                    queues: &["sales"]
                }
            })
            .is_ok());
        let mut by_site = principal(Role::Auditor, None);
        by_site.sites = Some(BTreeSet::from(["shanghai".to_string()]));
        assert!(by_site
            .authorize(Action::ReadRecordingMetadata { place: support })
            .is_err());
        assert!(
            !by_site.sees(Place::default()),
            "no site: not inside a site scope"
        );
    }
}

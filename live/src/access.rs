//! Who may call which endpoint of the HTTP API: every protected endpoint names the action it
//! asks for ([`Endpoint::action`]), and [`Access::check`] decides — with per-user tokens and
//! roles through the compliance crate's [`Guard`] (which audits), or with the one shared
//! `[live] api_token` of a lab.
//!
//! The table of endpoints lives here, in one place, so that the router, the OpenAPI
//! document and the role tests all read the same list.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_compliance::guard::{Guard, Refusal};
use switchboard_compliance::roles::{Action, Denial, Place, Principal, Role};
use switchboard_engine::{AgentId, Center, QueueId};

/// Every endpoint that needs a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Metrics,
    Agents,
    Agent,
    AgentContacts,
    AgentLogin,
    AgentLogout,
    AgentReady,
    AgentAux,
    AgentDial,
    /// End the agent's after-contact work before its configured time.
    AgentWrapUpDone,
    OutboundCall,
    Queues,
    Queue,
    EntryPoints,
    SetEntryPoint,
    Audit,
    CallRecording,
    CallTransfer,
    /// The agent's chat socket (a WebSocket; `docs/channels.md`).
    AgentChat,
    /// A one-use ticket that opens the agent's chat socket from a browser (`docs/web.md`).
    AgentChatTicket,
    /// The wallboard's Server-Sent Events (a bearer token or the session cookie).
    WallboardEvents,
    /// Trade a bearer token for the wallboard's session cookie.
    WallboardSession,
    /// Create an e-mail/ticket contact in a queue (`docs/channels.md`).
    QueueContacts,
    /// An e-mail/ticket or chat contact in progress, by its id.
    Contact,
    /// The scenario file's IVR flows, for the editor.
    IvrFlows,
    /// Check an edited flow with the engine's configuration checks.
    CheckIvrFlow,
    /// Write a flow back into the scenario file.
    SaveIvrFlow,
    /// A flow in the Amazon Connect flow language.
    ExportConnectFlow,
    /// An Amazon Connect flow as a Switchboard flow.
    ImportConnectFlow,
}

/// What an endpoint's path parameter names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Nothing,
    Agent,
    Queue,
    EntryPoint,
    /// An outbound call, which belongs to the agent who dialled it.
    OutboundCall,
    /// A call (a contact, by its id), which belongs to the queue it is in.
    Call,
    /// An IVR flow of the scenario file, by its name.
    Flow,
}

impl Endpoint {
    pub const ALL: [Endpoint; 29] = [
        Endpoint::Metrics,
        Endpoint::Agents,
        Endpoint::Agent,
        Endpoint::AgentContacts,
        Endpoint::AgentLogin,
        Endpoint::AgentLogout,
        Endpoint::AgentReady,
        Endpoint::AgentAux,
        Endpoint::AgentDial,
        Endpoint::AgentWrapUpDone,
        Endpoint::OutboundCall,
        Endpoint::Queues,
        Endpoint::Queue,
        Endpoint::EntryPoints,
        Endpoint::SetEntryPoint,
        Endpoint::Audit,
        Endpoint::CallRecording,
        Endpoint::CallTransfer,
        Endpoint::AgentChat,
        Endpoint::AgentChatTicket,
        Endpoint::WallboardEvents,
        Endpoint::WallboardSession,
        Endpoint::QueueContacts,
        Endpoint::Contact,
        Endpoint::IvrFlows,
        Endpoint::CheckIvrFlow,
        Endpoint::SaveIvrFlow,
        Endpoint::ExportConnectFlow,
        Endpoint::ImportConnectFlow,
    ];

    /// The HTTP method and the route, as the router and the OpenAPI document spell them.
    pub fn route(self) -> (&'static str, &'static str) {
        match self {
            Endpoint::Metrics => ("GET", "/metrics"),
            Endpoint::Agents => ("GET", "/agents"),
            Endpoint::Agent => ("GET", "/agents/{agent}"),
            Endpoint::AgentContacts => ("GET", "/agents/{agent}/contacts"),
            Endpoint::AgentLogin => ("POST", "/agents/{agent}/login"),
            Endpoint::AgentLogout => ("POST", "/agents/{agent}/logout"),
            Endpoint::AgentReady => ("POST", "/agents/{agent}/ready"),
            Endpoint::AgentAux => ("POST", "/agents/{agent}/aux"),
            Endpoint::AgentDial => ("POST", "/agents/{agent}/dial"),
            Endpoint::AgentWrapUpDone => ("POST", "/agents/{agent}/wrap-up-done"),
            Endpoint::OutboundCall => ("GET", "/outbound-calls/{call}"),
            Endpoint::Queues => ("GET", "/queues"),
            Endpoint::Queue => ("GET", "/queues/{queue}"),
            Endpoint::EntryPoints => ("GET", "/entry-points"),
            Endpoint::SetEntryPoint => ("PUT", "/entry-points/{entry}"),
            Endpoint::Audit => ("GET", "/audit"),
            Endpoint::CallRecording => ("POST", "/calls/{contact}/recording"),
            Endpoint::CallTransfer => ("POST", "/calls/{contact}/transfer"),
            Endpoint::AgentChat => ("GET", "/agents/{agent}/chat"),
            Endpoint::AgentChatTicket => ("POST", "/agents/{agent}/chat/ticket"),
            Endpoint::WallboardEvents => ("GET", "/wallboard/events"),
            Endpoint::WallboardSession => ("POST", "/wallboard/session"),
            Endpoint::QueueContacts => ("POST", "/queues/{queue}/contacts"),
            Endpoint::Contact => ("GET", "/contacts/{contact}"),
            Endpoint::IvrFlows => ("GET", "/ivr/flows"),
            Endpoint::CheckIvrFlow => ("POST", "/ivr/flows/{flow}/check"),
            Endpoint::SaveIvrFlow => ("PUT", "/ivr/flows/{flow}"),
            Endpoint::ExportConnectFlow => ("POST", "/ivr/connect/export"),
            Endpoint::ImportConnectFlow => ("POST", "/ivr/connect/import"),
        }
    }

    /// Whether the wallboard's session cookie stands for a bearer token here: only on the
    /// wallboard's stream, which a browser's `EventSource` opens without headers of its own.
    pub fn takes_session_cookie(self) -> bool {
        self == Endpoint::WallboardEvents
    }

    /// Whether a one-use ticket (`?ticket=`, `crate::desk::chat_ticket`) stands for a bearer
    /// token here: only on the agent's chat socket, which a browser's `WebSocket` opens
    /// without headers of its own.
    pub fn takes_chat_ticket(self) -> bool {
        self == Endpoint::AgentChat
    }

    pub fn subject(self) -> Subject {
        match self {
            Endpoint::Agent
            | Endpoint::AgentContacts
            | Endpoint::AgentLogin
            | Endpoint::AgentLogout
            | Endpoint::AgentReady
            | Endpoint::AgentAux
            | Endpoint::AgentDial
            | Endpoint::AgentWrapUpDone
            | Endpoint::AgentChat
            | Endpoint::AgentChatTicket => Subject::Agent,
            Endpoint::OutboundCall => Subject::OutboundCall,
            Endpoint::Queue | Endpoint::QueueContacts => Subject::Queue,
            Endpoint::SetEntryPoint => Subject::EntryPoint,
            // A contact, like a call, belongs to the queue it is in.
            Endpoint::CallRecording | Endpoint::CallTransfer | Endpoint::Contact => Subject::Call,
            Endpoint::CheckIvrFlow | Endpoint::SaveIvrFlow => Subject::Flow,
            Endpoint::Metrics
            | Endpoint::Agents
            | Endpoint::Queues
            | Endpoint::EntryPoints
            | Endpoint::Audit
            | Endpoint::WallboardEvents
            | Endpoint::WallboardSession
            | Endpoint::IvrFlows
            | Endpoint::ExportConnectFlow
            | Endpoint::ImportConnectFlow => Subject::Nothing,
        }
    }

    /// The action the endpoint asks for, about `subject` (the path parameter; for an
    /// outbound call, the agent it belongs to; for a call's transfer, the agent on the call)
    /// at `place`.
    pub fn action<'a>(self, subject: &'a str, place: Place<'a>) -> Action<'a> {
        match self {
            Endpoint::Metrics => Action::ReadStatus,
            Endpoint::Agents => Action::ListAgents,
            Endpoint::Agent => Action::ReadAgent {
                agent: subject,
                place,
            },
            // An outbound call is one of its agent's contacts.
            Endpoint::AgentContacts | Endpoint::OutboundCall => Action::ReadAgentContacts {
                agent: subject,
                place,
            },
            Endpoint::AgentLogin
            | Endpoint::AgentLogout
            | Endpoint::AgentReady
            | Endpoint::AgentAux
            | Endpoint::AgentWrapUpDone
            // Dialling puts the agent on a call (and in aux while it lasts).
            | Endpoint::AgentDial
            // The socket logs the agent in, sets it ready and answers its offers; a ticket
            // opens that socket.
            | Endpoint::AgentChat
            | Endpoint::AgentChatTicket => Action::ChangeAgentState {
                agent: subject,
                place,
            },
            // The wallboard lists queues and their agents, each shown only in scope.
            Endpoint::Queues | Endpoint::WallboardEvents | Endpoint::WallboardSession => {
                Action::ListQueues
            }
            // A contact's state is part of its queue's.
            Endpoint::Queue | Endpoint::Contact => Action::ReadQueue { place },
            Endpoint::QueueContacts => Action::CreateContact { place },
            // Checking and converting a flow read the configuration and change nothing.
            Endpoint::EntryPoints
            | Endpoint::IvrFlows
            | Endpoint::CheckIvrFlow
            | Endpoint::ExportConnectFlow
            | Endpoint::ImportConnectFlow => Action::ReadConfiguration,
            Endpoint::SetEntryPoint | Endpoint::SaveIvrFlow => Action::ChangeConfiguration,
            Endpoint::Audit => Action::ReadAuditLog,
            Endpoint::CallRecording => Action::SwitchRecording { place },
            Endpoint::CallTransfer => Action::TransferCall {
                agent: subject,
                place,
            },
        }
    }

    /// What the audit log names as the target: `agent/sales-1`, `queues`, `entry-point/4000`.
    /// Whether an allowed request is audited once its answer is known rather than before it
    /// is carried out: creating a contact, which the word list can still refuse (a ticket
    /// with a blocked word is not created, and its record must not say `allowed`).
    pub fn is_audited_after_its_answer(self) -> bool {
        self == Endpoint::QueueContacts
    }

    pub fn target(self, subject: &str) -> String {
        if self == Endpoint::Contact {
            return format!("contact/{subject}");
        }
        match self.subject() {
            Subject::Agent => format!("agent/{subject}"),
            Subject::Queue => format!("queue/{subject}"),
            Subject::EntryPoint => format!("entry-point/{subject}"),
            Subject::OutboundCall => format!("outbound-call/{subject}"),
            Subject::Call => format!("call/{subject}"),
            Subject::Flow => format!("ivr-flow/{subject}"),
            Subject::Nothing => self.route().1.trim_start_matches('/').to_string(),
        }
    }
}

/// The site and the queues something belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Belonging {
    pub site: Option<String>,
    pub queues: Vec<String>,
}

/// Where every agent and queue belongs, read from the center once (it does not change while
/// the runtime runs), for the scope checks of [`Principal::sees`]. An agent belongs to its
/// group's site and to every queue it could serve; a queue to its site and itself.
#[derive(Clone, Debug, Default)]
pub struct Places {
    agents: BTreeMap<String, Belonging>,
    queues: BTreeMap<String, Belonging>,
}

impl Places {
    pub fn of(center: &Center) -> Places {
        let site_name = |site: Option<switchboard_engine::SiteId>| {
            site.map(|site| center.site_name(site).to_string())
        };
        let agents = (0..center.agent_count() as u32)
            .map(AgentId)
            .map(|agent| {
                let belonging = Belonging {
                    site: site_name(center.agent_site(agent)),
                    queues: center
                        .queues_served(agent)
                        .into_iter()
                        .map(|queue| center.queue_name(queue).to_string())
                        .collect(),
                };
                (center.agent_name(agent).to_string(), belonging)
            })
            .collect();
        let queues = (0..center.queue_count() as u32)
            .map(QueueId)
            .map(|queue| {
                let name = center.queue_name(queue).to_string();
                let belonging = Belonging {
                    site: site_name(center.queue_site(queue)),
                    queues: vec![name.clone()],
                };
                (name, belonging)
            })
            .collect();
        Places { agents, queues }
    }

    /// Where `name` belongs; nowhere (no site, no queue) when it is unknown, which only an
    /// unscoped user sees — and then gets the 404 of the unknown name.
    pub fn of_subject(&self, subject: Subject, name: &str) -> Belonging {
        let table = match subject {
            Subject::Agent => &self.agents,
            Subject::Queue => &self.queues,
            Subject::EntryPoint
            | Subject::OutboundCall
            | Subject::Call
            | Subject::Flow
            | Subject::Nothing => return Belonging::default(),
        };
        table.get(name).cloned().unwrap_or_default()
    }

    pub fn agent(&self, name: &str) -> Belonging {
        self.of_subject(Subject::Agent, name)
    }

    pub fn queue(&self, name: &str) -> Belonging {
        self.of_subject(Subject::Queue, name)
    }
}

/// `Principal::sees` for a [`Belonging`].
pub fn sees(principal: &Principal, belonging: &Belonging) -> bool {
    let queues: Vec<&str> = belonging.queues.iter().map(String::as_str).collect();
    principal.sees(Place {
        site: belonging.site.as_deref(),
        queues: &queues,
    })
}

/// Whose an endpoint's subject is, as the switch knows it: the agent an outbound call belongs
/// to, or the queue a call is in and the agent it is connected to. Nothing for an unknown one.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Owner {
    pub queue: Option<String>,
    pub agent: Option<String>,
}

/// The user name the shared `[live] api_token` acts as.
pub const SHARED_TOKEN_USER: &str = "api_token";

/// How requests are checked.
#[derive(Clone)]
pub enum Access {
    /// The one `[live] api_token` of a lab: every endpoint but the audit log's (there is no
    /// audit log without `[live.compliance]`), nothing audited. Without a token every
    /// protected endpoint answers 401.
    Shared(Option<String>),
    /// `[live.compliance]`: per-user tokens, roles and scopes, and the audit log.
    Guarded(Arc<Guard>),
}

impl Access {
    /// Check one request: the bearer `token` (without `Bearer `) asks `endpoint` about
    /// `subject` (its path parameter, empty when it has none); `owner` says whose the subject
    /// is (none when it is unknown): an outbound call's agent, a call's queue and the agent
    /// it talks to. `now_unix_ms` stamps the audit record. Argon2 verification and the audit
    /// log's disk writes happen here, so an async caller runs it on a blocking thread.
    ///
    /// For an endpoint [`Endpoint::is_audited_after_its_answer`], an allowed request is not
    /// audited here: the caller answers it, then reports with [`Access::report_answer`].
    pub fn check(
        &self,
        token: Option<&str>,
        endpoint: Endpoint,
        subject: &str,
        owner: &Owner,
        places: &Places,
        now_unix_ms: i64,
    ) -> Result<Principal, Refusal> {
        let (kind, name) = match endpoint.subject() {
            Subject::OutboundCall => (Subject::Agent, owner.agent.as_deref().unwrap_or_default()),
            Subject::Call => (Subject::Queue, owner.queue.as_deref().unwrap_or_default()),
            kind => (kind, subject),
        };
        let belonging = places.of_subject(kind, name);
        let queues: Vec<&str> = belonging.queues.iter().map(String::as_str).collect();
        let place = Place {
            site: belonging.site.as_deref(),
            queues: &queues,
        };
        let acting_on = match endpoint {
            Endpoint::CallTransfer => owner.agent.as_deref().unwrap_or_default(),
            _ => name,
        };
        let action = endpoint.action(acting_on, place);
        match self {
            Access::Guarded(guard) if endpoint.is_audited_after_its_answer() => {
                guard.check_before_trying(token, action, &endpoint.target(subject), now_unix_ms)
            }
            Access::Guarded(guard) => {
                guard.check(token, action, &endpoint.target(subject), now_unix_ms)
            }
            Access::Shared(expected) => {
                let matches = match (expected, token) {
                    (Some(expected), Some(given)) => {
                        same_token(given.as_bytes(), expected.as_bytes())
                    }
                    _ => false,
                };
                if !matches {
                    return Err(Refusal::Unauthenticated(Denial(
                        "missing or wrong bearer token".into(),
                    )));
                }
                if action == Action::ReadAuditLog {
                    return Err(Refusal::Forbidden(Denial(
                        "the shared api_token does not read the audit log (per-user tokens of \
                         [live.compliance] do, with the auditor role)"
                            .into(),
                    )));
                }
                Ok(Principal {
                    user: SHARED_TOKEN_USER.into(),
                    role: Role::Admin,
                    sites: None,
                    queues: None,
                    agent: None,
                })
            }
        }
    }

    /// Audit an allowed request of an endpoint [`Endpoint::is_audited_after_its_answer`] once
    /// it is answered: `allowed` when it was carried out, `failed` with why (`failure`) when
    /// not. Nothing to do with the shared token, which audits nothing.
    pub fn report_answer(
        &self,
        principal: &Principal,
        endpoint: Endpoint,
        subject: &str,
        failure: Option<&str>,
        now_unix_ms: i64,
    ) -> Result<(), Refusal> {
        let Access::Guarded(guard) = self else {
            return Ok(());
        };
        debug_assert!(endpoint.is_audited_after_its_answer());
        // The record names the action and its target; the scope was checked before.
        let action = endpoint.action(subject, Place::default());
        guard.report_carried_out(
            principal,
            action,
            &endpoint.target(subject),
            failure,
            now_unix_ms,
        )
    }

    /// The guard, when requests are checked by role.
    pub fn guard(&self) -> Option<&Arc<Guard>> {
        match self {
            Access::Guarded(guard) => Some(guard),
            Access::Shared(_) => None,
        }
    }
}

/// Compare without stopping at the first difference, so timing tells nothing about the token.
pub(crate) fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_endpoints_of_the_table() {
        let document: serde_json::Value =
            serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("security").is_some() {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        let mut table: Vec<(String, String)> = Endpoint::ALL
            .iter()
            .map(|endpoint| {
                let (method, path) = endpoint.route();
                (method.to_string(), path.to_string())
            })
            .collect();
        documented.sort();
        table.sort();
        assert_eq!(documented, table);
    }

    #[test]
    fn agents_belong_to_their_site_and_the_queues_they_could_serve() {
        let config: switchboard_engine::config::CenterConfig = toml::from_str(
            r#"
            [[site]]
            name = "shanghai"
            [[queue]]
            name = "sales"
            channel = "voice"
            skills = ["sales"]
            [[queue]]
            name = "billing"
            channel = "voice"
            skills = ["billing"]
            [[agents]]
            name = "both"
            count = 1
            skills = ["sales", "billing"]
            site = "shanghai"
            [[agents]]
            name = "sales-team"
            count = 1
            skills = ["sales"]
            "#,
        )
        .unwrap();
        let places = Places::of(&Center::new(config).unwrap());
        assert_eq!(
            places.agent("both-1"),
            Belonging {
                site: Some("shanghai".into()),
                queues: vec!["sales".into(), "billing".into()],
            }
        );
        assert_eq!(places.agent("sales-team-1").queues, ["sales"]);
        assert_eq!(places.agent("nobody"), Belonging::default());
        assert_eq!(places.queue("billing").queues, ["billing"]);

        let scoped = Principal {
            user: "bill".into(),
            role: Role::Supervisor,
            sites: None,
            queues: Some(["billing".to_string()].into()),
            agent: None,
        };
        assert!(sees(&scoped, &places.agent("both-1")));
        assert!(!sees(&scoped, &places.agent("sales-team-1")));
    }

    #[test]
    fn the_shared_token_may_do_everything_but_read_the_audit_log() {
        let access = Access::Shared(Some("t".into()));
        let places = Places::default();
        let status = |token: Option<&str>, endpoint: Endpoint| {
            access
                .check(token, endpoint, "a", &Owner::default(), &places, 0)
                .map(|_| 200)
                .unwrap_or_else(|refusal| refusal.status())
        };
        assert_eq!(status(None, Endpoint::Agents), 401);
        assert_eq!(status(Some("u"), Endpoint::Agents), 401);
        assert_eq!(status(Some("t"), Endpoint::Agents), 200);
        assert_eq!(status(Some("t"), Endpoint::SetEntryPoint), 200);
        assert_eq!(status(Some("t"), Endpoint::Audit), 403);
        assert_eq!(status(Some("t"), Endpoint::AgentContacts), 200);
        assert_eq!(status(Some("t"), Endpoint::OutboundCall), 200);
        assert_eq!(status(None, Endpoint::Metrics), 401);
        let closed = Access::Shared(None);
        assert!(closed
            .check(
                Some(""),
                Endpoint::Metrics,
                "",
                &Owner::default(),
                &places,
                0
            )
            .is_err());
    }
}

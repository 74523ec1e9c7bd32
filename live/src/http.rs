//! The HTTP API (axum): agent state changes, queue and agent state, the calls an agent is on,
//! entry points, the audit log, health, metrics and the OpenAPI document.
//!
//! Every route but `/health`, `/openapi.json` and the wallboard's page (`crate::wallboard`)
//! needs `Authorization: Bearer` (or, on the wallboard's stream, its session cookie; on the
//! agent's chat socket, a one-use ticket from `POST /agents/{agent}/chat/ticket`). The check
//! lives in one place, [`authorize`], a layer in front of each protected route that asks
//! [`Access::check`] whether the token's user may do what the route's [`Endpoint`] does: a
//! missing or wrong token gets 401, a token without the right 403, and neither changes
//! anything (with `[live.compliance]` both are audited). Every JSON answer has its personal
//! data masked (`[live.compliance] mask`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_compliance::audit::{Entry, Outcome};
use switchboard_compliance::guard::Refusal;
use switchboard_compliance::mask::Masker;
use switchboard_compliance::roles::Principal;
use switchboard_engine::AuxReason;

use crate::access::{sees, Access, Endpoint, Owner, Places, Subject};
use crate::api::{error_json, http_status, Command, CommandError, Reply};
use crate::runtime::SwitchHandle;

/// The OpenAPI document, kept beside the code it describes.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Audit records one `GET /audit` returns at most.
pub const AUDIT_PAGE_RECORDS: usize = 1_000;

/// What the API needs beside the switch.
pub struct ApiSettings {
    pub access: Access,
    /// Where agents and queues belong, for scoped users (`Places::of` the center).
    pub places: Places,
    /// Applied to every JSON answer.
    pub masker: Masker,
    /// The chat sockets, shared with the switch's loop (`LoopOptions::chat`).
    pub chat: crate::chat::ChatSockets,
    /// `[live.chat]`'s webhook, when it is set.
    pub chat_webhook: Option<crate::config::ChatWebhookConfig>,
    /// The IVR editor's scenario file and check (`crate::editor`).
    pub editor: Arc<crate::editor::FlowEditor>,
}

#[derive(Clone)]
struct ApiState {
    switch: SwitchHandle,
    access: Access,
    places: Arc<Places>,
    masker: Arc<Masker>,
    chat: crate::chat::ChatSockets,
    chat_webhook: Option<Arc<crate::chat_webhook::ChatWebhook>>,
    wallboard: Arc<crate::wallboard::Wallboard>,
    editor: Arc<crate::editor::FlowEditor>,
    chat_tickets: Arc<crate::desk::chat_ticket::ChatTickets>,
}

pub fn router(switch: SwitchHandle, settings: ApiSettings) -> Router {
    let chat_webhook = settings.chat_webhook.as_ref().map(|config| {
        crate::chat_webhook::ChatWebhook::start(config, switch.clone(), settings.chat.clone())
    });
    let state = ApiState {
        chat_webhook,
        wallboard: crate::wallboard::Wallboard::new(switch.clone()),
        switch,
        access: settings.access,
        places: Arc::new(settings.places),
        masker: Arc::new(settings.masker),
        chat: settings.chat,
        editor: settings.editor,
        chat_tickets: Arc::default(),
    };
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/chat/{entry}", get(customer_chat))
        .route("/chat/webhook", post(webhook_message));
    for endpoint in Endpoint::ALL {
        let handler: MethodRouter<ApiState> = match endpoint {
            Endpoint::Metrics => get(metrics),
            Endpoint::Agents => get(agents),
            Endpoint::Agent => get(agent),
            Endpoint::AgentContacts => get(agent_contacts),
            Endpoint::AgentLogin => post(login),
            Endpoint::AgentLogout => post(logout),
            Endpoint::AgentReady => post(ready),
            Endpoint::AgentAux => post(aux),
            Endpoint::AgentDial => post(dial),
            Endpoint::AgentWrapUpDone => post(wrap_up_done),
            Endpoint::OutboundCall => get(outbound_call),
            Endpoint::Queues => get(queues),
            Endpoint::Queue => get(queue),
            Endpoint::EntryPoints => get(entry_points),
            Endpoint::SetEntryPoint => put(set_entry_point),
            Endpoint::Audit => get(audit),
            Endpoint::CallRecording => post(call_recording),
            Endpoint::CallTransfer => post(call_transfer),
            Endpoint::AgentChat => get(agent_chat),
            Endpoint::AgentChatTicket => post(agent_chat_ticket),
            Endpoint::WallboardEvents => get(wallboard_events),
            Endpoint::WallboardSession => post(wallboard_session),
            Endpoint::QueueContacts => post(create_contact),
            Endpoint::Contact => get(contact),
            Endpoint::IvrFlows => get(ivr_flows),
            Endpoint::CheckIvrFlow => post(check_ivr_flow),
            Endpoint::SaveIvrFlow => put(save_ivr_flow),
            Endpoint::ExportConnectFlow => post(crate::editor::export_connect),
            Endpoint::ImportConnectFlow => post(crate::editor::import_connect),
        };
        let layer = middleware::from_fn_with_state((state.clone(), endpoint), authorize);
        router = router.route(endpoint.route().1, handler.route_layer(layer));
    }
    router
        .merge(crate::wallboard::page_routes())
        .merge(crate::desk::page_routes())
        .merge(crate::editor::page_routes())
        .with_state(state)
}

fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

fn error_response(error: CommandError) -> Response {
    let status =
        StatusCode::from_u16(http_status(&error)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error_json(&error))).into_response()
}

fn refusal_response(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = Json(json!({ "error": refusal.message() }));
    if status == StatusCode::UNAUTHORIZED {
        (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
    } else {
        (status, body).into_response()
    }
}

fn json_answer(state: &ApiState, mut value: serde_json::Value) -> Response {
    state.masker.mask_json(&mut value);
    Json(value).into_response()
}

async fn ask(state: &ApiState, command: Command) -> Result<Reply, Response> {
    state.switch.ask(command).await.map_err(error_response)
}

async fn answer(state: &ApiState, command: Command) -> Response {
    match ask(state, command).await {
        Ok(reply) => reply_response(state, reply),
        Err(response) => response,
    }
}

fn reply_response(state: &ApiState, reply: Reply) -> Response {
    match reply.into_json() {
        Ok(value) => json_answer(state, value),
        Err(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string)
}

/// The one authorization check, in front of every protected route: the token's user may do
/// what `endpoint` does to the path's subject, or the request ends here with 401 or 403
/// (503 when the refusal or the request cannot be audited) and changes nothing. The user
/// goes on to the handler as an extension, for answers filtered by scope.
async fn authorize(
    State((state, endpoint)): State<(ApiState, Endpoint)>,
    parameters: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let token = bearer(request.headers()).or_else(|| {
        endpoint
            .takes_session_cookie()
            .then(|| {
                state
                    .wallboard
                    .session_token(request.headers(), now_unix_ms())
            })
            .flatten()
    });
    let subject = parameters
        .iter()
        .next()
        .map(|(_, value)| value.to_string())
        .unwrap_or_default();
    let token = token.or_else(|| {
        endpoint
            .takes_chat_ticket()
            .then(|| crate::desk::chat_ticket::ticket_in_query(request.uri().query()))
            .flatten()
            .and_then(|ticket| state.chat_tickets.redeem(ticket, &subject, now_unix_ms()))
    });
    // An outbound call belongs to the agent who dialled it, a call to its queue and its
    // agent: the switch says which.
    let owner = match endpoint.subject() {
        Subject::OutboundCall => match state
            .switch
            .ask(Command::OutboundCall {
                call: subject.clone(),
            })
            .await
        {
            Ok(Reply::OutboundCall(call)) => Owner {
                agent: Some(call.agent),
                queue: None,
            },
            _ => Owner::default(),
        },
        Subject::Call => match state
            .switch
            .ask(Command::CallOwner {
                contact: subject.clone(),
            })
            .await
        {
            Ok(Reply::CallOwner(owner)) => owner,
            _ => Owner::default(),
        },
        _ => Owner::default(),
    };
    let access = state.access.clone();
    let access_is_guarded = access.guard().is_some();
    let places = state.places.clone();
    let audited_after_answer = access_is_guarded && endpoint.is_audited_after_its_answer();
    let report = audited_after_answer.then(|| (access.clone(), subject.clone()));
    let check = move || {
        access.check(
            token.as_deref(),
            endpoint,
            &subject,
            &owner,
            &places,
            now_unix_ms(),
        )
    };
    // Argon2 verification of a token's first use and the audit log's writes block; the
    // shared token's comparison does not, and stays on this task so that a replay's timed
    // requests keep their time.
    let checked = if access_is_guarded {
        tokio::task::spawn_blocking(check).await
    } else {
        Ok(check())
    };
    match checked {
        Ok(Ok(principal)) => {
            request.extensions_mut().insert(principal.clone());
            let response = next.run(request).await;
            match report {
                Some((access, subject)) => {
                    report_answer(access, principal, endpoint, subject, response).await
                }
                None => response,
            }
        }
        Ok(Err(refusal)) => {
            tracing::info!(
                endpoint = endpoint.route().1,
                status = refusal.status(),
                reason = refusal.message(),
                "API request refused"
            );
            refusal_response(&refusal)
        }
        Err(_) => refusal_response(&Refusal::AuditUnavailable(
            "the authorization check failed".into(),
        )),
    }
}

/// Why a handler did not carry out an allowed request, for its audit record
/// ([`Endpoint::is_audited_after_its_answer`]): put in the response's extensions.
#[derive(Clone, Copy, Debug)]
struct NotCarriedOut(&'static str);

/// The audit record of an allowed request once it is answered: `failed` with the handler's
/// [`NotCarriedOut`] (or the status it answered) when it was not carried out. The request was
/// answered already, so a record that cannot be written changes nothing of it; it is logged.
async fn report_answer(
    access: Access,
    principal: Principal,
    endpoint: Endpoint,
    subject: String,
    response: Response,
) -> Response {
    let status = response.status();
    let failure = match response.extensions().get::<NotCarriedOut>() {
        Some(NotCarriedOut(why)) => Some(why.to_string()),
        None if !status.is_success() => Some(format!("answered {}", status.as_u16())),
        None => None,
    };
    let report = move || {
        access.report_answer(
            &principal,
            endpoint,
            &subject,
            failure.as_deref(),
            now_unix_ms(),
        )
    };
    match tokio::task::spawn_blocking(report).await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => tracing::error!(
            endpoint = endpoint.route().1,
            problem = refusal.message(),
            "an answered request could not be audited"
        ),
        Err(_) => tracing::error!(
            endpoint = endpoint.route().1,
            "an answered request could not be audited"
        ),
    }
    response
}

async fn health(State(state): State<ApiState>) -> Response {
    answer(&state, Command::Health).await
}

async fn metrics(State(state): State<ApiState>) -> Response {
    answer(&state, Command::Metrics).await
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// Every agent inside the user's scope.
async fn agents(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    match ask(&state, Command::Agents).await {
        Ok(Reply::Agents(mut agents)) => {
            agents.retain(|agent| sees(&principal, &state.places.agent(&agent.id)));
            reply_response(&state, Reply::Agents(agents))
        }
        Ok(reply) => reply_response(&state, reply),
        Err(response) => response,
    }
}

async fn agent(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::Agent { agent }).await
}

async fn agent_contacts(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentContacts { agent }).await
}

/// Every queue inside the user's scope.
async fn queues(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    match ask(&state, Command::Queues).await {
        Ok(Reply::Queues(mut queues)) => {
            queues.retain(|queue| sees(&principal, &state.places.queue(&queue.name)));
            reply_response(&state, Reply::Queues(queues))
        }
        Ok(reply) => reply_response(&state, reply),
        Err(response) => response,
    }
}

async fn queue(State(state): State<ApiState>, Path(queue): Path<String>) -> Response {
    answer(&state, Command::Queue { queue }).await
}

async fn login(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentLogin { agent }).await
}

async fn logout(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentLogout { agent }).await
}

async fn ready(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentReady { agent }).await
}

async fn wrap_up_done(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentWrapUpDone { agent }).await
}

fn bad_request(expected: &str, error: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": format!("expected {expected}: {error}") })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct AuxBody {
    reason: AuxReason,
}

async fn aux(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let reason = match serde_json::from_slice::<AuxBody>(&body) {
        Ok(body) => body.reason,
        Err(error) => {
            return bad_request(r#"{"reason": "break|meeting|training|other"}"#, error);
        }
    };
    answer(&state, Command::AgentAux { agent, reason }).await
}

async fn entry_points(State(state): State<ApiState>) -> Response {
    answer(&state, Command::EntryPoints).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryPointBody {
    target: String,
}

/// Point a DID at a queue or a flow; the change, with the old and the new target, is
/// appended to the audit log after the authorization's record.
async fn set_entry_point(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(entry): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = match serde_json::from_slice::<EntryPointBody>(&body) {
        Ok(body) => body.target,
        Err(error) => return bad_request(r#"{"target": "QUEUE-OR-FLOW"}"#, error),
    };
    let reply = match ask(&state, Command::SetEntryPoint { entry, target }).await {
        Ok(reply) => reply,
        Err(response) => return response,
    };
    if let Reply::EntryPoint(change) = &reply {
        record_configuration_change(
            &state,
            &principal,
            format!("entry-point/{}", change.entry),
            json!({ "previous": change.previous, "target": change.target }),
        )
        .await;
    }
    reply_response(&state, reply)
}

/// Appends a configuration change to the audit log (with `[live.compliance]`), after the
/// authorization's record.
async fn record_configuration_change(
    state: &ApiState,
    principal: &Principal,
    target: String,
    detail: serde_json::Value,
) {
    let Some(guard) = state.access.guard() else {
        return;
    };
    let entry = Entry {
        time_unix_ms: now_unix_ms(),
        actor: principal.user.clone(),
        role: Some(principal.role.name().to_string()),
        action: "config.changed".into(),
        target: target.clone(),
        outcome: Outcome::Allowed,
        detail,
    };
    let guard = guard.clone();
    let recorded = tokio::task::spawn_blocking(move || guard.record_event(entry)).await;
    if !matches!(recorded, Ok(Ok(_))) {
        // Done but not recorded: say so loudly; the change itself cannot be unmade here
        // without racing calls that already use it.
        tracing::error!(%target, "a configuration change could not be audited");
    }
}

/// The scenario file's IVR flows, for the editor (`crate::editor`).
async fn ivr_flows(State(state): State<ApiState>) -> Response {
    let editor = state.editor.clone();
    match tokio::task::spawn_blocking(move || editor.flows()).await {
        Ok(Ok(flows)) => Json(flows).into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The problems of an edited flow, as `switchboard check` would report them on the file.
async fn check_ivr_flow(
    State(state): State<ApiState>,
    Path(flow): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let editor = state.editor.clone();
    match tokio::task::spawn_blocking(move || editor.check(&flow, &body)).await {
        Ok(Ok(problems)) => Json(json!({ "problems": problems })).into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Writes an edited flow into the scenario file, when the file then passes the check; the
/// change is audited.
async fn save_ivr_flow(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(flow): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match state.editor.save(&flow, &body).await {
        Ok(saved) => {
            record_configuration_change(
                &state,
                &principal,
                format!("ivr-flow/{}", saved.flow),
                json!({ "file": saved.file, "added": saved.added, "nodes": saved.nodes }),
            )
            .await;
            Json(json!({ "saved": saved, "problems": [] })).into_response()
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    from: u64,
    limit: Option<usize>,
}

/// Records of the audit log from index `from`, at most `limit` (and
/// [`AUDIT_PAGE_RECORDS`]), as they are stored: an auditor can check their chain.
async fn audit(
    State(state): State<ApiState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(error) => return bad_request("?from=INDEX&limit=COUNT", error),
    };
    let Some(guard) = state.access.guard() else {
        return error_response(CommandError::Invalid(
            "no audit log: [live.compliance] is not set".into(),
        ));
    };
    let path = guard.audit_folder().join("log.jsonl");
    let limit = query
        .limit
        .unwrap_or(AUDIT_PAGE_RECORDS)
        .min(AUDIT_PAGE_RECORDS);
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<serde_json::Value> {
        use std::io::BufRead;
        let file = std::io::BufReader::new(std::fs::File::open(&path)?);
        let mut records = Vec::new();
        let mut size = 0u64;
        for line in file.lines() {
            let line = line?;
            if size >= query.from && records.len() < limit {
                let record: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
                records.push(record);
            }
            size += 1;
        }
        Ok(json!({ "size": size, "from": query.from, "records": records }))
    })
    .await;
    match read {
        Ok(Ok(value)) => Json(value).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "the audit log cannot be read" })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialBody {
    to: String,
    #[serde(default)]
    trunk: Option<String>,
}

/// Click-to-dial: the agent's phone rings first, then the customer is called (`docs/live.md`).
async fn dial(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match serde_json::from_slice::<DialBody>(&body) {
        Ok(body) => body,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("expected {{\"to\": \"NUMBER\", \"trunk\": \"NAME\"}} (trunk optional): {error}") })),
            )
                .into_response()
        }
    };
    answer(
        &state,
        Command::Dial {
            agent,
            to: body.to,
            trunk: body.trunk,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingBody {
    on: bool,
}

/// Turn a call's recording on or off (`docs/media.md`).
async fn call_recording(
    State(state): State<ApiState>,
    Path(contact): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match serde_json::from_slice::<RecordingBody>(&body) {
        Ok(body) => body,
        Err(error) => return bad_request(r#"{"on": true} or {"on": false}"#, error),
    };
    answer(
        &state,
        Command::SetRecording {
            contact,
            on: body.on,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    queue: Option<String>,
    agent: Option<String>,
}

/// Blind transfer of a connected call to a queue or an agent (`docs/live.md`).
async fn call_transfer(
    State(state): State<ApiState>,
    Path(contact): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match serde_json::from_slice::<TransferBody>(&body) {
        Ok(body) => body,
        Err(error) => return bad_request(r#"{"queue": "NAME"} or {"agent": "NAME"}"#, error),
    };
    answer(
        &state,
        Command::TransferCall {
            contact,
            queue: body.queue,
            agent: body.agent,
        },
    )
    .await
}

async fn wallboard_events(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    crate::wallboard::events(
        state.wallboard.clone(),
        state.places.clone(),
        principal,
        &headers,
    )
    .await
}

async fn wallboard_session(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    crate::wallboard::open_session(&state.wallboard, bearer(&headers), now_unix_ms())
}

/// `POST /agents/{agent}/chat/ticket`: the bearer token, already checked, becomes a one-use
/// ticket for the agent's chat socket (`crate::desk::chat_ticket`).
async fn agent_chat_ticket(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "expected an Authorization: Bearer token" })),
        )
            .into_response();
    };
    match state.chat_tickets.issue(&agent, token, now_unix_ms()) {
        Ok(ticket) => Json(json!({
            "ticket": ticket,
            "expires_in_ms": crate::desk::chat_ticket::TICKET_MS,
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": format!("cannot draw a ticket: {error}") })),
        )
            .into_response(),
    }
}

async fn outbound_call(State(state): State<ApiState>, Path(call): Path<String>) -> Response {
    answer(&state, Command::OutboundCall { call }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerChatQuery {
    customer: Option<String>,
}

/// A customer's chat socket on an entry point (`docs/channels.md`).
async fn customer_chat(
    State(state): State<ApiState>,
    Path(entry): Path<String>,
    query: Result<Query<CustomerChatQuery>, QueryRejection>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let customer = match query {
        Ok(Query(query)) => query.customer,
        Err(error) => return bad_request("?customer=ID (optional)", error),
    };
    crate::chat::customer_socket(upgrade, entry, customer, state.switch, state.chat)
}

/// `POST /queues/{queue}/contacts`: an e-mail/ticket contact (`docs/channels.md`); 201 with
/// its state, or 400 naming the field that is wrong.
async fn create_contact(
    State(state): State<ApiState>,
    Path(queue): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let ticket = match crate::ticket::read_new_ticket(&body) {
        Ok(ticket) => ticket,
        Err(error) => {
            let body = json!({ "error": error.to_string(), "field": error.field });
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    match state
        .switch
        .ask(Command::CreateTicket { queue, ticket })
        .await
    {
        Ok(reply) => {
            let mut response = reply_response(&state, reply);
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => {
            let blocked = matches!(error, CommandError::Blocked(_));
            let mut response = error_response(error);
            if blocked {
                response
                    .extensions_mut()
                    .insert(NotCarriedOut("blocked word"));
            }
            response
        }
    }
}

async fn contact(State(state): State<ApiState>, Path(contact): Path<String>) -> Response {
    answer(&state, Command::TextContact { contact }).await
}

/// `POST /chat/webhook`: a messaging platform's inbound message (`docs/channels.md`), checked
/// by its signature rather than a bearer token.
async fn webhook_message(
    State(state): State<ApiState>,
    query: Result<Query<crate::chat_webhook::Signed>, QueryRejection>,
    body: axum::body::Bytes,
) -> Response {
    let Some(webhook) = &state.chat_webhook else {
        return error_response(CommandError::NotFound(
            "no chat webhook: [live.chat] webhook_entry is not set".into(),
        ));
    };
    let signed = match query {
        Ok(Query(signed)) => signed,
        Err(error) => return bad_request("?signature=...&timestamp=...&nonce=...", error),
    };
    webhook.receive(&signed, &body, now_unix_ms() / 1_000).await
}

/// The agent's chat socket: offers, messages and closes of its chats (`docs/channels.md`).
async fn agent_chat(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    crate::chat::agent_socket(upgrade, agent, state.switch, state.chat)
}

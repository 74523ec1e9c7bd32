//! The HTTP API (axum): agent state changes, queue and agent state, health, Prometheus
//! metrics and the OpenAPI document. State-changing endpoints need `Authorization: Bearer`
//! with the `[live] api_token`; a wrong or missing token gets 401 and changes nothing.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_engine::AuxReason;

use crate::runtime::SwitchHandle;
use crate::switch::{Command, CommandError};

/// The OpenAPI document, kept beside the code it describes.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

#[derive(Clone)]
struct ApiState {
    switch: SwitchHandle,
    token: Option<String>,
}

pub fn router(switch: SwitchHandle, token: Option<String>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/agents", get(agents))
        .route("/agents/{agent}", get(agent))
        .route("/agents/{agent}/login", post(login))
        .route("/agents/{agent}/logout", post(logout))
        .route("/agents/{agent}/ready", post(ready))
        .route("/agents/{agent}/aux", post(aux))
        .route("/queues", get(queues))
        .route("/queues/{queue}", get(queue))
        .with_state(ApiState { switch, token })
}

fn error_response(error: CommandError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "error": error.message }))).into_response()
}

async fn answer(state: &ApiState, command: Command) -> Response {
    match state.switch.ask(command).await {
        Ok(value) => Json(value).into_response(),
        Err(error) => error_response(error),
    }
}

/// Compare without stopping at the first difference, so timing tells nothing about the token.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// `None` when the token is right; otherwise the 401 to send.
fn refusal(state: &ApiState, headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match (&state.token, given) {
        (Some(expected), Some(given)) if same_token(given.as_bytes(), expected.as_bytes()) => None,
        _ => Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(json!({ "error": "missing or wrong bearer token" })),
            )
                .into_response(),
        ),
    }
}

async fn health(State(state): State<ApiState>) -> Response {
    answer(&state, Command::Health).await
}

async fn metrics(State(state): State<ApiState>) -> Response {
    match state.switch.ask(Command::Metrics).await {
        Ok(serde_json::Value::String(text)) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(error) => error_response(error),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn agents(State(state): State<ApiState>) -> Response {
    answer(&state, Command::Agents).await
}

async fn agent(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::Agent { agent }).await
}

async fn queues(State(state): State<ApiState>) -> Response {
    answer(&state, Command::Queues).await
}

async fn queue(State(state): State<ApiState>, Path(queue): Path<String>) -> Response {
    answer(&state, Command::Queue { queue }).await
}

async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(agent): Path<String>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    answer(&state, Command::AgentLogin { agent }).await
}

async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(agent): Path<String>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    answer(&state, Command::AgentLogout { agent }).await
}

async fn ready(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(agent): Path<String>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    answer(&state, Command::AgentReady { agent }).await
}

#[derive(Deserialize)]
struct AuxBody {
    reason: AuxReason,
}

async fn aux(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(agent): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let reason = match serde_json::from_slice::<AuxBody>(&body) {
        Ok(body) => body.reason,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("expected {{\"reason\": \"break|meeting|training|other\"}}: {error}") })),
            )
                .into_response()
        }
    };
    answer(&state, Command::AgentAux { agent, reason }).await
}

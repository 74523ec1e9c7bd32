//! The HTTP API (axum): agent state changes, queue and agent state, health, metrics and the
//! OpenAPI document.
//!
//! Every route but `/health` and `/openapi.json` needs `Authorization: Bearer` with the
//! `[live] api_token` — reads too, since agents' Contact URIs and queue figures are not public.
//! The check lives in one place, [`authorize`], a layer in front of the protected routes, so
//! that roles can replace it without touching a handler. A wrong or missing token gets 401 and
//! changes nothing.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_engine::AuxReason;

use crate::api::{error_json, http_status, Command, CommandError};
use crate::runtime::SwitchHandle;

/// The OpenAPI document, kept beside the code it describes.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

#[derive(Clone)]
struct ApiState {
    switch: SwitchHandle,
    token: Option<String>,
}

pub fn router(switch: SwitchHandle, token: Option<String>) -> Router {
    let state = ApiState { switch, token };
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/agents", get(agents))
        .route("/agents/{agent}", get(agent))
        .route("/agents/{agent}/login", post(login))
        .route("/agents/{agent}/logout", post(logout))
        .route("/agents/{agent}/ready", post(ready))
        .route("/agents/{agent}/aux", post(aux))
        .route("/agents/{agent}/dial", post(dial))
        .route("/outbound-calls/{call}", get(outbound_call))
        .route("/queues", get(queues))
        .route("/queues/{queue}", get(queue))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(protected)
        .with_state(state)
}

fn error_response(error: CommandError) -> Response {
    let status =
        StatusCode::from_u16(http_status(&error)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error_json(&error))).into_response()
}

async fn answer(state: &ApiState, command: Command) -> Response {
    match state.switch.ask(command).await {
        Ok(reply) => match reply.into_json() {
            Ok(value) => Json(value).into_response(),
            Err(text) => {
                ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
            }
        },
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

/// The one authorization check: the bearer token of `[live] api_token`, or 401.
async fn authorize(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match (&state.token, given) {
        (Some(expected), Some(given)) if same_token(given.as_bytes(), expected.as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token" })),
        )
            .into_response(),
    }
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

async fn login(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentLogin { agent }).await
}

async fn logout(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentLogout { agent }).await
}

async fn ready(State(state): State<ApiState>, Path(agent): Path<String>) -> Response {
    answer(&state, Command::AgentReady { agent }).await
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
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("expected {{\"reason\": \"break|meeting|training|other\"}}: {error}") })),
            )
                .into_response()
        }
    };
    answer(&state, Command::AgentAux { agent, reason }).await
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

async fn outbound_call(State(state): State<ApiState>, Path(call): Path<String>) -> Response {
    answer(&state, Command::OutboundCall { call }).await
}

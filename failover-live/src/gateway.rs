//! What the site says to its etcd member: one POST to etcd's JSON gateway, and the gateway's
//! encodings (keys and values in base64, 64-bit numbers as strings). Shared by the lease and
//! the replicated callback requests. Never decides anything from an answer.

use base64::Engine as _;
use switchboard_live::outbound_http::Client;

/// One POST of `body` to etcd's gateway: its JSON answer, or why there was none.
pub(crate) async fn ask(
    client: &Client,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let (status, answer) = client
        .post_reading(&[], bytes::Bytes::from(body.to_string()))
        .await?;
    if status != 200 {
        return Err(format!("etcd answered {status}"));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&answer).map_err(|error| format!("etcd's answer: {error}"))?;
    if answer.get("error").is_some() {
        return Err(format!("etcd: {}", answer["error"]));
    }
    Ok(answer)
}

/// A key or value as the gateway takes it.
pub(crate) fn base64_of(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A key or value as the gateway gives it, if it is base64 of UTF-8.
pub(crate) fn text_of(value: &serde_json::Value) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.as_str()?)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// A 64-bit number of an answer: the gateway writes them as strings.
pub(crate) fn number_of(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::String(text) => text.parse().ok(),
        value => value.as_i64(),
    }
}

//! The body of `POST /queues/{queue}/contacts`, read field by field so that every mistake is
//! named by its field (`docs/channels.md` lists the fields and their bounds).

use serde_json::{Map, Value};
use switchboard_engine::source_text::did_you_mean;
use switchboard_engine::units::DurationMs;

use crate::api::{Due, NewTicket};

/// The longest subject, in bytes (a header line of RFC 5322 at most).
pub const MAX_SUBJECT_BYTES: usize = 998;
/// The longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest customer id or address, in bytes.
pub const MAX_CUSTOMER_BYTES: usize = 256;
/// Attributes of one ticket at most, and the longest key and value, in bytes.
pub const MAX_ATTRIBUTES: usize = 32;
pub const MAX_ATTRIBUTE_KEY_BYTES: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

const FIELDS: [&str; 6] = [
    "channel",
    "subject",
    "body",
    "customer",
    "attributes",
    "due",
];
/// Attributes the switch sets itself.
const RESERVED_ATTRIBUTES: [&str; 2] = ["entry_point", "customer"];

/// Why a ticket's body was refused: the field (none when the body as a whole is wrong) and
/// what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketError {
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for TicketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn wrong(field: &str, message: impl Into<String>) -> TicketError {
    TicketError {
        field: Some(field.to_string()),
        message: message.into(),
    }
}

/// Read a ticket from the request's body.
pub fn read_new_ticket(body: &[u8]) -> Result<NewTicket, TicketError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| TicketError {
        field: None,
        message: format!("not JSON: {error}"),
    })?;
    let Value::Object(fields) = value else {
        return Err(TicketError {
            field: None,
            message: r#"expected an object such as {"subject": "...", "body": "..."}"#.into(),
        });
    };
    if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(wrong(
            unknown,
            format!(
                "unknown field, expected one of {}{}",
                FIELDS.join(", "),
                did_you_mean(unknown, FIELDS.into_iter())
            ),
        ));
    }
    if let Some(channel) = text(&fields, "channel", 16)? {
        if channel != "email" {
            return Err(wrong(
                "channel",
                format!(
                    "expected \"email\" (chats open a socket on /chat/ENTRY), found {channel:?}"
                ),
            ));
        }
    }
    let subject = text(&fields, "subject", MAX_SUBJECT_BYTES)?
        .ok_or_else(|| wrong("subject", "missing; expected a string"))?;
    if subject.trim().is_empty() {
        return Err(wrong("subject", "expected a subject, found an empty one"));
    }
    let body = text(&fields, "body", MAX_BODY_BYTES)?
        .ok_or_else(|| wrong("body", "missing; expected a string"))?;
    let customer = text(&fields, "customer", MAX_CUSTOMER_BYTES)?;
    let due = text(&fields, "due", 64)?
        .map(|due| read_due(&due))
        .transpose()?;
    Ok(NewTicket {
        subject,
        body,
        customer,
        attributes: read_attributes(fields.get("attributes"))?,
        due,
    })
}

/// A string field of at most `max_bytes`; none when it is absent or null.
fn text(
    fields: &Map<String, Value>,
    field: &str,
    max_bytes: usize,
) -> Result<Option<String>, TicketError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.len() > max_bytes => Err(wrong(
            field,
            format!("{} bytes, more than {max_bytes}", text.len()),
        )),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(wrong(field, format!("expected a string, found {other}"))),
    }
}

fn read_attributes(value: Option<&Value>) -> Result<Vec<(String, String)>, TicketError> {
    let attributes = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(attributes)) => attributes,
        Some(other) => {
            return Err(wrong(
                "attributes",
                format!("expected an object of strings, found {other}"),
            ))
        }
    };
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(wrong(
            "attributes",
            format!(
                "{} attributes, more than {MAX_ATTRIBUTES}",
                attributes.len()
            ),
        ));
    }
    let mut read = Vec::with_capacity(attributes.len());
    for (key, value) in attributes {
        let field = format!("attributes.{key}");
        if key.is_empty() || key.len() > MAX_ATTRIBUTE_KEY_BYTES {
            return Err(wrong(
                &field,
                format!("expected a name of 1 to {MAX_ATTRIBUTE_KEY_BYTES} bytes"),
            ));
        }
        if RESERVED_ATTRIBUTES.contains(&key.as_str()) {
            return Err(wrong(
                &field,
                "set by the switch; use the field `customer`, or another name",
            ));
        }
        match value {
            Value::String(text) if text.len() <= MAX_ATTRIBUTE_VALUE_BYTES => {
                read.push((key.clone(), text.clone()))
            }
            Value::String(text) => {
                return Err(wrong(
                    &field,
                    format!(
                        "{} bytes, more than {MAX_ATTRIBUTE_VALUE_BYTES}",
                        text.len()
                    ),
                ))
            }
            other => return Err(wrong(&field, format!("expected a string, found {other}"))),
        }
    }
    Ok(read)
}

/// A duration from now (`"4h"`, `"2d"`) or an RFC 3339 instant.
fn read_due(text: &str) -> Result<Due, TicketError> {
    if let Ok(after) = text.parse::<DurationMs>() {
        return Ok(Due::After { ms: after.as_ms() });
    }
    text.parse::<jiff::Timestamp>()
        .map(|instant| Due::At {
            unix_ms: instant.as_millisecond(),
        })
        .map_err(|_| {
            wrong(
                "due",
                format!(
                    "expected an RFC 3339 instant such as \"2026-12-08T09:00:00+08:00\" or a \
                     duration from now such as \"4h\", found {text:?}"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> TicketError {
        read_new_ticket(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_ticket_reads_with_its_due_time_and_attributes() {
        let ticket = read_new_ticket(
            br#"{"channel": "email", "subject": "Broken box", "body": "It came crushed.",
                "customer": "alice@example.com", "attributes": {"order": "1234"}, "due": "4h"}"#,
        )
        .unwrap();
        assert_eq!(ticket.subject, "Broken box");
        assert_eq!(
            ticket.attributes,
            [("order".to_string(), "1234".to_string())]
        );
        assert_eq!(ticket.due, Some(Due::After { ms: 4 * 3_600_000 }));
        let at =
            read_new_ticket(br#"{"subject": "s", "body": "", "due": "2026-12-08T09:00:00+08:00"}"#)
                .unwrap();
        assert_eq!(
            at.due,
            Some(Due::At {
                unix_ms: 1_796_691_600_000
            })
        );
    }

    #[test]
    fn each_mistake_names_its_field() {
        let error = refused(r#"{"subjet": "s", "body": "b"}"#);
        assert_eq!(error.field.as_deref(), Some("subjet"));
        assert!(error.message.contains("did you mean `subject`?"), "{error}");
        assert_eq!(
            refused(r#"{"body": "b"}"#).field.as_deref(),
            Some("subject")
        );
        let error = refused(r#"{"subject": 5, "body": "b"}"#);
        assert_eq!(
            error.to_string(),
            "field `subject`: expected a string, found 5"
        );
        let error = refused(r#"{"subject": "s", "body": "b", "due": "tomorrow"}"#);
        assert_eq!(error.field.as_deref(), Some("due"));
        assert!(error.message.contains("RFC 3339"), "{error}");
        let error = refused(r#"{"subject": "s", "body": "b", "channel": "chat"}"#);
        assert_eq!(error.field.as_deref(), Some("channel"));
        let error = refused(r#"{"subject": "s", "body": "b", "attributes": {"customer": "x"}}"#);
        assert_eq!(error.field.as_deref(), Some("attributes.customer"));
        let long = format!(r#"{{"subject": "{}", "body": "b"}}"#, "x".repeat(999));
        assert!(refused(&long).message.contains("999 bytes"));
        let error = refused("{not json");
        assert_eq!(error.field, None);
        assert!(error.message.starts_with("not JSON"), "{error}");
    }
}

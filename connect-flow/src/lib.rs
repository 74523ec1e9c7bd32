//! Switchboard's IVR flows (`[[ivr]]`, `docs/scenario.md`) to and from the Amazon Connect flow
//! language: JSON with `"Version": "2019-10-30"`, a `StartAction` and a list of `Actions`, each
//! with an `Identifier`, a `Type`, its `Parameters` and its `Transitions` (`NextAction`,
//! `Conditions`, `Errors`). `docs/connect-flows.md` has the table of what maps to what.
//!
//! A node becomes one action named by the node's id, sometimes followed by helper actions
//! named `ID-…` (a queue node is `UpdateContactTargetQueue` then `TransferContactToQueue`);
//! reading a flow folds such a chain back into one node. What Connect has no words for (a
//! prompt's duration, a menu's retries, a queue node's priority) travels in the flow's
//! `Metadata.ActionMetadata` under `"Switchboard"`, beside the console's `Position`, so that a
//! flow written here reads back the same; a flow from Connect without it gets the defaults the
//! table gives. Node kinds and actions that do not map are reported, each with its node or
//! action id, its kind or type and why, and nothing is converted then.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use switchboard_engine::config::{FlowCondition, IvrFlowConfig, IvrNodeConfig};
use switchboard_engine::units::DurationMs;

/// The one version of the flow language there is.
pub const VERSION: &str = "2019-10-30";

/// Where a stored digit string is, in Connect's flow data.
const STORED_INPUT: &str = "$.StoredCustomerInput";
/// Where a contact's attributes are, in Connect's flow data.
const ATTRIBUTES: &str = "$.Attributes.";
/// The key of Switchboard's own metadata in an action's `ActionMetadata`.
const SWITCHBOARD_METADATA: &str = "Switchboard";
/// How long a prompt is taken to play when the flow does not say: about 150 words a minute.
const PROMPT_MS_PER_WORD: u64 = 400;
const MINIMUM_PROMPT_MS: u64 = 1_000;
/// A menu's and a callback offer's wait for a digit when the flow does not say (the engine's).
const DEFAULT_INPUT_TIMEOUT_S: u64 = 5;
/// A collect node's digits when the flow does not limit them.
const DEFAULT_MAX_DIGITS: u32 = 20;
/// A callback request's timing in Connect, which Switchboard's callback node leaves to the
/// queue: the least delay Connect allows, one attempt.
const CALLBACK_DELAY_S: &str = "1";
const CALLBACK_ATTEMPTS: &str = "1";
const CALLBACK_RETRY_DELAY_S: &str = "60";
/// How far below its node a helper action is drawn in the Connect console.
const HELPER_OFFSET_PX: i64 = 140;

/// A flow in the Amazon Connect flow language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectFlow {
    pub version: String,
    pub start_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub actions: Vec<Action>,
}

/// One step of a Connect flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Action {
    pub identifier: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub transitions: Transitions,
}

/// Where a Connect action goes next.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transitions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionalTransition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorTransition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionalTransition {
    pub next_action: String,
    pub condition: Condition,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Condition {
    pub operator: String,
    pub operands: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorTransition {
    pub next_action: String,
    pub error_type: String,
}

/// A node or an action that does not convert, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// The node's id (export) or the action's `Identifier` (import).
    pub id: String,
    /// The node's kind (export) or the action's `Type` (import).
    pub kind: String,
    pub why: String,
}

impl std::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({}): {}", self.id, self.kind, self.why)
    }
}

/// What Connect has no words for, kept in the action's metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Extras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<DurationMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    secure: bool,
    /// A prompt and a disconnect that are one Switchboard node: `"self-service"` or `"hangup"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ends: Option<String>,
}

fn seconds(duration: DurationMs) -> String {
    duration.0.div_ceil(1_000).max(1).to_string()
}

fn action(identifier: &str, kind: &str, parameters: Value, transitions: Transitions) -> Action {
    let parameters = match parameters {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Action {
        identifier: identifier.to_string(),
        kind: kind.to_string(),
        parameters,
        transitions,
    }
}

fn next(to: &str) -> Transitions {
    Transitions {
        next_action: Some(to.to_string()),
        ..Transitions::default()
    }
}

fn errors(to: &str, types: &[&str]) -> Vec<ErrorTransition> {
    types
        .iter()
        .map(|error_type| ErrorTransition {
            next_action: to.to_string(),
            error_type: error_type.to_string(),
        })
        .collect()
}

fn equals(operand: &str, to: &str) -> ConditionalTransition {
    ConditionalTransition {
        next_action: to.to_string(),
        condition: Condition {
            operator: "Equals".into(),
            operands: vec![operand.to_string()],
        },
    }
}

fn disconnect(identifier: &str) -> Action {
    action(
        identifier,
        "DisconnectParticipant",
        json!({}),
        Transitions::default(),
    )
}

/// The errors every input action of Connect can end with.
const INPUT_ERRORS: [&str; 3] = [
    "InputTimeLimitExceeded",
    "NoMatchingCondition",
    "NoMatchingError",
];

/// One node as its Connect actions (the first named by the node's id), and its extras.
/// Says `prompt`, then goes on to `to`, whether or not the message could be played.
fn message(identifier: &str, prompt: &str, to: &str) -> Action {
    action(
        identifier,
        "MessageParticipant",
        json!({ "Text": prompt }),
        Transitions {
            errors: errors(to, &["NoMatchingError"]),
            ..next(to)
        },
    )
}

/// Says `prompt`, then ends the contact at the `DisconnectParticipant` `end`: a node that
/// speaks before it lets the customer go (a hang-up with a prompt, a self-service end).
fn message_then_disconnect(identifier: &str, prompt: &str, end: &str) -> Vec<Action> {
    vec![message(identifier, prompt, end), disconnect(end)]
}

fn node_actions(
    node: &IvrNodeConfig,
    channel_is_voice: bool,
) -> Result<(Vec<Action>, Extras), String> {
    let id = node.id();
    let helper = |suffix: &str| format!("{id}-{suffix}");
    let mut extras = Extras::default();
    let actions = match node {
        IvrNodeConfig::Play {
            prompt,
            duration,
            next: to,
            ..
        } => {
            extras.duration = Some(*duration);
            vec![message(id, prompt, to)]
        }
        IvrNodeConfig::Menu {
            prompt,
            duration,
            options,
            timeout,
            retries,
            on_fail,
            ..
        } => {
            extras.duration = Some(*duration);
            extras.retries = Some(*retries);
            vec![action(
                id,
                "GetParticipantInput",
                json!({ "Text": prompt, "StoreInput": "False", "InputTimeLimitSeconds": seconds(*timeout) }),
                Transitions {
                    next_action: None,
                    conditions: options
                        .iter()
                        .map(|(digit, to)| equals(digit, to))
                        .collect(),
                    errors: errors(on_fail, &INPUT_ERRORS),
                },
            )]
        }
        IvrNodeConfig::Collect {
            prompt,
            duration,
            max_digits,
            timeout,
            attribute,
            next: to,
            secure,
            ..
        } => {
            extras.duration = Some(*duration);
            extras.secure = *secure;
            let store = helper("store");
            vec![
                action(
                    id,
                    "GetParticipantInput",
                    json!({
                        "Text": prompt,
                        "StoreInput": "True",
                        "InputTimeLimitSeconds": seconds(*timeout),
                        "InputValidation": { "CustomValidation": { "MaximumLength": max_digits.to_string() } },
                    }),
                    Transitions {
                        errors: errors(&store, &["InputTimeLimitExceeded", "NoMatchingError"]),
                        ..next(&store)
                    },
                ),
                action(
                    &store,
                    "UpdateContactAttributes",
                    json!({ "TargetContact": "Current", "Attributes": { attribute: STORED_INPUT } }),
                    Transitions {
                        errors: errors(to, &["NoMatchingError"]),
                        ..next(to)
                    },
                ),
            ]
        }
        IvrNodeConfig::BusinessHours {
            calendar,
            open,
            closed,
            ..
        } => vec![action(
            id,
            "CheckHoursOfOperation",
            json!({ "HoursOfOperationId": calendar }),
            Transitions {
                next_action: None,
                conditions: vec![equals("True", open), equals("False", closed)],
                errors: errors(closed, &["NoMatchingError"]),
            },
        )],
        IvrNodeConfig::Condition {
            when,
            then,
            otherwise,
            ..
        } => match when {
            FlowCondition::Attribute {
                attribute,
                equals: Some(value),
            } => vec![action(
                id,
                "Compare",
                json!({ "ComparisonValue": format!("{ATTRIBUTES}{attribute}") }),
                Transitions {
                    next_action: None,
                    conditions: vec![equals(value, then)],
                    errors: errors(otherwise, &["NoMatchingCondition"]),
                },
            )],
            FlowCondition::Attribute { equals: None, .. } => {
                return Err(
                    "tests whether an attribute is present; Connect's Compare tests an \
                            attribute's value"
                        .into(),
                )
            }
            FlowCondition::ExpectedWait { .. } | FlowCondition::QueueLength { .. } => {
                return Err("tests a queue's state; the converter maps no queue metric \
                            (Connect's CheckMetricData and GetMetricData measure other figures)"
                    .into())
            }
        },
        IvrNodeConfig::SelfService {
            prompt, duration, ..
        } => {
            extras.duration = Some(*duration);
            extras.ends = Some("self-service".into());
            message_then_disconnect(id, prompt, &helper("end"))
        }
        IvrNodeConfig::Queue {
            queue, priority, ..
        } => {
            extras.priority = *priority;
            let transfer = helper("transfer");
            let end = helper("end");
            vec![
                action(
                    id,
                    "UpdateContactTargetQueue",
                    json!({ "QueueId": queue }),
                    Transitions {
                        errors: errors(&end, &["NoMatchingError"]),
                        ..next(&transfer)
                    },
                ),
                action(
                    &transfer,
                    "TransferContactToQueue",
                    json!({}),
                    Transitions {
                        errors: errors(&end, &["QueueAtCapacity", "NoMatchingError"]),
                        ..Transitions::default()
                    },
                ),
                disconnect(&end),
            ]
        }
        IvrNodeConfig::Callback {
            queue,
            prompt,
            duration,
            accept_digit,
            timeout,
            declined,
            ..
        } => {
            if !channel_is_voice {
                return Err("a callback offer is voice only".into());
            }
            extras.duration = Some(*duration);
            let request = helper("request");
            let end = helper("end");
            vec![
                action(
                    id,
                    "GetParticipantInput",
                    json!({ "Text": prompt, "StoreInput": "False", "InputTimeLimitSeconds": seconds(*timeout) }),
                    Transitions {
                        next_action: None,
                        conditions: vec![equals(accept_digit, &request)],
                        errors: errors(declined, &INPUT_ERRORS),
                    },
                ),
                action(
                    &request,
                    "CreateCallbackContact",
                    json!({
                        "QueueId": queue,
                        "InitialCallDelaySeconds": CALLBACK_DELAY_S,
                        "MaximumConnectionAttempts": CALLBACK_ATTEMPTS,
                        "RetryDelaySeconds": CALLBACK_RETRY_DELAY_S,
                    }),
                    Transitions {
                        errors: errors(&end, &["NoMatchingError"]),
                        ..next(&end)
                    },
                ),
                disconnect(&end),
            ]
        }
        IvrNodeConfig::Bot { .. } => {
            return Err(
                "the bot is run by Switchboard's driver (a FAQ bot, a voice bot); a \
                        Connect flow names an Amazon Lex bot, which Switchboard does not know"
                    .into(),
            )
        }
        IvrNodeConfig::Transfer { .. } => {
            return Err(
                "hands the contact to another Switchboard site; Connect transfers to a \
                        phone number, a queue or a flow"
                    .into(),
            )
        }
        IvrNodeConfig::Hangup {
            prompt, duration, ..
        } => match prompt {
            None => vec![disconnect(id)],
            Some(prompt) => {
                extras.duration = Some(*duration);
                extras.ends = Some("hangup".into());
                message_then_disconnect(id, prompt, &helper("end"))
            }
        },
    };
    Ok((actions, extras))
}

/// `flow` in the Amazon Connect flow language, or every node that does not map.
pub fn export(flow: &IvrFlowConfig) -> Result<ConnectFlow, Vec<Unmapped>> {
    let voice = flow.channel().media() == switchboard_engine::Media::Voice;
    let mut actions = Vec::new();
    let mut action_metadata = Map::new();
    let mut unmapped = Vec::new();
    for node in &flow.nodes {
        match node_actions(node, voice) {
            Ok((node_actions, extras)) => {
                let position = flow.layout.get(node.id());
                for (index, action) in node_actions.iter().enumerate() {
                    let mut metadata = Map::new();
                    if let Some([x, y]) = position {
                        let y = i64::from(*y) + HELPER_OFFSET_PX * index as i64;
                        metadata.insert("position".into(), json!({ "x": x, "y": y }));
                    }
                    if index == 0 && extras != Extras::default() {
                        metadata.insert(SWITCHBOARD_METADATA.into(), json!(extras));
                    }
                    if !metadata.is_empty() {
                        action_metadata.insert(action.identifier.clone(), Value::Object(metadata));
                    }
                }
                actions.extend(node_actions);
            }
            Err(why) => unmapped.push(Unmapped {
                id: node.id().to_string(),
                kind: node.kind().to_string(),
                why,
            }),
        }
    }
    if !unmapped.is_empty() {
        return Err(unmapped);
    }
    let mut metadata = json!({ "ActionMetadata": action_metadata });
    if let Some(channel) = flow.channel {
        // A Connect flow serves any channel; a Switchboard flow names its own.
        metadata[SWITCHBOARD_METADATA] = json!({ "Channel": channel });
    }
    Ok(ConnectFlow {
        version: VERSION.into(),
        start_action: flow.start.clone(),
        metadata: Some(metadata),
        actions,
    })
}

fn text_parameter(action: &Action) -> Result<String, String> {
    match action.parameters.get("Text").and_then(Value::as_str) {
        Some(text) => Ok(text.to_string()),
        None if action.parameters.contains_key("PromptId") => Err(
            "plays a stored prompt (PromptId); Switchboard's prompts are text or a WAV file \
                 of its own"
                .into(),
        ),
        None if action.parameters.contains_key("SSML") => {
            Err("speaks SSML; Switchboard's prompts are plain text".into())
        }
        None => Err("has no Text to play".into()),
    }
}

fn string_parameter<'a>(action: &'a Action, key: &str) -> Result<&'a str, String> {
    action
        .parameters
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("has no {key}"))
}

/// A whole number of seconds, as Connect writes it (a string or a number).
fn seconds_parameter(action: &Action, key: &str, default_s: u64) -> Result<DurationMs, String> {
    match action.parameters.get(key) {
        None => Ok(DurationMs::from_s(default_s)),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(DurationMs::from_s)
            .ok_or_else(|| format!("{key} is not a whole number of seconds")),
        Some(Value::String(text)) => text
            .parse()
            .map(DurationMs::from_s)
            .map_err(|_| format!("{key} {text:?} is not a whole number of seconds")),
        Some(_) => Err(format!("{key} is not a whole number of seconds")),
    }
}

fn estimated_duration(text: &str) -> DurationMs {
    let words = text.split_whitespace().count() as u64;
    DurationMs::from_ms((words * PROMPT_MS_PER_WORD).max(MINIMUM_PROMPT_MS))
}

fn next_action(action: &Action) -> Result<&str, String> {
    action
        .transitions
        .next_action
        .as_deref()
        .ok_or_else(|| "has no NextAction".into())
}

/// The one place the action's errors lead to (and its failed conditions), or why not.
fn error_target(action: &Action) -> Result<&str, String> {
    let targets: BTreeSet<&str> = action
        .transitions
        .errors
        .iter()
        .map(|error| error.next_action.as_str())
        .collect();
    match targets.len() {
        1 => Ok(targets.into_iter().next().unwrap_or_default()),
        0 => Err(
            "has no error branch (Switchboard needs one place to go on a timeout or a \
                  wrong digit)"
                .into(),
        ),
        _ => Err(format!(
            "its errors go to different actions ({}); Switchboard's node has one place for all",
            targets.into_iter().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The actions a flow reads from: by identifier, in order.
struct Actions<'a> {
    by_id: BTreeMap<&'a str, &'a Action>,
}

impl<'a> Actions<'a> {
    fn kind_of(&self, id: &str) -> Option<&'a str> {
        self.by_id.get(id).map(|action| action.kind.as_str())
    }

    fn get(&self, id: &str) -> Option<&'a Action> {
        self.by_id.get(id).copied()
    }
}

/// One action as a node, with the helper actions it takes in.
fn action_node(
    action: &Action,
    actions: &Actions<'_>,
    extras: &Extras,
) -> Result<(IvrNodeConfig, Vec<String>), String> {
    let id = action.identifier.clone();
    let duration = |text: &str| extras.duration.unwrap_or_else(|| estimated_duration(text));
    let node = match action.kind.as_str() {
        "MessageParticipant" => {
            let prompt = text_parameter(action)?;
            let to = next_action(action)?;
            let ends_here = actions.kind_of(to) == Some("DisconnectParticipant");
            match extras.ends.as_deref() {
                Some("self-service") if ends_here => {
                    let node = IvrNodeConfig::SelfService {
                        id,
                        duration: duration(&prompt),
                        prompt,
                    };
                    return Ok((node, vec![to.to_string()]));
                }
                Some("hangup") if ends_here => {
                    let node = IvrNodeConfig::Hangup {
                        id,
                        duration: duration(&prompt),
                        prompt: Some(prompt),
                    };
                    return Ok((node, vec![to.to_string()]));
                }
                _ => IvrNodeConfig::Play {
                    id,
                    duration: duration(&prompt),
                    prompt,
                    next: to.to_string(),
                },
            }
        }
        "GetParticipantInput" => {
            let prompt = text_parameter(action)?;
            let timeout = seconds_parameter(action, "InputTimeLimitSeconds", DEFAULT_INPUT_TIMEOUT_S)?;
            let stores = matches!(
                action.parameters.get("StoreInput").and_then(Value::as_str),
                Some("True" | "true")
            );
            if stores {
                let max_digits = action
                    .parameters
                    .get("InputValidation")
                    .and_then(|validation| validation.pointer("/CustomValidation/MaximumLength"))
                    .map(|length| match length {
                        Value::String(text) => text.parse().ok(),
                        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
                        _ => None,
                    })
                    .map(|length| length.ok_or("its MaximumLength is not a whole number"))
                    .transpose()?
                    .unwrap_or(DEFAULT_MAX_DIGITS);
                let to = next_action(action)?;
                // The stored digits become an attribute in the next action, when it does that.
                let stored_into = actions.get(to).filter(|store| store.kind == "UpdateContactAttributes").and_then(|store| {
                    let attributes = store.parameters.get("Attributes")?.as_object()?;
                    let (name, _) = attributes.iter().find(|(_, value)| value.as_str() == Some(STORED_INPUT))?;
                    (attributes.len() == 1).then(|| (name.clone(), store))
                });
                let (attribute, next, absorbed) = match stored_into {
                    Some((name, store)) => (name, next_action(store)?.to_string(), vec![to.to_string()]),
                    None => ("StoredCustomerInput".to_string(), to.to_string(), Vec::new()),
                };
                let node = IvrNodeConfig::Collect {
                    id,
                    duration: duration(&prompt),
                    prompt,
                    max_digits,
                    timeout,
                    attribute,
                    next,
                    secure: extras.secure,
                };
                return Ok((node, absorbed));
            }
            let on_fail = error_target(action)?.to_string();
            let conditions = &action.transitions.conditions;
            let digit_of = |condition: &ConditionalTransition| -> Result<String, String> {
                match (condition.condition.operator.as_str(), condition.condition.operands.as_slice()) {
                    ("Equals", [digit]) if digit.chars().count() == 1 => Ok(digit.clone()),
                    (operator, operands) => Err(format!(
                        "its condition {operator} {operands:?} is not one key pressed"
                    )),
                }
            };
            // One condition leading to a callback request: a callback offer.
            if let [offer] = conditions.as_slice() {
                if let Some(request) = actions.get(&offer.next_action).filter(|request| request.kind == "CreateCallbackContact") {
                    let queue = string_parameter(request, "QueueId")?.to_string();
                    let mut absorbed = vec![request.identifier.clone()];
                    if let Some(end) = request.transitions.next_action.as_deref() {
                        if actions.kind_of(end) == Some("DisconnectParticipant") {
                            absorbed.push(end.to_string());
                        }
                    }
                    let node = IvrNodeConfig::Callback {
                        id,
                        queue,
                        duration: duration(&prompt),
                        prompt,
                        accept_digit: digit_of(offer)?,
                        timeout,
                        declined: on_fail,
                    };
                    return Ok((node, absorbed));
                }
            }
            let options = conditions
                .iter()
                .map(|condition| Ok((digit_of(condition)?, condition.next_action.clone())))
                .collect::<Result<BTreeMap<_, _>, String>>()?;
            IvrNodeConfig::Menu {
                id,
                duration: duration(&prompt),
                prompt,
                options,
                timeout,
                retries: extras.retries.unwrap_or(0),
                on_fail,
            }
        }
        "CheckHoursOfOperation" => {
            let calendar = string_parameter(action, "HoursOfOperationId")
                .map_err(|_| "checks the queue's own hours (no HoursOfOperationId); Switchboard names a calendar".to_string())?
                .to_string();
            let branch = |operand: &str| {
                action
                    .transitions
                    .conditions
                    .iter()
                    .find(|condition| condition.condition.operator == "Equals" && condition.condition.operands == [operand])
                    .map(|condition| condition.next_action.clone())
                    .ok_or_else(|| format!("has no condition Equals {operand}"))
            };
            IvrNodeConfig::BusinessHours {
                id,
                calendar,
                open: branch("True")?,
                closed: branch("False")?,
            }
        }
        "Compare" => {
            let value = string_parameter(action, "ComparisonValue")?;
            let attribute = value
                .strip_prefix(ATTRIBUTES)
                .ok_or_else(|| format!("compares {value}; Switchboard's conditions test a contact attribute ({ATTRIBUTES}NAME)"))?;
            let [condition] = action.transitions.conditions.as_slice() else {
                return Err("has more than one condition; Switchboard's condition node has one (chain them)".into());
            };
            let equals = match (condition.condition.operator.as_str(), condition.condition.operands.as_slice()) {
                ("Equals", [operand]) => operand.clone(),
                (operator, _) => return Err(format!("compares with {operator}; Switchboard's condition tests Equals")),
            };
            IvrNodeConfig::Condition {
                id,
                when: FlowCondition::Attribute {
                    attribute: attribute.to_string(),
                    equals: Some(equals),
                },
                then: condition.next_action.clone(),
                otherwise: error_target(action)?.to_string(),
            }
        }
        "UpdateContactTargetQueue" => {
            let queue = string_parameter(action, "QueueId")?.to_string();
            let to = next_action(action)?;
            let transfer = actions
                .get(to)
                .filter(|transfer| transfer.kind == "TransferContactToQueue")
                .ok_or("is not followed by a TransferContactToQueue; Switchboard's queue node sets the queue and joins it")?;
            let mut absorbed = vec![to.to_string()];
            for error in transfer.transitions.errors.iter().chain(&action.transitions.errors) {
                if actions.kind_of(&error.next_action) == Some("DisconnectParticipant") && !absorbed.contains(&error.next_action) {
                    absorbed.push(error.next_action.clone());
                }
            }
            let node = IvrNodeConfig::Queue {
                id,
                queue,
                priority: extras.priority,
            };
            return Ok((node, absorbed));
        }
        "DisconnectParticipant" => IvrNodeConfig::Hangup {
            id,
            prompt: None,
            duration: DurationMs::from_ms(0),
        },
        "TransferContactToQueue" => {
            return Err("joins a queue set elsewhere; Switchboard's queue node names its queue (put an UpdateContactTargetQueue right before it)".into())
        }
        "UpdateContactAttributes" => {
            return Err("sets attributes; Switchboard's flows set an attribute only by collecting digits (a GetParticipantInput that stores its input, then this)".into())
        }
        "CreateCallbackContact" => {
            return Err("creates a callback outside an offer; Switchboard's callback node offers it with a key press (a GetParticipantInput whose one condition leads here)".into())
        }
        "ConnectParticipantWithLexBot" => {
            return Err("talks to an Amazon Lex bot; Switchboard's bot node is run by its own driver".into())
        }
        other => return Err(format!("no Switchboard node kind does what {other} does")),
    };
    Ok((node, Vec::new()))
}

fn extras_of(metadata: Option<&Value>, id: &str) -> Result<Extras, String> {
    match metadata.and_then(|metadata| {
        metadata.pointer(&format!(
            "/ActionMetadata/{}/{SWITCHBOARD_METADATA}",
            id.replace('~', "~0").replace('/', "~1")
        ))
    }) {
        None => Ok(Extras::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|error| {
            format!("its metadata's {SWITCHBOARD_METADATA} is not understood: {error}")
        }),
    }
}

fn position_of(metadata: Option<&Value>, id: &str) -> Option<[i32; 2]> {
    let action = metadata?.get("ActionMetadata")?.get(id)?;
    // The console writes `position`; the flow language's example, `Position`.
    let position = action.get("position").or_else(|| action.get("Position"))?;
    let coordinate = |key: &str| {
        position
            .get(key)?
            .as_f64()
            .map(|value| value.round() as i32)
    };
    Some([coordinate("x")?, coordinate("y")?])
}

/// A Connect flow as the Switchboard flow `name`, or every action that does not map.
pub fn import(flow: &ConnectFlow, name: &str) -> Result<IvrFlowConfig, Vec<Unmapped>> {
    let mut unmapped = Vec::new();
    if flow.version != VERSION {
        unmapped.push(Unmapped {
            id: "Version".into(),
            kind: flow.version.clone(),
            why: format!("the flow language's version is {VERSION}"),
        });
    }
    let actions = Actions {
        by_id: flow
            .actions
            .iter()
            .map(|action| (action.identifier.as_str(), action))
            .collect(),
    };
    let metadata = flow.metadata.as_ref();
    let mut converted = Vec::new();
    let mut absorbed: BTreeSet<String> = BTreeSet::new();
    for action in &flow.actions {
        let node = extras_of(metadata, &action.identifier)
            .and_then(|extras| action_node(action, &actions, &extras));
        match node {
            Ok((node, helpers)) => {
                absorbed.extend(helpers);
                converted.push(node);
            }
            Err(why) => unmapped.push(Unmapped {
                id: action.identifier.clone(),
                kind: action.kind.clone(),
                why,
            }),
        }
    }
    // A helper is taken in by its node and is no node of its own; a failure to read it on its
    // own does not count then.
    unmapped.retain(|problem| !absorbed.contains(&problem.id));
    if !unmapped.is_empty() {
        return Err(unmapped);
    }
    let nodes: Vec<IvrNodeConfig> = converted
        .into_iter()
        .filter(|node| !absorbed.contains(node.id()))
        .collect();
    let layout = nodes
        .iter()
        .filter_map(|node| Some((node.id().to_string(), position_of(metadata, node.id())?)))
        .collect();
    let channel = metadata
        .and_then(|metadata| metadata.pointer(&format!("/{SWITCHBOARD_METADATA}/Channel")))
        .and_then(|channel| serde_json::from_value(channel.clone()).ok());
    Ok(IvrFlowConfig {
        name: name.to_string(),
        start: flow.start_action.clone(),
        channel,
        layout,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(toml_nodes: serde_json::Value) -> IvrFlowConfig {
        serde_json::from_value(toml_nodes).unwrap()
    }

    fn same(left: &IvrFlowConfig, right: &IvrFlowConfig) {
        assert_eq!(json!(left), json!(right));
    }

    #[test]
    fn every_mapped_kind_goes_out_and_comes_back() {
        let original = flow(json!({
            "name": "all", "start": "hours",
            "layout": { "hours": [10, 20] },
            "node": [
                { "kind": "business-hours", "id": "hours", "calendar": "office", "open": "welcome", "closed": "closed" },
                { "kind": "play", "id": "welcome", "prompt": "Welcome", "duration": "2s", "next": "account" },
                { "kind": "collect", "id": "account", "prompt": "Your account", "duration": "3s", "max_digits": 8, "timeout": "7s", "attribute": "account", "next": "vip", "secure": true },
                { "kind": "condition", "id": "vip", "when": { "attribute": { "attribute": "tier", "equals": "vip" } }, "then": "to-vip", "else": "menu" },
                { "kind": "menu", "id": "menu", "prompt": "Press 1 or 2", "duration": "4s", "options": { "1": "to-sales", "2": "offer" }, "timeout": "6s", "retries": 3, "on_fail": "balance" },
                { "kind": "callback", "id": "offer", "queue": "sales", "prompt": "Press 9 for a callback", "duration": "3s", "accept_digit": "9", "timeout": "5s", "declined": "to-sales" },
                { "kind": "self-service", "id": "balance", "prompt": "Your balance", "duration": "5s" },
                { "kind": "queue", "id": "to-sales", "queue": "sales" },
                { "kind": "queue", "id": "to-vip", "queue": "sales", "priority": 5 },
                { "kind": "hangup", "id": "closed", "prompt": "We are closed", "duration": "2s" },
                { "kind": "hangup", "id": "bye" },
            ],
        }));
        let exported = export(&original).unwrap();
        let mut chat = original.clone();
        chat.channel = Some(switchboard_engine::Channel::Chat);
        chat.nodes
            .retain(|node| !matches!(node, IvrNodeConfig::Callback { .. }));
        same(&import(&export(&chat).unwrap(), "all").unwrap(), &chat);
        let text = serde_json::to_string(&exported).unwrap();
        let read: ConnectFlow = serde_json::from_str(&text).unwrap();
        let types: Vec<&str> = read
            .actions
            .iter()
            .map(|action| action.kind.as_str())
            .collect();
        assert!(types.contains(&"TransferContactToQueue"), "{types:?}");
        assert_eq!(read.start_action, "hours");
        same(&import(&read, "all").unwrap(), &original);
    }

    #[test]
    fn kinds_that_do_not_map_are_each_reported() {
        let flow = flow(json!({
            "name": "x", "start": "bot",
            "node": [
                { "kind": "bot", "id": "bot", "escalate": "away" },
                { "kind": "transfer", "id": "away", "site": "beijing" },
                { "kind": "condition", "id": "busy", "when": { "expected-wait": { "queue": "sales", "above": "2m" } }, "then": "away", "else": "away" },
            ],
        }));
        let unmapped = export(&flow).unwrap_err();
        let ids: Vec<(&str, &str)> = unmapped
            .iter()
            .map(|problem| (problem.id.as_str(), problem.kind.as_str()))
            .collect();
        assert_eq!(
            ids,
            [("bot", "bot"), ("away", "transfer"), ("busy", "condition")]
        );
        assert!(unmapped[2].why.contains("queue metric"), "{}", unmapped[2]);
    }

    #[test]
    fn actions_that_do_not_map_are_each_reported() {
        let flow: ConnectFlow = serde_json::from_value(json!({
            "Version": "2019-10-30", "StartAction": "lambda",
            "Actions": [
                { "Identifier": "lambda", "Type": "InvokeLambdaFunction", "Parameters": {}, "Transitions": { "NextAction": "set" } },
                { "Identifier": "set", "Type": "UpdateContactAttributes", "Parameters": { "Attributes": { "a": "b" } }, "Transitions": { "NextAction": "bye" } },
                { "Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {} },
            ],
        })).unwrap();
        let unmapped = import(&flow, "x").unwrap_err();
        let ids: Vec<&str> = unmapped.iter().map(|problem| problem.id.as_str()).collect();
        assert_eq!(ids, ["lambda", "set"]);
        assert!(
            unmapped[0]
                .to_string()
                .starts_with("\"lambda\" (InvokeLambdaFunction): no Switchboard node kind"),
            "{}",
            unmapped[0]
        );
    }
}

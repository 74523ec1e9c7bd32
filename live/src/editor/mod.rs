//! The IVR editor: `GET /editor`, a page that draws the scenario's `[[ivr]]` flows as boxes and
//! arrows, and the endpoints behind it (`docs/web.md`): `GET /ivr/flows` reads the flows from
//! the scenario file the server runs from, `POST /ivr/flows/{flow}/check` checks an edited flow
//! and `PUT /ivr/flows/{flow}` writes it back into that file.
//!
//! A flow is checked in its place: the file's text with the flow replaced is given to the same
//! check `switchboard check` runs ([`ScenarioCheck`], handed in by the command that starts the
//! server, which owns it), so the page shows exactly the messages the command prints, with the
//! lines and columns of the file as it would be saved. The page holds no rules of its own.
//!
//! Writing replaces the text of that one `[[ivr]]` table and its `[[ivr.node]]` and
//! `[ivr.layout]` tables; every other byte of the file, comments included, stays as it was.
//! The running center does not change: a saved flow is used from the next start.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use switchboard_engine::config::{CenterConfig, IvrFlowConfig};

const EDITOR_HTML: &str = include_str!("page/editor.html");
const EDITOR_JS: &str = include_str!("page/editor.js");
const EDITOR_CSS: &str = include_str!("page/editor.css");

/// The page's files: route, content type, body.
const EDITOR_FILES: [(&str, &str, &str); 3] = [
    ("/editor", "text/html; charset=utf-8", EDITOR_HTML),
    (
        "/editor/editor.js",
        "text/javascript; charset=utf-8",
        EDITOR_JS,
    ),
    ("/editor/editor.css", "text/css; charset=utf-8", EDITOR_CSS),
];

/// The page and its files, open to all: they hold no data, the API does.
pub fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    crate::wallboard::static_files(&EDITOR_FILES)
}

/// One problem found in a scenario's text, as `switchboard check` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioProblem {
    pub line: usize,
    pub column: usize,
    /// The engine's path of the offending key (`ivr[0].node[2].queue`), when known.
    pub path: Option<String>,
    pub message: String,
    /// The whole report of the problem, as the command prints it: `FILE:LINE:COLUMN: PATH:
    /// MESSAGE`, the line and a caret.
    pub report: String,
}

/// The check of a whole scenario text: every problem, none when the file is good.
pub type ScenarioCheck = Arc<dyn Fn(&str) -> Vec<ScenarioProblem> + Send + Sync>;

/// The scenario file the server runs from, and how it is checked.
pub struct FlowEditor {
    scenario: PathBuf,
    check: ScenarioCheck,
    /// One write at a time: a save reads the file, replaces a flow and writes it back.
    writing: tokio::sync::Mutex<()>,
}

/// A problem of a checked flow, with the node (or the flow's own key) it is about.
#[derive(Clone, Debug, Serialize)]
pub struct FlowProblem {
    #[serde(flatten)]
    pub problem: ScenarioProblem,
    /// The id of the node the path points into, when it is a node of the checked flow.
    pub node: Option<String>,
    /// The key below the node (or the flow) the path names: `options.2`, `start`.
    pub key: Option<String>,
    /// Whether the problem is about the checked flow at all (else elsewhere in the file).
    pub in_flow: bool,
}

/// What went wrong before a flow could be checked or written.
#[derive(Debug)]
pub enum EditorError {
    /// The request's body is not a flow.
    BadFlow(String),
    /// The flow cannot be put into the file (it is split around other tables, the file does
    /// not parse).
    Unplaceable(String),
    /// The flow has problems; nothing was written.
    Invalid(Vec<FlowProblem>),
    /// The file cannot be read or written.
    Io(String),
}

impl IntoResponse for EditorError {
    fn into_response(self) -> Response {
        match self {
            EditorError::BadFlow(error) => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("expected an IVR flow as JSON (as GET /ivr/flows gives it): {error}") })),
            )
                .into_response(),
            EditorError::Unplaceable(error) => {
                (StatusCode::CONFLICT, Json(json!({ "error": error }))).into_response()
            }
            EditorError::Invalid(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "error": format!("the flow has {} problem{}; nothing was written", problems.len(), if problems.len() == 1 { "" } else { "s" }),
                    "problems": problems,
                })),
            )
                .into_response(),
            EditorError::Io(error) => {
                (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": error }))).into_response()
            }
        }
    }
}

/// What a save changed, for the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct SavedFlow {
    pub flow: String,
    pub file: String,
    /// Whether the file had no flow of that name before.
    pub added: bool,
    pub nodes: usize,
}

impl FlowEditor {
    pub fn new(scenario: PathBuf, check: ScenarioCheck) -> FlowEditor {
        FlowEditor {
            scenario,
            check,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn scenario(&self) -> &Path {
        &self.scenario
    }

    fn read(&self) -> Result<String, EditorError> {
        std::fs::read_to_string(&self.scenario)
            .map_err(|error| EditorError::Io(format!("cannot read the scenario file: {error}")))
    }

    /// The flows of the file as it is now, with the names a node may refer to.
    pub fn flows(&self) -> Result<serde_json::Value, EditorError> {
        let text = self.read()?;
        let config: CenterConfig = toml::from_str(&text).map_err(|error| {
            EditorError::Unplaceable(format!(
                "the scenario file does not read as a center: {}",
                error.message()
            ))
        })?;
        let names = |names: Vec<&str>| names.into_iter().map(String::from).collect::<Vec<_>>();
        Ok(json!({
            "file": self.file_name(),
            "flows": config.ivr,
            "queues": config.queues.iter().map(|queue| json!({ "name": queue.name, "channel": queue.channel })).collect::<Vec<_>>(),
            "calendars": names(config.calendars.iter().map(|calendar| calendar.name.as_str()).collect()),
            "sites": names(config.sites.iter().map(|site| site.name.as_str()).collect()),
        }))
    }

    fn file_name(&self) -> String {
        self.scenario
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The problems of the file with `flow` in place of the flow `name` (added when the file
    /// has none of that name).
    pub fn check(&self, name: &str, body: &[u8]) -> Result<Vec<FlowProblem>, EditorError> {
        let flow = flow_of(name, body)?;
        let text = self.read()?;
        let (edited, index) = with_flow(&text, &flow).map_err(EditorError::Unplaceable)?;
        Ok(self.problems(&edited, index, &flow))
    }

    fn problems(&self, text: &str, index: usize, flow: &IvrFlowConfig) -> Vec<FlowProblem> {
        (self.check)(text)
            .into_iter()
            .map(|problem| place_problem(problem, index, flow))
            .collect()
    }

    /// Writes `flow` in place of the flow `name` when the whole file then passes the check.
    pub async fn save(&self, name: &str, body: &[u8]) -> Result<SavedFlow, EditorError> {
        let flow = flow_of(name, body)?;
        let _writing = self.writing.lock().await;
        let text = self.read()?;
        let (edited, index) = with_flow(&text, &flow).map_err(EditorError::Unplaceable)?;
        let problems = self.problems(&edited, index, &flow);
        if !problems.is_empty() {
            return Err(EditorError::Invalid(problems));
        }
        let added = flow_index(&text, &flow.name).is_none();
        // Written beside, then renamed over: a reader never sees half a file.
        let beside = self.scenario.with_extension("toml.saving");
        std::fs::write(&beside, &edited)
            .and_then(|()| std::fs::rename(&beside, &self.scenario))
            .map_err(|error| EditorError::Io(format!("cannot write the scenario file: {error}")))?;
        Ok(SavedFlow {
            flow: flow.name.clone(),
            file: self.file_name(),
            added,
            nodes: flow.nodes.len(),
        })
    }
}

/// `POST /ivr/connect/export`: the flow of the body in the Amazon Connect flow language, or 422
/// with every node that does not map (`docs/connect-flows.md`).
pub async fn export_connect(body: axum::body::Bytes) -> Response {
    let flow: IvrFlowConfig = match serde_json::from_slice(&body) {
        Ok(flow) => flow,
        Err(error) => return EditorError::BadFlow(error.to_string()).into_response(),
    };
    match switchboard_connect_flow::export(&flow) {
        Ok(connect) => Json(connect).into_response(),
        Err(unmapped) => unmapped_response("node", &unmapped),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    name: String,
    flow: switchboard_connect_flow::ConnectFlow,
}

/// `POST /ivr/connect/import` with `{"name", "flow"}`: the Connect flow as a Switchboard flow
/// of that name (not saved: the editor shows it), or 422 with every action that does not map.
pub async fn import_connect(body: axum::body::Bytes) -> Response {
    let body: ImportBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("expected {{\"name\": NAME, \"flow\": AN AMAZON CONNECT FLOW}}: {error}") })),
            )
                .into_response()
        }
    };
    match switchboard_connect_flow::import(&body.flow, &body.name) {
        Ok(flow) => Json(json!({ "flow": flow })).into_response(),
        Err(unmapped) => unmapped_response("action", &unmapped),
    }
}

fn unmapped_response(what: &str, unmapped: &[switchboard_connect_flow::Unmapped]) -> Response {
    let count = unmapped.len();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "error": format!("{count} {what}{} that do{} not map", if count == 1 { "" } else { "s" }, if count == 1 { "es" } else { "" }),
            "unmapped": unmapped,
        })),
    )
        .into_response()
}

/// The body as a flow, which must be the flow the path names.
fn flow_of(name: &str, body: &[u8]) -> Result<IvrFlowConfig, EditorError> {
    let flow: IvrFlowConfig =
        serde_json::from_slice(body).map_err(|error| EditorError::BadFlow(error.to_string()))?;
    if flow.name != name {
        return Err(EditorError::BadFlow(format!(
            "the flow is named {:?} but the path names {name:?}",
            flow.name
        )));
    }
    Ok(flow)
}

/// Which node of the flow at `index` a problem's path (`ivr[1].node[3].options.2`) is about.
fn place_problem(problem: ScenarioProblem, index: usize, flow: &IvrFlowConfig) -> FlowProblem {
    let prefix = format!("ivr[{index}]");
    let below = problem
        .path
        .as_deref()
        .and_then(|path| path.strip_prefix(&prefix))
        .filter(|rest| rest.is_empty() || rest.starts_with('.'))
        .map(|rest| rest.trim_start_matches('.').to_string());
    let (node, key) = match &below {
        Some(rest) => match rest.strip_prefix("node[") {
            Some(after) => {
                let (position, key) = after.split_once(']').unwrap_or((after, ""));
                let node = position
                    .parse::<usize>()
                    .ok()
                    .and_then(|position| flow.nodes.get(position))
                    .map(|node| node.id().to_string());
                let key = key.trim_start_matches('.');
                (node, (!key.is_empty()).then(|| key.to_string()))
            }
            None => (None, (!rest.is_empty()).then(|| rest.clone())),
        },
        None => (None, None),
    };
    FlowProblem {
        problem,
        node,
        key,
        in_flow: below.is_some(),
    }
}

/// The position of the flow `name` among the file's `[[ivr]]` tables.
fn flow_index(text: &str, name: &str) -> Option<usize> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let flows = document.get("ivr")?.as_array_of_tables()?;
    let position = flows
        .iter()
        .position(|flow| flow.get("name").and_then(|item| item.as_str()) == Some(name));
    position
}

/// `flow` as the TOML of one `[[ivr]]` table with its nodes.
pub fn flow_toml(flow: &IvrFlowConfig) -> String {
    #[derive(Serialize)]
    struct OneFlow<'a> {
        ivr: [&'a IvrFlowConfig; 1],
    }
    let text = toml::to_string(&OneFlow { ivr: [flow] }).unwrap_or_else(|error| {
        // Every flow the serde types read serialises; say so loudly if one does not.
        panic!("an IVR flow does not serialise to TOML: {error}")
    });
    let Ok(mut document) = text.parse::<toml_edit::DocumentMut>() else {
        return text;
    };
    // A menu's options and a condition's test read best on their node's own lines, as
    // docs/scenario.md writes them, not as tables of their own after the node.
    let nodes = document["ivr"][0]["node"].as_array_of_tables_mut();
    for node in nodes.into_iter().flat_map(|nodes| nodes.iter_mut()) {
        for key in ["options", "when"] {
            if let Some(item) = node.get_mut(key) {
                if let Some(table) = item.as_table().cloned() {
                    *item = toml_edit::value(table.into_inline_table());
                }
            }
        }
        node.fmt();
    }
    document.to_string()
}

/// The text with `flow` in place of the `[[ivr]]` table of the same name (after the last flow,
/// or at the end, when there is none), and the flow's position among the file's flows.
pub fn with_flow(text: &str, flow: &IvrFlowConfig) -> Result<(String, usize), String> {
    let document = toml_edit::ImDocument::parse(text)
        .map_err(|error| format!("the scenario file is not TOML: {}", error.message()))?;
    let flows = document
        .get("ivr")
        .and_then(|item| item.as_array_of_tables());
    let count = flows.map_or(0, |flows| flows.len());
    let position = flow_index(text, &flow.name);
    let replacement = flow_toml(flow);
    match position {
        Some(position) => {
            let region = flow_region(&document, position)?;
            let mut edited = String::with_capacity(text.len() + replacement.len());
            edited.push_str(&text[..region.start]);
            edited.push_str(&replacement);
            edited.push_str(&text[region.end..]);
            Ok((edited, position))
        }
        None => {
            let at = match count {
                0 => text.len(),
                _ => flow_region(&document, count - 1)?.end,
            };
            let mut edited = text[..at].to_string();
            if !edited.is_empty() && !edited.ends_with('\n') {
                edited.push('\n');
            }
            if !edited.is_empty() {
                edited.push('\n');
            }
            edited.push_str(&replacement);
            if at < text.len() {
                edited.push('\n');
            }
            edited.push_str(&text[at..]);
            Ok((edited, count))
        }
    }
}

/// The bytes of the flow at `position`: from its `[[ivr]]` header to the end of the line of
/// its last key, over its node and layout tables. A flow with another table between its own
/// is refused rather than cut in pieces.
fn flow_region(
    document: &toml_edit::ImDocument<&str>,
    position: usize,
) -> Result<Range<usize>, String> {
    let mut spans: Vec<(Range<usize>, bool)> = Vec::new();
    for (key, item) in document.as_table().iter() {
        match (key, item) {
            ("ivr", toml_edit::Item::ArrayOfTables(flows)) => {
                for (index, flow) in flows.iter().enumerate() {
                    table_spans(flow, index == position, &mut spans);
                }
            }
            (_, item) => item_spans(item, false, &mut spans),
        }
    }
    let inside = spans
        .iter()
        .filter(|(_, inside)| *inside)
        .map(|(span, _)| span);
    let start = inside.clone().map(|span| span.start).min();
    let end = inside.map(|span| span.end).max();
    let (Some(start), Some(end)) = (start, end) else {
        return Err(format!("flow {position} has no place in the file"));
    };
    if spans
        .iter()
        .any(|(span, inside)| !inside && (start..end).contains(&span.start))
    {
        return Err(
            "the flow's tables are not together in the file (another table sits between them); \
             put them together to edit the flow here"
                .into(),
        );
    }
    let text = document.raw();
    let end = text[end..]
        .find('\n')
        .map_or(text.len(), |newline| end + newline + 1);
    Ok(start..end)
}

fn item_spans(item: &toml_edit::Item, inside: bool, spans: &mut Vec<(Range<usize>, bool)>) {
    match item {
        toml_edit::Item::Table(table) => table_spans(table, inside, spans),
        toml_edit::Item::ArrayOfTables(tables) => {
            for table in tables.iter() {
                table_spans(table, inside, spans);
            }
        }
        toml_edit::Item::Value(_) | toml_edit::Item::None => {}
    }
}

fn table_spans(table: &toml_edit::Table, inside: bool, spans: &mut Vec<(Range<usize>, bool)>) {
    if let Some(span) = table.span() {
        spans.push((span, inside));
    }
    for (_, item) in table.iter() {
        item_spans(item, inside, spans);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# The center.
[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

# The first flow.
[[ivr]]
name = "main"
start = "menu"

[[ivr.node]]
kind = "menu"
id = "menu"
prompt = "Press 1"
duration = "2s"
options = { "1" = "to-sales" }
on_fail = "to-sales"

[[ivr.node]]
kind = "queue"
id = "to-sales"
queue = "sales" # the only queue

# The live table stays.
[live]
api_token = "t"
"#;

    #[test]
    fn options_and_conditions_stay_on_their_node() {
        let mut main = flow(FILE);
        main.nodes.push(toml::from_str(
            "kind = \"condition\"\nid = \"vip\"\nwhen = { attribute = { attribute = \"vip\" } }\nthen = \"to-sales\"\nelse = \"to-sales\"\n",
        ).unwrap());
        let text = flow_toml(&main);
        assert!(
            text.contains("on_fail = \"to-sales\"\noptions = { 1 = \"to-sales\" }\n"),
            "{text}"
        );
        assert!(
            text.contains("when = { attribute = { attribute = \"vip\" } }\n"),
            "{text}"
        );
        let read: CenterConfig = toml::from_str(&text).unwrap();
        assert_eq!(read.ivr[0].nodes.len(), 3);
    }

    fn flow(text: &str) -> IvrFlowConfig {
        let config: CenterConfig = toml::from_str(text).unwrap();
        config.ivr.into_iter().next().unwrap()
    }

    #[test]
    fn a_flow_replaces_its_own_tables_and_nothing_else() {
        let mut edited_flow = flow(FILE);
        edited_flow.layout.insert("menu".into(), [40, 60]);
        let (edited, index) = with_flow(FILE, &edited_flow).unwrap();
        assert_eq!(index, 0);
        assert!(edited.starts_with("# The center.\n[[queue]]"), "{edited}");
        assert!(edited.contains("# The first flow.\n[[ivr]]\n"), "{edited}");
        assert!(
            edited.ends_with("# The live table stays.\n[live]\napi_token = \"t\"\n"),
            "{edited}"
        );
        // The flow's own trailing comment goes with the flow's old text.
        assert!(!edited.contains("the only queue"), "{edited}");
        let read: CenterConfig = toml::from_str(&edited).unwrap();
        assert_eq!(read.ivr.len(), 1);
        assert_eq!(read.ivr[0].layout["menu"], [40, 60]);
        assert_eq!(read.ivr[0].nodes.len(), 2);
        // Written again unchanged, the text stays the same.
        assert_eq!(with_flow(&edited, &read.ivr[0]).unwrap().0, edited);
    }

    #[test]
    fn a_new_flow_goes_after_the_last_one() {
        let mut second = flow(FILE);
        second.name = "second".into();
        let (edited, index) = with_flow(FILE, &second).unwrap();
        assert_eq!(index, 1);
        let read: CenterConfig = toml::from_str(&edited).unwrap();
        let names: Vec<&str> = read.ivr.iter().map(|flow| flow.name.as_str()).collect();
        assert_eq!(names, ["main", "second"]);
        assert!(edited.find("name = \"second\"").unwrap() < edited.find("[live]").unwrap());
        let (alone, index) = with_flow("[[queue]]\nname = \"sales\"\n", &second).unwrap();
        assert_eq!(index, 0);
        assert!(
            alone.starts_with("[[queue]]\nname = \"sales\"\n\n[[ivr]]\n"),
            "{alone}"
        );
    }

    #[test]
    fn a_flow_split_around_another_table_is_refused() {
        let split = FILE.replace(
            "[[ivr.node]]\nkind = \"queue\"",
            "[[queue]]\nname = \"x\"\nchannel = \"voice\"\nskills = [\"x\"]\n\n[[ivr.node]]\nkind = \"queue\"",
        );
        // TOML itself puts the second node into the same flow, after the queue.
        let error = with_flow(&split, &flow(FILE)).unwrap_err();
        assert!(error.contains("not together"), "{error}");
    }

    #[test]
    fn problems_are_placed_on_their_node() {
        let main = flow(FILE);
        let problem = |path: &str| ScenarioProblem {
            line: 1,
            column: 1,
            path: Some(path.into()),
            message: "m".into(),
            report: "r".into(),
        };
        let placed = place_problem(problem("ivr[0].node[1].queue"), 0, &main);
        assert_eq!(placed.node.as_deref(), Some("to-sales"));
        assert_eq!(placed.key.as_deref(), Some("queue"));
        assert!(placed.in_flow);
        let placed = place_problem(problem("ivr[0].start"), 0, &main);
        assert_eq!((placed.node, placed.key.as_deref()), (None, Some("start")));
        let placed = place_problem(problem("ivr[10].start"), 1, &main);
        assert!(!placed.in_flow);
    }
}

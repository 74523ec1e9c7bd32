//! Reading a scenario file: the rules every command shares about which top-level tables a file
//! may hold, and how a problem is pointed at a line and column of the file.
//!
//! A scenario file holds the center's configuration (read by the engine) beside tables that
//! belong to the drivers: the simulator's, the live runtime's. The engine's `CenterConfig` and
//! each driver ignore top-level tables they do not read, so that every driver can read the same
//! file; each driver lists its own tables, and this module, which knows every driver, is where
//! a misspelt top-level table (`[[queues]]`, `[senario]`) is caught instead, against their
//! union. Every command reads the scenario files it is given through [`load_scenario`] (or
//! checks them with [`check_tables`]) so that none runs on a half-understood file.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use switchboard_engine::source_text::line_and_column;
use switchboard_engine::{Center, CenterConfig, ConfigError};
use switchboard_sim::scenario::{
    check_top_level_tables, closest_name, load_scenario_with_tables, parse_scenario, Scenario,
    ScenarioError, CENTER_TABLES, SIMULATOR_TABLES,
};
use switchboard_sim::topology::{compile_topology, Topology};

/// The live runtime's one table, read by `switchboard_live::config::ScenarioLive`.
const LIVE_TABLES: &[&str] = &["live"];

/// The planner's one table, read by `switchboard_plan::staffing_table` for `plan staff`.
const PLANNER_TABLES: &[&str] = &[switchboard_plan::staffing_table::STAFFING_TABLE];

/// Every top-level table a scenario file may hold: the engine's, then each driver's.
pub fn known_tables() -> impl Iterator<Item = &'static str> {
    CENTER_TABLES
        .iter()
        .chain(SIMULATOR_TABLES)
        .chain(LIVE_TABLES)
        .chain(PLANNER_TABLES)
        .copied()
}

/// Whether `name` is a top-level table some part of Switchboard reads.
pub fn is_known_table(name: &str) -> bool {
    known_tables().any(|known| known == name)
}

/// The known table closest to `key`, if it is close enough to be a likely misspelling.
pub fn suggest_table(key: &str) -> Option<&'static str> {
    closest_name(key, known_tables())
}

/// Refuses a scenario text with a top-level table no part of Switchboard reads, at its line
/// and column.
pub fn check_tables(file: &str, text: &str) -> Result<(), ScenarioError> {
    check_top_level_tables(file, text, &known_tables().collect::<Vec<_>>())
}

/// Reads a scenario file, checks its top-level tables against every reader's, and parses it
/// with the simulator's rules.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    load_scenario_with_tables(path, Some(&known_tables().collect::<Vec<_>>()))
}

/// A top-level key that no part of Switchboard reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    /// 1-based line and column (in characters) of the key.
    pub line: usize,
    pub column: usize,
    /// The known table the key most likely stands for, if one is close.
    pub suggestion: Option<&'static str>,
}

/// Top-level keys of a scenario file that neither the engine nor a driver reads, in file order.
/// Fails only if the text is not TOML at all (the caller reports that with its position).
pub fn unknown_top_level_keys(text: &str) -> Result<Vec<UnknownKey>, toml::de::Error> {
    let top_level: BTreeMap<toml::Spanned<String>, serde::de::IgnoredAny> = toml::from_str(text)?;
    let mut unknown: Vec<UnknownKey> = top_level
        .keys()
        .filter(|key| !is_known_table(key.get_ref()))
        .map(|key| {
            let (line, column) = line_and_column(text, key.span().start);
            UnknownKey {
                key: key.get_ref().clone(),
                line,
                column,
                suggestion: suggest_table(key.get_ref()),
            }
        })
        .collect();
    unknown.sort_by_key(|key| (key.line, key.column));
    Ok(unknown)
}

/// One segment of a problem path: `queue[2]` is the key `queue` then the index 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathSegment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `queue[2].relax[0].overflow` into keys and indexes. A segment that is not a clean
/// `name` or `name[index]` ends the path there: whatever resolved so far is still useful.
fn path_segments(path: &str) -> Vec<PathSegment<'_>> {
    let mut segments = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(bracket) => (&part[..bracket], &part[bracket..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segments.push(PathSegment::Key(name));
        }
        while let Some(inside) = rest.strip_prefix('[') {
            let Some(close) = inside.find(']') else {
                return segments;
            };
            let Ok(index) = inside[..close].parse() else {
                return segments;
            };
            segments.push(PathSegment::Index(index));
            rest = &inside[close + 1..];
        }
    }
    segments
}

/// Where the walk down a path stands: a table (the document, a `[table]`, an element of an
/// array of tables), an item, or a value inside an inline table or array.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a toml_edit::Table),
    Item(&'a toml_edit::Item),
    Value(&'a toml_edit::Value),
}

/// A step of the walk: the child reached and the span that points at it, if known.
type Step<'a> = Option<(Node<'a>, Option<Range<usize>>)>;

/// The byte range in the text of the deepest part of `path` (such as
/// `queue[2].relax[0].overflow`) that exists in the document: the key for a key, the element
/// for an array element, the `[[header]]` for an element of an array of tables. `None` if not
/// even the first part exists.
pub fn locate_path(document: &toml_edit::ImDocument<&str>, path: &str) -> Option<Range<usize>> {
    let mut node = Node::Table(document.as_table());
    let mut found: Option<Range<usize>> = None;
    for segment in path_segments(path) {
        let Some((child, span)) = step(node, segment) else {
            break;
        };
        if span.is_some() {
            found = span;
        }
        node = child;
    }
    found
}

fn step<'a>(node: Node<'a>, segment: PathSegment<'_>) -> Step<'a> {
    match (node, segment) {
        (Node::Table(table), PathSegment::Key(name)) => key_in_table(table, name),
        (Node::Table(_), PathSegment::Index(_)) => None,
        (Node::Item(item), segment) => match item {
            toml_edit::Item::Table(table) => step(Node::Table(table), segment),
            toml_edit::Item::Value(value) => step(Node::Value(value), segment),
            toml_edit::Item::ArrayOfTables(tables) => match segment {
                PathSegment::Index(index) => tables
                    .get(index)
                    .map(|table| (Node::Table(table), table.span())),
                PathSegment::Key(_) => None,
            },
            toml_edit::Item::None => None,
        },
        (Node::Value(value), PathSegment::Key(name)) => match value {
            toml_edit::Value::InlineTable(table) => table
                .get_key_value(name)
                .map(|(key, item)| (Node::Item(item), key.span().or_else(|| item.span()))),
            // `skills.sales` when the skills are written as a list: point at "sales".
            toml_edit::Value::Array(array) => array
                .iter()
                .find(|element| element.as_str() == Some(name))
                .map(|element| (Node::Value(element), element.span())),
            _ => None,
        },
        (Node::Value(value), PathSegment::Index(index)) => match value {
            toml_edit::Value::Array(array) => array
                .get(index)
                .map(|element| (Node::Value(element), element.span())),
            _ => None,
        },
    }
}

fn key_in_table<'a>(table: &'a toml_edit::Table, name: &str) -> Step<'a> {
    table
        .get_key_value(name)
        .map(|(key, item)| (Node::Item(item), key.span().or_else(|| item.span())))
}

/// A problem found in a scenario file, pointed at a line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    /// The engine's path of the offending key (`queue[2].relax[0].overflow`), when known.
    pub path: Option<String>,
    pub message: String,
    /// The line of the file the problem is on, shown under the message.
    pub source_line: String,
}

impl Diagnostic {
    fn at(text: &str, byte_offset: usize, path: Option<String>, message: String) -> Diagnostic {
        let (line, column) = line_and_column(text, byte_offset);
        Diagnostic {
            line,
            column,
            path,
            message,
            source_line: text.lines().nth(line - 1).unwrap_or("").to_string(),
        }
    }

    /// `FILE:LINE:COLUMN: PATH: MESSAGE`, then the line of the file with a caret under the
    /// column.
    pub fn render(&self, file: &Path) -> String {
        let mut rendered = format!("{}:{}:{}: ", file.display(), self.line, self.column);
        if let Some(path) = &self.path {
            rendered.push_str(path);
            rendered.push_str(": ");
        }
        rendered.push_str(&self.message);
        // The one snippet style of every reader (switchboard_engine::source_text).
        rendered.push_str(&switchboard_engine::source_text::line_snippet(
            self.line,
            &self.source_line,
            self.column,
        ));
        rendered
    }
}

/// Everything wrong with a scenario file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors {
    pub diagnostics: Vec<Diagnostic>,
}

impl ScenarioErrors {
    pub fn render(&self, file: &Path) -> String {
        self.diagnostics
            .iter()
            .map(|diagnostic| diagnostic.render(file))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Path::new("<scenario>")))
    }
}

impl std::error::Error for ScenarioErrors {}

/// Reads the center part of a scenario file and builds the [`Center`], or says everything
/// that is wrong with the file: TOML syntax, unknown top-level tables, wrong types and unknown
/// keys in the center's tables, then what the engine finds wrong with the meaning.
pub fn load_center(text: &str) -> Result<(CenterConfig, Center), ScenarioErrors> {
    let fail = |diagnostics: Vec<Diagnostic>| Err(ScenarioErrors { diagnostics });
    let unknown = match unknown_top_level_keys(text) {
        Ok(unknown) => unknown,
        Err(error) => return fail(vec![toml_error_diagnostic(text, &error)]),
    };
    let mut diagnostics: Vec<Diagnostic> = unknown
        .into_iter()
        .map(|key| {
            let hint = match key.suggestion {
                Some(table) => format!("; did you mean `{table}`?"),
                None => String::new(),
            };
            let (line, column) = (key.line, key.column);
            let mut diagnostic = Diagnostic::at(
                text,
                0,
                None,
                format!(
                    "unknown top-level table `{}`: expected one of {}{hint}",
                    key.key,
                    known_tables()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            diagnostic.line = line;
            diagnostic.column = column;
            diagnostic.source_line = text.lines().nth(line - 1).unwrap_or("").to_string();
            diagnostic
        })
        .collect();
    // Type errors inside the center's tables are reported even when a top-level table is
    // unknown, so that one round of fixes covers as much as possible.
    let config = match toml::from_str::<CenterConfig>(text) {
        Ok(config) => config,
        Err(error) => {
            diagnostics.push(toml_error_diagnostic(text, &error));
            return fail(diagnostics);
        }
    };
    if !diagnostics.is_empty() {
        return fail(diagnostics);
    }
    match Center::new(config.clone()) {
        Ok(center) => Ok((config, center)),
        Err(error) => fail(config_error_diagnostics(text, &error)),
    }
}

/// Reads `[topology]`, `[[fault]]` and `[chaos]` with the simulator's own rules (the same
/// checks `sim` and `chaos` make), or `None` when the file has none of them. They need the
/// run's `[scenario]` (a fault must start before the run ends), so a file with them is read as
/// a whole scenario.
pub fn load_topology(
    file: &str,
    text: &str,
    path: &Path,
) -> Result<Option<Topology>, ScenarioErrors> {
    let has_failover_tables = toml_edit::ImDocument::parse(text)
        .map(|document| {
            let top = document.as_table();
            ["topology", "fault", "chaos"]
                .iter()
                .any(|table| top.contains_key(table))
        })
        .unwrap_or(false);
    if !has_failover_tables {
        return Ok(None);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    check_tables(file, text)
        .and_then(|()| parse_scenario(file, text, base))
        .and_then(|scenario| compile_topology(&scenario))
        .map_err(|error| simulator_diagnostics(text, &error))
}

/// The simulator's problems as diagnostics, each with its line of the file.
fn simulator_diagnostics(text: &str, error: &ScenarioError) -> ScenarioErrors {
    let diagnostics = error
        .problems
        .iter()
        .map(|problem| {
            let line = problem.line.unwrap_or(1);
            Diagnostic {
                line,
                column: problem.column.unwrap_or(1),
                path: problem.path.clone(),
                message: problem.message.clone(),
                source_line: match problem.line {
                    Some(line) => text.lines().nth(line - 1).unwrap_or("").to_string(),
                    None => String::new(),
                },
            }
        })
        .collect();
    ScenarioErrors { diagnostics }
}

/// A TOML syntax or type error at the position the parser gives.
fn toml_error_diagnostic(text: &str, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message =
        switchboard_engine::source_text::plain_message(&error.message().trim().replace('\n', "; "));
    let mut offset = span.start;
    if let Some(unknown) = unknown_field_name(&message) {
        // Tables read through a tagged enum (IVR nodes) report the whole table: point at the
        // key itself when it is there.
        offset = key_offset_within(text, span.clone(), unknown).unwrap_or(offset);
    }
    Diagnostic::at(text, offset, None, message)
}

/// A TOML problem of a file read with serde (the `[live]` table), in the style of every
/// reader: `FILE:LINE:COLUMN: message` with the line and a caret, "did you mean" for a
/// misspelt key.
pub fn toml_problem(file: &Path, text: &str, error: &toml::de::Error) -> String {
    Diagnostic::at(
        text,
        error.span().map_or(0, |span| span.start),
        None,
        switchboard_engine::source_text::plain_message(error.message()),
    )
    .render(file)
}

/// `skils` in "unknown field `skils`, expected ...".
fn unknown_field_name(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")?
        .split_once('`')
        .map(|(name, _)| name)
}

/// The offset of the first line within `span` that assigns the bare key `key`.
fn key_offset_within(text: &str, span: Range<usize>, key: &str) -> Option<usize> {
    let region = text.get(span.clone())?;
    let mut line_start = 0;
    for line in region.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        if let Some(after) = rest.strip_prefix(key) {
            if after.trim_start().starts_with('=') || after.trim_start().starts_with('.') {
                return Some(span.start + line_start + indent);
            }
        }
        line_start += line.len();
    }
    None
}

/// The engine's problems, each pointed at the key its path names (or the deepest part of the
/// path found in the file).
pub fn config_error_diagnostics(text: &str, error: &ConfigError) -> Vec<Diagnostic> {
    let document = toml_edit::ImDocument::parse(text).ok();
    error
        .problems
        .iter()
        .map(|problem| {
            let offset = document
                .as_ref()
                .and_then(|document| locate_path(document, &problem.path))
                .map_or(0, |span| span.start);
            Diagnostic::at(
                text,
                offset,
                Some(problem.path.clone()),
                problem.message.clone(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drivers_tables_are_known_and_no_others() {
        let text =
            "[scenario]\nduration = \"1h\"\n[live]\nauto_ready = true\n[[queue]]\nname = \"q\"\n";
        assert!(check_tables("a.toml", text).is_ok());
        // Tables nobody reads are refused, even where a name once was reserved for one.
        let error = check_tables("a.toml", &format!("{text}[cost]\nyears = 5\n")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("a.toml:7:2: unknown table `cost`"),
            "{error}"
        );
        assert_eq!(suggest_table("lives"), Some("live"));
    }

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            path_segments("queue[2].relax[0].overflow"),
            vec![
                PathSegment::Key("queue"),
                PathSegment::Index(2),
                PathSegment::Key("relax"),
                PathSegment::Index(0),
                PathSegment::Key("overflow"),
            ]
        );
        assert_eq!(path_segments("center.start").len(), 2);
        assert_eq!(
            path_segments("queue[x].name"),
            vec![PathSegment::Key("queue")]
        );
    }

    const FILE: &str = r#"[center]
start = "2026-11-11T00:00:00+08:00"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[queue]]
name = "support"
channel = "voice"
skills = { support = 2 }
relax = [ { after = "30s", min_proficiency = 1 }, { after = "60s", overflow = "sales" } ]
on_max_wait = { overflow = { queue = "sales" } }

[[ivr]]
name = "main"
start = "welcome"

[[ivr.node]]
id = "welcome"
kind = "play"
"#;

    fn locate(path: &str) -> Option<(usize, usize)> {
        let document = toml_edit::ImDocument::parse(FILE).unwrap();
        locate_path(&document, path).map(|span| line_and_column(FILE, span.start))
    }

    #[test]
    fn paths_resolve_to_the_line_and_column_of_their_key() {
        assert_eq!(locate("center.start"), Some((2, 1)));
        assert_eq!(locate("queue[1]"), Some((9, 1)));
        assert_eq!(locate("queue[1].name"), Some((10, 1)));
        assert_eq!(locate("queue[1].relax[1]"), Some((13, 51)));
        assert_eq!(locate("queue[1].relax[1].overflow"), Some((13, 68)));
        assert_eq!(locate("queue[1].skills.support"), Some((12, 12)));
        assert_eq!(locate("queue[0].skills.sales"), Some((7, 11)));
        assert_eq!(
            locate("queue[1].on_max_wait.overflow.queue"),
            Some((14, 30))
        );
        assert_eq!(locate("ivr[0].node[0]"), Some((20, 1)));
        assert_eq!(locate("ivr[0].node[0].kind"), Some((22, 1)));
    }

    #[test]
    fn unresolved_paths_fall_back_to_the_deepest_part_found() {
        assert_eq!(locate("queue[1].relax[7].overflow"), Some((13, 1)));
        // Only the key `queue` of the first `[[queue]]` header exists.
        assert_eq!(locate("queue[5].name"), Some((4, 3)));
        // The flow has one node: the deepest part found is `node` in `[[ivr.node]]`.
        assert_eq!(locate("ivr[0].node[3]"), Some((20, 7)));
        assert_eq!(locate("nothing[0]"), None);
    }

    #[test]
    fn unknown_top_level_tables_are_found_with_a_suggestion() {
        let text = "[senario]\nseed = 1\n\n[[queues]]\nname = \"x\"\n\n[[traffic]]\n\n[zebra]\n";
        let unknown = unknown_top_level_keys(text).unwrap();
        let found: Vec<_> = unknown
            .iter()
            .map(|key| (key.key.as_str(), key.line, key.column, key.suggestion))
            .collect();
        assert_eq!(
            found,
            vec![
                ("senario", 1, 2, Some("scenario")),
                ("queues", 4, 3, Some("queue")),
                ("zebra", 9, 2, None),
            ]
        );
    }

    #[test]
    fn an_unknown_key_in_an_ivr_node_is_pointed_at_the_key_not_the_table() {
        let text = "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\n\n[[ivr]]\nname = \"main\"\nstart = \"join\"\n\n[[ivr.node]]\nid = \"join\"\nkind = \"queue\"\nqueue = \"sales\"\n  prioritee = 3\n";
        let Err(errors) = load_center(text) else {
            panic!("the file has a mistake")
        };
        let diagnostic = &errors.diagnostics[0];
        assert_eq!((diagnostic.line, diagnostic.column), (13, 3));
        assert!(diagnostic.message.ends_with("did you mean `priority`?"));
    }

    #[test]
    fn a_skill_list_of_the_wrong_shape_says_what_was_expected() {
        let text =
            "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\nskills = { sales = \"high\" }\n";
        let Err(errors) = load_center(text) else {
            panic!("the file has a mistake")
        };
        let diagnostic = &errors.diagnostics[0];
        assert_eq!((diagnostic.line, diagnostic.column), (4, 10));
        assert!(
            diagnostic
                .message
                .contains("proficiency of skill \"sales\" as a whole number from 1 to 5"),
            "{}",
            diagnostic.message
        );
    }

    #[test]
    fn an_unknown_field_gets_the_closest_expected_name() {
        let message = "unknown field `skils`, expected one of `name`, `channel`, `skills`";
        assert_eq!(
            switchboard_engine::source_text::suggestion_for_unknown_name(message).as_deref(),
            Some("skills")
        );
        let message =
            "unknown variant `longest_idle`, expected one of `longest-idle`, `round-robin`";
        assert_eq!(
            switchboard_engine::source_text::suggestion_for_unknown_name(message).as_deref(),
            Some("longest-idle")
        );
        assert_eq!(
            switchboard_engine::source_text::suggestion_for_unknown_name(
                "unknown field `zzzzzz`, expected `name`"
            ),
            None
        );
    }
}

//! Reading a sweep file and expanding it into points.
//!
//! ```toml
//! [sweep]
//! scenario = "mmc.toml"          # relative to the sweep file
//!
//! [grid]                         # every combination (cartesian product)
//! agents.sales-team.count = { from = 10, to = 16, step = 1 }
//! traffic.sales.handle_time.mean = ["2m", "3m"]
//! ```
//!
//! or a list of named variants (`[[variant]]` with a `name` and the values it sets). Every
//! problem is reported with the sweep file's name, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use switchboard_engine::source_text;
use toml_edit::{DocumentMut, ImDocument, Item, Value};

use crate::edit::set_value;

/// A problem with a sweep file, where it is, in the style of every reader
/// (`switchboard_engine::source_text`): `FILE:LINE:COLUMN: message`, then the line with a caret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepFileError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The line the problem is on with a caret under its column; empty without a place.
    pub snippet: String,
}

impl SweepFileError {
    /// A problem of the file as a whole (it cannot be read, a table is missing).
    fn whole_file(file: &str, message: impl Into<String>) -> Self {
        SweepFileError {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
            snippet: String::new(),
        }
    }
}

impl fmt::Display for SweepFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}{}", self.message, self.snippet)
    }
}

impl std::error::Error for SweepFileError {}

/// One value the sweep sets: its dotted path and the value.
#[derive(Clone, Debug)]
pub struct Setting {
    pub path: String,
    pub value: Value,
}

impl Setting {
    /// The value as JSON (numbers stay numbers) for result files.
    pub fn json_value(&self) -> serde_json::Value {
        match &self.value {
            Value::Integer(integer) => serde_json::Value::from(*integer.value()),
            Value::Float(float) => serde_json::Value::from(*float.value()),
            Value::String(string) => serde_json::Value::from(string.value().as_str()),
            Value::Boolean(boolean) => serde_json::Value::from(*boolean.value()),
            other => serde_json::Value::from(other.to_string().trim()),
        }
    }
}

/// One point of a sweep: a variant of the base scenario.
#[derive(Clone, Debug)]
pub struct Point {
    /// Position in the sweep, from 0; shards take points round-robin by it.
    pub index: usize,
    /// The folder name of its results: the index (`0007`) or the variant's name.
    pub id: String,
    pub settings: Vec<Setting>,
}

/// A sweep file, read and expanded.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep file's name as given (for messages).
    pub file: String,
    /// The base scenario's path (relative to the working folder, to read it).
    pub scenario_path: PathBuf,
    /// The base scenario's text.
    pub scenario_text: String,
    /// The varied paths, in the order of the file.
    pub parameters: Vec<String>,
    /// True for `[grid]`, false for `[[variant]]`.
    pub grid: bool,
    pub points: Vec<Point>,
    /// Replaces the scenario's seed for every point.
    pub seed: Option<u64>,
    /// Replaces the scenario's number of replications.
    pub replications: Option<u32>,
    /// Common random numbers: every point uses the same seed (the default).
    pub common_random_numbers: bool,
    /// BLAKE3 (hex) of the sweep file and the base scenario: what shards must agree on.
    pub content_hash: String,
}

impl Sweep {
    /// The base scenario's text with a point's values set, ready for the simulator's loader.
    pub fn point_text(&self, point: &Point) -> String {
        let mut document: DocumentMut = self
            .scenario_text
            .parse()
            .expect("the base scenario was parsed when the sweep was read");
        for setting in &point.settings {
            set_value(&mut document, &split_path(&setting.path), &setting.value)
                .expect("every path was checked when the sweep was read");
        }
        document.to_string()
    }

    /// The name a point's scenario has in messages.
    pub fn point_file_name(&self, point: &Point) -> String {
        let settings: Vec<String> = point
            .settings
            .iter()
            .map(|setting| format!("{} = {}", setting.path, setting.value.to_string().trim()))
            .collect();
        format!(
            "{} (point {}: {})",
            self.scenario_path.display(),
            point.id,
            settings.join(", ")
        )
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

/// Reads a sweep file and its base scenario, expands the points and checks every path.
pub fn load_sweep(path: &Path) -> Result<Sweep, SweepFileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        SweepFileError::whole_file(&file, format!("cannot read the file: {error}"))
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_sweep(&file, &text, &base)
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
}

impl Reader<'_> {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> SweepFileError {
        let message = source_text::plain_message(&message.into());
        match span {
            Some(span) => {
                let (line, column) = source_text::line_and_column(self.text, span.start);
                SweepFileError {
                    file: self.file.to_string(),
                    line: Some(line),
                    column: Some(column),
                    message,
                    snippet: source_text::snippet(self.text, line, column),
                }
            }
            None => SweepFileError::whole_file(self.file, message),
        }
    }
}

/// One varied path as read: where it is in the sweep file and its values.
struct Axis {
    path: String,
    span: Option<Range<usize>>,
    values: Vec<Value>,
}

/// The tables of a sweep file.
const SWEEP_TABLES: [&str; 3] = ["sweep", "grid", "variant"];
/// The keys of its `[sweep]` table.
const SWEEP_KEYS: [&str; 4] = ["scenario", "seed", "replications", "common_random_numbers"];

/// Reads a sweep from its text; `file` names it in messages, `base` is its folder.
pub fn parse_sweep(file: &str, text: &str, base: &Path) -> Result<Sweep, SweepFileError> {
    let reader = Reader { file, text };
    let document = ImDocument::parse(text.to_string())
        .map_err(|error| reader.error(error.span(), error.message().trim_end().to_string()))?;
    let root = document.as_table();
    for (key, item) in root.iter() {
        if !SWEEP_TABLES.contains(&key) {
            let span = root.get_key_value(key).and_then(|(key, _)| key.span());
            return Err(reader.error(
                span.or_else(|| item.span()),
                format!(
                    "unknown table `{key}`; a sweep file has [sweep], and [grid] or [[variant]]{}",
                    source_text::did_you_mean(key, SWEEP_TABLES.into_iter())
                ),
            ));
        }
    }
    let Some(settings) = root.get("sweep").and_then(Item::as_table) else {
        return Err(reader.error(None, "a sweep file needs a [sweep] table with `scenario`"));
    };
    let mut scenario = None;
    let mut seed = None;
    let mut replications = None;
    let mut common_random_numbers = true;
    for (key, item) in settings.iter() {
        let span = settings.get_key_value(key).and_then(|(key, _)| key.span());
        match key {
            "scenario" => {
                scenario = Some(item.as_str().ok_or_else(|| {
                    reader.error(span.clone(), "`scenario` is the base scenario's path, a string")
                })?)
            }
            "seed" => {
                let value = item.as_integer().filter(|value| *value >= 0);
                seed = Some(value.ok_or_else(|| reader.error(span.clone(), "`seed` is a whole number not below 0"))? as u64);
            }
            "replications" => {
                let value = item.as_integer().filter(|value| *value >= 1 && *value <= u32::MAX as i64);
                replications = Some(value.ok_or_else(|| reader.error(span.clone(), "`replications` is a whole number, at least 1"))? as u32);
            }
            "common_random_numbers" => {
                common_random_numbers = item
                    .as_bool()
                    .ok_or_else(|| reader.error(span.clone(), "`common_random_numbers` is true or false"))?
            }
            other => {
                return Err(reader.error(
                    span,
                    format!(
                        "unknown key `{other}` in [sweep]; expected scenario, seed, replications or common_random_numbers{}",
                        source_text::did_you_mean(other, SWEEP_KEYS.into_iter())
                    ),
                ))
            }
        }
    }
    let Some(scenario) = scenario else {
        return Err(reader.error(
            settings.span(),
            "[sweep] needs `scenario`, the base scenario's path",
        ));
    };
    let scenario_path = base.join(scenario);
    let scenario_text = std::fs::read_to_string(&scenario_path).map_err(|error| {
        let span = settings
            .get_key_value("scenario")
            .and_then(|(_, item)| item.span());
        reader.error(
            span,
            format!(
                "cannot read the base scenario {}: {error}",
                scenario_path.display()
            ),
        )
    })?;
    let base_document: DocumentMut =
        scenario_text
            .parse()
            .map_err(|error: toml_edit::TomlError| {
                let file = scenario_path.display().to_string();
                let scenario_reader = Reader {
                    file: &file,
                    text: &scenario_text,
                };
                scenario_reader.error(error.span(), error.message().trim_end())
            })?;

    let grid = root.get("grid");
    let variants = root.get("variant");
    let (parameters, points, is_grid) = match (grid, variants) {
        (Some(_), Some(variants)) => {
            return Err(reader.error(
                variants.span(),
                "a sweep has either [grid] or [[variant]] tables, not both",
            ))
        }
        (None, None) => {
            return Err(reader.error(None, "a sweep needs a [grid] table or [[variant]] tables"))
        }
        (Some(grid), None) => {
            let table = grid.as_table().ok_or_else(|| {
                reader.error(grid.span(), "[grid] is a table of paths and their values")
            })?;
            let mut axes = Vec::new();
            for (keys, value) in leaves(&reader, table)? {
                axes.push(read_axis(&reader, &keys, value)?);
            }
            if axes.is_empty() {
                return Err(reader.error(
                    table.span(),
                    "[grid] varies nothing; add a path such as agents.team.count = [10, 12]",
                ));
            }
            for axis in &axes {
                check_path(
                    &reader,
                    &base_document,
                    &axis.path,
                    axis.span.clone(),
                    &axis.values,
                )?;
            }
            let parameters = axes.iter().map(|axis| axis.path.clone()).collect();
            (parameters, cartesian_points(&axes), true)
        }
        (None, Some(variants)) => {
            let Some(tables) = variants.as_array_of_tables() else {
                return Err(reader.error(variants.span(), "variants are [[variant]] tables"));
            };
            let mut parameters: Vec<String> = Vec::new();
            let mut points: Vec<Point> = Vec::new();
            for (index, table) in tables.iter().enumerate() {
                let name = table.get("name").and_then(Item::as_str).ok_or_else(|| {
                    reader.error(
                        table.span(),
                        "a [[variant]] needs a `name` (its results' folder)",
                    )
                })?;
                let name_span = table.get_key_value("name").and_then(|(key, _)| key.span());
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(reader.error(name_span, format!("variant name {name:?} must be letters, digits, - or _ (it names a folder)")));
                }
                if points.iter().any(|point| point.id == name) {
                    return Err(reader.error(name_span, format!("two variants are named {name:?}")));
                }
                let mut settings = Vec::new();
                for (keys, value) in leaves(&reader, table)? {
                    let path = keys
                        .iter()
                        .map(|key| key.get())
                        .collect::<Vec<_>>()
                        .join(".");
                    if path == "name" {
                        continue;
                    }
                    let span = keys.first().and_then(|key| key.span());
                    check_path(
                        &reader,
                        &base_document,
                        &path,
                        span,
                        std::slice::from_ref(value),
                    )?;
                    if !parameters.contains(&path) {
                        parameters.push(path.clone());
                    }
                    settings.push(Setting {
                        path,
                        value: clean(value),
                    });
                }
                points.push(Point {
                    index,
                    id: name.to_string(),
                    settings,
                });
            }
            if points.is_empty() {
                return Err(reader.error(variants.span(), "no [[variant]] tables"));
            }
            (parameters, points, false)
        }
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"sweep file\n");
    hasher.update(text.as_bytes());
    hasher.update(b"\nbase scenario\n");
    hasher.update(scenario_text.as_bytes());
    Ok(Sweep {
        file: file.to_string(),
        scenario_path,
        scenario_text,
        parameters,
        grid: is_grid,
        points,
        seed,
        replications,
        common_random_numbers,
        content_hash: hasher.finalize().to_hex().to_string(),
    })
}

/// A value without the sweep file's comments and spacing around it.
fn clean(value: &Value) -> Value {
    let mut value = value.clone();
    value.decor_mut().clear();
    value
}

/// Every value of a table with the keys leading to it, through dotted keys and sub-table
/// headers alike (`[grid.agents.sales-team]` then `count = [10, 12]`), in the file's order.
fn leaves<'a>(
    reader: &Reader,
    table: &'a toml_edit::Table,
) -> Result<Vec<(Vec<&'a toml_edit::Key>, &'a Value)>, SweepFileError> {
    let mut found = Vec::new();
    for (name, item) in table.iter() {
        let (key, _) = table.get_key_value(name).expect("a key of the table");
        match item {
            Item::Value(value) => found.push((vec![key], value)),
            Item::Table(inner) => {
                for (mut keys, value) in leaves(reader, inner)? {
                    keys.insert(0, key);
                    found.push((keys, value));
                }
            }
            _ => {
                let message =
                    format!("`{name}`: a sweep sets values by path, not arrays of tables");
                return Err(reader.error(key.span().or_else(|| item.span()), message));
            }
        }
    }
    Ok(found)
}

fn read_axis(
    reader: &Reader,
    keys: &[&toml_edit::Key],
    value: &Value,
) -> Result<Axis, SweepFileError> {
    let path = keys
        .iter()
        .map(|key| key.get())
        .collect::<Vec<_>>()
        .join(".");
    let span = keys.first().and_then(|key| key.span());
    let values = match value {
        Value::Array(array) => {
            if array.is_empty() {
                return Err(reader.error(span, format!("`{path}` lists no values")));
            }
            array.iter().map(clean).collect()
        }
        Value::InlineTable(range) => range_values(reader, &path, span.clone(), range)?,
        _ => {
            return Err(reader.error(
                span,
                format!("`{path}` in [grid] takes a list of values, [a, b, c], or a range, {{ from = 10, to = 16, step = 2 }}"),
            ))
        }
    };
    Ok(Axis { path, span, values })
}

fn range_values(
    reader: &Reader,
    path: &str,
    span: Option<Range<usize>>,
    range: &toml_edit::InlineTable,
) -> Result<Vec<Value>, SweepFileError> {
    for (key, _) in range.iter() {
        if !["from", "to", "step"].contains(&key) {
            return Err(reader.error(
                span,
                format!("`{path}`: unknown key `{key}` in a range; expected from, to and step"),
            ));
        }
    }
    let get = |key: &str| range.get(key);
    let (Some(from), Some(to)) = (get("from"), get("to")) else {
        return Err(reader.error(
            span,
            format!("`{path}`: a range needs `from` and `to` (and `step`, 1 by default)"),
        ));
    };
    let step = get("step").cloned().unwrap_or_else(|| Value::from(1));
    match (from.as_integer(), to.as_integer(), step.as_integer()) {
        (Some(from), Some(to), Some(step)) => {
            if step <= 0 || to < from {
                return Err(reader.error(
                    span,
                    format!("`{path}`: a range goes up from `from` to `to` by a positive `step`"),
                ));
            }
            Ok((from..=to)
                .step_by(step as usize)
                .map(Value::from)
                .collect())
        }
        _ => {
            let number = |value: &Value| {
                value
                    .as_float()
                    .or_else(|| value.as_integer().map(|integer| integer as f64))
            };
            let (Some(from), Some(to), Some(step)) = (number(from), number(to), number(&step))
            else {
                return Err(reader.error(
                    span,
                    format!("`{path}`: from, to and step of a range are numbers"),
                ));
            };
            if !(step > 0.0 && to >= from && from.is_finite() && to.is_finite()) {
                return Err(reader.error(
                    span,
                    format!("`{path}`: a range goes up from `from` to `to` by a positive `step`"),
                ));
            }
            // Counting steps (instead of adding step after step) keeps 0.1 + 0.1 + 0.1 from
            // drifting past `to` and dropping the last value.
            let count = ((to - from) / step + 1e-9).floor() as usize + 1;
            Ok((0..count)
                .map(|index| Value::from(from + index as f64 * step))
                .collect())
        }
    }
}

fn check_path(
    reader: &Reader,
    base: &DocumentMut,
    path: &str,
    span: Option<Range<usize>>,
    values: &[Value],
) -> Result<(), SweepFileError> {
    for value in values {
        let mut document = base.clone();
        if let Err(message) = set_value(&mut document, &split_path(path), value) {
            return Err(reader.error(span, format!("`{path}`: {message}")));
        }
    }
    Ok(())
}

fn cartesian_points(axes: &[Axis]) -> Vec<Point> {
    let count: usize = axes.iter().map(|axis| axis.values.len()).product();
    let width = (count.saturating_sub(1)).to_string().len().max(4);
    (0..count)
        .map(|index| {
            // The first parameter varies slowest, like nested loops written in file order.
            let mut rest = index;
            let mut chosen = vec![0; axes.len()];
            for (position, axis) in axes.iter().enumerate().rev() {
                chosen[position] = rest % axis.values.len();
                rest /= axis.values.len();
            }
            Point {
                index,
                id: format!("{index:0width$}"),
                settings: axes
                    .iter()
                    .zip(&chosen)
                    .map(|(axis, &choice)| Setting {
                        path: axis.path.clone(),
                        value: axis.values[choice].clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    #[test]
    fn a_grid_is_the_cartesian_product_in_file_order() {
        let text = "[sweep]\nscenario = \"mmc.toml\"\n[grid]\nagents.sales-team.count = { from = 10, to = 14, step = 2 }\ntraffic.sales.handle_time.mean = [\"2m\", \"3m\"]\n";
        let sweep = parse_sweep("grid.toml", text, &scenarios()).unwrap();
        assert_eq!(sweep.points.len(), 6);
        assert_eq!(
            sweep.parameters,
            ["agents.sales-team.count", "traffic.sales.handle_time.mean"]
        );
        let first = &sweep.points[1];
        assert_eq!(first.id, "0001");
        assert_eq!(first.settings[0].json_value(), serde_json::json!(10));
        assert_eq!(first.settings[1].json_value(), serde_json::json!("3m"));
        assert_eq!(
            sweep.points[5].settings[0].json_value(),
            serde_json::json!(14)
        );
        assert!(sweep.point_text(first).contains("count = 10"));
    }

    #[test]
    fn a_float_range_keeps_its_last_value() {
        let text = "[sweep]\nscenario = \"mmc.toml\"\n[grid]\ntraffic.sales.scale = { from = 0.9, to = 1.2, step = 0.1 }\n";
        let sweep = parse_sweep("scale.toml", text, &scenarios()).unwrap();
        assert_eq!(sweep.points.len(), 4);
    }

    #[test]
    fn a_bad_path_names_the_sweep_file_line_and_column() {
        let text = "[sweep]\nscenario = \"mmc.toml\"\n\n[grid]\n  agents.sales.count = [10, 11]\n";
        let error = parse_sweep("bad.toml", text, &scenarios()).unwrap_err();
        assert_eq!((error.line, error.column), (Some(5), Some(3)), "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with("bad.toml:5:3: `agents.sales.count`"),
            "{message}"
        );
        assert!(
            message.contains("no `agents` entry named `sales`"),
            "{message}"
        );
    }

    #[test]
    fn sub_table_headers_address_paths_like_dotted_keys() {
        let text = "[sweep]\nscenario = \"mmc.toml\"\n[grid.agents.sales-team]\ncount = [10, 11]\n[grid.traffic]\nsales.scale = [1.0, 1.1]\n";
        let sweep = parse_sweep("headers.toml", text, &scenarios()).unwrap();
        assert_eq!(
            sweep.parameters,
            ["agents.sales-team.count", "traffic.sales.scale"]
        );
        assert_eq!(sweep.points.len(), 4);
    }

    #[test]
    fn variants_are_named_points() {
        let text = "[sweep]\nscenario = \"mmc.toml\"\n[[variant]]\nname = \"lean\"\nagents.sales-team.count = 10\n[[variant]]\nname = \"busy\"\ntraffic.sales.scale = 1.2\n";
        let sweep = parse_sweep("variants.toml", text, &scenarios()).unwrap();
        let ids: Vec<&str> = sweep.points.iter().map(|point| point.id.as_str()).collect();
        assert_eq!(ids, ["lean", "busy"]);
        assert!(sweep.point_text(&sweep.points[1]).contains("302.4/h"));
    }
}

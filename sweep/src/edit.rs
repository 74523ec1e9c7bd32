//! Addressing a value of a scenario document by a dotted path and changing it.
//!
//! A path walks tables by key; an array of tables (`[[agents]]`, `[[queue]]`, `[[traffic]]`)
//! is entered by the entry whose `name`, `queue` or `flow` equals the next segment, so
//! `agents.sales-team.count` is the `count` of the `[[agents]]` entry named `sales-team`. The
//! last segment must already be in the document: a sweep changes values, it never adds keys,
//! so a misspelt path is an error instead of a key the loader might ignore or refuse later.
//!
//! One extra leaf exists: `traffic.<queue>.scale = 1.2` multiplies the traffic's `rate`, or
//! every `volume` of its `profile`, by 1.2.

use switchboard_engine::units::Rate;
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// The keys that name an entry of an array of tables, in the order they are tried.
const ENTRY_KEYS: [&str; 3] = ["name", "queue", "flow"];

/// The leaf that scales a whole traffic stream.
pub const SCALE: &str = "scale";

/// Sets the value at `path` in `document`; the error says which part of the path is missing.
pub fn set_value(document: &mut DocumentMut, path: &[String], value: &Value) -> Result<(), String> {
    if path.len() == 3 && path[0] == "traffic" && path[2] == SCALE {
        let factor = match value {
            Value::Integer(integer) => *integer.value() as f64,
            Value::Float(float) => *float.value(),
            _ => return Err("a scale is a number, such as 1.2".to_string()),
        };
        if !(factor.is_finite() && factor >= 0.0) {
            return Err(format!("a scale is a number not below 0, found {factor}"));
        }
        let traffic = find_entry_table(document.as_table_mut(), "traffic", &path[1])?;
        return scale_traffic(traffic, &path[1], factor);
    }
    set_in_table(document.as_table_mut(), path, value, "")
}

fn describe(walked: &str, segment: &str) -> String {
    if walked.is_empty() {
        segment.to_string()
    } else {
        format!("{walked}.{segment}")
    }
}

fn set_in_table(
    table: &mut Table,
    path: &[String],
    value: &Value,
    walked: &str,
) -> Result<(), String> {
    let segment = &path[0];
    let here = describe(walked, segment);
    let Some(item) = table.get_mut(segment) else {
        return Err(format!("the base scenario has no `{here}`"));
    };
    if path.len() == 1 {
        return replace(item, value, &here);
    }
    set_in_item(item, &path[1..], value, &here)
}

fn set_in_item(item: &mut Item, rest: &[String], value: &Value, here: &str) -> Result<(), String> {
    match item {
        Item::Table(table) => set_in_table(table, rest, value, here),
        Item::ArrayOfTables(array) => {
            let entry = &rest[0];
            let table = array
                .iter_mut()
                .find(|table| names_entry(table.get(ENTRY_KEYS[0]), table.get(ENTRY_KEYS[1]), table.get(ENTRY_KEYS[2]), entry))
                .ok_or_else(|| format!("the base scenario has no `{here}` entry named `{entry}` (by its name, queue or flow)"))?;
            let here = describe(here, entry);
            if rest.len() == 1 {
                return Err(format!("`{here}` is a whole entry; name a key inside it"));
            }
            set_in_table(table, &rest[1..], value, &here)
        }
        Item::Value(Value::InlineTable(table)) => set_in_inline(table, rest, value, here),
        Item::Value(Value::Array(array)) => {
            let entry = &rest[0];
            let table = array
                .iter_mut()
                .filter_map(|value| value.as_inline_table_mut())
                .find(|table| {
                    ENTRY_KEYS
                        .iter()
                        .any(|key| table.get(key).and_then(Value::as_str) == Some(entry.as_str()))
                })
                .ok_or_else(|| {
                    format!("the base scenario has no `{here}` entry named `{entry}`")
                })?;
            let here = describe(here, entry);
            if rest.len() == 1 {
                return Err(format!("`{here}` is a whole entry; name a key inside it"));
            }
            set_in_inline(table, &rest[1..], value, &here)
        }
        _ => Err(format!(
            "`{here}` is a single value; `{}` cannot be inside it",
            rest.join(".")
        )),
    }
}

fn set_in_inline(
    table: &mut InlineTable,
    path: &[String],
    value: &Value,
    walked: &str,
) -> Result<(), String> {
    let segment = &path[0];
    let here = describe(walked, segment);
    let Some(inner) = table.get_mut(segment) else {
        return Err(format!("the base scenario has no `{here}`"));
    };
    if path.len() == 1 {
        let decor = inner.decor().clone();
        *inner = value.clone();
        *inner.decor_mut() = decor;
        return Ok(());
    }
    let mut item = Item::Value(inner.clone());
    set_in_item(&mut item, &path[1..], value, &here)?;
    *inner = item.into_value().expect("still a value");
    Ok(())
}

fn replace(item: &mut Item, value: &Value, here: &str) -> Result<(), String> {
    match item {
        Item::Value(old) => {
            let decor = old.decor().clone();
            *old = value.clone();
            *old.decor_mut() = decor;
            Ok(())
        }
        _ => Err(format!("`{here}` is a table; name a key inside it")),
    }
}

fn names_entry(
    name: Option<&Item>,
    queue: Option<&Item>,
    flow: Option<&Item>,
    entry: &str,
) -> bool {
    [name, queue, flow]
        .into_iter()
        .flatten()
        .any(|item| item.as_str() == Some(entry))
}

fn find_entry_table<'a>(
    root: &'a mut Table,
    array: &str,
    entry: &str,
) -> Result<&'a mut Table, String> {
    let Some(item) = root.get_mut(array) else {
        return Err(format!("the base scenario has no `{array}`"));
    };
    let Item::ArrayOfTables(tables) = item else {
        return Err(format!(
            "`{array}` of the base scenario is not written as [[{array}]] tables"
        ));
    };
    tables
        .iter_mut()
        .find(|table| {
            names_entry(
                table.get("name"),
                table.get("queue"),
                table.get("flow"),
                entry,
            )
        })
        .ok_or_else(|| {
            format!(
                "the base scenario has no `{array}` entry named `{entry}` (by its queue or flow)"
            )
        })
}

fn scale_traffic(traffic: &mut Table, entry: &str, factor: f64) -> Result<(), String> {
    if let Some(rate) = traffic.get_mut("rate") {
        let text = rate
            .as_str()
            .ok_or_else(|| format!("`traffic.{entry}.rate` is not a rate such as \"252/h\""))?;
        let parsed: Rate = text
            .parse()
            .map_err(|error| format!("`traffic.{entry}.rate`: {error:?}"))?;
        let scaled = Rate::from_per_hour(parsed.per_hour() * factor);
        return replace(
            rate,
            &Value::from(scaled.to_string()),
            &format!("traffic.{entry}.rate"),
        );
    }
    if let Some(profile) = traffic.get_mut("profile") {
        let Some(entries) = profile.as_array_mut() else {
            return Err(format!(
                "`traffic.{entry}.profile` is not a list of intervals"
            ));
        };
        for interval in entries.iter_mut() {
            let Some(volume) = interval
                .as_inline_table_mut()
                .and_then(|table| table.get_mut("volume"))
            else {
                return Err(format!(
                    "an interval of `traffic.{entry}.profile` has no volume"
                ));
            };
            let old = match volume {
                Value::Integer(integer) => *integer.value() as f64,
                Value::Float(float) => *float.value(),
                _ => {
                    return Err(format!(
                        "a volume of `traffic.{entry}.profile` is not a number"
                    ))
                }
            };
            let decor = volume.decor().clone();
            *volume = Value::from(old * factor);
            *volume.decor_mut() = decor;
        }
        return Ok(());
    }
    if traffic.contains_key("profile_file") {
        return Err(format!(
            "`traffic.{entry}` reads its profile from a file, which a sweep cannot scale; write the profile inline"
        ));
    }
    Err(format!(
        "`traffic.{entry}` has neither a rate nor a profile to scale"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
[[agents]]
name = "sales-team"
count = 12 # the team

[[traffic]]
queue = "sales"
rate = "252/h"
handle_time = { dist = "exponential", mean = "2m" }

[[traffic]]
queue = "care"
profile = [{ start = "0m", volume = 100 }, { start = "30m", volume = 50.5 }]
handle_time = { dist = "exponential", mean = "3m" }
"#;

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_string).collect()
    }

    #[test]
    fn a_path_enters_arrays_of_tables_by_name_and_keeps_comments() {
        let mut document: DocumentMut = SCENARIO.parse().unwrap();
        set_value(
            &mut document,
            &path("agents.sales-team.count"),
            &Value::from(15),
        )
        .unwrap();
        set_value(
            &mut document,
            &path("traffic.sales.handle_time.mean"),
            &Value::from("5m"),
        )
        .unwrap();
        let text = document.to_string();
        assert!(text.contains("count = 15 # the team"), "{text}");
        assert!(text.contains(r#"mean = "5m""#), "{text}");
    }

    #[test]
    fn scale_multiplies_a_rate_or_every_volume() {
        let mut document: DocumentMut = SCENARIO.parse().unwrap();
        set_value(
            &mut document,
            &path("traffic.sales.scale"),
            &Value::from(1.5),
        )
        .unwrap();
        set_value(&mut document, &path("traffic.care.scale"), &Value::from(2)).unwrap();
        let text = document.to_string();
        assert!(text.contains(r#"rate = "378/h""#), "{text}");
        assert!(text.contains("volume = 200.0"), "{text}");
        assert!(text.contains("volume = 101.0"), "{text}");
    }

    #[test]
    fn a_missing_part_of_a_path_is_named() {
        let mut document: DocumentMut = SCENARIO.parse().unwrap();
        let error = set_value(
            &mut document,
            &path("agents.sales-tem.count"),
            &Value::from(1),
        )
        .unwrap_err();
        assert!(
            error.contains("no `agents` entry named `sales-tem`"),
            "{error}"
        );
        let error = set_value(
            &mut document,
            &path("traffic.sales.handle_time.median"),
            &Value::from("1m"),
        )
        .unwrap_err();
        assert!(
            error.contains("no `traffic.sales.handle_time.median`"),
            "{error}"
        );
    }
}

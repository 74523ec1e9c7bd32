//! Addressing a value of a scenario document by a dotted path and changing it.
//!
//! A path walks tables by key; an array of tables (`[[agents]]`, `[[queue]]`, `[[traffic]]`,
//! `[[people]]`) is entered by the entry whose `name`, `queue`, `flow` or `agents` (a
//! `[[people]]` table names its group so) equals the next segment, so `agents.sales-team.count`
//! is the `count` of the `[[agents]]` entry named `sales-team` and
//! `people.sales-team.shrinkage.fraction` the shrinkage of that group's `[[people]]` table. The
//! last segment must already be in the document: a sweep changes values, it never adds keys,
//! so a misspelt path is an error (with the closest name, when one is close) instead of a key
//! the loader might ignore or refuse later.
//!
//! One extra leaf exists: `traffic.<queue>.scale = 1.2` multiplies the traffic's `rate`, or
//! every `volume` of its `profile`, by 1.2.

use switchboard_engine::source_text::did_you_mean;
use switchboard_engine::units::Rate;
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// The keys that name an entry of an array of tables, in the order they are tried: `agents`
/// is the group a `[[people]]` table is for (elsewhere it is a number, never a name).
const ENTRY_KEYS: [&str; 4] = ["name", "queue", "flow", "agents"];

/// The names an entry answers to (the string values of its [`ENTRY_KEYS`]).
fn entry_names<'a>(get: impl Fn(&str) -> Option<&'a str>) -> impl Iterator<Item = &'a str> {
    ENTRY_KEYS.into_iter().filter_map(get)
}

/// "no `here` entry named `entry`", with the closest of `names` when one is close.
fn no_entry<'a>(here: &str, entry: &str, names: impl Iterator<Item = &'a str>) -> String {
    format!(
        "the base scenario has no `{here}` entry named `{entry}` (by its name, queue, flow or \
         agents){}",
        did_you_mean(entry, names)
    )
}

/// "no `here`", with the closest of the table's keys when one is close.
fn no_key<'a>(here: &str, segment: &str, keys: impl Iterator<Item = &'a str>) -> String {
    format!(
        "the base scenario has no `{here}`{}",
        did_you_mean(segment, keys)
    )
}

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
    if !table.contains_key(segment) {
        return Err(no_key(&here, segment, table.iter().map(|(key, _)| key)));
    }
    let item = table.get_mut(segment).expect("the key is there");
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
            let Some(position) = array.iter().position(|table| {
                entry_names(|key| table.get(key).and_then(Item::as_str)).any(|name| name == entry)
            }) else {
                let names = array
                    .iter()
                    .flat_map(|table| entry_names(|key| table.get(key).and_then(Item::as_str)));
                return Err(no_entry(here, entry, names));
            };
            let table = array.get_mut(position).expect("the entry is there");
            let here = describe(here, entry);
            if rest.len() == 1 {
                return Err(format!("`{here}` is a whole entry; name a key inside it"));
            }
            set_in_table(table, &rest[1..], value, &here)
        }
        Item::Value(Value::InlineTable(table)) => set_in_inline(table, rest, value, here),
        Item::Value(Value::Array(array)) => {
            let entry = &rest[0];
            let tables = || array.iter().filter_map(Value::as_inline_table);
            let Some(position) = tables().position(|table| {
                entry_names(|key| table.get(key).and_then(Value::as_str)).any(|name| name == entry)
            }) else {
                let names = tables()
                    .flat_map(|table| entry_names(|key| table.get(key).and_then(Value::as_str)));
                return Err(no_entry(here, entry, names));
            };
            let table = array
                .iter_mut()
                .filter_map(Value::as_inline_table_mut)
                .nth(position)
                .expect("the entry is there");
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
    if !table.contains_key(segment) {
        return Err(no_key(&here, segment, table.iter().map(|(key, _)| key)));
    }
    let inner = table.get_mut(segment).expect("the key is there");
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
    let Some(position) = tables.iter().position(|table| {
        entry_names(|key| table.get(key).and_then(Item::as_str)).any(|name| name == entry)
    }) else {
        let names = tables
            .iter()
            .flat_map(|table| entry_names(|key| table.get(key).and_then(Item::as_str)));
        return Err(no_entry(array, entry, names));
    };
    Ok(tables.get_mut(position).expect("the entry is there"))
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

[[people]]
agents = "sales-team"
plan_file = "morning.csv"
shrinkage = { fraction = 0.2, length = { dist = "exponential", mean = "5m" } }
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
    fn a_people_table_is_entered_by_the_group_it_names() {
        let mut document: DocumentMut = SCENARIO.parse().unwrap();
        set_value(
            &mut document,
            &path("people.sales-team.plan_file"),
            &Value::from("evening.csv"),
        )
        .unwrap();
        set_value(
            &mut document,
            &path("people.sales-team.shrinkage.fraction"),
            &Value::from(0.35),
        )
        .unwrap();
        let text = document.to_string();
        assert!(text.contains(r#"plan_file = "evening.csv""#), "{text}");
        assert!(text.contains("fraction = 0.35"), "{text}");
        // A `[[people]]` table is not an `[[agents]]` entry.
        let error = set_value(
            &mut document,
            &path("people.sales.plan_file"),
            &Value::from("x.csv"),
        )
        .unwrap_err();
        assert!(error.contains("no `people` entry named `sales`"), "{error}");
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
        assert!(error.ends_with("did you mean `sales-team`?"), "{error}");
        let error = set_value(
            &mut document,
            &path("people.sales-team.shrinkag.fraction"),
            &Value::from(0.3),
        )
        .unwrap_err();
        assert!(
            error.contains("no `people.sales-team.shrinkag`; did you mean `shrinkage`?"),
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

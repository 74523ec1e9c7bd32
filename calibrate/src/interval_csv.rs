//! Reads a generic interval CSV, the shape workforce-management tools export: one row per queue
//! and interval with the offered volume and, where known, answered, abandoned, average handle
//! time, average speed of answer and average time to abandon. `docs/calibration.md` documents
//! the columns.

use switchboard_engine::units::DurationMs;

use crate::local_time::LocalClock;
use crate::records::IntervalRow;
use crate::CalibrationError;

const REQUIRED: [&str; 2] = ["start", "offered"];
const OPTIONAL: [&str; 6] = [
    "queue",
    "answered",
    "abandoned",
    "aht",
    "asa",
    "abandon_time",
];
/// The queue rows without a `queue` column belong to.
pub const DEFAULT_QUEUE: &str = "calls";

/// Reads the rows and infers the interval length (the smallest step between two starts of one
/// queue). `clock` reads local starts; `file` names the file in error messages.
pub fn read_interval_csv(
    text: &str,
    file: &str,
    clock: &LocalClock,
) -> Result<(i64, Vec<IntervalRow>), CalibrationError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| CalibrationError::new(format!("{file}: cannot read the header: {error}")))?
        .clone();
    let header_line = header
        .position()
        .map_or(1, |position| position.line() as usize);
    let expected = || format!("start,offered[,{}]", OPTIONAL.join("][,"));
    let mut positions = std::collections::BTreeMap::new();
    let mut column = 1;
    for name in header.iter() {
        if !REQUIRED.contains(&name) && !OPTIONAL.contains(&name) {
            return Err(CalibrationError::new(format!(
                "{file}:{header_line}:{column}: unknown column {name:?}: expected the header {}",
                expected()
            )));
        }
        positions.insert(name.to_string(), positions.len());
        column += name.chars().count() + 1;
    }
    for name in REQUIRED {
        if !positions.contains_key(name) {
            return Err(CalibrationError::new(format!(
                "{file}:{header_line}:1: missing column {name:?}: expected the header {}",
                expected()
            )));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            CalibrationError::new(format!("{file}: cannot read a row: {error}"))
        })?;
        let line = record
            .position()
            .map_or(0, |position| position.line() as usize);
        let field = |name: &str| -> Option<(usize, &str)> {
            let index = *positions.get(name)?;
            let column = record
                .iter()
                .take(index)
                .map(|text| text.chars().count() + 1)
                .sum::<usize>()
                + 1;
            record
                .get(index)
                .filter(|text| !text.is_empty())
                .map(|text| (column, text))
        };
        // In the style of every reader: the place, the line and a caret under the column.
        let fail = |column: usize, message: String| {
            CalibrationError::new(switchboard_engine::source_text::located_at(
                file, text, line, column, &message,
            ))
        };
        // A non-negative number of the column `name`, read by `read` (`None` when empty).
        let value = |name: &str,
                     read: &dyn Fn(&str) -> Option<f64>,
                     expected: &str|
         -> Result<Option<f64>, CalibrationError> {
            let Some((column, text)) = field(name) else {
                return Ok(None);
            };
            read(text)
                .filter(|value| value.is_finite() && *value >= 0.0)
                .map(Some)
                .ok_or_else(|| {
                    fail(
                        column,
                        format!("{name}: expected {expected}, found {text:?}"),
                    )
                })
        };
        let count = |text: &str| text.parse::<f64>().ok();
        let number = |name: &str| value(name, &count, "a count ≥ 0");
        let seconds_or_duration = |text: &str| {
            text.parse::<f64>()
                .ok()
                .or_else(|| text.parse::<DurationMs>().ok().map(DurationMs::as_s_f64))
        };
        let duration_s = |name: &str| {
            value(
                name,
                &seconds_or_duration,
                "a duration such as \"3m20s\" or seconds",
            )
        };
        let (start_column, start_text) =
            field("start").ok_or_else(|| fail(1, "missing the \"start\" field".into()))?;
        let start_unix_ms = clock.parse(start_text).ok_or_else(|| {
            fail(
                start_column,
                format!(
                    "start: expected a date and time such as \"2026-11-02 08:30\" (in {}) or \
                     \"2026-11-02T08:30:00+08:00\", found {start_text:?}",
                    clock.name()
                ),
            )
        })?;
        let offered = number("offered")?
            .ok_or_else(|| fail(record.len() + 1, "missing the \"offered\" field".into()))?;
        rows.push(IntervalRow {
            start_unix_ms,
            queue: field("queue")
                .map_or(DEFAULT_QUEUE, |(_, text)| text)
                .to_string(),
            offered,
            answered: number("answered")?,
            abandoned: number("abandoned")?,
            handle_time_s: duration_s("aht")?,
            answer_wait_s: duration_s("asa")?,
            abandon_wait_s: duration_s("abandon_time")?,
        });
    }
    let mut steps: Vec<i64> = Vec::new();
    let mut by_queue: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for row in &rows {
        by_queue
            .entry(&row.queue)
            .or_default()
            .push(row.start_unix_ms);
    }
    for starts in by_queue.values_mut() {
        starts.sort_unstable();
        steps.extend(
            starts
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .filter(|&step| step > 0),
        );
    }
    let interval_ms = steps.into_iter().min().ok_or_else(|| {
        CalibrationError::new(format!(
            "{file}: at least two intervals of one queue are needed to infer the interval length"
        ))
    })?;
    Ok((interval_ms, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_durations_in_both_forms() {
        let clock = LocalClock::new("Asia/Shanghai").unwrap();
        let text = "start,queue,offered,answered,abandoned,aht,asa,abandon_time\n\
                    2026-11-02 08:00,sales,120,110,10,3m,15,40s\n\
                    2026-11-02 08:30,sales,150,140,10,200,20s,45\n";
        let (interval_ms, rows) = read_interval_csv(text, "wfm.csv", &clock).unwrap();
        assert_eq!(interval_ms, 1_800_000);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].handle_time_s, Some(180.0));
        assert_eq!(rows[1].handle_time_s, Some(200.0));
        assert_eq!(rows[1].answer_wait_s, Some(20.0));
        assert_eq!(rows[0].queue, "sales");
    }

    #[test]
    fn errors_name_line_and_column() {
        let clock = LocalClock::new("UTC").unwrap();
        let error = read_interval_csv("start,offerd\n", "wfm.csv", &clock)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("wfm.csv:1:7: unknown column \"offerd\""),
            "{error}"
        );
        let error = read_interval_csv(
            "start,offered\n2026-11-02 08:00,12\n2026-11-02 08:30,many\n",
            "wfm.csv",
            &clock,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("wfm.csv:3:18: offered: expected a count"),
            "{error}"
        );
    }
}

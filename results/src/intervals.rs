//! `intervals.csv`: one row per reporting interval and scope, one column per metric of
//! [`Metric::INTERVAL_COLUMNS`], each cell the mean over replications (`docs/metrics.md`).

use std::fmt::Write as _;
use std::path::Path;

use switchboard_engine::units::DurationMs;

use crate::error::ResultsError;
use crate::metric::Metric;
use crate::scope::Scope;

/// How many columns follow `interval_start,scope`.
pub const COLUMN_COUNT: usize = Metric::INTERVAL_COLUMNS.len();

/// One row of `intervals.csv`: one scope in one reporting interval. `None` where no
/// replication defined the value (an empty cell).
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalRow {
    pub interval_start_ms: u64,
    pub scope: Scope,
    /// In the order of [`Metric::INTERVAL_COLUMNS`].
    pub values: [Option<f64>; COLUMN_COUNT],
}

/// The position of a metric among the columns, if it is one.
pub fn column_of(metric: Metric) -> Option<usize> {
    Metric::INTERVAL_COLUMNS
        .iter()
        .position(|column| *column == metric)
}

/// Six decimals are far finer than any confidence interval and keep files readable.
fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

impl IntervalRow {
    /// A row with every cell empty (an interval inside the warmup is one).
    pub fn empty(interval_start_ms: u64, scope: Scope) -> IntervalRow {
        IntervalRow {
            interval_start_ms,
            scope,
            values: [None; COLUMN_COUNT],
        }
    }

    /// The value of a column; `None` for an empty cell or a metric that is no column.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        column_of(metric).and_then(|index| self.values[index])
    }

    /// Sets a column, rounded to the file's six decimals (so that a row read back from the
    /// file equals the row written). Panics for a metric that is no column.
    pub fn set(&mut self, metric: Metric, value: Option<f64>) {
        let index = column_of(metric)
            .unwrap_or_else(|| panic!("{metric} is not a column of intervals.csv"));
        self.values[index] = value.map(round6);
    }
}

/// `intervals.csv`, all rows in file order: intervals in time order, in each interval the
/// scopes in the simulator's order (center, queues, channels used, sites).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Intervals {
    pub rows: Vec<IntervalRow>,
}

impl Intervals {
    /// The scopes present, in the order they first appear.
    pub fn scopes(&self) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = Vec::new();
        for row in &self.rows {
            if !scopes.contains(&row.scope) {
                scopes.push(row.scope.clone());
            }
        }
        scopes
    }

    /// The start of each interval, in order, without repeats.
    pub fn interval_starts_ms(&self) -> Vec<u64> {
        let mut starts: Vec<u64> = self.rows.iter().map(|row| row.interval_start_ms).collect();
        starts.dedup();
        starts
    }

    /// One column of one scope: (interval start, value) for every interval that has a value.
    pub fn series(&self, scope: &Scope, metric: Metric) -> Vec<(u64, f64)> {
        self.rows
            .iter()
            .filter(|row| row.scope == *scope)
            .filter_map(|row| {
                row.value(metric)
                    .map(|value| (row.interval_start_ms, value))
            })
            .collect()
    }

    /// The value of one cell; `None` when the row is missing or the cell empty.
    pub fn value(&self, interval_start_ms: u64, scope: &Scope, metric: Metric) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.interval_start_ms == interval_start_ms && row.scope == *scope)
            .and_then(|row| row.value(metric))
    }

    /// The file's text.
    pub fn to_csv(&self) -> String {
        let mut text = String::from("interval_start,scope");
        for column in Metric::INTERVAL_COLUMNS {
            text.push(',');
            text.push_str(column.name());
        }
        text.push('\n');
        for row in &self.rows {
            let _ = write!(
                text,
                "{},{}",
                DurationMs(row.interval_start_ms),
                csv_field(&row.scope.to_string())
            );
            for value in &row.values {
                match value {
                    Some(value) => {
                        let _ = write!(text, ",{value}");
                    }
                    None => text.push(','),
                }
            }
            text.push('\n');
        }
        text
    }

    /// Reads the file's text; `path` names it in errors, which give the line and column.
    pub fn from_csv(path: &Path, text: &str) -> Result<Intervals, ResultsError> {
        let error = |message: String| ResultsError::new(path, message);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|problem| error(problem.to_string()))?
            .clone();
        let expected: Vec<&str> = ["interval_start", "scope"]
            .into_iter()
            .chain(Metric::INTERVAL_COLUMNS.iter().map(|metric| metric.name()))
            .collect();
        if headers.iter().collect::<Vec<_>>() != expected {
            return Err(error(format!(
                "line 1: expected the header {}",
                expected.join(",")
            )));
        }
        let mut rows = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let record = record.map_err(|problem| error(format!("line {line}: {problem}")))?;
            let interval_start_ms = record[0]
                .parse::<DurationMs>()
                .map_err(|problem| error(format!("line {line}, interval_start: {problem}")))?
                .as_ms();
            let scope: Scope = record[1]
                .parse()
                .map_err(|problem| error(format!("line {line}, scope: {problem}")))?;
            let mut row = IntervalRow::empty(interval_start_ms, scope);
            for (index, cell) in record.iter().skip(2).enumerate() {
                if cell.is_empty() {
                    continue;
                }
                let value: f64 = cell.parse().map_err(|_| {
                    error(format!(
                        "line {line}, column `{}`: expected a number, found {cell:?}",
                        Metric::INTERVAL_COLUMNS[index]
                    ))
                })?;
                row.values[index] = Some(value);
            }
            rows.push(row);
        }
        Ok(Intervals { rows })
    }
}

/// A CSV field: as it is, or quoted when it holds a comma, a quote or a line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_written_with_empty_cells_kept_missing() {
        let mut row = IntervalRow::empty(1_800_000, Scope::Queue("sales, north".into()));
        row.set(Metric::Offered, Some(10.0));
        row.set(Metric::ServiceLevel, Some(0.812_345_678));
        let intervals = Intervals {
            rows: vec![IntervalRow::empty(0, Scope::Total), row],
        };
        let text = intervals.to_csv();
        assert!(text.contains("\n30m,\"queue:sales, north\",,10,"), "{text}");
        assert!(text.contains(",0.812346,"), "{text}");
        let read = Intervals::from_csv(Path::new("intervals.csv"), &text).unwrap();
        assert_eq!(read, intervals);
        assert_eq!(read.interval_starts_ms(), vec![0, 1_800_000]);
        assert_eq!(read.rows[0].value(Metric::Offered), None);
    }

    #[test]
    fn a_wrong_header_or_cell_names_the_file_and_line() {
        let error =
            Intervals::from_csv(Path::new("out/intervals.csv"), "start,offered\n").unwrap_err();
        assert!(
            error.to_string().starts_with(
                "out/intervals.csv: line 1: expected the header interval_start,scope,arrived,"
            ),
            "{error}"
        );
        let mut text = Intervals::default().to_csv();
        text.push_str("0s,total,x");
        text.push_str(&",".repeat(COLUMN_COUNT - 1));
        text.push('\n');
        let error = Intervals::from_csv(Path::new("i.csv"), &text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "i.csv: line 2, column `arrived`: expected a number, found \"x\""
        );
    }
}

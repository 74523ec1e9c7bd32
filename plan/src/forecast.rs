//! The planning files: a forecast CSV in (`start,volume[,aht]`) and a staffing plan CSV out
//! (`start,agents,staff`), the format the simulator will read. `docs/plan.md` describes both.

use std::fmt::Write as _;

use switchboard_engine::units::DurationMs;

use crate::staffing::{IntervalDemand, IntervalStaffing};
use crate::PlanError;

/// One row of a forecast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastRow {
    /// Start, measured from the start of the forecast.
    pub start: DurationMs,
    /// Contacts arriving in the interval.
    pub volume: f64,
    /// Mean handle time for this interval, if the file gives one.
    pub handle_time_s: Option<f64>,
}

/// A forecast: equal intervals, each with a volume and maybe its own handle time.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    /// Length of every interval, inferred from the starts.
    pub interval: DurationMs,
    /// Rows in file order (strictly increasing starts).
    pub rows: Vec<ForecastRow>,
}

impl Forecast {
    /// The demand of each interval, using `default_handle_time_s` where the file gives none.
    pub fn demands(
        &self,
        default_handle_time_s: Option<f64>,
    ) -> Result<Vec<IntervalDemand>, PlanError> {
        self.rows
            .iter()
            .map(|row| {
                let handle_time_s =
                    row.handle_time_s.or(default_handle_time_s).ok_or_else(|| {
                        PlanError::new(format!(
                        "the interval at {} has no handle time: add an `aht` column or pass --aht",
                        row.start
                    ))
                    })?;
                Ok(IntervalDemand {
                    start: row.start,
                    volume: row.volume,
                    handle_time_s,
                })
            })
            .collect()
    }
}

/// A field of a CSV line with its 1-based column (in characters), for error messages.
struct Field<'a> {
    text: &'a str,
    column: usize,
}

fn split_fields(line: &str) -> Vec<Field<'_>> {
    let mut fields = Vec::new();
    let mut column = 1;
    for text in line.split(',') {
        let leading = text.len() - text.trim_start().len();
        fields.push(Field {
            text: text.trim(),
            column: column + leading,
        });
        column += text.chars().count() + 1;
    }
    fields
}

/// Content lines with their 1-based line numbers: blank lines and `#` comments are skipped.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
}

fn located(file: &str, line: usize, column: usize, message: impl std::fmt::Display) -> PlanError {
    PlanError::at(file, line, column, message)
}

/// Finds the position of each wanted column in a header line; every `required` one must be
/// there, and nothing else may be.
fn header_positions(
    file: &str,
    line_number: usize,
    line: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<Option<usize>>, PlanError> {
    let fields = split_fields(line);
    let expected = || {
        let mut names = required.join(",");
        for name in optional {
            let _ = write!(names, "[,{name}]");
        }
        names
    };
    for field in &fields {
        if !required.contains(&field.text) && !optional.contains(&field.text) {
            return Err(located(
                file,
                line_number,
                field.column,
                format!(
                    "unknown column {:?}: expected the header {}",
                    field.text,
                    expected()
                ),
            ));
        }
    }
    let positions: Vec<Option<usize>> = required
        .iter()
        .chain(optional)
        .map(|name| fields.iter().position(|field| field.text == *name))
        .collect();
    if let Some(missing) = required.iter().zip(&positions).find(|(_, at)| at.is_none()) {
        return Err(located(
            file,
            line_number,
            1,
            format!(
                "missing column {:?}: expected the header {}",
                missing.0,
                expected()
            ),
        ));
    }
    Ok(positions)
}

/// Checks that starts are strictly increasing and equally spaced, and returns the spacing.
fn infer_interval(file: &str, starts: &[(usize, DurationMs)]) -> Result<DurationMs, PlanError> {
    if starts.len() < 2 {
        return Err(PlanError::new(format!(
            "{file}: at least two rows are needed to infer the interval length from the starts"
        )));
    }
    let interval = starts[1].1.as_ms().saturating_sub(starts[0].1.as_ms());
    for pair in starts.windows(2) {
        let (line, start) = pair[1];
        let gap = start.as_ms().checked_sub(pair[0].1.as_ms());
        if gap != Some(interval) || interval == 0 {
            return Err(located(
                file,
                line,
                1,
                format!(
                    "start {start} breaks the interval length: starts must increase by the same \
                     step ({} from the first two rows)",
                    DurationMs(interval)
                ),
            ));
        }
    }
    Ok(DurationMs(interval))
}

fn parse_duration(
    file: &str,
    line: usize,
    field: &Field<'_>,
    what: &str,
) -> Result<DurationMs, PlanError> {
    field
        .text
        .parse::<DurationMs>()
        .map_err(|error| located(file, line, field.column, format!("{what}: {error}")))
}

/// A row may hold no more fields than its header has columns: an extra field is a shifted row
/// or a column without a name, never dropped silently (the words of the simulator's plan file
/// reader).
fn refuse_extra_fields(
    file: &str,
    line: usize,
    fields: &[Field<'_>],
    header: &str,
) -> Result<(), PlanError> {
    let columns: Vec<&str> = split_fields(header)
        .iter()
        .map(|field| field.text)
        .collect();
    match fields.get(columns.len()) {
        Some(extra) => Err(located(
            file,
            line,
            extra.column,
            format!(
                "a field beyond the header's {} columns ({}): expected {} fields, found {}",
                columns.len(),
                columns.join(","),
                columns.len(),
                fields.len()
            ),
        )),
        None => Ok(()),
    }
}

fn field_at<'a>(
    file: &str,
    line: usize,
    fields: &'a [Field<'a>],
    position: usize,
    name: &str,
) -> Result<&'a Field<'a>, PlanError> {
    fields.get(position).ok_or_else(|| {
        let column = fields
            .last()
            .map_or(1, |field| field.column + field.text.len());
        located(file, line, column, format!("missing the {name:?} field"))
    })
}

/// Reads a forecast CSV: header `start,volume` with an optional `aht` column; `start` is a
/// duration from the forecast's start (`0m`, `30m`, `1h`), `volume` the contacts arriving in
/// the interval, `aht` a duration (`180s`, `3m`). `file` names the file in error messages.
pub fn read_forecast(text: &str, file: &str) -> Result<Forecast, PlanError> {
    forecast_rows(text, file).map_err(|error| error.in_text(text))
}

fn forecast_rows(text: &str, file: &str) -> Result<Forecast, PlanError> {
    let mut lines = content_lines(text);
    let (header_line, header) = lines.next().ok_or_else(|| {
        PlanError::new(format!(
            "{file}: empty file, expected the header start,volume[,aht]"
        ))
    })?;
    let positions = header_positions(file, header_line, header, &["start", "volume"], &["aht"])?;
    let (start_at, volume_at, handle_time_at) = (
        positions[0].unwrap_or(0),
        positions[1].unwrap_or(1),
        positions[2],
    );
    let mut rows = Vec::new();
    let mut starts = Vec::new();
    for (line, content) in lines {
        let fields = split_fields(content);
        refuse_extra_fields(file, line, &fields, header)?;
        let start_field = field_at(file, line, &fields, start_at, "start")?;
        let start = parse_duration(file, line, start_field, "start")?;
        let volume_field = field_at(file, line, &fields, volume_at, "volume")?;
        let volume = volume_field
            .text
            .parse::<f64>()
            .ok()
            .filter(|volume| volume.is_finite() && *volume >= 0.0)
            .ok_or_else(|| {
                located(
                    file,
                    line,
                    volume_field.column,
                    format!(
                        "expected a volume (contacts, 0 or more), found {:?}",
                        volume_field.text
                    ),
                )
            })?;
        let handle_time_s = match handle_time_at {
            None => None,
            Some(position) => {
                let field = field_at(file, line, &fields, position, "aht")?;
                let handle_time = parse_duration(file, line, field, "aht")?;
                if handle_time.as_ms() == 0 {
                    return Err(located(file, line, field.column, "aht must be above 0 s"));
                }
                Some(handle_time.as_s_f64())
            }
        };
        starts.push((line, start));
        rows.push(ForecastRow {
            start,
            volume,
            handle_time_s,
        });
    }
    let interval = infer_interval(file, &starts)?;
    Ok(Forecast { interval, rows })
}

/// Writes a forecast CSV that [`read_forecast`] reads back (and the simulator's
/// `profile_file` too, which reads its first two columns): header `start,volume`, with `aht`
/// when every row has a handle time. Volumes keep three decimals, handle times a tenth of a
/// second.
pub fn write_forecast(forecast: &Forecast) -> String {
    let with_handle_time =
        !forecast.rows.is_empty() && forecast.rows.iter().all(|row| row.handle_time_s.is_some());
    let mut text = String::from(if with_handle_time {
        "start,volume,aht\n"
    } else {
        "start,volume\n"
    });
    for row in &forecast.rows {
        let _ = write!(text, "{},{:.3}", row.start, row.volume);
        if let (true, Some(handle_time_s)) = (with_handle_time, row.handle_time_s) {
            let _ = write!(text, ",{handle_time_s:.1}s");
        }
        text.push('\n');
    }
    text
}

/// Writes a staffing plan CSV: header `start,agents,staff`, one row per interval.
pub fn write_staffing_plan(plan: &[IntervalStaffing]) -> String {
    let mut text = String::from("start,agents,staff\n");
    for interval in plan {
        let _ = writeln!(
            text,
            "{},{},{}",
            interval.start, interval.agents, interval.staff
        );
    }
    text
}

/// One row of a staffing plan CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanRow {
    /// Start, measured from the start of the plan.
    pub start: DurationMs,
    /// Productive agents needed.
    pub agents: u64,
    /// Scheduled staff needed (agents plus shrinkage).
    pub staff: u64,
}

/// A staffing plan read back from CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffingPlan {
    /// Length of every interval, inferred from the starts.
    pub interval: DurationMs,
    /// Rows in file order.
    pub rows: Vec<PlanRow>,
}

/// Reads a staffing plan CSV (header `start,agents,staff`).
pub fn read_staffing_plan(text: &str, file: &str) -> Result<StaffingPlan, PlanError> {
    staffing_plan_rows(text, file).map_err(|error| error.in_text(text))
}

fn staffing_plan_rows(text: &str, file: &str) -> Result<StaffingPlan, PlanError> {
    let mut lines = content_lines(text);
    let (header_line, header) = lines.next().ok_or_else(|| {
        PlanError::new(format!(
            "{file}: empty file, expected the header start,agents,staff"
        ))
    })?;
    let positions = header_positions(
        file,
        header_line,
        header,
        &["start", "agents", "staff"],
        &[],
    )?;
    let mut rows = Vec::new();
    let mut starts = Vec::new();
    for (line, content) in lines {
        let fields = split_fields(content);
        refuse_extra_fields(file, line, &fields, header)?;
        let start_field = field_at(file, line, &fields, positions[0].unwrap_or(0), "start")?;
        let start = parse_duration(file, line, start_field, "start")?;
        let mut counts = [0_u64; 2];
        for (slot, (position, name)) in counts
            .iter_mut()
            .zip([(positions[1], "agents"), (positions[2], "staff")])
        {
            let field = field_at(file, line, &fields, position.unwrap_or(0), name)?;
            *slot = field.text.parse::<u64>().map_err(|_| {
                located(
                    file,
                    line,
                    field.column,
                    format!("expected {name} as a whole number, found {:?}", field.text),
                )
            })?;
        }
        starts.push((line, start));
        rows.push(PlanRow {
            start,
            agents: counts[0],
            staff: counts[1],
        });
    }
    let interval = infer_interval(file, &starts)?;
    Ok(StaffingPlan { interval, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_forecast_reads_back() {
        let forecast = Forecast {
            interval: DurationMs(1_800_000),
            rows: (0..3)
                .map(|i| ForecastRow {
                    start: DurationMs(i * 1_800_000),
                    volume: 10.5 + i as f64,
                    handle_time_s: Some(183.24),
                })
                .collect(),
        };
        let text = write_forecast(&forecast);
        assert!(
            text.starts_with("start,volume,aht\n0s,10.500,183.2s\n30m,11.500"),
            "{text}"
        );
        let read = read_forecast(&text, "forecast.csv").unwrap();
        assert_eq!(read.interval, forecast.interval);
        assert_eq!(read.rows[2].volume, 12.5);
        assert_eq!(read.rows[0].handle_time_s, Some(183.2));
    }

    #[test]
    fn forecast_reads_starts_volumes_and_handle_times() {
        let text = "start,volume,aht\n# morning\n0m,100,180s\n30m,120,3m\n\n1h,0,200s\n";
        let forecast = read_forecast(text, "day.csv").unwrap();
        assert_eq!(forecast.interval, DurationMs::from_s(1_800));
        assert_eq!(forecast.rows.len(), 3);
        assert_eq!(forecast.rows[1].volume, 120.0);
        assert_eq!(forecast.rows[1].handle_time_s, Some(180.0));
    }

    #[test]
    fn forecast_errors_name_file_line_and_column() {
        for (text, expected) in [
            (
                "start,volume\n0m,10\n30m,ten\n",
                "day.csv:3:5: expected a volume",
            ),
            (
                "start,volume\n0m,10\n30m,5\n1h15m,5\n",
                "day.csv:4:1: start 1h15m breaks",
            ),
            (
                "start,volume\n0m,10\n3 parsecs,5\n",
                "day.csv:3:1: start: expected a duration",
            ),
            (
                "start,calls\n0m,10\n",
                "day.csv:1:7: unknown column \"calls\"",
            ),
            ("start\n0m\n", "day.csv:1:1: missing column \"volume\""),
            (
                "start,volume\n0m,10\n30m\n",
                "day.csv:3:4: missing the \"volume\" field",
            ),
            ("start,volume\n0m,10\n", "at least two rows"),
            (
                "start,volume\n0m,10,12\n30m,5\n",
                "day.csv:2:7: a field beyond the header's 2 columns (start,volume): expected 2 fields, found 3",
            ),
        ] {
            let error = read_forecast(text, "day.csv").unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn staffing_plans_round_trip() {
        let text = "start,agents,staff\n0s,3,5\n30m,4,6\n1h,0,0\n";
        let plan = read_staffing_plan(text, "plan.csv").unwrap();
        assert_eq!(plan.interval, DurationMs::from_s(1_800));
        assert_eq!(
            plan.rows[1],
            PlanRow {
                start: DurationMs::from_s(1_800),
                agents: 4,
                staff: 6
            }
        );
        let error =
            read_staffing_plan("start,agents,staff\n0s,3,five\n30m,1,1\n", "plan.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("plan.csv:2:6: expected staff as a whole number"),
            "{error}"
        );
    }
}

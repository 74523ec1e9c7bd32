//! Line charts: what a chart shows ([`Chart`]) and how it is drawn, as SVG text for the page or
//! as a PNG file. Both go through the same drawing code, so the PNG is the SVG's twin.
//!
//! Text is laid out with the Liberation Sans font shipped in `reports/fonts/` (SIL Open Font
//! License 1.1): no system font library is needed, and a chart looks the same on every machine.

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::local_time::LocalClock;

/// The width and height of a chart, in pixels (SVG user units and PNG pixels alike).
pub const CHART_SIZE_PIXELS: (u32, u32) = (960, 420);

static FONT: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");
static REGISTER_FONT: Once = Once::new();

/// Registers the shipped font as plotters' `sans-serif` (once per process).
fn register_font() {
    REGISTER_FONT.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            // The font is compiled in; if it did not parse, every chart would lack text.
            panic!("the font shipped in reports/fonts/ is not a valid TrueType font");
        }
    });
}

/// Colours that stay apart for readers with the common colour-vision deficiencies
/// (Okabe–Ito), in the order series get them.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(120, 120, 120), // grey
    RGBColor(240, 228, 66),  // yellow
];

/// The colour of reference lines (targets), kept out of the palette.
pub const REFERENCE_COLOUR: RGBColor = RGBColor(30, 30, 30);

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// (x, y) in the chart's units, x increasing.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line at a fixed value, such as a service-level goal.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceLine {
    pub name: String,
    pub value: f64,
}

/// How values on an axis are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// `1,200` or `0.35`.
    Number,
    /// A fraction written as a percentage: 0.8 → `80 %`.
    Percent,
}

/// How the vertical axis is scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VerticalScale {
    /// From 0 to a little above the largest value (or to `at_least`, whichever is larger).
    Linear { at_least: f64 },
    /// From 0 to 100 %, for a share of a whole (service level, occupancy): an axis that went
    /// past 100 % would show values no share can take. The legend sits in the lower right,
    /// since these shares are mostly high.
    Share,
    /// Logarithmic, from the power of ten below the smallest positive value to 1
    /// (for probabilities).
    LogProbability,
}

/// What the horizontal axis counts.
#[derive(Clone, Debug, PartialEq)]
pub enum HorizontalAxis {
    /// Hours since the scenario's start, written as the local time of a site.
    LocalTime { clock: LocalClock, span_hours: f64 },
    /// Plain numbers from 0 to `max`.
    Number { max: f64 },
    /// Named positions at x = 0, 1, 2 ... (the points of a sweep): each labelled, evenly
    /// spaced, with a marker at every value.
    Categories { labels: Vec<String> },
}

/// The 95 % intervals of one series' values, drawn as vertical bars in the series' colour.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalBars {
    /// The position of the series in [`Chart::series`].
    pub series: usize,
    /// (x, low, high).
    pub bars: Vec<(f64, f64, f64)>,
}

/// A line chart, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// A short name for files and element ids: `contacts-per-interval`.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub horizontal: HorizontalAxis,
    pub vertical: VerticalScale,
    pub value_format: ValueFormat,
    pub series: Vec<Series>,
    pub reference_lines: Vec<ReferenceLine>,
    pub interval_bars: Vec<IntervalBars>,
}

/// A chart that could not be drawn.
#[derive(Debug)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChartError {}

fn chart_error(error: impl std::fmt::Display) -> ChartError {
    ChartError(error.to_string())
}

impl Chart {
    /// The chart as an SVG document (text drawn as SVG text in `sans-serif`).
    pub fn to_svg(&self) -> Result<String, ChartError> {
        register_font();
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, CHART_SIZE_PIXELS).into_drawing_area();
            self.draw(&area)?;
            area.present().map_err(chart_error)?;
        }
        Ok(svg)
    }

    /// Writes the chart as a PNG file.
    pub fn write_png(&self, path: &Path) -> Result<(), ChartError> {
        register_font();
        let area = BitMapBackend::new(path, CHART_SIZE_PIXELS).into_drawing_area();
        self.draw(&area)?;
        area.present()
            .map_err(|error| ChartError(format!("{}: {error}", path.display())))
    }

    /// The vertical range that shows every value (and every reference line).
    pub fn vertical_range(&self) -> Range<f64> {
        let values = self
            .series
            .iter()
            .flat_map(|series| series.points.iter().map(|&(_, y)| y))
            .chain(self.reference_lines.iter().map(|line| line.value))
            .chain(
                self.interval_bars
                    .iter()
                    .flat_map(|bars| bars.bars.iter().flat_map(|&(_, low, high)| [low, high])),
            )
            .filter(|value| value.is_finite());
        match self.vertical {
            VerticalScale::Linear { at_least } => {
                let largest = values.fold(at_least, f64::max);
                // Head room above the data for the legend, which sits in the upper right.
                let top = if largest > 0.0 { largest * 1.4 } else { 1.0 };
                0.0..top
            }
            VerticalScale::Share => 0.0..1.0,
            VerticalScale::LogProbability => {
                let smallest = values.filter(|&value| value > 0.0).fold(1.0, f64::min);
                let bottom = 10f64.powf(smallest.log10().floor()).min(0.1);
                bottom..1.0
            }
        }
    }

    fn horizontal_range(&self) -> Range<f64> {
        match &self.horizontal {
            HorizontalAxis::LocalTime { span_hours, .. } => 0.0..span_hours.max(1e-9),
            HorizontalAxis::Number { max } => 0.0..max.max(1e-9),
            HorizontalAxis::Categories { labels } => -0.5..(labels.len() as f64 - 0.5).max(0.5),
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError>
    where
        DB::ErrorType: 'static,
    {
        area.fill(&WHITE).map_err(chart_error)?;
        let vertical = self.vertical_range();
        match self.vertical {
            VerticalScale::Linear { .. } | VerticalScale::Share => self.draw_with(area, vertical),
            VerticalScale::LogProbability => self.draw_with(area, vertical.log_scale()),
        }
    }

    fn draw_with<DB, Y>(&self, area: &DrawingArea<DB, Shift>, vertical: Y) -> Result<(), ChartError>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let horizontal = self.horizontal_range();
        let mut builder = ChartBuilder::on(area);
        builder
            .caption(&self.title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(72);
        let mut chart = builder
            .build_cartesian_2d::<Range<f64>, Y>(horizontal.clone(), vertical)
            .map_err(chart_error)?;
        let x_formatter = |x: &f64| match &self.horizontal {
            HorizontalAxis::LocalTime { clock, .. } => clock.label(*x),
            HorizontalAxis::Number { .. } => format_number(*x),
            HorizontalAxis::Categories { labels } => {
                let index = x.round();
                if (x - index).abs() < 1e-6 && index >= 0.0 {
                    labels.get(index as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        };
        let value_format = self.value_format;
        let log = matches!(self.vertical, VerticalScale::LogProbability);
        let y_formatter = move |y: &f64| match (value_format, log) {
            (ValueFormat::Percent, true) => format_probability_percent(*y),
            (ValueFormat::Percent, false) => format!("{:.0} %", y * 100.0),
            (ValueFormat::Number, _) => format_number(*y),
        };
        let x_label_count = match &self.horizontal {
            HorizontalAxis::LocalTime { span_hours, .. } => ticks_for_hours(*span_hours),
            HorizontalAxis::Number { .. } => 10,
            HorizontalAxis::Categories { labels } => labels.len().clamp(1, 12),
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(x_label_count)
            .y_labels(8)
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(247, 247, 247))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(chart_error)?;
        for line in &self.reference_lines {
            let style = ShapeStyle::from(&REFERENCE_COLOUR).stroke_width(2);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(horizontal.start, line.value), (horizontal.end, line.value)],
                    style,
                )))
                .map_err(chart_error)?
                .label(&line.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        for (index, series) in self.series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let style = ShapeStyle::from(&colour).stroke_width(2);
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log || *y > 0.0))
                .collect();
            if matches!(self.horizontal, HorizontalAxis::Categories { .. }) {
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&point| Circle::new(point, 4, colour.filled())),
                    )
                    .map_err(chart_error)?;
            }
            chart
                .draw_series(std::iter::once(PathElement::new(points, style)))
                .map_err(chart_error)?
                .label(&series.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        for bars in &self.interval_bars {
            let colour = PALETTE[bars.series % PALETTE.len()];
            let style = ShapeStyle::from(&colour.mix(0.6)).stroke_width(2);
            chart
                .draw_series(
                    bars.bars
                        .iter()
                        .filter(|(x, low, high)| {
                            x.is_finite()
                                && low.is_finite()
                                && high.is_finite()
                                && (!log || *low > 0.0)
                        })
                        .map(|&(x, low, high)| PathElement::new(vec![(x, low), (x, high)], style)),
                )
                .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .position(match self.vertical {
                VerticalScale::Share => SeriesLabelPosition::LowerRight,
                _ => SeriesLabelPosition::UpperRight,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(190, 190, 190))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(chart_error)?;
        Ok(())
    }
}

/// About one label every two hours on long runs, every half hour on short ones.
fn ticks_for_hours(span_hours: f64) -> usize {
    let step_hours = if span_hours > 36.0 {
        6.0
    } else if span_hours > 12.0 {
        2.0
    } else if span_hours > 4.0 {
        1.0
    } else {
        0.5
    };
    ((span_hours / step_hours).round() as usize + 1).clamp(2, 16)
}

/// Numbers as a reader expects them on an axis: `0`, `2.5`, `1,200`, `3.4 M`.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1} M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0} k", value / 1e3)
    } else if magnitude >= 100.0 || value == value.round() {
        group_thousands(value.round() as i64)
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && index % 3 == digits.len() % 3 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A probability on a log axis as a percentage: 1 → `100 %`, 0.001 → `0.1 %`.
fn format_probability_percent(value: f64) -> String {
    let percent = value * 100.0;
    if percent >= 1.0 {
        format!("{percent:.0} %")
    } else {
        let decimals = (-percent.log10()).ceil().max(1.0) as usize;
        format!("{percent:.decimals$} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_for_people() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(1200.0), "1,200");
        assert_eq!(format_number(25_000.0), "25 k");
        assert_eq!(format_number(3_400_000.0), "3.4 M");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_probability_percent(0.001), "0.1 %");
        assert_eq!(format_probability_percent(0.5), "50 %");
    }

    #[test]
    fn a_log_axis_reaches_below_the_smallest_probability() {
        let chart = Chart {
            id: "x".into(),
            title: "x".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            horizontal: HorizontalAxis::Number { max: 10.0 },
            vertical: VerticalScale::LogProbability,
            value_format: ValueFormat::Percent,
            series: vec![Series {
                name: "a".into(),
                points: vec![(0.0, 1.0), (5.0, 0.003)],
            }],
            reference_lines: vec![],
            interval_bars: vec![],
        };
        let range = chart.vertical_range();
        assert!(range.start <= 0.003 && range.end >= 1.0, "{range:?}");
    }

    #[test]
    fn a_share_axis_ends_at_one_hundred_percent() {
        let chart = Chart {
            id: "x".into(),
            title: "x".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            horizontal: HorizontalAxis::Number { max: 10.0 },
            vertical: VerticalScale::Share,
            value_format: ValueFormat::Percent,
            series: vec![Series {
                name: "a".into(),
                points: vec![(0.0, 0.97), (5.0, 1.0)],
            }],
            reference_lines: vec![ReferenceLine {
                name: "goal".into(),
                value: 0.8,
            }],
            interval_bars: vec![],
        };
        assert_eq!(chart.vertical_range(), 0.0..1.0);
        let svg = chart.to_svg().unwrap();
        let percents: Vec<u32> = svg
            .split('>')
            .filter_map(|piece| piece.split('<').next())
            .filter_map(|text| text.trim().strip_suffix(" %"))
            .filter_map(|number| number.parse().ok())
            .collect();
        assert_eq!(percents.iter().max(), Some(&100), "{percents:?}");
    }
}

//! What every page shares: the one `escape` for text placed in HTML, the style sheet, and
//! the parts a run report's sections are made of ([`Section`], [`PageContext`]).

use std::fmt::Write as _;

use crate::chart::Chart;
use crate::input::ReportInput;

/// What every section may draw on.
pub struct PageContext<'a> {
    pub input: &'a ReportInput,
    /// The charts and their SVG text, in page order.
    pub charts: &'a [(Chart, String)],
    pub service_level_goal: f64,
}

impl PageContext<'_> {
    pub(crate) fn chart_figures(&self, ids: &[&str]) -> String {
        let mut html = String::new();
        for (chart, svg) in self.charts {
            if ids.contains(&chart.id.as_str()) {
                let _ = writeln!(
                    html,
                    "<figure id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>",
                    escape(&chart.id),
                    strip_xml_declaration(svg),
                    escape(&chart.title)
                );
            }
        }
        html
    }
}

/// One part of the page.
pub trait Section {
    /// The heading (also the anchor in the table of contents).
    fn title(&self) -> String;
    /// The section's HTML without its heading, or `None` when the results hold nothing for it.
    fn render(&self, context: &PageContext) -> Option<String>;
}

/// The style sheet every page inlines.
pub(crate) const STYLE: &str = r#"
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #1e1e1e; background: #fafafa; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 4px 0; }
h2 { font-size: 22px; border-bottom: 2px solid #0072b2; padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 17px; margin-top: 22px; }
.subtitle { color: #555; margin: 0 0 12px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; background: #f6f9fc; }
.card .label { font-size: 13px; color: #444; }
.card .value { font-size: 24px; font-weight: bold; margin: 4px 0; }
.card .detail { font-size: 12px; color: #666; }
.note { color: #444; font-size: 14px; line-height: 1.45; }
.warning { color: #a40000; font-weight: bold; }
figure { margin: 18px 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
figcaption { font-size: 13px; color: #555; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
thead th { background: #eef3f8; text-align: center; }
tbody th { text-align: left; background: #fafafa; }
.ci { color: #777; font-size: 11px; }
nav ol { columns: 2; font-size: 14px; }
code { background: #f1f1f1; padding: 0 3px; }
"#;

/// An SVG document as an element to place inside a page.
pub(crate) fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    }
}

/// Text made safe for HTML.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

//! What every command shares on a terminal: the width its tables fit in and its progress bar.

use std::io::IsTerminal;

/// Columns a table fits in: [`TEXT_WIDTH`](switchboard_results::display::TEXT_WIDTH), or as
/// many as its columns need with `--wide`.
pub fn table_width(wide: bool) -> usize {
    if wide {
        // Wide enough for any table; bounded so that wrapping arithmetic stays small.
        10_000
    } else {
        switchboard_results::display::TEXT_WIDTH
    }
}

/// A progress bar on standard error counting `length` `things`: hidden with `--quiet` and when
/// standard error is not a terminal (a pipe, a file, a test), so outputs never carry it.
pub fn progress_bar(quiet: bool, length: u64, things: &str) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {things}, {{eta}} left"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

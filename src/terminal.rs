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

/// Makes the folder `--out` names: in every command `--out` is a folder that gets the
/// command's files (`files`, for the message). A name ending like a file (`plan.csv`) is what
/// `plan staff` and `calibrate` took before they wrote folders: it is refused with the new
/// usage rather than becoming a folder called `plan.csv`.
pub fn out_folder(out: &std::path::Path, files: &str) -> anyhow::Result<()> {
    refuse_file_out(out, files)?;
    std::fs::create_dir_all(out)
        .map_err(|error| anyhow::anyhow!("cannot make the folder {}: {error}", out.display()))
}

/// The check of [`out_folder`] without making the folder, for a command that writes nothing
/// until its input is read.
pub fn refuse_file_out(out: &std::path::Path, files: &str) -> anyhow::Result<()> {
    const FILE_ENDINGS: [&str; 7] = ["csv", "json", "toml", "html", "txt", "jsonl", "tsv"];
    let looks_like_file = out
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| FILE_ENDINGS.contains(&extension.to_ascii_lowercase().as_str()));
    if out.is_file() || (looks_like_file && !out.is_dir()) {
        let stem = out.with_extension("");
        anyhow::bail!(
            "--out {} names a file, but --out is a folder in every command (it gets {files}); \
             write for example --out {}",
            out.display(),
            stem.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_that_names_a_file_is_refused_with_the_new_usage() {
        let error = out_folder(std::path::Path::new("plan.csv"), "plan.csv")
            .unwrap_err()
            .to_string();
        assert!(error.contains("--out plan.csv names a file"), "{error}");
        assert!(error.contains("--out plan"), "{error}");
    }
}

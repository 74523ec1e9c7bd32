//! `sweep.csv` and `sweep.json`, written from a folder's manifest and its points'
//! `summary.json` files alone (`switchboard_results::sweep` builds them), so an unsharded run
//! and a merge of shards, which hold the same point folders, write the same bytes. The page
//! that compares the points, `sweep.html`, is drawn by `switchboard-reports`.

use std::path::Path;

use anyhow::Context;
use switchboard_results::sweep::{read_rows, sweep_csv, sweep_json, Manifest};

/// Writes `sweep.csv` and `sweep.json` into `folder`.
pub fn write_files(folder: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let rows = read_rows(folder, manifest)?;
    let write = |name: &str, text: String| {
        std::fs::write(folder.join(name), text)
            .with_context(|| format!("cannot write {}", folder.join(name).display()))
    };
    write("sweep.csv", sweep_csv(manifest, &rows))?;
    write(
        "sweep.json",
        serde_json::to_string_pretty(&sweep_json(manifest, &rows))? + "\n",
    )?;
    Ok(())
}

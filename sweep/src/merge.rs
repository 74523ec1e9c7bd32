//! Combining shard folders into the folder of the whole sweep.
//!
//! A point never spans shards, so each point's folder (summary, intervals, histograms) is
//! copied byte for byte from the one shard that ran it: nothing is averaged or re-estimated,
//! and the merged folder is the one an unsharded run would have written. Shards must come
//! from the same sweep file, base scenario, program version and targets; a shard missing or
//! given twice is an error that names the points concerned, never a gap in the results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use switchboard_results::sweep::{Manifest, Shard};

/// Checks the shard folders and writes the merged sweep into `out`.
pub fn merge_shards(shard_folders: &[PathBuf], out: &Path) -> anyhow::Result<Manifest> {
    if shard_folders.is_empty() {
        bail!("merge needs at least one shard folder");
    }
    let mut manifests = Vec::new();
    for folder in shard_folders {
        if same_folder(folder, out) {
            bail!(
                "the output folder {} is also a shard to merge",
                out.display()
            );
        }
        manifests.push(Manifest::read(folder)?);
    }
    let first = &manifests[0];
    let first_folder = &shard_folders[0];
    for (folder, manifest) in shard_folders.iter().zip(&manifests).skip(1) {
        if manifest.sweep_hash != first.sweep_hash {
            bail!(
                "{} comes from a different sweep (sweep file and base scenario hash {}) than {} ({}); refusing to merge",
                folder.display(),
                manifest.sweep_hash,
                first_folder.display(),
                first.sweep_hash
            );
        }
        if manifest.program_version != first.program_version {
            bail!(
                "{} was run by program version {}, {} by version {}; refusing to merge results of different versions",
                folder.display(),
                manifest.program_version,
                first_folder.display(),
                first.program_version
            );
        }
        if manifest.shard.count != first.shard.count {
            bail!(
                "{} is shard {} but {} is shard {}: the shard counts differ",
                folder.display(),
                manifest.shard,
                first_folder.display(),
                first.shard
            );
        }
        let mut same_settings = manifest.clone();
        same_settings.shard = first.shard;
        if same_settings != *first {
            bail!(
                "{} and {} were run with different settings (targets, replications or seeds); refusing to merge",
                folder.display(),
                first_folder.display()
            );
        }
    }
    let count = first.shard.count;
    let mut by_index: BTreeMap<usize, Vec<&PathBuf>> = BTreeMap::new();
    for (folder, manifest) in shard_folders.iter().zip(&manifests) {
        by_index
            .entry(manifest.shard.index)
            .or_default()
            .push(folder);
    }
    let points_of = |index: usize| -> String {
        let shard = Shard { index, count };
        first
            .points
            .iter()
            .filter(|point| shard.holds(point.index))
            .map(|point| point.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    for index in 0..count {
        match by_index.get(&index).map(Vec::len).unwrap_or(0) {
            0 => problems.push(format!(
                "shard {index}/{count} is missing (points {})",
                points_of(index)
            )),
            1 => {}
            _ => problems.push(format!(
                "shard {index}/{count} is given more than once, in {} (points {})",
                by_index[&index]
                    .iter()
                    .map(|folder| folder.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and "),
                points_of(index)
            )),
        }
    }
    if !problems.is_empty() {
        bail!("cannot merge: {}", problems.join("; "));
    }
    let mut merged = first.clone();
    merged.shard = Shard::WHOLE;
    let points_folder = out.join("points");
    std::fs::create_dir_all(&points_folder)
        .with_context(|| format!("cannot create {}", points_folder.display()))?;
    for (folder, manifest) in shard_folders.iter().zip(&manifests) {
        for point in manifest.held_points() {
            let from = folder.join("points").join(&point.id);
            if !from.join("summary.json").is_file() {
                bail!(
                    "shard {} in {} has no results for point {} ({} is missing)",
                    manifest.shard,
                    folder.display(),
                    point.id,
                    from.join("summary.json").display()
                );
            }
            copy_folder(&from, &points_folder.join(&point.id))?;
        }
    }
    merged.write(out)?;
    crate::files::write_files(out, &merged)?;
    Ok(merged)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Copies a folder's files and subfolders, in name order.
fn copy_folder(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("cannot read {}", from.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    entry.path().display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

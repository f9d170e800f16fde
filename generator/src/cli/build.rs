//! `mirage build`: configure, then run the build steps; with `--dry-run`,
//! print the files configure would write and every step, and do nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{configure, Selection};
use crate::build::step;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// How `mirage build` builds.
pub struct How {
    /// Show cargo's output.
    pub verbose: bool,
    /// Print, do nothing.
    pub dry_run: bool,
    /// The pinned image to build from, not cargo (see `build_pinned`).
    pub pinned: Option<PathBuf>,
}

/// Builds the image and prints its path last.
pub fn main(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    settings: &[String],
    how: How,
) -> Result<i32> {
    let How {
        verbose,
        dry_run,
        pinned,
    } = how;
    // The plan pins default configurations.
    let keyed = !keys.is_empty() || !settings.is_empty();
    let (r, plan) = configure::configure(ws, cwd, sel, keys, settings)?;
    if let Some(file) = pinned {
        configure::commit(ws, &r, &plan)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::system(format!("{}: {e}", file.display())))?;
        let pinned = serde_json::from_str(&text)
            .map_err(|e| Error::system(format!("{}: {e}", file.display())))?;
        let image = crate::build::image::build_pinned(ws, &r, &plan.dir, &pinned, keyed)?;
        println!("{}", image.display());
        return Ok(0);
    }
    if dry_run {
        let (steps, image) = crate::build::image::plan(ws, &r, &plan.dir)?;
        print!("{}{}", plan.dry_run(), step::dry_run(&steps));
        println!("{}", image.display());
        return Ok(0);
    }
    configure::commit(ws, &r, &plan)?;
    let image = crate::build::image::build(ws, &r, &plan.dir, verbose)?;
    println!("{}", image.display());
    Ok(0)
}

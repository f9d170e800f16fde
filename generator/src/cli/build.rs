//! `mirage build`: configure, then run the build steps; with `--dry-run`,
//! print the files configure would write and every step, and do nothing.

use std::collections::BTreeMap;
use std::path::Path;

use super::{configure, Selection};
use crate::error::Result;
use crate::step;
use crate::workspace::Workspace;

/// Builds the image and prints its path last.
pub fn main(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    settings: &[String],
    verbose: bool,
    dry_run: bool,
) -> Result<i32> {
    let (r, plan) = configure::configure(ws, cwd, sel, keys, settings)?;
    if dry_run {
        let (steps, image) = crate::build::plan(ws, &r, &plan.dir)?;
        print!("{}{}", plan.dry_run(), step::dry_run(&steps));
        println!("{}", image.display());
        return Ok(0);
    }
    configure::commit(ws, &r, &plan)?;
    let image = crate::build::build(ws, &r, &plan.dir, verbose)?;
    println!("{}", image.display());
    Ok(0)
}

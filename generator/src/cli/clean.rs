//! `mirage clean`: remove one unikernel's output, or all of `mirage-out/`
//! but the link to rules_mirage that the app's `cargo check` reads.

use std::path::Path;

use super::configure::parse_label;
use crate::error::{IoContext, Result};
use crate::paths::{relative, unikernel_dir};
use crate::workspace::Workspace;

/// Removes the output of `label`, or every output.
pub fn main(ws: &Workspace, cwd: &Path, label: Option<&str>) -> Result<i32> {
    let dir = match label {
        Some(l) => unikernel_dir(ws, &parse_label(ws, cwd, l)?),
        None => ws.out_root(),
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir).io_context(|| format!("remove {}", dir.display()))?;
        eprintln!("mirage: removed {}", relative(cwd, &dir));
    }
    crate::workspace::link_home(&ws.root, &ws.home)?;
    Ok(0)
}

//! `mirage release`: builds a unikernel for each target, then writes its
//! release tarball (see [`crate::release`]) into the output directory.

use std::collections::BTreeMap;
use std::path::Path;

use super::{configure, Selection};
use crate::action::write_atomically;
use crate::error::Result;
use crate::paths::relative;
use crate::release::{release, Built};
use crate::workspace::Workspace;

/// Builds `label` for `targets` (spt alone by default) and writes the
/// release into `out`, its OCI images starting the unikernel with
/// `runtime_args`; prints its path.
#[allow(clippy::too_many_arguments)]
pub fn main(
    ws: &Workspace,
    cwd: &Path,
    label: &str,
    targets: &[String],
    keys: BTreeMap<String, String>,
    settings: &[String],
    out: Option<&Path>,
    runtime_args: &[String],
) -> Result<i32> {
    let mut targets = match targets {
        [] => vec!["spt".to_owned()],
        t => t.to_vec(),
    };
    // Each target once, in the order first given.
    let mut seen = std::collections::BTreeSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    let mut built = Vec::new();
    for target in targets {
        let sel = Selection {
            target: Some(target),
            label: label.to_owned(),
        };
        let (r, plan) = configure::configure(ws, cwd, &sel, keys.clone(), settings)?;
        configure::commit(ws, &r, &plan)?;
        let image = crate::build::build(ws, &r, &plan.dir, false)?;
        built.push(Built { r, plan, image });
    }
    let (name, bytes) = release(ws, &built, &runtime_args.join(" "))?;
    let dir = match out {
        Some(dir) => cwd.join(dir),
        None => ws.out_root().join("releases"),
    };
    let path = dir.join(name);
    write_atomically(&path, &bytes)?;
    println!("{}", relative(cwd, &path));
    Ok(0)
}

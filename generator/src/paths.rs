//! Where generated output lives, and how generated files name paths.
//!
//! Generated files name paths relative to their own directory or to the
//! workspace root, never absolutely, so two checkouts render the same bytes.

use std::path::{Component, Path, PathBuf};

use crate::label::Label;
use crate::target::Target;
use crate::workspace::Workspace;

/// The directory of a unikernel's outputs, `mirage-out/<package>/<name>`,
/// holding the recorded configuration (`context.json`) and one directory
/// per target, so that images for several targets build side by side.
pub fn unikernel_dir(ws: &Workspace, label: &Label) -> PathBuf {
    let mut dir = ws.out_root();
    if let Some(repo) = &label.repo {
        dir = dir.join("external").join(repo);
    }
    dir.join(&label.package).join(&label.name)
}

/// The generated files and image of a unikernel for one target.
pub fn out_dir(ws: &Workspace, label: &Label, target: Target) -> PathBuf {
    unikernel_dir(ws, label).join(target.name())
}

pub use mirage_unit::WORKSPACE_LINK;

/// How the generated manifest in `out` names the crate at `dir`.
pub fn crate_path(ws: &Workspace, out: &Path, dir: &Path) -> String {
    match dir.strip_prefix(&ws.root) {
        Ok(rel) if rel.as_os_str().is_empty() => WORKSPACE_LINK.to_owned(),
        Ok(rel) => format!("{WORKSPACE_LINK}/{}", rel.display()),
        Err(_) => relative(out, dir),
    }
}

/// A `/`-separated relative path from directory `from` to `to`.
pub fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_owned(), from.len() - common);
    let downs = to[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths_climb_then_descend() {
        assert_eq!(
            relative(
                Path::new("/w/mirage-out/a/b"),
                Path::new("/w/runtimes/core")
            ),
            "../../../runtimes/core"
        );
        assert_eq!(relative(Path::new("/w"), Path::new("/w")), ".");
    }
}

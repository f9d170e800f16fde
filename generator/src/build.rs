//! Build: cargo compiles the generated crate; the image lands in `dist/`.
//!
//! Reproducible by construction: source paths are remapped to
//! workspace-relative names and the linker writes no build id, so the same
//! inputs in two checkouts give the same image bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::action::Plan;
use crate::error::{Error, IoContext, Result};
use crate::render::image_name;
use crate::resolve::Resolved;
use crate::workspace::Workspace;

/// The cargo target directory: `$CARGO_TARGET_DIR`, else `mirage-out/target`.
pub fn target_dir(ws: &Workspace) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.out_root().join("target"))
}

fn rustflags(ws: &Workspace) -> String {
    let mut flags = vec![format!("--remap-path-prefix={}=.", ws.root.display())];
    if !ws.home_is_root() {
        flags.push(format!(
            "--remap-path-prefix={}=@rules_mirage",
            ws.home.display()
        ));
    }
    flags.push("-Clink-arg=-Wl,--build-id=none".to_owned());
    flags.join("\x1f")
}

/// Compiles the committed `plan` and copies the image into `dist/`.
/// Returns the image path.
pub fn build(ws: &Workspace, r: &Resolved, plan: &Plan, verbose: bool) -> Result<PathBuf> {
    let target_dir = target_dir(ws);
    eprintln!("mirage: building {} for {} with cargo", r.label, r.target);
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(plan.dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags(ws))
        .env_remove("RUSTFLAGS");
    if !verbose {
        cmd.arg("--quiet");
    }
    let status = cmd.status().io_context(|| "run cargo".to_owned())?;
    if !status.success() {
        return Err(Error::system(format!(
            "cargo build of {} for {} failed ({status})",
            r.label, r.target
        )));
    }
    let built = target_dir.join("release").join(&r.label.name);
    let image = plan.dir.join("dist").join(image_name(r));
    install(&built, &image)?;
    Ok(image)
}

/// Copies `from` to `to` through a temporary file, so `to` is never partial.
fn install(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .io_context(|| format!("create a file in {}", dir.display()))?;
    std::fs::copy(from, tmp.path()).io_context(|| format!("copy {}", from.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .io_context(|| format!("chmod {}", tmp.path().display()))?;
    tmp.persist(to)
        .map_err(|e| Error::system(format!("install {}: {e}", to.display())))?;
    Ok(())
}

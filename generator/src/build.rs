//! Build: cargo compiles the generated crate; the image lands in `dist/`.
//!
//! Reproducible by construction: source paths are remapped to
//! workspace-relative names (crates from a registry or a vendored copy to
//! `crates/NAME-VERSION`), the linker writes no build id and no debug
//! info, so the same inputs in two checkouts, or under Bazel, give the
//! same image bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use mirage_toolchain_solo5::{cache_root, Toolchain};

use crate::action::Plan;
use crate::error::{Error, IoContext, Result};
use crate::model::target::{Family, Target};
use crate::render::image_name;
use crate::resolve::Resolved;
use crate::workspace::Workspace;

/// The cargo target directory: `$CARGO_TARGET_DIR`, else `mirage-out/target`.
pub fn target_dir(ws: &Workspace) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.out_root().join("target"))
}

/// Where cargo keeps crate sources: each registry's unpacked sources
/// under `$CARGO_HOME` (default `~/.cargo`), and `$MIRAGE_CRATES`, the
/// vendored copy Bazel builds with. Crates are `NAME-VERSION` in each.
fn crate_source_dirs() -> Vec<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut dirs: Vec<PathBuf> = cargo_home
        .and_then(|h| std::fs::read_dir(h.join("registry/src")).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    dirs.sort();
    dirs.extend(std::env::var_os("MIRAGE_CRATES").map(PathBuf::from));
    dirs
}

fn rustflags(ws: &Workspace) -> String {
    let mut flags = vec![format!("--remap-path-prefix={}=.", ws.root.display())];
    if !ws.home_is_root() {
        flags.push(format!(
            "--remap-path-prefix={}=@rules_mirage",
            ws.home.display()
        ));
    }
    // After the workspace's: the last matching prefix wins, and a vendored
    // copy may live inside the workspace.
    for dir in crate_source_dirs() {
        flags.push(format!("--remap-path-prefix={}=crates", dir.display()));
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
    let image = plan.dir.join("dist").join(image_name(r));
    match r.target.family() {
        Family::Unix => install(&target_dir.join("release").join(&r.label.name), &image)?,
        Family::Solo5 => {
            let lib = target_dir
                .join("release")
                .join(format!("lib{}_{}.a", r.label.name, r.target));
            link(ws, r, plan, &lib, &image)?;
        }
    }
    Ok(image)
}

/// The Solo5 toolchain, built on first use.
pub fn solo5_toolchain(ws: &Workspace) -> Result<Toolchain> {
    Toolchain::ensure(&ws.home, &cache_root(), |msg| eprintln!("mirage: {msg}"))
        .map_err(Error::system)
}

/// The Solo5 ABI of a target's bindings (qubes runs xen images).
pub fn solo5_abi(target: Target) -> &'static str {
    match target {
        Target::Qubes => "xen",
        other => other.name(),
    }
}

/// Links the staticlib with the target's bindings and the manifest:
/// `solo5-elftool gen-manifest`, the manifest compiled freestanding, then
/// `ld` with the target's linker script.
fn link(ws: &Workspace, r: &Resolved, plan: &Plan, lib: &Path, image: &Path) -> Result<()> {
    let toolchain = solo5_toolchain(ws)?;
    let abi = solo5_abi(r.target);
    let work = tempfile::Builder::new()
        .prefix(".link-")
        .tempdir_in(&plan.dir)
        .io_context(|| format!("create a directory in {}", plan.dir.display()))?;
    let dir = work.path();
    tool(
        Command::new(toolchain.elftool())
            .arg("gen-manifest")
            .arg(plan.dir.join("manifest.json"))
            .arg("manifest.c")
            .current_dir(dir),
    )?;
    // -g0: no debug info, so no build path ends up in the image.
    tool(
        Command::new(toolchain.cc())
            .args(["-g0", "-c", "manifest.c", "-o", "manifest.o"])
            .current_dir(dir),
    )?;
    let out = dir.join("image");
    tool(
        Command::new("ld")
            .args([
                "-nostdlib",
                "-static",
                "-z",
                "max-page-size=0x1000",
                "--build-id=none",
                // Solo5's objects carry debug info naming the toolchain's
                // directory: the image would depend on where it was built.
                "--strip-debug",
                "-T",
            ])
            .arg(toolchain.linker_script(abi))
            .arg(toolchain.bindings(abi))
            .arg("manifest.o")
            .arg(lib)
            .arg("-o")
            .arg(&out)
            .current_dir(dir),
    )?;
    install(&out, image)
}

/// Runs a toolchain command; its failure is the machine's, not the user's.
fn tool(cmd: &mut Command) -> Result<()> {
    let shown = format!("{:?}", cmd.get_program());
    let out = cmd.output().io_context(|| format!("run {shown}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::system(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
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

//! An image's build: cargo compiles the generated crate (or the pinned
//! plan's unit does), the target's backend links it; the image lands in
//! `dist/`. Planned as [`Step`]s, then run.
//!
//! Reproducible by construction: source paths are remapped to
//! workspace-relative names (crates from a registry or a vendored copy to
//! `crates/NAME-VERSION`), the linker writes no build id and no debug
//! info, so the same inputs in two checkouts, or under Bazel, give the
//! same image bytes.

use std::path::{Path, PathBuf};

use crate::build::cargo::{checkout_remaps, rustflags, target_dir};
use crate::build::step::{self, BuildCx, Cmd, Step};
use crate::error::{Error, Result};
use crate::resolve::Resolved;
use crate::target::Family;
use crate::workspace::Workspace;

/// The steps that build `r`'s image from its committed output `dir`:
/// cargo, then the backend's link steps. Returns them and the image path.
pub fn plan(ws: &Workspace, r: &Resolved, dir: &Path) -> Result<(Vec<Step>, PathBuf)> {
    if r.target.family() == Family::Solo5 {
        for c in r.crates.iter().filter(|c| !c.dir.starts_with(&ws.home)) {
            c.check_no_std()?;
        }
    }
    let target_dir = target_dir(ws);
    let backend = r.target.backend();
    let image = dir
        .join("dist")
        .join(backend.image_name(&r.label.name, r.target));
    let cargo = Cmd::new(step::tool("CARGO", "cargo"))
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags())
        .env(
            crate::build::rustc_wrapper::REMAPS_ENV,
            checkout_remaps(ws).join("\x1f"),
        )
        .env_remove("RUSTFLAGS")
        // A stable rustc that believes it is nightly changes the image's
        // bytes (build scripts probe for nightly features); Bazel's actions
        // never see it, so the engines would disagree.
        .env_remove("RUSTC_BOOTSTRAP")
        // Every crate's -C metadata from what its compile is, not from
        // cargo's hash (see rustc_wrapper.rs).
        .env("RUSTC_WRAPPER", wrapper()?)
        .env(
            crate::build::rustc_wrapper::WRAPPER_ENV,
            std::env::var_os("RUSTC_WRAPPER").unwrap_or_default(),
        );
    let mut steps = vec![Step::Cargo {
        cmd: cargo,
        dir: dir.to_path_buf(),
    }];
    let cx = BuildCx {
        ws,
        r,
        dir,
        target_dir: &target_dir,
        image: &image,
    };
    steps.extend(backend.link(&cx)?);
    Ok((steps, image))
}

/// The rustc wrapper cargo runs: this program.
fn wrapper() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::system(format!("cannot find the mirage program: {e}")))
}

/// Builds the committed output `dir` of `r`; returns the image path.
pub fn build(ws: &Workspace, r: &Resolved, dir: &Path, verbose: bool) -> Result<PathBuf> {
    crate::build::lockfile::check(ws)?;
    let (steps, image) = plan(ws, r, dir)?;
    eprintln!("mirage: building {} for {} with cargo", r.label, r.target);
    step::run(ws, r, &steps, verbose)?;
    Ok(image)
}

/// Builds the committed output `dir` of `r` from the pinned plan: the
/// generated crate's compile from `pinned` (an image of mirage.plan.json,
/// with `dirs`, the output directory of each unit it reads, built
/// already), then the backend's link steps. When `r` is not what the plan
/// pinned: configured by `keyed` keys (the plan pins default
/// configurations), with cargo; else the plan is stale, an error.
/// Returns the image path.
pub fn build_pinned(
    ws: &Workspace,
    r: &Resolved,
    dir: &Path,
    pinned: &serde_json::Value,
    keyed: bool,
) -> Result<PathBuf> {
    let plan_file = crate::build::pin::PLAN_FILE;
    let cargo_toml = dir.join("Cargo.toml");
    let cargo_toml = std::fs::read(&cargo_toml)
        .map_err(|e| Error::system(format!("{}: {e}", cargo_toml.display())))?;
    let changed = crate::build::pin::stale(ws, pinned, &cargo_toml)?;
    if !changed.is_empty() && keyed {
        eprintln!(
            "mirage: keys configure {} for {} otherwise than {plan_file} pins it: building with cargo",
            r.label, r.target
        );
        return build(ws, r, dir, false);
    }
    if !changed.is_empty() {
        return Err(crate::build::pin::stale_error(&format!(
            "{} changed",
            changed.join(", ")
        )));
    }
    let (steps, image) = plan(ws, r, dir)?;
    let deps = target_dir(ws).join("release/deps");
    let dirs: Vec<String> = pinned["dirs"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, path)| format!("{id}={}", path.as_str().unwrap_or_default()))
        .collect();
    let mut places = mirage_unit::Places::here(&deps, &dirs)?;
    places.workspace = ws.root.clone();
    eprintln!(
        "mirage: building {} for {} from {plan_file}",
        r.label, r.target
    );
    let unit = &pinned["unit"];
    mirage_unit::run(unit, &places)?;
    // Where cargo puts what it built: beside deps/, without the suffix.
    let args: Vec<&str> = unit["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| *a == flag)
            .and_then(|i| args.get(i + 1))
            .copied()
    };
    let name = value("--crate-name").unwrap_or_default();
    let extra = args
        .iter()
        .find_map(|a| a.strip_prefix("extra-filename="))
        .unwrap_or_default();
    let (built, uplifted) = if value("--crate-type") == Some("staticlib") {
        (format!("lib{name}{extra}.a"), format!("lib{name}.a"))
    } else {
        (format!("{name}{extra}"), name.to_owned())
    };
    let release = target_dir(ws).join("release");
    std::fs::copy(deps.join(&built), release.join(&uplifted))
        .map_err(|e| Error::system(format!("{}: {e}", deps.join(&built).display())))?;
    let link: Vec<Step> = steps
        .into_iter()
        .filter(|s| !matches!(s, Step::Cargo { .. }))
        .collect();
    step::run(ws, r, &link, false)?;
    Ok(image)
}

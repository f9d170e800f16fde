//! `mirage pin`: build images once with cargo, recording every compile,
//! and write the plan Bazel executes crate by crate (see `pin.rs`; the
//! crate `mirage-unit` runs one unit of it).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{configure, Selection};
use crate::build::pin::{sha256_file, Image, PLAN_FILE};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The images a plan file pins, as (label, target).
pub fn pinned_images(plan: &Value) -> BTreeSet<(String, String)> {
    plan["images"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("label"), s("target"))
        })
        .collect()
}

/// Reads the workspace's plan file, if there is one.
pub fn read_plan(ws: &Workspace) -> Result<Option<Value>> {
    let path = ws.root.join(PLAN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::user(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::system(format!("{}: {e}", path.display()))),
    }
}

/// `mirage pin --check`: whether every image of the plan is pinned as the
/// workspace now configures it, without building.
pub fn check(ws: &Workspace, cwd: &Path) -> Result<i32> {
    let plan = read_plan(ws)?
        .ok_or_else(|| Error::user(format!("mirage pin --check: there is no {PLAN_FILE}")))?;
    let mut changed = Vec::new();
    let images = plan["images"].as_array().cloned().unwrap_or_default();
    for image in &images {
        let sel = Selection {
            target: image["target"].as_str().map(str::to_owned),
            label: image["label"].as_str().unwrap_or_default().to_owned(),
        };
        let (_, rendered) = configure::configure(ws, cwd, &sel, Default::default(), &[])?;
        let cargo_toml = rendered
            .file("Cargo.toml")
            .map(|f| f.contents.clone())
            .unwrap_or_default();
        for what in crate::build::pin::stale(ws, image, &cargo_toml)? {
            if !changed.contains(&what) {
                changed.push(what);
            }
        }
    }
    if !changed.is_empty() {
        return Err(crate::build::pin::stale_error(&format!(
            "{} changed",
            changed.join(", ")
        )));
    }
    eprintln!(
        "mirage: {PLAN_FILE} pins {} images, as configured now",
        images.len()
    );
    Ok(0)
}

/// Pins `labels` for each of `targets`, and every image pinned already.
pub fn main(ws: &Workspace, cwd: &Path, labels: &[String], targets: &[String]) -> Result<i32> {
    let mut wanted = read_plan(ws)?
        .map(|p| pinned_images(&p))
        .unwrap_or_default();
    if !labels.is_empty() && targets.is_empty() {
        return Err(Error::user(
            "mirage pin: name the targets to pin the labels for: `-t spt,unix`",
        ));
    }
    for label in labels {
        let label = configure::parse_label(ws, cwd, label)?.to_string();
        for target in targets.iter().flat_map(|t| t.split(',')) {
            wanted.insert((label.clone(), target.to_owned()));
        }
    }
    if wanted.is_empty() {
        return Err(Error::user(format!(
            "mirage pin: nothing to pin: there is no {PLAN_FILE}; name unikernels and targets (`mirage pin -t spt,unix //app:app`)"
        )));
    }
    let scratch = tempfile::tempdir().map_err(|e| Error::system(format!("scratch: {e}")))?;
    let target_dir = scratch.path().join("target");
    let records = scratch.path().join("records");
    std::fs::create_dir_all(&records).map_err(|e| Error::system(format!("{e}")))?;
    // Every image in one cold target directory: cargo compiles each unit
    // once, and the wrapper records it (record.rs).
    std::env::set_var("CARGO_TARGET_DIR", &target_dir);
    std::env::set_var(crate::build::record::RECORD_ENV, &records);
    let mut images = Vec::new();
    for (label, target) in &wanted {
        let sel = Selection {
            target: Some(target.clone()),
            label: label.clone(),
        };
        let (r, plan) = configure::configure(ws, cwd, &sel, Default::default(), &[])?;
        configure::commit(ws, &r, &plan)?;
        crate::build::image::build(ws, &r, &plan.dir, false)?;
        images.push(Image {
            label: label.clone(),
            target: target.clone(),
            cargo_toml: sha256_file(&plan.dir.join("Cargo.toml"))?,
            dir: plan.dir.clone(),
        });
    }
    std::env::remove_var(crate::build::record::RECORD_ENV);
    let plan = crate::build::pin::plan(ws, &records, &target_dir, &images)?;
    let text = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    crate::action::write_atomically(&ws.root.join(PLAN_FILE), text.as_bytes())?;
    eprintln!(
        "mirage: pinned {} images, {} shared units, in {PLAN_FILE}",
        images.len(),
        plan["units"].as_object().map_or(0, |u| u.len())
    );
    Ok(0)
}

//! `mirage configure`, and the configure step every other subcommand
//! starts with: evaluate BUILD files, resolve the graph for the target and
//! keys, render the files. Nothing is written until [`commit`].

use std::collections::BTreeMap;
use std::path::Path;

use super::Selection;
use crate::action::{write_atomically, Plan};
use crate::config::Configuration;
use crate::error::{Error, Result};
use crate::graph::{platform_crates, Graph};
use crate::label::{Label, Package};
use crate::paths::{relative, unikernel_dir};
use crate::render;
use crate::resolve::{resolve, Resolved};
use crate::starlark::Loader;
use crate::workspace::Workspace;

/// `mirage configure`: writes the plan (or, with `dry_run`, shows it).
pub fn main(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    settings: &[String],
    dry_run: bool,
) -> Result<i32> {
    let (r, plan) = configure(ws, cwd, sel, keys, settings)?;
    if dry_run {
        print!("{}", plan.dry_run());
    } else {
        commit(ws, &r, &plan)?;
        eprintln!(
            "mirage: configured {} for {} in {}",
            r.label,
            r.target,
            relative(cwd, &plan.dir)
        );
    }
    Ok(0)
}

/// Writes the plan, links the rules_mirage home into the output directory
/// (an app's own cargo finds the runtime crates through it), then records
/// its configuration as the unikernel's current one.
pub fn commit(ws: &Workspace, r: &Resolved, plan: &Plan) -> Result<()> {
    plan.commit()?;
    // Under Bazel (declarations given) the workspace is a sandbox.
    if ws.declared.is_none() {
        crate::workspace::link_home(&ws.root, &ws.home)?;
    }
    let context = plan
        .file("context.json")
        .expect("every plan records its configuration");
    write_atomically(
        &unikernel_dir(ws, &r.label).join("context.json"),
        &context.contents,
    )
}

/// A label from the command line; relative ones are in the cwd's package.
pub fn parse_label(ws: &Workspace, cwd: &Path, text: &str) -> Result<Label> {
    let package = cwd
        .strip_prefix(&ws.root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = Package {
        repo: None,
        path: package,
    };
    Label::parse(text, &base)
        .map(|l| ws.canonical(l))
        .map_err(Error::user)
}

/// Evaluates, resolves and renders; writes nothing. Bazel's `--setting`s
/// apply to the keys this unikernel has, unless given on the command line.
pub fn configure(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    settings: &[String],
) -> Result<(Resolved, Plan)> {
    let label = parse_label(ws, cwd, &sel.label)?;
    let config = Configuration::choose(sel.target.as_deref(), keys, &unikernel_dir(ws, &label))?;
    let loader = Loader::new(ws)?;
    let graph = Graph::load(&loader, &label)?;
    let platform = platform_crates(&loader, config.target)?;
    let mut keys = config.keys;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| Error::user(format!("--setting {setting}: expected NAME=VALUE")))?;
        if graph.keys.values().any(|k| k.name() == name) {
            keys.entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    let r = resolve(&graph, config.target, &keys, platform)?;
    let plan = render::render(ws, &r)?;
    Ok((r, plan))
}

//! `mirage release`: builds a unikernel for each target, then writes its
//! release tarball (see [`crate::release`]) into the output directory.
//! LABEL is a `mirage_release` (whose BUILD line fixes the unikernel,
//! targets and runtime arguments, as under Bazel) or a unikernel (they
//! come from the command line).

use std::collections::BTreeMap;
use std::path::Path;

use super::{configure, Selection};
use crate::action::write_atomically;
use crate::error::{Error, Result};
use crate::label::Label;
use crate::model::rule::RuleKind;
use crate::paths::relative;
use crate::release::{git_commit, release, Built, Run};
use crate::starlark::Loader;
use crate::target::Target;
use crate::workspace::Workspace;

/// What a release holds: the unikernel, its targets and the runtime
/// arguments of its OCI images.
struct Contents {
    unikernel: String,
    targets: Vec<String>,
    runtime_args: Vec<String>,
}

/// The contents LABEL names: a `mirage_release`'s, else the unikernel
/// LABEL with the command line's targets (spt by default) and arguments.
fn contents(
    ws: &Workspace,
    cwd: &Path,
    label: &str,
    targets: &[String],
    runtime_args: &[String],
) -> Result<Contents> {
    let parsed = configure::parse_label(ws, cwd, label)?;
    let loader = Loader::new(ws)?;
    let rule = loader.rule(&parsed, None, "unikernel or release")?;
    if rule.kind != RuleKind::Release {
        return Ok(Contents {
            unikernel: label.to_owned(),
            targets: match targets {
                [] => vec!["spt".to_owned()],
                t => t.to_vec(),
            },
            runtime_args: runtime_args.to_vec(),
        });
    }
    if !targets.is_empty() || !runtime_args.is_empty() {
        return Err(Error::user(format!(
            "{parsed} is a mirage_release: its targets and runtime arguments come from {}; drop -t and --",
            rule.loc
        )));
    }
    let unikernel = rule.str("unikernel").unwrap_or_default();
    let unikernel =
        Label::parse(unikernel, &rule.label.package()).map_err(|e| Error::at(&rule.loc, e))?;
    let targets = rule.str_list("targets");
    if targets.is_empty() {
        return Err(Error::at(&rule.loc, "mirage_release() lists no `targets`"));
    }
    for t in &targets {
        Target::parse(t).map_err(|e| Error::at(&rule.loc, e))?;
    }
    Ok(Contents {
        unikernel: ws.canonical(unikernel).to_string(),
        targets: targets.into_iter().map(str::to_owned).collect(),
        runtime_args: rule
            .str_list("args")
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
}

/// What `mirage release` was asked for.
pub struct Request<'a> {
    /// The release or unikernel label, as given.
    pub label: &'a str,
    /// `-t` targets.
    pub targets: &'a [String],
    /// Configure keys from the command line.
    pub keys: BTreeMap<String, String>,
    /// Bazel's `--setting`s.
    pub settings: &'a [String],
    /// `-o`.
    pub out: Option<&'a Path>,
    /// Runtime arguments after `--`.
    pub runtime_args: &'a [String],
    /// `--source-commit`.
    pub source_commit: Option<String>,
    /// The engine that runs.
    pub engine: &'a str,
}

/// Builds what the request's label names (see [`contents`]) and writes
/// the release and its statement into its output directory; prints the
/// release's path.
pub fn main(ws: &Workspace, cwd: &Path, req: Request) -> Result<i32> {
    let Contents {
        unikernel,
        mut targets,
        runtime_args,
    } = contents(ws, cwd, req.label, req.targets, req.runtime_args)?;
    // Each target once, in the order first given.
    let mut seen = std::collections::BTreeSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    let mut built = Vec::new();
    for target in targets {
        let sel = Selection {
            target: Some(target),
            label: unikernel.clone(),
        };
        let (r, plan) = configure::configure(ws, cwd, &sel, req.keys.clone(), req.settings)?;
        configure::commit(ws, &r, &plan)?;
        let image = crate::build::image::build(ws, &r, &plan.dir, false)?;
        built.push(Built { r, plan, image });
    }
    let run = Run {
        cmdline: &runtime_args.join(" "),
        git_commit: req.source_commit.or_else(|| git_commit(ws)),
        engine: req.engine,
    };
    let release = release(ws, &built, run)?;
    let dir = match req.out {
        Some(dir) => cwd.join(dir),
        None => ws.out_root().join("releases"),
    };
    let path = dir.join(format!("{}.tar.gz", release.name));
    write_atomically(&path, &release.tarball)?;
    write_atomically(
        &dir.join(format!("{}-debug.tar.gz", release.name)),
        &release.debug_tarball,
    )?;
    write_atomically(
        &dir.join(format!("{}.intoto.json", release.name)),
        release.statement.as_bytes(),
    )?;
    println!("{}", relative(cwd, &path));
    Ok(0)
}

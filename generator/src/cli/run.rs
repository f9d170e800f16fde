//! `mirage run`: attach the devices the command line and the BUILD files
//! name, then launch the image through its target's backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::launch::{self, Attachment, LaunchCx};
use crate::model::resource::{Solo5Device, Solo5Kind};
use crate::render::attached_files;
use crate::resolve::Resolved;
use crate::target::Target;
use crate::workspace::Workspace;

/// What `mirage run` runs the image under.
#[derive(Debug, Clone)]
pub enum Under {
    /// Nothing: the image as its target runs it.
    Nothing,
    /// gdb, stopped before it starts (`--gdb`).
    Gdb,
    /// perf, with the flame graph written to this SVG (`--profile`).
    Profile(PathBuf),
}

impl Under {
    /// What `--gdb` and `--profile[=OUT.svg]` ask for `r`, checked
    /// before the image is built: its target must support it. The
    /// profile goes to `NAME-TARGET.svg` in `cwd` unless named.
    pub fn from_flags(
        gdb: bool,
        profile: Option<Option<PathBuf>>,
        cwd: &Path,
        r: &Resolved,
    ) -> Result<Under> {
        match profile {
            Some(out) => {
                launch::profile::check(r.target)?;
                let out =
                    out.unwrap_or_else(|| format!("{}-{}.svg", r.label.name, r.target).into());
                Ok(Under::Profile(cwd.join(out)))
            }
            None if gdb => {
                launch::gdb::check(r.target)?;
                Ok(Under::Gdb)
            }
            None => Ok(Under::Nothing),
        }
    }
}

/// Launches `image` under `under`; returns the unikernel's exit code
/// (gdb's, under gdb).
pub fn main(
    ws: &Workspace,
    r: &Resolved,
    image: &Path,
    attach: &[Attachment],
    runtime_args: &[String],
    under: Under,
) -> Result<i32> {
    let cx = LaunchCx {
        ws,
        r,
        image,
        attach,
        runtime_args,
    };
    let planned = r.target.backend().launch(&cx)?;
    match under {
        Under::Nothing => launch::run(r, &planned, image),
        Under::Gdb => {
            let script = tempfile::Builder::new()
                .prefix("mirage-gdb-")
                .tempfile()
                .map_err(|e| Error::system(format!("create gdb's command file: {e}")))?;
            let (text, under_gdb) =
                launch::gdb::wrap(&planned, r.target, image, &ws.root, script.path())?;
            std::fs::write(script.path(), text)
                .map_err(|e| Error::system(format!("write {}: {e}", script.path().display())))?;
            launch::run(r, &under_gdb, image)
        }
        Under::Profile(svg) => {
            let dir = tempfile::Builder::new()
                .prefix("mirage-perf-")
                .tempdir()
                .map_err(|e| Error::system(format!("create a directory for perf's data: {e}")))?;
            let profile = launch::profile::Profile {
                svg,
                data: dir.path().join("perf.data"),
            };
            let sampled = launch::profile::wrap(&planned, r.target, &profile)?;
            let status = launch::run(r, &sampled, image);
            // The profile is written however the image ended.
            let title = format!("{} on {}", r.label, r.target);
            let samples = launch::profile::write(&profile, image, &title)?;
            eprintln!(
                "mirage: profile: {samples} samples; flame graph {}, folded stacks {}",
                profile.svg.display(),
                profile.folded().display()
            );
            status
        }
    }
}

/// Splits `value` of option `--flag` as `NAME=VALUE`, where NAME must be one
/// of the image's Solo5 devices of `kind` (named `noun` in messages).
fn named_device<'a>(
    flag: &str,
    value: &'a str,
    r: &Resolved,
    devices: &[Solo5Device],
    kind: Solo5Kind,
    noun: &str,
) -> Result<(&'a str, &'a str)> {
    let (name, rest) = value.split_once('=').ok_or_else(|| {
        Error::user(format!(
            "--{flag} {value}: expected NAME={}",
            noun.to_uppercase()
        ))
    })?;
    let names: Vec<&str> = devices
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.name.as_str())
        .collect();
    if !names.contains(&name) {
        let have = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        let what = match kind {
            Solo5Kind::Block => "block",
            Solo5Kind::Net => "network",
        };
        return Err(Error::user(format!(
            "--{flag} {value}: {} has no {what} device `{name}` (it has: {have})",
            r.label
        )));
    }
    Ok((name, rest))
}

/// The tap interfaces given with `--tap NAME=TAP`, checked against the
/// image's network devices; with `offload` (see [`Attachment::offload`]).
pub fn tap_attachments(r: &Resolved, taps: &[String], offload: bool) -> Result<Vec<Attachment>> {
    let devices = r.solo5_devices()?;
    taps.iter()
        .map(|t| {
            let (name, tap) = named_device("tap", t, r, &devices, Solo5Kind::Net, "tap")?;
            Ok(Attachment {
                name: name.to_owned(),
                kind: Solo5Kind::Net,
                path: PathBuf::from(tap),
                offload,
            })
        })
        .collect()
}

/// The files to attach to the image's block devices: `--block-file`
/// overrides, else the files their declarations name. Every file must exist.
pub fn block_attachments(
    ws: &Workspace,
    cwd: &Path,
    r: &Resolved,
    overrides: &[String],
) -> Result<Vec<Attachment>> {
    let devices = r.solo5_devices()?;
    let mut given = BTreeMap::new();
    for o in overrides {
        let (name, path) = named_device("block-file", o, r, &devices, Solo5Kind::Block, "path")?;
        if r.target == Target::Unix {
            return Err(Error::user(
                "--block-file applies to Solo5 targets: a unix image opens the file its BUILD file names",
            ));
        }
        given.insert(name.to_owned(), cwd.join(path));
    }
    let declared = attached_files(ws, r, &devices);
    let mut out = Vec::new();
    for d in devices.iter().filter(|d| d.kind == Solo5Kind::Block) {
        let path = match (given.remove(&d.name), declared.get(&d.name)) {
            (Some(path), _) => path,
            (None, Some(file)) => ws.root.join(file),
            // Not attached: the tender refuses, and `launch` explains.
            (None, None) => continue,
        };
        if !path.is_file() {
            return Err(Error::at(
                &d.loc,
                format!(
                    "block device `{}`: no such file {} (create it, or pass --block-file {}=PATH)",
                    d.name,
                    path.display(),
                    d.name
                ),
            ));
        }
        out.push(Attachment {
            name: d.name.clone(),
            kind: Solo5Kind::Block,
            path,
            offload: false,
        });
    }
    Ok(out)
}

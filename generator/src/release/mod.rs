//! `mirage release`: one deterministic `NAME-VERSION.tar.gz` per
//! unikernel holding, per target, the image and what runs it (run script,
//! Solo5 manifest, xl and libvirt files, generated sources, archives the
//! image reads, an OCI image layout for urunc on hvt, spt and virtio:
//! [`oci`]), and for the whole release `SHA256SUMS`, an SPDX 2.3 SBOM
//! ([`sbom`]), in-toto/SLSA provenance ([`provenance`]) and `buildinfo`
//! (what orb records). Beside it, `NAME-VERSION-debug.tar.gz` holds each
//! image's debug file (`TARGET/dist/IMAGE.debug`, see
//! `build::debug_file`) and a `SHA256SUMS` of its own; the release's
//! `SHA256SUMS` and statement name it too. The same inputs give the same bytes; [`verify`]
//! rebuilds a release and compares.

mod inputs;
mod oci;
pub mod provenance;
pub mod sbom;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::action::{FileKind, Plan};
use crate::archive::{self, Entry};
use crate::build::step::tool;
use crate::error::{Error, IoContext, Result};
use crate::render::files::hex;
use crate::resolve::Resolved;
use crate::target::{Family, Target};
use crate::workspace::Workspace;

/// One target's configured and built output.
pub struct Built {
    /// The resolved configuration.
    pub r: Resolved,
    /// Its committed plan.
    pub plan: Plan,
    /// The image.
    pub image: PathBuf,
}

/// The engine that runs `mirage release` unless told otherwise (Bazel's
/// rule says `bazel`).
pub const ENGINE: &str = "mirage-cli";

/// How a release is made beyond its inputs: what the detached statement
/// records, and what the sandbox cannot find out itself.
pub struct Run<'a> {
    /// Runtime arguments the OCI images start the unikernel with.
    pub cmdline: &'a str,
    /// The git commit of the sources, if known.
    pub git_commit: Option<String>,
    /// The engine that ran, for the detached statement alone: the
    /// tarball is the same bytes from either engine.
    pub engine: &'a str,
}

/// A made release.
pub struct Release {
    /// `NAME-VERSION`.
    pub name: String,
    /// `NAME-VERSION.tar.gz`'s bytes.
    pub tarball: Vec<u8>,
    /// `NAME-VERSION-debug.tar.gz`'s bytes: the images' debug files.
    pub debug_tarball: Vec<u8>,
    /// `NAME-VERSION.intoto.json`: an in-toto statement over the tarball
    /// naming the engine that made it.
    pub statement: String,
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).io_context(|| format!("read {}", path.display()))
}

/// What a command prints, or `unknown`.
fn output_of(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// The files of one target's output that go into the release, by their
/// path there.
fn target_entries(b: &Built) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let target = b.r.target.name();
    for f in &b.plan.files {
        let executable = match f.kind {
            FileKind::Plain | FileKind::Seed => false,
            FileKind::Executable => true,
            // The workspace link and writable disks stay behind.
            FileKind::Symlink | FileKind::Disk(_) => continue,
        };
        entries.push(Entry {
            path: format!("{target}/{}", f.path),
            contents: read(&b.plan.dir.join(&f.path))?,
            executable,
        });
    }
    // Archives the build made for the image to read (--kv_ro=tar).
    let disks = b.plan.dir.join(crate::model::resource::DISKS_DIR);
    if let Ok(dir) = std::fs::read_dir(&disks) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = format!("{}/{name}", crate::model::resource::DISKS_DIR);
            if name.ends_with(".tar") && !b.plan.files.iter().any(|f| f.path == path) {
                entries.push(Entry {
                    path: format!("{target}/{path}"),
                    contents: read(&e.path())?,
                    executable: false,
                });
            }
        }
    }
    let image = b.image.file_name().unwrap_or_default().to_string_lossy();
    entries.push(Entry {
        path: format!("{target}/dist/{image}"),
        contents: read(&b.image)?,
        executable: true,
    });
    Ok(entries)
}

/// The release's name: the unikernel's name and its crate's version.
fn release_name(b: &Built, graph: &sbom::CrateGraph) -> String {
    let own = &b.r.crates[0].package_name;
    let version = graph
        .crates
        .keys()
        .find(|c| &c.name == own)
        .map_or("0.0.0", |c| c.version.as_str());
    format!("{}-{version}", b.r.label.name)
}

/// `SOURCE_DATE_EPOCH` (default 0) as RFC 3339.
fn created() -> Result<String> {
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s.parse::<i64>().map_err(|_| {
            Error::user(format!("SOURCE_DATE_EPOCH={s} is not a number of seconds"))
        })?,
        Err(_) => 0,
    };
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (y, m, d) = mirage_runtime::log::civil_date(days);
    Ok(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

/// What the SBOM and the provenance of `built` are made from.
struct Inputs {
    /// The release's `NAME-VERSION`.
    name: String,
    /// Each target's crate graph.
    graphs: Vec<sbom::CrateGraph>,
    lock: String,
    rustc: String,
    solo5: Option<(&'static str, String)>,
}

fn inputs(ws: &Workspace, built: &[Built]) -> Result<Inputs> {
    let first = built
        .first()
        .ok_or_else(|| Error::user("mirage release: give at least one target"))?;
    let graphs = built
        .iter()
        .map(|b| sbom::crate_graph(&b.plan.dir))
        .collect::<Result<Vec<_>>>()?;
    // The lock every generated crate starts from (and the images record).
    let lock = String::from_utf8_lossy(&read(&ws.home.join("Cargo.lock"))?).into_owned();
    let uses_solo5 = built.iter().any(|b| b.r.target.family() == Family::Solo5);
    let solo5 = match uses_solo5 {
        true => Some((
            mirage_toolchain_solo5::SOLO5_VERSION,
            mirage_toolchain_solo5::pinned_checksum(&lock).map_err(Error::system)?,
        )),
        false => None,
    };
    Ok(Inputs {
        name: release_name(first, &graphs[0]),
        graphs,
        lock,
        rustc: output_of(tool("RUSTC", "rustc"), &["-vV"]),
        solo5,
    })
}

/// Each image's path in the release, sha256, crate graph and whether
/// Solo5 is linked in.
fn images<'a>(
    built: &[Built],
    i: &'a Inputs,
) -> Result<Vec<(String, String, &'a sbom::CrateGraph, bool)>> {
    built
        .iter()
        .zip(&i.graphs)
        .map(|(b, g)| {
            let file = b.image.file_name().unwrap_or_default().to_string_lossy();
            let path = format!("{}/dist/{file}", b.r.target.name());
            Ok((
                path,
                sha256(&read(&b.image)?),
                g,
                b.r.target.family() == Family::Solo5,
            ))
        })
        .collect()
}

fn sbom_document(built: &[Built], i: &Inputs) -> Result<serde_json::Value> {
    Ok(sbom::document(&sbom::Subjects {
        release: &i.name,
        images: images(built, i)?,
        rustc: &i.rustc,
        solo5: i.solo5.clone(),
        lock: &i.lock,
        created: &created()?,
    }))
}

/// The SPDX SBOM of `built` alone (`mirage query sbom`).
pub fn sbom_json(ws: &Workspace, built: &[Built]) -> Result<String> {
    Ok(pretty(&sbom_document(built, &inputs(ws, built)?)?))
}

/// The release of `built` (one per target, same unikernel and keys).
pub fn release(ws: &Workspace, built: &[Built], run: Run) -> Result<Release> {
    let cmdline = run.cmdline;
    let i = inputs(ws, built)?;
    let first = &built[0];
    let name = i.name.clone();
    let mut entries = Vec::new();
    for b in built {
        entries.extend(target_entries(b)?);
    }
    let version = name.rsplit('-').next().unwrap_or_default().to_owned();
    for b in built {
        let file = b.image.file_name().unwrap_or_default().to_string_lossy();
        let bytes = read(&b.image)?;
        if let Some(layout) = oci::layout(b.r.target, (&file, &bytes), cmdline, &version)? {
            entries.push(Entry {
                path: format!("{}/oci.tar", b.r.target.name()),
                contents: layout,
                executable: false,
            });
        }
    }
    let document = sbom_document(built, &i)?;
    let images = images(built, &i)?;
    let tree = inputs::sha256(ws, built)?;
    let facts = provenance::Facts {
        label: first.r.label.to_string(),
        targets: built.iter().map(|b| b.r.target).collect::<Vec<Target>>(),
        keys: first
            .r
            .keys
            .iter()
            .map(|k| (k.name.clone(), k.value.clone()))
            .collect::<BTreeMap<_, _>>(),
        tree,
        lock_sha256: sha256(i.lock.as_bytes()),
        solo5: i.solo5.clone(),
        rustc: i.rustc.clone(),
        cargo: output_of(tool("CARGO", "cargo"), &["-V"]),
        git_commit: run.git_commit,
        cmdline: cmdline.to_owned(),
    };
    let subjects: Vec<(String, String)> = images
        .iter()
        .map(|(p, s, ..)| (p.clone(), s.clone()))
        .collect();
    let mut text = |path: &str, contents: String| {
        entries.push(Entry {
            path: path.into(),
            contents: contents.into_bytes(),
            executable: false,
        })
    };
    text("sbom.spdx.json", pretty(&document));
    text(
        "provenance.json",
        pretty(&provenance::statement(&facts, &subjects, None)),
    );
    text("buildinfo", provenance::buildinfo(&facts));
    let debug_tarball = tar_gz(&format!("{name}-debug"), debug_entries(built)?)?;
    let beside = [(format!("{name}-debug.tar.gz"), sha256(&debug_tarball))];
    let tarball = tar_gz(&name, summed(entries, &beside))?;
    let subjects = [
        (format!("{name}.tar.gz"), sha256(&tarball)),
        (format!("{name}-debug.tar.gz"), sha256(&debug_tarball)),
    ];
    let statement = pretty(&provenance::statement(&facts, &subjects, Some(run.engine)));
    Ok(Release {
        name,
        tarball,
        debug_tarball,
        statement,
    })
}

/// `entries` sorted by path, then their `SHA256SUMS`, which also lists
/// the files `beside` the archive (name, sha256).
fn summed(mut entries: Vec<Entry>, beside: &[(String, String)]) -> Vec<Entry> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut lines: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.path.clone(), sha256(&e.contents)))
        .chain(beside.iter().cloned())
        .collect();
    lines.sort();
    let sums: String = lines
        .iter()
        .map(|(path, sum)| format!("{sum}  {path}\n"))
        .collect();
    entries.push(Entry {
        path: "SHA256SUMS".into(),
        contents: sums.into_bytes(),
        executable: false,
    });
    entries
}

/// The deterministic archive of `entries` under the folder `root`.
fn tar_gz(root: &str, mut entries: Vec<Entry>) -> Result<Vec<u8>> {
    for e in &mut entries {
        e.path = format!("{root}/{}", e.path);
    }
    archive::tar_gz(&mut entries)
}

/// Each image's debug file, at the image's path with `.debug`, and their
/// `SHA256SUMS`.
fn debug_entries(built: &[Built]) -> Result<Vec<Entry>> {
    let entries = built
        .iter()
        .map(|b| {
            let debug = crate::build::debug_file::path(&b.image);
            let file = debug.file_name().unwrap_or_default().to_string_lossy();
            Ok(Entry {
                path: format!("{}/dist/{file}", b.r.target.name()),
                contents: read(&debug)?,
                executable: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(summed(entries, &[]))
}

/// The git commit of the workspace's sources, when it is a git checkout.
pub fn git_commit(ws: &Workspace) -> Option<String> {
    let root = ws.root.to_string_lossy();
    Some(output_of("git", &["-C", &root, "rev-parse", "HEAD"])).filter(|c| c != "unknown")
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values print");
    s.push('\n');
    s
}

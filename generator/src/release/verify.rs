//! `mirage verify`: orb's rebuild for our releases. The workspace is
//! copied into a fresh temporary directory and released again there by
//! this same `mirage` with the recorded label, targets, keys and runtime
//! arguments, into a fresh cargo target directory; the sources' digest
//! must be the recorded one and every file of every target
//! byte-identical.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::workspace::OUT_DIR;

/// A release's files by their path inside it (without `NAME-VERSION/`).
pub fn unpack(tarball: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let bad = |e: std::io::Error| Error::user(format!("mirage verify: not a release tarball: {e}"));
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some((_, inside)) = path.split_once('/') else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(bad)?;
        files.insert(inside.to_owned(), bytes);
    }
    Ok(files)
}

/// What the release records about how it was made.
struct Record {
    label: String,
    targets: Vec<String>,
    keys: BTreeMap<String, String>,
    cmdline: String,
    tree: String,
    buildinfo: String,
}

fn record(files: &BTreeMap<String, Vec<u8>>) -> Result<Record> {
    let missing = |what: &str| Error::user(format!("mirage verify: the release has no {what}"));
    let provenance: Value = serde_json::from_slice(
        files
            .get("provenance.json")
            .ok_or_else(|| missing("provenance.json"))?,
    )
    .map_err(|e| Error::user(format!("mirage verify: provenance.json: {e}")))?;
    let params = &provenance["predicate"]["buildDefinition"]["externalParameters"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Ok(Record {
        label: text(&params["label"]).ok_or_else(|| missing("label in provenance.json"))?,
        targets: params["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(text)
            .collect(),
        keys: params["keys"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
            .collect(),
        cmdline: text(&params["runtimeArgs"]).unwrap_or_default(),
        tree: text(
            &provenance["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]
                ["sha256"],
        )
        .ok_or_else(|| missing("sources digest"))?,
        buildinfo: String::from_utf8_lossy(
            files.get("buildinfo").ok_or_else(|| missing("buildinfo"))?,
        )
        .into_owned(),
    })
}

/// Entries of a workspace's root that are outputs or version control, not
/// source (other hidden files, such as `.cargo/config.toml`, can change a
/// build).
pub fn is_output(name: &str) -> bool {
    name.starts_with("bazel-") || [".git", OUT_DIR, "target"].contains(&name)
}

/// A file of the source tree.
pub struct SourceFile {
    /// Its path from the workspace root, `/`-separated.
    pub path: String,
    /// Its bytes, or where the link points.
    pub kind: SourceKind,
}

/// A regular file's bytes, or a symbolic link's target.
pub enum SourceKind {
    /// A regular file.
    File(Vec<u8>),
    /// A symbolic link.
    Link(std::path::PathBuf),
}

/// The workspace's source files, sorted by path, outputs and `.git` left
/// out.
pub fn source_files(root: &Path) -> Result<Vec<SourceFile>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<SourceFile>) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .io_context(|| format!("read {}", dir.display()))?
            .flatten()
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            if rel.is_empty() && is_output(&name) {
                continue;
            }
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = e.file_type().io_context(|| format!("stat {path}"))?;
            if kind.is_symlink() {
                let to = std::fs::read_link(e.path()).io_context(|| format!("readlink {path}"))?;
                out.push(SourceFile {
                    path,
                    kind: SourceKind::Link(to),
                });
            } else if kind.is_dir() {
                walk(&e.path(), &path, out)?;
            } else {
                let bytes = std::fs::read(e.path()).io_context(|| format!("read {path}"))?;
                out.push(SourceFile {
                    path,
                    kind: SourceKind::File(bytes),
                });
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, "", &mut files)?;
    Ok(files)
}

/// Copies the source tree of `from` to `to`.
fn copy_sources(from: &Path, to: &Path) -> Result<()> {
    for f in source_files(from)? {
        let dest = to.join(&f.path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
        }
        match f.kind {
            SourceKind::File(bytes) => {
                std::fs::write(&dest, bytes).io_context(|| format!("write {}", dest.display()))?;
                let mode = std::fs::metadata(from.join(&f.path))
                    .io_context(|| format!("stat {}", f.path))?
                    .permissions();
                std::fs::set_permissions(&dest, mode).io_context(|| format!("chmod {}", f.path))?;
            }
            SourceKind::Link(target) => std::os::unix::fs::symlink(&target, &dest)
                .io_context(|| format!("link {}", dest.display()))?,
        }
    }
    Ok(())
}

/// The recorded inputs (buildinfo lines) that differ between two releases.
fn differing_inputs(recorded: &str, rebuilt: &str) -> Vec<String> {
    let watched = [
        "keys:",
        "runtime-args:",
        "source-tree-sha256:",
        "cargo-lock-sha256:",
        "solo5:",
        "cargo -V:",
        "  release:",
        "  commit-hash:",
        "  LLVM version:",
    ];
    let find = |text: &str, key: &str| text.lines().find(|l| l.starts_with(key)).map(str::to_owned);
    watched
        .iter()
        .filter_map(|key| {
            let (a, b) = (find(recorded, key), find(rebuilt, key));
            (a != b).then(|| {
                format!(
                    "  {}: recorded {:?}, now {:?}",
                    key.trim().trim_end_matches(':'),
                    a.as_deref().map(|l| l[key.len()..].trim()).unwrap_or("-"),
                    b.as_deref().map(|l| l[key.len()..].trim()).unwrap_or("-")
                )
            })
        })
        .collect()
}

/// The release's files that its own `SHA256SUMS` does not account for:
/// a digest that differs, a file it does not list, a listed file absent
/// (but for the debug files' tarball, which lies beside the release: a
/// rebuild makes it again, and `SHA256SUMS` must then be the same bytes).
fn unaccounted(files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let sums = files
        .get("SHA256SUMS")
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    let listed: BTreeMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(sum, path)| (path, sum)))
        .collect();
    let mut wrong: Vec<String> = files
        .iter()
        .filter(|(name, _)| name.as_str() != "SHA256SUMS")
        .filter(|(name, bytes)| listed.get(name.as_str()) != Some(&super::sha256(bytes).as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    wrong.extend(
        listed
            .keys()
            .filter(|p| !files.contains_key(**p) && !p.ends_with("-debug.tar.gz"))
            .map(|p| p.to_string()),
    );
    wrong
}

/// Verifies `tarball` against the workspace at `source`; returns the
/// exit code (0: every file rebuilt identically) after printing a report.
pub fn verify(tarball: &[u8], source: &Path, home: &Path) -> Result<i32> {
    let files = unpack(tarball)?;
    let rec = record(&files)?;
    let mut ok = true;
    for name in unaccounted(&files) {
        ok = false;
        println!("mirage verify: {name} does not match the release's SHA256SUMS");
    }
    let work = tempfile::Builder::new()
        .prefix("mirage-verify-")
        .tempdir()
        .io_context(|| "create a temporary directory".to_owned())?;
    let copy = work.path().join("src");
    copy_sources(source, &copy)?;
    let mut cmd = Command::new(std::env::current_exe().io_context(|| "find mirage".to_owned())?);
    cmd.arg("release").arg(&rec.label);
    for t in &rec.targets {
        cmd.args(["-t", t]);
    }
    for (k, v) in &rec.keys {
        cmd.arg(format!("--{k}={v}"));
    }
    cmd.arg("-o").arg(work.path().join("out"));
    if !rec.cmdline.is_empty() {
        cmd.arg("--").args(rec.cmdline.split(' '));
    }
    eprintln!(
        "mirage verify: rebuilding {} for {} in a fresh workspace",
        rec.label,
        rec.targets.join(", ")
    );
    let out = cmd
        .current_dir(&copy)
        .env("MIRAGE_HOME", home)
        .env("CARGO_TARGET_DIR", work.path().join("target"))
        .output()
        .io_context(|| "run mirage release".to_owned())?;
    if !out.status.success() {
        return Err(Error::system(format!(
            "mirage verify: the rebuild failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let rebuilt = unpack(&std::fs::read(copy.join(&path)).io_context(|| format!("read {path}"))?)?;
    let now = record(&rebuilt)?;
    if now.tree != rec.tree {
        ok = false;
        println!(
            "mirage verify: the sources differ from the release's: recorded {}, {} has {}",
            rec.tree,
            source.display(),
            now.tree
        );
    }
    let mut compared = 0;
    for (name, bytes) in files.iter().filter(|(n, _)| n.contains('/')) {
        compared += 1;
        match rebuilt.get(name) {
            Some(b) if b == bytes => {}
            Some(_) => {
                ok = false;
                println!("mirage verify: {name} differs");
            }
            None => {
                ok = false;
                println!("mirage verify: {name} was not rebuilt");
            }
        }
    }
    if ok {
        println!(
            "mirage verify: {compared} files of {} rebuilt identically",
            rec.label
        );
        return Ok(0);
    }
    let inputs = differing_inputs(&rec.buildinfo, &now.buildinfo);
    if !inputs.is_empty() {
        println!(
            "mirage verify: recorded inputs that differ now:\n{}",
            inputs.join("\n")
        );
    }
    Ok(1)
}

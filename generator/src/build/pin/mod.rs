//! `mirage pin`: cargo's compiles, recorded (see `record.rs`), as the
//! crate-level plan Bazel executes one action per unit: `mirage.plan.json`
//! at the workspace's root, pinned as Cargo.lock pins versions.
//!
//! A unit is one rustc compile or one build-script run. Its arguments,
//! working directory and environment are cargo's, with every path of this
//! machine made a placeholder that `mirage-unit` (generator/unit/) fills in where
//! it runs:
//! `{workspace}` (the workspace's root), `{crates}` (the crate sources),
//! `{out}` (the unit's own output directory), `{unit:ID}` (another unit's),
//! `{deps}` (one `-L dependency=` per unit it reads), `{gen}` (a directory
//! whose `workspace` is the workspace's root: the place cargo compiles
//! path crates from), `{rustc}`, `{rustdoc}`, `{cargo}`. Cargo's
//! `-C extra-filename` becomes the unit's id, a digest of the unit with
//! its dependencies' ids, so the plan names nothing of this machine and a
//! unit shared by images (every crate below the generated one) is there
//! once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
pub use fresh::{sha256_file, stale, stale_error};

mod fresh;
use crate::build::record::{cargo_sets, read_records, Record};
use crate::workspace::Workspace;

/// The plan's file, at the workspace's root.
pub use mirage_unit::PLAN_FILE;

/// An image being pinned: its unikernel, target, generated crate
/// directory and the sha256 of its generated Cargo.toml.
pub struct Image {
    /// The unikernel's label.
    pub label: String,
    /// The target's name.
    pub target: String,
    /// The generated crate's directory.
    pub dir: PathBuf,
    /// sha256 of the generated Cargo.toml.
    pub cargo_toml: String,
}

/// The records of one pinning, indexed by what names them in paths.
struct Index<'a> {
    records: &'a [Record],
    /// `T/release/`, the records' target directory.
    release: String,
    /// A compile's `CRATE-EXTRA` (its files' stem) to its record.
    stems: BTreeMap<String, usize>,
    /// A build directory (`T/release/build/PKG-HASH`) to the record of the
    /// script compile or run that writes it.
    build_dirs: BTreeMap<String, usize>,
    /// Fixed prefixes and their placeholders, longest first.
    prefixes: Vec<(String, String)>,
}

impl<'a> Index<'a> {
    fn new(records: &'a [Record], target_dir: &Path, prefixes: Vec<(String, String)>) -> Self {
        let release = format!("{}/release/", target_dir.display());
        let mut stems = BTreeMap::new();
        let mut build_dirs = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            if r.script.is_some() {
                if let Some(dir) = r.env.get("OUT_DIR").and_then(|o| o.strip_suffix("/out")) {
                    build_dirs.insert(dir.to_owned(), i);
                }
                continue;
            }
            let crate_name = r.value("--crate-name").unwrap_or_default();
            stems.insert(format!("{crate_name}{}", r.extra()), i);
            if let Some(out) = r
                .value("--out-dir")
                .filter(|o| o.contains("/release/build/"))
            {
                build_dirs.insert(out.to_owned(), i);
            }
        }
        let mut prefixes = prefixes;
        prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Index {
            records,
            release,
            stems,
            build_dirs,
            prefixes,
        }
    }

    /// `s` with the target directory's paths made unit references (noted
    /// in `refs`) and the fixed prefixes made placeholders.
    fn normalize(&self, s: &str, refs: &mut BTreeSet<usize>) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find(&self.release) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + self.release.len()..];
            let end = tail
                .find(|c: char| " \x1f:,\"'=".contains(c))
                .unwrap_or(tail.len());
            out.push_str(&self.reference(&tail[..end], refs));
            rest = &tail[end..];
        }
        out.push_str(rest);
        for (prefix, placeholder) in &self.prefixes {
            out = out.replace(prefix.as_str(), placeholder);
        }
        out
    }

    /// A path under `T/release/` as a unit reference.
    fn reference(&self, path: &str, refs: &mut BTreeSet<usize>) -> String {
        if path == "deps" {
            return "{deps}".to_owned();
        }
        if let Some(file) = path.strip_prefix("deps/") {
            let bare = file.strip_prefix("lib").unwrap_or(file);
            let stem = bare.split('.').next().unwrap_or(bare);
            if let Some(&i) = self.stems.get(stem) {
                refs.insert(i);
                let extra = self.records[i].extra();
                return format!(
                    "{{unit:{i}}}/{}",
                    file.replacen(extra, &format!("{{extra:{i}}}"), 1)
                );
            }
        }
        let mut parts = path.splitn(3, '/');
        let (top, dir, rest) = (parts.next(), parts.next(), parts.next());
        if let (Some("build"), Some(dir)) = (top, dir) {
            let key = format!("{}build/{dir}", self.release);
            if let Some(&i) = self.build_dirs.get(&key) {
                refs.insert(i);
                let rest = rest.map(|r| {
                    let extra = self.records[i].extra();
                    let r = r.strip_suffix(".real").unwrap_or(r);
                    if extra.is_empty() {
                        r.to_owned()
                    } else {
                        r.replacen(extra, &format!("{{extra:{i}}}"), 1)
                    }
                });
                return match rest {
                    Some(r) => format!("{{unit:{i}}}/{r}"),
                    None => format!("{{unit:{i}}}"),
                };
            }
        }
        format!("{}{path}", self.release)
    }
}

/// One unit, normalized, with references to others by index.
pub(crate) struct Unit {
    kind: &'static str,
    package: String,
    version: String,
    /// `crates/NAME-VERSION` or the path crate's directory in the workspace.
    pub(crate) source: String,
    cwd: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    pub(crate) refs: BTreeSet<usize>,
}

/// Build-script output lines that set a compile's environment.
fn script_env_keys(target_dir: &Path) -> BTreeSet<String> {
    let build = target_dir.join("release/build");
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(build).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path().join("output")).unwrap_or_default();
        for line in text.lines() {
            let kv = line
                .strip_prefix("cargo::rustc-env=")
                .or_else(|| line.strip_prefix("cargo:rustc-env="));
            if let Some((k, _)) = kv.and_then(|kv| kv.split_once('=')) {
                keys.insert(k.to_owned());
            }
        }
    }
    keys
}

fn unit(index: &Index, i: usize, script_env: &BTreeSet<String>, images: &[Image]) -> Unit {
    let r = &index.records[i];
    let mut refs = BTreeSet::new();
    let keep = |k: &str| {
        (cargo_sets(k) && k != "CARGO_TARGET_DIR")
            || script_env.contains(k)
            || (r.script.is_some() && ["CC", "CFLAGS", "AR"].iter().any(|p| k.starts_with(p)))
    };
    let env: BTreeMap<String, String> = r
        .env
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), index.normalize(v, &mut refs)))
        .collect();
    let mut args = Vec::new();
    let mut after_out_dir = false;
    for a in &r.args {
        let n = if after_out_dir {
            "{out}".to_owned()
        } else if a.starts_with("extra-filename=") {
            format!("extra-filename={{extra:{i}}}")
        } else {
            index.normalize(a, &mut refs)
        };
        after_out_dir = a == "--out-dir";
        // Several registries remap alike: once is enough.
        if !(n.starts_with("--remap-path-prefix={crates}") && args.contains(&n)) {
            args.push(n);
        }
    }
    let manifest_dir = r.env.get("CARGO_MANIFEST_DIR").cloned().unwrap_or_default();
    let mut ignore = BTreeSet::new();
    let source = index.normalize(&manifest_dir, &mut ignore);
    let in_image = images.iter().any(|im| Path::new(&r.cwd) == im.dir);
    let cwd = if in_image && source.starts_with("{workspace}/mirage-out") {
        source.clone()
    } else if in_image {
        "{gen}".to_owned()
    } else {
        index.normalize(&r.cwd, &mut ignore)
    };
    // A run's one "argument" is the script it runs.
    if let Some(script) = &r.script {
        args = vec![index.normalize(script, &mut refs)];
    }
    refs.remove(&i);
    let self_ref = format!("{{unit:{i}}}");
    let own = |s: String| s.replace(&self_ref, "{out}");
    Unit {
        kind: if r.script.is_some() { "run" } else { "compile" },
        package: r.env.get("CARGO_PKG_NAME").cloned().unwrap_or_default(),
        version: r.env.get("CARGO_PKG_VERSION").cloned().unwrap_or_default(),
        source: source
            .strip_prefix("{workspace}/")
            .map(str::to_owned)
            .unwrap_or_else(|| source.replace("{crates}", "crates")),
        cwd,
        args: args.into_iter().map(own).collect(),
        env: env
            .into_iter()
            .map(|(k, v): (String, String)| (k, own(v)))
            .collect(),
        refs,
    }
}

/// `s` with index references (`{unit:I}`, `{extra:I}`) made ids, in one
/// pass; a reference to a unit with no id yet stays as it is.
fn with_ids(s: &str, ids: &BTreeMap<usize, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let made = tail.find('}').and_then(|close| {
            let (name, index) = tail[1..close].split_once(':')?;
            let id = ids.get(&index.parse::<usize>().ok()?)?;
            let text = match name {
                "unit" => format!("{{unit:{id}}}"),
                "extra" => format!("-{id}"),
                _ => return None,
            };
            Some((text, close + 1))
        });
        let taken = match made {
            Some((text, taken)) => {
                out.push_str(&text);
                taken
            }
            None => {
                out.push('{');
                1
            }
        };
        rest = &tail[taken..];
    }
    out.push_str(rest);
    out
}

fn unit_json(u: &Unit, i: usize, ids: &BTreeMap<usize, String>) -> Value {
    // Before its id is known, a unit names its own files alike wherever
    // it is in the records.
    let extra = ids
        .get(&i)
        .map_or_else(|| "{extra:self}".to_owned(), |id| format!("-{id}"));
    let own = |s: &String| with_ids(s, ids).replace(&format!("{{extra:{i}}}"), &extra);
    json!({
        "kind": u.kind,
        "package": u.package,
        "version": u.version,
        "source": u.source,
        "cwd": own(&u.cwd),
        "args": u.args.iter().map(own).collect::<Vec<_>>(),
        "env": u.env.iter().map(|(k, v)| (k.clone(), own(v))).collect::<BTreeMap<_, _>>(),
        "deps": u.refs.iter().map(|r| ids[r].clone()).collect::<BTreeSet<_>>(),
    })
}

/// The plan of the records in `records`, made by cargo into `target_dir`
/// while building `images`.
pub fn plan(ws: &Workspace, records: &Path, target_dir: &Path, images: &[Image]) -> Result<Value> {
    let records = read_records(records)?;
    let mut prefixes: Vec<(String, String)> = images
        .iter()
        .map(|im| {
            (
                format!("{}/workspace", im.dir.display()),
                "{workspace}".to_owned(),
            )
        })
        .collect();
    prefixes.push((ws.root.display().to_string(), "{workspace}".to_owned()));
    for dir in crate::build::cargo::crate_source_dirs() {
        prefixes.push((dir.display().to_string(), "{crates}".to_owned()));
    }
    for (tool, placeholder) in [
        ("CARGO", "{cargo}"),
        ("RUSTC", "{rustc}"),
        ("RUSTDOC", "{rustdoc}"),
    ] {
        if let Some(path) = records.iter().find_map(|r| r.env.get(tool)) {
            prefixes.push((path.clone(), placeholder.to_owned()));
        }
    }
    let index = Index::new(&records, target_dir, prefixes);
    let script_env = script_env_keys(target_dir);
    let units: Vec<Unit> = (0..records.len())
        .map(|i| unit(&index, i, &script_env, images))
        .collect();
    // Ids in dependency order: a unit's id covers its dependencies' ids.
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    while ids.len() < units.len() {
        let before = ids.len();
        for (i, u) in units.iter().enumerate() {
            if ids.contains_key(&i) || !u.refs.iter().all(|r| ids.contains_key(r)) {
                continue;
            }
            let text = serde_json::to_string(&unit_json(u, i, &ids)).unwrap_or_default();
            ids.insert(
                i,
                crate::render::files::hex(&Sha256::digest(text.as_bytes())[..8]),
            );
        }
        if ids.len() == before {
            return Err(Error::system(
                "the recorded compiles refer to each other in a cycle",
            ));
        }
    }
    let finals: BTreeMap<usize, &Image> = units
        .iter()
        .enumerate()
        .filter_map(|(i, _)| {
            let r = &records[i];
            let image = images.iter().find(|im| Path::new(&r.cwd) == im.dir)?;
            (r.env.contains_key("CARGO_PRIMARY_PACKAGE") && r.script.is_none())
                .then_some((i, image))
        })
        .collect();
    let mut shared = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        if !finals.contains_key(&i) {
            shared.insert(ids[&i].clone(), unit_json(u, i, &ids));
        }
    }
    let mut pinned = Vec::new();
    for (&i, image) in &finals {
        pinned.push(json!({
            "label": image.label,
            "target": image.target,
            "cargo_toml": image.cargo_toml,
            "inputs": fresh::manifests(ws, &units, i)?,
            "unit": unit_json(&units[i], i, &ids),
        }));
    }
    pinned.sort_by_key(|v| (v["label"].to_string(), v["target"].to_string()));
    if pinned.len() != images.len() {
        return Err(Error::system(format!(
            "recorded {} of {} images' own compiles",
            pinned.len(),
            images.len()
        )));
    }
    Ok(json!({"format": 1, "units": shared, "images": pinned}))
}

#[cfg(test)]
mod tests;

//! The crate-level build plan of a configured unikernel (`mirage query
//! plan`): every crate compiled for its image, with what one compiler
//! invocation needs (edition, crate types, root source, enabled features,
//! dependencies under their extern names, build script, proc-macro), the
//! flags every compile shares (the release profile of the generated
//! Cargo.toml, the remapping), and the target's link steps. Read from
//! `cargo tree` (which crates, with which features: cargo's own feature
//! resolver) and `cargo metadata` (the rest) of the generated crate,
//! without building.
//!
//! Deterministic and free of this machine's paths: crates are sorted,
//! registry crates are `crates/NAME-VERSION` (as images remap them), and
//! the workspace, rules_mirage, the cargo target directory and the caches
//! are `$WORKSPACE`, `$RULES_MIRAGE`, `$TARGET` and `$CACHE` (crate
//! sources `$CRATES`, the link steps' scratch directory `$SCRATCH`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::action::Plan;
use crate::error::{Error, Result};
use crate::resolve::Resolved;
use crate::workspace::Workspace;

/// The plan of `r`, configured into `plan` (committed), as JSON.
pub fn plan_json(ws: &Workspace, r: &Resolved, plan: &Plan) -> Result<String> {
    crate::build::lockfile::check(ws)?;
    let meta = crate::build::cargo_meta::metadata(&plan.dir, false)?;
    let (steps, _) = crate::build::image::plan(ws, r, &plan.dir)?;
    // The link steps' scratch directory is named after the process.
    let scratch = steps.iter().find_map(|s| match s {
        crate::build::step::Step::Scratch(dir) => Some(dir.display().to_string()),
        _ => None,
    });
    let names = Names::new(ws, scratch);
    let link: Vec<String> = steps
        .iter()
        .filter(|s| !matches!(s, crate::build::step::Step::Cargo { .. }))
        .map(|s| names.hide(&s.show()))
        .collect();
    let cargo_toml = plan
        .file("Cargo.toml")
        .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
        .unwrap_or_default();
    let rustflags: Vec<String> = crate::build::cargo::all_rustflags(ws)
        .iter()
        .map(|f| names.hide(f))
        .collect();
    let out = json!({
        "label": r.label.to_string(),
        "target": r.target.name(),
        "profile": release_profile(&cargo_toml),
        "rustflags": rustflags,
        "crates": crates(&meta, &plan.dir, &names)?,
        "link": link,
    });
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    ))
}

/// The `[profile.release]` settings of the generated Cargo.toml.
fn release_profile(cargo_toml: &str) -> BTreeMap<String, String> {
    cargo_toml
        .lines()
        .skip_while(|l| l.trim() != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// What cargo compiles, as its feature resolver decides (`cargo tree`:
/// `cargo metadata` unifies features over every target and kind, so it
/// lists crates no build compiles): `"NAME VERSION"` to its features, and
/// the dependency edges.
type Compiled = (BTreeMap<String, Vec<String>>, BTreeSet<(String, String)>);

fn compiled(dir: &Path) -> Result<Compiled> {
    let out = Command::new(crate::build::step::tool("CARGO", "cargo"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "depth",
        ])
        .args([
            "--target",
            "x86_64-unknown-linux-gnu",
            "--format",
            "{p}|{f}",
        ])
        .current_dir(dir)
        .output()
        .map_err(|e| Error::system(format!("cargo tree: {e}")))?;
    if !out.status.success() {
        return Err(Error::system(format!(
            "cargo tree in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let (mut crates, mut edges) = (BTreeMap::new(), BTreeSet::new());
    let mut parents: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let depth_len = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let Ok(depth) = line[..depth_len].parse::<usize>() else {
            continue;
        };
        let Some((package, features)) = line[depth_len..].split_once('|') else {
            continue;
        };
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let key = format!("{name} {}", version.trim_start_matches('v'));
        let features = features.trim_end_matches(" (*)").trim();
        let features = features
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        parents.truncate(depth);
        if let Some(parent) = parents.last() {
            edges.insert((parent.clone(), key.clone()));
        }
        parents.push(key.clone());
        crates.insert(key, features);
    }
    Ok((crates, edges))
}

/// Every crate cargo compiles for the generated crate in `dir` (build
/// scripts' and proc-macros' too), sorted by name and version.
fn crates(meta: &Value, dir: &Path, names: &Names) -> Result<Vec<Value>> {
    let key = |p: &Value| {
        format!(
            "{} {}",
            p["name"].as_str().unwrap_or_default(),
            p["version"].as_str().unwrap_or_default()
        )
    };
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["id"].as_str().unwrap_or_default(), p))
        .collect();
    let by_key: BTreeMap<String, (&str, &Value)> =
        packages.iter().map(|(id, p)| (key(p), (*id, *p))).collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["id"].as_str().unwrap_or_default(), n))
        .collect();
    let (compiled, edges) = compiled(dir)?;
    let mut out = Vec::new();
    for (k, features) in &compiled {
        let Some(&(id, p)) = by_key.get(k) else {
            return Err(Error::system(format!(
                "cargo tree lists {k}, cargo metadata does not"
            )));
        };
        // Extern names and kinds of the edges cargo tree shows.
        let deps: Vec<Value> = nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let to = key(packages.get(d["pkg"].as_str()?)?);
                edges.contains(&(k.clone(), to.clone())).then(|| {
                    let kinds: Vec<&str> = d["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|k| match k["kind"].as_str() {
                            None => Some("normal"),
                            Some("build") => Some("build"),
                            Some(_) => None,
                        })
                        .collect();
                    json!({"crate": to, "extern": d["name"], "kinds": kinds})
                })
            })
            .collect();
        let manifest_dir = Path::new(p["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .unwrap_or(Path::new(""));
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        let kind_is = |t: &Value, k: &str| {
            t["kind"]
                .as_array()
                .is_some_and(|ks| ks.iter().any(|x| x == k))
        };
        let lib = targets.iter().find(|t| {
            ["lib", "rlib", "staticlib", "proc-macro"]
                .iter()
                .any(|k| kind_is(t, k))
        });
        let build_script = targets
            .iter()
            .find(|t| kind_is(t, "custom-build"))
            .and_then(|t| t["src_path"].as_str())
            .map(|s| relative_to(Path::new(s), manifest_dir));
        let registry = p["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("registry+"));
        let place = if registry {
            format!("crates/{}", k.replace(' ', "-"))
        } else {
            names.hide(&manifest_dir.display().to_string())
        };
        out.push(json!({
            "name": p["name"],
            "version": p["version"],
            "source": if registry { "registry" } else { "path" },
            "dir": place,
            "edition": p["edition"],
            "lib_name": lib.map(|t| t["name"].clone()),
            "crate_types": lib.map(|t| t["crate_types"].clone()),
            "root": lib.and_then(|t| t["src_path"].as_str()).map(|s| relative_to(Path::new(s), manifest_dir)),
            "proc_macro": lib.is_some_and(|t| kind_is(t, "proc-macro")),
            "build_script": build_script,
            "links": p["links"],
            "features": features,
            "deps": deps,
        }));
    }
    Ok(out)
}

fn relative_to(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

/// This machine's directories and the names the plan shows for them.
struct Names(Vec<(String, &'static str)>);

impl Names {
    fn new(ws: &Workspace, scratch: Option<String>) -> Names {
        let mut names: Vec<(String, &'static str)> = crate::build::cargo::crate_source_dirs()
            .iter()
            .map(|d| (d.display().to_string(), "$CRATES"))
            .collect();
        names.extend([
            (
                crate::build::cargo::target_dir(ws).display().to_string(),
                "$TARGET",
            ),
            (
                mirage_toolchain_solo5::cache_root().display().to_string(),
                "$CACHE",
            ),
            (ws.root.display().to_string(), "$WORKSPACE"),
            (ws.home.display().to_string(), "$RULES_MIRAGE"),
        ]);
        names.extend(scratch.map(|s| (s, "$SCRATCH")));
        // Longest first: a directory inside another keeps its own name.
        names.sort_by_key(|(dir, _)| std::cmp::Reverse(dir.len()));
        Names(names)
    }

    fn hide(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, (dir, name)| {
            t.replace(dir.as_str(), name)
        })
    }
}

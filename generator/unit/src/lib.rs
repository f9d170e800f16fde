//! One unit of the pinned plan (`mirage.plan.json`, written by the
//! generator's `build/pin/`), run where it is executed: a compile runs
//! rustc, a run runs its build script, each with the placeholders of the
//! plan filled in with this place's paths.
//!
//! A compile whose crate has a build script takes the script's run
//! output as cargo does: its `rustc-env` values are set (a path into the
//! run's OUT_DIR pointing to where that directory is now), and a
//! `rustc-cfg` the plan does not pass means the plan is stale.
//!
//! It is a crate of its own, beside the generator and not part of it:
//! Bazel runs every unit with this crate's binary (`mirage-unit`), so an
//! edit to the generator leaves every unit's inputs, and its cached
//! output, as they were. The generator runs an image's last unit with it
//! too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use std::fmt;

/// The plan, at the workspace's root.
pub const PLAN_FILE: &str = "mirage.plan.json";

/// The symbolic link, in the output directory, to the workspace root.
///
/// Cargo derives a path dependency's `-C metadata`, and so rustc's symbol
/// hashes and code layout, from its path: relative when it lies inside the
/// building workspace, absolute otherwise. Reaching the workspace's crates
/// through this link keeps them inside, so two checkouts build identical
/// images. A separate rules_mirage checkout is named by its real path, as
/// users' own Cargo manifests name it. A compile in a directory holding
/// it (a generated crate's) records that directory as `.`.
pub const WORKSPACE_LINK: &str = "workspace";

/// Why a unit did not run.
#[derive(Debug)]
pub enum Error {
    /// Bad input: a stale plan (the user runs `mirage pin`) or a bad flag.
    User(String),
    /// The machine or a tool failed (I/O, rustc, a build script).
    System(String),
}

impl Error {
    fn system(message: impl Into<String>) -> Self {
        Error::System(message.into())
    }

    fn user(message: impl Into<String>) -> Self {
        Error::User(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::User(m) | Error::System(m) => f.write_str(m),
        }
    }
}

/// Results of running a unit.
pub type Result<T> = std::result::Result<T, Error>;

/// The one message for a plan that no longer pins what is built: `what`
/// says what changed.
pub fn stale_message(what: &str) -> String {
    format!("{PLAN_FILE} is stale ({what}): run `mirage pin` to record it again")
}

/// The paths the placeholders of a unit stand for.
pub struct Places {
    /// `{workspace}`: the workspace's root.
    pub workspace: PathBuf,
    /// `{crates}`: the crate sources, one `NAME-VERSION` directory each.
    pub crates: PathBuf,
    /// `{out}`: the unit's own output directory.
    pub out: PathBuf,
    /// `{unit:ID}`: the output directories of the units it reads.
    pub units: BTreeMap<String, PathBuf>,
    /// `{rustc}`.
    pub rustc: PathBuf,
}

impl Places {
    /// Where a unit runs: this directory is the workspace's root, the crates
    /// are `$MIRAGE_CRATES`, rustc is `$RUSTC`; `deps` are `ID=DIR`.
    pub fn here(out: &Path, deps: &[String]) -> Result<Places> {
        let here = std::env::current_dir().map_err(|e| Error::system(format!("cwd: {e}")))?;
        let abs = |p: PathBuf| if p.is_absolute() { p } else { here.join(p) };
        let env = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .ok_or_else(|| Error::system(format!("${name} is not set")))
        };
        let mut units = BTreeMap::new();
        for dep in deps {
            let (id, dir) = dep
                .split_once('=')
                .ok_or_else(|| Error::user(format!("mirage-unit: --dep {dep}: expected ID=DIR")))?;
            units.insert(id.to_owned(), abs(PathBuf::from(dir)));
        }
        Ok(Places {
            workspace: here.clone(),
            crates: abs(env("MIRAGE_CRATES")?),
            out: abs(out.to_path_buf()),
            units,
            rustc: abs(env("RUSTC")?),
        })
    }

    fn fill(&self, s: &str) -> String {
        let mut out = s
            .replace("{workspace}", &self.workspace.display().to_string())
            .replace("{crates}", &self.crates.display().to_string())
            .replace("{out}", &self.out.display().to_string())
            .replace("{rustc}", &self.rustc.display().to_string())
            .replace(
                "{rustdoc}",
                &self.rustc.with_file_name("rustdoc").display().to_string(),
            )
            .replace(
                "{cargo}",
                &self.rustc.with_file_name("cargo").display().to_string(),
            );
        for (id, dir) in &self.units {
            out = out.replace(&format!("{{unit:{id}}}"), &dir.display().to_string());
        }
        out
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// Runs `unit` (a unit of the plan) at `places`.
pub fn run(unit: &Value, places: &Places) -> Result<()> {
    let package = unit["package"].as_str().unwrap_or_default();
    let mut env: BTreeMap<String, String> = unit["env"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), places.fill(v.as_str().unwrap_or_default())))
        .collect();
    std::fs::create_dir_all(&places.out).map_err(|e| io(&places.out, e))?;
    // Path crates compile from the generated crate's directory, where
    // `workspace` is the workspace's root: a stand-in gives the same paths.
    let scratch = tempfile::tempdir().map_err(|e| Error::system(format!("scratch: {e}")))?;
    let cwd = match unit["cwd"].as_str().unwrap_or_default() {
        "{gen}" => {
            std::os::unix::fs::symlink(&places.workspace, scratch.path().join(WORKSPACE_LINK))
                .map_err(|e| io(scratch.path(), e))?;
            scratch.path().to_path_buf()
        }
        cwd => PathBuf::from(places.fill(cwd)),
    };
    let args = strings(&unit["args"]);
    if unit["kind"] == "run" {
        let script = places.fill(&args[0]);
        std::fs::create_dir_all(places.out.join("out")).map_err(|e| io(&places.out, e))?;
        let out = Command::new(&script)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(&env)
            .current_dir(&cwd)
            .output()
            .map_err(|e| Error::system(format!("run {script}: {e}")))?;
        // Kept relative to the run's directory: the compile reading it may
        // run in another sandbox, and outputs hold no absolute path.
        let output = String::from_utf8_lossy(&out.stdout)
            .replace(&places.out.display().to_string(), RUN_DIR);
        std::fs::write(places.out.join("output"), output).map_err(|e| io(&places.out, e))?;
        if !out.status.success() {
            return Err(Error::system(format!(
                "the build script of {package} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        return Ok(());
    }
    let mut filled = Vec::new();
    for a in &args {
        if a == "dependency={deps}" {
            filled.pop();
            for dir in places.units.values() {
                filled.push("-L".to_owned());
                filled.push(format!("dependency={}", dir.display()));
            }
        } else {
            filled.push(places.fill(a));
            // rustc records its directory as getcwd(2) gives it, with links
            // resolved (Bazel's external/ is one): remapped alike, the debug
            // info names no path of this machine.
            if let Some(real) = resolved_remap(filled.last().expect("pushed")) {
                filled.push(real);
            }
        }
    }
    filled.extend(own_directory_remaps(&cwd));
    if let Some(run) = own_run(unit, places) {
        apply_script_output(package, &run, &filled, &mut env)?;
    }
    let out = Command::new(&places.rustc)
        .args(&filled)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&env)
        .current_dir(&cwd)
        .output()
        .map_err(|e| Error::system(format!("run {}: {e}", places.rustc.display())))?;
    if !out.status.success() {
        return Err(Error::system(format!(
            "rustc failed to compile {package}:\n{}",
            rendered(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    Ok(())
}

/// The remappings naming `cwd` `.` when it is a generated crate's
/// directory (or its stand-in), links resolved too: DWARF's comp_dir of
/// a compile there, alike from the CLI's rustc wrapper and this runner.
pub fn own_directory_remaps(cwd: &Path) -> Vec<String> {
    if !cwd.join(WORKSPACE_LINK).is_symlink() {
        return Vec::new();
    }
    let own = format!("--remap-path-prefix={}=.", cwd.display());
    let real = resolved_remap(&own);
    std::iter::once(own).chain(real).collect()
}

/// For `--remap-path-prefix=FROM=TO` whose FROM passes through a link, the
/// same remapping of the path the link leads to: rustc records its
/// directory as getcwd(2) gives it, with links resolved.
pub fn resolved_remap(arg: &str) -> Option<String> {
    let (from, to) = arg.strip_prefix("--remap-path-prefix=")?.split_once('=')?;
    let real = std::fs::canonicalize(from).ok()?;
    (real != Path::new(from)).then(|| format!("--remap-path-prefix={}={to}", real.display()))
}

/// What a run's recorded output says for the run's own directory (a
/// `rustc-env` value may name a file in its OUT_DIR).
const RUN_DIR: &str = "{run}";

/// The output directory of the build-script run `unit` reads (its OUT_DIR's).
fn own_run(unit: &Value, places: &Places) -> Option<PathBuf> {
    let out_dir = unit["env"]["OUT_DIR"].as_str()?;
    let id = out_dir.strip_prefix("{unit:")?.split('}').next()?;
    places.units.get(id).cloned()
}

/// Checks a run's cfgs against the compile's arguments and sets its
/// `rustc-env` values.
fn apply_script_output(
    package: &str,
    run: &Path,
    args: &[String],
    env: &mut BTreeMap<String, String>,
) -> Result<()> {
    let output = std::fs::read_to_string(run.join("output")).map_err(|e| io(run, e))?;
    for line in output.lines() {
        let Some(directive) = line
            .strip_prefix("cargo::")
            .or_else(|| line.strip_prefix("cargo:"))
        else {
            continue;
        };
        if let Some(cfg) = directive.strip_prefix("rustc-cfg=") {
            let given = args.windows(2).any(|w| w[0] == "--cfg" && w[1] == cfg);
            if !given {
                return Err(Error::User(stale_message(&format!(
                    "the build script of {package} now sets cfg `{cfg}`"
                ))));
            }
        } else if let Some((k, v)) = directive
            .strip_prefix("rustc-env=")
            .and_then(|kv| kv.split_once('='))
        {
            env.insert(k.to_owned(), v.replace(RUN_DIR, &run.display().to_string()));
        }
    }
    Ok(())
}

/// rustc's JSON diagnostics as it would have printed them.
fn rendered(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(v) => v["rendered"].as_str().unwrap_or_default().to_owned(),
            Err(_) => format!("{line}\n"),
        })
        .collect()
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::system(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_output_path_points_where_the_run_is_now() {
        let run = tempfile::tempdir().unwrap();
        std::fs::write(
            run.path().join("output"),
            "cargo:rustc-env=TABLE={run}/out/table.rs\ncargo::rustc-env=PLAIN=a=b\n",
        )
        .unwrap();
        let mut env = BTreeMap::new();
        apply_script_output("p", run.path(), &[], &mut env).unwrap();
        let table = format!("{}/out/table.rs", run.path().display());
        assert_eq!(env["TABLE"], table);
        assert_eq!(env["PLAIN"], "a=b");
    }

    #[test]
    fn a_cfg_the_plan_does_not_pass_is_stale() {
        let run = tempfile::tempdir().unwrap();
        std::fs::write(run.path().join("output"), "cargo:rustc-cfg=new\n").unwrap();
        let given = ["--cfg".to_owned(), "old".to_owned()];
        let e = apply_script_output("p", run.path(), &given, &mut BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("now sets cfg `new`"), "{e}");
    }
}

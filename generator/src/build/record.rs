//! Recording cargo's compiles for `mirage pin`.
//!
//! With [`RECORD_ENV`] naming a directory, the rustc wrapper writes each
//! compile it runs there (arguments, working directory, the environment
//! cargo gives rustc) as one JSON file, and puts a recorder in front of
//! each build script it compiles, which writes the script's run (its
//! environment and working directory) the same way before running it.
//! The records are this machine's paths; `pin.rs` makes them a plan.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// Names the directory records go to.
pub const RECORD_ENV: &str = "MIRAGE_RUSTC_RECORD";

/// Variables of a compile's or a script run's environment that cargo
/// sets (the rest, CARGO_HOME or a test's CARGO_BIN_EXE_* included, is
/// the caller's).
pub fn cargo_sets(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO",
        "CARGO_CRATE_NAME",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BIN_NAME",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_LINKER",
    ];
    const PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "DEP_"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

fn environment() -> Value {
    let env: std::collections::BTreeMap<String, String> =
        std::env::vars().filter(|(k, _)| cargo_sets(k)).collect();
    json!(env)
}

fn write(dir: &Path, kind: &str, record: Value) -> std::io::Result<()> {
    let name = format!("{kind}-{}-{}.json", std::process::id(), unique());
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(&record)?)
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Runs `cmd` (rustc with `args`), records the compile, and when it built a
/// build script, puts the recorder in front of the script.
pub fn compile(dir: &Path, mut cmd: Command, args: &[String]) -> i32 {
    let code = match cmd.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("mirage: error: run rustc: {e}");
            return 1;
        }
    };
    // Only compiles: cargo's probes (`-vV`, `- --print ...` on stdin) and
    // a build script's own `$RUSTC_WRAPPER $RUSTC --version` compile nothing.
    let compiles =
        args.first().is_some_and(|a| a != "-") && args.iter().any(|a| a == "--crate-name");
    if code != 0 || !compiles {
        return code;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let record = json!({"cwd": cwd, "args": args, "env": environment()});
    if let Err(e) = write(dir, "compile", record) {
        eprintln!("mirage: error: record a compile in {}: {e}", dir.display());
        return 1;
    }
    if let Some(script) = build_script(args) {
        if let Err(e) = front(&script) {
            eprintln!("mirage: error: record {}: {e}", script.display());
            return 1;
        }
    }
    0
}

/// The executable a build-script compile writes.
fn build_script(args: &[String]) -> Option<PathBuf> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if value("--crate-name")? != "build_script_build" {
        return None;
    }
    let extra = args
        .iter()
        .find_map(|a| a.strip_prefix("extra-filename="))
        .unwrap_or_default();
    Some(PathBuf::from(value("--out-dir")?).join(format!("build_script_build{extra}")))
}

/// Moves the script aside and puts this program, in recording mode, in
/// its place.
fn front(script: &Path) -> std::io::Result<()> {
    let real = script.with_extension("real");
    std::fs::rename(script, &real)?;
    let me = std::env::current_exe()?;
    let shim = format!(
        "#!/bin/sh\nMIRAGE_RECORD_SCRIPT='{}' exec '{}' \"$@\"\n",
        real.display(),
        me.display()
    );
    std::fs::write(script, shim)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755))
}

/// Set in front of a build script: the script itself.
pub const SCRIPT_ENV: &str = "MIRAGE_RECORD_SCRIPT";

/// Runs as the recorder in front of a build script: records its run, then
/// runs it.
pub fn script_main(real: &str) -> i32 {
    let dir = std::env::var_os(RECORD_ENV).map(PathBuf::from);
    let cwd = std::env::current_dir().unwrap_or_default();
    let record = json!({"cwd": cwd, "script": real, "env": environment()});
    if let Some(dir) = dir {
        if let Err(e) = write(&dir, "run", record) {
            eprintln!("mirage: error: record a build script run: {e}");
            return 1;
        }
    }
    use std::os::unix::process::CommandExt;
    let e = Command::new(real)
        .args(std::env::args_os().skip(1))
        .env_remove(SCRIPT_ENV)
        .exec();
    eprintln!("mirage: error: run {real}: {e}");
    1
}

/// One record of `record.rs`.
pub struct Record {
    /// Where it ran.
    pub cwd: String,
    /// rustc's arguments (none for a run).
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: BTreeMap<String, String>,
    /// The build script a run record ran.
    pub script: Option<String>,
}

impl Record {
    /// The value after `flag`.
    pub fn value(&self, flag: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == flag)?;
        self.args.get(i + 1).map(String::as_str)
    }
    /// Cargo's `-C extra-filename`.
    pub fn extra(&self) -> &str {
        self.args
            .iter()
            .find_map(|a| a.strip_prefix("extra-filename="))
            .unwrap_or_default()
    }
}

/// The records in `dir`, in file-name order.
pub fn read_records(dir: &Path) -> Result<Vec<Record>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::system(format!("{}: {e}", dir.display())))?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::system(format!("{}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::system(format!("{}: {e}", path.display())))?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        out.push(Record {
            cwd: v["cwd"].as_str().unwrap_or_default().to_owned(),
            args: strings(&v["args"]),
            env: v["env"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            script: v["script"].as_str().map(str::to_owned),
        });
    }
    Ok(out)
}

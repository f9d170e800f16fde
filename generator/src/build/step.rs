//! Build steps as data: each [`Step`] is planned first, then shown
//! (`mirage build --dry-run`) or run.
//!
//! A plan is computed from the resolved unikernel and the workspace alone,
//! so a dry run prints exactly the commands a real build runs, in order.
//! Steps that fail because a tool failed are the machine's errors (exit 1);
//! cargo's own failure is reported with cargo's output shown.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnose::Diagnose;
use crate::error::{Error, IoContext, Result};
use crate::resolve::Resolved;
use crate::workspace::Workspace;

/// The tool `$VAR` names (cargo sets `CARGO` for what it runs; Bazel's
/// actions set `CARGO` and `RUSTC`), else `program` on PATH.
pub fn tool(var: &str, program: &str) -> OsString {
    std::env::var_os(var).unwrap_or_else(|| program.into())
}

/// What a backend needs to plan the steps after cargo.
pub struct BuildCx<'a> {
    /// The workspace.
    pub ws: &'a Workspace,
    /// The configured unikernel.
    pub r: &'a Resolved,
    /// Its output directory (`mirage-out/<package>/<name>/<target>`).
    pub dir: &'a Path,
    /// Cargo's target directory.
    pub target_dir: &'a Path,
    /// Where the image goes.
    pub image: &'a Path,
}

/// One program to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment variables set.
    pub env: Vec<(String, OsString)>,
    /// Environment variables removed.
    pub env_remove: Vec<String>,
    /// Working directory, if not inherited.
    pub cwd: Option<PathBuf>,
}

impl Cmd {
    /// `program` with no arguments.
    pub fn new(program: impl Into<OsString>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            cwd: None,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, a: impl Into<OsString>) -> Cmd {
        self.args.push(a.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Cmd {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, name: &str) -> Cmd {
        self.env_remove.push(name.to_owned());
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    /// The `std::process::Command` to spawn.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for k in &self.env_remove {
            cmd.env_remove(k);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// The command as a shell line: `cd DIR && VAR=VALUE program args`.
    pub fn show(&self) -> String {
        let mut out = String::new();
        if let Some(dir) = &self.cwd {
            let _ = write!(out, "cd {} && ", quote(dir.as_os_str()));
        }
        for k in &self.env_remove {
            let _ = write!(out, "env -u {k} ");
        }
        for (k, v) in &self.env {
            let _ = write!(out, "{k}={} ", quote(v));
        }
        out.push_str(&quote(&self.program));
        for a in &self.args {
            out.push(' ');
            out.push_str(&quote(a));
        }
        out
    }
}

/// A word quoted for a POSIX shell when it needs it.
pub fn quote(word: &std::ffi::OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if plain {
        s.into_owned()
    } else if s.chars().any(char::is_control) {
        // Bash's ANSI-C quoting keeps control characters (cargo's 0x1f
        // flag separator) pasteable.
        let escaped: String = s
            .chars()
            .map(|c| match c {
                '\\' | '\'' => format!("\\{c}"),
                c if c.is_ascii_control() => format!("\\x{:02x}", u32::from(c)),
                c if c.is_control() => format!("\\u{:04x}", u32::from(c)),
                c => c.to_string(),
            })
            .collect();
        format!("$'{escaped}'")
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One step of a build.
#[derive(Debug, Clone)]
pub enum Step {
    /// Build the pinned Solo5 toolchain into its cache directory if absent.
    Solo5Toolchain {
        /// The directory it lands in.
        dir: PathBuf,
    },
    /// Cargo compiles the generated crate in `dir`; its errors are the
    /// user's to read, in BUILD terms (see [`crate::diagnose`]).
    Cargo {
        /// The command.
        cmd: Cmd,
        /// The generated crate's directory.
        dir: PathBuf,
    },
    /// A toolchain program; its output is shown only when it fails.
    Tool(Cmd),
    /// A scratch directory for the steps after it, removed at the end.
    Scratch(PathBuf),
    /// Write `note`, the GNU build-id note of the stripped `image` (see
    /// [`crate::build::debug_file`]).
    BuildId {
        /// The stripped image.
        image: PathBuf,
        /// The note file to write.
        note: PathBuf,
    },
    /// Copy `from` to `to` through a temporary file.
    Install {
        /// The file made by an earlier step.
        from: PathBuf,
        /// The image or debug file path.
        to: PathBuf,
        /// Its permissions.
        mode: u32,
    },
}

impl Step {
    /// One line saying what the step does.
    pub fn show(&self) -> String {
        match self {
            Step::Solo5Toolchain { dir } => {
                format!("build the Solo5 toolchain into {} if absent", dir.display())
            }
            Step::Cargo { cmd, .. } | Step::Tool(cmd) => format!("run {}", cmd.show()),
            Step::Scratch(dir) => format!("mkdir {}", dir.display()),
            Step::BuildId { image, note } => format!(
                "digest {} into the build-id note {}",
                image.display(),
                note.display()
            ),
            Step::Install { from, to, mode } => {
                format!("install -m {mode:o} {} {}", from.display(), to.display())
            }
        }
    }
}

/// Shows every step, one line each.
pub fn dry_run(steps: &[Step]) -> String {
    steps.iter().map(|s| format!("{}\n", s.show())).collect()
}

/// Runs the steps in order; scratch directories are removed afterwards,
/// whatever happens.
pub fn run(ws: &Workspace, r: &Resolved, steps: &[Step], verbose: bool) -> Result<()> {
    let mut scratch = Vec::new();
    let result = steps
        .iter()
        .try_for_each(|s| run_one(ws, r, s, verbose, &mut scratch));
    for dir in scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

fn run_one(
    ws: &Workspace,
    r: &Resolved,
    step: &Step,
    verbose: bool,
    scratch: &mut Vec<PathBuf>,
) -> Result<()> {
    match step {
        Step::Solo5Toolchain { .. } => crate::build::toolchain::solo5_toolchain(&ws.home).map(drop),
        Step::Cargo { cmd, dir } => cargo(ws, r, cmd, dir, verbose),
        Step::Tool(cmd) => {
            let shown = format!("{:?}", cmd.program);
            let out = cmd
                .command()
                .output()
                .io_context(|| format!("run {shown}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(Error::system(format!(
                    "{shown} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        }
        Step::Scratch(dir) => {
            if dir.exists() {
                std::fs::remove_dir_all(dir).io_context(|| format!("remove {}", dir.display()))?;
            }
            std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
            scratch.push(dir.clone());
            Ok(())
        }
        Step::BuildId { image, note } => crate::build::debug_file::write_note(image, note),
        Step::Install { from, to, mode } => install(from, to, *mode),
    }
}

/// Runs cargo, passing its errors through [`Diagnose`]; on failure, notes
/// name the BUILD declarations whose generated code rustc rejected.
fn cargo(ws: &Workspace, r: &Resolved, cmd: &Cmd, dir: &Path, verbose: bool) -> Result<()> {
    use std::io::{BufRead, Write};
    let mut c = cmd.command();
    if !verbose {
        c.arg("--quiet");
    }
    let mut child = c
        .stderr(std::process::Stdio::piped())
        .spawn()
        .io_context(|| "run cargo".to_owned())?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| ws.root.clone());
    let mut diagnose = Diagnose::new(&cwd, dir, &ws.root);
    let stderr = std::io::stderr();
    for line in std::io::BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line.io_context(|| "read cargo's output".to_owned())?;
        let _ = writeln!(stderr.lock(), "{}", diagnose.line(&line));
    }
    let status = child.wait().io_context(|| "wait for cargo".to_owned())?;
    if status.success() {
        return Ok(());
    }
    let main_rs = std::fs::read_to_string(dir.join("main.rs")).unwrap_or_default();
    for note in diagnose.notes(&main_rs) {
        let _ = writeln!(stderr.lock(), "{note}");
    }
    Err(Error::system(format!(
        "cargo build of {} for {} failed ({status})",
        r.label, r.target
    )))
}

/// Copies `from` to `to` through a temporary file, so `to` is never partial.
fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .io_context(|| format!("create a file in {}", dir.display()))?;
    std::fs::copy(from, tmp.path()).io_context(|| format!("copy {}", from.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .io_context(|| format!("chmod {}", tmp.path().display()))?;
    tmp.persist(to)
        .map_err(|e| Error::system(format!("install {}: {e}", to.display())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_show_as_shell_lines() {
        let cmd = Cmd::new("ld")
            .args(["-T", "a b.lds"])
            .env("X", "1\x1f2")
            .current_dir("/w");
        assert_eq!(cmd.show(), "cd /w && X=$'1\\x1f2' ld -T 'a b.lds'");
        assert_eq!(quote("it's".as_ref()), "'it'\\''s'");
    }

    /// What `show` prints, run by bash, runs the command with its exact
    /// environment: cargo's 0x1f-separated flags included.
    #[test]
    fn shown_commands_paste_into_bash() {
        let value = "a\x1fb c'd\\e";
        let shown = Cmd::new("printenv").arg("X").env("X", value).show();
        let out = std::process::Command::new("bash")
            .args(["-c", &shown])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{value}\n"));
    }
}

//! Where things are: the user's workspace root and the rules_mirage home.
//!
//! The workspace root is the nearest directory upward holding `MODULE.bazel`
//! or `WORKSPACE.bazel` (or `WORKSPACE`). rules_mirage itself is found from
//! `--rules-mirage`, then the workspace itself when it is a rules_mirage
//! checkout, then `MIRAGE_HOME`, then the checkout this binary was built
//! from. When the two coincide, `@rules_mirage` is the main repository.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::label::{Label, Package, RULES_MIRAGE};
use crate::starlark::declared::Declared;

/// Files whose presence marks a workspace root.
const ROOT_MARKERS: &[&str] = &["MODULE.bazel", "WORKSPACE.bazel", "WORKSPACE"];

/// The user's workspace and the rules_mirage repository it uses.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Root of the main repository.
    pub root: PathBuf,
    /// Root of the rules_mirage repository (may equal `root`).
    pub home: PathBuf,
    /// Declarations Bazel evaluated, read instead of their BUILD files.
    pub declared: Option<Declared>,
}

impl Workspace {
    /// Finds the workspace around `cwd` and the rules_mirage home.
    pub fn discover(cwd: &Path, rules_mirage: Option<&Path>) -> Result<Workspace> {
        let root = cwd
            .ancestors()
            .find(|d| ROOT_MARKERS.iter().any(|m| d.join(m).is_file()))
            .ok_or_else(|| {
                Error::user(format!(
                    "no workspace: neither {} nor any parent holds MODULE.bazel or WORKSPACE.bazel",
                    cwd.display()
                ))
            })?
            .to_path_buf();
        // A rules_mirage checkout is its own home, whichever binary runs.
        let home = match rules_mirage {
            None if is_home(&root) => root.clone(),
            flag => find_home(flag)?,
        };
        Ok(Workspace {
            root: canonical(&root)?,
            home: canonical(&home)?,
            declared: None,
        })
    }

    /// This workspace, reading the declarations in `file` (Bazel's) instead
    /// of evaluating their packages' BUILD files.
    pub fn with_declarations(mut self, file: Option<&Path>) -> Result<Workspace> {
        if let Some(file) = file {
            self.declared = Some(Declared::read(file, &self)?);
        }
        Ok(self)
    }

    /// Whether rules_mirage is the main repository itself.
    pub fn home_is_root(&self) -> bool {
        self.root == self.home
    }

    /// Canonicalises the repository of `label` (see the module invariant).
    pub fn canonical(&self, mut label: Label) -> Label {
        if self.home_is_root() && label.repo.as_deref() == Some(RULES_MIRAGE) {
            label.repo = None;
        }
        label
    }

    /// The canonical package of `path` inside the rules_mirage repository.
    pub fn home_package(&self, path: &str) -> Package {
        Package {
            repo: (!self.home_is_root()).then(|| RULES_MIRAGE.to_owned()),
            path: path.to_owned(),
        }
    }

    /// The directory of a repository.
    pub fn repo_dir(&self, repo: Option<&str>) -> std::result::Result<&Path, String> {
        match repo {
            None => Ok(&self.root),
            Some(RULES_MIRAGE) => Ok(&self.home),
            Some(other) => Err(format!(
                "unknown repository `@{other}` (only the main workspace and @{RULES_MIRAGE} are known)"
            )),
        }
    }

    /// The directory of a package.
    pub fn package_dir(&self, package: &Package) -> std::result::Result<PathBuf, String> {
        Ok(self.repo_dir(package.repo.as_deref())?.join(&package.path))
    }

    /// How a file of `package` is named in messages and generated files:
    /// relative to its repository, never absolute.
    pub fn display_path(&self, package: &Package, file: &str) -> String {
        let rel = if package.path.is_empty() {
            file.to_owned()
        } else {
            format!("{}/{file}", package.path)
        };
        match &package.repo {
            None => rel,
            Some(repo) => format!("@{repo}//{rel}"),
        }
    }

    /// The generator's output root inside the workspace.
    pub fn out_root(&self) -> PathBuf {
        self.root.join(OUT_DIR)
    }
}

/// Name of the output directory at the workspace root.
pub const OUT_DIR: &str = "mirage-out";

/// The link, in the output directory, to the rules_mirage home. An app's
/// Cargo.toml patches `mirage-types` (and the runtime crates its host tests
/// use) to paths through it, so `cargo check`, `clippy` and `test` work in
/// the app without a machine path in any file it commits.
pub const HOME_LINK: &str = "rules_mirage";

/// Points `<root>/mirage-out/rules_mirage` at `home`, unless it does
/// already; a rules_mirage checkout needs no link to itself.
pub fn link_home(root: &Path, home: &Path) -> Result<()> {
    if is_home(root) {
        return Ok(());
    }
    let link = root.join(OUT_DIR).join(HOME_LINK);
    if std::fs::read_link(&link).is_ok_and(|to| to == home) {
        return Ok(());
    }
    let io = |e: std::io::Error| Error::system(format!("link {}: {e}", link.display()));
    std::fs::create_dir_all(root.join(OUT_DIR)).map_err(io)?;
    // A new link renamed over the old one: never a moment without it.
    let tmp = root
        .join(OUT_DIR)
        .join(format!(".{HOME_LINK}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(home, &tmp).map_err(io)?;
    std::fs::rename(&tmp, &link).map_err(io)
}

fn canonical(p: &Path) -> Result<PathBuf> {
    p.canonicalize()
        .map_err(|e| Error::system(format!("{}: {e}", p.display())))
}

fn is_home(dir: &Path) -> bool {
    dir.join("rules_mirage/defs.bzl").is_file()
}

/// The rules_mirage home outside any workspace: `--rules-mirage`, then
/// `MIRAGE_HOME`, then the checkout this binary was built from.
pub fn find_home(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return if is_home(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(Error::user(format!(
                "--rules-mirage {}: not a rules_mirage checkout (no rules_mirage/defs.bzl)",
                dir.display()
            )))
        };
    }
    if let Some(dir) = std::env::var_os("MIRAGE_HOME") {
        let dir = PathBuf::from(dir);
        return if is_home(&dir) {
            Ok(dir)
        } else {
            Err(Error::user(format!(
                "MIRAGE_HOME={}: not a rules_mirage checkout (no rules_mirage/defs.bzl)",
                dir.display()
            )))
        };
    }
    // The checkout this binary was built from: its running copy first, then
    // the source tree recorded at compile time.
    let exe = std::env::current_exe().ok();
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf);
    exe.iter()
        .flat_map(|e| {
            e.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .chain(built_from)
        .find(|d| is_home(d))
        .ok_or_else(|| {
            Error::user("cannot find rules_mirage: pass --rules-mirage PATH or set MIRAGE_HOME")
        })
}

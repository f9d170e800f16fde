//! Bazel labels: `@repo//package:name`, `//package:name`, `:name`.
//!
//! Invariant: a [`Label`] is canonical. The main workspace is `repo: None`;
//! when rules_mirage *is* the main workspace, `@rules_mirage` labels are
//! canonicalised to `None` by [`Repos::canonical`], so one device never has
//! two names.

use std::fmt;

/// The repository name under which users load this project.
pub const RULES_MIRAGE: &str = "rules_mirage";

/// A canonical target label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// `None` for the main workspace, else the external repository name.
    pub repo: Option<String>,
    /// Package path, `/`-separated, no leading `//`.
    pub package: String,
    /// Target name inside the package.
    pub name: String,
}

impl Label {
    /// Parses `text` as written in a file of package `base`.
    ///
    /// Accepts `:name`, `name`, `//pkg`, `//pkg:name` and `@repo//pkg:name`.
    pub fn parse(text: &str, base: &Package) -> Result<Label, String> {
        let bad = |why: &str| format!("invalid label `{text}`: {why}");
        let (repo, rest) = if let Some(after) = text.strip_prefix('@') {
            let (repo, rest) = after
                .split_once("//")
                .ok_or_else(|| bad("expected `@repo//package:name`"))?;
            (Some(repo.trim_start_matches('@').to_owned()), rest)
        } else if let Some(rest) = text.strip_prefix("//") {
            (base.repo.clone(), rest)
        } else {
            let name = text.strip_prefix(':').unwrap_or(text);
            check_name(name).map_err(|why| bad(&why))?;
            return Ok(Label {
                repo: base.repo.clone(),
                package: base.path.clone(),
                name: name.to_owned(),
            });
        };
        let (package, name) = match rest.split_once(':') {
            Some((package, name)) => (package, name.to_owned()),
            None => (rest, rest.rsplit('/').next().unwrap_or(rest).to_owned()),
        };
        if package.starts_with('/') || package.ends_with('/') || package.contains("//") {
            return Err(bad("malformed package path"));
        }
        check_name(&name).map_err(|why| bad(&why))?;
        let repo = repo.filter(|r| !r.is_empty());
        Ok(Label {
            repo,
            package: package.to_owned(),
            name,
        })
    }

    /// The package holding this target.
    pub fn package(&self) -> Package {
        Package {
            repo: self.repo.clone(),
            path: self.package.clone(),
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty target name".into());
    }
    if name.contains(':') || name.starts_with('/') || name.split('/').any(|s| s == "..") {
        return Err("bad target name".into());
    }
    Ok(())
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(repo) = &self.repo {
            write!(f, "@{repo}")?;
        }
        write!(f, "//{}:{}", self.package, self.name)
    }
}

/// A package: a directory of a repository holding a BUILD file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Package {
    /// `None` for the main workspace.
    pub repo: Option<String>,
    /// `/`-separated path from the repository root.
    pub path: String,
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(repo) = &self.repo {
            write!(f, "@{repo}")?;
        }
        write!(f, "//{}", self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(path: &str) -> Package {
        Package {
            repo: None,
            path: path.into(),
        }
    }

    #[test]
    fn relative_labels_resolve_in_their_package() {
        let l = Label::parse(":console", &pkg("app")).unwrap();
        assert_eq!(l.to_string(), "//app:console");
        let l = Label::parse("console", &pkg("app")).unwrap();
        assert_eq!(l.to_string(), "//app:console");
    }

    #[test]
    fn package_shorthand_names_last_segment() {
        let l = Label::parse("//runtimes/unix", &pkg("app")).unwrap();
        assert_eq!(l.to_string(), "//runtimes/unix:unix");
    }

    #[test]
    fn external_repo_is_kept() {
        let l = Label::parse("@rules_mirage//rules_mirage:defs.bzl", &pkg("app")).unwrap();
        assert_eq!(l.repo.as_deref(), Some("rules_mirage"));
        assert_eq!(l.to_string(), "@rules_mirage//rules_mirage:defs.bzl");
    }

    #[test]
    fn repo_relative_labels_stay_in_the_files_repo() {
        let base = Package {
            repo: Some("rules_mirage".into()),
            path: "rules_mirage".into(),
        };
        let l = Label::parse("//runtimes/unix:crate", &base).unwrap();
        assert_eq!(l.to_string(), "@rules_mirage//runtimes/unix:crate");
    }

    #[test]
    fn malformed_labels_are_rejected() {
        assert!(Label::parse("//a//b:c", &pkg("")).is_err());
        assert!(Label::parse(":", &pkg("")).is_err());
        assert!(Label::parse("@repo", &pkg("")).is_err());
        assert!(Label::parse("//a:../b", &pkg("")).is_err());
    }
}

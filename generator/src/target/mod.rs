//! Targets, their families, and the backend each family contributes.
//!
//! Like Functoria's `S.TARGET`, a target family is one module behind one
//! trait, [`Backend`]: the main template, the Cargo target section, the
//! image name, extra files (Solo5 manifest, xl, libvirt), the steps that
//! turn cargo's output into an image, and how the image is launched.
//! Every target is listed once, in [`Target::ALL`]; the Bazel rules' list
//! is checked against it by a test.
//!
//! `impls` keys and key `target_defaults` are [`TargetPattern`]s, parsed
//! once when a declaration is read.

mod run_script;
pub mod solo5;
pub mod unix;

use std::fmt;

use crate::action::File;
use crate::build::step::{BuildCx, Step};
use crate::error::Result;
use crate::launch::Launch;
use crate::render::RenderCx;

/// A build target, as chosen with `-t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A host process (std).
    Unix,
    /// Solo5 on the hvt tender (KVM).
    Hvt,
    /// Solo5 on the spt tender (seccomp sandboxed process).
    Spt,
    /// Solo5 on virtio (QEMU, cloud hypervisors).
    Virtio,
    /// Solo5 on the Muen separation kernel.
    Muen,
    /// Solo5 on Xen (PVH).
    Xen,
    /// Solo5 on Xen as a Qubes OS VM.
    Qubes,
}

/// Targets that share device implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// The unix process target.
    Unix,
    /// Every Solo5 target.
    Solo5,
}

impl Target {
    /// Every target, in documentation order: the one list of targets.
    pub const ALL: [Target; 7] = [
        Target::Unix,
        Target::Hvt,
        Target::Spt,
        Target::Virtio,
        Target::Muen,
        Target::Xen,
        Target::Qubes,
    ];

    /// The name used by `-t` and in `impls` keys.
    pub fn name(self) -> &'static str {
        match self {
            Target::Unix => "unix",
            Target::Hvt => "hvt",
            Target::Spt => "spt",
            Target::Virtio => "virtio",
            Target::Muen => "muen",
            Target::Xen => "xen",
            Target::Qubes => "qubes",
        }
    }

    /// Parses a target name; the error lists the valid ones.
    pub fn parse(name: &str) -> std::result::Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown target `{name}`{}: expected one of {}",
                    crate::suggest::did_you_mean(name, Target::names()),
                    Target::names().join(", ")
                )
            })
    }

    /// All target names.
    pub fn names() -> Vec<&'static str> {
        Target::ALL.iter().map(|t| t.name()).collect()
    }

    /// The family whose devices this target uses.
    pub fn family(self) -> Family {
        match self {
            Target::Unix => Family::Unix,
            _ => Family::Solo5,
        }
    }

    /// The backend that builds and launches images of this target.
    pub fn backend(self) -> &'static dyn Backend {
        match self.family() {
            Family::Unix => &unix::Unix,
            Family::Solo5 => &solo5::Solo5,
        }
    }
}

impl Family {
    /// The name used in `impls` keys and generated files.
    pub fn name(self) -> &'static str {
        match self {
            Family::Unix => "unix",
            Family::Solo5 => "solo5",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which targets an `impls` key or a key's target default applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetPattern {
    /// One target, by name.
    Exact(Target),
    /// Every target of a family (`solo5`; `unix` is the target).
    Family(Family),
    /// `*`: every target.
    Any,
}

impl TargetPattern {
    /// Parses `spt`, `solo5` or `*`; the error lists the valid patterns.
    pub fn parse(text: &str) -> std::result::Result<TargetPattern, String> {
        match text {
            "*" => Ok(TargetPattern::Any),
            "solo5" => Ok(TargetPattern::Family(Family::Solo5)),
            _ => Target::parse(text).map(TargetPattern::Exact).map_err(|_| {
                format!(
                    "unknown target `{text}`: expected one of {}, solo5 or *",
                    Target::names().join(", ")
                )
            }),
        }
    }

    /// How well this pattern matches `target`: exact 3, family 2, `*` 1;
    /// `None` if it does not apply.
    pub fn specificity(self, target: Target) -> Option<u8> {
        match self {
            TargetPattern::Exact(t) => (t == target).then_some(3),
            TargetPattern::Family(f) => (f == target.family()).then_some(2),
            TargetPattern::Any => Some(1),
        }
    }

    /// The value of the most specific entry that applies to `target`; the
    /// first of equals.
    pub fn most_specific<V>(entries: &[(TargetPattern, V)], target: Target) -> Option<&V> {
        let mut best: Option<(u8, &V)> = None;
        for (pattern, value) in entries {
            if let Some(s) = pattern.specificity(target) {
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, value));
                }
            }
        }
        best.map(|(_, v)| v)
    }
}

impl fmt::Display for TargetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetPattern::Exact(t) => f.write_str(t.name()),
            TargetPattern::Family(fam) => f.write_str(fam.name()),
            TargetPattern::Any => f.write_str("*"),
        }
    }
}

/// What a target family contributes to configure, build and run.
pub trait Backend: Sync {
    /// Packages (in the rules_mirage repository) of the crates every image
    /// of the family links: the runtime and the platform hook.
    fn platform_packages(&self) -> &'static [&'static str];

    /// The template rendering `main.rs`.
    fn main_template(&self) -> &'static str;

    /// The Cargo manifest's target section: a binary or a staticlib.
    fn cargo_target(&self, program: &str, target: Target) -> String;

    /// The image file name in `dist/`.
    fn image_name(&self, program: &str, target: Target) -> String;

    /// Generated files besides `main.rs`, `Cargo.toml` and `run.sh`.
    fn extra_files(&self, cx: &RenderCx) -> Result<Vec<File>>;

    /// The body of `run.sh`, after its header (it runs in `dist/`'s parent).
    fn run_script(&self, cx: &RenderCx) -> Result<String>;

    /// The steps that turn cargo's output into the image.
    fn link(&self, cx: &BuildCx) -> Result<Vec<Step>>;

    /// How to boot `image` with the devices attached and runtime args.
    fn launch(&self, cx: &crate::launch::LaunchCx) -> Result<Launch>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_target_beats_family_beats_wildcard() {
        let p = |s| TargetPattern::parse(s).unwrap();
        assert_eq!(p("spt").specificity(Target::Spt), Some(3));
        assert_eq!(p("solo5").specificity(Target::Spt), Some(2));
        assert_eq!(p("*").specificity(Target::Spt), Some(1));
        assert_eq!(p("solo5").specificity(Target::Unix), None);
        let entries = [(p("*"), "any"), (p("solo5"), "fam"), (p("hvt"), "hvt")];
        assert_eq!(
            TargetPattern::most_specific(&entries, Target::Hvt),
            Some(&"hvt")
        );
        assert_eq!(
            TargetPattern::most_specific(&entries, Target::Spt),
            Some(&"fam")
        );
        assert_eq!(
            TargetPattern::most_specific(&entries, Target::Unix),
            Some(&"any")
        );
    }

    #[test]
    fn unknown_target_lists_choices() {
        let e = Target::parse("amd64").unwrap_err();
        assert!(
            e.contains("unix, hvt, spt, virtio, muen, xen, qubes"),
            "{e}"
        );
        let e = TargetPattern::parse("solo6").unwrap_err();
        assert!(e.ends_with("qubes, solo5 or *"), "{e}");
    }

    /// The value of `NAME = [...]` in Starlark source, as strings.
    fn starlark_list(source: &str, name: &str) -> Vec<String> {
        let line = source
            .lines()
            .find(|l| l.starts_with(&format!("{name} = [")))
            .unwrap_or_else(|| panic!("no {name} list"));
        let items = line.split_once('[').unwrap().1.trim_end_matches(']');
        items
            .split(',')
            .map(|i| i.trim().trim_matches('"').to_owned())
            .filter(|i| !i.is_empty())
            .collect()
    }

    #[test]
    fn bazel_rules_list_the_same_targets() {
        let bzl = include_str!("../../../rules_mirage/private/unikernel.bzl");
        let solo5: Vec<&str> = Target::ALL
            .iter()
            .filter(|t| t.family() == Family::Solo5)
            .map(|t| t.name())
            .collect();
        assert_eq!(starlark_list(bzl, "SOLO5_TARGETS"), solo5);
        assert!(bzl.contains("TARGETS = [\"unix\"] + SOLO5_TARGETS"));
    }

    #[test]
    fn solo5_toolchain_builds_every_abi() {
        let mut abis: Vec<&str> = Target::ALL
            .iter()
            .filter(|t| t.family() == Family::Solo5)
            .map(|&t| solo5::abi(t))
            .collect();
        abis.dedup();
        assert_eq!(abis, mirage_toolchain_solo5::TARGETS);
    }

    #[test]
    fn patterns_print_as_written() {
        for s in ["*", "solo5", "unix", "qubes"] {
            assert_eq!(TargetPattern::parse(s).unwrap().to_string(), s);
        }
    }
}

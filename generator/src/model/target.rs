//! Targets: where an image runs, and the families that share device code.

use std::fmt;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The unix process target.
    Unix,
    /// Every Solo5 target.
    Solo5,
}

impl Target {
    /// Every target, in documentation order.
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
    pub fn parse(name: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown target `{name}`: expected one of {}",
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

    /// Packages (in the rules_mirage repository) of the crates every image
    /// of this target links: the runtime and the platform hook.
    pub fn platform_packages(self) -> &'static [&'static str] {
        match self.family() {
            Family::Unix => &["runtimes/core", "runtimes/unix"],
            Family::Solo5 => &["runtimes/core", "runtimes/solo5"],
        }
    }

    /// How well an `impls` key matches this target: exact name 3, family 2,
    /// `*` 1; `None` if it does not apply. `Err` for a key naming nothing.
    pub fn specificity(self, pattern: &str) -> Result<Option<u8>, String> {
        if pattern == "*" {
            return Ok(Some(1));
        }
        if pattern == "solo5" {
            return Ok((self.family() == Family::Solo5).then_some(2));
        }
        let t = Target::parse(pattern).map_err(|_| {
            format!(
                "unknown target `{pattern}`: expected one of {}, solo5 or *",
                Target::names().join(", ")
            )
        })?;
        Ok((t == self).then_some(3))
    }
}

impl Target {
    /// The value of the most specific `(pattern, value)` entry that applies
    /// to this target (see [`Target::specificity`]); the first of equals.
    pub fn most_specific(self, entries: &[(String, String)]) -> Result<Option<&str>, String> {
        let mut best: Option<(u8, &str)> = None;
        for (pattern, value) in entries {
            if let Some(s) = self.specificity(pattern)? {
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, value));
                }
            }
        }
        Ok(best.map(|(_, v)| v))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_target_beats_family_beats_wildcard() {
        assert_eq!(Target::Spt.specificity("spt"), Ok(Some(3)));
        assert_eq!(Target::Spt.specificity("solo5"), Ok(Some(2)));
        assert_eq!(Target::Spt.specificity("*"), Ok(Some(1)));
        assert_eq!(Target::Unix.specificity("solo5"), Ok(None));
    }

    #[test]
    fn unknown_target_lists_choices() {
        let e = Target::parse("amd64").unwrap_err();
        assert!(
            e.contains("unix, hvt, spt, virtio, muen, xen, qubes"),
            "{e}"
        );
    }
}

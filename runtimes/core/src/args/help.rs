//! What `--help` and `--version` print.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write;

use super::{Kind, Spec, EXIT_HELP};
use crate::info::BuildInfo;

/// The `--help` text: every argument, with type, default and owner.
pub fn help(info: &BuildInfo, specs: &[Spec]) -> String {
    let program = info.name();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "NAME\n       {program} - unikernel {} for target {}\n",
        info.label, info.target
    );
    let _ = writeln!(out, "SYNOPSIS\n       {program} [OPTION]...\n");
    let _ = writeln!(out, "OPTIONS");
    for spec in specs {
        let long = match spec.kind {
            Kind::Bool => format!("--{}", spec.name),
            kind => format!("--{}={}", spec.name, kind.metavar()),
        };
        let names = match spec.short {
            Some(c) => format!("-{c} {}, {long}", spec.kind.metavar()),
            None => long,
        };
        let default = match spec.default {
            Some(d) => format!(" (default: {d})"),
            None => " (required)".to_string(),
        };
        let _ = writeln!(out, "       {names}{default}");
        let _ = writeln!(out, "           {} [{}]", spec.doc, spec.owner);
    }
    let _ = writeln!(
        out,
        "       --delay=INT (default: 0)\n           Seconds to wait before connecting any device (for networks that come up late)."
    );
    let _ = writeln!(
        out,
        "       -h, --help\n           Show this help and exit with {EXIT_HELP}."
    );
    let _ = writeln!(
        out,
        "       --version\n           Show what this image was built from and exit with {EXIT_HELP}."
    );
    out
}

/// The `--version` text: what the image was built from, to trace it to
/// its release (whose provenance records the same Cargo.lock digest).
pub fn version(info: &BuildInfo) -> String {
    let keys: String = info
        .keys
        .iter()
        .map(|(k, v)| format!(" --{k}={v}"))
        .collect();
    format!(
        "{} {} for {}\nkeys:{keys}\ncrates: {}\ngenerator: {}\ncargo-lock-sha256: {}\n",
        info.name(),
        info.label,
        info.target,
        info.crates.join(" "),
        info.generator,
        info.lock_sha256
    )
}

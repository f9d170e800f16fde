//! Where a release comes from: an in-toto Statement v1 whose predicate is
//! SLSA Provenance v1, and `buildinfo`, the plain-text record orb keeps
//! (toolchain, host, environment, sources). Both from [`Facts`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::target::Target;

/// What the release was built from and with.
pub struct Facts {
    /// The unikernel's label.
    pub label: String,
    /// The targets, in release order.
    pub targets: Vec<Target>,
    /// Configure keys and their values.
    pub keys: BTreeMap<String, String>,
    /// The digest of the release's sources ([`super::inputs::sha256`]).
    pub tree: String,
    /// Cargo.lock's sha256.
    pub lock_sha256: String,
    /// The Solo5 version and the solo5-sys checksum, for Solo5 targets.
    pub solo5: Option<(&'static str, String)>,
    /// `rustc -vV`.
    pub rustc: String,
    /// `cargo -V`.
    pub cargo: String,
    /// `git rev-parse HEAD`, in a git checkout.
    pub git_commit: Option<String>,
    /// The runtime arguments its OCI images start the unikernel with.
    pub cmdline: String,
}

/// Environment variables that can change what cargo and the C compiler
/// (ring's) produce.
const BUILD_ENV: &[&str] = &[
    "CARGO_BUILD_TARGET",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_PROFILE_RELEASE_LTO",
    "CC",
    "CFLAGS",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "SOURCE_DATE_EPOCH",
];

/// The in-toto statement over `subjects` (path, sha256). The one inside
/// the release names no `engine`, so both engines make the same bytes;
/// the detached one over the tarball names the engine that ran.
pub fn statement(f: &Facts, subjects: &[(String, String)], engine: Option<&str>) -> Value {
    let mut deps = vec![
        json!({"uri": "file:.", "name": "sources", "digest": {"sha256": f.tree}}),
        json!({"uri": "file:Cargo.lock", "name": "Cargo.lock", "digest": {"sha256": f.lock_sha256}}),
        json!({"name": "rustc", "annotations": {"rustc -vV": f.rustc, "cargo -V": f.cargo}}),
    ];
    if let Some(commit) = &f.git_commit {
        deps[0]["digest"]["gitCommit"] = json!(commit);
    }
    if let Some((version, sum)) = &f.solo5 {
        deps.push(json!({
            "uri": format!("pkg:cargo/solo5-sys"),
            "name": format!("solo5 {version}"),
            "digest": {"sha256": sum},
        }));
    }
    let builder = match engine {
        Some(engine) => format!("https://rules-mirage.invalid/builder/{engine}"),
        None => "https://rules-mirage.invalid/builder/mirage-release".to_owned(),
    };
    let mut statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects.iter().map(|(p, s)| json!({"name": p, "digest": {"sha256": s}})).collect::<Vec<_>>(),
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://rules-mirage.invalid/release/v1",
                "externalParameters": {
                    "label": f.label,
                    "targets": f.targets.iter().map(|t| t.name()).collect::<Vec<_>>(),
                    "keys": f.keys,
                    "runtimeArgs": f.cmdline,
                },
                "internalParameters": {"generator": format!("mirage {}", env!("CARGO_PKG_VERSION"))},
                "resolvedDependencies": deps,
            },
            "runDetails": {"builder": {"id": builder}},
        },
    });
    if let Some(engine) = engine {
        statement["predicate"]["buildDefinition"]["internalParameters"]["engine"] = json!(engine);
    }
    statement
}

/// The `buildinfo` text.
pub fn buildinfo(f: &Facts) -> String {
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let mut text = format!(
        "label: {}\ntargets: {}\nkeys:{}\nruntime-args: {}\nsource-tree-sha256: {}\n",
        f.label,
        f.targets
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(" "),
        f.keys
            .iter()
            .map(|(k, v)| format!(" --{k}={v}"))
            .collect::<String>(),
        f.cmdline,
        f.tree
    );
    if let Some(commit) = &f.git_commit {
        text += &format!("git-commit: {commit}\n");
    }
    text += &format!("cargo-lock-sha256: {}\n", f.lock_sha256);
    if let Some((version, sum)) = &f.solo5 {
        text += &format!("solo5: {version} (solo5-sys sha256 {sum})\n");
    }
    text += &format!(
        "generator: mirage {}\nhost-os: {os}\n",
        env!("CARGO_PKG_VERSION")
    );
    text += &format!("cargo -V: {}\nrustc -vV:\n", f.cargo);
    for line in f.rustc.lines() {
        text += &format!("  {line}\n");
    }
    text += "environment:\n";
    for var in BUILD_ENV {
        if let Ok(v) = std::env::var(var) {
            text += &format!("  {var}={v}\n");
        }
    }
    text
}

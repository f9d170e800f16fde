//! `mirage query`: one generated artefact or fact of a configuration.

use clap::ValueEnum;

use crate::action::Plan;
use crate::error::{Error, Result};
use crate::paths::relative;
use crate::resolve::Resolved;

/// What `mirage query` can print.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Query {
    /// The generated main.rs.
    Main,
    /// The generated Cargo.toml.
    Cargo,
    /// The Solo5 manifest (Solo5 targets only).
    Manifest,
    /// Every generated file.
    Files,
    /// Configure keys, their values and choices.
    Keys,
    /// Runtime arguments the image accepts.
    RuntimeArgs,
    /// Crates the generated code depends on.
    Crates,
    /// The SPDX SBOM of the image (built if needed), as in its release.
    Sbom,
    /// The crate-level build plan (JSON): every crate, the shared flags,
    /// the link steps.
    Plan,
}

/// The text `mirage query what` prints.
pub fn answer(what: Query, r: &Resolved, plan: &Plan) -> Result<String> {
    let file = |name: &str, what: &str| {
        plan.file(name)
            .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
            .ok_or_else(|| Error::user(format!("target {} has no {what}", r.target)))
    };
    Ok(match what {
        Query::Main => file("main.rs", "main.rs")?,
        Query::Cargo => file("Cargo.toml", "Cargo.toml")?,
        Query::Manifest => file("manifest.json", "Solo5 manifest")?,
        Query::Files => plan.files.iter().map(|f| format!("{}\n", f.path)).collect(),
        Query::Keys => r
            .keys
            .iter()
            .map(|k| {
                format!(
                    "--{}={} ({}choices: {})\n",
                    k.name,
                    k.value,
                    if k.is_default { "default; " } else { "" },
                    k.choices.join(", ")
                )
            })
            .collect(),
        Query::RuntimeArgs => r
            .runtime_args
            .iter()
            .map(|a| {
                let default = a
                    .default
                    .as_deref()
                    .map_or("(required)".to_owned(), |d| format!("(default: {d})"));
                format!("--{} : {} {default} {}\n", a.name, a.kind.name(), a.label)
            })
            .collect(),
        // The SBOM describes a built image: `cli::main` builds first.
        Query::Sbom => return Err(Error::system("mirage query sbom needs the image built")),
        Query::Plan => {
            return Err(Error::system(
                "mirage query plan needs the output committed",
            ))
        }
        Query::Crates => r
            .crates
            .iter()
            .map(|c| {
                format!(
                    "{} ({}) {}\n",
                    c.package_name,
                    c.lib_name,
                    relative(&plan.dir, &c.dir)
                )
            })
            .collect(),
    })
}

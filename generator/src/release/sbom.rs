//! The release's SPDX 2.3 SBOM: one package per crate compiled into the
//! images (from `cargo metadata` of each target's generated crate, the
//! crate graph cargo resolved for the build), the Solo5 sources, the Rust
//! toolchain and the generator; `DEPENDS_ON` along the crate graph's
//! normal edges, `DESCRIBES` each image by its sha256.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::render::files::hex;

/// A crate compiled into an image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrateRef {
    /// The package name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The crates of one target's image and the edges between them.
pub struct CrateGraph {
    /// The generated crate (the graph's root).
    pub root: CrateRef,
    /// Every crate reachable over normal dependencies, with its declared
    /// license and whether it comes from the registry.
    pub crates: BTreeMap<CrateRef, (Option<String>, bool)>,
    /// `DEPENDS_ON` edges.
    pub edges: BTreeSet<(CrateRef, CrateRef)>,
}

/// The crate graph cargo resolves for the generated crate in `dir`, for
/// the host triple the images are compiled for.
pub fn crate_graph(dir: &Path) -> Result<CrateGraph> {
    let meta = crate::build::cargo_meta::metadata(dir, true)?;
    let mut by_id = BTreeMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let r = CrateRef {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
        };
        let license = p["license"].as_str().map(str::to_owned);
        let registry = p["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("registry+"));
        by_id.insert(p["id"].as_str().unwrap_or_default(), (r, license, registry));
    }
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["id"].as_str().unwrap_or_default(), n))
        .collect();
    let root_id = meta["resolve"]["root"]
        .as_str()
        .ok_or_else(|| Error::system("cargo metadata: no root package"))?;
    let mut graph = CrateGraph {
        root: by_id[root_id].0.clone(),
        crates: BTreeMap::new(),
        edges: BTreeSet::new(),
    };
    let mut todo = vec![root_id];
    let mut seen = BTreeSet::from([root_id]);
    while let Some(id) = todo.pop() {
        let (from, license, registry) = &by_id[id];
        graph
            .crates
            .insert(from.clone(), (license.clone(), *registry));
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            // Linked into the image: normal dependencies only (kind null),
            // not build scripts' or tests'.
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            let Some(to) = dep["pkg"].as_str().filter(|_| normal) else {
                continue;
            };
            graph.edges.insert((from.clone(), by_id[to].0.clone()));
            if seen.insert(to) {
                todo.push(to);
            }
        }
    }
    Ok(graph)
}

fn spdx_id(kind: &str, name: &str, version: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '.'
                }
            })
            .collect()
    };
    format!("SPDXRef-{kind}-{}-{}", clean(name), clean(version))
}

/// A Cargo `license` field as an SPDX expression (`MIT/Apache-2.0` is the
/// old spelling of `MIT OR Apache-2.0`).
fn license_expression(license: &Option<String>) -> String {
    match license {
        Some(l) if !l.trim().is_empty() => l.replace('/', " OR "),
        _ => "NOASSERTION".into(),
    }
}

/// What the SBOM describes besides the crates.
pub struct Subjects<'a> {
    /// `NAME-VERSION`.
    pub release: &'a str,
    /// Image paths in the release and their sha256, with the crate graph
    /// of each and whether Solo5 is linked in.
    pub images: Vec<(String, String, &'a CrateGraph, bool)>,
    /// `rustc -vV`.
    pub rustc: &'a str,
    /// The Solo5 version and the solo5-sys checksum, if a Solo5 target is built.
    pub solo5: Option<(&'a str, String)>,
    /// Cargo.lock's text.
    pub lock: &'a str,
    /// `SOURCE_DATE_EPOCH` as RFC 3339 (creation time, reproducible).
    pub created: &'a str,
}

/// The SPDX 2.3 JSON document.
pub fn document(s: &Subjects) -> Value {
    let sums = mirage_toolchain_solo5::lock_checksums(s.lock);
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut rel = |a: &str, kind: &str, b: &str| {
        relationships.push(json!({
            "spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b,
        }))
    };
    let mut crates: BTreeMap<&CrateRef, &(Option<String>, bool)> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    for (_, _, graph, _) in &s.images {
        crates.extend(graph.crates.iter());
        edges.extend(graph.edges.iter());
    }
    for (c, (license, registry)) in &crates {
        let mut p = json!({
            "SPDXID": spdx_id("Crate", &c.name, &c.version),
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": if *registry {
                format!("https://crates.io/api/v1/crates/{}/{}/download", c.name, c.version)
            } else {
                "NOASSERTION".into()
            },
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license_expression(license),
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": format!("pkg:cargo/{}@{}", c.name, c.version),
            }],
        });
        if let Some(sum) = sums.get(&(c.name.clone(), c.version.clone())) {
            p["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": sum}]);
        }
        packages.push(p);
    }
    for (a, b) in edges {
        rel(
            &spdx_id("Crate", &a.name, &a.version),
            "DEPENDS_ON",
            &spdx_id("Crate", &b.name, &b.version),
        );
    }
    let rustc_version = s
        .rustc
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or("unknown");
    let rustc = spdx_id("Tool", "rustc", rustc_version);
    packages.push(json!({
        "SPDXID": rustc, "name": "rustc", "versionInfo": rustc_version,
        "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION", "licenseDeclared": "MIT OR Apache-2.0",
        "copyrightText": "NOASSERTION", "comment": s.rustc.trim(),
    }));
    let generator = spdx_id("Tool", "mirage", env!("CARGO_PKG_VERSION"));
    packages.push(json!({
        "SPDXID": generator, "name": "mirage", "versionInfo": env!("CARGO_PKG_VERSION"),
        "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION", "licenseDeclared": "ISC",
        "copyrightText": "NOASSERTION",
    }));
    let solo5 = s.solo5.as_ref().map(|(version, sum)| {
        let id = spdx_id("Solo5", "solo5", version);
        packages.push(json!({
            "SPDXID": id, "name": "solo5", "versionInfo": version,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "checksums": [{"algorithm": "SHA256", "checksumValue": sum}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "ISC",
            "copyrightText": "NOASSERTION",
            "comment": "Built from the sources of crate solo5-sys, whose checksum this is.",
        }));
        id
    });
    for (path, sha, graph, linked) in &s.images {
        let id = spdx_id("Image", path, "");
        let id = id.trim_end_matches('-').to_owned();
        packages.push(json!({
            "SPDXID": id, "name": path, "versionInfo": s.release,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "checksums": [{"algorithm": "SHA256", "checksumValue": sha}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "APPLICATION",
        }));
        rel("SPDXRef-DOCUMENT", "DESCRIBES", &id);
        rel(
            &id,
            "DEPENDS_ON",
            &spdx_id("Crate", &graph.root.name, &graph.root.version),
        );
        rel(&rustc, "BUILD_TOOL_OF", &id);
        rel(&generator, "BUILD_TOOL_OF", &id);
        if let (true, Some(solo5)) = (linked, &solo5) {
            rel(&id, "STATIC_LINK", solo5);
        }
    }
    // A namespace unique to these images, and the same on every rebuild.
    let digests: String = s
        .images
        .iter()
        .map(|(p, sha, ..)| format!("{p} {sha}\n"))
        .collect();
    let namespace = hex(&Sha256::digest(digests.as_bytes()));
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": s.release,
        "documentNamespace": format!("https://rules-mirage.invalid/spdx/{}-{namespace}", s.release),
        "creationInfo": {
            "created": s.created,
            "creators": [format!("Tool: mirage-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_license_spellings_become_expressions() {
        assert_eq!(
            license_expression(&Some("MIT/Apache-2.0".into())),
            "MIT OR Apache-2.0"
        );
        assert_eq!(license_expression(&None), "NOASSERTION");
    }
}

//! The Solo5 toolchain: tenders, `solo5-elftool`, bindings and linker
//! scripts, built from the Solo5 sources pinned in Cargo.lock.
//!
//! Invariant: a toolchain directory holding [`COMPLETE`] is complete and
//! was built from exactly the sources its name records. [`Toolchain::ensure`]
//! builds in place (Solo5's make refers to the tree by absolute path while
//! it builds) under a lock, and writes the stamp last. A built tree holds
//! no absolute path and may move (see [`relative_links`]). The key is
//! the checksum Cargo.lock holds for `solo5-sys` plus [`RECIPE`] and the
//! [`PATCHES`] applied to the sources, so new pinned sources (or a new
//! recipe or patch) build anew and nothing else does.

mod cache;
mod lock;
mod recipe;
pub use cache::cache_root;
use cache::private_cache;
pub use lock::{lock_checksums, pinned_checksum};
pub use recipe::PATCHES;
use recipe::{apply_patches, relative_links, remap_paths};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The crate carrying the Solo5 sources.
const SOURCE_CRATE: &str = "solo5-sys";
/// Solo5 version inside it (the tree is not a Git checkout, so the build
/// needs it written down).
pub const SOLO5_VERSION: &str = "v0.7.2";
/// Bumped whenever the build recipe below changes.
const RECIPE: &str = "solo5-recipe-3";

/// The stamp a finished build leaves in its directory.
pub const COMPLETE: &str = ".complete";

/// Solo5 targets with bindings.
pub const TARGETS: [&str; 5] = ["hvt", "spt", "virtio", "muen", "xen"];

/// A built toolchain.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The built Solo5 tree.
    pub dir: PathBuf,
    /// Where the adapted linker scripts live (this crate's `lds/`).
    lds: PathBuf,
}

/// The directory cargo unpacked `solo5-sys` into, fetching it if needed.
fn source_dir(home: &Path) -> Result<PathBuf, String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(home.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let manifest = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == SOURCE_CRATE))
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| format!("cargo metadata lists no {SOURCE_CRATE}"))?;
    Ok(Path::new(manifest)
        .parent()
        .unwrap_or(Path::new("/"))
        .join("solo5"))
}

/// The cache directory name of the toolchain for Cargo.lock text `lock`:
/// Solo5's version and a digest of the pinned checksum and the recipe.
pub fn key(lock: &str) -> Result<String, String> {
    let checksum = pinned_checksum(lock)?;
    let mut hasher = Sha256::new();
    hasher.update(format!("{checksum}{RECIPE}"));
    for (name, text) in PATCHES {
        hasher.update(format!("{name}\n{}\n{text}", text.len()));
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("solo5-{SOLO5_VERSION}-{digest}"))
}

impl Toolchain {
    /// The toolchain for the sources pinned in `home`'s Cargo.lock, built
    /// into `cache` on first use. `progress` is told before a build starts.
    pub fn ensure(
        home: &Path,
        cache: &Path,
        progress: impl FnOnce(&str),
    ) -> Result<Toolchain, String> {
        private_cache(cache)?;
        let toolchain = Toolchain::locate(home, cache)?;
        if toolchain.is_complete() {
            return Ok(toolchain);
        }
        let dir = toolchain.dir.clone();
        let key = dir
            .file_name()
            .map(|k| k.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = cache.join(format!("{key}.lock"));
        let lock_file =
            File::create(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        lock_file
            .lock()
            .map_err(|e| format!("lock {}: {e}", cache.display()))?;
        if dir.join(COMPLETE).is_file() {
            return Ok(toolchain); // built by another process while we waited
        }
        progress(&format!(
            "building the Solo5 {SOLO5_VERSION} toolchain (once per pinned source) in {}",
            dir.display()
        ));
        let src = source_dir(home)?;
        // An unfinished earlier attempt is discarded; the build happens in
        // place (see the module invariant).
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("remove {}: {e}", dir.display()))?;
        }
        run(Command::new("cp").arg("-r").arg(&src).arg(&dir))?;
        apply_patches(&dir)?;
        std::fs::write(
            dir.join("include/version.h.distrib"),
            format!("#ifndef __VERSION_H__\n#define __VERSION_H__\n#define SOLO5_VERSION \"{SOLO5_VERSION}\"\n#endif\n"),
        )
        .map_err(|e| format!("write version.h.distrib: {e}"))?;
        run(Command::new("./configure.sh").current_dir(&dir))?;
        remap_paths(&dir)?;
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        run(Command::new("make")
            .arg(format!("-j{jobs}"))
            .current_dir(&dir))?;
        relative_links(&dir)?;
        std::fs::write(dir.join(COMPLETE), format!("{SOLO5_VERSION}\n"))
            .map_err(|e| format!("write {}: {e}", dir.join(COMPLETE).display()))?;
        Ok(toolchain)
    }

    /// Where the toolchain for `home`'s pinned sources lives in `cache`,
    /// built or not.
    pub fn locate(home: &Path, cache: &Path) -> Result<Toolchain, String> {
        let path = home.join("Cargo.lock");
        let lock =
            std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        Ok(Toolchain {
            dir: cache.join(key(&lock)?),
            lds: home.join("toolchains/solo5/lds"),
        })
    }

    /// Whether the toolchain is built (see the module invariant).
    pub fn is_complete(&self) -> bool {
        self.dir.join(COMPLETE).is_file()
    }

    /// The tender binary for `hvt` or `spt`.
    pub fn tender(&self, target: &str) -> PathBuf {
        self.dir.join(format!("tenders/{target}/solo5-{target}"))
    }

    /// `solo5-elftool`.
    pub fn elftool(&self) -> PathBuf {
        self.dir.join("elftool/solo5-elftool")
    }

    /// The C compiler wrapper for freestanding Solo5 objects.
    pub fn cc(&self) -> PathBuf {
        self.dir.join("toolchain/bin/x86_64-solo5-none-static-cc")
    }

    /// The bindings object of `target`.
    pub fn bindings(&self, target: &str) -> PathBuf {
        self.dir.join(format!("bindings/solo5_{target}.o"))
    }

    /// The linker script of `target`, adapted for Rust's sections.
    pub fn linker_script(&self, target: &str) -> PathBuf {
        self.lds.join(format!("solo5_{target}.lds"))
    }

    /// Its directory: the built sources, tenders and Solo5's own tests.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Solo5's own C test program `name` (`test_hello`, `test_net`, ...)
    /// for `target`, built from the same (patched) sources.
    pub fn test_program(&self, name: &str, target: &str) -> PathBuf {
        self.dir.join(format!("tests/{name}/{name}.{target}"))
    }

    /// The upstream linker script of `target`, as pinned.
    pub fn upstream_linker_script(&self, target: &str) -> PathBuf {
        self.dir.join(format!("bindings/solo5_{target}.lds"))
    }
}

/// What the hvt SSE probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HvtProbe {
    /// The guest executed SSE: images built from Rust run here.
    Capable,
    /// The guest booted but could not execute SSE; the tender's words.
    NoSse(String),
    /// hvt cannot run at all here (no /dev/kvm, or the tender failed).
    Unavailable(String),
}

const SSE_PROBE: &str = include_str!("../probe/sse_probe.c");
const EMPTY_MANIFEST: &str = "{\"type\": \"solo5.manifest\", \"version\": 1, \"devices\": []}\n";

impl Toolchain {
    /// Builds the SSE probe in `work` and boots it under `solo5-hvt`.
    pub fn probe_hvt(&self, work: &Path) -> Result<HvtProbe, String> {
        if !Path::new("/dev/kvm").exists() {
            return Ok(HvtProbe::Unavailable("no /dev/kvm".into()));
        }
        std::fs::write(work.join("probe.c"), SSE_PROBE)
            .map_err(|e| format!("write probe.c: {e}"))?;
        std::fs::write(work.join("manifest.json"), EMPTY_MANIFEST)
            .map_err(|e| format!("write manifest: {e}"))?;
        run(Command::new(self.elftool())
            .args(["gen-manifest", "manifest.json", "manifest.c"])
            .current_dir(work))?;
        let cc = self.cc();
        run(Command::new(&cc)
            .args(["-c", "probe.c", "-o", "probe.o"])
            .current_dir(work))?;
        run(Command::new(&cc)
            .args(["-c", "manifest.c", "-o", "manifest.o"])
            .current_dir(work))?;
        let ld = self.dir.join("toolchain/bin/x86_64-solo5-none-static-ld");
        run(Command::new(ld)
            .args([
                "-z",
                "solo5-abi=hvt",
                "probe.o",
                "manifest.o",
                "-o",
                "probe.hvt",
            ])
            .current_dir(work))?;
        let out = Command::new(self.tender("hvt"))
            .arg(work.join("probe.hvt"))
            .output()
            .map_err(|e| format!("run solo5-hvt: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        Ok(if out.status.success() && stdout.contains("sse ok") {
            HvtProbe::Capable
        } else if stdout.contains("Solo5: Bindings version") {
            HvtProbe::NoSse(
                stderr
                    .lines()
                    .last()
                    .unwrap_or("no output")
                    .trim()
                    .to_owned(),
            )
        } else {
            HvtProbe::Unavailable(
                stderr
                    .lines()
                    .last()
                    .unwrap_or("no output")
                    .trim()
                    .to_owned(),
            )
        })
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let log = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(format!(
            "{shown} failed: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }
}

/// Rust emits `.bss.*`, `.tdata.*`, `.tbss.*` and `.gcc_except_table*`
/// sections, which upstream's scripts (written for C) do not place: `ld`
/// would add them as orphan sections outside the segments Solo5 maps.
/// These are the patterns our scripts add, next to the upstream ones.
pub const ADDED_PATTERNS: &[(&str, &str)] = &[
    ("*(.rodata.*)", "*(.gcc_except_table*)"),
    ("*(.tdata)", "*(.tdata.*)"),
    ("*(.tbss)", "*(.tbss.*)"),
    ("*(.bss)", "*(.bss.*)"),
];

/// Upstream's linker script with [`ADDED_PATTERNS`] inserted, under a
/// header saying so: the content of `lds/solo5_<target>.lds`.
pub fn adapt_linker_script(upstream: &str) -> String {
    let mut out = String::from(
        "/*\n * rules_mirage: Solo5's linker script, with Rust's sections placed.\n \
         * Differs from upstream only by the lines following `.gcc_except_table`,\n \
         * `.tdata.*`, `.tbss.*` and `.bss.*` patterns, added after their C\n \
         * counterparts: Rust emits these sections and ld would otherwise make\n \
         * them orphans outside Solo5's segments. Generated from the pinned\n \
         * sources by toolchains/solo5 (ADDED_PATTERNS); the e2e test\n \
         * `solo5::linker_scripts_match_upstream` checks it stays so.\n */\n",
    );
    for line in upstream.lines() {
        out.push_str(line);
        out.push('\n');
        for (after, added) in ADDED_PATTERNS {
            if line.trim() == *after {
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!("{indent}{added}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapted_script_places_rust_sections() {
        let upstream = "    .bss :\n    {\n        *(.bss)\n        *(COMMON)\n    }\n";
        assert!(adapt_linker_script(upstream).ends_with(
            "    .bss :\n    {\n        *(.bss)\n        *(.bss.*)\n        *(COMMON)\n    }\n"
        ));
    }
}

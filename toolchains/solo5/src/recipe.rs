//! The recipe's steps between copying the pinned Solo5 sources and
//! running make, and after: our patches, path remapping for the target
//! compiler, relative links. Each step leaves the tree free of this
//! machine's paths (see the crate's invariant).

use std::path::Path;
use std::process::Command;

/// Our changes to the pinned sources, applied in order with `patch -p1`;
/// each file opens with its reason (`patches/`).
pub const PATCHES: [(&str, &str); 4] = [
    (
        "0001-block-flush.patch",
        include_str!("../patches/0001-block-flush.patch"),
    ),
    (
        "0002-net-offload.patch",
        include_str!("../patches/0002-net-offload.patch"),
    ),
    (
        "0003-spt-fault-backtrace.patch",
        include_str!("../patches/0003-spt-fault-backtrace.patch"),
    ),
    (
        "0004-virtio-net-offload.patch",
        include_str!("../patches/0004-virtio-net-offload.patch"),
    ),
];

/// Makes what the target compiler builds independent of where the
/// toolchain lives: `__FILE__` of Solo5's headers (hvt's bindings assert
/// in `hvt_abi.h`) would otherwise carry the toolchain's directory into
/// every hvt image. The wrapper maps its own directory, found when it
/// runs (`$$` is make's escape for `$`), so no path is baked in.
pub(crate) fn remap_paths(dir: &Path) -> Result<(), String> {
    let makeconf = dir.join("Makeconf");
    let text = std::fs::read_to_string(&makeconf).map_err(|e| format!("read Makeconf: {e}"))?;
    let flag = " -ffile-prefix-map=$$(dirname $$0)/..=/solo5";
    let mut found = false;
    let text: String = text
        .lines()
        .map(|l| match l.starts_with("CONFIG_TARGET_CC_CFLAGS=") {
            true => {
                found = true;
                format!("{l}{flag}\n")
            }
            false => format!("{l}\n"),
        })
        .collect();
    if !found {
        return Err("Makeconf has no CONFIG_TARGET_CC_CFLAGS line".into());
    }
    std::fs::write(&makeconf, text).map_err(|e| format!("write Makeconf: {e}"))
}

/// Applies [`PATCHES`] to the copied sources in `dir`.
pub(crate) fn apply_patches(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    for (name, text) in PATCHES {
        let mut child = Command::new("patch")
            .args(["-p1", "--batch", "--forward", "--quiet"])
            .current_dir(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("run patch for {name}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("patch {name}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("patch {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "patch {name} does not apply to the pinned Solo5 sources: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            ));
        }
    }
    Ok(())
}

/// Solo5's build links `toolchain/include/solo5` and
/// `toolchain/lib/x86_64-solo5-none-static` to its tree by absolute path;
/// relative links let the tree move (a Bazel sandbox, a remote worker, a
/// copied cache).
pub(crate) fn relative_links(dir: &Path) -> Result<(), String> {
    for (link, to) in [
        ("toolchain/include/solo5", "../../include"),
        ("toolchain/lib/x86_64-solo5-none-static", "../../bindings"),
    ] {
        let link = dir.join(link);
        std::fs::remove_file(&link).map_err(|e| format!("remove {}: {e}", link.display()))?;
        std::os::unix::fs::symlink(to, &link)
            .map_err(|e| format!("link {}: {e}", link.display()))?;
    }
    Ok(())
}

//! How cargo is run for every image: its target directory, where it keeps
//! crate sources, and the rustflags that make builds reproducible (source
//! paths remapped to names that do not depend on the machine).

use std::path::PathBuf;

use crate::workspace::Workspace;

/// The cargo target directory: `$CARGO_TARGET_DIR`, else `mirage-out/target`.
pub fn target_dir(ws: &Workspace) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.out_root().join("target"))
}

/// Where cargo keeps crate sources: each registry's unpacked sources
/// under `$CARGO_HOME` (default `~/.cargo`), and `$MIRAGE_CRATES`, the
/// vendored copy Bazel builds with. Crates are `NAME-VERSION` in each.
pub fn crate_source_dirs() -> Vec<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut dirs: Vec<PathBuf> = cargo_home
        .and_then(|h| std::fs::read_dir(h.join("registry/src")).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    dirs.sort();
    dirs.extend(std::env::var_os("MIRAGE_CRATES").map(PathBuf::from));
    dirs
}

/// The flags of every rustc invocation, in order: the checkout's remaps
/// ([`checkout_remaps`]), then cargo's [`rustflags`].
pub fn all_rustflags(ws: &Workspace) -> Vec<String> {
    let mut flags = checkout_remaps(ws);
    flags.extend(rustflags().split('\x1f').map(str::to_owned));
    flags
}

/// The workspace remapped to `.`, and rules_mirage's home to
/// `@rules_mirage` when the workspace is another. The rustc wrapper adds
/// them (before cargo's rustflags, see [`REMAPS_ENV`]): cargo fingerprints
/// its rustflags, so flags naming the checkout would have every copy of it
/// recompile the registry crates, which these remaps leave alone, and
/// evict what another copy compiled into a shared target directory.
///
/// [`REMAPS_ENV`]: crate::build::rustc_wrapper::REMAPS_ENV
pub fn checkout_remaps(ws: &Workspace) -> Vec<String> {
    let mut flags = vec![format!("--remap-path-prefix={}=.", ws.root.display())];
    if !ws.home_is_root() {
        flags.push(format!(
            "--remap-path-prefix={}=@rules_mirage",
            ws.home.display()
        ));
    }
    flags
}

/// Cargo's rustflags (its encoded form: 0x1f between flags): crate
/// sources' remaps, no build id from the linker, and frame pointers.
pub fn rustflags() -> String {
    // After the checkout's remaps: the last matching prefix wins, and a
    // vendored copy may live inside the workspace.
    let mut flags: Vec<String> = crate_source_dirs()
        .iter()
        .map(|dir| format!("--remap-path-prefix={}=crates", dir.display()))
        .collect();
    // The build id is the stripped image's digest (debug_file.rs).
    flags.push("-Clink-arg=-Wl,--build-id=none".to_owned());
    // A panic walks the frame-pointer chain (mirage_runtime::backtrace).
    flags.push("-Cforce-frame-pointers=yes".to_owned());
    flags.join("\x1f")
}

//! The rustc wrapper cargo runs under `mirage build`.
//!
//! `RUSTC_WRAPPER` is the generator itself, marked by [`WRAPPER_ENV`]. It
//! gives every compiled crate the `-C metadata` of [`metadata`]: a digest of
//! what the compile is (package, crate name, edition, crate types, target,
//! cfgs and codegen options), not cargo's hash, which also covers cargo's
//! own version and the package's place. The metadata shapes the image's
//! code (symbol hashes, and with them code layout), so with it any executor
//! that runs rustc with the same flags, cargo or one action per crate,
//! gives the same bytes.
//!
//! Paths are remapped further (see [`main`]): the checkout (given by
//! [`REMAPS_ENV`], outside cargo's fingerprints), directories reached through
//! links, and the generated crate's directory to `.`; everything else
//! passes through unchanged. `rustc -vV` gains one line,
//! [`IDENTITY`], so cargo, which fingerprints that output, rebuilds crates
//! compiled without the wrapper. A wrapper of the user's own
//! (`RUSTC_WRAPPER` when mirage started) still runs, after this one.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Set (to the user's own wrapper, or empty) in cargo's environment: the
/// generator then runs as the rustc wrapper.
pub const WRAPPER_ENV: &str = "MIRAGE_RUSTC_WRAPPER";

/// Set in cargo's environment to the checkout's remaps (0x1f between
/// them, see [`checkout_remaps`]), which the wrapper puts just before
/// cargo's rustflags: the compile's arguments are as if cargo had them,
/// while cargo's fingerprints name no checkout, so a registry crate one
/// checkout compiled serves another. A crate of the checkout itself is
/// another matter: cargo names it by its path inside the generated crate
/// (`workspace/...`), the same in every checkout, and would take one
/// checkout's compile for another's whose files are older. Its dep-info
/// therefore says it read this variable ([`mark_dep_info`]), and cargo,
/// which compares such values, compiles it again in another checkout.
///
/// [`checkout_remaps`]: crate::build::cargo::checkout_remaps
pub const REMAPS_ENV: &str = "MIRAGE_CHECKOUT_REMAPS";

/// The line `rustc -vV` gains, naming how crates get their metadata and
/// their compile directory.
pub const IDENTITY: &str = "mirage-metadata: compile-digest-2, comp-dir-dot";

/// `-C` options that are not what the crate is: names and places of
/// outputs, and link arguments (which carry paths).
const NOT_IDENTITY: &[&str] = &[
    "metadata",
    "extra-filename",
    "incremental",
    "linker",
    "link-arg",
    "link-args",
];

/// The `-C metadata` of a compile: the first 16 hex digits of the sha256
/// of the package, its version, and the compile's identifying arguments
/// in a fixed order.
pub fn metadata(package: &str, version: &str, args: &[String]) -> String {
    let mut lines = vec![format!("package {package} {version}")];
    let mut i = 0;
    while i < args.len() {
        let (flag, value) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ if args[i].starts_with("-C") && args[i].len() > 2 => {
                ("-C", Some(args[i][2..].to_owned()))
            }
            _ => (args[i].as_str(), None),
        };
        let takes_value = matches!(
            flag,
            "--crate-name" | "--edition" | "--crate-type" | "--target" | "--cfg" | "-C"
        );
        let value = match value {
            Some(v) => Some(v),
            None if takes_value => {
                i += 1;
                args.get(i).cloned()
            }
            None => None,
        };
        i += 1;
        let Some(value) = value.filter(|_| takes_value) else {
            continue;
        };
        let option = value.split_once('=').map_or(value.as_str(), |(o, _)| o);
        if flag == "-C" && NOT_IDENTITY.contains(&option) {
            continue;
        }
        lines.push(format!("{flag} {value}"));
    }
    // Cargo's order of cfgs and codegen options is its own.
    lines[1..].sort();
    let digest = Sha256::digest(lines.join("\n").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `args` with the value of `-C metadata` replaced by [`metadata`].
fn with_metadata(package: &str, version: &str, args: &[String]) -> Vec<String> {
    let ours = metadata(package, version, args);
    let mut out = Vec::with_capacity(args.len());
    let mut after_c = false;
    for a in args {
        let replaced = if after_c && a.starts_with("metadata=") {
            format!("metadata={ours}")
        } else if a.starts_with("-Cmetadata=") {
            format!("-Cmetadata={ours}")
        } else {
            a.clone()
        };
        after_c = a == "-C";
        out.push(replaced);
    }
    out
}

/// `args` with `remaps` inserted before `rustflags` where `args` ends with
/// them (a compile for the host, when cargo builds for another target,
/// gets no rustflags and no remaps, as it would from cargo).
fn with_checkout_remaps(mut args: Vec<String>, remaps: &str, rustflags: &str) -> Vec<String> {
    let tail: Vec<String> = rustflags
        .split('\x1f')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    if tail.is_empty() || !args.ends_with(&tail) {
        return args;
    }
    let remaps = remaps.split('\x1f').filter(|f| !f.is_empty());
    let at = args.len() - tail.len();
    args.splice(at..at, remaps.map(str::to_owned));
    args
}

/// The dep-info file of a compile whose crate lies in one of the
/// checkout's directories (a `--remap-path-prefix=DIR=..` of `remaps`),
/// relative to `cwd`: `None` for a crate from elsewhere (a registry) or a
/// compile that writes no dep-info.
fn checkout_dep_info(args: &[String], remaps: &str, cwd: &Path) -> Option<PathBuf> {
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).map(String::as_str)
    };
    let source = cwd.join(
        args.iter()
            .find(|a| !a.starts_with('-') && a.ends_with(".rs"))?,
    );
    let real = std::fs::canonicalize(&source).unwrap_or_else(|_| source.clone());
    let inside = remaps
        .split('\x1f')
        .filter_map(|r| r.strip_prefix("--remap-path-prefix=")?.split_once('='))
        .any(|(dir, _)| {
            let dir = Path::new(dir);
            source.starts_with(dir) || std::fs::canonicalize(dir).is_ok_and(|d| real.starts_with(d))
        });
    let emits_dep_info = args
        .iter()
        .any(|a| a.starts_with("--emit=") && a.contains("dep-info"));
    if !inside || !emits_dep_info {
        return None;
    }
    let extra = args.iter().enumerate().find_map(|(i, a)| {
        let option = if a == "-C" {
            args.get(i + 1)?
        } else {
            a.strip_prefix("-C")?
        };
        option.strip_prefix("extra-filename=")
    });
    let name = format!("{}{}.d", value("--crate-name")?, extra.unwrap_or(""));
    Some(Path::new(value("--out-dir")?).join(name))
}

/// Adds to the dep-info file `path` that the compile read [`REMAPS_ENV`]
/// as `remaps` (rustc's `# env-dep:` line, which cargo keeps with its
/// fingerprint and compares with its own environment next time).
fn mark_dep_info(path: &Path, remaps: &str) -> std::io::Result<()> {
    use std::io::Write;
    let value = remaps.replace('\\', "\\\\").replace('\n', "\\n");
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    writeln!(file, "# env-dep:{REMAPS_ENV}={value}")
}

/// Runs as the wrapper: `argv` is `[wrapper, rustc, args...]`. Returns
/// the exit code.
pub fn main(argv: &[String]) -> i32 {
    let Some((rustc, args)) = argv.get(1..).and_then(<[String]>::split_first) else {
        eprintln!("mirage: error: as RUSTC_WRAPPER, expected a rustc and its arguments");
        return 2;
    };
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let remaps = std::env::var(REMAPS_ENV).unwrap_or_default();
    let args = with_checkout_remaps(
        with_metadata(&package, &version, args),
        &remaps,
        &std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default(),
    );
    let next = std::env::var(WRAPPER_ENV).unwrap_or_default();
    let mut cmd = if next.is_empty() {
        Command::new(rustc)
    } else {
        let mut c = Command::new(next);
        c.arg(rustc);
        c
    };
    cmd.args(&args);
    if args == ["-vV"] {
        return match cmd.output() {
            Ok(out) => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&out.stdout);
                let _ = writeln!(stdout, "{IDENTITY}");
                let _ = std::io::stderr().write_all(&out.stderr);
                out.status.code().unwrap_or(1)
            }
            Err(e) => {
                eprintln!("mirage: error: run {rustc}: {e}");
                1
            }
        };
    }
    // Not in the recorded arguments (Bazel's unit runner adds its own):
    // a remapped directory reached through a link (Bazel's external/) is
    // remapped as rustc records it too, links resolved; and a compile in
    // the generated crate's directory (the crate itself and path crates;
    // registry crates compile in their own) has `.` as DWARF's comp_dir,
    // since cargo compiles a crate several images share once, in the
    // directory of the first, which must not show in the others' debug
    // files.
    cmd.args(args.iter().filter_map(|a| mirage_unit::resolved_remap(a)));
    let cwd = std::env::current_dir().ok();
    if let Some(cwd) = &cwd {
        cmd.args(mirage_unit::own_directory_remaps(cwd));
    }
    let dep_info = cwd.and_then(|cwd| checkout_dep_info(&args, &remaps, &cwd));
    let code = if let Some(dir) = std::env::var_os(crate::build::record::RECORD_ENV) {
        crate::build::record::compile(Path::new(&dir), cmd, &args)
    } else if dep_info.is_none() {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        eprintln!("mirage: error: run {rustc}: {e}");
        return 1;
    } else {
        match cmd.status() {
            Ok(s) => s.code().unwrap_or(1),
            Err(e) => {
                eprintln!("mirage: error: run {rustc}: {e}");
                return 1;
            }
        }
    };
    if let (0, Some(path)) = (code, dep_info) {
        if let Err(e) = mark_dep_info(&path, &remaps) {
            eprintln!("mirage: error: {}: {e}", path.display());
            return 1;
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn metadata_follows_the_compile_not_cargos_hash_or_paths() {
        let a = args(
            "--crate-name log --edition=2021 src/lib.rs --crate-type lib -C opt-level=3 \
             -C metadata=aaaa -C extra-filename=-bbbb --out-dir /x/deps --target x86_64-unknown-none \
             --cfg feature=\"std\" -L dependency=/x/deps --extern a=/x/deps/liba-1.rlib",
        );
        let b = args(
            "--crate-name log --edition=2021 src/lib.rs --crate-type lib -Copt-level=3 \
             -C metadata=cccc -C extra-filename=-dddd --out-dir /y/deps --target x86_64-unknown-none \
             --cfg feature=\"std\" -L dependency=/y/deps --extern a=/y/deps/liba-2.rlib",
        );
        assert_eq!(metadata("log", "0.4.1", &a), metadata("log", "0.4.1", &b));
        assert_ne!(metadata("log", "0.4.1", &a), metadata("log", "0.4.2", &a));
        let host = args("--crate-name log --edition=2021 --crate-type lib -C opt-level=3");
        assert_ne!(
            metadata("log", "0.4.1", &a),
            metadata("log", "0.4.1", &host)
        );
        let debug = args(
            "--crate-name log --edition=2021 --crate-type lib -C opt-level=0 --target x86_64-unknown-none --cfg feature=\"std\"",
        );
        assert_ne!(
            metadata("log", "0.4.1", &a),
            metadata("log", "0.4.1", &debug)
        );
    }

    #[test]
    fn checkout_remaps_go_before_cargos_rustflags_when_it_gave_them() {
        let flags = "--remap-path-prefix=/reg=crates\x1f-Cforce-frame-pointers=yes";
        let remaps = "--remap-path-prefix=/ws=.\x1f--remap-path-prefix=/home=@rules_mirage";
        let target = args(
            "--crate-name m src/lib.rs --target x --remap-path-prefix=/reg=crates -Cforce-frame-pointers=yes",
        );
        assert_eq!(
            with_checkout_remaps(target, remaps, flags),
            args(
                "--crate-name m src/lib.rs --target x --remap-path-prefix=/ws=. \
                 --remap-path-prefix=/home=@rules_mirage --remap-path-prefix=/reg=crates \
                 -Cforce-frame-pointers=yes"
            )
        );
        let host = args("--crate-name build_script_build build.rs");
        assert_eq!(with_checkout_remaps(host.clone(), remaps, flags), host);
        assert_eq!(with_checkout_remaps(host.clone(), remaps, ""), host);
    }

    #[test]
    fn only_the_checkouts_crates_are_marked_in_their_dep_info() {
        let ws = tempfile::tempdir().unwrap();
        let cwd = ws.path().join("mirage-out/hello/hello/unix");
        std::fs::create_dir_all(&cwd).unwrap();
        std::os::unix::fs::symlink(ws.path(), cwd.join("workspace")).unwrap();
        let remaps = format!("--remap-path-prefix={}=.", ws.path().display());
        let compile = |source: &str| {
            args(&format!(
                "--crate-name hello --edition=2021 {source} --emit=dep-info,link \
                 -C extra-filename=-abc --out-dir /t/deps"
            ))
        };
        let own = compile("workspace/examples/hello/src/lib.rs");
        assert_eq!(
            checkout_dep_info(&own, &remaps, &cwd),
            Some(PathBuf::from("/t/deps/hello-abc.d"))
        );
        let registry = compile("/reg/log-0.4/src/lib.rs");
        assert_eq!(checkout_dep_info(&registry, &remaps, &cwd), None);
        assert_eq!(checkout_dep_info(&own, "", &cwd), None);

        let d = ws.path().join("hello.d");
        std::fs::write(&d, "hello.d: src/lib.rs\n").unwrap();
        mark_dep_info(&d, &remaps).unwrap();
        assert_eq!(
            std::fs::read_to_string(&d).unwrap(),
            format!("hello.d: src/lib.rs\n# env-dep:{REMAPS_ENV}={remaps}\n")
        );
    }

    #[test]
    fn only_the_metadata_value_changes() {
        let a = args("--crate-name m -C metadata=aaaa -C extra-filename=-aaaa -Cmetadata=x");
        let out = with_metadata("m", "0.1.0", &a);
        let ours = metadata("m", "0.1.0", &a);
        assert_eq!(out[3], format!("metadata={ours}"));
        assert_eq!(out[5], "extra-filename=-aaaa");
        assert_eq!(out[6], format!("-Cmetadata={ours}"));
        assert_eq!(out.len(), a.len());
    }
}

//! `mirage new`: scaffold a workspace that builds and boots on unix and
//! spt, under the CLI and under Bazel, as is; `mirage new --device NAME`
//! adds a device crate with a unix and a Solo5 implementation.
//!
//! Like `cargo new`, it never overwrites: an existing destination is an
//! error. A device is wired into the app when the app's files are still
//! as `mirage new` wrote them; otherwise `mirage` says what to add.

use std::path::Path;

use crate::action::{write_atomically, File, FileKind};
use crate::error::{Error, Result};
use crate::workspace::{link_home, HOME_LINK, OUT_DIR};

/// Checks a name for a unikernel or device: it becomes a crate, a Bazel
/// target and a Rust identifier.
fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::user(format!(
            "{what} name `{name}` must be lowercase letters, digits and `_`, starting with a letter"
        )))
    }
}

/// `CamelCase` of a snake_case name, for the device's trait.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The app's files, with `device` wired in when given.
fn app_files(name: &str, home: &Path, device: Option<&str>) -> Vec<File> {
    let home = home.display();
    let (params, args, dep, generics, start_args, body, test_connect, test_args) = match device {
        None => (
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Some(d) => (
            format!("        \"{d}\": \"{d}\",\n"),
            format!("        \"{d}\": \"//{d}\",\n"),
            format!("{d} = {{ path = \"{d}\" }}\n"),
            format!(", D: {d}::{}", camel(d)),
            format!(", {d}: D"),
            format!("    log::info!(\"{d} runs on {{}}\", {d}.platform());\n"),
            format!("            let {d} = {d}::Unix::connect().await?;\n"),
            format!(", {d}"),
        ),
    };
    vec![
        File::new(
            "WORKSPACE.bazel",
            format!(
                "# The root of the workspace, for Bazel and for `mirage`.\n\
                 workspace(name = \"{name}\")\n\n\
                 # Where rules_mirage is: edit the path if you move it.\n\
                 local_repository(\n    name = \"rules_mirage\",\n    path = \"{home}\",\n)\n\n\
                 load(\"@rules_mirage//rules_mirage:repositories.bzl\", \"rules_mirage_dependencies\")\n\n\
                 rules_mirage_dependencies()\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            ".bazelrc",
            "# rules_mirage builds offline and hermetically (see its README).\n\
             build --experimental_repository_disable_download\n\
             build --nosandbox_debug\n\
             build --incompatible_strict_action_env\n\
             build --sandbox_default_allow_network=false\n\
             build --disk_cache=~/.cache/rules_mirage/bazel-disk\n\
             test --test_output=errors\n",
            FileKind::Plain,
        ),
        File::new(
            ".gitignore",
            "/mirage-out\n/bazel-*\n/target\n",
            FileKind::Plain,
        ),
        File::new(
            "BUILD.bazel",
            format!(
                "load(\"@rules_mirage//rules_mirage:defs.bzl\", \"mirage_unikernel\")\n\n\
                 # `mirage run -t spt //:{name}` or `bazel run //:{name}_spt` boots it.\n\
                 mirage_unikernel(\n    name = \"{name}\",\n\
                 \x20   srcs = glob([\"Cargo.toml\", \"src/**/*.rs\"]),\n\
                 \x20   # The function called once every device is connected.\n\
                 \x20   main = \"{name}::start\",\n\
                 \x20   # `start`'s device parameters, in its order: name -> device type.\n\
                 \x20   params = {{\n        \"time\": \"time\",\n{params}    }},\n\
                 \x20   # The device each parameter gets.\n\
                 \x20   args = {{\n        \"time\": \"@rules_mirage//rules_mirage/devices:default_time\",\n{args}    }},\n\
                 \x20   # Where it builds: `bazel build //...` builds these.\n\
                 \x20   targets = [\"unix\", \"spt\"],\n)\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            "Cargo.toml",
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\n\
                 # Logging: the unikernel's reporter prints it (`-- -l debug` for more).\n\
                 log = {{ version = \"0.4\", default-features = false }}\n\
                 # The device traits; builds use the rules_mirage they run with.\n\
                 mirage-types = \"0.1\"\n{dep}\n\
                 # `cargo test` runs `start` on the host, on the unix platform.\n\
                 [dev-dependencies]\n\
                 mirage-runtime = \"0.1\"\n\
                 mirage-unix = \"0.1\"\n\n\
                 # For cargo check, clippy and test here (and so your editor): the\n\
                 # rules_mirage crates, through the link every `mirage` command in this\n\
                 # workspace keeps to the rules_mirage it runs with. Image builds set\n\
                 # their own and ignore these.\n\
                 [patch.crates-io]\n\
                 mirage-types = {{ path = \"{OUT_DIR}/{HOME_LINK}/runtimes/types\" }}\n\
                 mirage-runtime = {{ path = \"{OUT_DIR}/{HOME_LINK}/runtimes/core\" }}\n\
                 mirage-unix = {{ path = \"{OUT_DIR}/{HOME_LINK}/runtimes/unix\" }}\n\n\
                 # The app and its device crates are one cargo workspace.\n\
                 [workspace]\n\
                 exclude = [\"{OUT_DIR}\"]\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            "src/lib.rs",
            format!(
                "//! The unikernel {name}.\n\
                 // no_std: the same code runs as a unix process and on Solo5.\n\
                 #![no_std]\n\n\
                 use core::convert::Infallible;\n\n\
                 use mirage_types::Time;\n\n\
                 /// Called once every device is connected; its parameters follow\n\
                 /// `params` in BUILD.bazel, in order. An error ends the image.\n\
                 pub async fn start<T: Time{generics}>(time: T{start_args}) -> Result<(), Infallible> {{\n\
                 \x20   log::info!(\"hello from {name}\");\n{body}\
                 \x20   time.sleep_ns(100_000_000).await;\n\
                 \x20   log::info!(\"goodbye\");\n    Ok(())\n}}\n\n\
                 // `cargo test`: `start` on the host with the unix devices, no image.\n\
                 #[cfg(test)]\n\
                 mod tests {{\n\
                 \x20   #[test]\n\
                 \x20   fn start_ends_well() {{\n\
                 \x20       let started = mirage_unix::run_test(async {{\n\
                 \x20           let time = mirage_runtime::time::Time::connect().await?;\n{test_connect}\
                 \x20           super::start(time{test_args}).await\n\
                 \x20       }});\n\
                 \x20       assert!(started.is_ok());\n\
                 \x20   }}\n\
                 }}\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            ".bazelignore",
            format!("# mirage's outputs, whose links lead back here and to rules_mirage.\n{OUT_DIR}\n"),
            FileKind::Plain,
        ),
    ]
}

/// The device package's files.
fn device_files(name: &str) -> Vec<File> {
    let trait_name = camel(name);
    vec![
        File::new(
            format!("{name}/BUILD.bazel"),
            format!(
                "load(\"@rules_mirage//rules_mirage:defs.bzl\", \"mirage_crate\", \"mirage_device\")\n\n\
                 # Unikernels anywhere in the workspace may use the device.\n\
                 package(default_visibility = [\"//visibility:public\"])\n\n\
                 # The crate the implementations live in.\n\
                 mirage_crate(\n    name = \"crate\",\n    srcs = glob([\"Cargo.toml\", \"src/**/*.rs\"]),\n)\n\n\
                 # The device: its type, and the Rust path of each implementation.\n\
                 mirage_device(\n    name = \"{name}\",\n    type = \"{name}\",\n\
                 \x20   impls = {{\n        \"unix\": \"{name}::Unix\",\n        \"solo5\": \"{name}::Solo5\",\n    }},\n\
                 \x20   crates = [\":crate\"],\n    doc = \"The {name} device.\",\n)\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            format!("{name}/Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\nmirage-types = \"0.1\"\n"
            ),
            FileKind::Plain,
        ),
        File::new(
            format!("{name}/src/lib.rs"),
            format!(
                "//! The `{name}` device type, with a unix and a Solo5 implementation.\n\
                 // no_std: Solo5 images have no standard library.\n\
                 #![no_std]\n\n\
                 use core::convert::Infallible;\n\n\
                 /// The `{name}` device type: what a unikernel may ask of it.\n\
                 pub trait {trait_name}: Clone {{\n\
                 \x20   /// Where it runs (replace with your device's operations).\n\
                 \x20   fn platform(&self) -> &'static str;\n}}\n\n\
                 /// The unix implementation.\n#[derive(Clone)]\npub struct Unix;\n\n\
                 impl Unix {{\n    /// Connects the device; `connect` in BUILD.bazel calls it.\n\
                 \x20   pub async fn connect() -> Result<Unix, Infallible> {{\n        Ok(Unix)\n    }}\n}}\n\n\
                 impl {trait_name} for Unix {{\n    fn platform(&self) -> &'static str {{\n        \"unix\"\n    }}\n}}\n\n\
                 /// The Solo5 implementation.\n#[derive(Clone)]\npub struct Solo5;\n\n\
                 impl Solo5 {{\n    /// Connects the device.\n\
                 \x20   pub async fn connect() -> Result<Solo5, Infallible> {{\n        Ok(Solo5)\n    }}\n}}\n\n\
                 impl {trait_name} for Solo5 {{\n    fn platform(&self) -> &'static str {{\n        \"Solo5\"\n    }}\n}}\n"
            ),
            FileKind::Plain,
        ),
    ]
}

/// Writes `files` under `root`; none may exist yet.
fn write_new(root: &Path, files: &[File]) -> Result<()> {
    for f in files {
        let path = root.join(&f.path);
        if path.exists() {
            return Err(Error::user(format!(
                "destination `{}` already exists",
                path.display()
            )));
        }
    }
    for f in files {
        write_atomically(&root.join(&f.path), &f.contents)?;
    }
    Ok(())
}

/// `mirage new NAME` in `cwd`: a new workspace `NAME/`.
pub fn app(cwd: &Path, name: &str, home: &Path) -> Result<i32> {
    check_name(name, "unikernel")?;
    let root = cwd.join(name);
    if root.exists() {
        return Err(Error::user(format!(
            "destination `{}` already exists",
            root.display()
        )));
    }
    write_new(&root, &app_files(name, home, None))?;
    link_home(&root, home)?;
    eprintln!(
        "mirage: created {name}/: `cd {name} && mirage run -t spt //:{name}` boots it \
         (or `bazel run //:{name}_spt`)"
    );
    Ok(0)
}

/// `mirage new --device NAME` in the workspace at `root`: a device package
/// `NAME/`, wired into the app when its files are as `mirage new` wrote them.
pub fn device(root: &Path, name: &str, home: &Path) -> Result<i32> {
    check_name(name, "device")?;
    write_new(root, &device_files(name))?;
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let app = manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_default();
    let pristine = !app.is_empty()
        && app_files(app, home, None)
            .iter()
            .all(|f| std::fs::read(root.join(&f.path)).is_ok_and(|c| c == f.contents));
    if !pristine {
        eprintln!(
            "mirage: created {name}/ (device //{name}); the app's files were edited, so wire it yourself: \
             params {{\"{name}\": \"{name}\"}} and args {{\"{name}\": \"//{name}\"}} in mirage_unikernel, \
             `{name} = {{ path = \"{name}\" }}` in Cargo.toml, and a `{name}` parameter of `start`"
        );
        return Ok(0);
    }
    for f in app_files(app, home, Some(name)) {
        let path = root.join(&f.path);
        if std::fs::read(&path).is_ok_and(|c| c == f.contents) {
            continue;
        }
        write_atomically(&path, &f.contents)?;
    }
    eprintln!("mirage: created {name}/ (device //{name}) and passed it to {app}'s start");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crates_and_traits() {
        assert_eq!(camel("rng"), "Rng");
        assert_eq!(camel("my_dev2"), "MyDev2");
        assert!(check_name("hello_2", "x").is_ok());
        for bad in ["", "Hello", "2go", "my-app", "a b"] {
            assert!(check_name(bad, "x").is_err(), "{bad}");
        }
    }
}

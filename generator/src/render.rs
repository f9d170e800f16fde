//! Rendering: a [`Resolved`] unikernel becomes a [`Plan`] of files.
//!
//! Templates live in `generator/templates/` and are compiled in. Everything
//! rendered is a function of the resolved graph and of relative paths: no
//! timestamps, no absolute paths, no hash-map order, so two runs (and two
//! checkouts) give identical bytes.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Context, Tera};

use crate::action::{File, Plan};
use crate::error::{Error, IoContext, Loc, Result};
use crate::label::Label;
use crate::model::device::Solo5Device;
use crate::model::target::{Family, Target};
use crate::resolve::{Instance, KeyValue, Resolved};
use crate::workspace::Workspace;

/// The generator's version, written into generated headers.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Templates by name, compiled in from `generator/templates/`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "header.rs.tera",
    "statics.rs.tera",
    "start.rs.tera",
    "main_unix.rs.tera",
    "main_solo5.rs.tera",
    "Cargo.toml.tera",
    "run.sh.tera",
    "xl.tera",
    "libvirt.xml.tera",
);

/// The directory of a unikernel's outputs, `mirage-out/<package>/<name>`,
/// holding the recorded configuration (`context.json`) and one directory
/// per target, so that images for several targets build side by side.
pub fn unikernel_dir(ws: &Workspace, label: &Label) -> PathBuf {
    let mut dir = ws.out_root();
    if let Some(repo) = &label.repo {
        dir = dir.join("external").join(repo);
    }
    dir.join(&label.package).join(&label.name)
}

/// The generated files and image of a unikernel for one target.
pub fn out_dir(ws: &Workspace, label: &Label, target: Target) -> PathBuf {
    unikernel_dir(ws, label).join(target.name())
}

/// The image file name: the label's name, with `.TARGET` off unix.
pub fn image_name(r: &Resolved) -> String {
    match r.target.family() {
        Family::Unix => r.label.name.clone(),
        Family::Solo5 => format!("{}.{}", r.label.name, r.target),
    }
}

#[derive(Serialize)]
struct DeviceView {
    var: String,
    labels: Vec<String>,
    typ: String,
    impl_path: String,
    doc: String,
    connect: String,
    used: bool,
}

#[derive(Serialize)]
struct ArgView {
    name: String,
    short: Option<char>,
    kind: &'static str,
    default: Option<String>,
    doc: String,
    owner: String,
    loc: String,
    check: Option<String>,
}

#[derive(Serialize)]
struct CrateView {
    lib_name: String,
    package_name: String,
    path: String,
}

/// The command that regenerates these files.
pub fn regenerate_command(r: &Resolved) -> String {
    let mut cmd = format!("mirage configure -t {} {}", r.target, r.label);
    for k in r.keys.iter().filter(|k| !k.is_default) {
        cmd.push_str(&format!(" --{}={}", k.name, k.value));
    }
    cmd
}

/// Renders every generated file of `r`.
pub fn render(ws: &Workspace, r: &Resolved) -> Result<Plan> {
    let dir = out_dir(ws, &r.label, r.target);
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.to_vec())
        .map_err(|e| Error::system(format!("templates: {e:?}")))?;
    let solo5_devices = r.solo5_devices()?;
    let attached = attached_files(ws, r, &solo5_devices);
    let crunches = r
        .instances
        .iter()
        .filter_map(|d| d.crunch.as_ref().map(|dir| crunch_view(ws, d, dir)))
        .collect::<Result<Vec<_>>>()?;
    let used: Vec<bool> = (0..r.instances.len())
        .map(|i| {
            r.instances
                .iter()
                .chain([&r.main])
                .any(|d| d.args.iter().any(|(_, a)| *a == i))
        })
        .collect();
    let devices = r
        .instances
        .iter()
        .zip(&used)
        .map(|(d, &used)| view(r, d, used, &attached))
        .collect::<Result<Vec<_>>>()?;
    let main = view(r, &r.main, true, &attached)?;
    let runtime_args: Vec<ArgView> = r
        .runtime_args
        .iter()
        .map(|a| ArgView {
            name: a.name.clone(),
            short: a.short,
            kind: a.kind.runtime_variant(),
            default: a.default.clone(),
            doc: a.doc.clone(),
            owner: a.label.to_string(),
            loc: a.loc.to_string(),
            check: a.check.clone(),
        })
        .collect();
    let crates: Vec<CrateView> = r
        .crates
        .iter()
        .map(|c| CrateView {
            lib_name: c.lib_name.clone(),
            package_name: c.package_name.clone(),
            path: crate_path(ws, &dir, &c.dir),
        })
        .collect();
    let program = r.label.name.clone();
    let mut ctx = Context::new();
    ctx.insert("label", &r.label.to_string());
    ctx.insert("target", r.target.name());
    ctx.insert("version", VERSION);
    ctx.insert("build_loc", &r.loc.to_string());
    ctx.insert("regenerate", &regenerate_command(r));
    ctx.insert("keys", &r.keys);
    let mut key_lines: Vec<String> = r
        .keys
        .iter()
        .map(|k| {
            format!(
                "- {} = {}{}",
                k.name,
                k.value,
                if k.is_default { " (default)" } else { "" }
            )
        })
        .collect();
    if key_lines.is_empty() {
        key_lines.push("(none)".to_owned());
    }
    ctx.insert("key_lines", &key_lines);
    ctx.insert("devices", &devices);
    ctx.insert("main", &main);
    ctx.insert("runtime_args", &runtime_args);
    ctx.insert("crunches", &crunches);
    ctx.insert("crates", &crates);
    ctx.insert("program", &program);
    ctx.insert("image", &image_name(r));
    ctx.insert(
        "package",
        &format!("mirage-{}-{}", program.replace('_', "-"), r.target),
    );
    let (family, main_template) = match r.target.family() {
        Family::Unix => ("unix", "main_unix.rs.tera"),
        Family::Solo5 => ("solo5", "main_solo5.rs.tera"),
    };
    ctx.insert("family", family);
    ctx.insert("memory", &MEMORY_MIB);
    ctx.insert("qemu_args", &QEMU_ARGS.join(" "));
    let lock_path = ws.home.join("Cargo.lock");
    let lock = std::fs::read(&lock_path).io_context(|| format!("read {}", lock_path.display()))?;
    if r.target.family() == Family::Solo5 {
        let key = mirage_toolchain_solo5::key(&String::from_utf8_lossy(&lock))
            .map_err(|e| Error::system(format!("{}: {e}", lock_path.display())))?;
        ctx.insert("toolchain_key", &key);
    }
    let run = |name: &str| {
        tera.render(name, &ctx)
            .map_err(|e| Error::system(format!("rendering {name}: {e:?}")))
    };
    let file = |path: &str, contents: String| File {
        path: path.to_owned(),
        contents: contents.into_bytes(),
        executable: path.ends_with(".sh"),
        symlink: false,
        seed: false,
    };
    let lock_sha256 = hex(&Sha256::digest(&lock));
    let mut files = vec![
        file("main.rs", run(main_template)?),
        file("Cargo.toml", run("Cargo.toml.tera")?),
        File {
            path: "Cargo.lock".into(),
            contents: lock,
            executable: false,
            symlink: false,
            seed: true,
        },
        file("run.sh", run("run.sh.tera")?),
        file("context.json", context_json(r, &lock_sha256)),
    ];
    files.push(File {
        path: WORKSPACE_LINK.to_owned(),
        contents: relative(&dir, &ws.root).into_bytes(),
        executable: false,
        symlink: true,
        seed: false,
    });
    if r.target.family() == Family::Solo5 {
        files.push(file("manifest.json", manifest_json(&solo5_devices)));
    }
    for d in &solo5_devices {
        if let Some(dir) = &d.tar_of {
            files.push(File {
                path: format!("{}.tar", d.name),
                contents: tar_archive(ws, dir, &d.loc)?,
                executable: false,
                symlink: false,
                seed: false,
            });
        }
    }
    match r.target {
        Target::Xen | Target::Qubes => {
            ctx.insert("kernel", &format!("dist/{}", image_name(r)));
            ctx.insert("cmdline", "");
            let xl = tera
                .render("xl.tera", &ctx)
                .map_err(|e| Error::system(format!("rendering xl: {e:?}")))?;
            ctx.insert("kernel", "@KERNEL@");
            ctx.insert("cmdline", "@CMDLINE@");
            let xl_in = tera
                .render("xl.tera", &ctx)
                .map_err(|e| Error::system(format!("rendering xl: {e:?}")))?;
            files.push(file(&format!("{program}.xl"), xl));
            files.push(file(&format!("{program}.xl.in"), xl_in));
        }
        Target::Virtio => files.push(file(
            &format!("{program}.virtio.xml"),
            run("libvirt.xml.tera")?,
        )),
        _ => {}
    }
    Ok(Plan { dir, files })
}

/// Memory given to a guest by the generated xl and libvirt files, in MiB.
const MEMORY_MIB: u32 = 128;

/// QEMU flags that boot a virtio image here: TCG with a CPU Solo5 supports,
/// the serial console on stdio, and `isa-debug-exit` so `solo5_exit` ends
/// QEMU (always with status 83).
pub const QEMU_ARGS: &[&str] = &[
    "-cpu",
    "Westmere",
    "-m",
    "128",
    "-nodefaults",
    "-no-acpi",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-device",
    "isa-debug-exit",
];

/// The Solo5 manifest: the NET_BASIC and BLOCK_BASIC devices of the image.
fn manifest_json(devices: &[Solo5Device]) -> String {
    let devices: Vec<serde_json::Value> = devices
        .iter()
        .map(|d| serde_json::json!({"name": d.name, "type": d.kind}))
        .collect();
    let manifest = serde_json::json!({
        "type": "solo5.manifest",
        "version": 1,
        "devices": devices,
    });
    let mut text = serde_json::to_string_pretty(&manifest).expect("plain data serialises");
    text.push('\n');
    text
}

/// The recorded configuration, like mirage's `mirage/context`: what
/// `build`, `run` and `query` reuse when given no `-t`.
pub fn context_json(r: &Resolved, lock_sha256: &str) -> String {
    #[derive(Serialize)]
    struct Context<'a> {
        label: String,
        target: &'a str,
        keys: Vec<&'a KeyValue>,
        cargo_lock_sha256: &'a str,
    }
    let ctx = Context {
        label: r.label.to_string(),
        target: r.target.name(),
        keys: r.keys.iter().filter(|k| !k.is_default).collect(),
        cargo_lock_sha256: lock_sha256,
    };
    let mut text = serde_json::to_string_pretty(&ctx).expect("plain data serialises");
    text.push('\n');
    text
}

fn view(
    r: &Resolved,
    d: &Instance,
    used: bool,
    files: &BTreeMap<String, String>,
) -> Result<DeviceView> {
    Ok(DeviceView {
        var: d.var.clone(),
        labels: d.labels.iter().map(ToString::to_string).collect(),
        typ: d.typ.clone(),
        impl_path: d.impl_path.clone(),
        doc: d.doc.clone(),
        connect: connect(r, d, files)?,
        used,
    })
}

/// Expands a device's connect template into a Rust expression.
///
/// Placeholders: `{impl}`, `{args}` (devices then runtime args, in order),
/// `{arg.NAME}`, `{rt.NAME}`, `{key.NAME}`, `{application}` (the
/// unikernel crate's name), `{crunch}` (the embedded files of a `crunch`
/// device) and `{file.NAME}` (the file attached to block device NAME,
/// relative to the workspace root). `{{` and `}}` are literal braces, as
/// in Rust's `format!`. The default is `{impl}::connect({args})`, and
/// `{impl}({args})` for the unikernel's `main`.
pub fn connect(r: &Resolved, d: &Instance, files: &BTreeMap<String, String>) -> Result<String> {
    let is_main = std::ptr::eq(d, &r.main);
    let template = d.connect.clone().unwrap_or_else(|| {
        if is_main {
            "{impl}({args})"
        } else {
            "{impl}::connect({args})"
        }
        .to_owned()
    });
    let device_arg = |i: usize| format!("{}.clone()", r.instances[i].var);
    let runtime_arg = |i: usize| {
        let a = &r.runtime_args[i];
        // `Values` has one getter per kind, named like the kind.
        format!("args.{}(\"{}\")", a.kind.name(), a.name)
    };
    let mut out = String::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start].replace("}}", "}"));
        if rest[start..].starts_with("{{") {
            out.push('{');
            rest = &rest[start + 2..];
            continue;
        }
        let end = rest[start..].find('}').ok_or_else(|| {
            Error::at(
                &d.loc,
                format!("unclosed `{{` in connect code of {}", d.labels[0]),
            )
        })?;
        let name = &rest[start + 1..start + end];
        let expansion = match name.split_once('.') {
            None if name == "impl" => d.impl_path.clone(),
            None if name == "args" => d
                .args
                .iter()
                .map(|(_, i)| device_arg(*i))
                .chain(d.runtime_args.iter().map(|&i| runtime_arg(i)))
                .collect::<Vec<_>>()
                .join(", "),
            None if name == "application" => format!("{:?}", r.crates[0].lib_name),
            None if name == "crunch" && d.crunch.is_some() => crunch_static(d),
            Some(("file", f)) => files.get(f).map(|p| format!("{p:?}")).ok_or_else(|| {
                Error::at(
                    &d.loc,
                    format!(
                        "connect code of {} names unknown block device `{f}`",
                        d.labels[0]
                    ),
                )
            })?,
            Some(("arg", p)) => d
                .args
                .iter()
                .find(|(n, _)| n == p)
                .map(|(_, i)| device_arg(*i))
                .ok_or_else(|| {
                    Error::at(
                        &d.loc,
                        format!(
                            "connect code of {} names unknown parameter `{p}`",
                            d.labels[0]
                        ),
                    )
                })?,
            Some(("rt", p)) => d
                .runtime_args
                .iter()
                .find(|&&i| r.runtime_args[i].name == p)
                .map(|&i| runtime_arg(i))
                .ok_or_else(|| {
                    Error::at(
                        &d.loc,
                        format!(
                            "connect code of {} names unknown runtime arg `{p}`",
                            d.labels[0]
                        ),
                    )
                })?,
            Some(("key", k)) => d
                .keys
                .iter()
                .find(|kv| kv.name == k)
                .map(|kv| format!("{:?}", kv.value))
                .ok_or_else(|| {
                    Error::at(
                        &d.loc,
                        format!(
                            "connect code of {} reads key `{k}`, which its `keys` does not list",
                            d.labels[0]
                        ),
                    )
                })?,
            _ => {
                return Err(Error::at(
                    &d.loc,
                    format!(
                        "unknown placeholder `{{{name}}}` in connect code of {}",
                        d.labels[0]
                    ),
                ))
            }
        };
        out.push_str(&expansion);
        rest = &rest[start + end + 1..];
    }
    out.push_str(&rest.replace("}}", "}"));
    Ok(out)
}

/// The files attached to block devices, by device name, relative to the
/// workspace root: the declared file, or the archive the generator makes.
pub fn attached_files(
    ws: &Workspace,
    r: &Resolved,
    devices: &[Solo5Device],
) -> BTreeMap<String, String> {
    let out = relative(&ws.root, &out_dir(ws, &r.label, r.target));
    devices
        .iter()
        .filter_map(|d| match (&d.file, &d.tar_of) {
            (Some(file), _) => Some((d.name.clone(), file.clone())),
            (None, Some(_)) => Some((d.name.clone(), format!("{out}/{}.tar", d.name))),
            (None, None) => None,
        })
        .collect()
}

#[derive(Serialize)]
struct CrunchView {
    label: String,
    dir: String,
    static_name: String,
    files: Vec<CrunchFile>,
}

#[derive(Serialize)]
struct CrunchFile {
    key: String,
    path: String,
}

/// The name of the static holding a `crunch` device's files.
fn crunch_static(d: &Instance) -> String {
    format!("CRUNCH_{}", d.var.to_uppercase())
}

/// The regular files under `dir` (through symlinks), as sorted
/// `/`-separated relative keys.
fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| std::io::Error::other(format!("file name {n:?} is not UTF-8")))?;
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // Symlinks are followed: Bazel's sandbox links every input.
            let kind = std::fs::metadata(entry.path())?.file_type();
            if kind.is_dir() {
                walk(&entry.path(), &key, out)?;
            } else if kind.is_file() {
                out.push(key);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// The files of `dir` (workspace-relative), or an error at `loc`.
fn files_of(ws: &Workspace, dir: &str, loc: &Loc, what: &str) -> Result<Vec<String>> {
    let path = ws.root.join(dir);
    if !path.is_dir() {
        return Err(Error::at(loc, format!("{what}: no such directory {dir}")));
    }
    list_files(&path).map_err(|e| Error::at(loc, format!("{what}: {dir}: {e}")))
}

fn crunch_view(ws: &Workspace, d: &Instance, dir: &str) -> Result<CrunchView> {
    let files = files_of(ws, dir, &d.loc, "crunch")?
        .into_iter()
        .map(|key| CrunchFile {
            path: format!("{:?}", format!("{WORKSPACE_LINK}/{dir}/{key}")),
            key: format!("{key:?}"),
        })
        .collect();
    Ok(CrunchView {
        label: d.labels[0].to_string(),
        dir: dir.to_owned(),
        static_name: crunch_static(d),
        files,
    })
}

/// A tar archive of `dir`, deterministic: sorted entries, zero times,
/// owners and modes of 0644.
fn tar_archive(ws: &Workspace, dir: &str, loc: &Loc) -> Result<Vec<u8>> {
    let keys = files_of(ws, dir, loc, "tar_kv_ro")?;
    let mut builder = tar::Builder::new(Vec::new());
    for key in &keys {
        let data = std::fs::read(ws.root.join(dir).join(key))
            .io_context(|| format!("read {dir}/{key}"))?;
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, key, data.as_slice())
            .io_context(|| format!("archive {dir}/{key}"))?;
    }
    builder.into_inner().io_context(|| format!("archive {dir}"))
}

/// The symbolic link, in the output directory, to the workspace root.
///
/// Cargo derives a path dependency's `-C metadata`, and so rustc's symbol
/// hashes and code layout, from its path: relative when it lies inside the
/// building workspace, absolute otherwise. Reaching the workspace's crates
/// through this link keeps them inside, so two checkouts build identical
/// images. A separate rules_mirage checkout is named by its real path, as
/// users' own Cargo manifests name it.
const WORKSPACE_LINK: &str = "workspace";

/// How the generated manifest names the crate at `dir`.
fn crate_path(ws: &Workspace, out: &Path, dir: &Path) -> String {
    match dir.strip_prefix(&ws.root) {
        Ok(rel) if rel.as_os_str().is_empty() => WORKSPACE_LINK.to_owned(),
        Ok(rel) => format!("{WORKSPACE_LINK}/{}", rel.display()),
        Err(_) => relative(out, dir),
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `/`-separated relative path from directory `from` to `to`.
pub fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_owned(), from.len() - common);
    let downs = to[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths_climb_then_descend() {
        assert_eq!(
            relative(
                Path::new("/w/mirage-out/a/b"),
                Path::new("/w/runtimes/core")
            ),
            "../../../runtimes/core"
        );
        assert_eq!(relative(Path::new("/w"), Path::new("/w")), ".");
    }
}

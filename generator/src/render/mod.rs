//! Rendering: a [`Resolved`] unikernel becomes a [`Plan`] of files.
//!
//! Templates live in `generator/templates/` and are compiled in. The files
//! every target has (`main.rs`, `Cargo.toml`, `Cargo.lock`, `run.sh`,
//! `context.json`, tar archives of `tar_kv_ro` stores) are rendered here;
//! the target's backend adds its own (see [`crate::target::Backend`]).
//! Everything rendered is a function of the resolved graph and of relative
//! paths: no timestamps, no absolute paths, no hash-map order, so two runs
//! (and two checkouts) give identical bytes.

pub mod connect;
pub mod files;
mod format;

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Context, Tera};

use crate::action::{File, FileKind, Plan};
use crate::error::{Error, IoContext, Result};
use crate::model::resource::{Backing, Solo5Device};
use crate::paths::{crate_path, out_dir, relative, WORKSPACE_LINK};
use crate::resolve::{KeyValue, Resolved};
use crate::workspace::Workspace;
use connect::{crunch_static, Expander};
use files::{files_of, hex, littlefs_disk, tar_archive};

/// The generator's version, written into generated headers.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Templates by name, compiled in from `generator/templates/`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
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

/// What a backend sees while rendering: the unikernel, the template
/// context every file shares, and the Solo5 devices with their files.
pub struct RenderCx<'a> {
    /// The workspace.
    pub ws: &'a Workspace,
    /// The configured unikernel.
    pub r: &'a Resolved,
    /// The Solo5 devices of every instance, each name once, sorted.
    pub solo5_devices: &'a [Solo5Device],
    /// rules_mirage's Cargo.lock, as the output copies it.
    pub lock: &'a [u8],
    tera: &'a Tera,
    /// Every value: for `main.rs` and `Cargo.toml`.
    ctx: &'a Context,
    /// The unikernel's names alone: for the small files, which add their
    /// own values (copying the whole context for each would cost more
    /// than rendering a large graph).
    names: &'a Context,
}

impl RenderCx<'_> {
    /// Renders template `name`: with every value when `extra` is empty,
    /// else with the unikernel's names and `extra`.
    pub fn render(&self, name: &str, extra: &[(&str, &str)]) -> Result<String> {
        let extended;
        let ctx = if extra.is_empty() {
            self.ctx
        } else {
            let mut ctx = self.names.clone();
            for (k, v) in extra {
                ctx.insert(*k, v);
            }
            extended = ctx;
            &extended
        };
        self.tera
            .render(name, ctx)
            .map_err(|e| Error::system(format!("rendering {name}: {e:?}")))
    }

    /// The unikernel's program name (its label's name).
    pub fn program(&self) -> &str {
        &self.r.label.name
    }

    /// The image file name in `dist/`.
    pub fn image(&self) -> String {
        self.r
            .target
            .backend()
            .image_name(&self.r.label.name, self.r.target)
    }
}

/// A generated text file; scripts are executable.
pub fn text_file(path: &str, contents: String) -> File {
    let kind = if path.ends_with(".sh") {
        FileKind::Executable
    } else {
        FileKind::Plain
    };
    File::new(path, contents, kind)
}

#[derive(Serialize)]
struct DeviceView {
    labels: Vec<String>,
    loc: String,
    typ: String,
    impl_path: String,
    doc: String,
    stmt: String,
}

#[derive(Serialize)]
struct ArgView {
    name: String,
    short: Option<char>,
    /// The `mirage_runtime::args::Kind` variant.
    kind: String,
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

/// The command that regenerates these files.
pub fn regenerate_command(r: &Resolved) -> String {
    let mut cmd = format!("mirage configure -t {} {}", r.target, r.label);
    for k in r.keys.iter().filter(|k| !k.is_default) {
        cmd.push_str(&format!(" --{}={}", k.name, k.value));
    }
    cmd
}

/// The connect statement of every device, and the unikernel's call.
fn connect_code(
    r: &Resolved,
    attached: &BTreeMap<String, String>,
) -> Result<(Vec<DeviceView>, DeviceView)> {
    let templates = r
        .instances
        .iter()
        .chain([&r.main])
        .map(|d| connect::template(r, d))
        .collect::<Result<Vec<_>>>()?;
    let pairs: Vec<_> = r
        .instances
        .iter()
        .chain([&r.main])
        .zip(&templates)
        .map(|(d, t)| (d, t.as_slice()))
        .collect();
    let mut x = Expander::new(r, attached, &pairs);
    let used: Vec<bool> = (0..r.instances.len()).map(|i| x.uses(i) > 0).collect();
    // Expansion is sequential (moves follow connection order); formatting
    // is pure, so it runs on every core, each statement in its place.
    let mut stmts = Vec::with_capacity(pairs.len());
    for (i, (d, pieces)) in pairs.iter().enumerate() {
        let expr = x.expand(d, pieces)?;
        let what = format!("connect code of {} `{expr}`", d.labels[0]);
        let stmt = if i < r.instances.len() {
            let var = if used[i] {
                d.var.clone()
            } else {
                format!("_{}", d.var)
            };
            format!(
                "let {var} = {expr}.await.map_err(mirage_runtime::failed(\"{}\"))?;",
                d.var
            )
        } else {
            format!(
                "{expr}.await.map_err(mirage_runtime::failed(\"{}\"))",
                d.impl_path
            )
        };
        stmts.push((stmt, what));
    }
    let formatted = format::statements(
        &stmts,
        &pairs.iter().map(|(d, _)| &d.loc).collect::<Vec<_>>(),
    )?;
    let mut views: Vec<DeviceView> = pairs
        .iter()
        .zip(formatted)
        .map(|((d, _), stmt)| DeviceView {
            labels: d.labels.iter().map(ToString::to_string).collect(),
            loc: d.loc.to_string(),
            typ: d.typ.clone(),
            impl_path: d.impl_path.clone(),
            doc: d.doc.clone(),
            stmt,
        })
        .collect();
    let main = views.pop().expect("the unikernel is rendered last");
    Ok((views, main))
}

/// Renders every generated file of `r`.
pub fn render(ws: &Workspace, r: &Resolved) -> Result<Plan> {
    let dir = out_dir(ws, &r.label, r.target);
    let backend = r.target.backend();
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.to_vec())
        .map_err(|e| Error::system(format!("templates: {e:?}")))?;
    let solo5_devices = r.solo5_devices()?;
    let attached = attached_files(ws, r, &solo5_devices);
    let crunches = r
        .instances
        .iter()
        .filter_map(|d| {
            let dir = d.embedded()?;
            Some(files_of(ws, dir, &d.loc, "crunch").map(|keys| {
                CrunchView {
                    label: d.labels[0].to_string(),
                    dir: dir.to_owned(),
                    static_name: crunch_static(d),
                    files: keys
                        .into_iter()
                        .map(|key| CrunchFile {
                            path: format!("{:?}", format!("{WORKSPACE_LINK}/{dir}/{key}")),
                            key: format!("{key:?}"),
                        })
                        .collect(),
                }
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let (devices, main) = connect_code(r, &attached)?;
    let runtime_args: Vec<ArgView> = r
        .runtime_args
        .iter()
        .map(|a| ArgView {
            name: a.name.clone(),
            short: a.short,
            kind: format!("{:?}", a.kind),
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
    // Crates outside rules_mirage name mirage-types by version, as any
    // crate would: the build patches it to the rules_mirage in use.
    let types_patch = r
        .crates
        .iter()
        .any(|c| !c.dir.starts_with(&ws.home))
        .then(|| crate_path(ws, &dir, &ws.home.join("runtimes/types")));
    let program = r.label.name.clone();
    let mut names = Context::new();
    names.insert("label", &r.label.to_string());
    names.insert("target", r.target.name());
    names.insert("version", VERSION);
    names.insert("program", &program);
    names.insert("image", &backend.image_name(&program, r.target));
    names.insert(
        "build_command",
        &regenerate_command(r).replacen("mirage configure", "mirage build", 1),
    );
    let mut ctx = names.clone();
    ctx.insert("types_patch", &types_patch);
    ctx.insert("workspace_link", WORKSPACE_LINK);
    ctx.insert("family", r.target.family().name());
    ctx.insert("build_loc", &r.loc.to_string());
    ctx.insert("regenerate", &regenerate_command(r));
    ctx.insert("keys", &r.keys);
    ctx.insert("devices", &devices);
    ctx.insert("main", &main);
    ctx.insert("runtime_args", &runtime_args);
    ctx.insert("crunches", &crunches);
    ctx.insert("crates", &crates);
    ctx.insert("cargo_target", &backend.cargo_target(&program, r.target));
    ctx.insert(
        "package",
        &format!("mirage-{}-{}", program.replace('_', "-"), r.target),
    );
    let lock_path = ws.home.join("Cargo.lock");
    let lock = std::fs::read(&lock_path).io_context(|| format!("read {}", lock_path.display()))?;
    let lock_sha256 = hex(&Sha256::digest(&lock));
    ctx.insert("lock_sha256", &lock_sha256);
    let cx = RenderCx {
        ws,
        r,
        solo5_devices: &solo5_devices,
        lock: &lock,
        tera: &tera,
        ctx: &ctx,
        names: &names,
    };
    let run_sh = cx.render("run.sh.tera", &[("body", &backend.run_script(&cx)?)])?;
    let mut files = vec![
        text_file("main.rs", cx.render(backend.main_template(), &[])?),
        text_file("Cargo.toml", cx.render("Cargo.toml.tera", &[])?),
        File::new("Cargo.lock", lock.clone(), FileKind::Seed),
        text_file("run.sh", run_sh),
        text_file("context.json", context_json(r, &lock_sha256)),
        File::new(WORKSPACE_LINK, relative(&dir, &ws.root), FileKind::Symlink),
    ];
    for d in &solo5_devices {
        let made = match &d.backing {
            Backing::Archive(src) => Some((tar_archive(ws, src, &d.loc)?, FileKind::Plain)),
            Backing::Blank(size) => Some((Vec::new(), FileKind::Disk(*size))),
            Backing::Littlefs { dir, size } => Some((
                littlefs_disk(ws, dir, *size, &d.loc)?,
                FileKind::Disk(*size),
            )),
            Backing::File(_) | Backing::AtRun => None,
        };
        if let (Some(path), Some((contents, kind))) = (d.generated_file(), made) {
            files.push(File::new(path, contents, kind));
        }
    }
    files.extend(backend.extra_files(&cx)?);
    Ok(Plan { dir, files })
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

/// The files attached to block devices, by device name, relative to the
/// workspace root: the declared file, or the disk the generator makes.
pub fn attached_files(
    ws: &Workspace,
    r: &Resolved,
    devices: &[Solo5Device],
) -> BTreeMap<String, String> {
    let out = relative(&ws.root, &out_dir(ws, &r.label, r.target));
    devices
        .iter()
        .filter_map(|d| match (&d.backing, d.generated_file()) {
            (Backing::File(file), _) => Some((d.name.clone(), file.clone())),
            (_, Some(made)) => Some((d.name.clone(), format!("{out}/{made}"))),
            (_, None) => None,
        })
        .collect()
}

//! The `mirage` command line: clap definitions and the subcommands' flow.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::Configuration;
use crate::error::{Error, IoContext, Result};
use crate::graph::{platform_crates, Graph};
use crate::label::{Label, Package};
use crate::model::device::{Solo5Device, Solo5Kind};
use crate::model::target::{Family, Target};
use crate::render::{relative, unikernel_dir};
use crate::resolve::{resolve, Resolved};
use crate::starlark::Loader;
use crate::workspace::Workspace;
use crate::{action::Plan, build, describe, render};

const KEYS_HELP: &str = "Configure keys are given as --KEY=VALUE anywhere before `--`; \
`mirage query keys LABEL` lists a unikernel's keys and choices.";

/// Configure, build and run Rust unikernels described in Starlark BUILD files.
#[derive(Parser, Debug)]
#[command(name = "mirage", version, after_help = KEYS_HELP)]
pub struct Cli {
    /// The rules_mirage checkout to use [default: $MIRAGE_HOME, else the
    /// checkout this binary was built from].
    #[arg(long, global = true, value_name = "PATH")]
    rules_mirage: Option<PathBuf>,
    /// A configure key from a Bazel build setting: like `--NAME=VALUE`, but
    /// ignored by a unikernel that has no key NAME (Bazel's settings are
    /// global; each unikernel reads its own).
    #[arg(
        long = "setting",
        global = true,
        value_name = "NAME=VALUE",
        hide = true
    )]
    settings: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate BUILD files, resolve the device graph, write the generated
    /// sources and record the configuration.
    #[command(after_help = KEYS_HELP)]
    Configure {
        #[command(flatten)]
        sel: Selection,
        /// Print the files that would be written, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Configure if needed, then build the image; prints its path last.
    #[command(after_help = KEYS_HELP)]
    Build {
        #[command(flatten)]
        sel: Selection,
        /// Show cargo's output.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Build if needed, then run the image with RUNTIME_ARGS.
    #[command(after_help = KEYS_HELP)]
    Run {
        #[command(flatten)]
        sel: Selection,
        /// Attach PATH as Solo5 block device NAME, instead of the file its
        /// BUILD declaration names.
        #[arg(long = "block-file", value_name = "NAME=PATH")]
        block_files: Vec<String>,
        /// Attach host tap interface TAP as Solo5 network device NAME.
        #[arg(long = "tap", value_name = "NAME=TAP")]
        taps: Vec<String>,
        /// Show cargo's output.
        #[arg(short, long)]
        verbose: bool,
        /// Runtime arguments for the image, after `--` (`-- --help` lists them).
        #[arg(last = true, value_name = "RUNTIME_ARGS")]
        runtime_args: Vec<String>,
    },
    /// Show the device graph, as declared or (with --eval) as resolved.
    #[command(after_help = KEYS_HELP)]
    Describe {
        #[command(flatten)]
        sel: Selection,
        /// Print Graphviz dot instead of text.
        #[arg(long)]
        dot: bool,
        /// Show the graph after resolution for the target and keys.
        #[arg(long)]
        eval: bool,
    },
    /// Print one generated artefact or fact about the configuration.
    #[command(after_help = KEYS_HELP)]
    Query {
        /// What to print.
        #[arg(value_enum)]
        what: Query,
        #[command(flatten)]
        sel: Selection,
    },
    /// Build the pinned Solo5 toolchain if needed (in `$MIRAGE_CACHE`, else
    /// `~/.cache/rules_mirage`) and print its directory.
    Toolchain,
    /// Remove generated output: one unikernel's, or all of mirage-out/.
    Clean {
        /// The unikernel whose output to remove.
        label: Option<String>,
    },
}

#[derive(Args, Debug)]
struct Selection {
    /// Target: unix, hvt, spt, virtio, muen, xen or qubes [default: the
    /// recorded configuration's, else unix].
    #[arg(short, long, value_name = "TARGET")]
    target: Option<String>,
    /// The unikernel: //package:name, or :name in the current directory's package.
    label: String,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Query {
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
}

/// Splits `--KEY=VALUE` configure keys from the arguments clap parses.
/// Anything after `--` belongs to the image and is left alone.
pub fn split_keys(argv: Vec<String>) -> (Vec<String>, BTreeMap<String, String>) {
    let mut known = Vec::new();
    collect_long_flags(&Cli::command(), &mut known);
    let mut rest = Vec::new();
    let mut keys = BTreeMap::new();
    let mut after_dashes = false;
    for arg in argv {
        if !after_dashes {
            if arg == "--" {
                after_dashes = true;
            } else if let Some((name, value)) =
                arg.strip_prefix("--").and_then(|a| a.split_once('='))
            {
                if !known.iter().any(|k| k == name) {
                    keys.insert(name.to_owned(), value.to_owned());
                    continue;
                }
            }
        }
        rest.push(arg);
    }
    (rest, keys)
}

fn collect_long_flags(cmd: &clap::Command, out: &mut Vec<String>) {
    out.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned)),
    );
    out.extend(["help".to_owned(), "version".to_owned()]);
    for sub in cmd.get_subcommands() {
        collect_long_flags(sub, out);
    }
}

/// Runs the command line; returns the process exit code.
pub fn main(cli: Cli, keys: BTreeMap<String, String>) -> Result<i32> {
    let cwd = std::env::current_dir().io_context(|| "current directory".to_owned())?;
    let ws = Workspace::discover(&cwd, cli.rules_mirage.as_deref())?;
    match cli.command {
        Command::Configure { sel, dry_run } => {
            let (r, plan) = configure(&ws, &cwd, &sel, keys, &cli.settings)?;
            if dry_run {
                print!("{}", plan.dry_run());
            } else {
                commit(&ws, &r, &plan)?;
                eprintln!(
                    "mirage: configured {} for {} in {}",
                    r.label,
                    r.target,
                    relative(&cwd, &plan.dir)
                );
            }
            Ok(0)
        }
        Command::Build { sel, verbose } => {
            let (r, plan) = configure(&ws, &cwd, &sel, keys, &cli.settings)?;
            commit(&ws, &r, &plan)?;
            let image = build::build(&ws, &r, &plan, verbose)?;
            println!("{}", image.display());
            Ok(0)
        }
        Command::Run {
            sel,
            verbose,
            block_files,
            taps,
            runtime_args,
        } => {
            let (r, plan) = configure(&ws, &cwd, &sel, keys, &cli.settings)?;
            commit(&ws, &r, &plan)?;
            let image = build::build(&ws, &r, &plan, verbose)?;
            let mut attach = attachments(&ws, &cwd, &r, &block_files)?;
            attach.extend(tap_attachments(&r, &taps)?);
            run(&ws, &r, &image, &attach, &runtime_args)
        }
        Command::Describe { sel, dot, eval } => {
            let label = parse_label(&ws, &cwd, &sel.label)?;
            let loader = Loader::new(&ws)?;
            let graph = Graph::load(&loader, &label)?;
            let text = if eval {
                let config = Configuration::choose(
                    sel.target.as_deref(),
                    keys,
                    &unikernel_dir(&ws, &label),
                )?;
                let target = config.target(&graph.unikernel().device.loc)?;
                let platform = platform_crates(&loader, target)?;
                let r = resolve(&graph, target, &config.keys, platform)?;
                if dot {
                    describe::dot_resolved(&r)
                } else {
                    describe::text_resolved(&r)
                }
            } else if dot {
                describe::dot(&graph)
            } else {
                describe::text(&graph)
            };
            print!("{text}");
            Ok(0)
        }
        Command::Query { what, sel } => {
            let (r, plan) = configure(&ws, &cwd, &sel, keys, &cli.settings)?;
            print!("{}", query(what, &r, &plan)?);
            Ok(0)
        }
        Command::Toolchain => {
            println!("{}", build::solo5_toolchain(&ws)?.dir.display());
            Ok(0)
        }
        Command::Clean { label } => {
            let dir = match label {
                Some(l) => unikernel_dir(&ws, &parse_label(&ws, &cwd, &l)?),
                None => ws.out_root(),
            };
            if dir.exists() {
                std::fs::remove_dir_all(&dir).io_context(|| format!("remove {}", dir.display()))?;
                eprintln!("mirage: removed {}", relative(&cwd, &dir));
            }
            Ok(0)
        }
    }
}

/// Writes the plan, then records its configuration as the unikernel's
/// current one.
fn commit(ws: &Workspace, r: &Resolved, plan: &Plan) -> Result<()> {
    plan.commit()?;
    let context = plan
        .file("context.json")
        .expect("every plan records its configuration");
    crate::action::write_atomically(
        &unikernel_dir(ws, &r.label).join("context.json"),
        &context.contents,
    )
}

/// A label from the command line; relative ones are in the cwd's package.
fn parse_label(ws: &Workspace, cwd: &Path, text: &str) -> Result<Label> {
    let package = cwd
        .strip_prefix(&ws.root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = Package {
        repo: None,
        path: package,
    };
    Label::parse(text, &base)
        .map(|l| ws.canonical(l))
        .map_err(Error::user)
}

/// Evaluates, resolves and renders; writes nothing.
fn configure(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    settings: &[String],
) -> Result<(Resolved, Plan)> {
    let label = parse_label(ws, cwd, &sel.label)?;
    let config = Configuration::choose(sel.target.as_deref(), keys, &unikernel_dir(ws, &label))?;
    let loader = Loader::new(ws)?;
    let graph = Graph::load(&loader, &label)?;
    let target = config.target(&graph.unikernel().device.loc)?;
    let platform = platform_crates(&loader, target)?;
    let mut keys = config.keys;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| Error::user(format!("--setting {setting}: expected NAME=VALUE")))?;
        if graph.keys.values().any(|k| k.name() == name) {
            keys.entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    let r = resolve(&graph, target, &keys, platform)?;
    let plan = render::render(ws, &r)?;
    Ok((r, plan))
}

fn query(what: Query, r: &Resolved, plan: &Plan) -> Result<String> {
    let file = |name: &str| {
        plan.file(name)
            .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
            .ok_or_else(|| Error::user(format!("target {} has no {name}", r.target)))
    };
    Ok(match what {
        Query::Main => file("main.rs")?,
        Query::Cargo => file("Cargo.toml")?,
        Query::Manifest => match r.target.family() {
            Family::Unix => return Err(Error::user("target unix has no Solo5 manifest")),
            Family::Solo5 => file("manifest.json")?,
        },
        Query::Files => plan.files.iter().map(|f| format!("{}\n", f.path)).collect(),
        Query::Keys => r
            .keys
            .iter()
            .map(|k| {
                format!(
                    "--{}={}{}\n",
                    k.name,
                    k.value,
                    if k.is_default { " (default)" } else { "" }
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

/// A device to attach: its Solo5 name and the host file or tap interface.
struct Attachment {
    name: String,
    kind: Solo5Kind,
    path: PathBuf,
}

/// Splits `value` of option `--flag` as `NAME=VALUE`, where NAME must be one
/// of the image's Solo5 devices of `kind` (named `noun` in messages).
fn named_device<'a>(
    flag: &str,
    value: &'a str,
    r: &Resolved,
    devices: &[Solo5Device],
    kind: Solo5Kind,
    noun: &str,
) -> Result<(&'a str, &'a str)> {
    let (name, rest) = value.split_once('=').ok_or_else(|| {
        Error::user(format!(
            "--{flag} {value}: expected NAME={}",
            noun.to_uppercase()
        ))
    })?;
    let names: Vec<&str> = devices
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.name.as_str())
        .collect();
    if !names.contains(&name) {
        let have = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        let what = match kind {
            Solo5Kind::Block => "block",
            Solo5Kind::Net => "network",
        };
        return Err(Error::user(format!(
            "--{flag} {value}: {} has no {what} device `{name}` (it has: {have})",
            r.label
        )));
    }
    Ok((name, rest))
}

/// The tap interfaces given with `--tap NAME=TAP`, checked against the
/// image's network devices.
fn tap_attachments(r: &Resolved, taps: &[String]) -> Result<Vec<Attachment>> {
    let devices = r.solo5_devices()?;
    taps.iter()
        .map(|t| {
            let (name, tap) = named_device("tap", t, r, &devices, Solo5Kind::Net, "tap")?;
            Ok(Attachment {
                name: name.to_owned(),
                kind: Solo5Kind::Net,
                path: PathBuf::from(tap),
            })
        })
        .collect()
}

/// The files to attach to the image's block devices: `--block-file`
/// overrides, else the files their declarations name. Every file must exist.
fn attachments(
    ws: &Workspace,
    cwd: &Path,
    r: &Resolved,
    overrides: &[String],
) -> Result<Vec<Attachment>> {
    let devices = r.solo5_devices()?;
    let mut given = BTreeMap::new();
    for o in overrides {
        let (name, path) = named_device("block-file", o, r, &devices, Solo5Kind::Block, "path")?;
        if r.target == Target::Unix {
            return Err(Error::user(
                "--block-file applies to Solo5 targets: a unix image opens the file its BUILD file names",
            ));
        }
        given.insert(name.to_owned(), cwd.join(path));
    }
    let declared = render::attached_files(ws, r, &devices);
    let mut out = Vec::new();
    for d in devices.iter().filter(|d| d.kind == Solo5Kind::Block) {
        let path = match (given.remove(&d.name), declared.get(&d.name)) {
            (Some(path), _) => path,
            (None, Some(file)) => ws.root.join(file),
            // Not attached: the tender refuses, and `run_tender` explains.
            (None, None) => continue,
        };
        if !path.is_file() {
            return Err(Error::at(
                &d.loc,
                format!(
                    "block device `{}`: no such file {} (create it, or pass --block-file {}=PATH)",
                    d.name,
                    path.display(),
                    d.name
                ),
            ));
        }
        out.push(Attachment {
            name: d.name.clone(),
            kind: Solo5Kind::Block,
            path,
        });
    }
    Ok(out)
}

/// Runs an image: directly on unix, under its tender on spt and hvt, under
/// QEMU on virtio. Returns the unikernel's exit code.
fn run(
    ws: &Workspace,
    r: &Resolved,
    image: &Path,
    attach: &[Attachment],
    runtime_args: &[String],
) -> Result<i32> {
    let mut cmd = match r.target {
        // Block files are named relative to the workspace root; tap
        // interfaces are found through the environment.
        Target::Unix => {
            let mut cmd = std::process::Command::new(image);
            cmd.current_dir(&ws.root);
            for a in attach.iter().filter(|a| a.kind == Solo5Kind::Net) {
                cmd.env(format!("MIRAGE_NET_{}", a.name.to_uppercase()), &a.path);
            }
            cmd
        }
        Target::Spt | Target::Hvt => {
            let mut cmd =
                std::process::Command::new(build::solo5_toolchain(ws)?.tender(r.target.name()));
            for a in attach {
                let kind = match a.kind {
                    Solo5Kind::Block => "block",
                    Solo5Kind::Net => "net",
                };
                cmd.arg(format!("--{kind}:{}={}", a.name, a.path.display()));
            }
            cmd.arg(image);
            return run_tender(r, cmd.args(runtime_args));
        }
        Target::Virtio => return run_virtio(r, image, attach, runtime_args),
        Target::Muen | Target::Xen | Target::Qubes => {
            return Err(Error::at(
                &r.loc,
                format!(
                    "{} images cannot run on this host; boot {} on a {} host",
                    r.target,
                    image.display(),
                    r.target
                ),
            ))
        }
    };
    let status = cmd
        .args(runtime_args)
        .status()
        .io_context(|| format!("run {}", image.display()))?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// QEMU's exit status when a Solo5 guest calls `solo5_exit`, whatever the
/// guest's status (Solo5's virtio bindings always write 41 to
/// isa-debug-exit).
const QEMU_SOLO5_EXIT: i32 = 83;

/// Runs a Solo5 tender. Its refusal to start (a device the manifest
/// declares is not attached, a file it cannot open) becomes a user error.
fn run_tender(r: &Resolved, cmd: &mut std::process::Command) -> Result<i32> {
    use std::io::{BufRead, Write};
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .io_context(|| format!("run {:?}", cmd.get_program()))?;
    let mut refusal = None;
    for line in std::io::BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line.io_context(|| "read the tender's errors".to_owned())?;
        if refusal.is_none() && line.starts_with("solo5-") && !line.contains("KVM: internal error")
        {
            refusal = Some(line.clone());
        }
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    let status = exit_code(
        child
            .wait()
            .io_context(|| "wait for the tender".to_owned())?,
    );
    match refusal {
        Some(why) if status != 0 => Err(Error::at(
            &r.loc,
            format!(
                "the {} tender refused to start {}: {why}",
                r.target, r.label
            ),
        )),
        _ => Ok(status),
    }
}

/// Boots a virtio image under QEMU (TCG), echoing the console. The guest's
/// exit status is read from the bindings' `solo5_exit(N)` line.
fn run_virtio(
    r: &Resolved,
    image: &Path,
    attach: &[Attachment],
    runtime_args: &[String],
) -> Result<i32> {
    use std::io::{BufRead, Write};
    let mut cmd = std::process::Command::new("qemu-system-x86_64");
    match attach {
        [] => {}
        [a] => {
            cmd.arg("-drive")
                .arg(format!("file={},if=virtio,format=raw", a.path.display()));
        }
        _ => {
            return Err(Error::at(
                &r.loc,
                "Solo5's virtio bindings support one block device; this image has several",
            ))
        }
    }
    let mut child = cmd
        .args(render::QEMU_ARGS)
        .arg("-kernel")
        .arg(image)
        .arg("-append")
        .arg(runtime_args.join(" "))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .io_context(|| "run qemu-system-x86_64 (Debian package qemu-system-x86)".to_owned())?;
    let mut guest_status = None;
    let stdout = std::io::stdout();
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.io_context(|| "read QEMU's console".to_owned())?;
        if let Some(n) = line
            .strip_prefix("Solo5: solo5_exit(")
            .and_then(|l| l.strip_suffix(") called"))
        {
            guest_status = n.parse().ok();
        } else if line == "Solo5: solo5_abort() called" {
            guest_status = Some(255);
        }
        let _ = writeln!(stdout.lock(), "{line}");
    }
    let status = exit_code(child.wait().io_context(|| "wait for QEMU".to_owned())?);
    Ok(match (status, guest_status) {
        (QEMU_SOLO5_EXIT, Some(code)) => code,
        _ => status,
    })
}

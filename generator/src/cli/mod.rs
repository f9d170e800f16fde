//! The `mirage` command line: clap definitions and dispatch. Each
//! subcommand's flow is its own module; [`configure`] is the step they
//! share (evaluate, resolve, render).

mod build;
mod clean;
mod configure;
mod describe;
pub mod disk;
mod keys;
mod new;
pub use keys::split_keys;
mod pin;
mod query;
mod release;
mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::workspace::{find_home, Workspace};

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
    /// The declarations Bazel evaluated (JSON, from the Bazel rules): read
    /// instead of the BUILD files of their packages.
    #[arg(long, global = true, value_name = "FILE", hide = true)]
    declarations: Option<PathBuf>,
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
        /// Print the files that would be written and the commands that
        /// would run, and do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Compile the generated crate as this image of mirage.plan.json
        /// pins it (JSON, with `dirs`: each unit it reads, built), not
        /// with cargo (Bazel's image action).
        #[arg(long, value_name = "FILE", hide = true)]
        pinned: Option<PathBuf>,
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
        /// Attach taps without TCP segmentation and checksum offload: one
        /// wire-sized frame per read or write, as an unpatched Solo5 tender.
        #[arg(long)]
        no_offload: bool,
        /// Start the image under gdb, stopped before it starts, with its
        /// symbols loaded (unix, spt, hvt).
        #[arg(long, conflicts_with = "profile")]
        gdb: bool,
        /// Sample the image with perf while it runs (unix, spt); when it
        /// ends, write a flame graph to OUT.svg (default NAME-TARGET.svg)
        /// and the folded stacks to OUT.folded.
        #[arg(long, value_name = "OUT.svg", require_equals = true)]
        profile: Option<Option<PathBuf>>,
        /// Show cargo's output.
        #[arg(short, long)]
        verbose: bool,
        /// Runtime arguments for the image, after `--` (`-- --help` lists them).
        #[arg(last = true, value_name = "RUNTIME_ARGS")]
        runtime_args: Vec<String>,
    },
    /// Copy a console log (standard input) through, naming the frames of
    /// each backtrace in it from IMAGE's debug file (IMAGE.debug).
    Symbolize {
        /// The image that printed the log.
        image: PathBuf,
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
        what: query::Query,
        #[command(flatten)]
        sel: Selection,
    },
    /// Build LABEL for each target, then write its release: one
    /// deterministic NAME-VERSION.tar.gz with the images, what runs them,
    /// SHA256SUMS, an SPDX SBOM, SLSA provenance and buildinfo, and beside
    /// it NAME-VERSION.intoto.json, a statement over the tarball.
    #[command(after_help = KEYS_HELP)]
    Release {
        /// A target to release (repeat for more) [default: spt].
        #[arg(short, long = "target", value_name = "TARGET")]
        targets: Vec<String>,
        /// A mirage_release (its BUILD line gives targets and runtime
        /// arguments), or a unikernel: //package:name, or :name in the
        /// current directory's package.
        label: String,
        /// The directory to write the release into [default:
        /// mirage-out/releases, outside the source tree it records].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Runtime arguments the OCI images start the unikernel with, after `--`.
        #[arg(last = true, value_name = "RUNTIME_ARGS")]
        runtime_args: Vec<String>,
        /// The git commit the sources are at, when the workspace is no git
        /// checkout (Bazel's sandbox) [default: `git rev-parse HEAD`].
        #[arg(long, value_name = "COMMIT")]
        source_commit: Option<String>,
        /// The engine the detached statement names (Bazel's rule says
        /// `bazel`).
        #[arg(long, hide = true, default_value = crate::release::ENGINE)]
        engine: String,
    },
    /// Rebuild every file of a release from the source tree in a fresh
    /// workspace and compare; exit 0 only when all are identical.
    Verify {
        /// The release tarball.
        release: PathBuf,
        /// The workspace the release was made from [default: the one
        /// around the current directory].
        #[arg(long, value_name = "DIR")]
        source: Option<PathBuf>,
    },
    /// Build the pinned Solo5 toolchain if needed (in `$MIRAGE_CACHE`, else
    /// `~/.cache/rules_mirage`) and print its directory.
    Toolchain,
    /// Create a unikernel workspace NAME/ that builds and boots on unix and
    /// spt with mirage and with Bazel; with --device, add a device crate
    /// to the workspace around the current directory.
    New {
        /// The unikernel's name (a new directory of that name).
        name: Option<String>,
        /// Add a device package NAME, with a unix and a Solo5
        /// implementation, and pass it to the unikernel's `start`.
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
    },
    /// Build images once with cargo, recording every compile, and write
    /// mirage.plan.json: the crate-level plan Bazel executes one action per
    /// crate. Without labels, pin again what the file pins.
    Pin {
        /// Check that the plan pins every image as configured now, and
        /// build nothing.
        #[arg(long, conflicts_with_all = ["targets", "labels"])]
        check: bool,
        /// Targets to pin the labels for, comma-separated (spt,unix).
        #[arg(short, long = "target", value_name = "TARGETS")]
        targets: Vec<String>,
        /// Unikernels to add to the plan.
        labels: Vec<String>,
    },
    /// Make and read chamelon's littlefs disks (format, ls, cat, put, rm,
    /// check, info).
    #[command(subcommand)]
    Disk(disk::Disk),
    /// Remove generated output: one unikernel's, or all of mirage-out/.
    Clean {
        /// The unikernel whose output to remove.
        label: Option<String>,
    },
}

/// Which unikernel, for which target.
#[derive(Args, Debug)]
pub struct Selection {
    /// Target: unix, hvt, spt, virtio, muen, xen or qubes [default: the
    /// recorded configuration's, else unix].
    #[arg(short, long, value_name = "TARGET")]
    pub target: Option<String>,
    /// The unikernel: //package:name, or :name in the current directory's package.
    pub label: String,
}

/// Runs the command line `argv` (program name first) in directory `cwd`;
/// returns the process exit code. `--help` and `--version` print and
/// return 0; any other mistake clap finds is one `mirage: error:` line.
pub fn run(argv: Vec<String>, cwd: &Path) -> Result<i32> {
    let (argv, keys) = split_keys(argv);
    match Cli::try_parse_from(argv) {
        Ok(cli) => main(cli, keys, cwd),
        Err(e) if !e.use_stderr() => {
            print!("{e}");
            Ok(0)
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let cause = first.strip_prefix("error: ").unwrap_or(first);
            Err(Error::user(format!(
                "{cause} (mirage --help lists the options)"
            )))
        }
    }
}

/// Runs a parsed command line in `cwd`; returns the process exit code.
pub fn main(cli: Cli, keys: BTreeMap<String, String>, cwd: &Path) -> Result<i32> {
    let cwd = cwd.to_path_buf();
    // `toolchain` and `new NAME` need only rules_mirage; the others, the
    // workspace around `cwd`.
    let home = || find_home(cli.rules_mirage.as_deref());
    let workspace = || {
        Workspace::discover(&cwd, cli.rules_mirage.as_deref())?
            .with_declarations(cli.declarations.as_deref())
    };
    let settings = &cli.settings;
    match cli.command {
        Command::Pin { check: true, .. } => pin::check(&workspace()?, &cwd),
        Command::Pin {
            targets, labels, ..
        } => pin::main(&workspace()?, &cwd, &labels, &targets),
        Command::Disk(command) => disk::main(command),
        Command::Toolchain => {
            println!(
                "{}",
                crate::build::toolchain::solo5_toolchain(&home()?)?
                    .dir
                    .display()
            );
            Ok(0)
        }
        Command::New {
            name: Some(name),
            device: None,
        } => new::app(&cwd, &name, &home()?),
        Command::New {
            name: None,
            device: Some(device),
        } => {
            let ws = workspace()?;
            new::device(&ws.root, &device, &ws.home)
        }
        Command::New { name: Some(_), .. } => Err(Error::user(
            "mirage new: give a unikernel NAME, or --device NAME inside its workspace, not both",
        )),
        Command::New { .. } => Err(Error::user("mirage new: give a NAME, or --device NAME")),
        Command::Configure { sel, dry_run } => {
            configure::main(&workspace()?, &cwd, &sel, keys, settings, dry_run)
        }
        Command::Build {
            sel,
            verbose,
            dry_run,
            pinned,
        } => build::main(
            &workspace()?,
            &cwd,
            &sel,
            keys,
            settings,
            build::How {
                verbose,
                dry_run,
                pinned,
            },
        ),
        Command::Run {
            sel,
            verbose,
            block_files,
            taps,
            no_offload,
            gdb,
            profile,
            runtime_args,
        } => {
            let ws = workspace()?;
            let (r, plan) = configure::configure(&ws, &cwd, &sel, keys, settings)?;
            let under = run::Under::from_flags(gdb, profile, &cwd, &r)?;
            configure::commit(&ws, &r, &plan)?;
            let image = crate::build::image::build(&ws, &r, &plan.dir, verbose)?;
            let mut attach = run::block_attachments(&ws, &cwd, &r, &block_files)?;
            attach.extend(run::tap_attachments(&r, &taps, !no_offload)?);
            run::main(&ws, &r, &image, &attach, &runtime_args, under)
        }
        Command::Symbolize { image } => crate::launch::symbolize::main(&cwd.join(image)),
        Command::Describe { sel, dot, eval } => {
            describe::main(&workspace()?, &cwd, &sel, keys, dot, eval)
        }
        Command::Query {
            what: query::Query::Sbom,
            sel,
        } => {
            let ws = workspace()?;
            let (r, plan) = configure::configure(&ws, &cwd, &sel, keys, settings)?;
            configure::commit(&ws, &r, &plan)?;
            let image = crate::build::image::build(&ws, &r, &plan.dir, false)?;
            let built = [crate::release::Built { r, plan, image }];
            print!("{}", crate::release::sbom_json(&ws, &built)?);
            Ok(0)
        }
        Command::Query {
            what: query::Query::Plan,
            sel,
        } => {
            let ws = workspace()?;
            let (r, plan) = configure::configure(&ws, &cwd, &sel, keys, settings)?;
            configure::commit(&ws, &r, &plan)?;
            print!("{}", crate::build::plan::plan_json(&ws, &r, &plan)?);
            Ok(0)
        }
        Command::Query { what, sel } => {
            let (r, plan) = configure::configure(&workspace()?, &cwd, &sel, keys, settings)?;
            print!("{}", query::answer(what, &r, &plan)?);
            Ok(0)
        }
        Command::Release {
            targets,
            label,
            out,
            runtime_args,
            source_commit,
            engine,
        } => release::main(
            &workspace()?,
            &cwd,
            release::Request {
                label: &label,
                targets: &targets,
                keys,
                settings,
                out: out.as_deref(),
                runtime_args: &runtime_args,
                source_commit,
                engine: &engine,
            },
        ),
        Command::Verify { release, source } => {
            let ws = match source {
                Some(dir) => Workspace::discover(&cwd.join(dir), cli.rules_mirage.as_deref())?,
                None => workspace()?,
            };
            let path = cwd.join(&release);
            let bytes = std::fs::read(&path)
                .map_err(|e| Error::user(format!("mirage verify: {}: {e}", release.display())))?;
            crate::release::verify::verify(&bytes, &ws.root, &ws.home)
        }
        Command::Clean { label } => clean::main(&workspace()?, &cwd, label.as_deref()),
    }
}

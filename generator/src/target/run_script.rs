//! The device part of the generated `run.sh`: the same attachments as
//! `mirage run`, so `bazel run` and a bare `run.sh` boot what `mirage run`
//! boots.
//!
//! Each Solo5 device gets a shell variable (`block_NAME`, `net_NAME`;
//! names are ASCII alphanumeric) holding its default: the file its BUILD
//! declaration names (under `$root`, the workspace), or the disk the
//! generator made (under `$here/disks`). Leading `--block:NAME=PATH` and
//! `--net:NAME=TAP` arguments replace them, and `--net-offload:NAME=off`
//! (`mirage run --no-offload`) is passed on to the tender, or on virtio
//! becomes QEMU's `csum=off` on the device; the rest are runtime args.
//! Under `bazel run` (read-only runfiles) disks boot from copies, which
//! go when the run no longer needs them.

use std::fmt::Write as _;

use crate::launch::gdb;
use crate::model::resource::{Backing, Solo5Device, Solo5Kind};
use crate::target::Target;

/// Shell text: `setup` runs first, `args` follows the launcher's name.
pub struct Script {
    /// Variable defaults and option parsing.
    pub setup: String,
    /// The launcher's device arguments.
    pub args: String,
    /// Whether `setup` may boot copies of disks, in the directory
    /// `$copies` (empty when it made none), which a launcher that is not
    /// exec'd removes when it ends.
    pub copies: bool,
}

/// QEMU's tap backend for the virtio network device, on tap `ifname`
/// (also what `mirage run` passes).
pub fn qemu_netdev(ifname: &str) -> String {
    format!("tap,id=n0,ifname={ifname},script=no,downscript=no")
}

/// QEMU's virtio-net device on that backend, `options` after it: `csum=off`
/// withdraws every offload the device offers.
pub fn qemu_net_device(options: &str) -> String {
    format!("virtio-net-pci,netdev=n0{options}")
}

fn var(d: &Solo5Device) -> String {
    format!("{}_{}", d.kind.word(), d.name)
}

/// The device handling of `run.sh` for `devices`; `virtio` gives QEMU's
/// options instead of a tender's.
pub fn devices(devices: &[Solo5Device], virtio: bool) -> Script {
    let mut setup = String::from(
        "# The workspace: the link beside this script, or $MIRAGE_ROOT (bazel run).\n\
         root=\"${MIRAGE_ROOT:-$here/workspace}\"\n",
    );
    let mut args = String::new();
    if devices.is_empty() {
        return Script {
            setup,
            args,
            copies: false,
        };
    }
    let mut defaults = Vec::new();
    for d in devices {
        let default = match &d.backing {
            Backing::File(file) => format!("$root/{file}"),
            Backing::AtRun => String::new(),
            Backing::Archive(_) | Backing::Blank(_) | Backing::Littlefs { .. } => {
                format!("$here/{}", d.generated_file().unwrap_or_default())
            }
        };
        let _ = writeln!(setup, "{}=\"{default}\"", var(d));
        defaults.push(default);
    }
    setup.push_str(
        "# --block:NAME=PATH and --net:NAME=TAP before the runtime args attach\n\
         # other files and tap interfaces.\n\
         while :; do\n    case \"$1\" in\n",
    );
    for d in devices {
        let option = format!("--{}:{}=", d.kind.word(), d.name);
        let _ = writeln!(
            setup,
            "        {option}*) {}=\"${{1#{option}}}\"; shift ;;",
            var(d)
        );
        if d.kind == Solo5Kind::Net {
            let _ = writeln!(
                setup,
                "        --net-offload:{0}=*) offload_{0}=\"${{1#--net-offload:{0}=}}\"; shift ;;",
                d.name
            );
        }
    }
    setup.push_str("        *) break ;;\n    esac\ndone\n");
    let mut copied = false;
    for (d, default) in devices.iter().zip(&defaults) {
        if d.kind != Solo5Kind::Block || default.is_empty() {
            continue;
        }
        if !copied {
            setup.push_str(
                "# Bazel's runfiles are read-only, and tenders open disks read-write:\n\
                 # boot copies, in a directory of this run's (in the test's own\n\
                 # directory under `bazel test`).\n\
                 copies=\"\"\n",
            );
            copied = true;
        }
        let v = var(d);
        let _ = write!(
            setup,
            "if [ -n \"$MIRAGE_ROOT\" ] && [ \"${v}\" = \"{default}\" ]; then\n    \
             copies=\"${{TEST_TMPDIR:-${{TMPDIR:-/tmp}}}}/mirage-disks-$$\"\n    \
             mkdir -p \"$copies\" && cp \"${v}\" \"$copies/{name}.img\" && \
             chmod u+w \"$copies/{name}.img\" && {v}=\"$copies/{name}.img\"\n\
             fi\n",
            name = d.name,
        );
    }
    if copied && !virtio {
        // The tender is exec'd (it keeps this PID): nothing runs after it.
        setup.push_str(
            "# The copies go once the tender (this PID, after exec) has them\n\
             # open, or has ended.\n\
             if [ -n \"$copies\" ] && [ -d /proc/$$/fd ]; then\n    \
             n=$(ls \"$copies\" | wc -l)\n    \
             (while [ -d /proc/$$ ] && [ \"$(ls -l /proc/$$/fd 2>/dev/null | grep -cF \" -> $copies/\")\" -lt \"$n\" ]; do\n        \
             sleep 0.1\n    \
             done\n    \
             rm -rf \"$copies\") </dev/null >/dev/null 2>&1 &\n\
             fi\n",
        );
    }
    for d in devices {
        let v = var(d);
        let arg = match (virtio, d.kind) {
            (false, Solo5Kind::Block) => format!(" ${{{v}:+\"--block:{}=${v}\"}}", d.name),
            (false, Solo5Kind::Net) => format!(
                " ${{{v}:+\"--net:{0}=${v}\"}} ${{offload_{0}:+\"--net-offload:{0}=$offload_{0}\"}}",
                d.name
            ),
            (true, Solo5Kind::Block) => {
                format!(" ${{{v}:+-drive \"file=${v},if=virtio,format=raw\"}}")
            }
            // QEMU's csum property takes on and off, as the option does.
            (true, Solo5Kind::Net) => format!(
                " ${{{v}:+-netdev \"{}\" -device \"{}\"}}",
                qemu_netdev(&format!("${v}")),
                qemu_net_device(&format!("${{offload_{0}:+,csum=$offload_{0}}}", d.name))
            ),
        };
        args.push_str(&arg);
    }
    Script {
        setup,
        args,
        copies: copied,
    }
}

/// Shell text defining `launch`, which runs its arguments: `exec`, or,
/// where gdb can run the image here, with `--gdb` first (taken off), gdb
/// on them, stopping the image `image` before it starts with the symbols
/// of its debug file beside it (as `mirage run --gdb`).
pub fn launch(target: Target, image: &str) -> String {
    let Some(commands) = gdb::commands(target, &format!("$here/dist/{image}.debug")) else {
        return "launch() { exec \"$@\"; }\n".into();
    };
    // Sources: the generated main.rs beside this script.
    let mut ex = String::from(" -ex 'set pagination off' -ex \"directory $here\"");
    for c in commands {
        let _ = write!(ex, " -ex \"{c}\"");
    }
    format!(
        "# `--gdb` first: under gdb, stopped before the image starts, with its\n\
         # symbols (as `mirage run --gdb`).\n\
         launch() {{ exec \"$@\"; }}\n\
         if [ \"$1\" = --gdb ]; then\n    \
         shift\n    \
         launch() {{ exec gdb -q -nx{ex} --args \"$@\"; }}\n\
         fi\n"
    )
}

//! The Solo5 backend: hvt, spt, virtio, muen, xen and qubes.
//!
//! Cargo builds a freestanding staticlib (the same code for every Solo5
//! target); the link step turns it into an image with the target's
//! bindings, linker script and the manifest of its Solo5 devices. spt and
//! hvt boot under their tender, virtio under QEMU; xen and qubes get xl
//! files, virtio a libvirt domain.

use super::{run_script, Backend, Target};
use crate::action::File;
use crate::build::debug_file;
use crate::build::step::{BuildCx, Cmd, Step};
use crate::build::toolchain::solo5_toolchain_location;
use crate::error::{Error, Result};
use crate::launch::{Launch, LaunchCx, Status};
use crate::model::resource::{Solo5Device, Solo5Kind};
use crate::render::{text_file, RenderCx};

/// The Solo5 family's backend.
pub struct Solo5;

/// Memory given to a guest by the generated xl and libvirt files, in MiB.
const MEMORY_MIB: &str = "128";

/// QEMU flags that boot a virtio image here: TCG with a CPU Solo5 supports
/// and `RDRAND` (the Solo5 `random` device; TCG emulates it), the serial
/// console on stdio, and `isa-debug-exit` so `solo5_exit` ends
/// QEMU (always with status 83).
pub const QEMU_ARGS: &[&str] = &[
    "-cpu",
    "Westmere,+rdrand",
    "-m",
    MEMORY_MIB,
    "-nodefaults",
    "-no-acpi",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-device",
    "isa-debug-exit",
];

/// The Solo5 ABI of a target's bindings (qubes runs xen images).
pub fn abi(target: Target) -> &'static str {
    match target {
        Target::Qubes => "xen",
        other => other.name(),
    }
}

/// Whether a Solo5 tender runs this target's images.
fn has_tender(target: Target) -> bool {
    matches!(target, Target::Spt | Target::Hvt)
}

/// The Solo5 manifest: the NET_BASIC and BLOCK_BASIC devices of the image.
/// Network devices say `"offload": true`: the net runtime reads frames
/// with a virtio-net header when the tender offloads (see
/// toolchains/solo5/patches/0002-net-offload.patch).
fn manifest_json(devices: &[Solo5Device]) -> String {
    let devices: Vec<serde_json::Value> = devices
        .iter()
        .map(|d| match d.kind {
            Solo5Kind::Net => serde_json::json!({"name": d.name, "type": d.kind, "offload": true}),
            Solo5Kind::Block => serde_json::json!({"name": d.name, "type": d.kind}),
        })
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

impl Backend for Solo5 {
    fn platform_packages(&self) -> &'static [&'static str] {
        &["runtimes/core", "runtimes/solo5"]
    }

    fn main_template(&self) -> &'static str {
        "main_solo5.rs.tera"
    }

    fn cargo_target(&self, program: &str, target: Target) -> String {
        format!(
            "# A freestanding static library; `mirage build` links it with the Solo5\n\
             # bindings for {target}.\n\
             [lib]\nname = \"{program}_{target}\"\npath = \"main.rs\"\ncrate-type = [\"staticlib\"]\n"
        )
    }

    fn image_name(&self, program: &str, target: Target) -> String {
        format!("{program}.{target}")
    }

    fn extra_files(&self, cx: &RenderCx) -> Result<Vec<File>> {
        let program = cx.program();
        let mut files = vec![text_file("manifest.json", manifest_json(cx.solo5_devices))];
        match cx.r.target {
            Target::Xen | Target::Qubes => {
                let kernel = format!("dist/{}", cx.image());
                let xl = |kernel: &str, cmdline: &str| {
                    cx.render(
                        "xl.tera",
                        &[
                            ("kernel", kernel),
                            ("cmdline", cmdline),
                            ("memory", MEMORY_MIB),
                        ],
                    )
                };
                files.push(text_file(&format!("{program}.xl"), xl(&kernel, "")?));
                files.push(text_file(
                    &format!("{program}.xl.in"),
                    xl("@KERNEL@", "@CMDLINE@")?,
                ));
            }
            Target::Virtio => files.push(text_file(
                &format!("{program}.virtio.xml"),
                cx.render("libvirt.xml.tera", &[("memory", MEMORY_MIB)])?,
            )),
            _ => {}
        }
        Ok(files)
    }

    fn run_script(&self, cx: &RenderCx) -> Result<String> {
        let target = cx.r.target;
        let image = cx.image();
        let launcher = if has_tender(target) {
            let key = mirage_toolchain_solo5::key(&String::from_utf8_lossy(cx.lock))
                .map_err(Error::system)?;
            format!(
                "# The tender comes from the Solo5 toolchain cache that `mirage build` fills.\n\
                 solo5=\"${{MIRAGE_CACHE:-${{XDG_CACHE_HOME:-$HOME/.cache}}/rules_mirage}}/{key}\"\n\
                 launch \"$solo5/tenders/{target}/solo5-{target}\""
            )
        } else if target == Target::Virtio {
            format!("qemu-system-x86_64 {}", QEMU_ARGS.join(" "))
        } else {
            return Ok(format!(
                "echo \"run.sh: {target} images need a {target} host; the image is $here/dist/{image}\" >&2\nexit 2"
            ));
        };
        let script = run_script::devices(cx.solo5_devices, target == Target::Virtio);
        if target == Target::Virtio {
            // QEMU exits 83 whatever the guest's status: read it from the
            // console line Solo5's bindings print, as `mirage run` does.
            let copies = if script.copies { " \"$copies\"" } else { "" };
            return Ok(format!(
                "{}console=\"${{TMPDIR:-/tmp}}/{image}-$$.console\"\n\
                 # Stopped by a signal too, the script removes what it made.\n\
                 trap 'rm -rf \"$console\"{copies}' EXIT\n\
                 trap 'exit 129' HUP\ntrap 'exit 130' INT\ntrap 'exit 143' TERM\n\
                 {}{} -kernel \"$here/dist/{image}\" -append \"$*\" | tee \"$console\"\n\
                 code=$(tr -d '\\r' < \"$console\" | sed -n 's/^Solo5: solo5_exit(\\([0-9]*\\)) called$/\\1/p')\n\
                 tr -d '\\r' < \"$console\" | grep -q '^Solo5: solo5_abort() called$' && code=255\n\
                 exit \"${{code:-1}}\"",
                script.setup, launcher, script.args
            ));
        }
        Ok(format!(
            "{}{}{}{} \"$here/dist/{image}\" \"$@\"",
            run_script::launch(target, &image),
            script.setup,
            launcher,
            script.args
        ))
    }

    fn link(&self, cx: &BuildCx) -> Result<Vec<Step>> {
        let toolchain = solo5_toolchain_location(cx.ws)?;
        let abi = abi(cx.r.target);
        // Two builds of one unikernel may link at once: one scratch each.
        let work = cx.dir.join(format!(".link-{}", std::process::id()));
        let lib = cx
            .target_dir
            .join("release")
            .join(format!("lib{}_{}.a", cx.r.label.name, cx.r.target));
        let mut steps = vec![
            Step::Solo5Toolchain {
                dir: toolchain.dir.clone(),
            },
            Step::Scratch(work.clone()),
            Step::Tool(
                Cmd::new(toolchain.elftool())
                    .arg("gen-manifest")
                    .arg(cx.dir.join("manifest.json"))
                    .arg("manifest.c")
                    .current_dir(&work),
            ),
            // -g0: no debug info, so no build path ends up in the image.
            Step::Tool(
                Cmd::new(toolchain.cc())
                    .args(["-g0", "-c", "manifest.c", "-o", "manifest.o"])
                    .current_dir(&work),
            ),
            // Solo5's objects carry debug info naming the toolchain's
            // directory: kept out, as the debug file must not depend on
            // where Solo5 was built.
            Step::Tool(
                Cmd::new("objcopy")
                    .arg("--strip-debug")
                    .arg(toolchain.bindings(abi))
                    .arg("bindings.o")
                    .current_dir(&work),
            ),
            Step::Tool(
                Cmd::new("ld")
                    .args([
                        "-nostdlib",
                        "-static",
                        "-z",
                        "max-page-size=0x1000",
                        // The id is the stripped image's digest (debug_file.rs).
                        "--build-id=none",
                        "-T",
                    ])
                    .arg(toolchain.linker_script(abi))
                    .args(["bindings.o", "manifest.o"])
                    .arg(lib)
                    .arg("-o")
                    .arg("image")
                    .current_dir(&work),
            ),
        ];
        steps.extend(debug_file::split(&work.join("image"), &work, cx.image));
        Ok(steps)
    }

    fn launch(&self, cx: &LaunchCx) -> Result<Launch> {
        let target = cx.r.target;
        if has_tender(target) {
            let toolchain = crate::build::toolchain::solo5_toolchain(&cx.ws.home)?;
            let mut cmd = Cmd::new(toolchain.tender(target.name()));
            for a in cx.attach {
                cmd = cmd.arg(format!(
                    "--{}:{}={}",
                    a.kind.word(),
                    a.name,
                    a.path.display()
                ));
                if a.kind == Solo5Kind::Net && !a.offload {
                    cmd = cmd.arg(format!("--net-offload:{}=off", a.name));
                }
            }
            return Ok(Launch {
                cmd: cmd.arg(cx.image).args(cx.runtime_args),
                status: Status::Tender,
            });
        }
        if target == Target::Virtio {
            let mut cmd = Cmd::new("qemu-system-x86_64");
            let blocks: Vec<_> = cx
                .attach
                .iter()
                .filter(|a| a.kind == Solo5Kind::Block)
                .collect();
            let nets: Vec<_> = cx
                .attach
                .iter()
                .filter(|a| a.kind == Solo5Kind::Net)
                .collect();
            if blocks.len() > 1 || nets.len() > 1 {
                return Err(Error::at(
                    &cx.r.loc,
                    "Solo5's virtio bindings support one block and one network device; this image has more",
                ));
            }
            for a in blocks {
                cmd = cmd
                    .arg("-drive")
                    .arg(format!("file={},if=virtio,format=raw", a.path.display()));
            }
            for a in nets {
                cmd = cmd
                    .arg("-netdev")
                    .arg(run_script::qemu_netdev(&a.path.display().to_string()))
                    .arg("-device")
                    .arg(run_script::qemu_net_device(match a.offload {
                        true => "",
                        false => ",csum=off",
                    }));
            }
            return Ok(Launch {
                cmd: cmd
                    .args(QEMU_ARGS.iter().copied())
                    .arg("-kernel")
                    .arg(cx.image)
                    .arg("-append")
                    .arg(cx.runtime_args.join(" ")),
                status: Status::Qemu,
            });
        }
        Err(Error::at(
            &cx.r.loc,
            format!(
                "{target} images cannot run on this host; boot {} on a {target} host",
                cx.image.display()
            ),
        ))
    }
}

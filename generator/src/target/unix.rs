//! The unix backend: the image is a host executable built by cargo, split
//! from its debug file.
//!
//! Block devices are files the image opens (relative to the workspace
//! root, where `mirage run` starts it); tap interfaces reach it through
//! `MIRAGE_NET_<NAME>` in its environment.

use super::{Backend, Target};
use crate::action::File;
use crate::build::debug_file;
use crate::build::step::{BuildCx, Cmd, Step};
use crate::error::Result;
use crate::launch::{Launch, LaunchCx, Status};
use crate::model::resource::Solo5Kind;
use crate::render::RenderCx;

/// The unix family's backend.
pub struct Unix;

impl Backend for Unix {
    fn platform_packages(&self) -> &'static [&'static str] {
        &["runtimes/core", "runtimes/unix"]
    }

    fn main_template(&self) -> &'static str {
        "main_unix.rs.tera"
    }

    fn cargo_target(&self, program: &str, _: Target) -> String {
        format!("[[bin]]\nname = \"{program}\"\npath = \"main.rs\"\n")
    }

    fn image_name(&self, program: &str, _: Target) -> String {
        program.to_owned()
    }

    fn extra_files(&self, _: &RenderCx) -> Result<Vec<File>> {
        Ok(Vec::new())
    }

    fn run_script(&self, cx: &RenderCx) -> Result<String> {
        let image = cx.image();
        Ok(format!(
            "{}# The workspace: the link beside this script, or $MIRAGE_ROOT (bazel run).\n\
             # The image names its files relative to it, as `mirage run` starts it.\n\
             cd \"${{MIRAGE_ROOT:-$here/workspace}}\" || exit 2\n\
             launch \"$here/dist/{image}\" \"$@\"",
            super::run_script::launch(Target::Unix, &image),
        ))
    }

    fn link(&self, cx: &BuildCx) -> Result<Vec<Step>> {
        // Two builds of one unikernel may link at once: one scratch each.
        let work = cx.dir.join(format!(".link-{}", std::process::id()));
        let linked = cx.target_dir.join("release").join(&cx.r.label.name);
        let mut steps = vec![Step::Scratch(work.clone())];
        steps.extend(debug_file::split(&linked, &work, cx.image));
        Ok(steps)
    }

    fn launch(&self, cx: &LaunchCx) -> Result<Launch> {
        let mut cmd = Cmd::new(cx.image).current_dir(&cx.ws.root);
        for a in cx.attach.iter().filter(|a| a.kind == Solo5Kind::Net) {
            cmd = cmd.env(
                &format!("MIRAGE_NET_{}", a.name.to_uppercase()),
                a.path.as_os_str(),
            );
        }
        Ok(Launch {
            cmd: cmd.args(cx.runtime_args),
            status: Status::Process,
        })
    }
}

//! `mirage run --profile`: the image sampled by perf while it runs, and
//! a flame graph (and the folded stacks it is drawn from) written when it
//! ends, however it ends: exit, panic, fault or signal.
//!
//! perf records the process the image runs in, walking the stack through
//! frame pointers (images keep them): the unix image itself, or the spt
//! tender, inside which the image runs at the addresses it was linked at.
//! perf names what it can from the files it saw mapped; a frame it cannot
//! name (the spt image's code, loaded by the tender, not mapped from a
//! file) is named from the image's debug file, inlined calls included.
//! perf samples CPU time (`cpu-clock`), so waiting does not show.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::symbolize::Symbolizer;
use super::Launch;
use crate::build::step::Cmd;
use crate::error::{Error, Result};
use crate::target::Target;

/// Samples per second: odd, so as not to beat with the image's timers.
const FREQUENCY: &str = "997";

/// Where a profile goes: the flame graph, and the folded stacks beside it
/// (`OUT.folded`).
#[derive(Debug, Clone)]
pub struct Profile {
    /// The flame graph (SVG).
    pub svg: PathBuf,
    /// perf's samples, read once the image has ended.
    pub data: PathBuf,
}

impl Profile {
    /// The folded stacks' file: the flame graph's, with `.folded` for
    /// `.svg`.
    pub fn folded(&self) -> PathBuf {
        self.svg.with_extension("folded")
    }
}

/// Whether images of `target` can be profiled: they must run as a host
/// process.
pub fn check(target: Target) -> Result<()> {
    if matches!(target, Target::Unix | Target::Spt) {
        return Ok(());
    }
    Err(Error::user(format!(
        "mirage run --profile: {target} images cannot be profiled from here \
         (unix and spt can: they run as host processes)"
    )))
}

/// The launch of `launch` under `perf record`, writing `profile.data`.
/// The status is read as before: perf passes the image's through.
pub fn wrap(launch: &Launch, target: Target, profile: &Profile) -> Result<Launch> {
    check(target)?;
    let mut cmd = Cmd::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-F", FREQUENCY])
        .args(["--call-graph", "fp", "-o"])
        .arg(&profile.data)
        .arg("--")
        .arg(&launch.cmd.program)
        .args(launch.cmd.args.iter().cloned());
    cmd.env = launch.cmd.env.clone();
    cmd.env_remove = launch.cmd.env_remove.clone();
    cmd.cwd = launch.cmd.cwd.clone();
    Ok(Launch {
        cmd,
        status: launch.status,
    })
}

/// Reads `profile.data` (perf's samples of `image`) and writes the folded
/// stacks and the flame graph titled `title`; returns the number of
/// samples.
pub fn write(profile: &Profile, image: &Path, title: &str) -> Result<usize> {
    let script = std::process::Command::new("perf")
        .arg("script")
        .arg("-i")
        .arg(&profile.data)
        .output()
        .map_err(|e| Error::system(format!("run perf script (Debian package linux-perf): {e}")))?;
    if !script.status.success() {
        return Err(Error::system(format!(
            "perf script -i {}: {}",
            profile.data.display(),
            String::from_utf8_lossy(&script.stderr).trim()
        )));
    }
    let named = name_frames(&script.stdout, &Symbolizer::for_image(image));
    let mut folded = Vec::new();
    let mut options = inferno::collapse::perf::Options::default();
    options.nthreads = 1;
    inferno::collapse::Collapse::collapse(
        &mut inferno::collapse::perf::Folder::from(options),
        &named[..],
        &mut folded,
    )
    .map_err(|e| Error::system(format!("fold perf's stacks: {e}")))?;
    let folded_path = profile.folded();
    write_file(&folded_path, &folded)?;
    // A sample opens with its header, the one line not indented.
    let samples = script
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"\t") && !l.starts_with(b" "))
        .count();
    let mut svg = Vec::new();
    if samples > 0 {
        let mut options = inferno::flamegraph::Options::default();
        options.title = title.to_owned();
        // perf weighs each sample by its period: cpu-clock's is in ns.
        options.count_name = "ns of CPU".to_owned();
        let lines = std::str::from_utf8(&folded).unwrap_or_default().lines();
        inferno::flamegraph::from_lines(&mut options, lines, &mut svg)
            .map_err(|e| Error::system(format!("draw the flame graph: {e}")))?;
    }
    write_file(&profile.svg, &svg)?;
    Ok(samples)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::system(format!("write {}: {e}", path.display())))
}

/// `perf script`'s output with each frame perf could not name named from
/// the image's debug information (inlined calls as frames of their own,
/// innermost first, as perf lists frames).
fn name_frames(script: &[u8], symbolizer: &Symbolizer) -> Vec<u8> {
    let mut out = Vec::with_capacity(script.len());
    // The first frame of a sample is where it was taken; the others are
    // return addresses, the instruction after their call.
    let mut first = true;
    for line in script.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        // `ADDRESS [unknown] (DSO)`: DSO is `[unknown]`, or perf's map
        // file for anonymous code (`/tmp/perf-PID.map`), as the spt image's.
        let frame = text
            .trim()
            .split_once(' ')
            .filter(|(_, rest)| rest.starts_with("[unknown] ("))
            .and_then(|(a, _)| u64::from_str_radix(a, 16).ok());
        let names = frame.and_then(|address| {
            let probe = if first {
                address
            } else {
                address.saturating_sub(1)
            };
            symbolizer.functions(probe)
        });
        match (frame, names) {
            (Some(address), Some(names)) => {
                for name in names {
                    let _ = writeln!(out, "\t{address:x} {name} (image)");
                }
            }
            _ => out.extend_from_slice(line),
        }
        first = !line.starts_with(b"\t") && !line.starts_with(b" ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_perf_named_pass_through() {
        let symbolizer = Symbolizer::for_image(Path::new("/nonexistent/image"));
        let script = b"app 1 1.0: 1 cpu-clock:\n\t  1234 main+0x4 (/bin/app)\n\t 10 [unknown] (/tmp/perf-1.map)\n\n";
        assert_eq!(name_frames(script, &symbolizer), script);
    }
}

//! Naming a backtrace's frames: the image prints its return addresses
//! (`IMAGE: backtrace: 0x… 0x…`, see `mirage_runtime::backtrace`), and
//! this reads them back and prints one `function at file:line` per frame
//! (inlined calls each on a line of their own), from the image's debug
//! file (`IMAGE.debug`, see `build::debug_file`).
//!
//! [`relay`] copies a console through as it comes, adding the named
//! frames after each backtrace line: `mirage run` relays the stream a
//! backtrace goes to (the console of a Solo5 image, a unix image's
//! standard error), and `mirage symbolize` relays its standard input.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::build::debug_file;
use crate::error::{Error, Result};

/// An image's debug information, read at its first backtrace: most runs
/// print none, and the debug file is megabytes.
pub struct Symbolizer {
    /// The debug file (or the image itself).
    file: PathBuf,
    /// Its contents once read, or why they cannot be.
    loader: std::cell::OnceCell<std::result::Result<addr2line::Loader, String>>,
}

impl Symbolizer {
    /// The debug information of `image`: its debug file, else the image
    /// itself (an image built before debug files has its symbols).
    pub fn for_image(image: &Path) -> Symbolizer {
        let debug = debug_file::path(image);
        let file = if debug.exists() {
            debug
        } else {
            image.to_path_buf()
        };
        Symbolizer {
            file,
            loader: std::cell::OnceCell::new(),
        }
    }

    /// The debug information, read now if not yet.
    fn loaded(&self) -> &std::result::Result<addr2line::Loader, String> {
        self.loader
            .get_or_init(|| addr2line::Loader::new(&self.file).map_err(|e| e.to_string()))
    }

    /// The functions of the frames at `address`, innermost first (inlined
    /// calls, then the function that holds the code); `None` when the
    /// address is in no function the debug information knows.
    pub fn functions(&self, address: u64) -> Option<Vec<String>> {
        let loader = self.loaded().as_ref().ok()?;
        loader.find_symbol(address)?;
        let found = frames_at(loader, address);
        Some(
            found
                .into_iter()
                .map(|(function, _)| function.unwrap_or_else(|| "??".to_owned()))
                .collect(),
        )
    }

    /// The lines that name the frames of `line`, when it is a backtrace
    /// line; `None` for any other line.
    pub fn frames(&self, line: &str) -> Option<Vec<String>> {
        let (_, addresses) = mirage_runtime::backtrace::parse_line(line.trim_end_matches('\r'))?;
        let loader = match self.loaded() {
            Ok(loader) => loader,
            Err(why) => {
                return Some(vec![format!(
                    "mirage: cannot name the frames: {}: {why}",
                    self.file.display()
                )])
            }
        };
        let mut out = Vec::new();
        for (n, &address) in addresses.iter().enumerate() {
            // A return address is the instruction after the call.
            let names = names(loader, (address as u64).saturating_sub(1));
            for (i, name) in names.iter().enumerate() {
                let how = if i + 1 < names.len() {
                    " (inlined)"
                } else {
                    ""
                };
                out.push(format!("  #{n} {address:#x} {name}{how}"));
            }
        }
        Some(out)
    }
}

/// `function at file:line` for each frame at `probe`, innermost first.
fn names(loader: &addr2line::Loader, probe: u64) -> Vec<String> {
    frames_at(loader, probe)
        .into_iter()
        .map(|(function, place)| format!("{}{place}", function.as_deref().unwrap_or("??")))
        .collect()
}

/// The function and ` at file:line` (or nothing) of each frame at
/// `probe`, innermost first. The function that holds the code (the last)
/// is named by the symbol table, whose names are whole paths
/// (`app::descend`), where line tables name it alone (`descend`) or not
/// at all.
fn frames_at(loader: &addr2line::Loader, probe: u64) -> Vec<(Option<String>, String)> {
    let symbol = loader
        .find_symbol(probe)
        .map(|s| addr2line::demangle_auto(Cow::Borrowed(s), None).into_owned());
    let mut found = Vec::new();
    if let Ok(mut frames) = loader.find_frames(probe) {
        while let Ok(Some(frame)) = frames.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok())
                .map(Cow::into_owned);
            let place = match frame.location {
                Some(addr2line::Location {
                    file: Some(file),
                    line: Some(line),
                    ..
                }) => format!(" at {}:{line}", shown_path(file)),
                _ => String::new(),
            };
            found.push((function, place));
        }
    }
    if found.is_empty() {
        found.push((None, String::new()));
    }
    if let Some(last) = found.last_mut() {
        if symbol.is_some() {
            last.0 = symbol;
        }
    }
    found
}

/// A source path as a reader finds it: relative to the workspace root.
/// The generated crate compiles in its output directory and reaches the
/// workspace through its `workspace` link, so DWARF records
/// `OUTPUT/workspace/PATH`.
/// Likewise `OUTPUT/@rules_mirage/PATH` for rules_mirage's own crates
/// when it is not the workspace.
fn shown_path(file: &str) -> &str {
    if let Some((_, rest)) = file.split_once("/workspace/") {
        return rest;
    }
    if let Some(i) = file.find("/@rules_mirage/") {
        return &file[i + 1..];
    }
    file.strip_prefix("./").unwrap_or(file)
}

/// Copies `from` to `to` as it comes, adding the named frames after each
/// backtrace line.
pub fn relay(mut from: impl Read, mut to: impl Write, symbolizer: &Symbolizer) {
    let mut buf = [0u8; 8192];
    let mut line = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == b'\n').map(|i| i + 1);
            let (piece, after) = rest.split_at(end.unwrap_or(rest.len()));
            let _ = to.write_all(piece);
            line.extend_from_slice(piece);
            if end.is_some() {
                let text = String::from_utf8_lossy(&line);
                for named in symbolizer
                    .frames(text.trim_end_matches('\n'))
                    .unwrap_or_default()
                {
                    let _ = writeln!(to, "{named}");
                }
                line.clear();
            }
            rest = after;
        }
        let _ = to.flush();
    }
}

/// `mirage symbolize IMAGE`: standard input to standard output, naming
/// backtraces' frames from `image`'s debug file.
pub fn main(image: &Path) -> Result<i32> {
    if !image.is_file() {
        return Err(Error::user(format!(
            "mirage symbolize: {}: no such image",
            image.display()
        )));
    }
    relay(
        std::io::stdin(),
        std::io::stdout(),
        &Symbolizer::for_image(image),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_from_the_workspace_root() {
        assert_eq!(
            shown_path("./mirage-out/app/app/spt/workspace/app/src/lib.rs"),
            "app/src/lib.rs"
        );
        assert_eq!(
            shown_path("./mirage-out/app/app/spt/@rules_mirage/runtimes/core/src/executor.rs"),
            "@rules_mirage/runtimes/core/src/executor.rs"
        );
        assert_eq!(
            shown_path("./mirage-out/app/app/spt/main.rs"),
            "mirage-out/app/app/spt/main.rs"
        );
        let std = "/rustc/abc/library/core/src/panicking.rs";
        assert_eq!(shown_path(std), std);
    }

    #[test]
    fn other_lines_pass_through_unchanged() {
        let symbolizer = Symbolizer::for_image(Path::new("/nonexistent/image"));
        let mut out = Vec::new();
        relay(&b"one\npartial"[..], &mut out, &symbolizer);
        assert_eq!(out, b"one\npartial");
        let mut out = Vec::new();
        relay(&b"app: backtrace: 0x10\nnext\n"[..], &mut out, &symbolizer);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "app: backtrace: 0x10\nmirage: cannot name the frames: /nonexistent/image: "
            ),
            "{text}"
        );
        assert!(text.ends_with("\nnext\n"), "{text}");
    }
}

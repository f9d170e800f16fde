//! An image and its debug file.
//!
//! The linked program (code and DWARF) is split in two: the image, with no
//! debug info, and `IMAGE.debug`, with only debug info and the symbols
//! (`objcopy --strip-debug`, `objcopy --only-keep-debug`). Both get one GNU
//! build-id note, the first 20 bytes of the stripped image's sha256, so the
//! id depends on the code alone, never on the paths DWARF records (which
//! differ between the engines' build directories), and gdb, perf and
//! `mirage symbolize` pair the two files by it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::build::step::{Cmd, Step};
use crate::error::{IoContext, Result};

/// The section both files carry the id in.
const SECTION: &str = ".note.gnu.build-id";

/// `NT_GNU_BUILD_ID`, the note type of a build id.
const NT_GNU_BUILD_ID: u32 = 3;

/// Bytes of the id (as long as a SHA-1 id, which tools expect).
const ID_BYTES: usize = 20;

/// The debug file of `image`: `IMAGE.debug` beside it.
pub fn path(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(".debug");
    PathBuf::from(name)
}

/// The steps that split `linked` into `image` and its debug file, with
/// intermediate files in `work` (a scratch directory made before them).
pub fn split(linked: &Path, work: &Path, image: &Path) -> Vec<Step> {
    let stripped = work.join("image.stripped");
    let debug = work.join("image.debug");
    let note = work.join("build-id.note");
    let objcopy = |args: &[&str], from: &Path, to: &Path| {
        Step::Tool(Cmd::new("objcopy").args(args).arg(from).arg(to))
    };
    let add_note = format!("{SECTION}={}", note.display());
    let with_note = |file: &Path| {
        Step::Tool(
            Cmd::new("objcopy")
                .args(["--add-section", &add_note])
                .arg(file),
        )
    };
    vec![
        objcopy(&["--strip-debug"], linked, &stripped),
        objcopy(&["--only-keep-debug"], linked, &debug),
        Step::BuildId {
            image: stripped.clone(),
            note,
        },
        with_note(&stripped),
        with_note(&debug),
        Step::Install {
            from: stripped,
            to: image.to_path_buf(),
            mode: 0o755,
        },
        Step::Install {
            from: debug,
            to: path(image),
            mode: 0o644,
        },
    ]
}

/// Writes to `note` the build-id note of the stripped image `image`.
pub fn write_note(image: &Path, note: &Path) -> Result<()> {
    let bytes = std::fs::read(image).io_context(|| format!("read {}", image.display()))?;
    std::fs::write(note, note_bytes(&Sha256::digest(&bytes)[..ID_BYTES]))
        .io_context(|| format!("write {}", note.display()))
}

/// An ELF note: name and descriptor sizes, type, "GNU\0", the id (both
/// already 4-byte multiples).
fn note_bytes(id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + id.len());
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(&NT_GNU_BUILD_ID.to_le_bytes());
    out.extend_from_slice(b"GNU\0");
    out.extend_from_slice(id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_is_what_readelf_reads() {
        let note = note_bytes(&[0xab; ID_BYTES]);
        assert_eq!(note.len(), 36);
        assert_eq!(&note[..16], b"\x04\0\0\0\x14\0\0\0\x03\0\0\0GNU\0");
    }

    #[test]
    fn the_debug_file_sits_beside_the_image() {
        assert_eq!(
            path(Path::new("dist/hello.spt")),
            Path::new("dist/hello.spt.debug")
        );
    }
}

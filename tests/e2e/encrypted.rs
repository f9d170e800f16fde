//! The notes on an encrypted disk (`//examples/notes:notes_encrypted`:
//! chamelon on `encrypted_block` on a file the build makes), as curl and
//! the host see it, on spt and unix: a note put and read back, nowhere in
//! the disk file in the clear; kept across a restart with the key; a
//! wrong key refused at boot in one line; a disk changed on the host
//! refused, never read. On virtio (QEMU), a note put and read.

use std::path::PathBuf;

use crate::http::{curl, status};
use crate::network::{Netns, Stack};
use crate::notes::build_on_a_blank_disk;
use crate::running::Running;
use crate::support::repo;

const LABEL: &str = "//examples/notes:notes_encrypted";
const URL: &str = "http://10.0.0.2:8080/notes";
const LISTENING: &str = "listening on port 8080";
const KEY: &str = "--vault-key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const WRONG: &str = "--vault-key=f0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NOTE: &str = "a note for no one else's eyes";

/// The disk the build made for `stack`'s image.
fn vault(stack: Stack) -> PathBuf {
    repo().join(format!(
        "mirage-out/examples/notes/notes_encrypted/{}/disks/vault.img",
        stack.target()
    ))
}

/// Boots it with `key` and `--format`, puts [`NOTE`] and reads it back.
fn put_a_note(ns: &Netns, stack: Stack) {
    let notes = Running::start(
        ns,
        stack,
        LABEL,
        &[],
        &["--http-port=8080", KEY, "--format"],
        LISTENING,
    );
    assert!(
        notes
            .output()
            .contains("encrypted a blank disk of 8191 sectors"),
        "{}",
        notes.output()
    );
    let url = format!("{URL}/secret");
    assert_eq!(
        status(ns, &["-X", "PUT", "--data-binary", NOTE, &url]),
        "201"
    );
    assert_eq!(curl(ns, &[&url]).stdout, NOTE.as_bytes());
}

fn keeps_secrets(stack: Stack) {
    let ns = Netns::for_stack("vault", stack);
    build_on_a_blank_disk(stack, LABEL, vault(stack));
    put_a_note(&ns, stack);
    let disk = std::fs::read(vault(stack)).unwrap();
    assert!(!disk.windows(NOTE.len()).any(|w| w == NOTE.as_bytes()));

    let args = ["--http-port=8080", KEY];
    let notes = Running::start_built(&ns, stack, LABEL, &args, LISTENING);
    assert_eq!(
        curl(&ns, &[&format!("{URL}/secret")]).stdout,
        NOTE.as_bytes()
    );
    drop(notes);

    let (code, out) =
        Running::start_built(&ns, stack, LABEL, &["--http-port=8080", WRONG], "").finish();
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("sealed failed: the key does not open this disk (another key encrypted it)"),
        "{out}"
    );

    // One bit flipped in every sector written but the header.
    let mut changed = disk.clone();
    for sector in changed.chunks_mut(512).skip(1) {
        if sector.iter().any(|&b| b != 0) {
            sector[100] ^= 1;
        }
    }
    std::fs::write(vault(stack), &changed).unwrap();
    let (code, out) = Running::start_built(&ns, stack, LABEL, &args, "").finish();
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("failed its integrity check"), "{out}");
    assert!(out.contains("sealed_store failed: cannot mount"), "{out}");
}

#[test]
fn encrypted_notes_keep_their_secret_on_spt() {
    keeps_secrets(Stack::Spt);
}

#[test]
fn encrypted_notes_keep_their_secret_on_unix_sockets() {
    keeps_secrets(Stack::UnixSocket);
}

#[test]
fn encrypted_notes_serve_a_put_and_a_get_on_virtio() {
    let ns = Netns::for_stack("vault", Stack::Virtio);
    build_on_a_blank_disk(Stack::Virtio, LABEL, vault(Stack::Virtio));
    put_a_note(&ns, Stack::Virtio);
}

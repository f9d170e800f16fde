//! Bulk data through the tap, with the tenders' TCP segmentation and
//! checksum offload (toolchains/solo5/patches/0002-net-offload.patch, on
//! by default) and without (`mirage run --no-offload` or `run.sh
//! --net-offload:NAME=off`: wire-sized frames, as an unpatched tender
//! passes them): 64 MiB to the echo example on spt and back, byte for
//! byte, and the frames the unikernel wrote counted on the tap.

use std::process::Command;

use crate::network::{nc, Netns, Stack};
use crate::running::Running;
use crate::support::sha256;

/// 64 MiB that no layer can compress or guess: xorshift64 output.
fn data() -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(64 << 20);
    while out.len() < 64 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Frames the host side of tap0 received, i.e. that the unikernel wrote.
fn frames_written(ns: &Netns) -> u64 {
    let out = Command::new("ip")
        .args(["-n", &ns.client, "-j", "-s", "link", "show", "tap0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let link: serde_json::Value = serde_json::from_str(&text).unwrap();
    link[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

/// Echoes 64 MiB through the echo example booted on `stack` with `flags`;
/// returns its console output and the frames it wrote.
fn sixty_four_mib_echoed(name: &str, stack: Stack, flags: &[&str]) -> (String, u64) {
    let ns = Netns::for_stack(name, stack);
    let echo = Running::start_with(
        &ns,
        stack,
        "//examples/echo:echo",
        &[],
        flags,
        &[],
        "echo: listening on port 7",
    );
    let data = data();
    let before = frames_written(&ns);
    let back = nc(&ns, "7", &data);
    let written = frames_written(&ns) - before;
    assert_eq!(back.len(), data.len(), "bytes echoed");
    assert_eq!(sha256(&back), sha256(&data), "the echo differs");
    (echo.output(), written)
}

/// 64 MiB in wire-sized frames: at most 1,460 bytes of data each on a
/// 1,500-byte wire.
const WIRE_FRAMES: u64 = (64 << 20) / 1460;

#[test]
fn sixty_four_mib_each_way_with_offload_on_spt() {
    let (out, written) = sixty_four_mib_echoed("offload", Stack::Spt, &[]);
    assert!(
        out.contains("wire MTU 1500, TCP segmentation and checksum offload on"),
        "{out}"
    );
    println!("offload on: 64 MiB echoed in {written} frames ({WIRE_FRAMES} wire-sized)");
    assert!(
        written < WIRE_FRAMES / 4,
        "{written} frames for 64 MiB: the host did not cut segments"
    );
}

#[test]
fn sixty_four_mib_each_way_without_offload_on_spt() {
    let (out, written) = sixty_four_mib_echoed("no-offload", Stack::Spt, &["--no-offload"]);
    assert!(out.contains("wire MTU 1500, no offload"), "{out}");
    println!("offload off: 64 MiB echoed in {written} frames");
    assert!(written >= WIRE_FRAMES, "{written} frames for 64 MiB");
    // The run.sh beside the image passes the tender's option on.
    let ns = Netns::for_stack("no-offload-run-sh", Stack::Spt);
    let echo = Running::start_built(
        &ns,
        Stack::Spt,
        "//examples/echo:echo",
        &["--net-offload:service=off"],
        "echo: listening on port 7",
    );
    assert!(
        echo.output().contains("wire MTU 1500, no offload"),
        "{}",
        echo.output()
    );
}

/// virtio: QEMU's virtio-net device takes the image's TCP segments whole
/// and cuts them (toolchains/solo5/patches/0004-virtio-net-offload.patch);
/// it hands over wire-sized frames, so only what the image sends shrinks.
#[test]
fn sixty_four_mib_each_way_with_offload_on_virtio() {
    let (out, written) = sixty_four_mib_echoed("offload-virtio", Stack::Virtio, &[]);
    assert!(
        out.contains("wire MTU 1500, TCP segmentation and checksum offload on"),
        "{out}"
    );
    println!("virtio, offload on: 64 MiB echoed in {written} frames ({WIRE_FRAMES} wire-sized)");
    assert!(
        written < WIRE_FRAMES / 4,
        "{written} frames for 64 MiB: the host did not cut segments"
    );
}

/// virtio with the device's offloads withdrawn (`mirage run --no-offload`
/// starts QEMU's virtio-net-pci with `csum=off`): plain frames, as Solo5's
/// own driver sends them.
#[test]
fn sixty_four_mib_each_way_without_offload_on_virtio() {
    let (out, written) =
        sixty_four_mib_echoed("no-offload-virtio", Stack::Virtio, &["--no-offload"]);
    assert!(out.contains("wire MTU 1500, no offload"), "{out}");
    println!("virtio, offload off: 64 MiB echoed in {written} frames");
    assert!(written >= WIRE_FRAMES, "{written} frames for 64 MiB");
}

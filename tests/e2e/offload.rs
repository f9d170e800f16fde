//! Bulk data through the tap, with TCP segmentation and checksum offload
//! (on by default: the spt tender's, toolchains/solo5/patches/
//! 0002-net-offload.patch, and QEMU's virtio-net device's, 0004) and
//! without (`mirage run --no-offload` or `run.sh --net-offload:NAME=off`:
//! wire-sized frames, as an unpatched tender passes them): 64 MiB to the
//! echo example on spt and on virtio and back, byte for byte, and the
//! frames the unikernel wrote and read counted on the tap; and jumbo
//! frames, from a tap at MTU 9000.

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

/// Frames through the host side of tap0: (written by the unikernel, the
/// host's received; read by it, the host's sent). A segment the host cuts
/// or coalesces counts once.
fn frames(ns: &Netns) -> (u64, u64) {
    let out = Command::new("ip")
        .args(["-n", &ns.client, "-j", "-s", "link", "show", "tap0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let link: serde_json::Value = serde_json::from_str(&text).unwrap();
    let count = |way: &str| link[0]["stats64"][way]["packets"].as_u64().unwrap();
    (count("rx"), count("tx"))
}

/// Echoes 64 MiB through the echo example booted on `stack` with `flags`;
/// returns its console output and the frames it wrote and read.
fn sixty_four_mib_echoed(name: &str, stack: Stack, flags: &[&str]) -> (String, u64, u64) {
    echoed_at_mtu(name, stack, 1500, flags)
}

/// The same, with the host's side of tap0 at `mtu` bytes.
fn echoed_at_mtu(name: &str, stack: Stack, mtu: u32, flags: &[&str]) -> (String, u64, u64) {
    let ns = Netns::for_stack(name, stack);
    let set = Command::new("ip")
        .args([
            "-n",
            &ns.client,
            "link",
            "set",
            "tap0",
            "mtu",
            &mtu.to_string(),
        ])
        .status()
        .unwrap();
    assert!(set.success(), "ip link set tap0 mtu {mtu}");
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
    let before = frames(&ns);
    let back = nc(&ns, "7", &data);
    let after = frames(&ns);
    assert_eq!(back.len(), data.len(), "bytes echoed");
    assert_eq!(sha256(&back), sha256(&data), "the echo differs");
    (echo.output(), after.0 - before.0, after.1 - before.1)
}

/// 64 MiB in wire-sized frames: at most 1,460 bytes of data each on a
/// 1,500-byte wire.
const WIRE_FRAMES: u64 = (64 << 20) / 1460;

/// With offload, fewer than a quarter of the wire's frames each way: the
/// host cuts what the unikernel writes and coalesces what it reads.
fn offloaded(name: &str, stack: Stack) {
    let (out, written, read) = sixty_four_mib_echoed(name, stack, &[]);
    assert!(
        out.contains("wire MTU 1500, TCP segmentation and checksum offload on"),
        "{out}"
    );
    println!(
        "{stack:?}, offload on: 64 MiB echoed in {written} frames written and {read} read \
         ({WIRE_FRAMES} wire-sized)"
    );
    assert!(
        written < WIRE_FRAMES / 4,
        "{written} frames written for 64 MiB: the host did not cut segments"
    );
    assert!(
        read < WIRE_FRAMES / 4,
        "{read} frames read for 64 MiB: the host did not coalesce segments"
    );
}

/// Without offload, wire-sized frames each way.
fn plain(name: &str, stack: Stack) {
    let (out, written, read) = sixty_four_mib_echoed(name, stack, &["--no-offload"]);
    assert!(out.contains("wire MTU 1500, no offload"), "{out}");
    println!("{stack:?}, offload off: 64 MiB echoed in {written} frames written and {read} read");
    assert!(
        written >= WIRE_FRAMES,
        "{written} frames written for 64 MiB"
    );
    assert!(read >= WIRE_FRAMES, "{read} frames read for 64 MiB");
}

#[test]
fn sixty_four_mib_each_way_with_offload_on_spt() {
    offloaded("offload", Stack::Spt);
}

/// The run.sh beside the image takes `--net-offload:NAME=off` too.
fn run_sh_without_offload(name: &str, stack: Stack) {
    let ns = Netns::for_stack(name, stack);
    let echo = Running::start_built(
        &ns,
        stack,
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

#[test]
fn sixty_four_mib_each_way_without_offload_on_spt() {
    plain("no-offload", Stack::Spt);
    // run.sh passes the tender's option on.
    run_sh_without_offload("no-offload-run-sh", Stack::Spt);
}

/// virtio: Solo5's driver takes QEMU's offloads
/// (toolchains/solo5/patches/0004-virtio-net-offload.patch).
#[test]
fn sixty_four_mib_each_way_with_offload_on_virtio() {
    offloaded("offload-virtio", Stack::Virtio);
}

/// virtio with the device's offloads withdrawn (`mirage run --no-offload`
/// and `run.sh --net-offload:NAME=off` start QEMU's virtio-net-pci with
/// `csum=off`): plain frames, as Solo5's own driver passes them.
#[test]
fn sixty_four_mib_each_way_without_offload_on_virtio() {
    plain("no-offload-virtio", Stack::Virtio);
    // run.sh turns the option into csum=off.
    run_sh_without_offload("no-offload-run-sh-virtio", Stack::Virtio);
}

/// Jumbo frames: the tender reads the tap's MTU (0002-net-offload.patch),
/// so a tap at 9,000 bytes gives the image 9,000-byte frames, without
/// offload as with it. virtio's device reports no MTU: 1,500 there.
#[test]
fn jumbo_frames_follow_the_taps_mtu_on_spt() {
    let (out, written, read) = echoed_at_mtu("jumbo", Stack::Spt, 9000, &["--no-offload"]);
    assert!(out.contains("wire MTU 9000, no offload"), "{out}");
    let jumbo = (64 << 20) / 8960;
    println!("Spt, tap at MTU 9000, offload off: 64 MiB echoed in {written} frames written and {read} read ({jumbo} jumbo-sized)");
    // Each way also carries the acknowledgements of the other's data.
    assert!(
        (jumbo..WIRE_FRAMES / 2).contains(&written),
        "{written} frames written for 64 MiB at MTU 9000"
    );
    assert!(
        (jumbo..WIRE_FRAMES / 2).contains(&read),
        "{read} frames read for 64 MiB at MTU 9000"
    );
    let (out, ..) = echoed_at_mtu("jumbo-offload", Stack::Spt, 9000, &[]);
    assert!(
        out.contains("wire MTU 9000, TCP segmentation and checksum offload on"),
        "{out}"
    );
}

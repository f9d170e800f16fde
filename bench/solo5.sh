#!/usr/bin/env bash
# Solo5 images: stripped sizes per target, and boot-to-exit time of noop and
# hello on spt and hvt, each as a ratio against Solo5's own C test_hello
# built from the same pinned sources.
# Goals: hello stripped <= 128 KB; noop on spt within 1.5x of test_hello.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p mirage
export MIRAGE="$CARGO_TARGET_DIR/release/mirage"
python3 - <<'PY'
import os, statistics, subprocess, tempfile, time

mirage = os.environ["MIRAGE"]

def build(target, label):
    out = subprocess.run([mirage, "build", "-t", target, label], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return out.stdout.strip().splitlines()[-1]

def stripped_size(path):
    with tempfile.NamedTemporaryFile() as tmp:
        subprocess.run(["strip", "-o", tmp.name, path], check=True)
        return os.path.getsize(tmp.name)

# The toolchain directory: where `mirage build` put Solo5's tenders.
key = subprocess.run(["sh", "-c", "ls -d ${MIRAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_mirage}/solo5-*/ | grep -v lock | head -1"],
                     check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
test_hello = lambda t: os.path.join(key, f"tests/test_hello/test_hello.{t}")
tender = lambda t: os.path.join(key, f"tenders/{t}/solo5-{t}")

print("stripped image size (bytes), ratio to C test_hello:")
for target in ["spt", "hvt", "virtio", "muen", "xen"]:
    c = stripped_size(test_hello(target))
    for name, label in [("noop", "//examples/noop:noop"), ("hello", "//examples/hello:hello")]:
        size = stripped_size(build(target, label))
        print(f"  {target:6} {name:5} {size:8d}  ({size / c:.2f}x of {c})")

def boot_time(target, image, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([tender(target), image], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            return None
    return statistics.median(times)

print("boot-to-exit time (median), ratio to C test_hello:")
for target in ["spt", "hvt"]:
    c = boot_time(target, test_hello(target), 20)
    for name, label, runs in [("noop", "//examples/noop:noop", 20), ("hello", "//examples/hello:hello", 3)]:
        t = boot_time(target, build(target, label), runs)
        if t is None or c is None:
            print(f"  {target:4} {name:5} n/a (does not boot here: see the hvt probe in the tests)")
        else:
            note = " (includes its 4 s of sleeps)" if name == "hello" else ""
            print(f"  {target:4} {name:5} {t * 1000:9.2f} ms  ({t / c:.2f}x of {c * 1000:.2f} ms){note}")
PY

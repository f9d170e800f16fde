#!/usr/bin/env bash
# Building hello for spt under Bazel and with the CLI, three ways:
# - cold: from nothing (Bazel: after `bazel clean`, no disk cache; CLI: an
#   empty cargo target directory and Solo5 cache), the generator included;
# - no-op: again, nothing changed;
# - incremental: after editing the unikernel's Rust source.
# Prints seconds and Bazel/CLI ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_BAZEL=1 source scripts/setup.sh
cargo fetch --locked --quiet
src=examples/hello/src/lib.rs
cp "$src" "$src.bench-orig"
work=$(mktemp -d)
cleanup() { mv "$src.bench-orig" "$src"; rm -rf "$work"; }
trap cleanup EXIT
export work src
python3 - <<'PY'
import os, subprocess, time

work, src = os.environ["work"], os.environ["src"]
env = dict(os.environ, CARGO_TARGET_DIR=f"{work}/target", MIRAGE_CACHE=f"{work}/cache")
mirage = f"{work}/target/release/mirage"

def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0

def bazel(*extra):
    return timed(["bazel", "build", *extra, "//examples/hello:hello_spt"])

def cli():
    return timed([mirage, "build", "-t", "spt", "//examples/hello:hello"], env=env)

def edit():
    with open(src, "a") as f:
        f.write(f"// bench edit {time.time_ns()}\n")

subprocess.run(["bazel", "clean"], check=True, stderr=subprocess.DEVNULL)
rows = [("cold", bazel("--disk_cache="),
         timed(["cargo", "build", "--quiet", "--release", "-p", "mirage"], env=env) + cli())]
rows.append(("no-op", bazel(), cli()))
edit()
rows.append(("incremental (edit src/lib.rs)", bazel(), cli()))
print(f"{'hello_spt build':32} {'Bazel':>9} {'CLI':>9} {'Bazel/CLI':>10}")
for name, b, c in rows:
    print(f"{name:32} {b:8.2f}s {c:8.2f}s {b / c:9.2f}x")
PY

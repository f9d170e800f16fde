#!/usr/bin/env bash
# What the rustc wrapper (generator/src/build/rustc_wrapper.rs) costs the CLI:
# the cargo command `mirage build` runs for an image, timed as it runs
# (through the wrapper) and without the wrapper (cargo's own metadata, as
# before), each in a target directory of its own: cold, no-op, and after
# editing the example's src/lib.rs. Prints the median of three runs in
# seconds (the two variants take turns) and wrapper/cargo ratios.
# Usage: bench/rustc_wrapper.sh [PACKAGE[:NAME]...]
#   (default: hello echo static_website:static_website_tls)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p mirage
scripts/certs.sh examples/static_website/tls >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
MIRAGE="$CARGO_TARGET_DIR/release/mirage" work="$work" python3 - "${@:-hello echo static_website:static_website_tls}" <<'PY'
import os, re, shlex, subprocess, sys, time

mirage, work = os.environ["MIRAGE"], os.environ["work"]
examples = " ".join(sys.argv[1:]).split()

def cargo_command(label, target_dir, wrapped):
    """The cargo step of `mirage build --dry-run`, with or without the wrapper."""
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    subprocess.run([mirage, "configure", "-t", "spt", label], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([mirage, "build", "--dry-run", "-t", "spt", label], check=True,
                         env=env, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("run ") and " cargo build " in l)
    command = line[len("run "):]
    if not wrapped:
        command = re.sub(r" (MIRAGE_)?RUSTC_WRAPPER=\S*", "", command)
    return ["bash", "-c", command]

def timed(command):
    t0 = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: {shlex.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - t0

print(f"{'spt image, cargo step':50} {'cargo':>9} {'wrapper':>9} {'ratio':>7}")
for example in examples:
    package, _, name = example.partition(":")
    label = f"//examples/{package}:{name or package}"
    src = f"examples/{package}/src/lib.rs"
    original = open(src).read()
    try:
        rows = {"cold": {False: [], True: []}, "no-op": {False: [], True: []},
                "edit src/lib.rs": {False: [], True: []}}
        for run in range(3):
            for w in (False, True):
                c = cargo_command(label, f"{work}/{example.replace(':', '-')}-{w}-{run}", w)
                rows["cold"][w].append(timed(c))
                rows["no-op"][w].append(timed(c))
                with open(src, "a") as f:
                    f.write(f"// bench edit {time.time_ns()}\n")
                rows["edit src/lib.rs"][w].append(timed(c))
    finally:
        open(src, "w").write(original)
    for row, t in rows.items():
        cargo, wrapper = sorted(t[False])[1], sorted(t[True])[1]
        print(f"{example + ' ' + row:50} {cargo:8.2f}s {wrapper:8.2f}s {wrapper / cargo:6.2f}x")
PY

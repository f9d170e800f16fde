#!/usr/bin/env bash
# Time `mirage configure` on synthetic device graphs of 1,000 and 10,000
# devices; prints seconds per run and the growth ratio (10x devices should
# cost about 10x time). Goal: under 0.25 s at 10,000 devices.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source bench/cli.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A DAG: device i takes devices i-1 and i/2, spread over 10 packages.
make_ws() {
    local n=$1 dir=$work/ws$1
    mkdir -p "$dir/app"
    echo 'workspace(name = "bench")' > "$dir/WORKSPACE.bazel"
    printf '[package]\nname = "app"\nversion = "0.1.0"\n' > "$dir/app/Cargo.toml"
    python3 - "$dir" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
pkgs = 10
per = n // pkgs
load = 'load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device", "mirage_unikernel")\n'
def label(i):
    return "//p%d:d%d" % (i // per, i)
for p in range(pkgs):
    os.makedirs(os.path.join(root, "p%d" % p), exist_ok=True)
    with open(os.path.join(root, "p%d" % p, "BUILD.bazel"), "w") as f:
        f.write(load)
        for i in range(p * per, (p + 1) * per):
            deps = sorted({i - 1, i // 2} - {i}) if i > 0 else []
            params = ", ".join('"a%d": "t"' % j for j in range(len(deps)))
            args = ", ".join('"a%d": "%s"' % (j, label(d)) for j, d in enumerate(deps))
            f.write('mirage_device(name = "d%d", type = "t", params = {%s}, args = {%s}, '
                    'impls = {"*": "mirage_runtime::D%d"}, crates = ["@rules_mirage//runtimes/core:crate"])\n'
                    % (i, params, args, i))
with open(os.path.join(root, "app", "BUILD.bazel"), "w") as f:
    f.write(load)
    f.write('mirage_unikernel(name = "app", main = "app::start", reporter = None, '
            'params = {"top": "t"}, args = {"top": "%s"})\n' % label(n - 1))
PY
}

# Best of three wall-clock runs, in seconds; the run must succeed.
time_configure() {
    local dir=$work/ws$1
    python3 - "$MIRAGE" "$dir" "$PWD" <<'PY'
import subprocess, sys, time
mirage, ws, home = sys.argv[1:]
best = None
for _ in range(3):
    t0 = time.perf_counter()
    subprocess.run([mirage, "--rules-mirage", home, "configure", "-t", "unix", "//app:app"],
                   cwd=ws, check=True, stderr=subprocess.DEVNULL)
    t = time.perf_counter() - t0
    best = t if best is None else min(best, t)
print(f"{best:.4f}")
PY
}

for n in 1000 10000; do make_ws $n; done
t1=$(time_configure 1000)
t10=$(time_configure 10000)
python3 - "$t1" "$t10" <<'PY'
import sys
t1, t10 = map(float, sys.argv[1:])
print(f"configure  1,000 devices: {t1:.3f} s (best of 3)")
print(f"configure 10,000 devices: {t10:.3f} s (best of 3, goal < 0.25 s)")
print(f"growth 10,000 / 1,000: {t10 / t1:.1f}x (linear is 10x)")
PY

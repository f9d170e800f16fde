#!/usr/bin/env bash
# Part 1. Building hello for spt under Bazel and with the CLI, three ways:
# - cold: from nothing (Bazel: after `bazel clean`, no disk cache; CLI: an
#   empty cargo target directory and Solo5 cache), the generator included;
# - no-op: again, nothing changed;
# - incremental: after editing the unikernel's Rust source.
# Prints seconds and Bazel/CLI ratios.
# Part 2. Every example's default images
# (`//examples/...`) from an empty output base: built locally, executed
# remotely on BuildGrid (tests/remote/grid.py, on 127.0.0.1), and built
# again from a second checkout against that remote cache. Prints seconds,
# ratios against the local build, and whether the images are identical.
# Part 3. The pinned plan (mirage.plan.json): every image it pins (every
# example on spt, hvt and unix), built by Bazel one cargo action per image
# (a checkout whose plan pins nothing) and crate by crate (the plan), each
# from an empty output base: cold, after editing one example's src/lib.rs
# (against the CLI rebuilding that example's images), after editing a
# runtime crate; and the rustc actions a second unikernel runs once the
# first is built.
# Usage: bench/bazel.sh [hello] [remote] [plan]   (all parts when none is named)
set -euo pipefail
parts="${*:-hello remote plan}"
cd "$(dirname "$0")/.."
SETUP_BAZEL=1 source scripts/setup.sh
cargo fetch --locked --quiet
src=examples/hello/src/lib.rs
cp "$src" "$src.bench-orig"
work=$(mktemp -d)
cleanup() { mv "$src.bench-orig" "$src"; rm -rf "$work"; }
trap cleanup EXIT
export work src
if [[ " $parts " == *" hello "* ]]; then
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

fi

cp "$src.bench-orig" "$src"   # parts 2 and 3 copy the checkout as it is
if [[ " $parts " == *" plan "* ]]; then
python3 - <<'PY'
import json, os, subprocess, time

work = os.environ["work"]
plan = json.load(open("mirage.plan.json"))
images = sorted({f"{i['label']}_{i['target']}" for i in plan["images"]})
labels = sorted({(i["label"], i["target"]) for i in plan["images"]})

def checkout(name, pinned):
    d = f"{work}/{name}"
    os.makedirs(d)
    subprocess.run(f"tar --exclude=./target --exclude=./mirage-out --exclude=./.git "
                   f"--exclude='./bazel-*' -cf - . | tar -C {d} -xf -", shell=True, check=True)
    if not pinned:
        with open(f"{d}/mirage.plan.json", "w") as f:
            json.dump({"format": 1, "units": {}, "images": []}, f)
    return d

def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0

def bazel(d, *args):
    return timed(["bazel", f"--output_base={d}-ob", "build", "--disk_cache=", *args], cwd=d)

def edit(d, path):
    with open(f"{d}/{path}", "a") as f:
        f.write(f"// bench edit {time.time_ns()}\n")

def rustc_actions(d, *targets):
    log = f"{d}-exec.json"
    bazel(d, f"--execution_log_json_file={log}", *targets)
    dec, text, n, i = json.JSONDecoder(), open(log).read(), 0, 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            break
        spawn, i = dec.raw_decode(text, i)
        n += spawn.get("mnemonic") == "Rustc" and not spawn.get("remoteCacheHit", False)
    return n

def row(name, b, a):
    print(f"{name:36} {b:9.1f}s {a:9.1f}s {a / b:6.2f}x", flush=True)

before, after = checkout("per-image", False), checkout("per-crate", True)
print(f"\n{len(images)} pinned images, Bazel     {'per image':>10} {'per crate':>10} {'ratio':>7}", flush=True)
row("cold", bazel(before, *images), bazel(after, *images))
example, runtime = "examples/echo/src/lib.rs", "runtimes/core/src/lib.rs"
for d in (before, after):
    edit(d, example)
row(f"edit {example}", bazel(before, *images), bazel(after, *images))
for d in (before, after):
    edit(d, runtime)
row(f"edit {runtime}", bazel(before, *images), bazel(after, *images))

# The CLI after the same edit: echo's pinned images, warm target directory.
cli_env = dict(os.environ, CARGO_TARGET_DIR=f"{work}/cli-target")
subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "mirage"], cwd=after, env=cli_env, check=True)
mirage = [f"{work}/cli-target/release/mirage"]
echo = [(l, t) for l, t in labels if l == "//examples/echo:echo"]
for l, t in echo:
    timed(mirage + ["build", "-t", t, l], cwd=after, env=cli_env)
edit(after, example)
cli = sum(timed(mirage + ["build", "-t", t, l], cwd=after, env=cli_env) for l, t in echo)
edit(after, example)
per_crate = bazel(after, *images)
print(f"edit {example}: Bazel per crate {per_crate:.1f}s, CLI {cli:.1f}s ({len(echo)} images): {per_crate / cli:.2f}x", flush=True)

# A second unikernel once the first is built: only its own crates.
second = checkout("second", True)
first = rustc_actions(second, "//examples/hello:hello_spt")
then = rustc_actions(second, "//examples/echo:echo_spt")
print(f"rustc actions: hello_spt from nothing {first}, then echo_spt {then}", flush=True)
for d in (before, after, second):
    subprocess.run(["bazel", f"--output_base={d}-ob", "shutdown"], cwd=d, stderr=subprocess.DEVNULL)
    subprocess.run(["chmod", "-R", "u+w", f"{d}-ob"])
PY
fi

[[ " $parts " == *" remote "* ]] || exit 0
SETUP_PEERS=1 source scripts/setup.sh
chmod 755 "$work"   # PostgreSQL runs as user postgres, in $work/grid
python3 tests/remote/grid.py "$work/grid" > "$work/endpoint" &
grid=$!
trap 'kill $grid; wait $grid; cleanup' EXIT
until [ -s "$work/endpoint" ]; do
    kill -0 $grid || { echo "bench: the remote execution service did not start"; exit 1; }
    sleep 0.5
done
export endpoint="$(cat "$work/endpoint")"
python3 - <<'PY'
import glob, hashlib, os, subprocess, time

work, endpoint = os.environ["work"], os.environ["endpoint"]
targets = ["//examples/..."]

def checkout(name):
    d = f"{work}/{name}"
    os.makedirs(d)
    subprocess.run(f"tar --exclude=./target --exclude=./mirage-out --exclude=./.git "
                   f"--exclude='./bazel-*' -cf - . | tar -C {d} -xf -", shell=True, check=True)
    return d

def build(d, *flags):
    t0 = time.perf_counter()
    subprocess.run(["bazel", f"--output_base={d}-ob", "build", "--disk_cache=", *flags, *targets],
                   cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0

def images(d):
    found = sorted(glob.glob(f"{d}/bazel-bin/examples/*/*.out/dist/*"))
    return {os.path.relpath(p, d): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in found}

rows = []
local = checkout("local")
rows.append(("local (linux-sandbox)", build(local)))
remote = checkout("remote")
rows.append(("remote execution", build(remote, "--config=remote", f"--remote_executor={endpoint}")))
cached = checkout("cached")
rows.append(("second checkout, remote cache", build(cached, f"--remote_cache={endpoint}")))
same = images(local) == images(remote) == images(cached)
base = rows[0][1]
print(f"\n{'//examples/... from an empty output base':42} {'time':>9} {'vs local':>9}")
for name, t in rows:
    print(f"{name:42} {t:8.1f}s {t / base:8.2f}x")
print(f"{len(images(local))} images; identical across the three: {same}")
for d in (local, remote, cached):
    subprocess.run(["bazel", f"--output_base={d}-ob", "shutdown"], cwd=d, stderr=subprocess.DEVNULL)
    subprocess.run(["chmod", "-R", "u+w", f"{d}-ob"])
PY

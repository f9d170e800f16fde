"""Cargo as a Bazel action: offline, locked, against the vendored crates.

Every action gets a fresh CARGO_HOME whose config replaces crates.io with
`@mirage_crates//:vendor`, so cargo never reaches the network, and the
toolchain's cargo and rustc by path (PATH is Bazel's fixed one).
"""

load(":toolchain.bzl", "RUST_TOOLCHAIN")

# Prelude of every script that runs cargo or rustc: the execution root,
# and a scratch CARGO_HOME.
SCRATCH_HOME = """set -eu
export ROOT="$PWD"
export CARGO_HOME="$(mktemp -d)"
# Its target directory is hundreds of megabytes: gone with the action.
trap 'rm -rf "$CARGO_HOME"' EXIT
"""

# Prelude of every cargo action's script: $1 is the vendor directory.
CARGO_ENV = SCRATCH_HOME + """export HOME="$CARGO_HOME"
export CARGO="$ROOT/$CARGO" RUSTC="$ROOT/$RUSTC"
printf '[source.crates-io]\\nreplace-with = "vendored"\\n[source.vendored]\\ndirectory = "%s"\\n[net]\\noffline = true\\n' "$ROOT/$1" > "$CARGO_HOME/config.toml"
"""

def cargo_env(ctx):
    """The toolchain's files and the environment of a cargo action.

    Args:
      ctx: the rule context (with the Rust toolchain and `_vendor`).

    Returns:
      (inputs, env): the toolchain (with its libraries) and vendored files, and the variables
      naming cargo and rustc (relative to the execution root).
    """
    rust = ctx.toolchains[RUST_TOOLCHAIN].rust
    env = {
        "CARGO": rust.cargo.path,
        # The system linker (cc, ld) and shell tools; nothing else.
        "PATH": "/usr/bin:/bin",
        "RUSTC": rust.rustc.path,
    }
    return [rust.cargo, rust.rustc] + rust.libs + ctx.files._vendor, env

def stub_members(root, dirs):
    """Shell giving the members under `dirs` that come as manifests alone an empty src/lib.rs.

    Cargo loads every workspace member; a member given as its Cargo.toml
    alone (an example, whose sources no action of this kind reads) needs a
    target to load.

    Args:
      root: the cargo workspace's root ("" for the execution root): under
        external/ when rules_mirage is not the main repository.
      dirs: member directories, relative to the workspace's root.

    Returns:
      A shell snippet.
    """
    prefix = root + "/" if root else ""
    return """
for manifest in $(find {dirs} -name Cargo.toml 2>/dev/null); do
    lib="$(dirname "$manifest")/src/lib.rs"
    [ -e "$lib" ] || {{ mkdir -p "$(dirname "$lib")"; : > "$lib"; }}
done
""".format(dirs = " ".join([prefix + d for d in dirs]))

# Shell making the binary's own workspace in $WS: its crates (members),
# then (TOOL_LOCK) the root manifest with only those as members, and
# Cargo.lock pruned to them by cargo, then checked: every package left
# must be one of Cargo.lock's (the same version and checksum). So an edit
# to another member (an example's manifest) is no input of the action.
TOOL_WORKSPACE = """
WS="$CARGO_HOME/ws"
for member in $MEMBERS; do
    mkdir -p "$WS/$member"
    cp -RL "$ROOT/$WORKSPACE$member/." "$WS/$member/"
done
"""

TOOL_LOCK = """
awk -v members="$MEMBERS" '
/^members = \\[/ {
    print "members = ["
    n = split(members, m, " ")
    for (i = 1; i <= n; i++) printf "    \\"%s\\",\\n", m[i]
    skip = 1
}
skip && /^\\]/ { skip = 0 }
!skip
' "$ROOT/$WORKSPACE/Cargo.toml" > "$WS/Cargo.toml"
cp "$ROOT/$WORKSPACE/Cargo.lock" "$WS/Cargo.lock"
"$CARGO" metadata --offline --quiet --format-version 1 --manifest-path "$WS/Cargo.toml" >/dev/null
# A package of Cargo.lock as one line: its name, version, source and
# checksum (its dependency list is shorter in the pruned workspace).
entries() {
    awk 'BEGIN { RS = "" } {
        key = ""
        n = split($0, line, "\\n")
        for (i = 1; i <= n; i++) if (line[i] ~ /^(name|version|source|checksum) = /) key = key " " line[i]
        print key
    }' "$1" | sort
}
entries "$ROOT/$WORKSPACE/Cargo.lock" > "$CARGO_HOME/locked"
entries "$WS/Cargo.lock" > "$CARGO_HOME/needed"
if [ -n "$(comm -13 "$CARGO_HOME/locked" "$CARGO_HOME/needed")" ]; then
    echo "Cargo.lock does not match the Cargo.toml files of $MEMBERS: update it (\\`cargo update --workspace --offline\\`) and build again" >&2
    exit 1
fi
"""

# Shell: a RUSTC_WRAPPER in $CARGO_HOME/rustc. It remaps this sandbox's
# paths (the same bytes from any sandbox; as a wrapper rather than
# RUSTFLAGS, which cargo hashes into every crate's fingerprint) and, when
# $RECORD is set, records the compiles of crate $CRATE there (working
# directory, cargo's environment, arguments; NUL-separated) for
# REPLAY_CRATE.
RUSTC_WRAPPER = """
cat > "$CARGO_HOME/rustc" <<'WRAPPER'
#!/bin/bash
set -eu
case " $* " in
*" --crate-name "*) ;;
*) exec "$@" ;;
esac
if [ -n "${RECORD:-}" ] && [[ " $* " == *" --crate-name $CRATE "* ]]; then
    case " $* " in
    *" --crate-type bin "*) record="$RECORD/2-bin" ;;
    *) record="$RECORD/1-lib" ;;
    esac
    printf '%s\\0' "$(pwd)" > "$record.cwd"
    env -0 | grep -z -e '^CARGO' -e '^LD_LIBRARY_PATH=' -e '^OUT_DIR=' | grep -zv -e '^CARGO_MAKEFLAGS=' -e '^CARGO=' | sort -z > "$record.env"
    printf '%s\\0' "$@" > "$record.args"
fi
exec "$@" --remap-path-prefix="$ROOT=/rules_mirage" --remap-path-prefix="$CARGO_HOME=/cargo"
WRAPPER
chmod +x "$CARGO_HOME/rustc"
export RUSTC_WRAPPER="$CARGO_HOME/rustc"
"""

# Shell: the recorded compiles of the crate (lib, then bin) run again in
# $CARGO_HOME/target/tool, a tree of links to $DEPS/target with the
# crate's real sources in $WS; each recorded path of the first sandbox
# (@ROOT@, @HOME@) is this one's. Dependencies are read from their .rlib
# (their .rmeta are not kept) and diagnostics are for people, not cargo.
REPLAY_CRATE = """
mkdir -p "$CARGO_HOME/target/tool"
cp -rs "$ROOT/$DEPS/target/." "$CARGO_HOME/target/tool/"
for record in "$ROOT/$DEPS/commands/1-lib" "$ROOT/$DEPS/commands/2-bin"; do
    [ -e "$record.args" ] || continue
    mapfile -d '' cwd < "$record.cwd"
    mapfile -d '' envs < "$record.env"
    mapfile -d '' recorded < "$record.args"
    args=()
    for arg in "${recorded[@]}"; do
        arg="${arg//@ROOT@/$ROOT}"
        arg="${arg//@HOME@/$CARGO_HOME}"
        case "$arg" in
        --error-format=json | --json=*) continue ;;
        *.rmeta) arg="${arg%.rmeta}.rlib" ;;
        esac
        args+=("$arg")
    done
    # Cargo's variables, which env! may write into the binary, name the
    # paths as the remapping does; the loader's are real.
    for i in "${!envs[@]}"; do
        case "${envs[$i]}" in
        CARGO*) root=/rules_mirage home=/cargo ;;
        *) root="$ROOT" home="$CARGO_HOME" ;;
        esac
        envs[$i]="${envs[$i]//@ROOT@/$root}"
        envs[$i]="${envs[$i]//@HOME@/$home}"
    done
    cwd="${cwd[0]//@ROOT@/$ROOT}"
    (cd "${cwd//@HOME@/$CARGO_HOME}" && env -i PATH="$PATH" "${envs[@]}" ROOT="$ROOT" CARGO_HOME="$CARGO_HOME" "$CARGO_HOME/rustc" "${args[@]}")
done
"""

def _stubs(ctx, prefix, crate_dir):
    """Shell giving the crate in $WS an empty target for each of its own."""
    lines = []
    for f in ctx.files.crate:
        rel = f.path[len(prefix + crate_dir) + 1:]
        parts = rel.split("/")
        if f.extension != "rs":
            continue
        elif rel == "src/lib.rs":
            body = ""
        elif rel == "src/main.rs" or (len(parts) == 2 and parts[0] in ("benches", "examples", "tests")) or parts[:2] == ["src", "bin"]:
            body = "fn main() {}"
        else:
            continue
        lines.append('mkdir -p "$(dirname "$WS/{p}")"; echo "{b}" > "$WS/{p}"'.format(p = crate_dir + "/" + rel, b = body))
    return "\n" + "\n".join(lines) + "\n"

def _cargo_binary_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    deps = ctx.actions.declare_directory(ctx.label.name + ".deps")
    inputs, env = cargo_env(ctx)
    root = ctx.file.manifest.owner.workspace_root
    prefix = root + "/" if root else ""
    manifests = [f for f in ctx.files.crate if f.basename == "Cargo.toml"]
    if len(manifests) != 1:
        fail("cargo_binary: `crate` must hold one Cargo.toml, not %d" % len(manifests))
    crate_dir = manifests[0].dirname[len(prefix):]
    members = sorted({
        f.dirname[len(prefix):]: None
        for f in ctx.files.srcs + manifests
        if f.basename == "Cargo.toml" and f != ctx.file.manifest
    }.keys())
    crate = ctx.attr.package.replace("-", "_")
    env = dict(env, CRATE = crate, DEPS = deps.path, MEMBERS = " ".join(members), WORKSPACE = prefix)

    # Every dependency, compiled against a stub of the crate: an edit to
    # the crate's sources is no input of this action.
    ctx.actions.run_shell(
        inputs = inputs + ctx.files.srcs + manifests + [ctx.file.manifest],
        outputs = [deps],
        command = CARGO_ENV + TOOL_WORKSPACE + _stubs(ctx, prefix, crate_dir) + TOOL_LOCK + RUSTC_WRAPPER + """
export RECORD="$ROOT/$DEPS/commands"
mkdir -p "$RECORD"
"$CARGO" build --offline --locked --profile tool --quiet -p {package} --bin {bin} \\
    --manifest-path "$WS/Cargo.toml" --target-dir "$CARGO_HOME/target"
# What the crate's compiles read: the dependencies' libraries and their
# build scripts' outputs; not the stub's, nor cargo's bookkeeping.
T="$CARGO_HOME/target/tool"
rm -rf "$T/.fingerprint" "$T/incremental" "$T/examples" "$T/deps/lib$CRATE-"* "$T/deps/$CRATE-"*
find "$T" -maxdepth 1 -type f -delete
find "$T/deps" \\( -name '*.d' -o -name '*.rmeta' \\) -delete
if [ -d "$T/build" ]; then find "$T/build" -mindepth 2 -maxdepth 2 ! -name out -exec rm -rf {{}} +; fi
mv "$T" "$ROOT/$DEPS/target"
sed -z -i -e "s#$ROOT#@ROOT@#g" -e "s#$CARGO_HOME#@HOME@#g" "$RECORD"/*
""".format(package = ctx.attr.package, bin = ctx.attr.bin or ctx.label.name),
        arguments = [ctx.files._vendor[0].path],
        env = env,
        mnemonic = "CargoDeps",
        progress_message = "cargo build -p %s: its dependencies" % ctx.attr.package,
    )

    # The crate alone, as cargo compiled the stub, from its real sources.
    rust = ctx.toolchains[RUST_TOOLCHAIN].rust
    ctx.actions.run_shell(
        inputs = [rust.rustc, deps] + rust.libs + ctx.files.crate,
        outputs = [out],
        command = SCRATCH_HOME + """
WS="$CARGO_HOME/ws"
mkdir -p "$WS/{dir}"
cp -RL "$ROOT/{prefix}{dir}/." "$WS/{dir}/"
""".format(dir = crate_dir, prefix = prefix) + RUSTC_WRAPPER + REPLAY_CRATE + """
cp "$CARGO_HOME/target/tool/deps/$(ls "$CARGO_HOME/target/tool/deps" | grep -x "$CRATE-[0-9a-f]*")" "$ROOT/{out}"
""".format(out = out.path),
        env = {"CRATE": crate, "DEPS": deps.path, "PATH": "/usr/bin:/bin"},
        mnemonic = "CargoBuild",
        progress_message = "cargo build -p %s" % ctx.attr.package,
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

cargo_binary = rule(
    implementation = _cargo_binary_impl,
    executable = True,
    attrs = {
        "bin": attr.string(doc = "The binary's name; default: this target's name."),
        "crate": attr.label_list(allow_files = True, mandatory = True, doc = "The package's own files (its Cargo.toml and sources): the only inputs of its last action."),
        "manifest": attr.label(allow_single_file = True, mandatory = True, doc = "The workspace's Cargo.toml."),
        "package": attr.string(mandatory = True, doc = "The cargo package to build."),
        "srcs": attr.label_list(allow_files = True, doc = "Every other file cargo reads: the crates it depends on and Cargo.lock (the crates are the workspace's members in the action)."),
        "_vendor": attr.label(default = "@mirage_crates//:vendor", allow_files = True),
    },
    toolchains = [RUST_TOOLCHAIN],
    doc = "A binary of the cargo workspace, built offline with the locked, vendored crates: its dependencies in one action, the package's own crate in another, so an edit to it compiles it alone.",
)

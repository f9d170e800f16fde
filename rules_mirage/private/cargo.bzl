"""Cargo as a Bazel action: offline, locked, against the vendored crates.

Every action gets a fresh CARGO_HOME whose config replaces crates.io with
`@mirage_crates//:vendor`, so cargo never reaches the network, and the
toolchain's cargo and rustc by path (PATH is Bazel's fixed one).
"""

load(":toolchain.bzl", "RUST_TOOLCHAIN")

# Prelude of every cargo action's script: $1 is the vendor directory.
CARGO_ENV = """set -eu
export ROOT="$PWD"
export CARGO_HOME="$(mktemp -d)"
# Its target directory is hundreds of megabytes: gone with the action.
trap 'rm -rf "$CARGO_HOME"' EXIT
export HOME="$CARGO_HOME"
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

# Shell making the binary's own workspace in $WS: the root manifest with
# only the binary's crates as members, and Cargo.lock pruned to them by
# cargo, then checked: every package left must be one of Cargo.lock's (the
# same version and checksum). So an edit to another member (an example's
# manifest) is no input of the action.
TOOL_WORKSPACE = """
WS="$CARGO_HOME/ws"
for member in $MEMBERS; do
    mkdir -p "$WS/$member"
    cp -RL "$ROOT/$WORKSPACE$member/." "$WS/$member/"
done
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

def _cargo_binary_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    inputs, env = cargo_env(ctx)
    root = ctx.file.manifest.owner.workspace_root
    prefix = root + "/" if root else ""
    members = sorted({
        f.dirname[len(prefix):]: None
        for f in ctx.files.srcs
        if f.basename == "Cargo.toml" and f != ctx.file.manifest
    }.keys())
    env = dict(env, MEMBERS = " ".join(members), WORKSPACE = prefix)
    script = CARGO_ENV + TOOL_WORKSPACE + """
# The same bytes from any sandbox: no path of this one in the binary (only
# here: an image's or a release's action records the environment it saw).
export RUSTFLAGS="--remap-path-prefix=$ROOT=/rules_mirage --remap-path-prefix=$CARGO_HOME=/cargo"
"$CARGO" build --offline --locked --profile tool --quiet -p {package} --bin {bin} \\
    --manifest-path "$WS/Cargo.toml" --target-dir "$CARGO_HOME/target"
cp "$CARGO_HOME/target/tool/{bin}" "$ROOT/{out}"
""".format(
        package = ctx.attr.package,
        bin = ctx.attr.bin or ctx.label.name,
        out = out.path,
    )
    ctx.actions.run_shell(
        inputs = inputs + ctx.files.srcs + [ctx.file.manifest],
        outputs = [out],
        command = script,
        arguments = [ctx.files._vendor[0].path],
        env = env,
        mnemonic = "CargoBuild",
        progress_message = "cargo build -p %s" % ctx.attr.package,
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

cargo_binary = rule(
    implementation = _cargo_binary_impl,
    executable = True,
    attrs = {
        "bin": attr.string(doc = "The binary's name; default: this target's name."),
        "manifest": attr.label(allow_single_file = True, mandatory = True, doc = "The workspace's Cargo.toml."),
        "package": attr.string(mandatory = True, doc = "The cargo package to build."),
        "srcs": attr.label_list(allow_files = True, doc = "Every file cargo reads: the binary's crates and Cargo.lock (the crates are the workspace's members in the action)."),
        "_vendor": attr.label(default = "@mirage_crates//:vendor", allow_files = True),
    },
    toolchains = [RUST_TOOLCHAIN],
    doc = "A binary of the cargo workspace, built offline with the locked, vendored crates.",
)

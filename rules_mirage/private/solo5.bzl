"""The Solo5 toolchain, built by Bazel from the sources Cargo.lock pins.

One action runs `mirage-toolchain-solo5` (toolchains/solo5/src/main.rs)
with MIRAGE_CACHE in its output tree: the same code that builds the CLI's
cached toolchain, from the vendored solo5-sys crate. A built tree holds no
absolute path (relative links; the compiler wrapper finds its directory
when it runs), so the action is an
ordinary sandboxed one and its output may move: to the execution root, to
another machine, to a remote executor.
"""

load(":cargo.bzl", "CARGO_ENV", "cargo_env", "stub_members")
load(":toolchain.bzl", "RUST_TOOLCHAIN")

def _solo5_toolchain_impl(ctx):
    cache = ctx.actions.declare_directory(ctx.label.name)
    inputs, env = cargo_env(ctx)
    ctx.actions.run_shell(
        inputs = inputs + ctx.files.srcs + ctx.files._home + [ctx.executable._builder],
        outputs = [cache],
        command = CARGO_ENV + stub_members(ctx.label.workspace_root, ["examples", "generator"]) + """
export MIRAGE_CACHE="$ROOT/{cache}"
"$ROOT/{builder}" "$ROOT/{home}" >/dev/null
rm -f "$MIRAGE_CACHE"/*.lock
""".format(
            cache = cache.path,
            builder = ctx.executable._builder.path,
            home = ctx.label.workspace_root or ".",
        ),
        arguments = [ctx.files._vendor[0].path],
        env = env,
        mnemonic = "Solo5Toolchain",
        progress_message = "Building the Solo5 toolchain",
    )

    # One file: a tree whose one directory is the toolchain (MIRAGE_CACHE).
    return [DefaultInfo(files = depset([cache]))]

solo5_toolchain = rule(
    implementation = _solo5_toolchain_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = True, doc = "The cargo workspace (for `cargo metadata`)."),
        "_builder": attr.label(default = "//generator:solo5_builder", executable = True, cfg = "exec"),
        # What marks a rules_mirage checkout.
        "_home": attr.label(default = "//rules_mirage:defs.bzl", allow_single_file = True),
        "_vendor": attr.label(default = "@mirage_crates//:vendor", allow_files = True),
    },
    toolchains = [RUST_TOOLCHAIN],
    doc = "Builds the pinned Solo5 toolchain.",
)

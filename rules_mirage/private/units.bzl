"""The pinned plan under Bazel: one action per crate unit of mirage.plan.json.

`mirage pin` records cargo's compiles and build-script runs once; the
`mirage_plan` repository rule (repositories.bzl) makes each unit a
`mirage_unit` target of `@mirage_plan`, and each pinned image's generated
crate compile part of its image action. A unit is the same action for
every unikernel and Solo5 target that reads it, so Bazel runs it once.
"""

load(":toolchain.bzl", "RUST_TOOLCHAIN")

MirageUnitInfo = provider(
    doc = "A unit of the plan and every unit it reads, built.",
    fields = {
        "dirs": "depset of File: the output directories of the unit and of every unit it reads",
        "ids": "depset of string: `ID=PATH` for each of them",
    },
)

def unit_inputs(units):
    """The directories and `ID=PATH`s of `units` and every unit they read.

    Args:
      units: targets with MirageUnitInfo.

    Returns:
      (dirs, ids): two depsets.
    """
    return (
        depset(transitive = [u[MirageUnitInfo].dirs for u in units]),
        depset(transitive = [u[MirageUnitInfo].ids for u in units]),
    )

def _mirage_unit_impl(ctx):
    rust = ctx.toolchains[RUST_TOOLCHAIN].rust
    out = ctx.actions.declare_directory(ctx.label.name)
    unit = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(unit, ctx.attr.unit)
    dirs, ids = unit_inputs(ctx.attr.deps)
    srcs = []
    for s in ctx.attr.srcs:
        srcs.append(s[DefaultInfo].files)
    vendor = ctx.files._vendor[0]
    args = ctx.actions.args()
    args.add_all(["--unit", unit, "--out", out.path])
    args.add_all(ids, format_each = "--dep=%s")
    kind = json.decode(ctx.attr.unit)
    ctx.actions.run(
        executable = ctx.executable._mirage_unit,
        arguments = [args],
        inputs = depset([unit, rust.rustc, vendor] + rust.libs, transitive = [dirs] + srcs),
        outputs = [out],
        env = {
            "MIRAGE_CRATES": vendor.path,
            # The system C compiler and linker (build scripts, linking).
            "PATH": "/usr/bin:/bin",
            "RUSTC": rust.rustc.path,
        },
        mnemonic = "Rustc" if kind["kind"] == "compile" else "BuildScriptRun",
        progress_message = "%s %s %s (%s)" % (
            "Compiling" if kind["kind"] == "compile" else "Running the build script of",
            kind["package"],
            kind["version"],
            ctx.label.name,
        ),
    )
    return [
        DefaultInfo(files = depset([out])),
        MirageUnitInfo(
            dirs = depset([out], transitive = [dirs]),
            ids = depset(["%s=%s" % (ctx.label.name, out.path)], transitive = [ids]),
        ),
    ]

mirage_unit = rule(
    implementation = _mirage_unit_impl,
    attrs = {
        "deps": attr.label_list(providers = [MirageUnitInfo], doc = "The units it reads."),
        "srcs": attr.label_list(allow_files = True, doc = "Its crate's sources (a path crate's)."),
        "unit": attr.string(mandatory = True, doc = "The unit, as mirage.plan.json has it (JSON)."),
        "_mirage_unit": attr.label(default = "@mirage_tools//generator:mirage_unit", executable = True, cfg = "exec"),
        "_vendor": attr.label(default = "@mirage_crates//:vendor", allow_files = True),
    },
    toolchains = [RUST_TOOLCHAIN],
    doc = "One compile or build-script run of mirage.plan.json, as `mirage-unit` runs it.",
)

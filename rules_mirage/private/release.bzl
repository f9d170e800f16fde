"""`mirage_release` under Bazel: the release `mirage release` makes.

One action runs `mirage release //PACKAGE:NAME` in the execution root, as
the CLI does in a checkout, so both engines write the same tarball bytes.
The git commit the provenance records comes from Bazel's stable workspace
status (`STABLE_GIT_COMMIT`, from rules_mirage/workspace_status.sh); the
detached statement names Bazel as the engine.
"""

load(":providers.bzl", "MirageInfo", "declaration")
load(":toolchain.bzl", "RUST_TOOLCHAIN")
load(":unikernel.bzl", "GENERATOR_ATTRS", "SOLO5_TARGETS", "run_generator")

def _mirage_release_impl(ctx):
    tarball = ctx.actions.declare_file(ctx.label.name + ".tar.gz")
    debug = ctx.actions.declare_file(ctx.label.name + "-debug.tar.gz")
    statement = ctx.actions.declare_file(ctx.label.name + ".intoto.json")
    solo5 = None
    if [t for t in ctx.attr.targets if t in SOLO5_TARGETS]:
        solo5 = ctx.file._solo5
    label = "//%s:%s" % (ctx.label.package, ctx.label.name)
    run_generator(
        ctx,
        ctx.attr.graph[MirageInfo],
        solo5,
        outputs = [tarball, debug, statement],
        command = """
out="$CARGO_HOME/release"
commit="$(sed -n 's/^STABLE_GIT_COMMIT //p' "$ROOT/{status}")"
"$ROOT/$GENERATOR" --rules-mirage "$ROOT/$GENERATOR_HOME" release {label} -o "$out" \\
    --engine bazel ${{commit:+--source-commit "$commit"}} "$@" >/dev/null
for f in "$out"/*.tar.gz; do
    case "$f" in
        *-debug.tar.gz) cp "$f" "$ROOT/{debug}" ;;
        *) cp "$f" "$ROOT/{tarball}" ;;
    esac
done
cp "$out"/*.intoto.json "$ROOT/{statement}"
""".format(
            status = ctx.info_file.path,
            label = label,
            tarball = tarball.path,
            debug = debug.path,
            statement = statement.path,
        ),
        arguments = [],
        mnemonic = "MirageRelease",
        progress_message = "Releasing %s for %s" % (label, ", ".join(ctx.attr.targets)),
        files = ctx.files.build_file + [ctx.info_file],
        own = [declaration(ctx.label, "release", "", ctx.attr.source, getattr(ctx.attr, "generator_location", ""))],
    )
    return [DefaultInfo(files = depset([tarball, debug, statement]))]

mirage_release = rule(
    implementation = _mirage_release_impl,
    attrs = dict({
        "build_file": attr.label(allow_single_file = True, mandatory = True, doc = "The release's BUILD file."),
        "graph": attr.label(providers = [MirageInfo], mandatory = True, doc = "The unikernel's `NAME_graph`."),
        "source": attr.string(doc = "The embedded engine's call that declares it, as Bazel evaluated it."),
        "targets": attr.string_list(mandatory = True, doc = "The targets released, in order."),
    }, **GENERATOR_ATTRS),
    toolchains = [RUST_TOOLCHAIN],
    doc = "NAME.tar.gz, the release `mirage release` makes, NAME-debug.tar.gz, its images' debug files, and NAME.intoto.json, a statement over both.",
)

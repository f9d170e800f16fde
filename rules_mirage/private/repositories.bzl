"""Repository rules: the host Rust toolchain, and crates vendored offline.

Nothing here is downloaded by Bazel. The host toolchain is the `cargo` and
`rustc` on PATH (their real sysroot binaries, not rustup's proxies); the
crates come from `cargo vendor --locked --offline`, which reads the local
cargo registry cache filled by `cargo fetch`.
"""

# What both engines say, after the lock's path, when it no longer matches
# the manifests; a test compares the two.
STALE_LOCK = "does not match the Cargo.toml files of its workspace: update it (`cargo update --workspace --offline`) and build again"

def _which(rctx, tool):
    path = rctx.which(tool)
    if not path:
        fail("rules_mirage: `%s` is not on PATH; install Rust (cargo, rustc)" % tool)
    return path

def _exec(rctx, args, what, **kwargs):
    result = rctx.execute(args, **kwargs)
    if result.return_code != 0:
        fail("rules_mirage: %s failed:\n%s%s" % (what, result.stdout, result.stderr))
    return result.stdout.strip()

def _mirage_rust_host_impl(rctx):
    rustc = _which(rctx, "rustc")
    sysroot = _exec(rctx, [rustc, "--print", "sysroot"], "rustc --print sysroot")
    version = _exec(rctx, [rustc, "--version"], "rustc --version")
    rctx.symlink(sysroot + "/bin/rustc", "bin/rustc")
    rctx.symlink(sysroot + "/bin/cargo", "bin/cargo")

    # rustc's shared libraries and the standard library: inputs of every
    # cargo action, so one runs wherever its inputs are (a remote worker).
    rctx.symlink(sysroot + "/lib", "lib")
    rctx.file("WORKSPACE", "workspace(name = %r)\n" % rctx.name)
    rctx.file("BUILD.bazel", """# The host Rust toolchain: {version}.
load("@rules_mirage//rules_mirage/private:toolchain.bzl", "mirage_rust_toolchain")

package(default_visibility = ["//visibility:public"])

filegroup(
    name = "libs",
    srcs = glob(["lib/**"]),
)

mirage_rust_toolchain(
    name = "rust",
    cargo = "bin/cargo",
    libs = ":libs",
    rustc = "bin/rustc",
    sysroot = {sysroot},
    version = {version_str},
)

toolchain(
    name = "toolchain",
    toolchain = ":rust",
    toolchain_type = "@rules_mirage//rules_mirage/private:rust_toolchain_type",
)
""".format(version = version, sysroot = repr(sysroot), version_str = repr(version)))

mirage_rust_host = repository_rule(
    implementation = _mirage_rust_host_impl,
    environ = ["PATH"],
    doc = "The host's Rust toolchain, found on PATH, as a Bazel toolchain.",
)

def _mirage_crates_vendor_impl(rctx):
    manifest = rctx.path(Label("//:Cargo.toml"))

    # Read so that a change of the lock file vendors again.
    rctx.read(Label("//:Cargo.lock"))
    cargo = _which(rctx, "cargo")
    vendor = [cargo, "vendor", "--locked", "--offline", "--versioned-dirs", "--manifest-path", manifest, "vendor"]
    result = rctx.execute(vendor, quiet = True)
    if result.return_code != 0 and "--locked was passed" in result.stderr:
        # The CLI's words for the same lock (generator/src/build/lockfile.rs).
        fail("Cargo.lock " + STALE_LOCK)
    if result.return_code != 0:
        fail("rules_mirage: cargo vendor (run `cargo fetch --locked` once to fill the registry cache) failed:\n" + result.stderr)
    rctx.file("WORKSPACE", "workspace(name = %r)\n" % rctx.name)
    rctx.file("BUILD.bazel", """# Every crate of rules_mirage's Cargo.lock, vendored offline.
package(default_visibility = ["//visibility:public"])

# The directory itself: cargo reads it whole (a source directory; Bazel
# watches it through the lock file this repository is made from).
exports_files(["vendor"])
""")

mirage_crates_vendor = repository_rule(
    implementation = _mirage_crates_vendor_impl,
    environ = ["CARGO_HOME"],
    doc = "`cargo vendor --locked --offline` of rules_mirage's Cargo.lock.",
)

def _mirage_plan_impl(rctx):
    rctx.file("WORKSPACE", "workspace(name = %r)\n" % rctx.name)
    plan = json.decode(rctx.read(rctx.attr.plan)) if rctx.attr.plan else {"images": [], "units": {}}

    # A path crate's sources: the `NAME_srcs` of a unikernel in its
    # package, else its package's `crate` (a mirage_crate).
    srcs_of = {}
    for image in plan["images"]:
        package, name = image["label"][2:].split(":")
        srcs_of[package] = "@//%s:%s_srcs" % (package, name)
    units = []
    for id, unit in sorted(plan["units"].items()):
        source = unit["source"]
        srcs = [] if source.startswith("crates/") else [srcs_of.get(source, "@//%s:crate" % source)]
        units.append("""mirage_unit(
    name = {id},
    srcs = {srcs},
    unit = {unit},
    deps = {deps},
)
""".format(
            id = repr(id),
            srcs = repr(srcs),
            unit = repr(json.encode(unit)),
            deps = repr([":" + d for d in unit["deps"]]),
        ))
    rctx.file("BUILD.bazel", """# Every shared unit of mirage.plan.json (made by `mirage pin`).
load("@rules_mirage//rules_mirage/private:units.bzl", "mirage_unit")

package(default_visibility = ["//visibility:public"])

""" + "\n".join(units))
    images = {}
    for image in plan["images"]:
        images["%s %s" % (image["label"], image["target"])] = {
            "image": json.encode(image),
            "units": ["@mirage_plan//:" + d for d in image["unit"]["deps"]],
        }
    rctx.file("images.bzl", "# The images mirage.plan.json pins.\nIMAGES = %r\n" % images)

mirage_plan = repository_rule(
    implementation = _mirage_plan_impl,
    attrs = {"plan": attr.label(allow_single_file = True, doc = "mirage.plan.json; none: no image is pinned.")},
    doc = "The units of the workspace's mirage.plan.json as Bazel targets, and the images it pins.",
)

# What the tools' packages read of the checkout: the generator, the unit
# runner and the Solo5 builder, their crates and the cargo workspace's
# manifests (examples' included), and the rules that build them.
_TOOLS_ENTRIES = ["BUILD.bazel", "Cargo.lock", "Cargo.toml", "examples", "generator", "rules_mirage", "runtimes", "toolchains"]

def rules_mirage_root(rctx):
    """rules_mirage's checkout, from a file every checkout has."""
    return rctx.path(Label("//:WORKSPACE.bazel")).dirname

def _mirage_tools_impl(rctx):
    # The checkout's files through symlinks: Bazel sees an edit to them
    # as it does in the checkout itself.
    root = rules_mirage_root(rctx)
    for entry in _TOOLS_ENTRIES:
        rctx.symlink(root.get_child(entry), entry)
    rctx.file("WORKSPACE", "workspace(name = %r)\n" % rctx.name)

mirage_tools = repository_rule(
    implementation = _mirage_tools_impl,
    doc = """rules_mirage's checkout again, under a name every workspace shares.

The tools images need (the generator, the unit runner, the Solo5 toolchain)
build here, so their actions' paths (`external/mirage_tools/...`) and hence
their cache keys are the same in rules_mirage's own workspace and in every
workspace that uses it: a disk or remote cache filled by one serves all.""",
)

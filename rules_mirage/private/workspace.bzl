"""Repositories rules_mirage needs under Bazel (WORKSPACE mode, Bazel 4-6).

`rules_mirage_dependencies()` declares every repository rules_mirage needs,
offline: the host Rust toolchain, the crates of rules_mirage's Cargo.lock
(vendored from cargo's registry cache), and the repositories Bazel 4 would
otherwise download (rules_java and rules_proto from Debian's packages;
rules_cc and remote_coverage_tools as small stand-ins shipped in
toolchains/bazel/). A repository the workspace already declares is left
as it is. MODULE.bazel does the same through
`//rules_mirage/private:extensions.bzl`.
"""

load(":repositories.bzl", "mirage_crates_vendor", "mirage_plan", "mirage_rust_host", "mirage_tools", "rules_mirage_root")

def _standin_impl(rctx):
    src = rules_mirage_root(rctx).get_child("toolchains").get_child("bazel").get_child(rctx.attr.folder)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_standin = repository_rule(
    implementation = _standin_impl,
    attrs = {"folder": attr.string(mandatory = True, doc = "The folder in toolchains/bazel/.")},
    doc = "A stand-in repository shipped in rules_mirage's toolchains/bazel/.",
)

# Debian's bazel-rules-java and bazel-rules-proto packages install these.
_DEBIAN_RULES = {
    "rules_java": "/usr/share/bazel/rules/java",
    "rules_proto": "/usr/share/bazel/rules/proto",
}

def rules_mirage_dependencies(plan = None):
    """Declares every repository rules_mirage needs, and registers its toolchain.

        load("@rules_mirage//rules_mirage:repositories.bzl", "rules_mirage_dependencies")

        rules_mirage_dependencies(plan = "//:mirage.plan.json")

    Args:
      plan: the workspace's mirage.plan.json (`mirage pin` writes it): its
        images compile crate by crate, each crate once for all of them.
    """
    for name, path in _DEBIAN_RULES.items():
        if not native.existing_rule(name):
            native.local_repository(name = name, path = path)
    for name in ["rules_cc", "remote_coverage_tools"]:
        if not native.existing_rule(name):
            _standin(name = name, folder = name)
    mirage_rust_host(name = "mirage_rust_host")
    mirage_crates_vendor(name = "mirage_crates")
    mirage_plan(name = "mirage_plan", plan = plan)
    mirage_tools(name = "mirage_tools")
    native.register_toolchains("@mirage_rust_host//:toolchain")

"""Module extension for Bazel 7 and later: WORKSPACE.bazel's repositories.

MODULE.bazel uses it; keep it in step with `workspace.bzl`. (Bazel 4.2, the
one this machine runs, has no bzlmod: this file is reviewed, not run.)
"""

load(":repositories.bzl", "mirage_crates_vendor", "mirage_plan", "mirage_rust_host", "mirage_tools")

def _rules_mirage_impl(module_ctx):
    mirage_rust_host(name = "mirage_rust_host")
    mirage_crates_vendor(name = "mirage_crates")

    # Without a plan: every image is one cargo action.
    mirage_plan(name = "mirage_plan")
    mirage_tools(name = "mirage_tools")

rules_mirage = module_extension(
    implementation = _rules_mirage_impl,
    doc = "The host Rust toolchain and the crates of Cargo.lock, vendored offline.",
)

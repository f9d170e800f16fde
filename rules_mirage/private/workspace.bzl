"""Repositories rules_mirage needs under Bazel (WORKSPACE mode, Bazel 4-6).

`rules_mirage_dependencies()` finds the host Rust toolchain and vendors the
crates of rules_mirage's `Cargo.lock`; then it registers the toolchain.
MODULE.bazel does the same through `//rules_mirage/private:extensions.bzl`.
"""

load(":repositories.bzl", "mirage_crates_vendor", "mirage_rust_host")

def rules_mirage_dependencies():
    """Declares @mirage_rust_host and @mirage_crates, and registers the toolchain."""
    mirage_rust_host(name = "mirage_rust_host")
    mirage_crates_vendor(name = "mirage_crates")
    native.register_toolchains("@mirage_rust_host//:toolchain")

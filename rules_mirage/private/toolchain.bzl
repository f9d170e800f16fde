"""The Rust toolchain type rules_mirage's actions run cargo with."""

MirageRustInfo = provider(
    doc = "The host Rust toolchain: cargo and rustc (real sysroot binaries).",
    fields = {
        "cargo": "File: cargo",
        "libs": "list of File: rustc's shared libraries and the standard library (the sysroot's lib/)",
        "rustc": "File: rustc",
        "sysroot": "string: rustc's sysroot, for the record",
        "version": "string: `rustc --version`",
    },
)

def _mirage_rust_toolchain_impl(ctx):
    rust = MirageRustInfo(
        cargo = ctx.file.cargo,
        libs = ctx.files.libs,
        rustc = ctx.file.rustc,
        sysroot = ctx.attr.sysroot,
        version = ctx.attr.version,
    )
    return [platform_common.ToolchainInfo(rust = rust)]

mirage_rust_toolchain = rule(
    implementation = _mirage_rust_toolchain_impl,
    attrs = {
        "cargo": attr.label(allow_single_file = True, mandatory = True),
        "libs": attr.label(allow_files = True, mandatory = True),
        "rustc": attr.label(allow_single_file = True, mandatory = True),
        "sysroot": attr.string(),
        "version": attr.string(),
    },
    doc = "A Rust toolchain for `//rules_mirage/private:rust_toolchain_type`.",
)

RUST_TOOLCHAIN = "@rules_mirage//rules_mirage/private:rust_toolchain_type"

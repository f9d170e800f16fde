"""Providers of rules_mirage's Bazel rules."""

MirageInfo = provider(
    doc = "What the generator reads for a device, key, runtime arg or crate, transitively.",
    fields = {
        "declaration": "struct(label, kind, type): this declaration (kind: device, match, key, runtime_arg, crate, unikernel; type: the device type, or empty)",
        "declarations": "depset of such structs: this one and every one it names, transitively",
        "files": "depset of File: BUILD files, crate sources and data files",
        "keys": "depset of (name, value) string pairs: configure keys set on the command line",
        "runfiles": "depset of File: files an image opens when it runs (block files)",
    },
)

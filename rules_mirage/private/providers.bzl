"""Providers of rules_mirage's Bazel rules."""

MirageInfo = provider(
    doc = "What the generator reads for a device, key, runtime arg or crate, transitively.",
    fields = {
        "files": "depset of File: BUILD files, crate sources and data files",
        "keys": "depset of (name, value) string pairs: configure keys set on the command line",
    },
)

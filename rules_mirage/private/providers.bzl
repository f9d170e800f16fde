"""Providers of rules_mirage's Bazel rules."""

MirageInfo = provider(
    doc = "What the generator reads for a device, key, runtime arg or crate, transitively.",
    fields = {
        "declaration": "this declaration, a `declaration()` struct",
        "declarations": "depset of such structs: this one and every one it names, transitively",
        "files": "depset of File: BUILD files, crate sources and data files",
        "keys": "depset of (name, value) string pairs: configure keys set on the command line",
        "runfiles": "depset of File: files an image opens when it runs (block files)",
    },
)

def declaration(label, kind, type, call, location):
    """What the generator reads of one declaration.

    Args:
      label: the Bazel target that carries it.
      kind: device, match, key, runtime_arg, crate, unikernel, release, condition.
      type: the device type a device or match provides; a runtime arg's value type.
      call: the embedded engine's native call that declares it, as Bazel evaluated it.
      location: `LINE:COLUMN` of the call in its package's BUILD file (of
        the opening parenthesis), from Bazel's `generator_location`.
    """
    return struct(
        label = label,
        kind = kind,
        type = type,
        package = "%s//%s" % ("@" + label.workspace_name if label.workspace_name else "", label.package),
        call = call,
        location = ":".join(location.split(":")[-2:]) if location else "",
    )

"""A user macro that validates its input with fail()."""

load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device")

_TYPES = ["console", "time"]

def checked_device(name, type):
    if type not in _TYPES:
        fail("checked_device: unknown type %r, expected one of %s" % (type, _TYPES))
    mirage_device(name = name, type = type, impls = {"*": "u::D"})

"""A user macro with a mistake in it."""

load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device")

def clock(name):
    mirage_device(
        name = name,
        type = "mclock",
        impls = ["unix"],
    )

"""The team's own macro over rules_mirage: a greeter on the default console."""

load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device")

def console_greeter(name, greeting_arg, doc = ""):
    """Declares a `greeter` device writing on the default console.

    Args:
      name: the device's name.
      greeting_arg: label of the runtime arg holding the greeting.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "greeter",
        params = {"console": "console"},
        args = {"console": "@rules_mirage//rules_mirage/devices:default_console"},
        impls = {"*": "greeter::ConsoleGreeter"},
        crates = [":crate"],
        runtime_args = [greeting_arg],
        doc = doc,
    )

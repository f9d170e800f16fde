"""Public API of rules_mirage: describe a unikernel as a typed graph of devices.

Load this file from BUILD files and from your own macros:

    load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device", "mirage_unikernel")

Both engines read this same file. Under Bazel, `private/*.bzl` define the
rules; the embedded `mirage` CLI serves those loads with natives that record
each call and its BUILD file:line.
"""

load(
    "//rules_mirage/private:rules.bzl",
    _mirage_crate = "mirage_crate",
    _mirage_device = "mirage_device",
    _mirage_key = "mirage_key",
    _mirage_match = "mirage_match",
    _mirage_runtime_arg = "mirage_runtime_arg",
    _mirage_unikernel = "mirage_unikernel",
)

mirage_crate = _mirage_crate
mirage_device = _mirage_device
mirage_match = _mirage_match
mirage_runtime_arg = _mirage_runtime_arg
mirage_unikernel = _mirage_unikernel

def mirage_key(name, choices, default, doc = "", **kwargs):
    """Declares a configure key and one `config_setting` per choice.

    `mirage configure --NAME=VALUE` (or a Bazel build setting) sets it.
    `select()` on `:NAME_VALUE` and `mirage_match(key = ":NAME")` read it.

    Args:
      name: the key's flag name.
      choices: the allowed values.
      default: the value when none is given.
      doc: what the key selects.
      **kwargs: common attributes (visibility, tags).
    """
    _mirage_key(name = name, choices = choices, default = default, doc = doc, **kwargs)
    for choice in choices:
        native.config_setting(
            name = "%s_%s" % (name, choice),
            flag_values = {":" + name: choice},
            visibility = kwargs.get("visibility"),
        )

def mirage_if(name, key, then, otherwise, type, doc = ""):
    """Functoria's `if_impl`: `then` when boolean `key` is "true", else `otherwise`.

    Args:
      name: the choice's name.
      key: label of a `mirage_key` with choices "true" and "false".
      then: device when the key is "true".
      otherwise: device when the key is "false".
      type: the device type both provide.
      doc: what the choice is for.
    """
    _mirage_match(
        name = name,
        type = type,
        key = key,
        cases = {"false": otherwise, "true": then},
        doc = doc,
    )

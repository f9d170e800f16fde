"""Configure-time choices: keys and `if_impl`. Re-exported by defs.bzl."""

load(":rules.bzl", _mirage_key = "mirage_key", _mirage_match = "mirage_match")

def mirage_key(name, choices, default, doc = "", target_defaults = {}, **kwargs):
    """Declares a configure key and one `config_setting` per choice.

    `mirage configure --NAME=VALUE` (or a Bazel build setting) sets it.
    `select()` on `:NAME_VALUE` and `mirage_match(key = ":NAME")` read it.

    Args:
      name: the key's flag name.
      choices: the allowed values.
      default: the value when none is given.
      doc: what the key selects.
      target_defaults: defaults for some targets or families, as
        `{"unix": "socket"}`; the most specific wins, as in `impls`.
      **kwargs: common attributes (visibility, tags).
    """
    _mirage_key(
        name = name,
        choices = choices,
        default = default,
        doc = doc,
        target_defaults = target_defaults,
        **kwargs
    )
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

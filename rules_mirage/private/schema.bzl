"""The attributes of rules_mirage's rules: shape, whether required, doc.

Generated from generator/src/model/schema.rs; `MIRAGE_BLESS=1 cargo test
-p mirage schema` rewrites it. The embedded engine checks BUILD files
against the same schema.
"""

COMMON = ["name", "visibility", "tags", "testonly"]

SCHEMA = {
    "mirage_unikernel": {
        "main": struct(type = "string", mandatory = True, doc = "Rust path of the `start` function, called once every device is connected."),
        "srcs": struct(type = "path_list", mandatory = False, doc = "The unikernel crate's files: its Cargo.toml and sources."),
        "params": struct(type = "string_dict", mandatory = False, doc = "Parameter name to device type, in the order `start` takes them."),
        "args": struct(type = "label_dict", mandatory = False, doc = "Parameter name to the device (a label or `select()`) applied to it."),
        "runtime_args": struct(type = "label_list", mandatory = False, doc = "`mirage_runtime_arg`s `start` takes, after its devices."),
        "targets": struct(type = "string_list", mandatory = False, doc = "The targets it builds for; every target when empty."),
        "reporter": struct(type = "label", mandatory = False, doc = "The log reporter connected first; `None` for none."),
        "metrics": struct(type = "label", mandatory = False, doc = "A `metrics` device (`//rules_mirage/devices:metrics`): the runtime records its metrics and serves them; none when absent."),
        "doc": struct(type = "string", mandatory = False, doc = "What it does."),
    },
    "mirage_device": {
        "type": struct(type = "string", mandatory = True, doc = "The device type it provides, such as `console` or `kv_ro`."),
        "impls": struct(type = "string_dict", mandatory = True, doc = "Rust path of the implementation per target, family (`solo5`) or `*`; the most specific wins."),
        "params": struct(type = "string_dict", mandatory = False, doc = "Parameter name to device type, in the order `connect` takes them."),
        "args": struct(type = "label_dict", mandatory = False, doc = "Parameter name to the device (a label or `select()`) applied to it."),
        "crates": struct(type = "label_list", mandatory = False, doc = "`mirage_crate`s that provide the implementations."),
        "connect": struct(type = "string", mandatory = False, doc = "The Rust expression that connects it; default `{impl}::connect({args})`."),
        "keys": struct(type = "label_list", mandatory = False, doc = "Configure keys its connect code reads as `{key.NAME}`."),
        "runtime_args": struct(type = "label_list", mandatory = False, doc = "`mirage_runtime_arg`s it takes, after its device arguments."),
        "solo5_devices": struct(type = "string_dict", mandatory = False, doc = "Solo5 device name to kind (`BLOCK_BASIC`, `NET_BASIC`) for the manifest."),
        "block_files": struct(type = "run_path_dict", mandatory = False, doc = "Solo5 block device name to the file attached to it."),
        "block_tars": struct(type = "path_dict", mandatory = False, doc = "Solo5 block device name to a directory the generator archives onto it."),
        "block_sizes": struct(type = "string_dict", mandatory = False, doc = "Solo5 block device name to the size of a zero-filled disk the build makes (`64K`, `1M`) and keeps."),
        "block_littlefs": struct(type = "path_dict", mandatory = False, doc = "Solo5 block device name to a directory whose files the disk of its `block_sizes` starts with, as a littlefs disk."),
        "crunch": struct(type = "path", mandatory = False, doc = "A directory embedded into the image, read as `{crunch}`."),
        "doc": struct(type = "string", mandatory = False, doc = "What it is, for generated comments and `mirage describe`."),
    },
    "mirage_match": {
        "type": struct(type = "string", mandatory = True, doc = "The device type every case provides."),
        "key": struct(type = "label", mandatory = True, doc = "The configure key it matches on."),
        "cases": struct(type = "label_dict", mandatory = True, doc = "Key value to the device chosen."),
        "default": struct(type = "label", mandatory = False, doc = "The device when no case matches."),
        "doc": struct(type = "string", mandatory = False, doc = "What it chooses."),
    },
    "mirage_key": {
        "choices": struct(type = "string_list", mandatory = True, doc = "The values the key may take."),
        "default": struct(type = "string", mandatory = True, doc = "The value when none is given."),
        "target_defaults": struct(type = "string_dict", mandatory = False, doc = "Defaults per target, family (`solo5`) or `*`; the most specific wins."),
        "doc": struct(type = "string", mandatory = False, doc = "What it selects."),
    },
    "mirage_runtime_arg": {
        "type": struct(type = "string", mandatory = False, doc = "`string` (default), `int` or `bool`."),
        "default": struct(type = "scalar", mandatory = False, doc = "The value when absent (of the argument's type); without one the argument is required."),
        "short": struct(type = "string", mandatory = False, doc = "A one-letter alias, such as `l` for `--logs`."),
        "check": struct(type = "string", mandatory = False, doc = "Rust path of a `fn(&str) -> Result<(), String>` validating values."),
        "doc": struct(type = "string", mandatory = False, doc = "Help text, printed by `--help` inside the image."),
    },
    "mirage_crate": {
        "srcs": struct(type = "path_list", mandatory = False, doc = "The crate's files: its Cargo.toml and sources."),
        "crate_name": struct(type = "string", mandatory = False, doc = "The crate's Rust name, if not the package name with `_`."),
    },
    "mirage_release": {
        "unikernel": struct(type = "label", mandatory = True, doc = "The `mirage_unikernel` released."),
        "targets": struct(type = "string_list", mandatory = True, doc = "The targets whose images the release holds, in order."),
        "args": struct(type = "string_list", mandatory = False, doc = "Runtime arguments its OCI images start the unikernel with."),
        "doc": struct(type = "string", mandatory = False, doc = "What the release is for."),
    },
}

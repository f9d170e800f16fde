"""Public API of rules_mirage: describe a unikernel as a typed graph of devices.

Load this file from BUILD files and from your own macros:

    load("@rules_mirage//rules_mirage:defs.bzl", "mirage_device", "mirage_unikernel")

    mirage_device(
        name = "greeter",
        type = "greeter",
        impls = {"*": "greeter::Greeter"},
        crates = [":greeter_crate"],
    )

    mirage_unikernel(
        name = "hello",
        srcs = glob(["Cargo.toml", "src/**/*.rs"]),
        main = "hello::start",
        params = {"greeter": "greeter"},
        args = {"greeter": ":greeter"},
    )

This file only re-exports. Both engines read the same files: under Bazel,
`private/rules.bzl` defines the rules; the embedded `mirage` CLI serves
that one file with natives that record each call and its BUILD file:line,
and evaluates the macros (`private/choices.bzl`, `private/storage.bzl`,
`private/web.bzl`) as
written. Every rule's attributes, with their docs, are in
`private/schema.bzl`.
"""

load(
    "//rules_mirage/private:choices.bzl",
    _mirage_if = "mirage_if",
    _mirage_key = "mirage_key",
)
load(
    "//rules_mirage/private:rules.bzl",
    _mirage_boot_test = "mirage_boot_test",
    _mirage_crate = "mirage_crate",
    _mirage_device = "mirage_device",
    _mirage_match = "mirage_match",
    _mirage_release = "mirage_release",
    _mirage_runtime_arg = "mirage_runtime_arg",
    _mirage_unikernel = "mirage_unikernel",
)
load(
    "//rules_mirage/private:storage.bzl",
    _block_of_file = "block_of_file",
    _chamelon = "chamelon",
    _crunch = "crunch",
    _direct_kv_ro = "direct_kv_ro",
    _direct_kv_rw = "direct_kv_rw",
    _encrypted_block = "encrypted_block",
    _generic_block = "generic_block",
    _generic_kv_ro = "generic_kv_ro",
    _generic_kv_rw = "generic_kv_rw",
    _kv_rw_mem = "kv_rw_mem",
    _ramdisk = "ramdisk",
    _tar_kv_ro = "tar_kv_ro",
)
load(
    "//rules_mirage/private:web.bzl",
    _http_client = "http_client",
    _https_server = "https_server",
    _tls_client = "tls_client",
    _tls_server = "tls_server",
)

block_of_file = _block_of_file
chamelon = _chamelon
crunch = _crunch
direct_kv_ro = _direct_kv_ro
direct_kv_rw = _direct_kv_rw
encrypted_block = _encrypted_block
generic_block = _generic_block
generic_kv_ro = _generic_kv_ro
generic_kv_rw = _generic_kv_rw
http_client = _http_client
https_server = _https_server
kv_rw_mem = _kv_rw_mem
mirage_boot_test = _mirage_boot_test
mirage_crate = _mirage_crate
mirage_device = _mirage_device
mirage_if = _mirage_if
mirage_key = _mirage_key
mirage_match = _mirage_match
mirage_release = _mirage_release
mirage_runtime_arg = _mirage_runtime_arg
mirage_unikernel = _mirage_unikernel
ramdisk = _ramdisk
tar_kv_ro = _tar_kv_ro
tls_client = _tls_client
tls_server = _tls_server

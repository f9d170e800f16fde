"""Storage devices after Mirage_block and Mirage_kv. Re-exported by defs.bzl.

    load("@rules_mirage//rules_mirage:defs.bzl", "crunch", "mirage_unikernel")

    crunch(name = "htdocs", dir = "htdocs")

    mirage_unikernel(
        name = "site",
        main = "site::start",
        params = {"kv": "kv_ro"},
        args = {"kv": ":htdocs"},
    )
"""

load(":rules.bzl", "mirage_device", "mirage_match", "mirage_runtime_arg")

_CORE = "@rules_mirage//runtimes/core:crate"
_UNIX = "@rules_mirage//runtimes/unix:crate"
_SOLO5 = "@rules_mirage//runtimes/solo5:crate"
_CHAMELON = "@rules_mirage//runtimes/chamelon:crate"
_CRYPT = "@rules_mirage//runtimes/crypt:crate"

def block_of_file(name, file = None, size = None, littlefs = None, device = None, doc = ""):
    """A block device backed by a file, Mirage's `block_of_file`.

    The file is `file`, or, given `size` instead, a zero-filled disk the
    build makes in the output directory and keeps across builds (with
    `littlefs`, a littlefs disk holding that directory's files instead,
    which `chamelon` reads: made when the output has no disk yet, then
    the image's to change, like any disk the build makes). On unix
    the image opens the file; on Solo5 it is a BLOCK_BASIC device in the
    manifest, which `mirage run` and the generated `run.sh` attach with
    `--block:DEVICE=FILE` (override with `mirage run --block-file
    DEVICE=PATH`, or `run.sh --block:DEVICE=PATH`).

        block_of_file(name = "disk", size = "64K")

    Args:
      name: the device's name.
      file: the backing file, relative to this package.
      size: instead of `file`: the size of the disk the build makes, as
        512, 64K, 1M or 2G.
      littlefs: with `size`: a directory, relative to this package, whose
        files the disk starts with, one chamelon value per file at its
        relative path (whole 4 KiB blocks, at most 1G).
      device: its Solo5 device name (alphanumeric); default: `name` without
        other characters.
      doc: what it is for.
    """
    if (file == None) == (size == None):
        fail("block_of_file(name = %r): give exactly one of `file` and `size`" % name)
    if littlefs != None and size == None:
        fail("block_of_file(name = %r): `littlefs` needs `size`" % name)
    device = device or _solo5_name(name)
    if file != None:
        backing = dict(block_files = {device: file})
        what = _package_path(file)
    else:
        backing = dict(block_sizes = {device: size})
        what = "a " + size + " disk the build makes"
        if littlefs != None:
            backing["block_littlefs"] = {device: littlefs}
            what += " holding the files of " + _package_path(littlefs)
    mirage_device(
        name = name,
        type = "block",
        impls = {
            "solo5": "mirage_solo5::Block",
            "unix": "mirage_unix::BlockFile",
        },
        connect = "{impl}::connect(%r, {file.%s})" % (device, device),
        crates = [_SOLO5, _UNIX],
        solo5_devices = {device: "BLOCK_BASIC"},
        doc = doc or "The block device backed by " + what + ".",
        **backing
    )

def ramdisk(name, doc = ""):
    """A block device in memory, zeroed at boot; `--ramdisk-sectors` sizes it.

    Args:
      name: the device's name.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "block",
        impls = {"*": "mirage_runtime::block::Ramdisk"},
        connect = "{impl}::connect(%r, {rt.ramdisk-sectors})" % name,
        crates = [_CORE],
        runtime_args = ["@rules_mirage//rules_mirage/devices:ramdisk-sectors"],
        doc = doc or "A ramdisk.",
    )

def generic_block(name, file = None, size = None, doc = ""):
    """`block_of_file(file or size)` or a ramdisk, chosen by the key `--block=file|ramdisk`.

        generic_block(name = "disk", size = "64K")

    Args:
      name: the chosen device's name; `NAME_file` and `NAME_ramdisk` are the choices.
      file: the backing file of the file choice, relative to this package.
      size: instead of `file`: the size of the disk the build makes.
      doc: what it is for.
    """
    block_of_file(name = name + "_file", file = file, size = size, device = name, doc = doc)
    ramdisk(name = name + "_ramdisk", doc = doc)
    mirage_match(
        name = name,
        type = "block",
        key = "@rules_mirage//rules_mirage:block",
        cases = {
            "file": ":" + name + "_file",
            "ramdisk": ":" + name + "_ramdisk",
        },
        doc = doc,
    )

def _package_path(path):
    return path if native.package_name() == "" else native.package_name() + "/" + path

def _solo5_name(name):
    return "".join([c for c in name.elems() if c.isalnum()])

def crunch(name, dir, doc = ""):
    """A read-only store of the files under `dir`, embedded into the image.

    The generator lists `dir` at configure time (sorted, deterministic) and
    the image includes each file with `include_bytes!`.

    Args:
      name: the device's name.
      dir: the directory, relative to this package.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "kv_ro",
        impls = {"*": "mirage_runtime::kv::Crunch"},
        connect = "{impl}::connect({crunch})",
        crates = [_CORE],
        crunch = dir,
        doc = doc or "The files of " + _package_path(dir) + ", embedded.",
    )

def _direct_kv(name, dir, type, doc):
    mirage_device(
        name = name,
        type = type,
        impls = {"unix": "mirage_unix::DirectKv"},
        connect = "{impl}::connect(%r)" % _package_path(dir),
        crates = [_CORE, _UNIX],
        doc = doc or "The host directory " + _package_path(dir) + ".",
    )

def direct_kv_ro(name, dir, doc = ""):
    """A read-only store over the host directory `dir` (unix only).

    Args:
      name: the device's name.
      dir: the directory, relative to this package.
      doc: what it is for.
    """
    _direct_kv(name, dir, "kv_ro", doc)

def direct_kv_rw(name, dir, doc = ""):
    """A read-write store over the host directory `dir` (unix only).

    Args:
      name: the device's name.
      dir: the directory, relative to this package.
      doc: what it is for.
    """
    _direct_kv(name, dir, "kv_rw", doc)

def kv_rw_mem(name, doc = ""):
    """A read-write store in memory, empty at boot.

    Args:
      name: the device's name.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "kv_rw",
        impls = {"*": "mirage_runtime::kv::KvMem"},
        crates = [_CORE],
        doc = doc or "A store in memory.",
    )

def chamelon(name, block, doc = ""):
    """A read-write store that survives a restart: `block` holds a littlefs
    v2 disk (Mirage's chamelon; littlefs-python and `mirage disk` read and
    write the same disks, littlefs blocks of 4096 bytes).

    A value is set atomically and `set` returns once it is committed,
    dated by the POSIX clock (its `last_modified`); an
    unformatted disk is refused at boot with one line, unless the image
    runs with `--format`, which formats a disk that holds no littlefs (and
    never one that does).

        block_of_file(name = "disk", size = "1M")
        chamelon(name = "store", block = ":disk")

    Args:
      name: the device's name.
      block: the block device holding the disk.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "kv_rw",
        params = {"block": "block", "pclock": "pclock"},
        args = {
            "block": block,
            "pclock": "@rules_mirage//rules_mirage/devices:default_posix_clock",
        },
        impls = {"*": "mirage_chamelon::Chamelon"},
        crates = [_CHAMELON],
        runtime_args = ["@rules_mirage//rules_mirage/devices:format"],
        doc = doc or "A littlefs disk on " + block + ".",
    )

def encrypted_block(name, block, key = None, doc = ""):
    """A block device whose sectors are encrypted and authenticated on
    `block` (Mirage's `ccm_block`; AES-256-GCM): the disk gives nothing
    away on the host, and a sector changed there is a read error, never
    data. The key is the runtime argument `--KEY` (64 hex digits); a
    wrong key fails at boot with one line. A blank `block` becomes an
    encrypted disk under the first key it is given. Each sector of `block`
    holds one of 484 bytes (28 go to the nonce and the tag); `chamelon`
    works on top.

        block_of_file(name = "disk", size = "4M")
        encrypted_block(name = "secret", block = ":disk", key = "disk-key")
        chamelon(name = "store", block = ":secret")

    Args:
      name: the device's name.
      block: the block device below.
      key: the runtime argument holding the key; default `NAME-key`. It is
        declared here: give it on the command line, as any runtime argument
        (`ps` shows the command line of a running image).
      doc: what it is for.
    """
    key = key or name + "-key"
    mirage_runtime_arg(
        name = key,
        type = "string",
        default = "",
        doc = "The key of the encrypted disk " + name + ": 64 hex digits (AES-256-GCM).",
    )
    mirage_device(
        name = name,
        type = "block",
        params = {"block": "block", "random": "random"},
        args = {
            "block": block,
            "random": "@rules_mirage//rules_mirage/devices:default_random",
        },
        impls = {"*": "mirage_crypt::EncryptedBlock"},
        crates = [_CRYPT],
        runtime_args = [":" + key],
        doc = doc or "Encrypted sectors on " + block + ".",
    )

def generic_kv_rw(name, size, dir = None, doc = ""):
    """`kv_rw_mem` or `chamelon` on a disk of `size` the build makes, chosen
    by the key `--kv_rw=mem|chamelon` (default mem: nothing kept).

        generic_kv_rw(name = "store", size = "1M")

    Args:
      name: the chosen device's name; `NAME_mem` and `NAME_chamelon` are
        the choices, `NAME_disk` the chamelon's block device (Solo5 device
        name: `name` without other characters).
      size: the disk's size, as 64K, 1M or 2G (whole 4 KiB littlefs blocks).
      dir: a directory, relative to this package, whose files the
        chamelon's disk starts with (see `block_of_file`'s `littlefs`); the
        mem choice starts empty.
      doc: what it is for.
    """
    kv_rw_mem(name = name + "_mem", doc = doc)
    block_of_file(name = name + "_disk", size = size, littlefs = dir, device = _solo5_name(name), doc = doc)
    chamelon(name = name + "_chamelon", block = ":" + name + "_disk", doc = doc)
    mirage_match(
        name = name,
        type = "kv_rw",
        key = "@rules_mirage//rules_mirage:kv_rw",
        cases = {
            "chamelon": ":" + name + "_chamelon",
            "mem": ":" + name + "_mem",
        },
        doc = doc,
    )

def tar_kv_ro(name, dir, device = None, doc = ""):
    """A read-only store over a tar archive of `dir`, on a block device.

    The generator makes the archive deterministically (sorted entries, zero
    times and owners); `mirage run` attaches it as block device `device`.

    Args:
      name: the device's name; `NAME_block` is its block device.
      dir: the directory, relative to this package.
      device: the block device's Solo5 name; default: `name`, alphanumeric.
      doc: what it is for.
    """
    device = device or _solo5_name(name)
    mirage_device(
        name = name + "_block",
        type = "block",
        impls = {
            "solo5": "mirage_solo5::Block",
            "unix": "mirage_unix::BlockFile",
        },
        connect = "{impl}::connect(%r, {file.%s})" % (device, device),
        crates = [_SOLO5, _UNIX],
        solo5_devices = {device: "BLOCK_BASIC"},
        block_tars = {device: dir},
        doc = "The tar archive of " + _package_path(dir) + ".",
    )
    mirage_device(
        name = name,
        type = "kv_ro",
        params = {"block": "block"},
        args = {"block": ":" + name + "_block"},
        impls = {"*": "mirage_runtime::kv::TarKv"},
        crates = [_CORE],
        doc = doc or "The files of " + _package_path(dir) + ", in a tar archive.",
    )

def generic_kv_ro(name, dir, doc = ""):
    """`crunch`, `direct_kv_ro` or `tar_kv_ro` of `dir`, chosen by the key
    `--kv_ro=crunch|direct|tar` (default crunch, as in Mirage).

    Args:
      name: the chosen device's name; `NAME_crunch`, `NAME_direct` and
        `NAME_tar` are the choices.
      dir: the directory, relative to this package.
      doc: what it is for.
    """
    crunch(name = name + "_crunch", dir = dir, doc = doc)
    direct_kv_ro(name = name + "_direct", dir = dir, doc = doc)
    tar_kv_ro(name = name + "_tar", dir = dir, device = _solo5_name(name), doc = doc)
    mirage_match(
        name = name,
        type = "kv_ro",
        key = "@rules_mirage//rules_mirage:kv_ro",
        cases = {
            "crunch": ":" + name + "_crunch",
            "direct": ":" + name + "_direct",
            "tar": ":" + name + "_tar",
        },
        doc = doc,
    )

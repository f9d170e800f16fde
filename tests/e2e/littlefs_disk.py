"""A littlefs disk as littlefs-python (the reference C littlefs) sees it.

    littlefs_disk.py list DISK            every file: PATH SIZE SHA256
    littlefs_disk.py put DISK PATH FILE   stores FILE's bytes at PATH

Disks of rules_mirage's chamelon: littlefs blocks of 4096 bytes, reads
and programs of 512 (a sector), block count from the disk's size.
"""

import hashlib
import os
import sys

import littlefs


def mount(disk):
    with open(disk, "rb") as f:
        data = bytearray(f.read())
    context = littlefs.UserContext(buffer=data)
    fs = littlefs.LittleFS(
        context=context,
        block_size=4096,
        block_count=len(data) // 4096,
        read_size=512,
        prog_size=512,
        mount=False,
    )
    fs.mount()
    return fs, data


def main():
    command, disk = sys.argv[1], sys.argv[2]
    fs, data = mount(disk)
    if command == "list":
        for root, _dirs, files in fs.walk("/"):
            for name in sorted(files):
                path = os.path.join(root, name)
                with fs.open(path, "rb") as f:
                    value = f.read()
                print(path.lstrip("/"), len(value), hashlib.sha256(value).hexdigest())
    elif command == "put":
        path, source = sys.argv[3], sys.argv[4]
        parent = os.path.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with open(source, "rb") as f, fs.open(path, "wb") as out:
            out.write(f.read())
        fs.unmount()
        with open(disk, "r+b") as f:
            f.write(data)
    else:
        sys.exit(f"littlefs_disk.py: unknown command {command}")


if __name__ == "__main__":
    main()

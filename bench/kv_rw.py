"""One side of bench/kv_rw.sh: N sets of 4 KiB values, then N gets,
durable at every set; prints `NAME sets/s gets/s bytes-written-per-set`.

    kv_rw.py notes URL N PID     the notes example over HTTP keep-alive;
                                 bytes from /proc/PID/io (the tender)
    kv_rw.py sqlite FILE N       SQLite, one table, synchronous=FULL, one
                                 transaction per set
    kv_rw.py littlefs FILE N     littlefs-python (the reference C littlefs)
                                 on a host file of chamelon's geometry,
                                 fdatasync at each of littlefs's syncs

Bytes written are the kernel's count of bytes the process handed to
write(2)/pwrite(2) (`wchar` in /proc/PID/io), the same counter for all
three.
"""

import http.client
import os
import sqlite3
import sys
import time
import urllib.parse

import littlefs

VALUE = 4096


def value(n):
    return (b"%08d" % n) * (VALUE // 8)


def written(pid="self"):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise SystemExit("no wchar in /proc/io")


def timed(run, n):
    start = time.monotonic()
    run()
    return n / (time.monotonic() - start)


def notes(url, n, pid):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def request(method, path, body=None):
        conn.request(method, path, body=body)
        response = conn.getresponse()
        data = response.read()
        return response.status, data

    def sets():
        for i in range(n):
            status, _ = request("PUT", f"{parts.path}/bench/{i}", value(i))
            assert status == 201, status

    def gets():
        for i in range(n):
            status, data = request("GET", f"{parts.path}/bench/{i}")
            assert status == 200 and data == value(i), (i, status)

    before = written(pid)
    set_rate = timed(sets, n)
    per_set = (written(pid) - before) / n
    return set_rate, timed(gets, n), per_set


def sqlite(path, n):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)")

    def sets():
        for i in range(n):
            db.execute("BEGIN")
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"bench/{i}", value(i)))
            db.execute("COMMIT")

    def gets():
        for i in range(n):
            (got,) = db.execute("SELECT value FROM kv WHERE key = ?", (f"bench/{i}",)).fetchone()
            assert got == value(i)

    before = written()
    set_rate = timed(sets, n)
    per_set = (written() - before) / n
    return set_rate, timed(gets, n), per_set


class FileContext(littlefs.UserContext):
    """littlefs's block device on a host file, flushed at each sync."""

    def __init__(self, path):
        super().__init__(buffsize=0)
        self.fd = os.open(path, os.O_RDWR)

    def read(self, cfg, block, off, size):
        return bytearray(os.pread(self.fd, size, block * cfg.block_size + off))

    def prog(self, cfg, block, off, data):
        os.pwrite(self.fd, bytes(data), block * cfg.block_size + off)
        return 0

    def erase(self, cfg, block):
        return 0

    def sync(self, cfg):
        os.fdatasync(self.fd)
        return 0


def lfs(path, n):
    fs = littlefs.LittleFS(
        context=FileContext(path),
        block_size=4096,
        block_count=os.path.getsize(path) // 4096,
        read_size=512,
        prog_size=512,
        mount=False,
    )
    fs.format()
    fs.mount()
    fs.mkdir("bench")

    def sets():
        for i in range(n):
            with fs.open(f"bench/{i}", "wb") as f:
                f.write(value(i))

    def gets():
        for i in range(n):
            with fs.open(f"bench/{i}", "rb") as f:
                assert f.read() == value(i)

    before = written()
    set_rate = timed(sets, n)
    per_set = (written() - before) / n
    return set_rate, timed(gets, n), per_set


def main():
    kind = sys.argv[1]
    if kind == "notes":
        figures = notes(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif kind == "sqlite":
        figures = sqlite(sys.argv[2], int(sys.argv[3]))
    elif kind == "littlefs":
        figures = lfs(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"kv_rw.py: unknown side {kind}")
    print(kind, *(f"{x:.0f}" for x in figures))


if __name__ == "__main__":
    main()

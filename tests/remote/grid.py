#!/usr/bin/env python3
"""A test fixture, never part of what rules_mirage users run.

Runs a remote execution service on 127.0.0.1 for the tests
(tests/e2e/bazel_remote.rs) and the benchmarks (bench/bazel.sh): PostgreSQL
(Debian; BuildGrid's scheduler needs it), BuildGrid (buildgrid.yml) and the
test worker (worker.py), each in a process group of its own.

    grid.py DIR

starts them, prints the gRPC endpoint once they serve, and runs until
SIGTERM or SIGINT, when it stops them (worker, BuildGrid, PostgreSQL) and
waits for them. DIR holds their data and logs; PostgreSQL runs as user
postgres, which must be able to reach DIR. Runs under any Python 3; BuildGrid
runs from its venv ($MIRAGE_BUILDGRID, default
~/.cache/rules_mirage/buildgrid, made by scripts/setup.sh).
"""

import glob
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("MIRAGE_BUILDGRID", os.path.expanduser("~/.cache/rules_mirage/buildgrid"))
# Stop signals: PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for
# its clients); the others stop on SIGTERM.
STOP = {"worker": signal.SIGTERM, "buildgrid": signal.SIGTERM, "postgres": signal.SIGINT}


def pg_bin():
    """The newest PostgreSQL server Debian installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        sys.exit("grid.py: PostgreSQL is not installed (Debian package postgresql)")
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(program, *args):
    """`program` as user postgres, exec'd in place (its PID is its own)."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--",
            os.path.join(pg_bin(), program), *args]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"grid.py: {' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")


def start(d, name, cmd, **kw):
    log = open(os.path.join(d, f"{name}.log"), "w")
    return subprocess.Popen(cmd, stdout=log, stderr=log, process_group=0, **kw)


def wait(what, d, ready):
    deadline = time.time() + 60
    while not ready():
        if time.time() > deadline:
            with open(os.path.join(d, f"{what}.log")) as f:
                sys.exit(f"grid.py: {what} did not start:\n{f.read()}")
        time.sleep(0.2)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def up(d, services):
    """Starts the services into `services` (name, Popen); returns the
    endpoint."""
    bgd = os.path.join(VENV, "bin", "bgd")
    if not os.access(bgd, os.X_OK):
        sys.exit(f"grid.py: BuildGrid is not installed ({bgd} is missing): "
                 "SETUP_PEERS=1 scripts/setup.sh installs it")
    os.makedirs(d, exist_ok=True)
    data = os.path.join(d, "pg")
    os.makedirs(data)
    run(["chown", "postgres", data])
    run(as_postgres("initdb", "-A", "trust", "-U", "postgres", "-D", data))
    pg_port = str(free_port())
    postgres = as_postgres("postgres", "-D", data, "-h", "127.0.0.1", "-p", pg_port, "-k", data)
    # Newest first: stopped in that order.
    services.insert(0, ("postgres", start(d, "postgres", postgres)))
    wait("postgres", d, lambda: subprocess.run(
        [os.path.join(pg_bin(), "pg_isready"), "-h", "127.0.0.1", "-p", pg_port],
        capture_output=True).returncode == 0)
    run(as_postgres("createdb", "-h", "127.0.0.1", "-p", pg_port, "bgd"))
    database = f"postgresql://postgres@127.0.0.1:{pg_port}/bgd"
    run([bgd, "migrate", "apply", database])
    port = free_port()
    with open(os.path.join(HERE, "buildgrid.yml")) as f:
        config = f.read().replace("@PORT@", str(port)).replace("@DATABASE@", database)
    config_path = os.path.join(d, "buildgrid.yml")
    with open(config_path, "w") as f:
        f.write(config)
    server = start(d, "buildgrid", [bgd, "server", "start", config_path], cwd=d)
    services.insert(0, ("buildgrid", server))
    wait("buildgrid", d, lambda: listening(port))
    services.insert(0, ("worker", start(d, "worker", [
        os.path.join(VENV, "bin", "python"), os.path.join(HERE, "worker.py"),
        "--server", f"127.0.0.1:{port}", "--work", os.path.join(d, "worker")])))
    return f"grpc://127.0.0.1:{port}"


def stop(services):
    """Stops `services` (name, Popen), in order, and waits for each."""
    for name, p in services:
        try:
            os.killpg(p.pid, STOP[name])
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    services = []
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    try:
        print(up(sys.argv[1], services), flush=True)
        while not stopping:
            time.sleep(0.2)
    finally:
        stop(services)


if __name__ == "__main__":
    main()

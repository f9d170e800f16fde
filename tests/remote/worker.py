#!/usr/bin/env python3
"""A test fixture, never part of what rules_mirage users run.

The smallest Remote Workers API bot that lets BuildGrid (which ships no
worker) execute Bazel's actions on this machine: it takes one lease at a
time, materialises the action's input root from the CAS into a scratch
directory (blobs hard-linked from a local cache), runs the command with
exactly the action's environment, uploads the declared outputs, stdout and
stderr, and completes the lease with the ActionResult.

Usage: worker.py --server 127.0.0.1:PORT --work DIR
Runs under the Python that has BuildGrid installed (its protos).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as rex
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as rex_grpc
from buildgrid._protos.google.bytestream import bytestream_pb2, bytestream_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc

CHUNK = 1 << 20


class Cas:
    """Blobs by digest: read through ByteStream into a local cache."""

    def __init__(self, channel, cache):
        self.bytestream = bytestream_pb2_grpc.ByteStreamStub(channel)
        self.cas = rex_grpc.ContentAddressableStorageStub(channel)
        self.cache = cache
        os.makedirs(cache, exist_ok=True)

    def path(self, digest, executable=False):
        """The cached file of `digest` (downloaded first if needed)."""
        path = os.path.join(self.cache, digest.hash + (".x" if executable else ""))
        if not os.path.exists(path):
            tmp = path + ".tmp-" + uuid.uuid4().hex
            with open(tmp, "wb") as f:
                if digest.size_bytes:
                    name = f"blobs/{digest.hash}/{digest.size_bytes}"
                    for part in self.bytestream.Read(bytestream_pb2.ReadRequest(resource_name=name)):
                        f.write(part.data)
            os.chmod(tmp, 0o555 if executable else 0o444)
            os.rename(tmp, path)
        return path

    def read(self, digest):
        with open(self.path(digest), "rb") as f:
            return f.read()

    def message(self, digest, cls):
        m = cls()
        m.ParseFromString(self.read(digest))
        return m

    def put(self, data):
        """Uploads `data` unless the CAS has it; returns its digest."""
        digest = rex.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
        missing = self.cas.FindMissingBlobs(rex.FindMissingBlobsRequest(blob_digests=[digest]))
        if missing.missing_blob_digests:
            name = f"uploads/{uuid.uuid4()}/blobs/{digest.hash}/{digest.size_bytes}"

            def requests():
                offset = 0
                while True:
                    part = data[offset:offset + CHUNK]
                    last = offset + len(part) >= len(data)
                    yield bytestream_pb2.WriteRequest(
                        resource_name=name, write_offset=offset, data=part, finish_write=last
                    )
                    offset += len(part)
                    if last:
                        return

            self.bytestream.Write(requests())
        return digest


def materialize(cas, digest, path):
    """Writes the Directory `digest` at `path`."""
    os.makedirs(path, exist_ok=True)
    d = cas.message(digest, rex.Directory)
    for f in d.files:
        os.link(cas.path(f.digest, f.is_executable), os.path.join(path, f.name))
    for s in d.symlinks:
        os.symlink(s.target, os.path.join(path, s.name))
    for sub in d.directories:
        materialize(cas, sub.digest, os.path.join(path, sub.name))


def directory_of(cas, path, children):
    """The Directory message of `path`, its subdirectories appended to
    `children` (for a Tree)."""
    d = rex.Directory()
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.islink(full):
            d.symlinks.add(name=name, target=os.readlink(full))
        elif os.path.isdir(full):
            sub = directory_of(cas, full, children)
            children.append(sub)
            data = sub.SerializeToString()
            d.directories.add(name=name, digest=rex.Digest(
                hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data)))
        else:
            with open(full, "rb") as f:
                digest = cas.put(f.read())
            d.files.add(name=name, digest=digest, is_executable=os.access(full, os.X_OK))
    return d


def execute(cas, action, scratch):
    """Runs `action`; returns its ActionResult."""
    command = cas.message(action.command_digest, rex.Command)
    work = tempfile.mkdtemp(dir=scratch)
    try:
        materialize(cas, action.input_root_digest, work)
        cwd = os.path.join(work, command.working_directory)
        for out in list(command.output_files) + list(command.output_directories):
            os.makedirs(os.path.dirname(os.path.join(cwd, out)), exist_ok=True)
        env = {v.name: v.value for v in command.environment_variables}
        timeout = action.timeout.seconds or 3600
        try:
            proc = subprocess.run(list(command.arguments), cwd=cwd, env=env, capture_output=True, timeout=timeout)
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as e:
            code, stdout, stderr = 124, e.stdout or b"", (e.stderr or b"") + b"\nworker: timed out\n"
        result = rex.ActionResult(exit_code=code)
        result.stdout_digest.CopyFrom(cas.put(stdout))
        result.stderr_digest.CopyFrom(cas.put(stderr))
        for out in command.output_files:
            full = os.path.join(cwd, out)
            if os.path.isfile(full):
                with open(full, "rb") as f:
                    digest = cas.put(f.read())
                result.output_files.add(path=out, digest=digest, is_executable=os.access(full, os.X_OK))
        for out in command.output_directories:
            full = os.path.join(cwd, out)
            if os.path.isdir(full):
                children = []
                tree = rex.Tree(root=directory_of(cas, full, children), children=children)
                result.output_directories.add(path=out, tree_digest=cas.put(tree.SerializeToString()))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.server, options=[
        ("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)])
    cas = Cas(channel, os.path.join(args.work, "cache"))
    scratch = os.path.join(args.work, "scratch")
    os.makedirs(scratch, exist_ok=True)
    bots = bots_pb2_grpc.BotsStub(channel)
    session = bots.CreateBotSession(bots_pb2.CreateBotSessionRequest(
        parent="", bot_session=bots_pb2.BotSession(bot_id=f"mirage-test-worker-{os.getpid()}",
                                                   status=bots_pb2.BotStatus.OK)))
    print(f"worker: session {session.name}", flush=True)
    done = {}
    running = {}

    def run(lease_id, action):
        try:
            done[lease_id] = execute(cas, action, scratch)
        except Exception as e:  # reported as the action's failure
            done[lease_id] = e

    while True:
        for lease in session.leases:
            if lease.id in done and lease.state == bots_pb2.LeaseState.ACTIVE:
                outcome = done.pop(lease.id)
                running.pop(lease.id, None)
                lease.state = bots_pb2.LeaseState.COMPLETED
                if isinstance(outcome, Exception):
                    lease.status.code = 13  # INTERNAL
                    lease.status.message = f"worker: {outcome}"
                    print(f"worker: {lease.id} failed: {outcome}", file=sys.stderr, flush=True)
                else:
                    lease.status.code = 0
                    lease.result.Pack(outcome)
        try:
            session = bots.UpdateBotSession(
                bots_pb2.UpdateBotSessionRequest(name=session.name, bot_session=session), timeout=30)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            continue
        for lease in session.leases:
            if lease.state == bots_pb2.LeaseState.ACTIVE and lease.id not in running and lease.id not in done:
                action = rex.Action()
                if lease.payload.Is(rex.Action.DESCRIPTOR):
                    lease.payload.Unpack(action)
                else:
                    digest = rex.Digest()
                    lease.payload.Unpack(digest)
                    action = cas.message(digest, rex.Action)
                t = threading.Thread(target=run, args=(lease.id, action), daemon=True)
                running[lease.id] = t
                t.start()
        if running:
            time.sleep(0.2)


if __name__ == "__main__":
    main()

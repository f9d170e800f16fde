"""The programs bench/network.sh runs on both sides of each comparison, so
that the unikernel and Linux face the same peer.

    tcp_peers.py send HOST PORT BYTES   1 MiB writes; prints bytes/s
    tcp_peers.py sink PORT              reads and drops, forever
    tcp_peers.py fetch HOST PORT SECS   GET /1M.bin again and again on one
                                        keep-alive connection; prints bytes/s
    tcp_peers.py echo PORT              answers one line per connection
    tcp_peers.py conns HOST PORT N      N short connections; prints conns/s
"""
import socket
import sys
import time

MIB = 1 << 20


def send(host, port, n):
    s = socket.create_connection((host, int(port)))
    buf = bytes(MIB)
    t = time.perf_counter()
    for _ in range(int(n) // MIB):
        s.sendall(buf)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the sink's close: everything arrived
    print(int(n) // MIB * MIB / (time.perf_counter() - t))


def listener(port):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", int(port)))
    sock.listen(128)
    return sock


def sink(port):
    sock = listener(port)
    while True:
        c, _ = sock.accept()
        while c.recv(MIB):
            pass
        c.close()


def fetch(host, port, secs):
    s = socket.create_connection((host, int(port)))
    request = b"GET /1M.bin HTTP/1.1\r\nHost: bench\r\n\r\n"
    buf = bytearray(MIB)
    got = 0
    t = time.perf_counter()
    end = t + float(secs)
    while time.perf_counter() < end:
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("fetch: the server closed the connection")
            head += chunk
        fields, body = head.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in fields.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        need = length - len(body)
        got += len(body)
        while need > 0:
            n = s.recv_into(buf, min(need, MIB))
            if n == 0:
                raise SystemExit("fetch: the server closed the connection")
            need -= n
            got += n
    print(got / (time.perf_counter() - t))


def echo(port):
    sock = listener(port)
    while True:
        c, _ = sock.accept()
        c.sendall(c.recv(64))
        c.close()


def conns(host, port, n):
    t = time.perf_counter()
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"x\n")
        s.recv(64)
        s.close()
    print(int(n) / (time.perf_counter() - t))


if __name__ == "__main__":
    {"send": send, "sink": sink, "fetch": fetch, "echo": echo, "conns": conns}[sys.argv[1]](*sys.argv[2:])

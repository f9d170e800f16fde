#!/usr/bin/env bash
# TCP into a unikernel on spt (over a tap in a network namespace), against
# Linux to Linux over a veth pair in the same kind of setup:
# - throughput of 200 MB sent with nc to a sink (the network example,
#   which reads and drops; a Linux `nc -l` for the peer);
# - connections per second: 300 short connections, one after another.
# Goal: throughput >= 50% of Linux. Only namespaces made here are used.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p mirage
MIRAGE="$CARGO_TARGET_DIR/release/mirage"
"$MIRAGE" build -t spt //examples/network:network >/dev/null 2>&1
"$MIRAGE" build -t spt //examples/echo:echo >/dev/null 2>&1
U=mirage-bench-u; A=mirage-bench-a; B=mirage-bench-b
cleanup() {
    pkill -f "solo5-spt.*examples/(network|echo)" 2>/dev/null || true
    for ns in $U $A $B; do ip netns del $ns 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
ip netns add $U
ip -n $U link set lo up
ip -n $U tuntap add tap0 mode tap
ip -n $U addr add 10.0.0.1/24 dev tap0
ip -n $U link set tap0 up
ip netns add $A; ip netns add $B
ip link add veth-a netns $A type veth peer name veth-b netns $B
ip -n $A addr add 10.0.1.1/24 dev veth-a; ip -n $A link set veth-a up
ip -n $B addr add 10.0.1.2/24 dev veth-b; ip -n $B link set veth-b up

export U A B MIRAGE
python3 - <<'PY'
import os, subprocess, time
U, A, B, mirage = os.environ["U"], os.environ["A"], os.environ["B"], os.environ["MIRAGE"]
MB = 200

def wait_for(path, text):
    for _ in range(600):
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        time.sleep(0.05)
    raise SystemExit(f"{text!r} never appeared")

def start_unikernel(label, ready, log):
    p = subprocess.Popen(["ip", "netns", "exec", U, mirage, "run", "-t", "spt", label,
                          "--tap", "service=tap0", "--", "-l", "quiet"],
                         stdout=open(log, "w"), stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(log, ready) if ready else time.sleep(3)
    return p

def send(ns, host, port):
    t0 = time.perf_counter()
    subprocess.run(f"head -c {MB * 1000000} /dev/zero | ip netns exec {ns} nc -N {host} {port}",
                   shell=True, check=True, stdout=subprocess.DEVNULL)
    return MB / (time.perf_counter() - t0)

def connections(ns, host, port, n=300):
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run(["ip", "netns", "exec", ns, "nc", "-N", host, port],
                       input=b"x\n", check=True, stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - t0)

# Unikernel: the network example as a sink, the echo server for connections.
sink = start_unikernel("//examples/network:network", None, "/tmp/mirage-bench-sink.log")
time.sleep(1)
uni = send(U, "10.0.0.2", "8080")
os.killpg(sink.pid, 15); sink.wait()
echo = start_unikernel("//examples/echo:echo", None, "/tmp/mirage-bench-echo.log")
time.sleep(1)
uni_cps = connections(U, "10.0.0.2", "7")
os.killpg(echo.pid, 15); echo.wait()

# Linux: nc listening in B, sending from A over the veth.
lsink = subprocess.Popen(["ip", "netns", "exec", B, "nc", "-lk", "-p", "8080"], stdout=subprocess.DEVNULL)
time.sleep(0.5)
linux = send(A, "10.0.1.2", "8080")
linux_cps = connections(A, "10.0.1.2", "8080")
lsink.kill()

print(f"TCP throughput, host -> unikernel (spt, tap): {uni:8.1f} MB/s")
print(f"TCP throughput, Linux -> Linux (veth):        {linux:8.1f} MB/s")
print(f"ratio: {uni / linux:.2f} of Linux (goal >= 0.50)")
print(f"connections/s, unikernel echo (spt): {uni_cps:.0f}; Linux nc (veth): {linux_cps:.0f} ({uni_cps / linux_cps:.2f}x)")
PY

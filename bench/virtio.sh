#!/usr/bin/env bash
# virtio's offload (toolchains/solo5/patches/0004-virtio-net-offload.patch)
# measured against itself: the static website and the network example
# booted under QEMU on a tap in a namespace, with the device's offloads
# (the default) and with them withdrawn (`mirage run --no-offload`:
# virtio-net-pci with csum=off), in turn, the same Python peers as
# bench/network.sh:
# - unikernel -> host: GET /1M.bin again and again on one keep-alive HTTP
#   connection for 5 s;
# - host -> unikernel: 200 MB of 1 MiB writes into the network example.
# QEMU emulates the CPU here (TCG): read the ratio, and QEMU's own CPU
# time per MB beside each figure, not the MB/s.
# Only namespaces and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "bench: installing qemu-system-x86"; apt-get install -y -qq qemu-system-x86 >/dev/null; }
source bench/cli.sh
work=$(mktemp -d)
source bench/site_copy.sh
site_copy "$work"
(cd "$work/repo" && "$MIRAGE" build -t virtio //examples/static_website:static_website_tls >/dev/null)
"$MIRAGE" build -t virtio //examples/network:network >/dev/null
export U=mirage-virtio-u work
cleanup() {
    # Whatever still runs in our own namespace, by PID.
    for pid in $(ip netns pids $U 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del $U 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add $U
ip -n $U link set lo up
ip -n $U tuntap add tap0 mode tap
ip -n $U addr add 10.0.0.1/24 dev tap0
ip -n $U link set tap0 up

python3 - <<'PY'
import os, signal, subprocess, sys, time
U, mirage, work = (os.environ[k] for k in ("U", "MIRAGE", "work"))
PEERS = os.path.join(os.getcwd(), "bench", "tcp_peers.py")
QEMU = "qemu-system-x86"  # the process's comm, cut to 15 characters
MB = 10**6

def unikernel(label, flags, args, port, cwd=None):
    """LABEL booted on virtio in namespace U, once it accepts on PORT."""
    log = f"{work}/{label.rsplit(':', 1)[1]}.log"
    p = subprocess.Popen(["ip", "netns", "exec", U, mirage, "run", "-t", "virtio", *flags, label,
                          "--tap", "service=tap0", "--", *args],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    probe = "import socket,sys\ntry: socket.create_connection(('10.0.0.2',int(sys.argv[1])),0.2).close()\n" \
            "except OSError: sys.exit(1)\n"
    for _ in range(600):
        if subprocess.run(["ip", "netns", "exec", U, sys.executable, "-c", probe, str(port)]).returncode == 0:
            return p, log
        time.sleep(0.1)
    raise SystemExit(f"bench: {label} never accepted on port {port}:\n" + open(log).read())

def stop(p):
    os.killpg(p.pid, signal.SIGTERM)  # our own process group, by PID
    p.wait()

def py(*args):
    out = subprocess.run(["ip", "netns", "exec", U, sys.executable, PEERS, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: tcp_peers.py {args}: {out.stderr}")
    return float(out.stdout)

def cpu():
    """User and system seconds so far of QEMU in U, from /proc."""
    total = 0.0
    for pid in subprocess.run(["ip", "netns", "pids", U], capture_output=True, text=True).stdout.split():
        try:
            if open(f"/proc/{pid}/comm").read().strip() != QEMU:
                continue
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total

def measured(run, moved):
    """RUN()'s bytes/s, median of 3, and QEMU's CPU seconds per MB over
    the 3 runs (MOVED(rate) is the bytes one run moved)."""
    before = cpu()
    rates = [run() for _ in range(3)]
    return sorted(rates)[1], (cpu() - before) / (sum(moved(r) for r in rates) / MB)

rows = {}
for mode, flags in (("offload", []), ("no offload", ["--no-offload"])):
    site, log = unikernel("//examples/static_website:static_website_tls", flags,
                          ["--http-port=8080", "--https-port=8443"], 8080, cwd=f"{work}/repo")
    said = "offload on" if "checksum offload on" in open(log).read() else "no offload"
    down = measured(lambda: py("fetch", "10.0.0.2", 8080, 5), lambda r: r * 5)
    stop(site)
    sink, _ = unikernel("//examples/network:network", flags, ["--port=9000", "-l", "quiet"], 9000)
    up = measured(lambda: py("send", "10.0.0.2", 9000, 200 * MB), lambda r: 200 * MB)
    stop(sink)
    rows[mode] = (said, down, up)

fmt = lambda m: f"{m[0] / MB:6.1f} MB/s {m[1] * 1e3:7.1f} ms CPU/MB"
print("virtio under QEMU (TCG), median of 3, QEMU's own CPU time per MB:")
for mode, (said, down, up) in rows.items():
    print(f"  {mode:10} (image says: {said}):  unikernel -> host (HTTP 1 MiB) {fmt(down)}"
          f"   host -> unikernel {fmt(up)}")
on, off = rows["offload"], rows["no offload"]
print(f"  ratio offload/no offload: unikernel -> host {on[1][0] / off[1][0]:.2f}"
      f" (CPU/MB {on[1][1] / off[1][1]:.2f}), host -> unikernel {on[2][0] / off[2][0]:.2f}")
PY

#!/usr/bin/env bash
# TCP throughput of a unikernel on spt (smoltcp over a tap in a namespace)
# against Linux over a veth pair between two namespaces, the same program
# on both sides of each comparison:
# - host -> unikernel: a Python sender (1 MiB writes, 1 GB) into the
#   network example (reads and drops); Linux: the same sender into a
#   Python sink (1 MiB reads) over the veth;
# - unikernel -> host: a Python client fetching a 1 MiB file again and
#   again over one keep-alive HTTP connection from static_website_tls;
#   Linux: the same client against nginx (1 worker) over the veth;
# - iperf3 over the same veth: the physical reference;
# - connections/s: 300 short connections to the echo example and to a
#   Python echo server over the veth.
# Goals (issue 27): host -> unikernel at least 10 Gbit/s; unikernel -> host
# at least 0.5x nginx. The taps offload (see runtimes/net/src/offload.rs).
# MIRAGE_BENCH_MTU=9000 sets the tap and the veth to jumbo frames (the
# tender reads the tap's MTU); the goals are for 1500, the default.
# Only namespaces and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
for tool in iperf3 nginx openssl; do
    command -v $tool >/dev/null 2>&1 || { echo "bench: installing $tool"; apt-get install -y -qq $tool >/dev/null; }
done
source bench/cli.sh
"$MIRAGE" build -t spt //examples/network:network >/dev/null
"$MIRAGE" build -t spt //examples/echo:echo >/dev/null
work=$(mktemp -d)
source bench/site_copy.sh
site_copy "$work"
export U=mirage-tcp-u A=mirage-tcp-a B=mirage-tcp-b work site
cleanup() {
    for ns in $U $A $B; do
        # Whatever still runs in our own namespaces, by PID.
        for pid in $(ip netns pids $ns 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
        ip netns del $ns 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
for ns in $U $A $B; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n $U tuntap add tap0 mode tap
ip -n $U addr add 10.0.0.1/24 dev tap0
ip -n $U link set tap0 up
mtu=${MIRAGE_BENCH_MTU:-1500}
ip -n $U link set tap0 mtu "$mtu"
ip link add veth-a netns $A type veth peer name veth-b netns $B
ip -n $A link set veth-a mtu "$mtu"; ip -n $B link set veth-b mtu "$mtu"
export mtu
ip -n $A addr add 10.0.1.1/24 dev veth-a; ip -n $A link set veth-a up
ip -n $B addr add 10.0.1.2/24 dev veth-b; ip -n $B link set veth-b up
cat > "$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user root;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/body;
    keepalive_requests 1000000;
    server { listen 10.0.1.2:8080; root $site/htdocs; }
}
EOF

python3 - <<'PY'
import os, signal, socket, subprocess, sys, time
U, A, B, mirage, work = (os.environ[k] for k in ("U", "A", "B", "MIRAGE", "work"))
GB = 10**9
started = []

def spawn(ns, argv, log=subprocess.DEVNULL, cwd=None):
    p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=log, stderr=subprocess.STDOUT,
                         cwd=cwd, start_new_session=True)
    started.append(p)
    return p

def stop(p):
    os.killpg(p.pid, signal.SIGTERM)  # our own process group, by PID
    p.wait()

def unikernel(label, args, port, cwd=None):
    """LABEL booted on spt in namespace U, once it accepts on PORT."""
    log = f"{work}/{label.rsplit(':', 1)[1]}.log"
    p = spawn(U, [mirage, "run", "-t", "spt", label, "--tap", "service=tap0", "--", *args],
              open(log, "w"), cwd)
    probe = "import socket,sys\ntry: socket.create_connection(('10.0.0.2',int(sys.argv[1])),0.2).close()\n" \
            "except OSError: sys.exit(1)\n"
    for _ in range(300):
        if subprocess.run(["ip", "netns", "exec", U, sys.executable, "-c", probe, str(port)]).returncode == 0:
            return p
        time.sleep(0.1)
    raise SystemExit(f"bench: {label} never accepted on port {port}:\n" + open(log).read())

PEERS = os.path.join(os.getcwd(), "bench", "tcp_peers.py")

def peer(ns, *args):
    """A tcp_peers.py program left running in namespace NS."""
    p = spawn(ns, [sys.executable, PEERS, *map(str, args)])
    time.sleep(0.5)
    return p

def py(ns, *args):
    """What a tcp_peers.py program in namespace NS prints."""
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, PEERS, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: tcp_peers.py {args}: {out.stderr}")
    return float(out.stdout)

def median(f, runs=3):
    return sorted(f() for _ in range(runs))[runs // 2]

def cpu(ns, comm):
    """User and system seconds so far of the processes named COMM in NS
    (the tender's, nginx's or the sink's own rusage, from /proc)."""
    total = 0.0
    for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
        try:
            if open(f"/proc/{pid}/comm").read().strip() != comm:
                continue
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total

def measured(ns, comm, run, secs=None):
    """RUN()'s bytes/s, median of 3, and the CPU seconds per MB that the
    server COMM in NS spent over the 3 runs (each moved 1 GB, or its rate
    for SECS seconds)."""
    before = cpu(ns, comm)
    rates = [run() for _ in range(3)]
    moved = sum(r * secs for r in rates) if secs else 3 * GB
    return sorted(rates)[1], (cpu(ns, comm) - before) / (moved / 1e6)

# host -> unikernel, and the same sender into a Linux sink.
sink = unikernel("//examples/network:network", ["--port=9000", "-l", "quiet"], 9000)
up, up_cpu = measured(U, "solo5-spt", lambda: py(U, "send", "10.0.0.2", 9000, GB))
stop(sink)
lsink = peer(B, "sink", 9000)
lup, lup_cpu = measured(B, "python3", lambda: py(A, "send", "10.0.1.2", 9000, GB))
stop(lsink)

# unikernel -> host, over HTTP keep-alive, and the same client against nginx.
site = unikernel("//examples/static_website:static_website_tls", ["--http-port=8080", "--https-port=8443"],
                 8080, cwd=f"{work}/repo")
down, down_cpu = measured(U, "solo5-spt", lambda: py(U, "fetch", "10.0.0.2", 8080, 5), 5)
stop(site)
nginx = spawn(B, ["nginx", "-c", f"{work}/nginx.conf", "-p", work]); time.sleep(0.5)
ldown, ldown_cpu = measured(B, "nginx", lambda: py(A, "fetch", "10.0.1.2", 8080, 5), 5)
stop(nginx)

# iperf3 over the same veth.
srv = spawn(B, ["iperf3", "-s", "-B", "10.0.1.2"]); time.sleep(0.5)
out = subprocess.run(["ip", "netns", "exec", A, "iperf3", "-c", "10.0.1.2", "-t", "5", "-J"],
                     check=True, capture_output=True, text=True).stdout
import json
iperf = json.loads(out)["end"]["sum_received"]["bits_per_second"] / 8
stop(srv)

# Connections per second.
echo = unikernel("//examples/echo:echo", ["-l", "quiet"], 7)
cps = median(lambda: py(U, "conns", "10.0.0.2", 7, 300))
stop(echo)
lecho = peer(B, "echo", 7)
lcps = median(lambda: py(A, "conns", "10.0.1.2", 7, 300))
stop(lecho)

mb = lambda b: f"{b / 1e6:7.0f} MB/s = {b * 8 / 1e9:5.2f} Gbit/s"
us = lambda c: f"{c * 1e6:6.0f} us CPU/MB"
print(f"TCP throughput at MTU {os.environ['mtu']}, median of 3 (the same Python program on both sides), and the")
print("server's own CPU time per MB (the tender's, the sink's, nginx's):")
print(f"  host -> unikernel (spt, tap):   {mb(up)}  {us(up_cpu)}")
print(f"  Linux -> Linux sink (veth):     {mb(lup)}  {us(lup_cpu)}   ratio {up / lup:.2f}")
print(f"  unikernel -> host (HTTP 1 MiB): {mb(down)}  {us(down_cpu)}")
print(f"  nginx -> host (veth):           {mb(ldown)}  {us(ldown_cpu)}   ratio {down / ldown:.2f}")
print(f"  iperf3 over the veth:           {mb(iperf)}   (physical reference)")
print(f"  goal: host -> unikernel >= 10 Gbit/s: {'met' if up * 8 >= 10e9 else 'not met'}")
print(f"  goal: unikernel -> host >= 0.5x nginx: {'met' if down >= 0.5 * ldown else 'not met'}")
print(f"connections/s, 300 sequential: unikernel echo {cps:.0f}; Linux Python echo {lcps:.0f} ({cps / lcps:.2f}x)")
PY
